// SPDX-License-Identifier: GPL-2.0
//
// fake_kapi.h - controls for the hosted kapi (fake_kapi.cpp): the kernel
// services the C++ core uses, implemented on libc so the core runs under
// ASan/UBSan and libFuzzer.  "User memory" is this process's memory;
// tests can mark ranges as unmapped and make the nth allocation fail.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace fake_kapi {

// Make the allocation `n` from now fail (0 = the next one); -1 disables.
void fail_alloc_after(long n);
// Did an injected failure happen since the last fail_alloc_after()?
bool injected();

// Accesses overlapping [addr, addr + len) fault with -EFAULT.
void add_fault_range(uint64_t addr, size_t len);
void clear_fault_ranges();

// Mutexes currently locked (must be 0 whenever no core call is running).
long mutexes_held();
// Log lines written, for tests that check bad input is reported.
long log_lines();

// The test_abi module parameter (off unless a test turns it on).
void set_test_abi(bool on);

// Fake fds of test accesses and fault queues (fake_kapi_file.cpp): close
// one as user space would (false if there is no such fd), and the balance
// of references taken on the /dev/iommu file.
bool close_fd(int fd);
// Close every fake fd, as the exit of the process would: the kernel only
// releases /dev/iommu once they are gone (they hold the file).
void close_all_fds();
long file_refs_held();

} // namespace fake_kapi

// ==== pinning (iopt::Pages; kapi.h "pinning") ==============================
//
// A simulated kernel for pinning.  User addresses mapped with map_user()
// translate to simulated PFNs (>= kSimPfnBase) whose 4 KiB contents the fake
// keeps; any other address is identity-mapped (PFN = address >> 12, so a
// copy through it reaches this process's memory) unless it faults
// (add_fault_range, or below 4096).  Every pin is counted per folio (a user
// page is a folio of one page), so tests can check that nothing stays
// pinned.  Processes have an mm (which can be "gone": no users left), a uid
// and an RLIMIT_MEMLOCK, with locked_vm/pinned_vm counters as the kernel
// keeps them; process 0 is current after pin_reset().
namespace fake_kapi {

constexpr uint64_t kSimPfnBase = 1ull << 40;

// Forget every mapping, file, process and counter (not allocations).
void pin_reset();
// Pages of the current process then read and write their user addresses
// directly (Pages::rw's same-process fast path): only for tests whose
// user range is real memory of the test.  pin_reset() turns it off.
void set_user_copy_direct(bool on);

// User pages [va, va + npages * 4096) -> PFNs pfn, pfn + 1, ...  (va
// page-aligned).  unmap_user makes them fault again (or identity-mapped:
// only an add_fault_range() makes them fault).
void map_user(uint64_t va, uint64_t npages, uint64_t pfn);
void unmap_user(uint64_t va, uint64_t npages);
// A fresh simulated PFN range of n pages, aligned to `align` pages.
uint64_t alloc_pfns(uint64_t n, uint64_t align = 1);

// Processes.  new_process() returns its id (uid = id, unlimited rlimit).
int new_process();
void set_current_process(int id);
void set_mm_gone(int id, bool gone);
void set_uid(int id, int uid);
void set_rlimit_memlock(int id, uint64_t bytes); // ~0ull = RLIM_INFINITY
void set_cap_ipc_lock(bool on);
void set_cap_sys_resource(bool on);
uint64_t user_locked_vm(int uid);
uint64_t mm_locked_vm(int id);
uint64_t mm_pinned_vm(int id);
long owners_alive(); // kapi_pin_owner handles not yet put

// Pins held on the folio of pfn, on every folio, and dirty state.
uint64_t pfn_pins(uint64_t pfn);
uint64_t total_pins();
bool pfn_dirty(uint64_t pfn);
// GUP: stop after at most n pages per call (0 = no limit); calls made;
// largest batch asked for.
void set_pin_short(unsigned n);
long pin_calls_fast();
long pin_calls_remote();
long memfd_pin_calls();
unsigned max_pin_batch();

// Simulated physical memory contents (simulated PFNs only).
void phys_write(uint64_t pfn, size_t offset, const void *src, size_t len);
void phys_read(uint64_t pfn, size_t offset, void *dst, size_t len);

// Memfds: a shmem file of npages pages in folios of folio_pages pages
// (allocated on first pin, each folio physically contiguous and aligned;
// consecutive folios are physically adjacent unless `fragmented`).
// Returns its fd number.  plain_fd() is a file that is not shmem.
int memfd_create(uint64_t npages, uint64_t folio_pages, bool writable = true,
		 bool fragmented = false);
int plain_fd();
// Punch the folio holding page `index` out of the page cache; the next pin
// allocates a new one (pinned folios stay alive, as in the kernel).
void memfd_punch(int fd, uint64_t index);
// The PFN now backing page `index` of the memfd (0 if none yet).
uint64_t memfd_pfn(int fd, uint64_t index);
long memfd_refs(); // kapi_pin_file references not yet put

} // namespace fake_kapi

// ==== the kernel IOMMU API and the VFIO glue (fake_kapi_iommu.cpp) ==========
//
// Groups are test-owned FakeGroup objects passed to the core as
// kapi_iommu_group pointers; domains record every map and unmap so tests can
// check what a device would see.
namespace fake_kapi {

struct FakeResv {
	uint64_t start, last;
	int type; // enum kapi_resv_type
};

struct FakeGroup {
	int id = 1;
	bool isolated_msi = true;
	bool coherent = true;
	int alloc_error = 0;   // kapi_iommu_domain_alloc fails with this
	int attach_error = 0;  // kapi_iommu_attach_group fails with this
	int attach_shared_error = 0; // ... only onto a domain other groups use
	FakeResv resv[4] = {};
	int nresv = 0;
};

// What a fake domain holds now.
struct FakeDomainView {
	uint64_t mapped_bytes;
	size_t map_calls;      // map() calls since the domain was made
	int groups;            // groups attached
	bool msi_cookie;
};

// Domains alive, and a view of the one `group` is attached to (false if none).
long live_domains();
bool domain_of(const FakeGroup &group, FakeDomainView *out);
// Physical address the domain of `group` translates `iova` to (false if unmapped).
bool translate(const FakeGroup &group, uint64_t iova, uint64_t *paddr);
// The page sizes new fake domains get (default 4 KiB | 2 MiB | 1 GiB).
void set_domain_pgsizes(uint64_t bitmap);

// Module parameters and capabilities of the VFIO glue.
void set_noiommu_enabled(bool on);
void set_cap_sys_rawio(bool on);
void set_allow_unsafe_interrupts(bool on);
// Times the kernel was tainted by a no-IOMMU container.
long noiommu_taints();
// Reset all of the above.
void iommu_reset();

} // namespace fake_kapi
