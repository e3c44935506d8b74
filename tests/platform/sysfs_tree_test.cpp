// Reading a copy of a machine's sysfs PCI tree: trees built at test time
// from real machines' configuration spaces (tests/data/sysfs) read as the
// lspci text of the same machines reads (tests/data/lspci), in everything
// both give, plus the groups and drivers of the links and the BAR sizes of
// `resource`; the three kinds of root, links relative, absolute and dangling,
// and every kind of damage, each with its diagnostic naming the file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>

#include "platform/lspci_hierarchy.h"
#include "platform/lspci_scenario.h"
#include "platform/lspci_text.h"
#include "platform/sysfs_tree.h"
#include "tests/support/sysfs_copy.h"
#include "tests/support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace iotwin::platform;
using lspci_text::bar_kind;
using lspci_text::function;
using lspci_text::listing;
using lspci_text::port_type;
using iotwin::test::copy_kind;
using iotwin::test::dumped_function;
using iotwin::test::function_extras;

const std::string data = std::string(IOTWIN_SOURCE_DIR) + "/tests/data/";

listing text_of(const std::string& path) {
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << path;
    return lspci_text::parse(in);
}

std::string skipped_of(const listing& l) {
    std::string s;
    for (const auto& d : l.skipped) s += d.source + ":" + std::to_string(d.line) + ": " + d.why + (d.text.empty() ? "" : " [" + d.text + "]") + "\n";
    return s;
}

// The diagnostics whose file ends with `file` and whose reason holds `why`.
int count(const listing& l, const std::string& file, const std::string& why) {
    return int(std::count_if(l.skipped.begin(), l.skipped.end(), [&](const lspci_text::diagnostic& d) {
        return d.source.size() >= file.size() && d.source.compare(d.source.size() - file.size(), file.size(), file) == 0 &&
               d.why.find(why) != std::string::npos;
    }));
}

const function* find(const listing& l, const std::string& address) {
    for (const function& f : l.functions)
        if (f.address() == address) return &f;
    return nullptr;
}

// A size for each BAR the test writes into `resource`: any will do, as long
// as it comes back; these differ per BAR so that none is taken for another.
std::uint64_t size_for(const lspci_text::bar& b) { return b.kind == bar_kind::io ? 0x20u << b.index : 0x4000u << b.index; }

// `resource` as Linux writes it for the BARs the listing shows (flags as a
// 6.1 kernel sets them: type, prefetch, 64-bit, and the size-aligned bit).
std::string resource_for(const function& f) {
    std::string s;
    for (unsigned i = 0; i < 17; ++i) {
        const auto b = std::find_if(f.bars.begin(), f.bars.end(), [&](const lspci_text::bar& x) { return x.index == i; });
        if (b == f.bars.end()) {
            s += iotwin::test::resource_line(0, 0, 0);
            continue;
        }
        const std::uint64_t flags = b->kind == bar_kind::io      ? 0x40101
                                    : b->kind == bar_kind::mem64 ? (b->prefetchable ? 0x14220c : 0x140204)
                                                                 : (b->prefetchable ? 0x42208 : 0x40200);
        const std::uint64_t start = b->address.value_or(0);
        s += iotwin::test::resource_line(start, start + size_for(*b) - 1, flags);
    }
    return s;
}

// What the machine's links would say: a group per function, in listing
// order, and a driver for the bridges and network functions.
function_extras extras_for(const function& f, unsigned index, bool resource) {
    function_extras e;
    if (resource) e.resource = resource_for(f);
    e.iommu_group = index;
    if (f.class_code >> 8 == 0x0604) e.driver = "pcieport";
    if (f.class_code >> 8 == 0x0200) e.driver = "igb";
    return e;
}

struct machine {
    listing text;
    std::vector<dumped_function> dump;
    std::map<std::string, function_extras> extras;
};

machine load_machine(const std::string& text, const std::string& dump, bool resource = true) {
    machine m{text_of(data + text), iotwin::test::read_dump(data + "sysfs/" + dump), {}};
    for (unsigned i = 0; i < m.text.functions.size(); ++i)
        m.extras[m.text.functions[i].address()] = extras_for(m.text.functions[i], i, resource);
    return m;
}

// Where the BAR sizes of a tree come from: no `resource`, the sizes the test
// wrote (size_for), or the machine's own, which its lspci text shows too.
enum class sizes { none, written, machines };

// Everything both readers give is the same; the sysfs tree adds the group,
// the driver and, with `resource`, the BAR sizes.
void expect_same(const machine& m, const listing& s, sizes from) {
    ASSERT_EQ(s.functions.size(), m.text.functions.size());
    for (std::size_t i = 0; i < s.functions.size(); ++i) {
        const function& t = m.text.functions[i];
        const function& f = s.functions[i];
        SCOPED_TRACE(t.address());
        EXPECT_EQ(f.address(), t.address()) << "in lspci's order";
        EXPECT_EQ(f.domain.value_or(0), t.domain.value_or(0));
        EXPECT_EQ(f.vendor, t.vendor);
        EXPECT_EQ(f.device, t.device);
        EXPECT_EQ(f.class_code, t.class_code);
        EXPECT_EQ(f.revision.value_or(0), t.revision.value_or(0));  // lspci prints no revision 00
        EXPECT_EQ(f.primary_bus, t.primary_bus);
        EXPECT_EQ(f.secondary_bus, t.secondary_bus);
        EXPECT_EQ(f.subordinate_bus, t.subordinate_bus);
        EXPECT_EQ(f.express, t.express);
        EXPECT_EQ(f.acs_cap.has_value(), t.acs_cap.has_value());
        if (f.acs_cap && t.acs_cap) {
            EXPECT_TRUE(*f.acs_cap == *t.acs_cap);
        }
        EXPECT_EQ(f.acs_ctl.has_value(), t.acs_ctl.has_value());
        if (f.acs_ctl && t.acs_ctl) {
            EXPECT_TRUE(*f.acs_ctl == *t.acs_ctl);
        }
        ASSERT_EQ(f.sriov.has_value(), t.sriov.has_value());
        if (f.sriov) {
            EXPECT_EQ(f.sriov->initial_vfs, t.sriov->initial_vfs);
            EXPECT_EQ(f.sriov->total_vfs, t.sriov->total_vfs);
            EXPECT_EQ(f.sriov->num_vfs, t.sriov->num_vfs);
            EXPECT_EQ(f.sriov->vf_offset, t.sriov->vf_offset);
            EXPECT_EQ(f.sriov->vf_stride, t.sriov->vf_stride);
            EXPECT_EQ(f.sriov->vf_device, t.sriov->vf_device);
        }
        ASSERT_EQ(f.bars.size(), t.bars.size());
        for (std::size_t b = 0; b < f.bars.size(); ++b) {
            SCOPED_TRACE("BAR " + std::to_string(t.bars[b].index));
            EXPECT_EQ(f.bars[b].index, t.bars[b].index);
            EXPECT_EQ(f.bars[b].kind, t.bars[b].kind);
            EXPECT_EQ(f.bars[b].prefetchable, t.bars[b].prefetchable);
            EXPECT_EQ(f.bars[b].address, t.bars[b].address);
            EXPECT_EQ(f.bars[b].disabled, t.bars[b].disabled);
            switch (from) {
            case sizes::none: EXPECT_FALSE(f.bars[b].size.has_value()); break;
            case sizes::written: EXPECT_EQ(f.bars[b].size, size_for(t.bars[b])); break;
            case sizes::machines: EXPECT_EQ(f.bars[b].size, t.bars[b].size); break;
            }
        }
        const function_extras& e = m.extras.at(t.address());
        EXPECT_EQ(f.iommu_group, e.iommu_group);
        EXPECT_EQ(f.driver, e.driver);
        EXPECT_EQ(f.line, 0) << "a tree has no lines";
    }
}

struct real_machine {
    const char* text;
    const char* dump;
};

void PrintTo(const real_machine& m, std::ostream* os) { *os << m.dump; }

class SysfsTreeMachine : public ::testing::TestWithParam<real_machine> {};

TEST_P(SysfsTreeMachine, ReadsAsItsLspciListing) {
    const machine m = load_machine(GetParam().text, GetParam().dump);
    ASSERT_EQ(m.dump.size(), m.text.functions.size());
    iotwin::test::temp_dir tmp;
    const fs::path root = fs::path(tmp.path()) / "copy-of-root";
    iotwin::test::write_sysfs(root / "sys", m.dump, m.extras, copy_kind::links_relative);
    const listing s = sysfs_tree::read(root);
    EXPECT_TRUE(s.skipped.empty()) << skipped_of(s);
    expect_same(m, s, sizes::written);
}

INSTANTIATE_TEST_SUITE_P(
    RealMachines, SysfsTreeMachine,
    ::testing::Values(real_machine{"lspci/asus-p6t6-x58.vvvnn.txt", "asus-p6t6-x58.xxxx.txt"},
                      real_machine{"lspci/fujitsu-lifebook-p8010-ich8m.vvvnn.txt", "fujitsu-lifebook-p8010-ich8m.xxxx.txt"},
                      real_machine{"lspci/ibm-pcix-five-domains.vvvnn.txt", "ibm-pcix-five-domains.xxxx.txt"},
                      real_machine{"sysfs/intel-82576-sriov.vvvnn.txt", "intel-82576-sriov.xxxx.txt"}),
    [](const ::testing::TestParamInfo<real_machine>& i) {
        std::string n = fs::path(i.param.dump).stem().stem().string();
        std::replace(n.begin(), n.end(), '-', '_');
        return n;
    });

// A virtual machine's own sysfs: `config`, `resource` and the driver links
// copied as docs/import.md says, its lspci -vvv -nn printed from the same
// sysfs (tests/data/sysfs/README.md): real BAR sizes and drivers.
TEST(SysfsTree, AVirtualMachinesCopyReadsAsItsLspciListing) {
    machine m{text_of(data + "sysfs/virtio-vm.vvvnn.txt"), iotwin::test::read_dump(data + "sysfs/virtio-vm.xxxx.txt"), {}};
    std::ifstream in(data + "sysfs/virtio-vm.resource.txt");
    std::string at;
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("# ", 0) == 0) at = line.substr(2);
        else m.extras[at].resource += line + "\n";
    }
    for (const function& f : m.text.functions) m.extras[f.address()].driver = f.driver;
    iotwin::test::temp_dir tmp;
    iotwin::test::write_sysfs(tmp.path(), m.dump, m.extras, copy_kind::directories);
    const listing s = sysfs_tree::read(tmp.path());
    EXPECT_TRUE(s.skipped.empty()) << skipped_of(s);
    expect_same(m, s, sizes::machines);
    const function* net = find(s, "0000:00:03.0");
    ASSERT_NE(net, nullptr);
    EXPECT_EQ(net->driver, "virtio-pci");
    ASSERT_EQ(net->bars.size(), 1u);
    EXPECT_EQ(net->bars[0].kind, bar_kind::mem64);
    EXPECT_EQ(net->bars[0].address, 0x4000100000u);
    EXPECT_EQ(net->bars[0].size, 512u * 1024);
}

TEST(SysfsTree, TheDesktopsIsolationComesThrough) {
    const machine m = load_machine("lspci/asus-p6t6-x58.vvvnn.txt", "asus-p6t6-x58.xxxx.txt");
    iotwin::test::temp_dir tmp;
    iotwin::test::write_sysfs(tmp.path(), m.dump, m.extras, copy_kind::links_relative);
    const listing s = sysfs_tree::read(tmp.path());
    const function* rp = find(s, "0000:00:03.0");
    ASSERT_NE(rp, nullptr);
    EXPECT_EQ(rp->express, port_type::root_port);
    EXPECT_EQ(rp->secondary_bus, 0x02);
    ASSERT_TRUE(rp->acs_cap && rp->acs_ctl);
    EXPECT_TRUE(rp->acs_cap->source_validation && rp->acs_cap->request_redirect && rp->acs_cap->upstream_forwarding);
    EXPECT_EQ(rp->driver, "pcieport");
    EXPECT_EQ(find(s, "0000:03:00.0")->express, port_type::downstream_port);
    EXPECT_EQ(find(s, "0000:00:1c.2")->secondary_bus, 0x07);  // numbered against device order, as the text says
    EXPECT_EQ(find(s, "0000:00:1e.0")->class_code, 0x060401u);
    EXPECT_EQ(find(s, "0000:00:1e.0")->express, port_type::none);
}

// The tree the importer rebuilds: each node's scenario id and type, indented by depth.
std::string shape(const std::vector<lspci_hierarchy::node>& nodes, int depth = 0) {
    std::string s;
    for (const auto& n : nodes)
        s += std::string(2 * depth, ' ') + lspci_scenario::id_of(*n.function) + " " + to_string(n.type) + "\n" + shape(n.children, depth + 1);
    return s;
}
std::string shape(const lspci_hierarchy::machine& m) {
    std::string s;
    for (const auto& r : m.roots) s += "root " + std::to_string(r.domain) + ":" + std::to_string(r.bus) + "\n" + shape(r.children, 1);
    return s;
}

TEST(SysfsTree, TheImporterRebuildsTheSameHierarchy) {
    for (const char* name : {"asus-p6t6-x58", "fujitsu-lifebook-p8010-ich8m", "ibm-pcix-five-domains"}) {
        SCOPED_TRACE(name);
        const machine m = load_machine(std::string("lspci/") + name + ".vvvnn.txt", std::string(name) + ".xxxx.txt");
        iotwin::test::temp_dir tmp;
        iotwin::test::write_sysfs(tmp.path(), m.dump, m.extras, copy_kind::directories);
        const listing s = sysfs_tree::read(tmp.path());
        const lspci_hierarchy::machine from_text = lspci_hierarchy::rebuild(m.text);
        const lspci_hierarchy::machine from_tree = lspci_hierarchy::rebuild(s);
        EXPECT_FALSE(from_tree.roots.empty());
        EXPECT_EQ(shape(from_tree), shape(from_text));
        EXPECT_EQ(from_tree.problems.size(), from_text.problems.size());
    }
}

TEST(SysfsTree, SriovComesFromTheExtendedCapability) {
    const machine m = load_machine("sysfs/intel-82576-sriov.vvvnn.txt", "intel-82576-sriov.xxxx.txt");
    iotwin::test::temp_dir tmp;
    iotwin::test::write_sysfs(tmp.path(), m.dump, m.extras, copy_kind::directories);
    const listing s = sysfs_tree::read(tmp.path());
    ASSERT_EQ(s.functions.size(), 1u);
    const function& f = s.functions[0];
    ASSERT_TRUE(f.sriov.has_value());
    EXPECT_EQ(f.sriov->initial_vfs, 8u);
    EXPECT_EQ(f.sriov->total_vfs, 8u);
    EXPECT_EQ(f.sriov->num_vfs, 1u);
    EXPECT_EQ(f.sriov->vf_offset, 384u);
    EXPECT_EQ(f.sriov->vf_stride, 2u);
    EXPECT_EQ(f.sriov->vf_device, 0x10ca);
    EXPECT_EQ(f.driver, "igb");
    EXPECT_EQ(f.iommu_group, 0u);
    EXPECT_EQ(f.class_name, "Class 0200");
    EXPECT_EQ(f.name, "Device 8086:10c9");
}

TEST(SysfsTree, WithoutResourceBarsComeFromTheirRegistersWithoutSizes) {
    const machine m = load_machine("lspci/asus-p6t6-x58.vvvnn.txt", "asus-p6t6-x58.xxxx.txt", false);
    iotwin::test::temp_dir tmp;
    iotwin::test::write_sysfs(tmp.path(), m.dump, m.extras, copy_kind::directories);
    const listing s = sysfs_tree::read(tmp.path());
    expect_same(m, s, sizes::none);
    EXPECT_EQ(count(s, "/resource", "not in the copy"), int(m.dump.size())) << skipped_of(s);
    EXPECT_EQ(count(s, "/resource", "BAR sizes are unknown"), int(m.dump.size()));
    EXPECT_EQ(s.skipped.size(), m.dump.size());
}

TEST(SysfsTree, EveryKindOfRootReadsTheSame) {
    const machine m = load_machine("lspci/fujitsu-lifebook-p8010-ich8m.vvvnn.txt", "fujitsu-lifebook-p8010-ich8m.xxxx.txt");
    iotwin::test::temp_dir tmp;
    const fs::path root = tmp.path();
    iotwin::test::write_sysfs(root / "relative" / "sys", m.dump, m.extras, copy_kind::links_relative);
    iotwin::test::write_sysfs(root / "absolute", m.dump, m.extras, copy_kind::links_absolute);
    iotwin::test::write_sysfs(root / "files", m.dump, m.extras, copy_kind::directories);
    for (const fs::path& r : {root / "relative", root / "relative/sys", root / "relative/sys/bus/pci/devices", root / "relative/sys/bus/pci/devices/",
                              root / "absolute", root / "absolute/bus/pci/devices", root / "files", root / "files/bus/pci/devices"}) {
        SCOPED_TRACE(r.string());
        const listing s = sysfs_tree::read(r);
        EXPECT_TRUE(s.skipped.empty()) << skipped_of(s);
        expect_same(m, s, sizes::written);
    }
    // Diagnostics name the files below the root given.
    fs::remove(root / "files/bus/pci/devices/0000:00:1f.3/resource");
    const listing s = sysfs_tree::read(root / "files");
    ASSERT_EQ(s.skipped.size(), 1u);
    EXPECT_EQ(s.skipped[0].source, (root / "files/bus/pci/devices/0000:00:1f.3/resource").string());
}

TEST(SysfsTree, LinksThatDangleOrLeaveTheCopyAreReported) {
    const machine m = load_machine("lspci/fujitsu-lifebook-p8010-ich8m.vvvnn.txt", "fujitsu-lifebook-p8010-ich8m.xxxx.txt");
    iotwin::test::temp_dir tmp;
    const fs::path root = tmp.path();
    // cp -a of /sys/bus/pci/devices alone: links to a devices/ that was not copied.
    iotwin::test::write_sysfs(root / "full", m.dump, m.extras, copy_kind::links_relative);
    fs::create_directories(root / "links-only");
    fs::copy(root / "full/bus/pci/devices", root / "links-only/devices", fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    const listing dangling = sysfs_tree::read(root / "links-only/devices");
    EXPECT_TRUE(dangling.functions.empty());
    EXPECT_EQ(count(dangling, "", "a link leads out of the copy"), int(m.dump.size())) << skipped_of(dangling);
    EXPECT_EQ(count(dangling, "", "copy the files, not the links"), int(m.dump.size()));

    // The same links inside a copy that lacks devices/: not in the copy.
    fs::remove_all(root / "full/devices");
    const listing missing = sysfs_tree::read(root / "full");
    EXPECT_TRUE(missing.functions.empty());
    EXPECT_EQ(count(missing, "", "not in the copy"), int(m.dump.size())) << skipped_of(missing);

    // Absolute links outside /sys, relative ones out of the copy, loops: refused, never followed.
    iotwin::test::temp_dir tmp2;
    const fs::path devices = fs::path(tmp2.path()) / "bus/pci/devices";
    fs::create_directories(devices);
    fs::create_directory_symlink("/etc", devices / "0000:00:01.0");
    fs::create_directory_symlink("../../../../../../../../../../etc", devices / "0000:00:02.0");
    fs::create_directory_symlink("0000:00:03.0", devices / "0000:00:03.0");
    fs::create_directory_symlink("/sys/devices/pci0000:00/0000:00:04.0", devices / "0000:00:04.0");
    const listing hostile = sysfs_tree::read(tmp2.path());
    EXPECT_TRUE(hostile.functions.empty());
    EXPECT_EQ(count(hostile, "0000:00:01.0", "a link to /etc, outside the copy"), 1) << skipped_of(hostile);
    EXPECT_EQ(count(hostile, "0000:00:02.0", "a link leads out of the copy"), 1);
    EXPECT_EQ(count(hostile, "0000:00:03.0", "links that go round in a loop"), 1);
    EXPECT_EQ(count(hostile, "0000:00:04.0", "not in the copy"), 1) << "/sys/... is looked up in the copy, not on this machine";
}

// One function's tree, for damaging: the X58's root port 00:03.0 (ACS,
// extended capabilities) in the copy that docs/import.md's commands make.
class SysfsTreeDamage : public ::testing::Test {
protected:
    void SetUp() override {
        m_ = load_machine("lspci/asus-p6t6-x58.vvvnn.txt", "asus-p6t6-x58.xxxx.txt");
        for (const dumped_function& f : m_.dump)
            if (f.address == "0000:00:03.0") port_ = f;
        ASSERT_EQ(port_.config.size(), 4096u);
    }
    // The root port at `address`, with its config replaced by `config`.
    fs::path write(const std::string& address, const std::string& config) {
        dumped_function f{address, config};
        std::map<std::string, function_extras> extras{{address, m_.extras.at("0000:00:03.0")}};
        iotwin::test::write_sysfs(tmp_.path(), {f}, extras, copy_kind::directories);
        return fs::path(tmp_.path()) / "bus/pci/devices" / address;
    }
    listing read() { return sysfs_tree::read(tmp_.path()); }
    std::string config_with(unsigned offset, std::initializer_list<unsigned> bytes) const {
        std::string c = port_.config;
        for (unsigned b : bytes) c[offset++] = static_cast<char>(b);
        return c;
    }

    machine m_;
    dumped_function port_;
    iotwin::test::temp_dir tmp_;
};

TEST_F(SysfsTreeDamage, NamesThatAreNotFunctionsAreReported) {
    write("0000:00:03.0", port_.config);
    const fs::path devices = fs::path(tmp_.path()) / "bus/pci/devices";
    for (const char* bad : {"foo", "0000:00:20.0", "0000:00:03.8", "0000:00:1F.0", "10000:00:00.0", "0000:000:03.0", "00:03.0", "0000:00:03.0\n"})
        fs::create_directory(devices / bad);
    const listing l = read();
    ASSERT_EQ(l.functions.size(), 1u);
    EXPECT_EQ(l.skipped.size(), 8u) << skipped_of(l);
    EXPECT_EQ(count(l, "/10000:00:00.0", "not a function's name"), 1);
    EXPECT_EQ(count(l, "/0000:00:03.0?", "not a function's name"), 1) << "a control character is not printed as it is";
}

TEST_F(SysfsTreeDamage, ConfigSpacesThatCannotBeReadAreNotListed) {
    write("0000:00:01.0", std::string(4097, 'x'));
    write("0000:00:02.0", port_.config.substr(0, 63));
    write("0000:00:03.0", std::string(4096, '\xff'));
    fs::remove(write("0000:00:04.0", port_.config) / "config");
    const fs::path dir = write("0000:00:05.0", port_.config) / "config";
    fs::remove(dir);
    fs::create_directory(dir);
    const fs::path fifo = write("0000:00:06.0", port_.config) / "config";
    fs::remove(fifo);
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);  // a read would wait forever
    const listing l = read();
    EXPECT_TRUE(l.functions.empty());
    EXPECT_EQ(count(l, "0000:00:01.0/config", "holds more than 4096 bytes"), 1) << skipped_of(l);
    EXPECT_EQ(count(l, "0000:00:02.0/config", "holds 63 bytes, fewer than the 64 of the header"), 1);
    EXPECT_EQ(count(l, "0000:00:03.0/config", "reads vendor ffff"), 1);
    EXPECT_EQ(count(l, "0000:00:04.0/config", "not in the copy"), 1);
    EXPECT_EQ(count(l, "0000:00:05.0/config", "not a regular file"), 1);
    EXPECT_EQ(count(l, "0000:00:06.0/config", "not a regular file"), 1);
    EXPECT_EQ(l.skipped.size(), 6u);
}

TEST_F(SysfsTreeDamage, ShortConfigSpacesSayWhatIsUnknown) {
    write("0000:00:01.0", port_.config.substr(0, 64));   // copied without root
    write("0000:00:02.0", port_.config.substr(0, 256));  // no extended space
    write("0000:00:03.0", port_.config.substr(0, 0x154));  // cut inside the ACS capability at 150
    const listing l = read();
    ASSERT_EQ(l.functions.size(), 3u);
    EXPECT_EQ(count(l, "0000:00:01.0/config", "holds only the 64 bytes sysfs gives a reader without root: the capabilities are not readable, so the port type, ACS and SR-IOV are unknown"), 1) << skipped_of(l);
    EXPECT_EQ(l.functions[0].express, port_type::none);
    EXPECT_EQ(l.functions[0].secondary_bus, 0x02) << "the header is there";
    EXPECT_EQ(count(l, "0000:00:02.0/config", "no extended configuration space"), 1);
    EXPECT_EQ(l.functions[1].express, port_type::root_port);
    EXPECT_FALSE(l.functions[1].acs_cap.has_value());
    EXPECT_EQ(count(l, "0000:00:03.0/config", "not the 64, 256 or 4096 that sysfs gives"), 1);
    EXPECT_EQ(count(l, "0000:00:03.0/config", "the ACS capability at 150 is cut short"), 1);
    EXPECT_EQ(count(l, "0000:00:03.0/config", "extended capability pointer 160 lies beyond the 340 bytes"), 1) << skipped_of(l);
    EXPECT_EQ(l.skipped.size(), 5u);
}

TEST(SysfsTree, ACardBusBridgeShowsARootlessReader128Bytes) {
    machine m = load_machine("lspci/fujitsu-lifebook-p8010-ich8m.vvvnn.txt", "fujitsu-lifebook-p8010-ich8m.xxxx.txt");
    for (dumped_function& f : m.dump) f.config.resize(static_cast<unsigned char>(f.config[0x0e]) % 0x80 == 2 ? 128 : 64);
    iotwin::test::temp_dir tmp;
    iotwin::test::write_sysfs(tmp.path(), m.dump, m.extras, copy_kind::directories);
    const listing s = sysfs_tree::read(tmp.path());
    const function* cardbus = find(s, "0000:1c:03.0");
    ASSERT_NE(cardbus, nullptr);
    EXPECT_EQ(cardbus->class_code >> 8, 0x0607u);
    EXPECT_EQ(count(s, "0000:1c:03.0/config", "holds only the 128 bytes sysfs gives a reader without root"), 1) << skipped_of(s);
    EXPECT_EQ(count(s, "/config", "not the 64, 256 or 4096"), 0);
    EXPECT_EQ(s.functions.size(), m.dump.size());
    // Every other function with capabilities says the same about its 64 bytes; none is left out.
    for (const function& f : s.functions) EXPECT_EQ(f.express, port_type::none);
}

TEST_F(SysfsTreeDamage, DamagedCapabilityListsEndWhereTheyBreak) {
    // The root port's lists: 40 (subsystem IDs) -> 60 (MSI) -> 90 (Express) -> e0 (PM); extended: 100 (AER) -> 150 (ACS) -> 160 -> ...
    const unsigned first = static_cast<unsigned char>(port_.config[0x34]);
    write("0000:00:01.0", config_with(first + 1, {first}));      // the first capability points to itself
    write("0000:00:02.0", config_with(0x34, {0x20}));            // into the header
    write("0000:00:03.0", config_with(first, {0xff}));           // a capability reading ff
    write("0000:00:04.0", config_with(0x102, {0x00, 0x10}));     // 100 -> 100: an extended loop
    write("0000:00:05.0", config_with(0x102, {0x01, 0x08}));     // 100 -> 080
    write("0000:00:06.0", config_with(0x34, {0x00}).substr(0, 64) + std::string(192, '\0'));  // zeros after the header
    const listing l = read();
    ASSERT_EQ(l.functions.size(), 6u);
    EXPECT_EQ(count(l, "0000:00:01.0/config", "the capability list comes back to"), 1) << skipped_of(l);
    EXPECT_EQ(count(l, "0000:00:02.0/config", "capability pointer 20 points into the header"), 1);
    EXPECT_EQ(count(l, "0000:00:03.0/config", "reads ff: the list is broken"), 1);
    EXPECT_EQ(count(l, "0000:00:04.0/config", "the extended capability list comes back to 100"), 1);
    EXPECT_EQ(l.functions[3].express, port_type::root_port);
    EXPECT_EQ(count(l, "0000:00:05.0/config", "points to 080, below 100"), 1);
    EXPECT_EQ(l.skipped.size(), 5u) << "the zeroed list of 00:06.0 is a list without capabilities: no diagnostic";
    EXPECT_EQ(l.functions[5].express, port_type::none);
}

TEST_F(SysfsTreeDamage, ZerosWhereTheCapabilitiesShouldBeAreSuspect) {
    std::string padded = port_.config.substr(0, 64) + std::string(192, '\0');  // tar of a 64-byte read pads to 256
    write("0000:00:03.0", padded);
    const listing l = read();
    ASSERT_EQ(l.functions.size(), 1u);
    EXPECT_EQ(count(l, "/config", "reads all zeros: the copy may be padded"), 1) << skipped_of(l);
}

TEST_F(SysfsTreeDamage, ResourceFilesThatDoNotParseAreReportedByLine) {
    const fs::path a = write("0000:00:01.0", port_.config);
    iotwin::test::write_file(a / "resource", iotwin::test::resource_line(0, 0, 0) + "0x1000 0x1fff\n" + "garbage\n");
    const fs::path b = write("0000:00:02.0", port_.config);
    iotwin::test::write_file(b / "resource", std::string(sysfs_tree::max_resource + 1, '0'));
    const fs::path c = write("0000:00:03.0", port_.config);
    std::string many;
    for (int i = 0; i < 20; ++i) many += iotwin::test::resource_line(0, 0, 0);
    iotwin::test::write_file(c / "resource", many);
    const fs::path d = write("0000:00:04.0", port_.config);
    // tar pads a sysfs attribute with zeros to the 4096 bytes stat claims.
    iotwin::test::write_file(d / "resource", iotwin::test::resource_line(0xfe000000, 0xfe0fffff, 0x40200) + std::string(4000, '\0'));
    const fs::path e = write("0000:00:05.0", port_.config);
    iotwin::test::write_file(e / "resource", iotwin::test::resource_line(0x2000, 0x1000, 0x40200) + iotwin::test::resource_line(0x1000, 0x1fff, 0));
    const listing l = read();
    ASSERT_EQ(l.functions.size(), 5u);
    EXPECT_EQ(count(l, "0000:00:01.0/resource", "a resource line that does not parse"), 2) << skipped_of(l);
    EXPECT_EQ(l.skipped[0].line, 2);
    EXPECT_EQ(l.skipped[0].text, "0x1000 0x1fff");
    EXPECT_EQ(count(l, "0000:00:02.0/resource", "holds more than 65536 bytes"), 1);
    EXPECT_EQ(count(l, "0000:00:03.0/resource", "more lines than the 18 resources"), 1);
    EXPECT_EQ(count(l, "0000:00:05.0/resource", "ends before it starts"), 1);
    EXPECT_EQ(count(l, "0000:00:05.0/resource", "neither I/O nor memory"), 1);
    EXPECT_EQ(l.skipped.size(), 6u);
    // The padded file reads as the kernel wrote it.
    ASSERT_EQ(l.functions[3].bars.size(), 1u);
    EXPECT_EQ(l.functions[3].bars[0].size, 0x100000u);
    // A line that does not parse leaves its BAR to the register (the root port's are empty).
    EXPECT_TRUE(l.functions[0].bars.empty());
}

TEST_F(SysfsTreeDamage, GroupsAndDriversCopiedAsDirectoriesAreLost) {
    const fs::path a = write("0000:00:01.0", port_.config);
    fs::remove(a / "iommu_group");
    fs::remove(a / "driver");
    fs::create_directory(a / "iommu_group");
    fs::create_directory(a / "driver");
    const fs::path b = write("0000:00:02.0", port_.config);
    fs::remove(b / "iommu_group");
    fs::remove(b / "driver");
    fs::create_symlink("../../../../kernel/iommu_groups/twelve", b / "iommu_group");
    fs::create_symlink("../../../../bus/pci/drivers/bad\nname", b / "driver");
    const listing l = read();
    ASSERT_EQ(l.functions.size(), 2u);
    EXPECT_EQ(count(l, "0000:00:01.0/iommu_group", "the group's number is lost"), 1) << skipped_of(l);
    EXPECT_EQ(count(l, "0000:00:01.0/driver", "the driver's name is lost"), 1);
    EXPECT_EQ(count(l, "0000:00:02.0/iommu_group", "not a group's number"), 1);
    EXPECT_EQ(count(l, "0000:00:02.0/driver", "not a driver's name"), 1);
    EXPECT_EQ(l.skipped.size(), 4u);
    EXPECT_FALSE(l.functions[0].iommu_group.has_value());
    EXPECT_EQ(l.functions[0].driver, "");

    // kernel/iommu_groups, when copied, gives the number back.
    const fs::path groups = fs::path(tmp_.path()) / "kernel/iommu_groups";
    fs::create_directories(groups / "7/devices");
    fs::create_directory_symlink("../../../../devices/pci0000:00/0000:00:01.0", groups / "7/devices/0000:00:01.0");
    fs::create_directories(groups / "8/devices");
    fs::create_directory_symlink("../../../../devices/pci0000:00/0000:00:02.0", groups / "8/devices/0000:00:02.0");
    const listing g = read();
    EXPECT_EQ(g.functions[0].iommu_group, 7u);
    EXPECT_EQ(g.functions[1].iommu_group, std::nullopt) << "a link that is not a number is not overridden";
    EXPECT_EQ(count(g, "0000:00:01.0/iommu_group", ""), 0) << skipped_of(g);

    // A link and the groups directory that disagree: the link is kept, and said.
    const fs::path c = write("0000:00:03.0", port_.config);  // its link: group 10
    fs::create_directories(groups / "9/devices");
    fs::create_directory_symlink("../../../../devices/pci0000:00/0000:00:03.0", groups / "9/devices/0000:00:03.0");
    const listing d = read();
    EXPECT_EQ(d.functions[2].iommu_group, m_.extras.at("0000:00:03.0").iommu_group);
    EXPECT_EQ(count(d, "0000:00:03.0/iommu_group", "kernel/iommu_groups lists the function in group 9: the link is kept"), 1) << skipped_of(d);
}

TEST_F(SysfsTreeDamage, ADirectoryWithTooManyEntriesIsReadNoFurther) {
    const fs::path devices = fs::path(tmp_.path()) / "many";
    fs::create_directories(devices);
    for (std::size_t i = 0; i <= sysfs_tree::max_entries; ++i) std::ofstream(devices / ("x" + std::to_string(i)));
    const listing l = sysfs_tree::read(devices);
    EXPECT_EQ(count(l, "many", "holds more than 65536 entries"), 1);
    EXPECT_EQ(l.skipped.size(), sysfs_tree::max_entries + 1) << "and every entry read is not a function's name";
}

TEST(SysfsTree, ARootWithoutDevicesIsReported) {
    iotwin::test::temp_dir tmp;
    const listing none = sysfs_tree::read(fs::path(tmp.path()) / "nothing-here");
    ASSERT_EQ(none.skipped.size(), 1u);
    EXPECT_NE(none.skipped[0].why.find("not a directory"), std::string::npos);
    const listing empty = sysfs_tree::read(tmp.path());
    EXPECT_TRUE(empty.functions.empty());
    EXPECT_TRUE(empty.skipped.empty()) << "an empty devices directory: no function, nothing wrong";
}

TEST(SysfsTreeDecode, HeaderTypesAndBarRegisters) {
    // A type 0 header with a 64-bit BAR in its last register, an I/O BAR and decoding off.
    std::string c(64, '\0');
    auto put32 = [&](unsigned at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) c[at + i] = static_cast<char>(v >> (8 * i));
    };
    put32(0x00, 0x12348086);
    put32(0x08, 0x01080202);  // class 010802, revision 02
    put32(0x10, 0x0000e001);  // I/O at e000
    put32(0x14, 0xfe00000c);  // 64-bit prefetchable at 1_fe000000
    put32(0x18, 0x00000001);
    put32(0x24, 0x00000004);  // 64-bit, in the last register: broken
    function f;
    std::vector<lspci_text::diagnostic> d;
    ASSERT_TRUE(sysfs_tree::decode(c, nullptr, {}, f, d));
    EXPECT_EQ(f.class_code, 0x010802u);
    EXPECT_EQ(f.revision, 2);
    ASSERT_EQ(f.bars.size(), 2u);
    EXPECT_EQ(f.bars[0].kind, bar_kind::io);
    EXPECT_EQ(f.bars[0].address, 0xe000u);
    EXPECT_TRUE(f.bars[0].disabled);
    EXPECT_EQ(f.bars[1].index, 1u);
    EXPECT_EQ(f.bars[1].kind, bar_kind::mem64);
    EXPECT_TRUE(f.bars[1].prefetchable);
    EXPECT_EQ(f.bars[1].address, 0x1fe000000u);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].why, "BAR 5 is 64-bit but has no register above it for its upper half: not read");
    EXPECT_EQ(d[0].source, "config");

    // Header type 7: no BARs, no bus numbers, no capabilities.
    c[0x0e] = 0x07;
    function g;
    d.clear();
    ASSERT_TRUE(sysfs_tree::decode(c, nullptr, {}, g, d));
    EXPECT_TRUE(g.bars.empty());
    ASSERT_EQ(d.size(), 1u);
    EXPECT_NE(d[0].why.find("header type 07 is none of 0, 1, 2"), std::string::npos);
}

TEST(SysfsTreeDecode, AddressesAsLinuxNamesThem) {
    function f;
    ASSERT_TRUE(sysfs_tree::parse_address("0001:3b:1f.7", f));
    EXPECT_EQ(f.address(), "0001:3b:1f.7");
    ASSERT_TRUE(sysfs_tree::parse_address("0000ffff:00:00.0", f));
    EXPECT_EQ(f.domain, 0xffff);
    for (const char* bad : {"", "0000:3b:1f", "0000:3b:1f.8", "0000:3b:20.0", "0000:3B:1f.0", "000:3b:1f.0", "00010000:00:00.0", "0000:3b:1f.0 ", "0000-3b:1f.0"})
        EXPECT_FALSE(sysfs_tree::parse_address(bad, f)) << bad;
}

} // namespace
