// Reading `lspci -vvv -nn` text: real machines' listings (tests/data/lspci)
// are read completely, line for line, into the functions, bus numbers, port
// types, ACS bits and BARs lspci printed; pasted variants (domains, spaces
// for tabs, CRLF, sysfs lines of newer lspci) are read the same; unknown and
// damaged lines are reported with their line numbers and skipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>

#include "platform/lspci_text.h"

namespace {

using namespace iotwin::platform::lspci_text;

listing read_data(const std::string& name) {
    std::ifstream in(std::string(IOTWIN_SOURCE_DIR) + "/tests/data/lspci/" + name);
    EXPECT_TRUE(in.good()) << name;
    return parse(in);
}

listing read_text(const std::string& text) {
    std::istringstream in(text);
    return parse(in);
}

const function* find(const listing& l, unsigned bus, unsigned dev, unsigned fn) {
    for (const function& f : l.functions)
        if (f.bus == bus && f.dev == dev && f.fn == fn) return &f;
    return nullptr;
}

std::string skipped_of(const listing& l) {
    std::string s;
    for (const diagnostic& d : l.skipped) s += std::to_string(d.line) + ": " + d.why + ": " + d.text + "\n";
    return s;
}

TEST(LspciText, ADesktopWithASwitchIsReadCompletely) {
    const listing l = read_data("asus-p6t6-x58.vvvnn.txt");
    EXPECT_TRUE(l.skipped.empty()) << skipped_of(l);
    EXPECT_EQ(l.functions.size(), 53u);  // as many as `lspci -tv` shows (asus-p6t6-x58.tv.txt)

    const function* rp = find(l, 0, 3, 0);
    ASSERT_NE(rp, nullptr);
    EXPECT_EQ(rp->vendor, 0x8086);
    EXPECT_EQ(rp->device, 0x340a);
    EXPECT_EQ(rp->revision, 0x12);
    EXPECT_EQ(rp->class_code, 0x060400u);
    EXPECT_EQ(rp->express, port_type::root_port);
    EXPECT_EQ(rp->primary_bus, 0x00);
    EXPECT_EQ(rp->secondary_bus, 0x02);
    EXPECT_EQ(rp->subordinate_bus, 0x05);
    ASSERT_TRUE(rp->acs_cap && rp->acs_ctl);
    EXPECT_TRUE(rp->acs_cap->source_validation && rp->acs_cap->request_redirect && rp->acs_cap->upstream_forwarding);
    EXPECT_FALSE(rp->acs_cap->egress_control || rp->acs_cap->direct_translated);
    EXPECT_EQ(*rp->acs_ctl, acs_bits{});  // firmware left ACS Control clear

    // The switch behind it: an upstream port and two downstream ports.
    EXPECT_EQ(find(l, 2, 0, 0)->express, port_type::upstream_port);
    EXPECT_EQ(find(l, 3, 0, 0)->express, port_type::downstream_port);
    EXPECT_EQ(find(l, 3, 2, 0)->secondary_bus, 0x05);
    EXPECT_EQ(find(l, 4, 0, 0)->name, "Broadcom / LSI SAS2008 PCI-Express Fusion-MPT SAS-2 [Falcon]");

    // Chipset root ports number their buses against device order.
    EXPECT_EQ(find(l, 0, 0x1c, 0)->secondary_bus, 0x09);
    EXPECT_EQ(find(l, 0, 0x1c, 2)->secondary_bus, 0x07);
    // A conventional subtractive-decode bridge: no Express capability.
    EXPECT_EQ(find(l, 0, 0x1e, 0)->express, port_type::none);
    EXPECT_EQ(find(l, 0, 0x1e, 0)->class_code, 0x060401u);

    // The GPU and its audio function.
    const function* gpu = find(l, 6, 0, 0);
    ASSERT_NE(gpu, nullptr);
    EXPECT_EQ(gpu->express, port_type::endpoint);
    ASSERT_FALSE(gpu->bars.empty());
    EXPECT_EQ(gpu->bars[0].index, 0u);
    EXPECT_EQ(gpu->bars[0].kind, bar_kind::mem32);
    EXPECT_FALSE(gpu->bars[0].prefetchable);
    EXPECT_EQ(gpu->bars[0].address, 0xfa000000u);
    // lspci takes sizes from sysfs: a listing printed from a dump has none.
    EXPECT_FALSE(gpu->bars[0].size.has_value());
    EXPECT_EQ(gpu->bars.back().index, 5u);
    EXPECT_EQ(gpu->bars.back().kind, bar_kind::io);
    EXPECT_EQ(find(l, 6, 0, 1)->class_code, 0x040300u);
}

TEST(LspciText, ALaptopAndAFiveDomainServerAreReadCompletely) {
    const listing laptop = read_data("fujitsu-lifebook-p8010-ich8m.vvvnn.txt");
    EXPECT_TRUE(laptop.skipped.empty()) << skipped_of(laptop);
    EXPECT_EQ(laptop.functions.size(), 22u);
    const listing server = read_data("ibm-pcix-five-domains.vvvnn.txt");
    EXPECT_TRUE(server.skipped.empty()) << skipped_of(server);
    ASSERT_FALSE(server.functions.empty());
    unsigned domains = 0;
    for (const function& f : server.functions) {
        ASSERT_TRUE(f.domain.has_value()) << "lspci prints domains on a machine with more than one";
        domains = std::max(domains, unsigned(*f.domain) + 1);
    }
    EXPECT_EQ(domains, 5u);
}

TEST(LspciText, PastedVariantsReadAsTheOriginal) {
    const std::string tabs =
        "0000:3b:00.0 Ethernet controller [0200]: Intel Corporation Ethernet Controller X710 for 10GbE SFP+ [8086:1572] (rev 02)\n"
        "\tSubsystem: Intel Corporation Ethernet Converged Network Adapter X710-2 [8086:0007]\n"
        "\tIOMMU group: 42\n"
        "\tRegion 0: Memory at b8000000 (64-bit, prefetchable) [size=8M]\n"
        "\tRegion 3: Memory at b9008000 (64-bit, prefetchable) [size=32K]\n"
        "\tCapabilities: [a0] Express (v2) Endpoint, MSI 00\n"
        "\t\tDevCap:\tMaxPayload 2048 bytes, PhantFunc 0, Latency L0s <512ns, L1 <64us\n"
        "\tCapabilities: [160 v1] Single Root I/O Virtualization (SR-IOV)\n"
        "\t\tIOVCap:\tMigration- 10BitTagReq- Interrupt Message Number: 000\n"
        "\t\tInitial VFs: 64, Total VFs: 64, Number of VFs: 4, Function Dependency Link: 00\n"
        "\t\tVF offset: 16, stride: 1, Device ID: 154c\n"
        "\t\tRegion 0: Memory at 00000000b9400000 (64-bit, prefetchable)\n"
        "\tKernel driver in use: i40e\n"
        "\tKernel modules: i40e\n";
    std::string spaces, crlf;
    for (char c : tabs) {
        if (c == '\t') spaces += "    ";
        else spaces += c;
        if (c == '\n') crlf.insert(crlf.end() - 0, '\r');
        if (c != '\n') crlf += c;
        else crlf += '\n';
    }
    for (const std::string& text : {tabs, spaces, crlf}) {
        const listing l = read_text(text);
        EXPECT_TRUE(l.skipped.empty()) << skipped_of(l);
        ASSERT_EQ(l.functions.size(), 1u);
        const function& f = l.functions[0];
        EXPECT_EQ(f.domain, 0);
        EXPECT_EQ(f.bus, 0x3b);
        EXPECT_EQ(f.iommu_group, 42u);
        EXPECT_EQ(f.driver, "i40e");
        ASSERT_EQ(f.bars.size(), 2u);  // the VF BAR belongs to the SR-IOV capability
        EXPECT_EQ(f.bars[1].index, 3u);
        EXPECT_EQ(f.bars[1].kind, bar_kind::mem64);
        EXPECT_TRUE(f.bars[1].prefetchable);
        EXPECT_EQ(f.bars[1].size, 32u << 10);
        ASSERT_TRUE(f.sriov.has_value());
        EXPECT_EQ(f.sriov->total_vfs, 64u);
        EXPECT_EQ(f.sriov->num_vfs, 4u);
        EXPECT_EQ(f.sriov->vf_offset, 16u);
        EXPECT_EQ(f.sriov->vf_stride, 1u);
        EXPECT_EQ(f.sriov->vf_device, 0x154c);
    }
}

TEST(LspciText, UnknownAndDamagedLinesAreReportedWithTheirLineNumbers) {
    const listing l = read_text(
        "\tRegion 0: Memory at f0000000 (32-bit, non-prefetchable) [size=1M]\n"          // 1: before any title
        "00:02.0 VGA compatible controller [0300]: Intel Corporation Device [8086:3e92]\n"
        "\tRegion 0: Memory at zz (64-bit, prefetchable)\n"                              // 3: damaged
        "\tMemory at f6000000 (64-bit, non-prefetchable) [size=16M]\n"                   // 4: -v form
        "\tIOMMU group: seven\n"                                                         // 5: damaged
        "\tFrobnicator: on\n"                                                            // 6: unknown
        "\tCapabilities: <access denied>\n"                                              // 7
        "this is not lspci\n"                                                            // 8
        "00:3f.0 Host bridge [0600]: Intel Corporation Device [8086:3ec2]\n"             // 9: device above 1f
        "\n"
        "00:1f.3 Audio device [0403]: Intel Corporation Device [8086:a348] (rev 10)\n"
        "\tIOMMU group: 12\n");
    std::vector<int> lines;
    for (const diagnostic& d : l.skipped) lines.push_back(d.line);
    EXPECT_EQ(lines, (std::vector<int>{1, 3, 4, 5, 6, 7, 8, 9})) << skipped_of(l);
    ASSERT_EQ(l.functions.size(), 2u);
    EXPECT_TRUE(l.functions[0].bars.empty());
    EXPECT_FALSE(l.functions[0].iommu_group.has_value());
    EXPECT_EQ(l.functions[1].iommu_group, 12u);
    EXPECT_EQ(l.functions[1].line, 11);
}

// A warning of lspci's library, captured with 2>&1, inside a capability's
// lines (as in tests/data/lspci/huanan-x99-f8-idt-switch-nic.vvnn.txt): both
// lines are named for what they are, and the record reads on.
TEST(LspciText, APcilibWarningMixedIntoTheListingIsNamed) {
    const listing l = read_text(
        "07:00.0 Serial Attached SCSI controller [0107]: Broadcom / LSI SAS2008 PCI-Express Fusion-MPT SAS-2 [Falcon] [1000:0072] (rev 03)\n"
        "\tCapabilities: [68] Express (v2) Endpoint, MSI 00\n"
        "\t\tDevCap:\tMaxPayload 4096 bytes, PhantFunc 0, Latency L0s <64ns, L1 <1us\n"
        "\tpcilib: sysfs_read_vpd: read failed: No such device\n"                       // 4
        "\tDevCtl:\tCorrErr+ NonFatalErr+ FatalErr+ UnsupReq+\n"                      // 5
        "\t\tDevSta:\tCorrErr+ NonFatalErr- FatalErr- UnsupReq+ AuxPwr- TransPend-\n"
        "\tIOMMU group: 35\n"
        "\tKernel driver in use: mpt3sas\n");
    ASSERT_EQ(l.skipped.size(), 2u) << skipped_of(l);
    EXPECT_EQ(l.skipped[0].line, 4);
    EXPECT_NE(l.skipped[0].why.find("a warning of lspci's library"), std::string::npos);
    EXPECT_EQ(l.skipped[1].line, 5);
    EXPECT_EQ(l.skipped[1].why, "the rest of a line the warning on line 4 interrupted");
    ASSERT_EQ(l.functions.size(), 1u);
    EXPECT_EQ(l.functions[0].iommu_group, 35u);
    EXPECT_EQ(l.functions[0].driver, "mpt3sas");
}

TEST(LspciText, NumbersTooLargeForTheirFieldAreDamagedLines) {
    const listing l = read_text(
        "3b:00.0 Ethernet controller [0200]: Intel Corporation Device [8086:1572]\n"
        "\tRegion 0: Memory at b8000000 (64-bit, prefetchable) [size=99999999999999999999999T]\n"
        "\tRegion 2: Memory at b9000000 (64-bit, prefetchable) [size=99999999T]\n"
        "\tCapabilities: [160 v1] Single Root I/O Virtualization (SR-IOV)\n"
        "\t\tInitial VFs: 64, Total VFs: 99999999999999999999, Number of VFs: 4, Function Dependency Link: 00\n");
    std::vector<int> lines;
    for (const diagnostic& d : l.skipped) lines.push_back(d.line);
    EXPECT_EQ(lines, (std::vector<int>{2, 3, 5})) << skipped_of(l);
    ASSERT_EQ(l.functions.size(), 1u);
    EXPECT_TRUE(l.functions[0].bars.empty());
}

TEST(LspciText, OverlongLinesAreSkippedWithoutBeingKept) {
    const std::string huge(1 << 20, 'x');
    const listing l = read_text("00:02.0 VGA compatible controller [0300]: Intel Corporation Device [8086:3e92]\n" + huge + "\n" +
                                "\tIOMMU group: 3\n");
    ASSERT_EQ(l.skipped.size(), 1u);
    EXPECT_EQ(l.skipped[0].line, 2);
    EXPECT_LT(l.skipped[0].text.size(), 100u);
    ASSERT_EQ(l.functions.size(), 1u);
    EXPECT_EQ(l.functions[0].iommu_group, 3u);
}

TEST(LspciText, AnInputOfMoreLinesThanAnyListingIsCutWithAWarning) {
    // The reader holds the whole input before reading it: a file of empty
    // lines must not fill memory.
    const listing l = read_text(std::string((1u << 20) + 5, '\n') + "00:02.0 VGA compatible controller [0300]: Intel Corporation Device [8086:3e92]\n");
    EXPECT_TRUE(l.functions.empty());
    ASSERT_EQ(l.skipped.size(), 1u);
    EXPECT_NE(l.skipped[0].why.find("1048576 lines"), std::string::npos) << l.skipped[0].why;
}

// A root port and the NIC below it, as lspci -vv prints them (every '=' of
// it is lspci's own: DEVSEL=fast, sec-latency=0, [size=128K]).
const std::string pasted_machine =
    "00:1c.0 PCI bridge [0604]: Intel Corporation Cannon Point-LP PCI Express Root Port #5 [8086:9dbc] (rev f0) (prog-if 00 [Normal decode])\n"
    "\tStatus: Cap+ 66MHz- UDF- FastB2B- ParErr- DEVSEL=fast >TAbort- <TAbort- <MAbort- >SERR- <PERR- INTx-\n"
    "\tIOMMU group: 8\n"
    "\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0\n"
    "\tCapabilities: [40] Express (v2) Root Port (Slot+), MSI 00\n"
    "\tCapabilities: [140 v1] Access Control Services\n"
    "\t\tACSCap:\tSrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd- EgressCtrl- DirectTrans-\n"
    "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd- EgressCtrl- DirectTrans-\n"
    "\tKernel driver in use: pcieport\n"
    "\n"
    "01:00.0 Ethernet controller [0200]: Intel Corporation I211 Gigabit Network Connection [8086:1539] (rev 03)\n"
    "\tStatus: Cap+ 66MHz- UDF- FastB2B- ParErr- DEVSEL=fast >TAbort- <TAbort- <MAbort- >SERR- <PERR- INTx-\n"
    "\tIOMMU group: 13\n"
    "\tRegion 0: Memory at fc800000 (32-bit, non-prefetchable) [size=128K]\n"
    "\tCapabilities: [a0] Express (v2) Endpoint, MSI 00\n"
    "\tKernel driver in use: igb\n";

// Each line of `text` with `prefix` before it, as a mail client quotes a reply.
std::string quoted(const std::string& text, const std::string& prefix, const std::string& blank_prefix) {
    std::string out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out += (line.empty() ? blank_prefix : prefix + line) + "\n";
    return out;
}

// Quoted-printable as a mail client writes it: '=' as =3D, and lines longer
// than 76 characters broken with a soft line break ('=' at the end).
std::string quoted_printable(const std::string& text) {
    std::string out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::string enc;
        for (char c : line) enc += c == '=' ? std::string("=3D") : std::string(1, c);
        while (enc.size() > 75) {
            std::size_t cut = 75;
            while (cut > 0 && enc[cut - 1] == '=') --cut;  // never split an escape
            if (cut >= 2 && enc[cut - 2] == '=') cut -= 2;
            out += enc.substr(0, cut) + "=\n";
            enc = enc.substr(cut);
        }
        out += enc + "\n";
    }
    return out;
}

void expect_pasted_machine(const listing& l) {
    EXPECT_TRUE(l.skipped.empty()) << skipped_of(l);
    ASSERT_EQ(l.functions.size(), 2u);
    const function& rp = l.functions[0];
    EXPECT_EQ(rp.express, port_type::root_port);
    EXPECT_EQ(rp.secondary_bus, 0x01);
    ASSERT_TRUE(rp.acs_ctl.has_value());
    EXPECT_TRUE(rp.acs_ctl->request_redirect && !rp.acs_ctl->upstream_forwarding);
    EXPECT_EQ(rp.iommu_group, 8u);
    const function& nic = l.functions[1];
    EXPECT_EQ(nic.device, 0x1539);
    EXPECT_EQ(nic.iommu_group, 13u);
    ASSERT_EQ(nic.bars.size(), 1u);
    EXPECT_EQ(nic.bars[0].size, 128u << 10);
    EXPECT_EQ(nic.driver, "igb");
}

std::string notes_of(const listing& l) {
    std::string s;
    for (const diagnostic& d : l.notes) s += std::to_string(d.line) + ": " + d.why + "\n";
    return s;
}

TEST(LspciText, AListingQuotedInAReplyIsReadOnceTheMarkersAreRemoved) {
    const listing plain = read_text(pasted_machine);
    expect_pasted_machine(plain);
    EXPECT_TRUE(plain.notes.empty()) << notes_of(plain);
    // "> " (the blank line quoted as ">"), nested "> > ", and ">" without a space.
    for (const auto& [prefix, blank, depth] : {std::tuple{"> ", ">", 1}, std::tuple{"> > ", "> >", 2}, std::tuple{">", ">", 1}}) {
        const listing l = read_text(quoted(pasted_machine, prefix, blank));
        expect_pasted_machine(l);
        ASSERT_EQ(l.notes.size(), 1u) << notes_of(l);
        EXPECT_EQ(l.notes[0].line, 1);
        EXPECT_NE(l.notes[0].why.find("quoted " + std::to_string(depth) + " deep"), std::string::npos) << l.notes[0].why;
        EXPECT_EQ(l.functions[1].line, 11);  // the title's line in the mail, as in the listing
    }
}

TEST(LspciText, AReplyQuotingOnlyPartOfItsLinesIsNotGuessedAt) {
    // The writer's own words between quoted lines: which lines are the
    // listing is not the reader's to decide.
    const listing l = read_text("Here is my lspci:\n" + quoted(pasted_machine, "> ", ">"));
    EXPECT_TRUE(l.functions.empty());
    ASSERT_EQ(l.notes.size(), 1u) << notes_of(l);
    EXPECT_NE(l.notes[0].why.find("not read"), std::string::npos);
    ASSERT_FALSE(l.skipped.empty());
    EXPECT_EQ(l.skipped[0].line, 1);
    EXPECT_EQ(l.skipped[1].line, 2);  // "> 00:1c.0 ..." is not a title
    // Quoted to two depths: the same.
    const listing two = read_text(quoted(pasted_machine.substr(0, pasted_machine.find("\n\n") + 1), "> ", ">") + ">\n" +
                                  quoted(pasted_machine.substr(pasted_machine.find("\n\n") + 2), "> > ", "> >"));
    EXPECT_TRUE(two.functions.empty());
    ASSERT_EQ(two.notes.size(), 1u) << notes_of(two);
}

TEST(LspciText, AQuotedPrintableListingIsDecodedWithItsLineNumbersKept) {
    const std::string qp = quoted_printable(pasted_machine);
    ASSERT_NE(qp.find("DEVSEL=3Dfast"), std::string::npos);
    ASSERT_NE(qp.find("=\n"), std::string::npos) << "the test needs soft line breaks";
    const listing l = read_text(qp);
    expect_pasted_machine(l);
    ASSERT_EQ(l.notes.size(), 1u) << notes_of(l);
    EXPECT_NE(l.notes[0].why.find("quoted-printable"), std::string::npos);
    EXPECT_EQ(l.notes[0].line, 1);  // the title is broken with a soft line break on line 1
    // Lines joined from several keep the number of their first: the NIC's
    // title starts on the line of the mail after the first function's last.
    int nic_title = 1;
    {
        std::istringstream in(qp);
        std::string line;
        for (int n = 1; std::getline(in, line); ++n)
            if (line.rfind("01:00.0 ", 0) == 0) nic_title = n;
    }
    EXPECT_GT(nic_title, 11);
    EXPECT_EQ(l.functions[1].line, nic_title);

    // A damaged line after soft breaks is reported at its own line of the mail.
    const listing damaged = read_text(qp + "\tIOMMU group: seven\n");
    ASSERT_EQ(damaged.skipped.size(), 1u);
    EXPECT_EQ(damaged.skipped[0].line, static_cast<int>(std::count(qp.begin(), qp.end(), '\n')) + 1);
}

TEST(LspciText, AQuotedPrintableReplyIsDecodedThenUnquoted) {
    // The markers were there before the mail was encoded: the soft line
    // breaks' continuations carry none.
    const listing l = read_text(quoted_printable(quoted(pasted_machine, "> ", ">")));
    expect_pasted_machine(l);
    ASSERT_EQ(l.notes.size(), 2u) << notes_of(l);
    EXPECT_NE(l.notes[0].why.find("quoted-printable"), std::string::npos);
    EXPECT_NE(l.notes[1].why.find("quoted 1 deep"), std::string::npos);
}

TEST(LspciText, AListingWithOnlySomeQuotedPrintableEscapesIsNotDecoded) {
    // lspci's own '=' beside an escape: decoding would be a guess.
    const listing l = read_text(pasted_machine + "\tKernel modules: igb=3D\n");
    ASSERT_EQ(l.notes.size(), 1u) << notes_of(l);
    EXPECT_NE(l.notes[0].why.find("not decoded"), std::string::npos);
    EXPECT_EQ(l.notes[0].line, 17);
    expect_pasted_machine(l);
}

} // namespace

namespace {

std::string data_text(const std::string& name) {
    std::ifstream in(std::string(IOTWIN_SOURCE_DIR) + "/tests/data/lspci/" + name);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(LspciText, TheTreeOfLspciTPastedBesideTheRecordsIsRecognised) {
    const std::string tree = data_text("asus-p6t6-x58.tv.txt"), records = data_text("asus-p6t6-x58.vvvnn.txt");
    for (const std::string& text : {tree + records, records + tree}) {
        const listing l = read_text(text);
        EXPECT_TRUE(l.skipped.empty()) << l.skipped.front().line << ": " << l.skipped.front().why;
        EXPECT_EQ(l.functions.size(), 53u);
        ASSERT_EQ(l.notes.size(), 1u);
        EXPECT_NE(l.notes[0].why.find("47 line(s) of lspci -t's tree, left aside"), std::string::npos) << l.notes[0].why;
    }
    // The records' own lines, tabs turned into spaces, are no tree lines.
    std::string spaced = records;
    for (auto at = spaced.find('\t'); at != std::string::npos; at = spaced.find('\t', at)) spaced.replace(at, 1, "        ");
    const listing l = read_text(spaced);
    EXPECT_TRUE(l.notes.empty());
    EXPECT_EQ(l.functions.size(), 53u);
}

} // namespace
