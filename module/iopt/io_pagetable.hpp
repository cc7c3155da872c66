// SPDX-License-Identifier: GPL-2.0
//
// io_pagetable.hpp - one IO address space's IOVA bookkeeping: which IOVA
// ranges are mapped (areas), which must never be mapped (reserved ranges,
// e.g. a device's MSI window or the outside of a domain's aperture, each
// tagged with the owner that added it), which the user wants kept free for
// automatic allocation (allowed ranges, IOMMU_IOAS_ALLOW_IOVAS), and the
// alignment every mapping must have (iova_alignment, raised by domains).
// It decides where a new mapping goes (alloc_iova) or whether a fixed one
// may go where asked (check_iova), by upstream iommufd's rules.
//
// It also keeps every attached domain in step with the areas: an area is
// pinned (through its Pages) while at least one domain is attached, and is
// mapped into every attached domain, each run of physically contiguous
// pages in one map call so the domain can use its largest page sizes.
// Without a domain nothing is pinned on map: pages are pinned when the
// first domain arrives (upstream's behaviour, which the selftests probe:
// memory of a process that has exited then fails with EFAULT).  Accesses
// (in-kernel users such as emulated devices) pin slices of areas on demand
// and are told to let go before those areas are unmapped.
//
// Portable C++: no kernel headers, so the hosted tests exercise it as is.
//
// Locking: every public member takes lock_ (one mutex per IoPagetable,
// lockdep class KAPI_LOCK_IOPT) for its whole duration, so each call is
// atomic; callers hold no lock of ours when calling.  Lock order:
//   Access lock -> IoPagetable::lock_ -> Pages lock -> domain lock,
// and lock_ nests outside the mm's mmap_lock (pinning and copies to user
// space happen under it, as under upstream's iova_rwsem).  The ObjectTable
// lock is never held across a call here.  Accesses are told to unpin with
// lock_ dropped (AccessUser::unmap_notify may call back in).  Never call
// back into the IoPagetable from a visitor.
#pragma once

#include "interval_tree.hpp"
#include "page.hpp"

#include "cxxrt/function_ref.hpp"
#include "cxxrt/lock.hpp"
#include "cxxrt/memory.hpp"
#include "cxxrt/refcount.hpp"

namespace iommufd {
class Domain;
}

namespace iommufd::iopt {

using cxx::Result;
using cxx::Status;

class Pages;

// IOMMU protection of a mapping (the uAPI's READABLE/WRITEABLE).
enum Prot : uint32_t { kRead = 1, kWrite = 2 };

// One mapping: IOVA [start, last] (the IovaNode) backed by the bytes
// [pages_offset, pages_offset + length) of a Pages.  The IoPagetable owns
// areas once added.  IOAS_COPY makes areas that share one Pages.
class Area : public IovaNode, cxx::NoCopyNoMove {
public:
	Area();
	~Area();

	uint64_t iova() const { return start; }
	uint64_t last_iova() const { return last; }
	uint64_t length() const { return last - start + 1; }
	// Offset of the first byte within its page; the IOVA has the same
	// offset whenever the allocator chose it.
	uint64_t page_offset() const { return page_offset_; }
	// Null while the area only holds its IOVA range (being mapped or
	// unmapped); set once it is published.
	Pages *pages() const { return pages_.get(); }
	uint64_t pages_offset() const { return pages_offset_; }
	uint32_t prot() const { return prot_; }
	// The Pages page indexes this area spans.
	uint64_t first_index() const;
	uint64_t last_index() const;

private:
	friend class IoPagetable;
	uint64_t page_offset_ = 0;
	uint64_t addr_ = 0;	     // user address (or file offset) of the first byte
	uint64_t pages_offset_ = 0;  // byte offset of the first byte in pages_
	cxx::RefPtr<Pages> pages_;
	uint32_t prot_ = 0;
	uint32_t num_accesses_ = 0;  // access pins inside this area
	bool pinned_ = false;	     // holds a Pages pin for the domains
	// Set by an unmap waiting for the accesses to let go: no new access
	// pin may start here (EINVAL, as upstream), so the unmap ends.
	bool prevent_access_ = false;
};

// A slice of an IOAS's mappings, as IOAS_COPY carries it from one IOAS to
// another: the same Pages, the same bytes, no new pin.
struct PagesSlice {
	cxx::RefPtr<Pages> pages;
	uint64_t offset;  // bytes into pages
	uint64_t length;
	uint64_t addr;	  // user address (or file offset) of the first byte
	uint32_t prot;
};

// The slices of one IOAS_COPY, in IOVA order.  A copy crosses as many
// areas as the source range holds, so this is a list, not an array.
class SliceList : cxx::NoCopyNoMove {
public:
	struct Node {
		PagesSlice slice;
		Node *next = nullptr;
	};
	SliceList() = default;
	~SliceList();
	Status push(PagesSlice &&s);
	Node *first() const { return head_; }
	size_t size() const { return n_; }

private:
	Node *head_ = nullptr;
	Node *tail_ = nullptr;
	size_t n_ = 0;
};

// An in-kernel user of the IOAS's pages (upstream's iommufd_access): pins
// slices through access_pin() and must drop them when told.
class AccessUser {
public:
	// Unpin everything inside [iova, iova + length): the range is about
	// to be unmapped.  Called without the IoPagetable lock.
	virtual void unmap_notify(uint64_t iova, uint64_t length) = 0;
	// Keep the access alive across an unlocked unmap_notify.
	virtual void hold() = 0;
	virtual void release() = 0;
	// Every mapping must be aligned to this while the access is attached.
	uint64_t iova_alignment = 1;

protected:
	virtual ~AccessUser() = default;

private:
	friend class IoPagetable;
	AccessUser *next_access_ = nullptr;
};

// A range nothing may be mapped into, and who asked for it.
class ReservedRange : public IovaNode, cxx::NoCopyNoMove {
public:
	ReservedRange(uint64_t start, uint64_t last, const void *owner)
		: IovaNode(start, last), owner(owner)
	{
	}
	const void *const owner;
};

class AllowedRange : public IovaNode, cxx::NoCopyNoMove {
public:
	AllowedRange(uint64_t start, uint64_t last) : IovaNode(start, last) {}
};

// A list of allowed ranges being built from user input, before it replaces
// the IoPagetable's (set_allowed swaps it in whole, or not at all).  Owns
// its nodes.
class AllowedList : cxx::NoCopyNoMove {
public:
	AllowedList() = default;
	~AllowedList();

	// EINVAL unless start < last (upstream refuses a one-byte range too)
	// and the range meets none added before; ENOMEM.
	Status add(uint64_t start, uint64_t last);
	size_t size() const { return tree_.size(); }

private:
	friend class IoPagetable;
	IntervalTree<AllowedRange> tree_;
};

enum class IovaMode {
	Fixed, // the caller names the IOVA: check_iova
	Alloc, // the IoPagetable picks it: alloc_iova
};

class IoPagetable : cxx::NoCopyNoMove {
public:
	IoPagetable() = default;
	~IoPagetable(); // frees every area and range still held; never fails
	// Must succeed before any other call.  huge_page_size caps the
	// alignment alloc_iova asks for (HPAGE_SIZE upstream).
	Status init(uint64_t huge_page_size = kHugePageSize);

	// ---- where mappings may go -----------------------------------------

	// The IOVA a mapping of `length` bytes of user memory at `uptr` would
	// get now; nothing is claimed (add_area does that atomically).
	//  EOVERFLOW  length is 0 or >= 2^63 - 1 (ULONG_MAX / 2);
	//  EINVAL     the alignment uptr and length allow is below iova_alignment;
	//  ENOSPC     no hole fits.
	Result<uint64_t> alloc_iova(uint64_t uptr, uint64_t length);

	// May [iova, iova + length) be mapped?  EINVAL if iova is not a
	// multiple of iova_alignment or the range meets a reserved range;
	// EOVERFLOW if it wraps; EEXIST if it meets an area.  Allowed ranges
	// do not restrict fixed mappings (they only steer alloc_iova).
	Status check_iova(uint64_t iova, uint64_t length);

	// ---- areas ----------------------------------------------------------

	// Claim IOVA for `area` and add it, unpublished (pages() null).  On
	// entry *iova is the fixed IOVA (IovaMode::Fixed); on success it is
	// the IOVA used.  EINVAL when length is 0 or not a multiple of
	// iova_alignment, or uptr's page offset is misaligned; otherwise the
	// errors of check_iova or alloc_iova.  On failure `area` is freed.
	Result<Area *> add_area(cxx::UniquePtr<Area> area, uint64_t *iova, uint64_t uptr,
				uint64_t length, IovaMode mode);
	// Take an area back out; the caller now owns it.
	cxx::UniquePtr<Area> remove_area(Area *area);

	// ---- mappings (IOAS_MAP, MAP_FILE, COPY, UNMAP) ------------------------

	// Map `length` bytes of `pages` from byte `offset` at a fixed or an
	// allocated IOVA (*iova in and out, as add_area).  `addr` is the user
	// address of the first byte (steers allocation alignment).  With
	// domains attached the pages are pinned and mapped now.  EPERM:
	// writeable requested of read-only pages; pinning and domain errors.
	Status map_pages(const cxx::RefPtr<Pages> &pages, uint64_t offset, uint64_t length,
			 uint64_t addr, uint32_t prot, IovaMode mode, uint64_t *iova);
	// Map slices one after another from *iova (IOAS_COPY's destination).
	Status map_slices(SliceList &slices, uint64_t length, uint32_t prot, IovaMode mode,
			  uint64_t *iova);
	// The slices backing [iova, iova + length): ENOENT unless every byte
	// is mapped.
	Status get_slices(uint64_t iova, uint64_t length, SliceList &out);
	// Unmap the areas inside [iova, iova + length): returns the bytes
	// unmapped.  EINVAL: length 0; EOVERFLOW: wraps; ENOENT: nothing is
	// mapped there, or an area crosses either end.  As upstream, areas go
	// in IOVA order, so the whole ones before a crossing area are already
	// unmapped when ENOENT comes back.
	Result<uint64_t> unmap(uint64_t iova, uint64_t length);
	// Unmap everything; returns the bytes unmapped.
	uint64_t unmap_all();
	// unmap() as the VFIO container wants it: a range with nothing in it
	// is success with *unmapped = 0 (not ENOENT).  *unmapped is set on
	// every return: the bytes unmapped before an area crossing either end
	// stopped it (ENOENT).
	Status unmap_range(uint64_t iova, uint64_t length, uint64_t *unmapped);
	// The areas meeting [iova, last]: false if there are none, else the
	// first IOVA of the first and the last IOVA of the last (VFIO type1's
	// unmap rules decide from these).
	bool overlap_bounds(uint64_t iova, uint64_t last, uint64_t *first_start,
			    uint64_t *last_end);
	// Split the area holding IOVA `last` so that `last` ends one area and
	// last + 1 starts the next (VFIO type1 v1 unmaps inside mappings).
	// Nothing to do when no area holds `last` or it already ends or
	// starts there.  Both halves keep the same Pages, pins and domain
	// mappings.  EBUSY: the area is being built or unmapped; EINVAL: the
	// split point is not aligned to iova_alignment, an access has pins in
	// the area, or domains may hold large pages over it (large pages are
	// not disabled); ENOMEM.
	Status cut(uint64_t last);

	// ---- domains ------------------------------------------------------------

	// Attach a domain: reserve the IOVA outside its aperture, raise the
	// alignment to its smallest page, pin (if first) and map every area.
	// EADDRINUSE: an area lies outside the aperture or is misaligned;
	// pinning (EFAULT, ENOMEM) and mapping errors, after a full rollback.
	Status add_domain(Domain *domain);
	// Detach: unmap every area from it, drop its reservations; the last
	// domain unpins.  Never fails.
	void remove_domain(Domain *domain);
	size_t domain_count();
	// The page sizes every attached domain supports (the AND of their
	// bitmaps; all ones without a domain).
	uint64_t domains_pgsize_bitmap();
	// Does every attached domain enforce cache coherency (true without a
	// domain)?  VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU).
	bool domains_cache_coherent();
	// Call visit(iova, length) for every area (for dirty bitmap reads),
	// under the lock.
	Status for_each_area(uint64_t iova, uint64_t last,
			     cxx::FunctionRef<Status(uint64_t, uint64_t)> visit);

	// ---- accesses ------------------------------------------------------------

	// Attach or detach an access (EADDRINUSE if its alignment does not fit
	// the areas).  detach_access requires that it holds no pins.
	Status attach_access(AccessUser *access);
	void detach_access(AccessUser *access);
	// Would attach_access(access) succeed now?  Changes nothing.
	Status check_access(const AccessUser *access);
	// Pin [iova, iova + length) for an access; visit(index, pfn) is called
	// for each page in order while pinned.  ENOENT unless every byte is
	// mapped; EPERM for write to a read-only area; pinning errors.  On
	// error nothing stays pinned.
	Status access_pin(uint64_t iova, uint64_t length, bool write,
			  cxx::FunctionRef<Status(uint64_t pfn)> visit);
	// Undo one earlier access_pin of exactly that range.
	void access_unpin(uint64_t iova, uint64_t length);
	// Copy between `buf` and IOVA [iova, iova + length).  ENOENT if not
	// all mapped; EPERM writing a read-only area; EFAULT.
	Status access_rw(uint64_t iova, void *buf, uint64_t length, bool write);
	// Is the byte at iova mapped (ENOENT if not), and writable when
	// `write` (EPERM if not)?  What a device's stage 2 checks.
	Status probe(uint64_t iova, bool write);

	// Visit the distinct Pages the areas map (IOAS_CHANGE_PROCESS), under
	// the lock; stops at the first error.
	Status for_each_pages(cxx::FunctionRef<Status(Pages &)> visit);

	// ---- IOMMU_OPTION_HUGE_PAGES --------------------------------------------

	bool large_pages();
	// Disabling needs PAGE_SIZE alignment (EADDRINUSE for areas that lack
	// it) and is refused (EINVAL) once domains hold mappings.
	Status set_large_pages(bool enable);

	// ---- reserved and allowed ranges ------------------------------------

	// Reserve [start, last] for `owner`.  EADDRINUSE if it meets an area
	// or an allowed range; EINVAL if start > last; ENOMEM.
	Status reserve(uint64_t start, uint64_t last, const void *owner);
	// Drop every reserved range `owner` added.
	void unreserve(const void *owner);

	// Replace the allowed ranges with `list`'s (on success `list` then
	// holds the old ones, to be freed by its owner).  EADDRINUSE if a new
	// range meets a reserved range; nothing changes then.
	Status set_allowed(AllowedList &list);

	// ---- alignment --------------------------------------------------------

	uint64_t iova_alignment();
	// Require every mapping to be aligned to `align` (a power of two, at
	// most kPageSize).  Raising it fails with EADDRINUSE if an existing
	// area's IOVA, length or page offset is not aligned.
	Status set_iova_alignment(uint64_t align);

	// ---- IOMMU_IOAS_IOVA_RANGES --------------------------------------------

	// Call visit(start, last) -> Status for each range that is not
	// reserved, in increasing order, over the whole 64-bit space, and
	// store iova_alignment; stops at and returns the first error.  Runs
	// under the lock, so the list and alignment are one snapshot.
	template <typename Visit> Status iova_ranges(uint64_t *alignment, Visit &&visit)
	{
		cxx::Guard g(lock_);
		*alignment = iova_alignment_;
		int rc = 0;
		for_each_hole(reserved_, nullptr, 0, UINT64_MAX, [&](uint64_t s, uint64_t l) {
			Status st = visit(s, l);
			rc = st.code();
			return st.ok();
		});
		if (rc)
			return cxx::Error(rc);
		return {};
	}

	// For tests: counts, and every tree's invariants.
	size_t area_count();
	size_t reserved_count();
	size_t allowed_count();
	bool validate();

private:
	struct DomainLink {
		Domain *domain;
		DomainLink *next;
	};

	Result<uint64_t> alloc_iova_locked(uint64_t uptr, uint64_t length);
	Status check_iova_locked(uint64_t iova, uint64_t length);
	Result<Area *> add_area_locked(cxx::UniquePtr<Area> area, uint64_t *iova, uint64_t addr,
				       uint64_t length, IovaMode mode);
	Status reserve_locked(uint64_t start, uint64_t last, const void *owner);
	void unreserve_locked(const void *owner);
	// The alignment the domains, accesses and options require, and
	// whether every area meets `align`.
	uint64_t wanted_alignment_locked(const Domain *extra_domain, const AccessUser *extra_access,
					 bool no_large_pages);
	bool areas_aligned_locked(uint64_t align);
	// Pin an area for the domains and map it into each; all or nothing.
	Status fill_area_locked(Area *area);
	Status map_area(Area *area, Domain *domain);
	void unmap_area(Area *area, Domain *domain);
	void destroy_area_locked(Area *area);
	Status publish_locked(Area *area, const cxx::RefPtr<Pages> &pages, uint64_t offset,
			      uint32_t prot);

	cxx::Mutex lock_;
	IntervalTree<Area> areas_;
	IntervalTree<ReservedRange> reserved_;
	IntervalTree<AllowedRange> allowed_;
	DomainLink *domains_ = nullptr;
	AccessUser *accesses_ = nullptr;
	// Software-only IO page tables have no alignment constraint; domains
	// raise it to their smallest page size.
	uint64_t iova_alignment_ = 1;
	uint64_t base_alignment_ = 1; // set_iova_alignment (tests)
	uint64_t max_alignment_ = kHugePageSize;
	bool no_large_pages_ = false;
};

} // namespace iommufd::iopt
