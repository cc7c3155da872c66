// SPDX-License-Identifier: GPL-2.0
//
// io_pagetable.cpp - IOVA allocation and the checks on areas, reserved and
// allowed ranges (see io_pagetable.hpp for the rules and the locking).
//
// The errnos follow upstream iommufd's io_pagetable.c and ioas.c (Debian's
// 6.12 source): the selftests and VMMs probe them.  Where we deliberately
// differ, the function says so and why.
#include "io_pagetable.hpp"

#include "cxxrt/checked.hpp"

namespace iommufd::iopt {

namespace {

bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

// The smallest power of two >= v, for 0 < v <= 2^63.
uint64_t roundup_pow2(uint64_t v)
{
	return v == 1 ? 1 : uint64_t(1) << (64 - __builtin_clzll(v - 1));
}

template <typename T> void free_all(IntervalTree<T> &tree)
{
	while (T *n = tree.first()) {
		tree.erase(n);
		cxx::UniquePtr<T> gone(n);
	}
}

// The lowest IOVA in [hole_start, hole_last] where `length` bytes fit,
// starting at `residue` modulo `step` (a power of two); false if none.
bool fit_in_hole(uint64_t hole_start, uint64_t hole_last, uint64_t length, uint64_t step,
		 uint64_t residue, uint64_t *out)
{
	if (hole_last - hole_start < length - 1)
		return false;
	// Cannot wrap: rounding down leaves at least step - 1 > residue of
	// headroom below UINT64_MAX.
	uint64_t x = (hole_start & ~(step - 1)) + residue;
	if (x < hole_start && __builtin_add_overflow(x, step, &x))
		return false;
	if (x > hole_last || hole_last - x < length - 1)
		return false;
	*out = x;
	return true;
}

} // namespace

AllowedList::~AllowedList() { free_all(tree_); }

Status AllowedList::add(uint64_t start, uint64_t last)
{
	// Upstream's rule is start >= last, not start > last: a range of one
	// byte is refused as well.
	if (start >= last || tree_.first_overlap(start, last))
		return cxx::Err(EINVAL);
	auto node = TRY(cxx::make_unique<AllowedRange>(start, last));
	tree_.insert(node.release());
	return {};
}

IoPagetable::~IoPagetable()
{
	free_all(areas_);
	free_all(reserved_);
	free_all(allowed_);
}

Status IoPagetable::init(uint64_t huge_page_size)
{
	CXX_ASSERT(is_pow2(huge_page_size) && huge_page_size >= kPageSize);
	max_alignment_ = huge_page_size;
	lock_ = TRY(cxx::Mutex::create(KAPI_LOCK_IOPT));
	return {};
}

// Upstream's search, in order: the allowed ranges (or, with none, the whole
// space) clipped to [PAGE_SIZE, ULONG_MAX - PAGE_SIZE] so IOVA 0 is never
// handed out, and within each the holes left by reserved ranges and areas;
// the first hole where an aligned start fits wins.
//
// The alignment is that of the length rounded up to a power of two, but no
// more than the user address has (so a THP-aligned buffer gets a THP-aligned
// IOVA and nothing stricter is demanded of a less aligned one), capped at
// the huge page size.
//
// One deliberate difference: upstream places the start at
// ALIGN(hole, alignment) | (uptr % PAGE_SIZE), which keeps the page offset
// only when the hole begins on a page boundary.  We take the first start
// that is aligned *and* has uptr's page offset, so iova % PAGE_SIZE ==
// uptr % PAGE_SIZE always holds and the area can later be mapped into a
// PAGE_SIZE domain.  The two agree whenever holes begin on page
// boundaries; they differ only next to sub-page areas or reserved ranges.
// Likewise an aligned start equal to the hole's last byte is accepted for a
// one-byte mapping, which upstream's strict comparison refuses.
Result<uint64_t> IoPagetable::alloc_iova_locked(uint64_t uptr, uint64_t length)
{
	// Also keeps roundup_pow2() in range.
	if (length == 0 || length >= UINT64_MAX / 2)
		return cxx::Err(EOVERFLOW);

	uint64_t align = roundup_pow2(length);
	if (uptr)
		align = cxx::min(align, uptr & -uptr);
	align = cxx::min(align, max_alignment_);
	if (align < iova_alignment_)
		return cxx::Err(EINVAL);

	// Whenever align >= PAGE_SIZE, uptr's page offset is 0 (align divides
	// uptr); below it, the page offset is a multiple of align.  So "aligned
	// with uptr's page offset" is one congruence modulo max(align, page).
	uint64_t step = cxx::max(align, kPageSize);
	uint64_t residue = uptr % kPageSize;

	uint64_t found = 0;
	bool ok = false;
	auto search = [&](uint64_t start, uint64_t last) {
		if (last - start < length - 1)
			return;
		for_each_hole(reserved_, &areas_, start, last, [&](uint64_t hs, uint64_t hl) {
			ok = fit_in_hole(hs, hl, length, step, residue, &found);
			return !ok;
		});
	};

	constexpr uint64_t kFirst = kPageSize, kLast = UINT64_MAX - kPageSize;
	if (allowed_.empty()) {
		search(kFirst, kLast);
	} else {
		for (AllowedRange *a = allowed_.first_overlap(kFirst, kLast); a && !ok;
		     a = allowed_.next_overlap(a, kFirst, kLast))
			search(cxx::max(a->start, kFirst), cxx::min(a->last, kLast));
	}
	if (!ok)
		return cxx::Err(ENOSPC);
	return found;
}

Result<uint64_t> IoPagetable::alloc_iova(uint64_t uptr, uint64_t length)
{
	cxx::Guard g(lock_);
	return alloc_iova_locked(uptr, length);
}

// Upstream's order of checks, hence of errnos.  Allowed ranges are not
// consulted: upstream only uses them to steer allocation.
Status IoPagetable::check_iova_locked(uint64_t iova, uint64_t length)
{
	if (iova & (iova_alignment_ - 1))
		return cxx::Err(EINVAL);
	uint64_t last = TRY(cxx::checked_last(iova, length));
	if (reserved_.first_overlap(iova, last))
		return cxx::Err(EINVAL);
	if (areas_.first_overlap(iova, last))
		return cxx::Err(EEXIST);
	return {};
}

Status IoPagetable::check_iova(uint64_t iova, uint64_t length)
{
	cxx::Guard g(lock_);
	return check_iova_locked(iova, length);
}

Result<Area *> IoPagetable::add_area(cxx::UniquePtr<Area> area, uint64_t *iova, uint64_t uptr,
				     uint64_t length, IovaMode mode)
{
	cxx::Guard g(lock_);
	if (!length || (length & (iova_alignment_ - 1)))
		return cxx::Err(EINVAL);
	uint64_t at;
	if (mode == IovaMode::Alloc) {
		at = TRY(alloc_iova_locked(uptr, length));
	} else {
		at = *iova;
		TRY(check_iova_locked(at, length));
	}
	uint64_t page_offset = uptr % kPageSize;
	if (page_offset & (iova_alignment_ - 1))
		return cxx::Err(EINVAL);

	area->start = at;
	area->last = at + (length - 1); // checked by both paths above
	area->page_offset_ = page_offset;
	area->pages_ = nullptr;
	areas_.insert(area.get());
	*iova = at;
	return area.release();
}

cxx::UniquePtr<Area> IoPagetable::remove_area(Area *area)
{
	cxx::Guard g(lock_);
	areas_.erase(area);
	return cxx::UniquePtr<Area>(area);
}

Status IoPagetable::reserve(uint64_t start, uint64_t last, const void *owner)
{
	cxx::Guard g(lock_);
	if (start > last)
		return cxx::Err(EINVAL);
	// A reservation may not take away IOVA that is mapped or that the
	// user asked to keep usable.
	if (areas_.first_overlap(start, last) || allowed_.first_overlap(start, last))
		return cxx::Err(EADDRINUSE);
	auto node = TRY(cxx::make_unique<ReservedRange>(start, last, owner));
	reserved_.insert(node.release());
	return {};
}

void IoPagetable::unreserve(const void *owner)
{
	cxx::Guard g(lock_);
	ReservedRange *n = reserved_.first();
	while (n) {
		ReservedRange *next = reserved_.next(n);
		if (n->owner == owner) {
			reserved_.erase(n);
			cxx::UniquePtr<ReservedRange> gone(n);
		}
		n = next;
	}
}

// Existing areas outside the new ranges are left alone, as upstream does:
// the list steers future allocation, it does not unmap.
Status IoPagetable::set_allowed(AllowedList &list)
{
	cxx::Guard g(lock_);
	for (AllowedRange *a = list.tree_.first(); a; a = list.tree_.next(a))
		if (reserved_.first_overlap(a->start, a->last))
			return cxx::Err(EADDRINUSE);
	allowed_.swap(list.tree_);
	return {};
}

uint64_t IoPagetable::iova_alignment()
{
	cxx::Guard g(lock_);
	return iova_alignment_;
}

Status IoPagetable::set_iova_alignment(uint64_t align)
{
	CXX_ASSERT(is_pow2(align) && align <= kPageSize);
	cxx::Guard g(lock_);
	if (align > iova_alignment_) {
		for (Area *a = areas_.first(); a; a = areas_.next(a))
			if ((a->iova() | a->length() | a->page_offset_) & (align - 1))
				return cxx::Err(EADDRINUSE);
	}
	iova_alignment_ = align;
	return {};
}

size_t IoPagetable::area_count()
{
	cxx::Guard g(lock_);
	return areas_.size();
}

size_t IoPagetable::reserved_count()
{
	cxx::Guard g(lock_);
	return reserved_.size();
}

size_t IoPagetable::allowed_count()
{
	cxx::Guard g(lock_);
	return allowed_.size();
}

bool IoPagetable::validate()
{
	cxx::Guard g(lock_);
	return areas_.validate() && reserved_.validate() && allowed_.validate();
}

} // namespace iommufd::iopt
