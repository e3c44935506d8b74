#include "platform/lspci.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <functional>
#include <optional>
#include <set>

#include "models/pci/config_space.h"
#include "platform/ecam.h"
#include "platform/boot.h"

namespace iotwin::platform {

namespace {

using u8 = std::uint8_t;
using u16 = std::uint16_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;

// ---- names: an excerpt of the PCI ID database (pci.ids) -----------------------------------

struct id_name { u16 id; const char* name; };
struct device_id_name { u16 vendor, device; const char* name; };
struct class_name_entry { u16 cls; const char* name; };  // 0xCC00 with subclass, or 0xCCxx

// Vendors of the bundled scenarios, of iotwin's defaults, and a few more.
constexpr id_name vendors[] = {
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

constexpr device_id_name devices[] = {
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

// Every class and subclass of pci.ids.
constexpr class_name_entry base_classes[] = {
    {0x00, "Unclassified device"}, {0x01, "Mass storage controller"}, {0x02, "Network controller"},
    {0x03, "Display controller"}, {0x04, "Multimedia controller"}, {0x05, "Memory controller"},
    {0x06, "Bridge"}, {0x07, "Communication controller"}, {0x08, "Generic system peripheral"},
    {0x09, "Input device controller"}, {0x0a, "Docking station"}, {0x0b, "Processor"},
    {0x0c, "Serial bus controller"}, {0x0d, "Wireless controller"}, {0x0e, "Intelligent controller"},
    {0x0f, "Satellite communications controller"}, {0x10, "Encryption controller"},
    {0x11, "Signal processing controller"}, {0x12, "Processing accelerators"},
    {0x13, "Non-Essential Instrumentation"}, {0x40, "Coprocessor"}, {0xff, "Unassigned class"},
};

constexpr class_name_entry subclasses[] = {
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

struct progif_name { u16 cls; u8 progif; const char* name; };
constexpr progif_name progifs[] = {
    {0x0106, 0x00, "Vendor specific"}, {0x0106, 0x01, "AHCI 1.0"}, {0x0106, 0x02, "Serial Storage Bus"},
    {0x0108, 0x01, "NVMHCI"}, {0x0108, 0x02, "NVM Express"},
    {0x0300, 0x00, "VGA controller"}, {0x0300, 0x01, "8514 controller"},
    {0x0604, 0x00, "Normal decode"}, {0x0604, 0x01, "Subtractive decode"},
    {0x0c00, 0x00, "Generic"}, {0x0c00, 0x10, "OHCI"},
    {0x0c03, 0x00, "UHCI"}, {0x0c03, 0x10, "OHCI"}, {0x0c03, 0x20, "EHCI"}, {0x0c03, 0x30, "XHCI"},
    {0x0c03, 0x40, "USB4 Host Interface"}, {0x0c03, 0x80, "Unspecified"}, {0x0c03, 0xfe, "USB Device"},
};

const char* vendor_name(u16 v) {
    for (const auto& e : vendors)
        if (e.id == v) return e.name;
    return nullptr;
}

const char* device_name(u16 v, u16 d) {
    for (const auto& e : devices)
        if (e.vendor == v && e.device == d) return e.name;
    return nullptr;
}

std::string vstrf(const char* fmt, va_list a) {
    va_list b;
    va_copy(b, a);
    const int n = std::vsnprintf(nullptr, 0, fmt, b);
    va_end(b);
    std::string s(static_cast<std::size_t>(n > 0 ? n : 0), '\0');
    std::vsnprintf(s.data(), s.size() + 1, fmt, a);
    return s;
}

std::string strf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string strf(const char* fmt, ...) {
    va_list a;
    va_start(a, fmt);
    std::string s = vstrf(fmt, a);
    va_end(a);
    return s;
}

// pci_lookup_name(PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE) without -n: format_name_pair().
std::string name_pair(const char* v, const char* d, u16 vid, u16 did) {
    if (v && d) return strf("%s %s", v, d);
    if (!v) return strf("Device %04x:%04x", vid, did);
    return strf("%s Device %04x", v, did);
}

std::string vendor_device_name(u16 v, u16 d) { return name_pair(vendor_name(v), device_name(v, d), v, d); }

// PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE: a subsystem equal
// to the device takes the device's name (id_lookup_subsys()).
std::string subsystem_name(u16 v, u16 d, u16 sv, u16 sd) {
    const char* dn = (v == sv && d == sd) ? device_name(v, d) : nullptr;
    return name_pair(vendor_name(sv), dn, sv, sd);
}

std::string class_name(u16 cls) {
    for (const auto& e : subclasses)
        if (e.cls == cls) return e.name;
    for (const auto& e : base_classes)
        if (e.cls == cls >> 8) return strf("%s [%04x]", e.name, cls);  // the base class only: full number
    return strf("Class %04x", cls);
}

// PCI_LOOKUP_PROGIF | PCI_LOOKUP_NO_NUMBERS: the name, or "" when there is none.
std::string progif(u16 cls, u8 pif) {
    for (const auto& e : progifs)
        if (e.cls == cls && e.progif == pif) return e.name;
    if (cls == 0x0101 && !(pif & 0x70)) {  // IDE controllers have complex prog-if semantics
        std::string s = strf("%s%s%s%s%s", (pif & 0x80) ? " Master" : "", (pif & 0x08) ? " SecP" : "",
                               (pif & 0x04) ? " SecO" : "", (pif & 0x02) ? " PriP" : "", (pif & 0x01) ? " PriO" : "");
        return s.empty() ? s : s.substr(1);
    }
    return "";
}

// ---- register layout (pciutils lib/header.h, PCIe 5.0) -------------------------------------

namespace reg = pci::cfg;
namespace sriov_reg = pci::sriov_reg;
namespace acs_reg = pci::acs_reg;

char flag(u64 v, u64 bit) { return (v & bit) ? '+' : '-'; }

// Reads of the configuration space as lspci makes them (little-endian).
struct config_view {
    const lspci_function& f;
    bool has(unsigned pos, unsigned len) const { return pos + len <= f.config.size(); }
    u8 byte(unsigned pos) const { return has(pos, 1) ? f.config[pos] : 0; }
    u16 word(unsigned pos) const { return static_cast<u16>(byte(pos) | byte(pos + 1) << 8); }
    u32 dword(unsigned pos) const { return u32(word(pos)) | u32(word(pos + 2)) << 16; }
    u8 header_type() const { return byte(reg::header_type) & 0x7f; }
    u16 device_class() const { return word(reg::class_device); }
    const enumerated_bar* bar(unsigned index) const { return f.kernel ? f.kernel->bar(index) : nullptr; }
};

// Linux's resource flags (IORESOURCE_*) of a BAR, as sysfs reports them.
constexpr u64 ioresource_mem = 0x200, ioresource_prefetch = 0x2000, ioresource_mem_64 = 0x100000;
u64 resource_flags(const enumerated_bar* b) {
    if (!b) return 0;
    return ioresource_mem | (b->is64 ? ioresource_mem_64 : 0) | (b->prefetchable ? ioresource_prefetch : 0);
}
// ioflg_to_pciflg(): the BAR type bits those flags stand for.
u32 pci_flags(u64 ioflg) {
    if (!(ioflg & ioresource_mem)) return 0;
    return (ioflg & ioresource_mem_64 ? 0x4u : 0x0u) | (ioflg & ioresource_prefetch ? 0x8u : 0x0u);
}

std::string size_suffix(u64 x) {
    static const char suffix[][2] = {"", "K", "M", "G", "T"};
    if (!x) return "";
    unsigned i;
    for (i = 0; i < (sizeof(suffix) / sizeof(*suffix) - 1); i++) {
        if (x % 1024) break;
        x /= 1024;
    }
    return strf(" [size=%u%s]", static_cast<unsigned>(x), suffix[i]);
}

// ---- lspci -vv ---------------------------------------------------------------------------

class verbose_printer {
public:
    verbose_printer(std::ostream& os, const lspci_function& f, int verbose, bool domains)
        : os_(os), f_(f), c_{f}, verbose_(verbose), domains_(domains) {}

    void terse() {
        const u16 cls = c_.device_class();
        if (domains_) out("%04x:", f_.domain);
        out("%02x:%02x.%d", f_.bdf.bus, f_.bdf.dev, f_.bdf.fn);
        out(" %s: %s", class_name(cls).c_str(), vendor_device_name(f_.vendor, f_.device).c_str());
        if (const u8 rev = c_.byte(reg::revision)) out(" (rev %02x)", rev);
        if (verbose_) {
            const u8 c = c_.byte(reg::prog_if);
            const std::string x = progif(cls, c);
            if (c || !x.empty()) {
                out(" (prog-if %02x", c);
                if (!x.empty()) out(" [%s]", x.c_str());
                out(")");
            }
        }
        out("\n");
        if (verbose_) {
            // Linux takes a type-0 function's subsystem from its header, a bridge's from an SSVID capability (none here).
            if (c_.header_type() == 0) {
                const u16 sv = c_.word(reg::subsystem_vendor), sd = c_.word(reg::subsystem_id);
                if (sv && sv != 0xffff) out("\tSubsystem: %s\n", subsystem_name(f_.vendor, f_.device, sv, sd).c_str());
            }
        }
    }

    void verbose() {
        terse();
        const u16 cls = c_.device_class();
        const u8 htype = c_.header_type();
        u8 bist = 0, max_lat = 0, min_gnt = 0;
        bool unknown = false;
        switch (htype) {
        case 0:
            if (cls == 0x0604) out("\t!!! Invalid class %04x for header type %02x\n", cls, htype);
            bist = c_.byte(reg::bist);
            max_lat = c_.byte(reg::max_lat);
            min_gnt = c_.byte(reg::min_gnt);
            break;
        case 1:
            if ((cls >> 8) != 0x06) out("\t!!! Invalid class %04x for header type %02x\n", cls, htype);
            bist = c_.byte(reg::bist);
            break;
        default:
            out("\t!!! Unknown header type %02x\n", htype);
            unknown = true;
        }
        if (!unknown) {
            const u16 cmd = c_.word(reg::command), status = c_.word(reg::status);
            out("\tControl: I/O%c Mem%c BusMaster%c SpecCycle%c MemWINV%c VGASnoop%c ParErr%c Stepping%c SERR%c FastB2B%c DisINTx%c\n",
                flag(cmd, 0x1), flag(cmd, 0x2), flag(cmd, 0x4), flag(cmd, 0x8), flag(cmd, 0x10), flag(cmd, 0x20),
                flag(cmd, 0x40), flag(cmd, 0x80), flag(cmd, 0x100), flag(cmd, 0x200), flag(cmd, 0x400));
            const u16 devsel = status & 0x600;
            out("\tStatus: Cap%c 66MHz%c UDF%c FastB2B%c ParErr%c DEVSEL=%s >TAbort%c <TAbort%c <MAbort%c >SERR%c <PERR%c INTx%c\n",
                flag(status, 0x10), flag(status, 0x20), flag(status, 0x40), flag(status, 0x80), flag(status, 0x100),
                devsel == 0x400 ? "slow" : devsel == 0x200 ? "medium" : devsel == 0x000 ? "fast" : "??",
                flag(status, 0x800), flag(status, 0x1000), flag(status, 0x2000), flag(status, 0x4000),
                flag(status, 0x8000), flag(status, 0x8));
            if (cmd & 0x4) {
                out("\tLatency: %d", c_.byte(reg::latency_timer));
                if (min_gnt || max_lat) {
                    out(" (");
                    if (min_gnt) out("%dns min", min_gnt * 250);
                    if (min_gnt && max_lat) out(", ");
                    if (max_lat) out("%dns max", max_lat * 250);
                    out(")");
                }
                if (const u8 cl = c_.byte(reg::cache_line)) out(", Cache Line Size: %d bytes", cl * 4);
                out("\n");
            }
        }
        // Linux's irq (pci_read_irq()): the Interrupt Line register when an INTx pin is implemented.
        const u8 pin = unknown ? 0 : c_.byte(reg::interrupt_pin);
        const unsigned irq = pin ? c_.byte(reg::interrupt_line) : 0;
        if (pin || irq) out("\tInterrupt: pin %c routed to IRQ %u\n", pin ? 'A' + pin - 1 : '?', irq);
        if (bist & 0x80) {
            if (bist & 0x40) out("\tBIST is running\n");
            else out("\tBIST result: %02x\n", bist & 0x0f);
        }
        if (htype == 0) {
            bases(6);
            caps();
        } else if (htype == 1) {
            bridge();
        }
    }

private:
    void out(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
        va_list a;
        va_start(a, fmt);
        os_ << vstrf(fmt, a);
        va_end(a);
    }

    // show_bases() with the kernel's resources (PCI_FILL_IO_FLAGS known).
    void bases(unsigned cnt) {
        const u16 cmd = c_.word(reg::command);
        for (unsigned i = 0; i < cnt; i++) {
            const enumerated_bar* b = c_.bar(i);
            const u64 pos = b ? b->base : 0, len = b ? b->size : 0;
            const u64 ioflg = resource_flags(b);
            const u32 flg = pci_flags(ioflg);
            if (!pos && !flg && !len) continue;
            out("\tRegion %d: ", i);
            u32 hw_lower = 0, hw_upper = 0;
            bool broken = false, is_virtual = false;
            hw_lower = c_.dword(reg::bar0 + 4 * i);
            if ((hw_lower & 1) == 0) {  // a memory BAR, as the resource says
                if ((hw_lower & 0x6) == 0x4) {
                    if (i >= cnt - 1) broken = true;
                    else hw_upper = c_.dword(reg::bar0 + 4 * i + 1);  // (sic: pciutils reads at +1)
                }
                if (pos && !hw_lower && !hw_upper) is_virtual = true;
            }
            const u32 t = flg & 0x6;
            const u64 a = pos & ~u64(0xf);
            out("Memory at ");
            if (broken) out("<broken-64-bit-slot>");
            else if (a) out("%08llx", static_cast<unsigned long long>(a));
            else if (hw_lower || hw_upper) out("<ignored>");
            else out("<unassigned>");
            out(" (%s, %sprefetchable)", t == 0x0 ? "32-bit" : t == 0x4 ? "64-bit" : t == 0x2 ? "low-1M" : "type 3",
                (flg & 0x8) ? "" : "non-");
            if (is_virtual) out(" [virtual]");
            else if (!(cmd & 0x2)) out(" [disabled]");
            out("%s\n", size_suffix(len).c_str());
        }
    }

    void range(const char* prefix, u64 base, u64 limit, int bits, bool disabled) {
        out("%s:", prefix);
        if (base <= limit)
            out(" %0*llx-%0*llx", (bits + 3) / 4, static_cast<unsigned long long>(base), (bits + 3) / 4,
                static_cast<unsigned long long>(limit));
        if (!disabled && base <= limit) out("%s", size_suffix(limit - base + 1).c_str());
        else out(" [disabled]");
        if (bits) out(" [%d-bit]", bits);
        out("\n");
    }

    // show_htype1(). The kernel knows the bridge's windows (PCI_FILL_BRIDGE_BASES); iotwin
    // models no I/O space, so no bridge has an I/O window.
    void bridge() {
        u32 io_base = c_.byte(reg::io_base), io_limit = c_.byte(reg::io_limit);
        const u32 io_type = io_base & 0xf;
        u32 mem_base = c_.word(reg::memory_base), mem_limit = c_.word(reg::memory_limit);
        const u32 mem_type = mem_base & 0xf;
        const u32 pref_base = c_.word(reg::pref_base), pref_limit = c_.word(reg::pref_limit);
        const u32 pref_type = pref_base & 0xf;
        const u16 sec_stat = c_.word(reg::secondary_status), brc = c_.word(reg::bridge_control);
        const enumerated_function* k = f_.kernel && f_.kernel->bridge ? &*f_.kernel : nullptr;
        const bool known = k;
        const bool io_disabled = known;
        const bool mem_disabled = known && !k->window_size;
        const bool pref_disabled = known && !k->pref_size;

        bases(2);
        out("\tBus: primary=%02x, secondary=%02x, subordinate=%02x, sec-latency=%d\n", c_.byte(reg::primary_bus),
            c_.byte(reg::secondary_bus), c_.byte(reg::subordinate_bus), c_.byte(reg::sec_latency));

        if (io_type != (io_limit & 0xf) || (io_type != 0 && io_type != 1)) {
            out("\t!!! Unknown I/O range types %x/%x\n", io_base, io_limit);
        } else {
            io_base = (io_base & 0xf0) << 8;
            io_limit = (io_limit & 0xf0) << 8;
            if (io_type == 1) {
                io_base |= u32(c_.word(reg::io_base_upper)) << 16;
                io_limit |= u32(c_.word(reg::io_limit_upper)) << 16;
            }
            // I/O is unsupported if both base and limit are zeros and the resource is disabled.
            if (!(io_base == 0 && io_limit == 0 && io_disabled))
                range("\tI/O behind bridge", io_base, io_limit + 0xfff, io_type == 1 ? 32 : 16, io_disabled);
        }

        if (known && !mem_disabled) {
            const u64 base = k->window_base & ~u64(0xf);
            range("\tMemory behind bridge", base, base + k->window_size - 1, 32, false);
        } else if (mem_type != (mem_limit & 0xf) || mem_type) {
            out("\t!!! Unknown memory range types %x/%x\n", mem_base, mem_limit);
        } else {
            mem_base = (mem_base & ~0xfu) << 16;
            mem_limit = (mem_limit & ~0xfu) << 16;
            range("\tMemory behind bridge", mem_base, u64(mem_limit) + 0xfffff, 32, mem_disabled);
        }

        if (known && !pref_disabled) {
            // sysfs gives the window's start without the type bits, so pciutils labels it 32-bit.
            const u64 base = k->pref_base & ~u64(0xf);
            const int bits = (k->pref_base & 0xf) == 1 ? 64 : 32;
            range("\tPrefetchable memory behind bridge", base, base + k->pref_size - 1, bits, false);
        } else if (pref_type != (pref_limit & 0xf) || (pref_type != 0 && pref_type != 1)) {
            out("\t!!! Unknown prefetchable memory range types %x/%x\n", pref_base, pref_limit);
        } else {
            u64 base = u64(pref_base & ~0xfu) << 16, limit = u64(pref_limit & ~0xfu) << 16;
            if (pref_type == 1) {
                base |= u64(c_.dword(reg::pref_base_upper)) << 32;
                limit |= u64(c_.dword(reg::pref_limit_upper)) << 32;
            }
            if (!(base == 0 && limit == 0 && pref_disabled))
                range("\tPrefetchable memory behind bridge", base, limit + 0xfffff, pref_type == 1 ? 64 : 32, pref_disabled);
        }

        const u16 devsel = sec_stat & 0x600;
        out("\tSecondary status: 66MHz%c FastB2B%c ParErr%c DEVSEL=%s >TAbort%c <TAbort%c <MAbort%c <SERR%c <PERR%c\n",
            flag(sec_stat, 0x20), flag(sec_stat, 0x80), flag(sec_stat, 0x100),
            devsel == 0x400 ? "slow" : devsel == 0x200 ? "medium" : devsel == 0x000 ? "fast" : "??",
            flag(sec_stat, 0x800), flag(sec_stat, 0x1000), flag(sec_stat, 0x2000), flag(sec_stat, 0x4000),
            flag(sec_stat, 0x8000));
        out("\tBridgeCtl: Parity%c SERR%c NoISA%c VGA%c VGA16%c MAbort%c >Reset%c FastB2B%c\n", flag(brc, 0x1),
            flag(brc, 0x2), flag(brc, 0x4), flag(brc, 0x8), flag(brc, 0x10), flag(brc, 0x20), flag(brc, 0x40),
            flag(brc, 0x80));
        out("\t\tPriDiscTmr%c SecDiscTmr%c DiscTmrStat%c DiscTmrSERREn%c\n", flag(brc, 0x100), flag(brc, 0x200),
            flag(brc, 0x400), flag(brc, 0x800));
        caps();
    }

    // show_caps()
    void caps() {
        bool can_have_ext_caps = false;
        if (c_.word(reg::status) & 0x10) {
            std::set<unsigned> been_there;
            unsigned where = c_.byte(reg::cap_ptr) & ~3u;
            while (where) {
                out("\tCapabilities: ");
                if (!c_.has(where, 4)) {
                    out("<access denied>\n");
                    break;
                }
                const u8 id = c_.byte(where);
                const unsigned next = c_.byte(where + 1) & ~3u;
                const u16 cap = c_.word(where + 2);
                out("[%02x] ", where);
                if (!been_there.insert(where).second) {
                    out("<chain looped>\n");
                    break;
                }
                if (id == 0xff) {
                    out("<chain broken>\n");
                    break;
                }
                switch (id) {
                case 0x00: out("Null\n"); break;
                case 0x05: msi(where, cap); break;
                case 0x10:
                    express(where, cap);
                    can_have_ext_caps = true;
                    break;
                case 0x11: msix(where, cap); break;
                default: out("Capability ID %#02x [%04x]\n", id, cap);
                }
                where = next;
            }
        }
        if (can_have_ext_caps) ext_caps();
    }

    void msi(unsigned where, u16 cap) {
        out("MSI: Enable%c Count=%d/%d Maskable%c 64bit%c\n", flag(cap, 0x1), 1 << ((cap & 0x70) >> 4),
            1 << ((cap & 0xe) >> 1), flag(cap, 0x100), flag(cap, 0x80));
        const bool is64 = cap & 0x80;
        out("\t\tAddress: ");
        u16 w;
        if (is64) {
            out("%08x", c_.dword(where + 8));
            w = c_.word(where + 12);
        } else {
            w = c_.word(where + 8);
        }
        out("%08x  Data: %04x\n", c_.dword(where + 4), w);
        if (cap & 0x100)
            out("\t\tMasking: %08x  Pending: %08x\n", c_.dword(where + (is64 ? 16 : 12)), c_.dword(where + (is64 ? 20 : 16)));
    }

    void msix(unsigned where, u16 cap) {
        out("MSI-X: Enable%c Count=%d Masked%c\n", flag(cap, 0x8000), (cap & 0x7ff) + 1, flag(cap, 0x4000));
        u32 off = c_.dword(where + 4);
        out("\t\tVector table: BAR=%d offset=%08x\n", off & 7, off & ~7u);
        off = c_.dword(where + 8);
        out("\t\tPBA: BAR=%d offset=%08x\n", off & 7, off & ~7u);
    }

    // PCI Express capability register offsets and Device/Port types.
    enum : int { t_endpoint = 0, t_leg_end = 1, t_root_port = 4, t_upstream = 5, t_downstream = 6,
                 t_pci_bridge = 7, t_pcie_bridge = 8, t_root_int_ep = 9, t_root_ec = 10 };

    void express(unsigned where, u16 cap) {
        const int type = (cap & 0xf0) >> 4;
        bool slot = false, link = true;
        out("Express ");
        out("(v%d) ", cap & 0xf);
        switch (type) {
        case t_endpoint: out("Endpoint"); break;
        case t_leg_end: out("Legacy Endpoint"); break;
        case t_root_port:
            slot = cap & 0x100;
            out("Root Port (Slot%c)", flag(cap, 0x100));
            break;
        case t_upstream: out("Upstream Port"); break;
        case t_downstream:
            slot = cap & 0x100;
            out("Downstream Port (Slot%c)", flag(cap, 0x100));
            break;
        case t_pci_bridge: out("PCI-Express to PCI/PCI-X Bridge"); break;
        case t_pcie_bridge:
            slot = cap & 0x100;
            out("PCI/PCI-X to PCI-Express Bridge (Slot%c)", flag(cap, 0x100));
            break;
        case t_root_int_ep:
            link = false;
            out("Root Complex Integrated Endpoint");
            break;
        case t_root_ec:
            link = false;
            out("Root Complex Event Collector");
            break;
        default: out("Unknown type %d", type);
        }
        out(", MSI %02x\n", (cap & 0x3e00) >> 9);
        express_dev(where, type);
        if (link) express_link(where, type);
        if (slot) express_slot(where);
        if (type == t_root_port || type == t_root_ec) express_root(where);
        if ((cap & 0xf) < 2) return;
        express_dev2(where, type);
        if (link) express_link2(where, type);
    }

    // The name of `code` in a table of names numbered from 0, or `other`.
    template <std::size_t N> static const char* name_of(int code, const char* const (&names)[N], const char* other) {
        return code >= 0 && static_cast<std::size_t>(code) < N ? names[code] : other;
    }
    static const char* latency_l0s(int v) {
        static const char* l[] = {"<64ns", "<128ns", "<256ns", "<512ns", "<1us", "<2us", "<4us", "unlimited"};
        return l[v & 7];
    }
    static const char* latency_l1(int v) {
        static const char* l[] = {"<1us", "<2us", "<4us", "<8us", "<16us", "<32us", "<64us", "unlimited"};
        return l[v & 7];
    }
    void power_limit(int value, int scale) {
        static const float scales[4] = {1.0f, 0.1f, 0.01f, 0.001f};
        if (scale == 0 && value == 0xff) {
            out(">600W");
            return;
        }
        if (scale == 0 && value >= 0xf0 && value <= 0xfe) value = 250 + 25 * (value - 0xf0);
        out("%gW", static_cast<double>(value * scales[scale & 3]));
    }

    void express_dev(unsigned where, int type) {
        const u32 t = c_.dword(where + 4);
        const bool ep = type == t_endpoint || type == t_leg_end;
        out("\t\tDevCap:\tMaxPayload %d bytes, PhantFunc %d", 128 << (t & 0x7), (1 << ((t & 0x18) >> 3)) - 1);
        if (ep) out(", Latency L0s %s, L1 %s", latency_l0s((t & 0x1c0) >> 6), latency_l1((t & 0xe00) >> 9));
        out("\n");
        out("\t\t\tExtTag%c", flag(t, 0x20));
        if (ep || type == t_upstream || type == t_pci_bridge)
            out(" AttnBtn%c AttnInd%c PwrInd%c", flag(t, 0x1000), flag(t, 0x2000), flag(t, 0x4000));
        out(" RBE%c", flag(t, 0x8000));
        if (ep || type == t_root_int_ep) out(" FLReset%c", flag(t, 0x10000000));
        if (type == t_endpoint || type == t_upstream || type == t_pci_bridge) {
            out(" SlotPowerLimit ");
            power_limit(static_cast<int>((t & 0x3fc0000) >> 18), static_cast<int>((t & 0xc000000) >> 26));
        }
        out("\n");
        u16 w = c_.word(where + 8);
        out("\t\tDevCtl:\tCorrErr%c NonFatalErr%c FatalErr%c UnsupReq%c\n", flag(w, 0x1), flag(w, 0x2), flag(w, 0x4),
            flag(w, 0x8));
        out("\t\t\tRlxdOrd%c ExtTag%c PhantFunc%c AuxPwr%c NoSnoop%c", flag(w, 0x10), flag(w, 0x100), flag(w, 0x200),
            flag(w, 0x400), flag(w, 0x800));
        if (type == t_pci_bridge) out(" BrConfRtry%c", flag(w, 0x8000));
        if ((ep || type == t_root_int_ep) && (t & 0x10000000)) out(" FLReset%c", flag(w, 0x8000));
        out("\n\t\t\tMaxPayload %d bytes, MaxReadReq %d bytes\n", 128 << ((w & 0xe0) >> 5), 128 << ((w & 0x7000) >> 12));
        w = c_.word(where + 10);
        out("\t\tDevSta:\tCorrErr%c NonFatalErr%c FatalErr%c UnsupReq%c AuxPwr%c TransPend%c\n", flag(w, 0x1),
            flag(w, 0x2), flag(w, 0x4), flag(w, 0x8), flag(w, 0x10), flag(w, 0x20));
    }

    static const char* link_speed(int speed) {
        static const char* const names[] = {"unknown", "2.5GT/s", "5GT/s", "8GT/s", "16GT/s", "32GT/s", "64GT/s"};
        return name_of(speed, names, "unknown");
    }
    static const char* link_compare(int type, u32 sta, u32 cap) {
        if (sta > cap) return " (overdriven)";
        if (sta == cap) return "";
        if (type == t_root_port || type == t_downstream || type == t_pcie_bridge) return "";
        return " (downgraded)";
    }
    static const char* aspm_support(int code) {
        static const char* const names[] = {"not supported", "L0s", "L1", "L0s L1"};
        return name_of(code, names, "unknown");
    }

    void express_link(unsigned where, int type) {
        const u32 t = c_.dword(where + 12);
        const u32 aspm = (t & 0xc00) >> 10, cap_speed = t & 0xf, cap_width = (t & 0x3f0) >> 4;
        out("\t\tLnkCap:\tPort #%d, Speed %s, Width x%d, ASPM %s", t >> 24, link_speed(static_cast<int>(cap_speed)),
            cap_width, aspm_support(static_cast<int>(aspm)));
        if (aspm) {
            out(", Exit Latency ");
            if (aspm & 1) out("L0s %s", latency_l0s(static_cast<int>((t & 0x7000) >> 12)));
            if (aspm & 2) out("%sL1 %s", (aspm & 1) ? ", " : "", latency_l1(static_cast<int>((t & 0x38000) >> 15)));
        }
        out("\n");
        out("\t\t\tClockPM%c Surprise%c LLActRep%c BwNot%c ASPMOptComp%c\n", flag(t, 0x40000), flag(t, 0x80000),
            flag(t, 0x100000), flag(t, 0x200000), flag(t, 0x400000));
        u16 w = c_.word(where + 16);
        static const char* aspm_enabled[] = {"Disabled", "L0s Enabled", "L1 Enabled", "L0s L1 Enabled"};
        out("\t\tLnkCtl:\tASPM %s;", aspm_enabled[w & 3]);
        if (type == t_root_port || type == t_endpoint || type == t_leg_end || type == t_pci_bridge)
            out(" RCB %d bytes,", (w & 0x8) ? 128 : 64);
        out(" Disabled%c CommClk%c\n\t\t\tExtSynch%c ClockPM%c AutWidDis%c BWInt%c AutBWInt%c\n", flag(w, 0x10),
            flag(w, 0x40), flag(w, 0x80), flag(w, 0x100), flag(w, 0x200), flag(w, 0x400), flag(w, 0x800));
        w = c_.word(where + 18);
        const u32 sta_speed = w & 0xf, sta_width = (w & 0x3f0) >> 4;
        out("\t\tLnkSta:\tSpeed %s%s, Width x%d%s\n", link_speed(static_cast<int>(sta_speed)),
            link_compare(type, sta_speed, cap_speed), sta_width, link_compare(type, sta_width, cap_width));
        out("\t\t\tTrErr%c Train%c SlotClk%c DLActive%c BWMgmt%c ABWMgmt%c\n", flag(w, 0x400), flag(w, 0x800),
            flag(w, 0x1000), flag(w, 0x2000), flag(w, 0x4000), flag(w, 0x8000));
    }

    void express_slot(unsigned where) {
        static const char* indicator[] = {"Unknown", "On", "Blink", "Off"};
        const u32 t = c_.dword(where + 20);
        out("\t\tSltCap:\tAttnBtn%c PwrCtrl%c MRL%c AttnInd%c PwrInd%c HotPlug%c Surprise%c\n", flag(t, 0x1),
            flag(t, 0x2), flag(t, 0x4), flag(t, 0x8), flag(t, 0x10), flag(t, 0x40), flag(t, 0x20));
        out("\t\t\tSlot #%d, PowerLimit ", t >> 19);
        power_limit(static_cast<int>((t & 0x7f80) >> 7), static_cast<int>((t & 0x18000) >> 15));
        out("; Interlock%c NoCompl%c\n", flag(t, 0x20000), flag(t, 0x40000));
        u16 w = c_.word(where + 24);
        out("\t\tSltCtl:\tEnable: AttnBtn%c PwrFlt%c MRL%c PresDet%c CmdCplt%c HPIrq%c LinkChg%c\n", flag(w, 0x1),
            flag(w, 0x2), flag(w, 0x4), flag(w, 0x8), flag(w, 0x10), flag(w, 0x20), flag(w, 0x1000));
        out("\t\t\tControl: AttnInd %s, PwrInd %s, Power%c Interlock%c\n", indicator[(w & 0xc0) >> 6],
            indicator[(w & 0x300) >> 8], flag(w, 0x400), flag(w, 0x800));
        w = c_.word(where + 26);
        out("\t\tSltSta:\tStatus: AttnBtn%c PowerFlt%c MRL%c CmdCplt%c PresDet%c Interlock%c\n", flag(w, 0x1),
            flag(w, 0x2), flag(w, 0x20), flag(w, 0x10), flag(w, 0x40), flag(w, 0x80));
        out("\t\t\tChanged: MRL%c PresDet%c LinkState%c\n", flag(w, 0x4), flag(w, 0x8), flag(w, 0x100));
    }

    void express_root(unsigned where) {
        u32 w = c_.word(where + 30);
        out("\t\tRootCap: CRSVisible%c\n", flag(w, 0x1));
        w = c_.word(where + 28);
        out("\t\tRootCtl: ErrCorrectable%c ErrNon-Fatal%c ErrFatal%c PMEIntEna%c CRSVisible%c\n", flag(w, 0x1),
            flag(w, 0x2), flag(w, 0x4), flag(w, 0x8), flag(w, 0x10));
        w = c_.dword(where + 32);
        out("\t\tRootSta: PME ReqID %04x, PMEStatus%c PMEPending%c\n", w & 0xffff, flag(w, 0x10000), flag(w, 0x20000));
    }

    static const char* timeout_range(int t) {
        switch (t) {
        case 0: return "Not Supported";
        case 1: return "Range A";
        case 2: return "Range B";
        case 3: return "Range AB";
        case 6: return "Range BC";
        case 7: return "Range ABC";
        case 14: return "Range BCD";
        case 15: return "Range ABCD";
        default: return "Unknown";
        }
    }
    static const char* timeout_value(int t) {
        switch (t) {
        case 0: return "50us to 50ms";
        case 1: return "50us to 100us";
        case 2: return "1ms to 10ms";
        case 5: return "16ms to 55ms";
        case 6: return "65ms to 210ms";
        case 9: return "260ms to 900ms";
        case 10: return "1s to 3.5s";
        case 13: return "4s to 13s";
        case 14: return "17s to 64s";
        default: return "Unknown";
        }
    }
    static const char* devcap2_obff(int o) {
        static const char* const names[] = {"Not Supported", "Via message", "Via WAKE#", "Via message/WAKE#"};
        return name_of(o, names, "Not Supported");
    }
    static const char* devcap2_epr(int e) {
        static const char* const names[] = {"Not Supported", "Dev Specific", "Form Factor Dev Specific", "Reserved"};
        return name_of(e, names, "Not Supported");
    }
    static const char* devcap2_lncls(int l) {
        static const char* const names[] = {"Not Supported", "64byte cachelines", "128byte cachelines", "Reserved"};
        return name_of(l, names, "Not Supported");
    }
    static const char* devcap2_tphcomp(int t) {
        static const char* const names[] = {"TPHComp- ExtTPHComp-", "TPHComp+ ExtTPHComp-", "", "TPHComp+ ExtTPHComp+"};
        return name_of(t, names, "TPHComp- ExtTPHComp-");
    }
    static const char* devctl2_obff(int o) {
        static const char* const names[] = {"Disabled", "Via message A", "Via message B", "Via WAKE#"};
        return name_of(o, names, "Unknown");
    }

    void express_dev2(unsigned where, int type) {
        const u32 l = c_.dword(where + 0x24);
        const bool has_mem_bar = f_.kernel && !f_.kernel->bars.empty();
        const bool port = type == t_root_port || type == t_upstream || type == t_downstream;
        out("\t\tDevCap2: Completion Timeout: %s, TimeoutDis%c NROPrPrP%c LTR%c", timeout_range(l & 0xf), flag(l, 0x10),
            flag(l, 0x400), flag(l, 0x800));
        out("\n\t\t\t 10BitTagComp%c 10BitTagReq%c OBFF %s, ExtFmt%c EETLPPrefix%c", flag(l, 0x10000), flag(l, 0x20000),
            devcap2_obff((l >> 18) & 3), flag(l, 0x100000), flag(l, 0x200000));
        if (l & 0x200000) out(", MaxEETLPPrefixes %d", ((l >> 22) & 3) ? static_cast<int>((l >> 22) & 3) : 4);
        out("\n\t\t\t EmergencyPowerReduction %s, EmergencyPowerReductionInit%c", devcap2_epr((l >> 24) & 3),
            flag(l, 0x4000000));
        out("\n\t\t\t FRS%c", flag(l, 0x80000000u));
        if (type == t_root_port) out(" LN System CLS %s,", devcap2_lncls((l >> 14) & 3));
        if (type == t_root_port || type == t_endpoint) out(" %s", devcap2_tphcomp((l >> 12) & 3));
        if (type == t_root_port || type == t_downstream) out(" ARIFwd%c\n", flag(l, 0x20));
        else out("\n");
        if (port || has_mem_bar) {
            out("\t\t\t AtomicOpsCap:");
            if (port) out(" Routing%c", flag(l, 0x40));
            if (type == t_root_port || has_mem_bar) out(" 32bit%c 64bit%c 128bitCAS%c", flag(l, 0x80), flag(l, 0x100), flag(l, 0x200));
            out("\n");
        }
        const u16 w = c_.word(where + 0x28);
        out("\t\tDevCtl2: Completion Timeout: %s, TimeoutDis%c", timeout_value(w & 0xf), flag(w, 0x10));
        if (type == t_root_port || type == t_downstream) out(" ARIFwd%c\n", flag(w, 0x20));
        else out("\n");
        if (port || type == t_endpoint || type == t_root_int_ep || type == t_leg_end) {
            out("\t\t\t AtomicOpsCtl:");
            if (type == t_root_port || type == t_endpoint || type == t_root_int_ep || type == t_leg_end) out(" ReqEn%c", flag(w, 0x40));
            if (port) out(" EgressBlck%c", flag(w, 0x80));
            out("\n");
        }
        out("\t\t\t LTR%c 10BitTagReq%c OBFF %s\n", flag(w, 0x400), flag(w, 0x1000), devctl2_obff((w >> 13) & 3));
    }

    static const char* link2_speed_cap(u32 v) {
        if (v & 0x60) return "RsvdP";
        if (v & 0x10) return "2.5-32GT/s";
        if (v & 0x08) return "2.5-16GT/s";
        if (v & 0x04) return "2.5-8GT/s";
        if (v & 0x02) return "2.5-5GT/s";
        if (v & 0x01) return "2.5GT/s";
        return "Unknown";
    }
    static const char* link2_speed(int t) {
        static const char* const names[] = {"2.5GT/s", "2.5GT/s", "5GT/s", "8GT/s", "16GT/s", "32GT/s", "64GT/s"};
        return name_of(t, names, "Unknown");
    }
    static const char* deemphasis(int t) {
        static const char* const names[] = {"-6dB", "-3.5dB"};
        return name_of(t, names, "Unknown");
    }
    static const char* compliance_preset(int t) {
        static const char* p[] = {"-6dB de-emphasis, 0dB preshoot", "-3.5dB de-emphasis, 0dB preshoot",
                                  "-4.4dB de-emphasis, 0dB preshoot", "-2.5dB de-emphasis, 0dB preshoot",
                                  "0dB de-emphasis, 0dB preshoot", "0dB de-emphasis, 1.9dB preshoot",
                                  "0dB de-emphasis, 2.5dB preshoot", "-6.0dB de-emphasis, 3.5dB preshoot",
                                  "-3.5dB de-emphasis, 3.5dB preshoot", "0dB de-emphasis, 3.5dB preshoot"};
        return name_of(t, p, "Unknown");
    }
    static const char* transmargin(int t) {
        static const char* const names[] = {"Normal Operating Range", "800-1200mV(full-swing)/400-700mV(half-swing)",
                                  "200-400mV(full-swing)/100-200mV(half-swing)", "200-400mV(full-swing)/100-200mV(half-swing)",
                                  "200-400mV(full-swing)/100-200mV(half-swing)", "200-400mV(full-swing)/100-200mV(half-swing)"};
        return name_of(t, names, "Unknown");
    }
    static const char* crosslink_res(int c) {
        static const char* const names[] = {"unsupported", "Upstream Port", "Downstream Port"};
        return name_of(c, names, "incomplete");
    }
    static const char* link2_component(int p) {
        switch (p) {
        case 0: return "Link Down - Not Determined";
        case 1: return "Link Down - Not Present";
        case 2: return "Link Down - Present";
        case 4: return "Link Up - Present";
        case 5: return "Link Up - Present and DRS Received";
        default: return "Reserved";
        }
    }

    void express_link2(unsigned where, int type) {
        u32 l = 0;
        if (!((type == t_endpoint || type == t_leg_end) && (f_.bdf.dev != 0 || f_.bdf.fn != 0))) {
            l = c_.dword(where + 0x2c);  // Link Capabilities 2 was reserved before PCIe r3.0
            if (l)
                out("\t\tLnkCap2: Supported Link Speeds: %s, Crosslink%c Retimer%c 2Retimers%c DRS%c\n",
                    link2_speed_cap((l >> 1) & 0x7f), flag(l, 0x100), flag(l, 0x800000), flag(l, 0x1000000),
                    flag(l, 0x80000000u));
            const u16 w = c_.word(where + 0x30);
            out("\t\tLnkCtl2: Target Link Speed: %s, EnterCompliance%c SpeedDis%c", link2_speed(w & 0xf), flag(w, 0x10),
                flag(w, 0x20));
            if (type == t_downstream) out(", Selectable De-emphasis: %s", deemphasis((w >> 6) & 1));
            out("\n\t\t\t Transmit Margin: %s, EnterModifiedCompliance%c ComplianceSOS%c\n"
                "\t\t\t Compliance Preset/De-emphasis: %s\n",
                transmargin((w >> 7) & 7), flag(w, 0x400), flag(w, 0x800), compliance_preset((w >> 12) & 0xf));
        }
        const u16 w = c_.word(where + 0x32);
        out("\t\tLnkSta2: Current De-emphasis Level: %s, EqualizationComplete%c EqualizationPhase1%c\n"
            "\t\t\t EqualizationPhase2%c EqualizationPhase3%c LinkEqualizationRequest%c\n"
            "\t\t\t Retimer%c 2Retimers%c CrosslinkRes: %s",
            deemphasis(w & 1), flag(w, 0x2), flag(w, 0x4), flag(w, 0x8), flag(w, 0x10), flag(w, 0x20), flag(w, 0x40),
            flag(w, 0x80), crosslink_res((w >> 8) & 3));
        const bool downstream_port = type == t_root_port || type == t_downstream || type == t_pcie_bridge;
        if (downstream_port && (l & 0x80000000u))
            out(", DRS%c\n\t\t\t DownstreamComp: %s\n", flag(w, 0x8000), link2_component((w >> 12) & 7));
        else
            out("\n");
    }

    // show_ext_caps()
    void ext_caps() {
        unsigned where = 0x100;
        std::set<unsigned> been_there;
        do {
            if (!c_.has(where, 4)) break;
            const u32 header = c_.dword(where);
            if (!header || header == 0xffffffff) break;
            const unsigned id = header & 0xffff, version = (header >> 16) & 0xf;
            out("\tCapabilities: [%03x v%d] ", where, version);
            if (!been_there.insert(where).second) {
                out("<chain looped>\n");
                break;
            }
            switch (id) {
            case 0x0000: out("Null\n"); break;
            case 0x000d: acs(where); break;
            case 0x000e: ari(where); break;
            case 0x0010: sriov(where); break;
            default: out("Extended Capability ID %#02x\n", id);
            }
            where = (header >> 20) & ~3u;
        } while (where);
    }

    void acs(unsigned where) {
        out("Access Control Services\n");
        u16 w = c_.word(where + acs_reg::capability);
        out("\t\tACSCap:\tSrcValid%c TransBlk%c ReqRedir%c CmpltRedir%c UpstreamFwd%c EgressCtrl%c DirectTrans%c\n",
            flag(w, 0x1), flag(w, 0x2), flag(w, 0x4), flag(w, 0x8), flag(w, 0x10), flag(w, 0x20), flag(w, 0x40));
        w = c_.word(where + acs_reg::control);
        out("\t\tACSCtl:\tSrcValid%c TransBlk%c ReqRedir%c CmpltRedir%c UpstreamFwd%c EgressCtrl%c DirectTrans%c\n",
            flag(w, 0x1), flag(w, 0x2), flag(w, 0x4), flag(w, 0x8), flag(w, 0x10), flag(w, 0x20), flag(w, 0x40));
    }

    void ari(unsigned where) {
        out("Alternative Routing-ID Interpretation (ARI)\n");
        u16 w = c_.word(where + 4);
        out("\t\tARICap:\tMFVC%c ACS%c, Next Function: %d\n", flag(w, 0x1), flag(w, 0x2), w >> 8);
        w = c_.word(where + 6);
        out("\t\tARICtl:\tMFVC%c ACS%c, Function Group: %d\n", flag(w, 0x1), flag(w, 0x2), (w >> 4) & 7);
    }

    void sriov(unsigned where) {
        out("Single Root I/O Virtualization (SR-IOV)\n");
        u32 l = c_.dword(where + sriov_reg::capabilities);
        out("\t\tIOVCap:\tMigration%c 10BitTagReq%c Interrupt Message Number: %03x\n", flag(l, 0x1), flag(l, 0x4), l >> 21);
        u16 w = c_.word(where + sriov_reg::control);
        out("\t\tIOVCtl:\tEnable%c Migration%c Interrupt%c MSE%c ARIHierarchy%c 10BitTagReq%c\n", flag(w, 0x1),
            flag(w, 0x2), flag(w, 0x4), flag(w, 0x8), flag(w, 0x10), flag(w, 0x20));
        w = c_.word(where + sriov_reg::status);
        out("\t\tIOVSta:\tMigration%c\n", flag(w, 0x1));
        out("\t\tInitial VFs: %d, ", c_.word(where + sriov_reg::initial_vfs));
        out("Total VFs: %d, ", c_.word(where + sriov_reg::total_vfs));
        out("Number of VFs: %d, ", c_.word(where + sriov_reg::num_vfs));
        out("Function Dependency Link: %02x\n", c_.byte(where + sriov_reg::function_dependency_link));
        out("\t\tVF offset: %d, ", c_.word(where + sriov_reg::first_vf_offset));
        out("stride: %d, ", c_.word(where + sriov_reg::vf_stride));
        out("Device ID: %04x\n", c_.word(where + sriov_reg::vf_device_id));
        out("\t\tSupported Page Size: %08x, ", c_.dword(where + sriov_reg::supported_page_sizes));
        out("System Page Size: %08x\n", c_.dword(where + sriov_reg::system_page_size));
        for (unsigned i = 0; i < 6; i++) {
            l = c_.dword(where + 0x24 + 4 * i);
            if (l == 0xffffffff) l = 0;
            if (!l) continue;
            out("\t\tRegion %d: Memory at ", i);
            const u32 addr = l & ~0xfu, type = l & 0x6;
            if (type == 0x4) {
                i++;
                out("%08x", c_.dword(where + 0x24 + 4 * i));
            }
            out("%08x (%s-bit, %sprefetchable)\n", addr, type == 0 ? "32" : "64", (l & 0x8) ? "" : "non-");
        }
        l = c_.dword(where + 0x3c);
        out("\t\tVF Migration: offset: %08x, BIR: %x\n", l & 0xfffffff8u, l & 7);
    }

    std::ostream& os_;
    const lspci_function& f_;
    config_view c_;
    int verbose_;
    bool domains_;
};

// ---- lspci -t (ls-tree.c) ----------------------------------------------------------------
//
// The drawing of pciutils' ls-tree.c (3.8 and later): a top-level bridge per
// PCI domain below the host bridge, every other bridge placed by bus numbers
// (lspci's own rule when the access method gives no parent links), buses
// listed in the order they were found, devices in address order.

class tree_printer {
public:
    tree_printer(std::ostream& os, const std::vector<lspci_function>& fs, int verbose) : os_(os), fs_(fs), verbose_(verbose) {
        grow_tree();
    }

    void show_forest() {
        line_.assign(256, ' ');
        for (int b : bridges_[host].children) show_tree_bridge(b, 0);
    }

private:
    static constexpr int host = 0;
    struct bus_t {
        u32 domain, number;
        std::vector<int> devs;
    };
    struct bridge_t {
        u32 domain, primary, secondary, subordinate;
        int br_dev;                 // -1 for the host bridge and the domain bridges
        std::vector<int> children;  // in the order they were linked
        std::vector<int> buses;     // in the order they were created
    };

    int find_bus(int b, u32 domain, u32 n) const {
        for (int u : bridges_[b].buses)
            if (buses_[u].domain == domain && buses_[u].number == n) return u;
        return -1;
    }
    int new_bus(int b, u32 domain, u32 n) {
        buses_.push_back({domain, n, {}});
        bridges_[b].buses.push_back(static_cast<int>(buses_.size() - 1));
        return static_cast<int>(buses_.size() - 1);
    }
    void insert_dev(int d, int b) {
        const lspci_function& p = fs_[d];
        if (b == host) {
            const auto& ch = bridges_[host].children;
            const auto it = std::find_if(ch.rbegin(), ch.rend(), [&](int c) { return bridges_[c].domain == p.domain; });
            if (it != ch.rend()) b = *it;
        }
        int bus = find_bus(b, p.domain, p.bdf.bus);
        if (bus < 0) {
            const auto& ch = bridges_[b].children;
            for (auto it = ch.rbegin(); it != ch.rend(); ++it) {  // the last linked first
                const bridge_t& c = bridges_[*it];
                if (c.domain == p.domain && c.secondary <= p.bdf.bus && p.bdf.bus <= c.subordinate) {
                    insert_dev(d, *it);
                    return;
                }
            }
            bus = new_bus(b, p.domain, p.bdf.bus);
        }
        buses_[bus].devs.push_back(d);
    }

    void grow_tree() {
        bridges_.push_back({~0u, ~0u, ~0u, ~0u, -1, {}, {}});
        for (const lspci_function& f : fs_)  // the top-level bridge of each domain
            if (std::none_of(bridges_.begin() + 1, bridges_.end(), [&](const bridge_t& b) { return b.domain == f.domain; }))
                bridges_.push_back({f.domain, ~0u, 0, ~0u, -1, {}, {}});
        bridge_of_.assign(fs_.size(), -1);
        for (std::size_t i = 0; i < fs_.size(); ++i) {
            const config_view c{fs_[i]};
            const u8 ht = c.header_type();
            // (A CardBus bridge keeps its bus numbers at the same offsets; iotwin has none.)
            if ((c.device_class() >> 8) == 0x06 && (ht == 1 || ht == 2)) {
                bridges_.push_back({fs_[i].domain, fs_[i].bdf.bus, c.byte(reg::secondary_bus), c.byte(reg::subordinate_bus),
                                    static_cast<int>(i), {}, {}});
                bridge_of_[i] = static_cast<int>(bridges_.size() - 1);
            }
        }
        // Each bridge below the one whose buses hold its primary bus. pciutils'
        // arithmetic is unsigned: a domain bridge's span wraps to 0 and wins.
        for (std::size_t b = 1; b < bridges_.size(); ++b) {
            int best = -1;
            for (std::size_t c = 0; c < bridges_.size(); ++c) {
                const bridge_t &bb = bridges_[b], &cc = bridges_[c];
                if (c != b && (c == host || bb.domain == cc.domain) && bb.primary >= cc.secondary &&
                    bb.primary <= cc.subordinate &&
                    (best < 0 || best == host ||
                     bridges_[best].subordinate - bridges_[best].primary > cc.subordinate - cc.primary))
                    best = static_cast<int>(c);
            }
            if (best >= 0) bridges_[best].children.push_back(static_cast<int>(b));
        }
        for (std::size_t b = 1; b < bridges_.size(); ++b)
            if (bridges_[b].br_dev >= 0 && find_bus(static_cast<int>(b), bridges_[b].domain, bridges_[b].secondary) < 0)
                new_bus(static_cast<int>(b), bridges_[b].domain, bridges_[b].secondary);
        for (std::size_t d = 0; d < fs_.size(); ++d) insert_dev(static_cast<int>(d), host);
    }

    // The line buffer of ls-tree.c: text is written at positions; print_it() prints up
    // to `p` and turns what it printed into the prefix of the next line ('+' and '|'
    // become '|', everything else a space).
    std::size_t put(std::size_t p, const std::string& s) {
        if (line_.size() < p + s.size() + 1) line_.resize(p + s.size() + 1, ' ');
        std::copy(s.begin(), s.end(), line_.begin() + static_cast<std::ptrdiff_t>(p));
        return p + s.size();
    }
    void print_it(std::size_t p) {
        os_.write(line_.data(), static_cast<std::streamsize>(p));
        os_ << '\n';
        for (std::size_t i = 0; i < p; ++i) line_[i] = (line_[i] == '+' || line_[i] == '|') ? '|' : ' ';
    }

    void show_tree_dev(int d, std::size_t p) {
        const lspci_function& q = fs_[d];
        p = put(p, strf("%02x.%x", q.bdf.dev, q.bdf.fn));
        if (const int b = bridge_of_[d]; b >= 0) {
            const bridge_t& br = bridges_[b];
            if (br.secondary == 0) p = put(p, "-");
            else if (br.secondary == br.subordinate) p = put(p, strf("-[%02x]-", br.secondary));
            else p = put(p, strf("-[%02x-%02x]-", br.secondary, br.subordinate));
            show_tree_bridge(b, p);
            return;
        }
        if (verbose_) p = put(p, "  " + vendor_device_name(q.vendor, q.device));
        print_it(p);
    }

    void show_tree_bus(int u, std::size_t p) {
        const auto& devs = buses_[u].devs;
        if (devs.empty()) {
            print_it(p);
            return;
        }
        for (std::size_t i = 0; i < devs.size(); ++i)
            show_tree_dev(devs[i], put(p, devs.size() == 1 ? "--" : i + 1 == devs.size() ? "\\-" : "+-"));
    }

    void show_tree_bridge(int b, std::size_t p) {
        const bridge_t& br = bridges_[b];
        p = put(p, "-");
        if (br.buses.size() == 1) {
            const bus_t& u = buses_[br.buses[0]];
            if (br.br_dev < 0) p = put(p, strf("[%04x:%02x]-", u.domain, u.number));
            show_tree_bus(br.buses[0], p);
            return;
        }
        for (std::size_t i = 0; i < br.buses.size(); ++i) {
            const bus_t& u = buses_[br.buses[i]];
            const bool last = i + 1 == br.buses.size();
            show_tree_bus(br.buses[i], put(p, last ? strf("\\-[%04x:%02x]-", u.domain, u.number)
                                                   : strf("+-[%04x:%02x]-", u.domain, u.number)));
        }
    }

    std::ostream& os_;
    const std::vector<lspci_function>& fs_;
    int verbose_;
    std::vector<bridge_t> bridges_;  // the host bridge, the domain bridges, then the bridges in device order
    std::vector<bus_t> buses_;
    std::vector<int> bridge_of_;     // function -> its bridge, or -1
    std::string line_;
};

// ---- finding the functions: configuration requests through ECAM ---------------------------

class ecam_scanner {
public:
    ecam_scanner(hyp::hypervisor& cpu, sc_core::sc_time& d) : cpu_(cpu), d_(d) {}

    // A 32-bit configuration read; false when the request does not complete successfully.
    bool read(const pcie::bdf& f, unsigned reg, u32& v) {
        v = 0;
        return ecam_access(cpu_, tlm::TLM_READ_COMMAND, f, reg, &v, 4, d_) == pcie::completion::SC;
    }

    // Reads the configuration space of `f`: the standard 256 bytes, and the
    // extended space of a function with a PCI Express capability.
    std::vector<std::uint8_t> config_space(const pcie::bdf& f) {
        std::vector<std::uint8_t> cfg;
        auto fetch = [&](unsigned from, unsigned to) {
            for (unsigned r = from; r < to; r += 4) {
                u32 v;
                if (!read(f, r, v)) return false;
                for (int i = 0; i < 4; ++i) cfg.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
            }
            return true;
        };
        if (!fetch(0, 0x100)) return cfg;  // what could be read
        lspci_function probe;
        probe.config = cfg;
        const config_view c{probe};
        bool pcie = false;
        if (c.word(reg::status) & 0x10) {
            std::set<unsigned> seen;
            for (unsigned w = c.byte(reg::cap_ptr) & ~3u; w && seen.insert(w).second; w = c.byte(w + 1) & ~3u)
                if (c.byte(w) == pci::cap_id::pcie) pcie = true;
        }
        if (pcie) {
            const std::size_t base = cfg.size();
            if (!fetch(0x100, 0x1000)) cfg.resize(base);
        }
        return cfg;
    }

private:
    hyp::hypervisor& cpu_;
    sc_core::sc_time& d_;
};

std::optional<unsigned> find_ext_cap(const config_view& c, u16 id) {
    std::set<unsigned> seen;
    for (unsigned w = 0x100; w && c.has(w, 4) && seen.insert(w).second; w = (c.dword(w) >> 20) & ~3u) {
        const u32 h = c.dword(w);
        if (!h || h == 0xffffffff) break;
        if ((h & 0xffff) == id) return w;
    }
    return std::nullopt;
}

} // namespace

std::vector<lspci_function> read_pci_functions(platform_instance& pi, const std::map<std::string, enumerated_function>& booted,
                                               sc_core::sc_time& d) {
    ecam_scanner ecam(*pi.hypervisor, d);
    std::map<u16, const enumerated_function*> kernel;  // by routing ID
    for (const auto& [id, e] : booted) kernel[e.bdf.rid()] = &e;
    std::vector<lspci_function> found;
    std::vector<bool> scanned(256, false);

    auto add = [&](const pcie::bdf& f, u16 vendor, u16 device) -> const lspci_function& {
        lspci_function x;
        x.bdf = f;
        x.vendor = vendor;
        x.device = device;
        x.config = ecam.config_space(f);
        if (const auto it = kernel.find(f.rid()); it != kernel.end()) x.kernel = *it->second;
        found.push_back(std::move(x));
        return found.back();
    };

    // A bus, device by device (function 0 first, the others when it is multi-function),
    // then the buses behind its bridges.
    std::function<void(u8)> scan_bus = [&](u8 bus) {
        if (scanned[bus]) return;
        scanned[bus] = true;
        std::vector<u8> secondaries;
        for (u8 dev = 0; dev < 32; ++dev) {
            bool multi = false;
            for (u8 fn = 0; fn == 0 || (multi && fn < 8); ++fn) {
                const pcie::bdf f{bus, dev, fn};
                u32 vd;
                if (!ecam.read(f, reg::vendor_id, vd) || !vd || vd == 0xffffffff || (vd & 0xffff) == 0xffff) continue;
                const config_view c{add(f, static_cast<u16>(vd), static_cast<u16>(vd >> 16))};
                if (fn == 0) multi = c.byte(reg::header_type) & 0x80;
                if (c.header_type() == 1) secondaries.push_back(c.byte(reg::secondary_bus));
            }
        }
        for (u8 s : secondaries) scan_bus(s);
    };
    scan_bus(0);
    for (u8 r : pi.topo.root_buses) scan_bus(r);

    // The virtual functions of every physical function whose VF Enable is set (Linux
    // creates them in pci_iov_add_virtfn(): IDs from the PF and its SR-IOV capability).
    const std::size_t physical = found.size();
    for (std::size_t i = 0; i < physical; ++i) {
        const lspci_function pf = found[i];
        const config_view c{pf};
        const auto sr = find_ext_cap(c, pci::ext_cap_id::sriov);
        if (!sr || !(c.word(*sr + sriov_reg::control) & sriov_reg::vf_enable)) continue;
        const u32 num = c.word(*sr + sriov_reg::num_vfs), offset = c.word(*sr + sriov_reg::first_vf_offset);
        const u32 stride = c.word(*sr + sriov_reg::vf_stride);
        const u16 vf_device = c.word(*sr + sriov_reg::vf_device_id);
        for (u32 n = 0; n < num; ++n) {
            const pcie::bdf vf = pcie::bdf::from_rid(static_cast<u16>(pci::vf_routing_id(pf.bdf.rid(), offset, stride, n)));
            u32 vd;
            if (!ecam.read(vf, reg::vendor_id, vd)) continue;  // the VF does not answer: not there
            add(vf, pf.vendor, vf_device);
        }
    }
    std::sort(found.begin(), found.end(), [](const lspci_function& a, const lspci_function& b) {
        return std::make_pair(a.domain, a.bdf.rid()) < std::make_pair(b.domain, b.bdf.rid());
    });
    return found;
}

void write_lspci(std::ostream& os, const std::vector<lspci_function>& functions, const lspci_options& o) {
    if (o.tree) {
        tree_printer(os, functions, o.verbose).show_forest();
        return;
    }
    const bool domains = std::any_of(functions.begin(), functions.end(), [](const lspci_function& f) { return f.domain != 0; });
    for (const lspci_function& f : functions) {
        verbose_printer p(os, f, o.verbose ? 2 : 0, domains);
        if (o.verbose) {
            p.verbose();
            os << '\n';
        } else {
            p.terse();
        }
    }
}

void lspci(std::ostream& os, const scenario& s, const lspci_options& o) {
    auto pi = build_platform(s);
    // Multi-passthrough sockets bind their callbacks at the end of elaboration.
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    const auto booted = boot_platform(s, *pi, d);
    write_lspci(os, read_pci_functions(*pi, booted, d), o);
}

} // namespace iotwin::platform
