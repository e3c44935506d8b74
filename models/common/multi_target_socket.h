// A target socket that many initiators bind to, each call telling the module
// which binding it came in on: the interface of tlm_utils'
// multi_passthrough_target_socket (register_b_transport and friends with an
// index, operator[] for the backward path), at the cost of one member call
// per crossing. The utility's socket goes through a functor and a static
// trampoline before the member, which on the DMA path (three multi-sockets
// per request) costs as much as a hop's own work.
//
// Each initiator that binds gets a binder of its own that holds its index;
// the index is also the position of that initiator's backward interface on
// the socket's port, since both are bound in the same bind() call. Only
// initiator-to-target binding is supported (no hierarchical binding).
// A binder also offers the non-virtual way in (direct_transport.h) that the
// fabric's initiator sockets take.
#pragma once
#include <memory>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_socket_bases.h>

#include "models/common/direct_transport.h"
#include "models/common/target_socket.h"

namespace iotwin {

template <class MODULE, class TYPES = tlm::tlm_base_protocol_types>
class multi_target_socket
    : public tlm::tlm_base_target_socket<32, tlm::tlm_fw_transport_if<TYPES>, tlm::tlm_bw_transport_if<TYPES>, 0,
                                         sc_core::SC_ZERO_OR_MORE_BOUND>,
      public tlm_utils::multi_to_multi_bind_base<TYPES> {
    using base = tlm::tlm_base_target_socket<32, tlm::tlm_fw_transport_if<TYPES>, tlm::tlm_bw_transport_if<TYPES>, 0,
                                             sc_core::SC_ZERO_OR_MORE_BOUND>;
    using payload = typename TYPES::tlm_payload_type;
    using phase = typename TYPES::tlm_phase_type;

public:
    using b_cb = void (MODULE::*)(int, payload&, sc_core::sc_time&);
    using dmi_cb = bool (MODULE::*)(int, payload&, tlm::tlm_dmi&);
    using dbg_cb = unsigned (MODULE::*)(int, payload&);

    explicit multi_target_socket(const char* name) : base(name) {
        // The export must be bound for elaboration; the first initiator that
        // binds takes this binder.
        binders_.push_back(std::make_unique<binder>(*this, 0));
        base::export_type::bind(*binders_.front());
    }

    void register_b_transport(MODULE* m, b_cb f) { cb_.mod = m; cb_.b = f; share(); }
    void register_get_direct_mem_ptr(MODULE* m, dmi_cb f) { cb_.mod = m; cb_.dmi = f; share(); }
    void register_transport_dbg(MODULE* m, dbg_cb f) { cb_.mod = m; cb_.dbg = f; share(); }

    // The binder the initiator now binding calls (tlm_base_initiator_socket::bind).
    tlm::tlm_fw_transport_if<TYPES>& get_base_interface() override {
        if (first_free_) {
            first_free_ = false;
            return *binders_.front();
        }
        binders_.push_back(std::make_unique<binder>(*this, static_cast<int>(binders_.size())));
        binders_.back()->cb = cb_;
        return *binders_.back();
    }
    // A multi-initiator socket binding here takes its forward interface from
    // this rather than from the export (which leads to the first binder):
    // the binder just handed out, so its calls carry their own index.
    tlm::tlm_fw_transport_if<TYPES>* get_last_binder(tlm::tlm_bw_transport_if<TYPES>*) override {
        return first_free_ ? binders_.front().get() : binders_.back().get();
    }
    const tlm::tlm_fw_transport_if<TYPES>& get_base_interface() const override { return *binders_.front(); }
    const char* kind() const override { return "iotwin::multi_target_socket"; }
    // Initiators bound (unsigned, as the utility's socket counts them).
    unsigned size() const { return static_cast<unsigned>(base::size()); }

private:
    // The callbacks, copied into every binder: a crossing reads them from
    // the binder it arrived on, with no load through the socket.
    struct callbacks {
        MODULE* mod = nullptr;
        b_cb b = nullptr;
        dmi_cb dmi = nullptr;
        dbg_cb dbg = nullptr;
    };
    void share() {
        for (auto& b : binders_) b->cb = cb_;
    }

    class binder final : public tlm::tlm_fw_transport_if<TYPES>, public direct_transport<TYPES> {
    public:
        binder(multi_target_socket& s, int id) : direct_transport<TYPES>(&binder::direct), s_(s), id_(id) {}
        void b_transport(payload& gp, sc_core::sc_time& t) override {
            if (!cb.b) return missing("b_transport");
            (cb.mod->*cb.b)(id_, gp, t);
        }
        static void direct(direct_transport<TYPES>* self, payload& gp, sc_core::sc_time& t) {
            static_cast<binder*>(self)->binder::b_transport(gp, t);
        }
        bool get_direct_mem_ptr(payload& gp, tlm::tlm_dmi& dmi) override {
            return cb.dmi ? (cb.mod->*cb.dmi)(id_, gp, dmi) : detail::no_dmi(dmi);
        }
        unsigned transport_dbg(payload& gp) override { return cb.dbg ? (cb.mod->*cb.dbg)(id_, gp) : 0; }
        tlm::tlm_sync_enum nb_transport_fw(payload&, phase&, sc_core::sc_time&) override {
            missing("nb_transport_fw");
            return tlm::TLM_COMPLETED;
        }

    private:
        void missing(const char* what) const { detail::socket_misuse(s_.name(), what); }
        multi_target_socket& s_;
        int id_;

    public:
        callbacks cb;
    };

    std::vector<std::unique_ptr<binder>> binders_;
    bool first_free_ = true;
    callbacks cb_;
};

} // namespace iotwin
