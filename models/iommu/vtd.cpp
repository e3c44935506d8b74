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
    case fault_reason::sm_root_table_invalid: return "scalable mode: invalid root table address (TTM)";
    case fault_reason::sm_ttm0_request_with_pasid: return "request with PASID through a legacy-mode root table";
    case fault_reason::sm_root_access: return "scalable mode: error accessing the root entry";
    case fault_reason::sm_root_not_present: return "scalable mode: root entry not present";
    case fault_reason::sm_context_access: return "scalable mode: error accessing the context entry";
    case fault_reason::sm_context_not_present: return "scalable mode: context entry not present";
    case fault_reason::sm_context_invalid: return "scalable mode: invalid context entry";
    case fault_reason::sm_pasid_disabled: return "request with PASID, PASID Enable clear in the context entry";
    case fault_reason::sm_pasid_too_large: return "PASID larger than the context entry's PASID directory";
    case fault_reason::sm_pasid_dir_access: return "error accessing the PASID directory entry";
    case fault_reason::sm_pasid_dir_not_present: return "PASID directory entry not present";
    case fault_reason::sm_pasid_entry_access: return "error accessing the PASID table entry";
    case fault_reason::sm_pasid_entry_not_present: return "PASID table entry not present";
    case fault_reason::sm_pasid_entry_invalid: return "invalid scalable-mode PASID table entry";
    case fault_reason::sm_fl_entry_access: return "error accessing a first-level paging entry";
    case fault_reason::sm_fl_not_present: return "first-level paging entry not present";
    case fault_reason::sm_fl_reserved: return "reserved field set in a first-level paging entry";
    case fault_reason::sm_sl_entry_access: return "error accessing a second-level paging entry";
    case fault_reason::sm_sl_not_present: return "second-level paging entry not present (R = W = 0)";
    case fault_reason::sm_sl_reserved: return "reserved field set in a second-level paging entry";
    case fault_reason::sm_not_canonical: return "first-level input address not canonical";
    case fault_reason::sm_user_not_permitted: return "U/S clear in a first-level entry for a user-privilege request";
    case fault_reason::sm_beyond_max: return "address beyond the address width";
    case fault_reason::sm_write_not_permitted: return "write to a page without write permission (scalable mode)";
    case fault_reason::sm_read_not_permitted: return "read from a page without read permission (scalable mode)";
    }
    return "unknown fault reason";
}

} // namespace iotwin::vtd
