#include "models/iommu/vtd.h"

namespace iotwin::vtd {

const char* describe(fault_reason r) {
    switch (r) {
    case fault_reason::root_not_present: return "root entry not present";
    case fault_reason::context_not_present: return "context entry not present";
    case fault_reason::context_invalid: return "invalid context entry programming";
    case fault_reason::address_beyond_mgaw: return "address beyond the maximum guest address width";
    case fault_reason::write_not_permitted: return "write to a page without write permission";
    case fault_reason::read_not_permitted: return "read from a page without read permission";
    case fault_reason::paging_entry_access: return "error accessing a paging entry (page not present)";
    case fault_reason::root_table_invalid: return "root table address invalid";
    case fault_reason::reserved_root: return "reserved field set in root entry";
    case fault_reason::reserved_context: return "reserved field set in context entry";
    case fault_reason::reserved_paging: return "reserved field set in paging entry";
    case fault_reason::translation_type_blocked: return "translated request blocked (translation type)";
    }
    return "unknown fault reason";
}

} // namespace iotwin::vtd
