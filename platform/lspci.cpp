#include "platform/lspci.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <iterator>
#include <optional>

#include "models/pci/ats.h"
#include "models/pci/config_space.h"
#include "platform/boot.h"
#include "platform/ecam.h"

namespace iotwin::platform {

// Configuration requests of the hypervisor's CPU through ECAM, for the listing.
class config_reader {
public:
    config_reader(hyp::hypervisor& cpu, sc_core::sc_time& d) : cpu_(cpu), d_(d) {}
    // One aligned dword; false when the request does not complete successfully.
    bool read(const pcie::bdf& f, unsigned reg, std::uint32_t& v) {
        v = 0;
        ++reads_;
        return ecam_access(cpu_, tlm::TLM_READ_COMMAND, f, reg, &v, 4, d_) == pcie::completion::SC;
    }
    std::size_t reads() const { return reads_; }

private:
    hyp::hypervisor& cpu_;
    sc_core::sc_time& d_;
    std::size_t reads_ = 0;
};

std::uint32_t config_image::dword(unsigned reg) const {
    const unsigned i = (reg & 0xfff) >> 2;
    if (i >= dwords_.size()) {
        const std::size_t n = i < 64 ? 64 : 1024;
        dwords_.resize(n, 0);
        fetched_.resize(n, false);
    }
    if (!fetched_[i]) {
        std::uint32_t v;
        ++reads_;
        dwords_[i] = reader_->read(bdf_, i * 4, v) ? v : 0xffffffffu;
        fetched_[i] = true;
    }
    return dwords_[i];
}

namespace {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;
namespace cfg = pci::cfg;
namespace acs_reg = pci::acs_reg;
namespace sriov_reg = pci::sriov_reg;

// ---- names (an excerpt of the PCI ID database, pci.ids) -------------------------------------
//
// The vendors and devices of the bundled scenarios and iotwin's defaults, and
// every class, subclass and the programming interfaces of a few.

struct vendor_entry { u16 vendor; const char* name; };
struct device_entry { u16 vendor, device; const char* name; };
struct class_entry { u16 code; const char* name; };  // a base class (0xCC) or class and subclass (0xCCSS)
struct interface_entry { u16 class_subclass; u8 interface; const char* name; };

constexpr vendor_entry vendor_names[] = {
    {0x1002, "Advanced Micro Devices, Inc. [AMD/ATI]"},
    {0x1022, "Advanced Micro Devices, Inc. [AMD]"},
    {0x104c, "Texas Instruments"},
    {0x10b5, "PLX Technology, Inc."},
    {0x10de, "NVIDIA Corporation"},
    {0x10ec, "Realtek Semiconductor Co., Ltd."},
    {0x1102, "Creative Labs"},
    {0x144d, "Samsung Electronics Co Ltd"},
    {0x14e4, "Broadcom Inc. and subsidiaries"},
    {0x15b3, "Mellanox Technologies"},
    {0x19e5, "Huawei Technologies Co., Ltd."},
    {0x1af4, "Red Hat, Inc."},
    {0x1b21, "ASMedia Technology Inc."},
    {0x1b36, "Red Hat, Inc."},
    {0x1b4b, "Marvell Technology Group Ltd."},
    {0x1d17, "Zhaoxin"},
    {0x8086, "Intel Corporation"},
};

constexpr device_entry device_names[] = {
    {0x104c, 0x8023, "TSB43AB22A IEEE-1394a-2000 Controller (PHY/Link) [iOHCI-Lynx]"},
    {0x104c, 0x8232, "XIO3130 PCI Express Switch (Upstream)"},
    {0x104c, 0x8233, "XIO3130 PCI Express Switch (Downstream)"},
    {0x104c, 0x8240, "XIO2001 PCI Express-to-PCI Bridge"},
    {0x10b5, 0x8747, "PEX 8747 48-Lane, 5-Port PCI Express Gen 3 (8.0 GT/s) Switch"},
    {0x10de, 0x1b81, "GP104 [GeForce GTX 1070]"},
    {0x10ec, 0x8139, "RTL-8100/8101L/8139 PCI Fast Ethernet Adapter"},
    {0x10ec, 0x8169, "RTL8169 PCI Gigabit Ethernet Controller"},
    {0x1102, 0x0002, "EMU10k1 [Sound Blaster Live! Series]"},
    {0x14e4, 0x165f, "NetXtreme BCM5720 Gigabit Ethernet PCIe"},
    {0x15b3, 0x1017, "MT27800 Family [ConnectX-5]"},
    {0x15b3, 0x1018, "MT27800 Family [ConnectX-5 Virtual Function]"},
    {0x19e5, 0xa222, "HNS GE/10GE/25GE RDMA Network Controller"},
    {0x1b21, 0x0612, "ASM1062 Serial ATA Controller"},
    {0x1b36, 0x0001, "QEMU PCI-PCI bridge"},
    {0x1b36, 0x000b, "QEMU PCIe Expander bridge"},
    {0x1b36, 0x000c, "QEMU PCIe Root port"},
    {0x1b4b, 0x91a4, "88SE912x IDE Controller"},
    {0x1b4b, 0x9230, "88SE9230 PCIe 2.0 x2 4-port SATA 6 Gb/s RAID Controller"},
    {0x1d17, 0x0716, "ZX-D PCI Express Root Port"},
    {0x1d17, 0x0717, "KX-5000/KX-6000/KX-6000G Express Root Port"},
    {0x1d17, 0x071f, "ZX-200 Upstream Port of PCI Express Switch"},
    {0x1d17, 0x0721, "ZX-200 Downstream Port of PCI Express Switch"},
    {0x8086, 0x08b1, "Wireless 7260"},
    {0x8086, 0x0c01, "Xeon E3-1200 v3/4th Gen Core Processor PCI Express x16 Controller"},
    {0x8086, 0x0c05, "Xeon E3-1200 v3/4th Gen Core Processor PCI Express x8 Controller"},
    {0x8086, 0x10ed, "82599 Ethernet Controller Virtual Function"},
    {0x8086, 0x10fb, "82599ES 10-Gigabit SFI/SFP+ Network Connection"},
    {0x8086, 0x1533, "I210 Gigabit Network Connection"},
    {0x8086, 0x1572, "Ethernet Controller X710 for 10GbE SFP+"},
    {0x8086, 0x1592, "Ethernet Controller E810-C for QSFP"},
    {0x8086, 0x15b7, "Ethernet Connection (2) I219-LM"},
    {0x8086, 0x1889, "Ethernet Adaptive Virtual Function"},
    {0x8086, 0x2021, "Sky Lake-E CBDMA Registers"},
    {0x8086, 0x244e, "82801 PCI Bridge"},
    {0x8086, 0x29c0, "82G33/G31/P35/P31 Express DRAM Controller"},
    {0x8086, 0x2f08, "Xeon E7 v3/Xeon E5 v3/Core i7 PCI Express Root Port 3"},
    {0x8086, 0x8c10, "8 Series/C220 Series Chipset Family PCI Express Root Port #1"},
    {0x8086, 0x8c12, "8 Series/C220 Series Chipset Family PCI Express Root Port #2"},
    {0x8086, 0x8c44, "Z87 Express LPC Controller"},
    {0x8086, 0xa121, "100 Series/C230 Series Chipset Family Power Management Controller"},
    {0x8086, 0xa123, "100 Series/C230 Series Chipset Family SMBus"},
    {0x8086, 0xa145, "Z170 Chipset LPC/eSPI Controller"},
    {0x8086, 0xa170, "100 Series/C230 Series Chipset Family HD Audio Controller"},
};

constexpr class_entry base_class_names[] = {
    {0x00, "Unclassified device"}, {0x01, "Mass storage controller"}, {0x02, "Network controller"},
    {0x03, "Display controller"}, {0x04, "Multimedia controller"}, {0x05, "Memory controller"},
    {0x06, "Bridge"}, {0x07, "Communication controller"}, {0x08, "Generic system peripheral"},
    {0x09, "Input device controller"}, {0x0a, "Docking station"}, {0x0b, "Processor"},
    {0x0c, "Serial bus controller"}, {0x0d, "Wireless controller"}, {0x0e, "Intelligent controller"},
    {0x0f, "Satellite communications controller"}, {0x10, "Encryption controller"},
    {0x11, "Signal processing controller"}, {0x12, "Processing accelerators"},
    {0x13, "Non-Essential Instrumentation"}, {0x40, "Coprocessor"}, {0xff, "Unassigned class"},
};

constexpr class_entry subclass_names[] = {
    {0x0000, "Non-VGA unclassified device"}, {0x0001, "VGA compatible unclassified device"},
    {0x0005, "Image coprocessor"},
    {0x0100, "SCSI storage controller"}, {0x0101, "IDE interface"}, {0x0102, "Floppy disk controller"},
    {0x0103, "IPI bus controller"}, {0x0104, "RAID bus controller"}, {0x0105, "ATA controller"},
    {0x0106, "SATA controller"}, {0x0107, "Serial Attached SCSI controller"},
    {0x0108, "Non-Volatile memory controller"}, {0x0109, "Universal Flash Storage controller"},
    {0x0180, "Mass storage controller"},
    {0x0200, "Ethernet controller"}, {0x0201, "Token ring network controller"}, {0x0202, "FDDI network controller"},
    {0x0203, "ATM network controller"}, {0x0204, "ISDN controller"}, {0x0205, "WorldFip controller"},
    {0x0206, "PICMG controller"}, {0x0207, "Infiniband controller"}, {0x0208, "Fabric controller"},
    {0x0280, "Network controller"},
    {0x0300, "VGA compatible controller"}, {0x0301, "XGA compatible controller"}, {0x0302, "3D controller"},
    {0x0380, "Display controller"},
    {0x0400, "Multimedia video controller"}, {0x0401, "Multimedia audio controller"},
    {0x0402, "Computer telephony device"}, {0x0403, "Audio device"}, {0x0480, "Multimedia controller"},
    {0x0500, "RAM memory"}, {0x0501, "FLASH memory"}, {0x0502, "CXL"}, {0x0580, "Memory controller"},
    {0x0600, "Host bridge"}, {0x0601, "ISA bridge"}, {0x0602, "EISA bridge"}, {0x0603, "MicroChannel bridge"},
    {0x0604, "PCI bridge"}, {0x0605, "PCMCIA bridge"}, {0x0606, "NuBus bridge"}, {0x0607, "CardBus bridge"},
    {0x0608, "RACEway bridge"}, {0x0609, "Semi-transparent PCI-to-PCI bridge"},
    {0x060a, "InfiniBand to PCI host bridge"}, {0x0680, "Bridge"},
    {0x0700, "Serial controller"}, {0x0701, "Parallel controller"}, {0x0702, "Multiport serial controller"},
    {0x0703, "Modem"}, {0x0704, "GPIB controller"}, {0x0705, "Smard Card controller"},
    {0x0780, "Communication controller"},
    {0x0800, "PIC"}, {0x0801, "DMA controller"}, {0x0802, "Timer"}, {0x0803, "RTC"},
    {0x0804, "PCI Hot-plug controller"}, {0x0805, "SD Host controller"}, {0x0806, "IOMMU"},
    {0x0880, "System peripheral"}, {0x0899, "Timing Card"},
    {0x0900, "Keyboard controller"}, {0x0901, "Digitizer Pen"}, {0x0902, "Mouse controller"},
    {0x0903, "Scanner controller"}, {0x0904, "Gameport controller"}, {0x0980, "Input device controller"},
    {0x0a00, "Generic Docking Station"}, {0x0a80, "Docking Station"},
    {0x0b00, "386"}, {0x0b01, "486"}, {0x0b02, "Pentium"}, {0x0b10, "Alpha"}, {0x0b20, "Power PC"},
    {0x0b30, "MIPS"}, {0x0b40, "Co-processor"},
    {0x0c00, "FireWire (IEEE 1394)"}, {0x0c01, "ACCESS Bus"}, {0x0c02, "SSA"}, {0x0c03, "USB controller"},
    {0x0c04, "Fibre Channel"}, {0x0c05, "SMBus"}, {0x0c06, "InfiniBand"}, {0x0c07, "IPMI Interface"},
    {0x0c08, "SERCOS interface"}, {0x0c09, "CANBUS"}, {0x0c80, "Serial bus controller"},
    {0x0d00, "IRDA controller"}, {0x0d01, "Consumer IR controller"}, {0x0d10, "RF controller"},
    {0x0d11, "Bluetooth"}, {0x0d12, "Broadband"}, {0x0d20, "802.1a controller"}, {0x0d21, "802.1b controller"},
    {0x0d80, "Wireless controller"},
    {0x0e00, "I2O"},
    {0x0f01, "Satellite TV controller"}, {0x0f02, "Satellite audio communication controller"},
    {0x0f03, "Satellite voice communication controller"}, {0x0f04, "Satellite data communication controller"},
    {0x1000, "Network and computing encryption device"}, {0x1010, "Entertainment encryption device"},
    {0x1080, "Encryption controller"},
    {0x1100, "DPIO module"}, {0x1101, "Performance counters"}, {0x1110, "Communication synchronizer"},
    {0x1120, "Signal processing management"}, {0x1180, "Signal processing controller"},
    {0x1200, "Processing accelerators"}, {0x1201, "SNIA Smart Data Accelerator Interface (SDXI) controller"},
};

constexpr interface_entry interface_names[] = {
    {0x0106, 0x00, "Vendor specific"}, {0x0106, 0x01, "AHCI 1.0"}, {0x0106, 0x02, "Serial Storage Bus"},
    {0x0108, 0x01, "NVMHCI"}, {0x0108, 0x02, "NVM Express"},
    {0x0300, 0x00, "VGA controller"}, {0x0300, 0x01, "8514 controller"},
    {0x0604, 0x00, "Normal decode"}, {0x0604, 0x01, "Subtractive decode"},
    {0x0c00, 0x00, "Generic"}, {0x0c00, 0x10, "OHCI"},
    {0x0c03, 0x00, "UHCI"}, {0x0c03, 0x10, "OHCI"}, {0x0c03, 0x20, "EHCI"}, {0x0c03, 0x30, "XHCI"},
    {0x0c03, 0x40, "USB4 Host Interface"}, {0x0c03, 0x80, "Unspecified"}, {0x0c03, 0xfe, "USB Device"},
};

template <class Table, class Match> const char* look_up(const Table& table, Match match) {
    for (const auto& e : table)
        if (match(e)) return e.name;
    return nullptr;
}

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
    char small[256];
    va_list a;
    va_start(a, fmt);
    va_list b;
    va_copy(b, a);
    const int n = std::vsnprintf(small, sizeof small, fmt, a);
    va_end(a);
    std::string s;
    if (n < 0) {
        va_end(b);
        return s;
    }
    if (static_cast<std::size_t>(n) < sizeof small) {
        s.assign(small, static_cast<std::size_t>(n));
    } else {
        s.resize(static_cast<std::size_t>(n));
        std::vsnprintf(s.data(), s.size() + 1, fmt, b);
    }
    va_end(b);
    return s;
}

// "Vendor Device", as lspci names a pair of IDs, with numbers where the database has no name.
std::string id_pair_name(const char* vendor, const char* device, u16 vid, u16 did) {
    if (!vendor) return format("Device %04x:%04x", vid, did);
    if (!device) return format("%s Device %04x", vendor, did);
    return std::string(vendor) + " " + device;
}
const char* vendor_name(u16 v) {
    return look_up(vendor_names, [&](const vendor_entry& e) { return e.vendor == v; });
}
const char* device_name(u16 v, u16 d) {
    return look_up(device_names, [&](const device_entry& e) { return e.vendor == v && e.device == d; });
}
std::string function_name(u16 v, u16 d) { return id_pair_name(vendor_name(v), device_name(v, d), v, d); }
// A subsystem ID pair; when it equals the function's own IDs the device's name stands for it.
std::string subsystem_name(u16 v, u16 d, u16 sv, u16 sd) {
    return id_pair_name(vendor_name(sv), sv == v && sd == d ? device_name(v, d) : nullptr, sv, sd);
}
std::string class_name(u16 class_subclass) {
    if (const char* n = look_up(subclass_names, [&](const class_entry& e) { return e.code == class_subclass; })) return n;
    if (const char* n = look_up(base_class_names, [&](const class_entry& e) { return e.code == class_subclass >> 8; }))
        return format("%s [%04x]", n, class_subclass);
    return format("Class %04x", class_subclass);
}
const char* interface_name(u16 class_subclass, u8 interface) {
    return look_up(interface_names,
                   [&](const interface_entry& e) { return e.class_subclass == class_subclass && e.interface == interface; });
}

char sign(u64 value, u64 bit) { return (value & bit) ? '+' : '-'; }

// " [size=64K]": the largest unit that divides the size.
std::string size_text(u64 bytes) {
    if (!bytes) return "";
    static const char* const units[] = {"", "K", "M", "G", "T"};
    std::size_t u = 0;
    while (u + 1 < std::size(units) && bytes % 1024 == 0) {
        bytes /= 1024;
        ++u;
    }
    return format(" [size=%llu%s]", static_cast<unsigned long long>(bytes), units[u]);
}

// ---- what a function's registers say -------------------------------------------------------

// PCI Express Device/Port Type (PCIe 5.0 7.5.3.2).
enum class express_type : int {
    endpoint = 0, legacy_endpoint = 1, root_port = 4, upstream = 5, downstream = 6,
    pcie_to_pci = 7, pci_to_pcie = 8, integrated_endpoint = 9, event_collector = 10,
};

struct capability { u8 id; unsigned offset; };
struct ext_capability { u16 id; u8 version; unsigned offset; };

class function_registers {
public:
    explicit function_registers(const pci_listing_entry& e) : c_(e.config) {}

    u8 header_layout() const { return c_.byte(cfg::header_type) & 0x7f; }
    u16 class_subclass() const { return c_.word(cfg::class_device); }
    bool draws_as_bridge() const { return (class_subclass() >> 8) == 0x06 && header_layout() == 1; }
    u8 secondary() const { return c_.byte(cfg::secondary_bus); }
    u8 subordinate() const { return c_.byte(cfg::subordinate_bus); }

    // The capability list, in list order; a loop or a pointer outside the space ends it.
    std::vector<capability> capabilities() const {
        std::vector<capability> out;
        if (!(c_.word(cfg::status) & 0x10)) return out;
        for (unsigned at = c_.byte(cfg::cap_ptr) & 0xfc; at >= 0x40 && out.size() < 48; at = c_.byte(at + 1) & 0xfc) {
            if (std::any_of(out.begin(), out.end(), [&](const capability& c) { return c.offset == at; })) break;
            out.push_back({c_.byte(at), at});
        }
        return out;
    }
    std::optional<unsigned> express_offset() const {
        for (const capability& c : capabilities())
            if (c.id == pci::cap_id::pcie) return c.offset;
        return std::nullopt;
    }
    // The extended capabilities; only a PCI Express function has the extended space.
    std::vector<ext_capability> ext_capabilities() const {
        std::vector<ext_capability> out;
        if (!express_offset()) return out;
        for (unsigned at = 0x100; at >= 0x100 && out.size() < 960;) {
            if (std::any_of(out.begin(), out.end(), [&](const ext_capability& c) { return c.offset == at; })) break;
            const u32 h = c_.dword(at);
            if (h == 0 || h == 0xffffffff) break;
            out.push_back({static_cast<u16>(h & 0xffff), static_cast<u8>((h >> 16) & 0xf), at});
            at = (h >> 20) & 0xffc;
        }
        return out;
    }
    std::optional<unsigned> ext_capability_offset(u16 id) const {
        for (const ext_capability& c : ext_capabilities())
            if (c.id == id) return c.offset;
        return std::nullopt;
    }

private:
    const config_image& c_;
};

// ---- the listing: one line per function, or a block with -v / -vv ---------------------------

class function_report {
public:
    function_report(std::string& out, const pci_listing_entry& e, int detail, bool with_domain)
        : out_(out), e_(e), c_(e.config), r_(e), detail_(detail), with_domain_(with_domain) {}

    void write() {
        title();
        if (!detail_) return;
        if (r_.header_layout() == 0) subsystem();
        if (detail_ >= 2) {
            control_and_status();
        } else {
            flags();
        }
        if (r_.header_layout() == 0) interrupt_pin();
        regions(r_.header_layout() == 1 ? 2 : 6);
        if (r_.header_layout() == 1) bridge_side();
        for (const capability& c : r_.capabilities()) capability_block(c);
        for (const ext_capability& c : r_.ext_capabilities()) ext_capability_block(c);
        out_ += '\n';
    }

private:
    void add(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
        char buf[512];
        va_list a;
        va_start(a, fmt);
        const int n = std::vsnprintf(buf, sizeof buf, fmt, a);
        va_end(a);
        if (n > 0) out_.append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
    }

    void title() {
        const u16 cls = r_.class_subclass();
        if (with_domain_) add("%04x:", e_.domain);
        add("%02x:%02x.%d %s: %s", e_.bdf.bus, e_.bdf.dev, e_.bdf.fn, class_name(cls).c_str(),
            function_name(e_.vendor, e_.device).c_str());
        if (const u8 rev = c_.byte(cfg::revision)) add(" (rev %02x)", rev);
        if (detail_) {
            const u8 interface = c_.byte(cfg::prog_if);
            const char* name = interface_name(cls, interface);
            if (name) add(" (prog-if %02x [%s])", interface, name);
            else if (interface) add(" (prog-if %02x)", interface);
        }
        out_ += '\n';
    }

    void subsystem() {
        const u16 sv = c_.word(cfg::subsystem_vendor), sd = c_.word(cfg::subsystem_id);
        if (sv && sv != 0xffff) add("\tSubsystem: %s\n", subsystem_name(e_.vendor, e_.device, sv, sd).c_str());
    }

    static const char* devsel_name(u16 status) {
        switch (status & 0x600) {
        case 0x000: return "fast";
        case 0x200: return "medium";
        case 0x400: return "slow";
        default: return "??";
        }
    }

    // -v: the Command and Status bits that are set, as one line (the model has no Latency Timer).
    void flags() {
        const u16 cmd = c_.word(cfg::command), st = c_.word(cfg::status);
        add("\tFlags: %s%s%s%s%s devsel", (cmd & 0x4) ? "bus master, " : "", (st & 0x20) ? "66MHz, " : "",
            (st & 0x40) ? "user-definable features, " : "", (st & 0x80) ? "fast Back2Back, " : "", devsel_name(st));
        if (r_.header_layout() == 0 && c_.byte(cfg::interrupt_pin)) add(", IRQ %d", c_.byte(cfg::interrupt_line));
        out_ += '\n';
    }

    void control_and_status() {
        const u16 cmd = c_.word(cfg::command), st = c_.word(cfg::status);
        add("\tControl: I/O%c Mem%c BusMaster%c SpecCycle%c MemWINV%c VGASnoop%c ParErr%c Stepping%c SERR%c FastB2B%c DisINTx%c\n",
            sign(cmd, 0x1), sign(cmd, 0x2), sign(cmd, 0x4), sign(cmd, 0x8), sign(cmd, 0x10), sign(cmd, 0x20),
            sign(cmd, 0x40), sign(cmd, 0x80), sign(cmd, 0x100), sign(cmd, 0x200), sign(cmd, 0x400));
        add("\tStatus: Cap%c 66MHz%c UDF%c FastB2B%c ParErr%c DEVSEL=%s >TAbort%c <TAbort%c <MAbort%c >SERR%c <PERR%c INTx%c\n",
            sign(st, 0x10), sign(st, 0x20), sign(st, 0x40), sign(st, 0x80), sign(st, 0x100), devsel_name(st),
            sign(st, 0x800), sign(st, 0x1000), sign(st, 0x2000), sign(st, 0x4000), sign(st, 0x8000), sign(st, 0x8));
    }

    void interrupt_pin() {
        if (detail_ < 2) return;
        if (const u8 pin = c_.byte(cfg::interrupt_pin))
            add("\tInterrupt: pin %c routed to IRQ %d\n", pin <= 4 ? 'A' + pin - 1 : '?', c_.byte(cfg::interrupt_line));
    }

    // The memory BARs enumeration sized, at the address their registers hold now.
    void regions(unsigned count) {
        const enumerated_function* booted = e_.enumerated();
        if (!booted) return;
        const bool decoding = c_.word(cfg::command) & 0x2;
        for (const enumerated_bar& b : booted->bars) {
            if (b.index >= count) continue;
            const unsigned reg = cfg::bar0 + 4 * b.index;
            const u32 low = c_.dword(reg);
            const bool wide = (low & 0x6) == 0x4 && b.index + 1 < count;
            const u64 base = (low & ~u64(0xf)) | (wide ? u64(c_.dword(reg + 4)) << 32 : 0);
            if (detail_ >= 2) add("\tRegion %u: ", b.index);
            else out_ += '\t';
            if (base) add("Memory at %08llx", static_cast<unsigned long long>(base));
            else add("Memory at <unassigned>");
            add(" (%s, %sprefetchable)%s%s\n", wide ? "64-bit" : "32-bit", (low & 0x8) ? "" : "non-",
                decoding ? "" : " [disabled]", size_text(b.size).c_str());
        }
    }

    void window(const char* what, u64 base, u64 limit, int bits) {
        add("\t%s:", what);
        if (base <= limit) add(" %0*llx-%0*llx%s", bits / 4, static_cast<unsigned long long>(base), bits / 4,
                               static_cast<unsigned long long>(limit), size_text(limit - base + 1).c_str());
        else add(" [disabled]");
        add(" [%d-bit]\n", bits);
    }

    // Type-1 header: bus numbers, the two memory windows, Bridge Control.
    void bridge_side() {
        add("\tBus: primary=%02x, secondary=%02x, subordinate=%02x\n", c_.byte(cfg::primary_bus), r_.secondary(),
            r_.subordinate());
        const u16 mb = c_.word(cfg::memory_base), ml = c_.word(cfg::memory_limit);
        window("Memory behind bridge", u64(mb & 0xfff0) << 16, (u64(ml & 0xfff0) << 16) | 0xfffff, 32);
        const u16 pb = c_.word(cfg::pref_base), pl = c_.word(cfg::pref_limit);
        const bool wide = (pb & 0xf) == 1;
        u64 pbase = u64(pb & 0xfff0) << 16, plimit = (u64(pl & 0xfff0) << 16) | 0xfffff;
        if (wide) {
            pbase |= u64(c_.dword(cfg::pref_base_upper)) << 32;
            plimit |= u64(c_.dword(cfg::pref_limit_upper)) << 32;
        }
        window("Prefetchable memory behind bridge", pbase, plimit, wide ? 64 : 32);
        if (detail_ < 2) return;
        const u16 bc = c_.word(cfg::bridge_control);
        add("\tBridgeCtl: Parity%c SERR%c NoISA%c VGA%c VGA16%c MAbort%c >Reset%c FastB2B%c\n", sign(bc, 0x1),
            sign(bc, 0x2), sign(bc, 0x4), sign(bc, 0x8), sign(bc, 0x10), sign(bc, 0x20), sign(bc, 0x40), sign(bc, 0x80));
        add("\t\tPriDiscTmr%c SecDiscTmr%c DiscTmrStat%c DiscTmrSERREn%c\n", sign(bc, 0x100), sign(bc, 0x200),
            sign(bc, 0x400), sign(bc, 0x800));
    }

    void capability_block(const capability& c) {
        add("\tCapabilities: [%02x] ", c.offset);
        switch (c.id) {
        case pci::cap_id::msi: msi(c.offset); break;
        case pci::cap_id::pcie: express(c.offset); break;
        default: add("Capability ID %#04x\n", c.id);
        }
    }

    void msi(unsigned at) {
        const u16 ctl = c_.word(at + 2);
        const bool wide = ctl & 0x80;
        add("MSI: Enable%c Count=%d/%d Maskable%c 64bit%c\n", sign(ctl, 0x1), 1 << ((ctl >> 4) & 7), 1 << ((ctl >> 1) & 7),
            sign(ctl, 0x100), sign(ctl, 0x80));
        if (detail_ < 2) return;
        if (wide) add("\t\tAddress: %08x%08x  Data: %04x\n", c_.dword(at + 8), c_.dword(at + 4), c_.word(at + 12));
        else add("\t\tAddress: %08x  Data: %04x\n", c_.dword(at + 4), c_.word(at + 8));
    }

    static const char* speed_name(unsigned code) {
        static const char* const names[] = {"unknown", "2.5GT/s", "5GT/s", "8GT/s", "16GT/s", "32GT/s", "64GT/s"};
        return code < std::size(names) ? names[code] : "unknown";
    }

    // PCI Express capability: the registers the model defines (capabilities,
    // device and link); no slot, root or "2" registers.
    void express(unsigned at) {
        const u16 caps = c_.word(at + 2);
        const auto type = static_cast<express_type>((caps >> 4) & 0xf);
        out_ += "Express ";
        if (detail_ >= 2) add("(v%d) ", caps & 0xf);
        const char slot = sign(caps, 0x100);
        bool link = true;
        switch (type) {
        case express_type::endpoint: out_ += "Endpoint"; break;
        case express_type::legacy_endpoint: out_ += "Legacy Endpoint"; break;
        case express_type::root_port: add("Root Port (Slot%c)", slot); break;
        case express_type::upstream: out_ += "Upstream Port"; break;
        case express_type::downstream: add("Downstream Port (Slot%c)", slot); break;
        case express_type::pcie_to_pci: out_ += "PCI-Express to PCI/PCI-X Bridge"; break;
        case express_type::pci_to_pcie: add("PCI/PCI-X to PCI-Express Bridge (Slot%c)", slot); break;
        case express_type::integrated_endpoint: out_ += "Root Complex Integrated Endpoint"; link = false; break;
        case express_type::event_collector: out_ += "Root Complex Event Collector"; link = false; break;
        default: add("Unknown type %d", static_cast<int>(type));
        }
        add(", MSI %02x\n", (caps >> 9) & 0x1f);
        if (detail_ < 2) return;
        express_device(at, type);
        if (link) express_link(at, type);
    }

    static const char* l0s_exit(unsigned v) {
        static const char* const names[] = {"<64ns", "<128ns", "<256ns", "<512ns", "<1us", "<2us", "<4us", "unlimited"};
        return names[v & 7];
    }
    static const char* l1_exit(unsigned v) {
        static const char* const names[] = {"<1us", "<2us", "<4us", "<8us", "<16us", "<32us", "<64us", "unlimited"};
        return names[v & 7];
    }
    std::string power(unsigned value, unsigned scale) {
        if (scale == 0 && value == 0xff) return ">600W";
        if (scale == 0 && value >= 0xf0) value = 250 + 25 * (value - 0xf0);
        static const double factor[] = {1.0, 0.1, 0.01, 0.001};
        return format("%gW", value * factor[scale & 3]);
    }

    void express_device(unsigned at, express_type type) {
        const u32 cap = c_.dword(at + 4);
        const bool endpoint = type == express_type::endpoint || type == express_type::legacy_endpoint;
        const bool has_flr = (endpoint || type == express_type::integrated_endpoint);
        add("\t\tDevCap:\tMaxPayload %d bytes, PhantFunc %d", 128 << (cap & 7), (1 << ((cap >> 3) & 3)) - 1);
        if (endpoint) add(", Latency L0s %s, L1 %s", l0s_exit(cap >> 6), l1_exit(cap >> 9));
        add("\n\t\t\tExtTag%c", sign(cap, 0x20));
        if (endpoint || type == express_type::upstream || type == express_type::pcie_to_pci)
            add(" AttnBtn%c AttnInd%c PwrInd%c", sign(cap, 0x1000), sign(cap, 0x2000), sign(cap, 0x4000));
        add(" RBE%c", sign(cap, 0x8000));
        if (has_flr) add(" FLReset%c", sign(cap, 0x10000000));
        if (type == express_type::endpoint || type == express_type::upstream || type == express_type::pcie_to_pci)
            add(" SlotPowerLimit %s", power((cap >> 18) & 0xff, (cap >> 26) & 3).c_str());
        out_ += '\n';
        const u16 ctl = c_.word(at + 8);
        add("\t\tDevCtl:\tCorrErr%c NonFatalErr%c FatalErr%c UnsupReq%c\n", sign(ctl, 0x1), sign(ctl, 0x2),
            sign(ctl, 0x4), sign(ctl, 0x8));
        add("\t\t\tRlxdOrd%c ExtTag%c PhantFunc%c AuxPwr%c NoSnoop%c", sign(ctl, 0x10), sign(ctl, 0x100),
            sign(ctl, 0x200), sign(ctl, 0x400), sign(ctl, 0x800));
        if (type == express_type::pcie_to_pci) add(" BrConfRtry%c", sign(ctl, 0x8000));
        if (has_flr && (cap & 0x10000000)) add(" FLReset%c", sign(ctl, 0x8000));
        add("\n\t\t\tMaxPayload %d bytes, MaxReadReq %d bytes\n", 128 << ((ctl >> 5) & 7), 128 << ((ctl >> 12) & 7));
        const u16 st = c_.word(at + 10);
        add("\t\tDevSta:\tCorrErr%c NonFatalErr%c FatalErr%c UnsupReq%c AuxPwr%c TransPend%c\n", sign(st, 0x1),
            sign(st, 0x2), sign(st, 0x4), sign(st, 0x8), sign(st, 0x10), sign(st, 0x20));
    }

    void express_link(unsigned at, express_type type) {
        const u32 cap = c_.dword(at + 12);
        const unsigned aspm = (cap >> 10) & 3, cap_speed = cap & 0xf, cap_width = (cap >> 4) & 0x3f;
        static const char* const aspm_support[] = {"not supported", "L0s", "L1", "L0s L1"};
        add("\t\tLnkCap:\tPort #%u, Speed %s, Width x%u, ASPM %s", cap >> 24, speed_name(cap_speed), cap_width,
            aspm_support[aspm]);
        if (aspm) {
            out_ += ", Exit Latency ";
            if (aspm & 1) add("L0s %s", l0s_exit(cap >> 12));
            if (aspm & 2) add("%sL1 %s", (aspm & 1) ? ", " : "", l1_exit(cap >> 15));
        }
        add("\n\t\t\tClockPM%c Surprise%c LLActRep%c BwNot%c ASPMOptComp%c\n", sign(cap, 0x40000), sign(cap, 0x80000),
            sign(cap, 0x100000), sign(cap, 0x200000), sign(cap, 0x400000));
        const u16 ctl = c_.word(at + 16);
        static const char* const aspm_state[] = {"Disabled", "L0s Enabled", "L1 Enabled", "L0s L1 Enabled"};
        add("\t\tLnkCtl:\tASPM %s;", aspm_state[ctl & 3]);
        if (type == express_type::root_port || type == express_type::endpoint || type == express_type::legacy_endpoint ||
            type == express_type::pcie_to_pci)
            add(" RCB %d bytes,", (ctl & 0x8) ? 128 : 64);
        add(" Disabled%c CommClk%c\n\t\t\tExtSynch%c ClockPM%c AutWidDis%c BWInt%c AutBWInt%c\n", sign(ctl, 0x10),
            sign(ctl, 0x40), sign(ctl, 0x80), sign(ctl, 0x100), sign(ctl, 0x200), sign(ctl, 0x400), sign(ctl, 0x800));
        const u16 st = c_.word(at + 18);
        const unsigned speed = st & 0xf, width = (st >> 4) & 0x3f;
        // A port that trains below what it can is normal on the downstream side of a link.
        const bool port_side = type == express_type::root_port || type == express_type::downstream ||
                               type == express_type::pci_to_pcie;
        auto versus = [&](unsigned now, unsigned most) {
            return now > most ? " (overdriven)" : now == most || port_side ? "" : " (downgraded)";
        };
        add("\t\tLnkSta:\tSpeed %s%s, Width x%u%s\n", speed_name(speed), versus(speed, cap_speed), width,
            versus(width, cap_width));
        add("\t\t\tTrErr%c Train%c SlotClk%c DLActive%c BWMgmt%c ABWMgmt%c\n", sign(st, 0x400), sign(st, 0x800),
            sign(st, 0x1000), sign(st, 0x2000), sign(st, 0x4000), sign(st, 0x8000));
    }

    void ext_capability_block(const ext_capability& c) {
        add("\tCapabilities: [%03x", c.offset);
        if (detail_ >= 2) add(" v%d", c.version);
        out_ += "] ";
        switch (c.id) {
        case pci::ext_cap_id::acs: acs(c.offset); break;
        case pci::ext_cap_id::sriov: sriov(c.offset); break;
        case pci::ext_cap_id::ats: ats(c.offset); break;
        default: add("Extended Capability ID %#x\n", c.id);
        }
    }

    void acs(unsigned at) {
        out_ += "Access Control Services\n";
        if (detail_ < 2) return;
        auto bits = [&](const char* name, u16 v) {
            add("\t\t%s\tSrcValid%c TransBlk%c ReqRedir%c CmpltRedir%c UpstreamFwd%c EgressCtrl%c DirectTrans%c\n", name,
                sign(v, 0x1), sign(v, 0x2), sign(v, 0x4), sign(v, 0x8), sign(v, 0x10), sign(v, 0x20), sign(v, 0x40));
        };
        bits("ACSCap:", c_.word(at + acs_reg::capability));
        bits("ACSCtl:", c_.word(at + acs_reg::control));
    }

    // ATS, as pciutils' ls-ecaps.c cap_ats() prints it (the queue depth field as it is).
    void ats(unsigned at) {
        out_ += "Address Translation Service (ATS)\n";
        if (detail_ < 2) return;
        add("\t\tATSCap:\tInvalidate Queue Depth: %02x\n", c_.word(at + pci::ats_reg::capability) & pci::ats_reg::CAP_QUEUE_DEPTH);
        const u16 ctl = c_.word(at + pci::ats_reg::control);
        add("\t\tATSCtl:\tEnable%c, Smallest Translation Unit: %02x\n", sign(ctl, pci::ats_reg::CTRL_ENABLE), ctl & pci::ats_reg::CTRL_STU);
    }

    // SR-IOV: the registers the model defines; no VF BARs, no migration state.
    void sriov(unsigned at) {
        out_ += "Single Root I/O Virtualization (SR-IOV)\n";
        if (detail_ < 2) return;
        const u32 cap = c_.dword(at + sriov_reg::capabilities);
        add("\t\tIOVCap:\tMigration%c 10BitTagReq%c Interrupt Message Number: %03x\n", sign(cap, 0x1), sign(cap, 0x4),
            cap >> 21);
        const u16 ctl = c_.word(at + sriov_reg::control);
        add("\t\tIOVCtl:\tEnable%c Migration%c Interrupt%c MSE%c ARIHierarchy%c 10BitTagReq%c\n", sign(ctl, 0x1),
            sign(ctl, 0x2), sign(ctl, 0x4), sign(ctl, 0x8), sign(ctl, 0x10), sign(ctl, 0x20));
        add("\t\tIOVSta:\tMigration%c\n", sign(c_.word(at + sriov_reg::status), 0x1));
        add("\t\tInitial VFs: %d, Total VFs: %d, Number of VFs: %d\n", c_.word(at + sriov_reg::initial_vfs),
            c_.word(at + sriov_reg::total_vfs), c_.word(at + sriov_reg::num_vfs));
        add("\t\tVF offset: %d, stride: %d, Device ID: %04x\n", c_.word(at + sriov_reg::first_vf_offset),
            c_.word(at + sriov_reg::vf_stride), c_.word(at + sriov_reg::vf_device_id));
        add("\t\tSupported Page Size: %08x, System Page Size: %08x\n", c_.dword(at + sriov_reg::supported_page_sizes),
            c_.dword(at + sriov_reg::system_page_size));
    }

    std::string& out_;
    const pci_listing_entry& e_;
    const config_image& c_;
    function_registers r_;
    int detail_;
    bool with_domain_;
};

// ---- the bus tree (-t) ----------------------------------------------------------------------
//
// Each PCI domain is drawn from its root: the root buses, then on each bus its
// functions in address order, a bridge followed by the buses on its secondary
// side. A bus is labelled "[domain:bus]" where a root has one bus, or where a
// bridge has more than one (the virtual functions of a PF can fill buses past
// the bridge's secondary bus); a bridge shows its bus range from its registers.
// Continuation lines keep the vertical strokes of the branches still open.

class bus_tree {
public:
    bus_tree(const std::vector<pci_listing_entry>& entries, bool names) : entries_(entries), names_(names) {
        // Tree nodes: one per domain root, one per bridge; the secondary bus of a bridge is its first bus.
        node_of_.assign(entries.size(), -1);
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const function_registers r(entries[i]);
            if (!r.draws_as_bridge()) continue;
            node_of_[i] = new_node(static_cast<int>(i), entries[i].domain);
            nodes_[node_of_[i]].buses.push_back({r.secondary(), {}});
        }
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const pci_listing_entry& e = entries[i];
            int owner = e.parent >= 0 ? node_of_[e.parent] : -1;
            if (owner < 0) owner = root_of(e.domain);
            bus_slot(owner, e.bdf.bus).push_back(static_cast<int>(i));
        }
    }

    void draw(std::ostream& os) {
        for (const auto& [domain, node] : roots_) {
            line_.clear();
            bridge_side(os, node, 0);
        }
    }

private:
    struct bus { u8 number; std::vector<int> functions; };
    struct node { int function; std::uint16_t domain; std::vector<bus> buses; };

    int new_node(int function, std::uint16_t domain) {
        nodes_.push_back({function, domain, {}});
        return static_cast<int>(nodes_.size() - 1);
    }
    int root_of(std::uint16_t domain) {
        for (const auto& [d, n] : roots_)
            if (d == domain) return n;
        roots_.emplace_back(domain, new_node(-1, domain));
        return roots_.back().second;
    }
    std::vector<int>& bus_slot(int n, u8 number) {
        for (bus& b : nodes_[n].buses)
            if (b.number == number) return b.functions;
        nodes_[n].buses.push_back({number, {}});
        return nodes_[n].buses.back().functions;
    }

    // Writes `text` at column `col` of the line being built.
    void put(std::size_t col, const std::string& text) {
        line_.resize(col, ' ');
        line_ += text;
    }
    // Ends the line; what stays of it is the left margin of the next one.
    void end_line(std::ostream& os) {
        os << line_ << '\n';
        for (char& ch : line_) ch = (ch == '+' || ch == '|') ? '|' : ' ';
    }

    void bridge_side(std::ostream& os, int n, std::size_t col) {
        const node& nd = nodes_[n];
        put(col, "-");
        ++col;
        if (nd.buses.size() == 1) {
            if (nd.function < 0) {
                put(col, format("[%04x:%02x]-", nd.domain, nd.buses[0].number));
                col = line_.size();
            }
            bus_functions(os, nd.buses[0], col);
            return;
        }
        for (std::size_t i = 0; i < nd.buses.size(); ++i) {
            const bool last = i + 1 == nd.buses.size();
            put(col, format("%s[%04x:%02x]-", last ? "\\-" : "+-", nd.domain, nd.buses[i].number));
            bus_functions(os, nodes_[n].buses[i], line_.size());
        }
    }

    void bus_functions(std::ostream& os, const bus& b, std::size_t col) {
        if (b.functions.empty()) {
            line_.resize(col, ' ');
            end_line(os);
            return;
        }
        for (std::size_t i = 0; i < b.functions.size(); ++i) {
            const bool last = i + 1 == b.functions.size();
            put(col, b.functions.size() == 1 ? "--" : last ? "\\-" : "+-");
            function(os, b.functions[i], col + 2);
        }
    }

    void function(std::ostream& os, int i, std::size_t col) {
        const pci_listing_entry& e = entries_[i];
        put(col, format("%02x.%x", e.bdf.dev, e.bdf.fn));
        if (const int n = node_of_[i]; n >= 0) {
            const function_registers r(e);
            const u8 sec = r.secondary(), sub = r.subordinate();
            if (sec == 0) put(line_.size(), "-");
            else if (sec == sub) put(line_.size(), format("-[%02x]-", sec));
            else put(line_.size(), format("-[%02x-%02x]-", sec, sub));
            bridge_side(os, n, line_.size());
            return;
        }
        if (names_) put(line_.size(), "  " + function_name(e.vendor, e.device));
        end_line(os);
    }

    const std::vector<pci_listing_entry>& entries_;
    bool names_;
    std::vector<node> nodes_;
    std::vector<std::pair<std::uint16_t, int>> roots_;  // domain -> its root node, in the order first seen
    std::vector<int> node_of_;                          // entry -> its node when it is a bridge, else -1
    std::string line_;
};

} // namespace

// ---- finding the functions ----------------------------------------------------------------------

pci_listing::pci_listing(platform_instance& pi, const std::map<std::string, enumerated_function>& booted,
                         sc_core::sc_time& d)
    : reader_(std::make_unique<config_reader>(*pi.hypervisor, d)) {
    const auto& topo = pi.topo.functions;
    // Candidates: the root complex's host bridge and every function of the hierarchy, in
    // probe order; `listed[t]` is the entry of topology function t once it answers.
    std::vector<int> listed(topo.size(), -1);
    entries_.reserve(topo.size() + 1);
    if (pi.host_bridge) {
        pci_listing_entry e{0, pi.host_bridge->bdf(), "", false, -1, 0, 0, config_image(*reader_, pi.host_bridge->bdf()), nullptr};
        const u32 ids = e.config.dword(cfg::vendor_id);
        if ((ids & 0xffff) != 0xffff) {
            e.vendor = static_cast<u16>(ids);
            e.device = static_cast<u16>(ids >> 16);
            entries_.push_back(std::move(e));
        }
    }
    for (std::size_t t = 0; t < topo.size(); ++t) {
        const topo_function& f = topo[t];
        if (f.segment != 0) continue;  // only segment 0 is simulated
        const pcie::bdf at = f.bdf;  // what the function captured: boot has checked that they agree
        pci_listing_entry e{f.segment, at, f.id, f.is_vf, -1, 0, 0, config_image(*reader_, at), &booted};
        if (f.is_vf) {
            // A VF answers while its PF enables it; its IDs are the PF's Vendor ID and VF Device ID.
            const int pf = f.pf >= 0 ? listed[static_cast<std::size_t>(f.pf)] : -1;
            std::uint32_t probe;
            if (pf < 0 || !reader_->read(at, cfg::vendor_id, probe)) continue;
            const pci_listing_entry& p = entries_[static_cast<std::size_t>(pf)];
            const auto sr = function_registers(p).ext_capability_offset(pci::ext_cap_id::sriov);
            e.vendor = p.vendor;
            e.device = sr ? p.config.word(*sr + sriov_reg::vf_device_id) : p.device;
        } else {
            const u32 ids = e.config.dword(cfg::vendor_id);
            if ((ids & 0xffff) == 0xffff) continue;
            e.vendor = static_cast<u16>(ids);
            e.device = static_cast<u16>(ids >> 16);
        }
        e.parent = f.parent >= 0 ? listed[static_cast<std::size_t>(f.parent)] : -1;
        listed[t] = static_cast<int>(entries_.size());
        entries_.push_back(std::move(e));
    }
    // Address order; parents follow their entries.
    std::vector<int> order(entries_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
        const auto& x = entries_[static_cast<std::size_t>(a)];
        const auto& y = entries_[static_cast<std::size_t>(b)];
        return std::make_pair(x.domain, x.bdf.rid()) < std::make_pair(y.domain, y.bdf.rid());
    });
    std::vector<int> position(entries_.size());
    for (std::size_t i = 0; i < order.size(); ++i) position[static_cast<std::size_t>(order[i])] = static_cast<int>(i);
    std::vector<pci_listing_entry> sorted;
    sorted.reserve(entries_.size());
    for (int i : order) {
        sorted.push_back(std::move(entries_[static_cast<std::size_t>(i)]));
        if (sorted.back().parent >= 0) sorted.back().parent = position[static_cast<std::size_t>(sorted.back().parent)];
    }
    entries_ = std::move(sorted);
}

pci_listing::~pci_listing() = default;

const enumerated_function* pci_listing_entry::enumerated() const {
    if (!booted || id.empty()) return nullptr;
    const auto it = booted->find(id);
    return it == booted->end() ? nullptr : &it->second;
}

std::size_t pci_listing::config_reads() const { return reader_->reads(); }

void write_lspci(std::ostream& os, const pci_listing& listing, const lspci_options& o) {
    const auto& entries = listing.entries();
    if (o.tree) {
        bus_tree(entries, o.verbose > 0).draw(os);
        return;
    }
    const bool with_domain =
        std::any_of(entries.begin(), entries.end(), [](const pci_listing_entry& e) { return e.domain != 0; });
    const int detail = std::min(o.verbose, 2);
    std::string text;
    for (const pci_listing_entry& e : entries) {
        text.clear();
        function_report(text, e, detail, with_domain).write();
        os << text;
    }
}

void lspci(std::ostream& os, const scenario& s, const lspci_options& o) {
    auto pi = build_platform(s);
    // Multi-passthrough sockets bind their callbacks at the end of elaboration.
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    const auto booted = boot_platform(s, *pi, d);
    const pci_listing listing(*pi, booted, d);
    write_lspci(os, listing, o);
}

} // namespace iotwin::platform
