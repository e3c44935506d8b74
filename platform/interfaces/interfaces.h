// Each interface registers its operations, with their schemas, in a file of
// its own (platform/interfaces/<interface>.cpp).
#pragma once
#include "platform/operations.h"

namespace iotwin::platform::interfaces {

void register_pci(op_registry& r);     // a domain's kernel and the functions it owns
void register_pci_sysfs(op_registry& r);  // the host kernel's driver binding, as its sysfs files show it
void register_mem(op_registry& r);     // a vCPU's loads and stores
void register_device(op_registry& r);  // what a function itself issues (untrusted)
void register_iommu(op_registry& r);   // the hypervisor's IO page tables
void register_sim(op_registry& r);     // the passing of simulated time
void register_gnttab(op_registry& r);  // grant tables: the table's operations and the granting guest's side
void register_gnttab_map(op_registry& r);  // grant tables: mapping and copying grants
void register_gnttab_raw(op_registry& r);  // grant tables: the raw hypercall
void register_domctl(op_registry& r);  // the toolstack's domain control (destroydomain)
void register_evtchn(op_registry& r);  // event channels
void register_proc(op_registry& r);    // processes, their memory, plain files and eventfd (a guest kernel's system calls)
void register_xenevtchn(op_registry& r);  // /dev/xen/evtchn
void register_gntalloc(op_registry& r);   // /dev/xen/gntalloc
void register_gntdev(op_registry& r);     // /dev/xen/gntdev
void register_blkif(op_registry& r);      // the split block driver: front end in a guest, back end in dom0
void register_lguest(op_registry& r);     // /dev/lguest and the scripted lguest guest
void register_vfio(op_registry& r);       // /dev/vfio/vfio, /dev/vfio/N and the device files of vfio-pci

} // namespace iotwin::platform::interfaces
