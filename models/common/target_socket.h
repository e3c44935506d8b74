// A target socket for one initiator, with the registration interface of
// tlm_utils' simple_target_socket (register_b_transport and friends) and one
// member call per crossing. The utility's socket goes through its forwarding
// process and checks for a non-blocking callback to convert before the
// member; on the DMA path (the IOMMU's and memory's sockets) that costs
// about as much as the hop's own work. Only the blocking, DMI and debug
// interfaces are offered: nb_transport_fw is an error, as on a socket whose
// module registered no non-blocking callback.
#pragma once
#include <string>

#include <systemc>
#include <tlm>

#include "models/common/direct_transport.h"

namespace iotwin {

namespace detail {
// The answer of a socket with no DMI callback: no DMI anywhere (IEEE 1666-2011 11.2.6).
inline bool no_dmi(tlm::tlm_dmi& dmi) {
    dmi.allow_none();
    dmi.set_start_address(0);
    dmi.set_end_address(~sc_dt::uint64(0));
    return false;
}
inline void socket_misuse(const char* socket, const char* what) {
    SC_REPORT_ERROR("iotwin/target_socket", (std::string(socket) + ": no " + what + " registered").c_str());
}
} // namespace detail

template <class MODULE, class TYPES = tlm::tlm_base_protocol_types>
class target_socket : public tlm::tlm_base_target_socket<32, tlm::tlm_fw_transport_if<TYPES>, tlm::tlm_bw_transport_if<TYPES>> {
    using base = tlm::tlm_base_target_socket<32, tlm::tlm_fw_transport_if<TYPES>, tlm::tlm_bw_transport_if<TYPES>>;
    using payload = typename TYPES::tlm_payload_type;
    using phase = typename TYPES::tlm_phase_type;

public:
    using b_cb = void (MODULE::*)(payload&, sc_core::sc_time&);
    using dmi_cb = bool (MODULE::*)(payload&, tlm::tlm_dmi&);
    using dbg_cb = unsigned (MODULE::*)(payload&);

    explicit target_socket(const char* name) : base(name), fw_(*this) { base::export_type::bind(fw_); }

    void register_b_transport(MODULE* m, b_cb f) { fw_.mod = m; fw_.on_b = f; }
    void register_get_direct_mem_ptr(MODULE* m, dmi_cb f) { fw_.mod = m; fw_.on_dmi = f; }
    void register_transport_dbg(MODULE* m, dbg_cb f) { fw_.mod = m; fw_.on_dbg = f; }
    const char* kind() const override { return "iotwin::target_socket"; }

private:
    class forwarder final : public tlm::tlm_fw_transport_if<TYPES>, public direct_transport<TYPES> {
    public:
        explicit forwarder(target_socket& s) : direct_transport<TYPES>(&forwarder::direct), s_(s) {}
        void b_transport(payload& gp, sc_core::sc_time& t) override {
            if (!on_b) return detail::socket_misuse(s_.name(), "b_transport");
            (mod->*on_b)(gp, t);
        }
        static void direct(direct_transport<TYPES>* self, payload& gp, sc_core::sc_time& t) {
            static_cast<forwarder*>(self)->forwarder::b_transport(gp, t);
        }
        bool get_direct_mem_ptr(payload& gp, tlm::tlm_dmi& dmi) override {
            return on_dmi ? (mod->*on_dmi)(gp, dmi) : detail::no_dmi(dmi);
        }
        unsigned transport_dbg(payload& gp) override { return on_dbg ? (mod->*on_dbg)(gp) : 0; }
        tlm::tlm_sync_enum nb_transport_fw(payload&, phase&, sc_core::sc_time&) override {
            detail::socket_misuse(s_.name(), "nb_transport_fw");
            return tlm::TLM_COMPLETED;
        }

        MODULE* mod = nullptr;
        b_cb on_b = nullptr;
        dmi_cb on_dmi = nullptr;
        dbg_cb on_dbg = nullptr;

    private:
        target_socket& s_;
    };

    forwarder fw_;
};

} // namespace iotwin
