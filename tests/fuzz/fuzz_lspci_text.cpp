// libFuzzer target: `iotwin import --compare` on an lspci text. An input is
// what a user pastes; lspci_text::parse reads any bytes (what it cannot read
// it reports and skips), lspci_hierarchy::rebuild places the functions, and
// lspci_scenario::write describes them. The scenario written must then load
// and build as `iotwin groups` loads and builds it: an input_error there is
// a finding ("import"), since the importer wrote something the loader
// refuses. Any other exception, a crash or a sanitizer report is a finding
// too, and so is a loader warning without its position.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <sstream>
#include <string>
#include <typeinfo>

#include "platform/iommu_groups.h"
#include "platform/loader.h"
#include "platform/lspci_compare.h"
#include "platform/lspci_hierarchy.h"
#include "platform/lspci_scenario.h"
#include "platform/lspci_text.h"
#include "platform/topology.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace iotwin;
    try {
        std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
        const platform::lspci_text::listing l = platform::lspci_text::parse(in);
        if (l.functions.empty()) return 0;  // the CLI refuses a listing without functions before writing
        const platform::lspci_hierarchy::machine m = platform::lspci_hierarchy::rebuild(l);
        platform::lspci_scenario::options o;
        o.source = "fuzz.txt";
        std::ostringstream yaml;
        platform::lspci_scenario::write(l, m, o, yaml);
        const std::string text = yaml.str();
        const std::string& path = fuzz::write_input(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
        try {
            const platform::scenario s = platform::load_scenario(path);
            fuzz::check_warnings(s, path);
            const platform::topology t = platform::build_topology(s.platform);
            const platform::group_result g = platform::compute_groups(t);
            std::ostringstream out;
            platform::lspci_compare::write_text(out, platform::lspci_compare::compare(l, t, g), t, g);
        } catch (const platform::input_error& e) {
            fuzz::finding("import", std::string("the imported scenario does not load: ") + e.what());
        }
    } catch (const std::exception& e) {
        fuzz::finding("exception", std::string(typeid(e).name()) + ": " + e.what());
    } catch (...) {
        fuzz::finding("exception", "not a std::exception");
    }
    return 0;
}
