// SPDX-License-Identifier: GPL-2.0
//
// io_pagetable.hpp - one IO address space's IOVA bookkeeping: which IOVA
// ranges are mapped (areas), which must never be mapped (reserved ranges,
// e.g. a device's MSI window or the outside of a domain's aperture, each
// tagged with the owner that added it), which the user wants kept free for
// automatic allocation (allowed ranges, IOMMU_IOAS_ALLOW_IOVAS), and the
// alignment every mapping must have (iova_alignment, raised by domains).
// It decides where a new mapping goes (alloc_iova) or whether a fixed one
// may go where asked (check_iova), by upstream iommufd's rules; the page
// tracking and domain filling that later issues add hang off Area.
//
// Portable C++: no kernel headers, so the hosted tests exercise it as is.
//
// Locking: every public member takes lock_ (one mutex per IoPagetable,
// lockdep class KAPI_LOCK_IOPT) for its whole duration, so each call is
// atomic; callers hold no lock of ours when calling.  Lock order: the
// ObjectTable lock is never held across a call here; under lock_ we
// allocate memory and, in iova_ranges(), call back into code that copies
// to user space, so lock_ nests outside the mm's mmap_lock (as upstream's
// iova_rwsem does).  Never call back into the IoPagetable from a visitor.
#pragma once

#include "interval_tree.hpp"
#include "page.hpp"

#include "cxxrt/lock.hpp"
#include "cxxrt/memory.hpp"

namespace iommufd::iopt {

using cxx::Result;
using cxx::Status;

class Pages; // the pinned-page store an area maps (a later issue)

// One mapping: IOVA [start, last] (the IovaNode) backed by a slice of user
// memory.  The IoPagetable owns areas once added.  Later issues add the
// pages reference, the IOMMU protection bits and the storage domain here.
class Area : public IovaNode, cxx::NoCopyNoMove {
public:
	Area() = default;

	uint64_t iova() const { return start; }
	uint64_t last_iova() const { return last; }
	uint64_t length() const { return last - start + 1; }
	// Offset of the first byte within its page; the IOVA has the same
	// offset whenever the allocator chose it.
	uint64_t page_offset() const { return page_offset_; }
	// Null while the area only holds its IOVA range (being mapped or
	// unmapped); set once it is published.
	Pages *pages() const { return pages_; }

private:
	friend class IoPagetable;
	uint64_t page_offset_ = 0;
	Pages *pages_ = nullptr;
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
	Result<uint64_t> alloc_iova_locked(uint64_t uptr, uint64_t length);
	Status check_iova_locked(uint64_t iova, uint64_t length);

	cxx::Mutex lock_;
	IntervalTree<Area> areas_;
	IntervalTree<ReservedRange> reserved_;
	IntervalTree<AllowedRange> allowed_;
	// Software-only IO page tables have no alignment constraint; domains
	// raise it to their smallest page size.
	uint64_t iova_alignment_ = 1;
	uint64_t max_alignment_ = kHugePageSize;
};

} // namespace iommufd::iopt
