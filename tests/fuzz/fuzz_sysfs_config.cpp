// libFuzzer target: the configuration-space decoder of the sysfs reader
// (platform/sysfs_tree.h, decode) for one function. An input is
//   2 bytes, little-endian: bits 0..12 the length of the `config` file (up
//                           to 8191, so that files beyond the 4096 limit
//                           come too), bit 15 set: no `resource` file;
//   the config bytes (fewer when the input ends first);
//   the rest: the text of `resource`.
// Whatever the bytes, decode returns; every diagnostic names its file and
// says why; a function it lists has its IDs, and its BARs are distinct
// registers of its header type, in order. Anything else, an exception, a
// crash or a sanitizer report, is a finding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "platform/lspci_hierarchy.h"
#include "platform/sysfs_tree.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace iotwin;
namespace st = platform::sysfs_tree;

void check(bool listed, const platform::lspci_text::function& f, const std::vector<platform::lspci_text::diagnostic>& d,
           const st::sources& src) {
    for (const auto& x : d) {
        if (x.source != src.config && x.source != src.resource) fuzz::finding("diagnostic", "names no file of the function: " + x.source);
        if (x.why.empty()) fuzz::finding("diagnostic", "says no why");
        if (x.why.size() > fuzz::max_message || x.text.size() > fuzz::max_message) fuzz::finding("diagnostic", "longer than a message may be");
        for (const unsigned char c : x.text + x.why)
            if (c < 0x20 || c == 0x7f) fuzz::finding("diagnostic", "holds a control character: " + x.why);
    }
    if (!listed) return;
    if (!f.vendor || !f.device || !f.revision) fuzz::finding("decode", "a listed function without its IDs");
    unsigned previous = 0;
    for (std::size_t i = 0; i < f.bars.size(); ++i) {
        const unsigned index = f.bars[i].index;
        if (index > 5 || (i && index <= previous)) fuzz::finding("decode", "BAR " + std::to_string(index) + " out of order or range");
        if (f.primary_bus && index > 1) fuzz::finding("decode", "a bridge with BAR " + std::to_string(index));
        if (f.bars[i].size && *f.bars[i].size == 0) fuzz::finding("decode", "a BAR of size 0");
        previous = index;
    }
    (void)platform::lspci_hierarchy::type_of(f);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const unsigned header = data[0] | unsigned(data[1]) << 8;
    const std::size_t length = std::min<std::size_t>(header & 0x1fff, size - 2);
    const std::string_view config(reinterpret_cast<const char*>(data + 2), length);
    const std::string resource(reinterpret_cast<const char*>(data + 2 + length), size - 2 - length);
    try {
        platform::lspci_text::function f;
        f.domain = 0;
        std::vector<platform::lspci_text::diagnostic> d;
        const st::sources src{"0000:00:00.0/config", "0000:00:00.0/resource"};
        const bool listed = st::decode(config, header & 0x8000 ? nullptr : &resource, src, f, d);
        check(listed, f, d, src);
    } catch (const std::exception& e) {
        fuzz::finding("exception", std::string(typeid(e).name()) + ": " + e.what());
    } catch (...) {
        fuzz::finding("exception", "not a std::exception");
    }
    return 0;
}
