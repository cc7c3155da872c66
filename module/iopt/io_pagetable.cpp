// SPDX-License-Identifier: GPL-2.0
//
// io_pagetable.cpp - IOVA allocation and the checks on areas, reserved and
// allowed ranges (see io_pagetable.hpp for the rules and the locking).
//
// The errnos follow upstream iommufd's io_pagetable.c and ioas.c (Debian's
// 6.12 source): the selftests and VMMs probe them.  Where we deliberately
// differ, the function says so and why.
#include "io_pagetable.hpp"
#include "pages.hpp"

#include "cxxrt/checked.hpp"
#include "cxxrt/log.hpp"
#include "domain/domain.hpp"

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
	// The owner unmapped everything and detached every domain and access
	// first (Ioas's destructor); only bare test areas may be left.
	CXX_ASSERT(!domains_ && !accesses_);
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
	return add_area_locked(cxx::move(area), iova, uptr, length, mode);
}

Result<Area *> IoPagetable::add_area_locked(cxx::UniquePtr<Area> area, uint64_t *iova,
					    uint64_t uptr, uint64_t length, IovaMode mode)
{
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
	area->addr_ = uptr;
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
	return reserve_locked(start, last, owner);
}

Status IoPagetable::reserve_locked(uint64_t start, uint64_t last, const void *owner)
{
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
	unreserve_locked(owner);
}

void IoPagetable::unreserve_locked(const void *owner)
{
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

// Tests set a base requirement directly; domains, accesses and the
// HUGE_PAGES option add theirs on top (wanted_alignment_locked).
Status IoPagetable::set_iova_alignment(uint64_t align)
{
	CXX_ASSERT(is_pow2(align) && align <= kPageSize);
	cxx::Guard g(lock_);
	uint64_t old = base_alignment_;
	base_alignment_ = align;
	uint64_t want = wanted_alignment_locked(nullptr, nullptr, no_large_pages_);
	if (want > iova_alignment_ && !areas_aligned_locked(want)) {
		base_alignment_ = old;
		return cxx::Err(EADDRINUSE);
	}
	iova_alignment_ = want;
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


// ---- areas and slices ---------------------------------------------------------

Area::Area() = default;

Area::~Area() { CXX_ASSERT(!pinned_ && !num_accesses_); }

// Page-space bytes: byte 0 of a Pages sits first_offset() into its page 0.
uint64_t Area::first_index() const
{
	return (pages_->first_offset() + pages_offset_) / kPageSize;
}

uint64_t Area::last_index() const
{
	return (pages_->first_offset() + pages_offset_ + length() - 1) / kPageSize;
}

SliceList::~SliceList()
{
	while (Node *n = head_) {
		head_ = n->next;
		cxx::UniquePtr<Node> gone(n);
	}
}

Status SliceList::push(PagesSlice &&s)
{
	auto n = TRY(cxx::make_unique<Node>());
	n->slice = cxx::move(s);
	Node *raw = n.release();
	if (tail_)
		tail_->next = raw;
	else
		head_ = raw;
	tail_ = raw;
	n_++;
	return {};
}

// ---- alignment ------------------------------------------------------------------

uint64_t IoPagetable::wanted_alignment_locked(const Domain *extra_domain,
					      const AccessUser *extra_access, bool no_large_pages)
{
	uint64_t align = base_alignment_;
	if (no_large_pages)
		align = cxx::max(align, kPageSize);
	for (DomainLink *l = domains_; l; l = l->next)
		align = cxx::max(align, l->domain->min_page_size());
	if (extra_domain)
		align = cxx::max(align, extra_domain->min_page_size());
	for (AccessUser *a = accesses_; a; a = a->next_access_)
		align = cxx::max(align, a->iova_alignment);
	if (extra_access)
		align = cxx::max(align, extra_access->iova_alignment);
	return align;
}

bool IoPagetable::areas_aligned_locked(uint64_t align)
{
	for (Area *a = areas_.first(); a; a = areas_.next(a))
		if ((a->iova() | a->length() | a->page_offset_) & (align - 1))
			return false;
	return true;
}

// ---- filling domains ------------------------------------------------------------

// One map call per physically contiguous run, so the domain can pick its
// largest pages; with large pages disabled (IOMMU_OPTION_HUGE_PAGES = 0),
// one call per CPU page, which caps the domain at PAGE_SIZE.  On failure
// the calls already made are undone: they are a prefix of the area.
Status IoPagetable::map_area(Area *area, Domain *domain)
{
	Pages &pages = *area->pages_;
	const uint64_t begin = pages.first_offset() + area->pages_offset_; // page-space bytes
	const uint64_t end = begin + area->length();
	const uint32_t prot = area->prot_;
	uint64_t done = 0; // bytes of the area mapped so far
	const bool small = no_large_pages_;

	Status st = pages.for_each_run(area->first_index(), area->last_index(),
		[&](uint64_t index, uint64_t pfn, uint64_t count) -> Status {
			uint64_t run_start = index * kPageSize;
			uint64_t s = cxx::max(run_start, begin);
			uint64_t e = cxx::min(run_start + count * kPageSize, end);
			while (s < e) {
				uint64_t n = e - s;
				if (small)
					n = cxx::min(n, kPageSize - s % kPageSize);
				uint64_t paddr = pfn * kPageSize + (s - run_start);
				TRY(domain->map(area->iova() + (s - begin), paddr, n, prot));
				done += n;
				s += n;
			}
			return {};
		});
	if (!st.ok() && done)
		domain->unmap(area->iova(), done);
	return st;
}

void IoPagetable::unmap_area(Area *area, Domain *domain)
{
	domain->unmap(area->iova(), area->length());
}

// Pin the area for the domains (if not yet) and map it into each.
Status IoPagetable::fill_area_locked(Area *area)
{
	if (!domains_)
		return {};
	if (!area->pinned_) {
		TRY(area->pages_->pin(area->first_index(), area->last_index()));
		area->pinned_ = true;
	}
	for (DomainLink *l = domains_; l; l = l->next) {
		Status st = map_area(area, l->domain);
		if (!st.ok()) {
			for (DomainLink *u = domains_; u != l; u = u->next)
				unmap_area(area, u->domain);
			area->pages_->unpin(area->first_index(), area->last_index());
			area->pinned_ = false;
			return st;
		}
	}
	return {};
}

// Unmap from every domain, unpin, and free.  The area is in the tree.
void IoPagetable::destroy_area_locked(Area *area)
{
	CXX_ASSERT(!area->num_accesses_);
	if (area->pages_) {
		for (DomainLink *l = domains_; l; l = l->next)
			unmap_area(area, l->domain);
		if (area->pinned_) {
			area->pages_->unpin(area->first_index(), area->last_index());
			area->pinned_ = false;
		}
	}
	areas_.erase(area);
	cxx::UniquePtr<Area> gone(area);
}

Status IoPagetable::publish_locked(Area *area, const cxx::RefPtr<Pages> &pages, uint64_t offset,
				   uint32_t prot)
{
	area->pages_ = pages;
	area->pages_offset_ = offset;
	area->prot_ = prot;
	Status st = fill_area_locked(area);
	if (!st.ok()) {
		areas_.erase(area);
		cxx::UniquePtr<Area> gone(area);
	}
	return st;
}

// ---- mappings ---------------------------------------------------------------------

Status IoPagetable::map_pages(const cxx::RefPtr<Pages> &pages, uint64_t offset, uint64_t length,
			      uint64_t addr, uint32_t prot, IovaMode mode, uint64_t *iova)
{
	if ((prot & kWrite) && !pages->writable())
		return cxx::Err(EPERM);
	auto area = TRY(cxx::make_unique<Area>());
	cxx::Guard g(lock_);
	Area *a = TRY(add_area_locked(cxx::move(area), iova, addr, length, mode));
	return publish_locked(a, pages, offset, prot);
}

Status IoPagetable::map_slices(SliceList &slices, uint64_t length, uint32_t prot, IovaMode mode,
			       uint64_t *iova)
{
	if (!slices.size())
		return cxx::Err(EINVAL);

	cxx::Guard g(lock_);
	// Upstream's order: the length, then the IOVA (EEXIST, ENOSPC), then
	// each slice's permission.  Claim the whole range first, so the
	// slices land back to back.
	if (!length || (length & (iova_alignment_ - 1)))
		return cxx::Err(EINVAL);
	uint64_t at = *iova;
	if (mode == IovaMode::Alloc)
		at = TRY(alloc_iova_locked(slices.first()->slice.addr, length));
	else
		TRY(check_iova_locked(at, length));
	for (auto *n = slices.first(); n; n = n->next)
		if ((prot & kWrite) && !n->slice.pages->writable())
			return cxx::Err(EPERM);

	uint64_t cur = at;
	Status st;
	for (auto *n = slices.first(); n; n = n->next) {
		auto area = cxx::make_unique<Area>();
		if (!area.ok()) {
			st = area.error();
			break;
		}
		uint64_t where = cur;
		auto added = add_area_locked(area.take(), &where, n->slice.addr, n->slice.length,
					     IovaMode::Fixed);
		if (!added.ok()) {
			st = added.error();
			break;
		}
		st = publish_locked(added.value(), n->slice.pages, n->slice.offset, prot);
		if (!st.ok())
			break;
		cur += n->slice.length;
	}
	if (!st.ok()) {
		// Remove what this call added: the areas in [at, cur).
		if (cur > at) {
			for (Area *a = areas_.first_overlap(at, cur - 1); a;) {
				Area *next = areas_.next_overlap(a, at, cur - 1);
				destroy_area_locked(a);
				a = next;
			}
		}
		return st;
	}
	*iova = at;
	return {};
}

Status IoPagetable::get_slices(uint64_t iova, uint64_t length, SliceList &out)
{
	if (!length)
		return cxx::Err(EINVAL);
	uint64_t last = TRY(cxx::checked_last(iova, length));
	cxx::Guard g(lock_);
	uint64_t cur = iova;
	for (Area *a = areas_.first_overlap(iova, last); a; a = areas_.next_overlap(a, iova, last)) {
		if (!a->pages_ || a->iova() > cur)
			return cxx::Err(ENOENT); // a hole, or an area being built
		uint64_t s = cur, e = cxx::min(a->last_iova(), last);
		uint64_t skip = s - a->iova();
		TRY(out.push(PagesSlice{
			.pages = a->pages_,
			.offset = a->pages_offset_ + skip,
			.length = e - s + 1,
			.addr = a->addr_ + skip,
			.prot = a->prot_,
		}));
		if (e == last)
			return {};
		cur = e + 1;
	}
	return cxx::Err(ENOENT);
}

Result<uint64_t> IoPagetable::unmap(uint64_t iova, uint64_t length)
{
	uint64_t unmapped;
	TRY(unmap_range(iova, length, &unmapped));
	if (!unmapped)
		return cxx::Err(ENOENT);
	return unmapped;
}

Status IoPagetable::unmap_range(uint64_t iova, uint64_t length, uint64_t *out)
{
	*out = 0;
	if (!length)
		return cxx::Err(EINVAL);
	uint64_t last = TRY(cxx::checked_last(iova, length));

	// Areas go in IOVA order, as upstream: the whole ones before an area
	// that crosses either end are unmapped, then that one is ENOENT (and
	// so is a range with nothing in it).
	//
	// An area with access pins cannot go until its accesses let go, which
	// they do from unmap_notify, called with lock_ dropped (it calls back
	// into access_unpin).  Accesses are held and told in batches of
	// kBatch by list position, so no allocation is needed; a
	// well-behaved access has let go after it was told once, and the area
	// refuses new access pins meanwhile (prevent_access_).
	constexpr size_t kBatch = 8;
	size_t position = 0;
	uint64_t unmapped = 0;
	for (int rounds = 0;; rounds++) {
		AccessUser *batch[kBatch];
		size_t n = 0;
		{
			cxx::Guard g(lock_);
			Area *a = areas_.first_overlap(iova, last);
			for (; a; a = areas_.first_overlap(iova, last)) {
				if (!a->pages_ || a->iova() < iova || a->last_iova() > last) {
					*out = unmapped;
					return cxx::Err(ENOENT);
				}
				if (a->num_accesses_) {
					a->prevent_access_ = true;
					break;
				}
				unmapped += a->length();
				destroy_area_locked(a);
			}
			if (!a) {
				*out = unmapped;
				return {};
			}
			size_t i = 0, total = 0;
			for (AccessUser *u = accesses_; u; u = u->next_access_, i++) {
				total++;
				if (i >= position && n < kBatch) {
					u->hold();
					batch[n++] = u;
				}
			}
			if (!n || rounds > int(total / kBatch) + 2) {
				for (size_t k = 0; k < n; k++)
					batch[k]->release();
				log_err("unmap: pages at 0x%llx stay pinned by an access",
					(unsigned long long)a->iova());
				*out = unmapped;
				return cxx::Err(EDEADLK);
			}
			position = (position + n) % total;
		}
		for (size_t k = 0; k < n; k++) {
			batch[k]->unmap_notify(iova, last - iova + 1);
			batch[k]->release();
		}
	}
}

// Upstream reports what it removed even when an access would not let go;
// so do we (the error is logged by unmap()).
uint64_t IoPagetable::unmap_all()
{
	uint64_t unmapped;
	(void)unmap_range(0, UINT64_MAX, &unmapped);
	return unmapped;
}

bool IoPagetable::overlap_bounds(uint64_t iova, uint64_t last, uint64_t *first_start,
				 uint64_t *last_end)
{
	cxx::Guard g(lock_);
	Area *a = areas_.first_overlap(iova, last);
	if (!a)
		return false;
	*first_start = a->iova();
	for (Area *n = a; n; n = areas_.next_overlap(n, iova, last))
		a = n;
	*last_end = a->last_iova();
	return true;
}

// The halves share the Pages.  A pinned area's one pin over its whole
// index range becomes one pin per half (pinning what is already pinned
// touches neither the mm nor the charge), so each half can later unpin
// exactly what it holds.  With large pages disabled every domain mapping
// was made one CPU page per map() call, so unmapping either half later
// still covers whole map() calls.
Status IoPagetable::cut(uint64_t last)
{
	cxx::Guard g(lock_);
	Area *a = areas_.first_overlap(last, last);
	if (!a || last == a->iova() || last == a->last_iova())
		return {};
	if (!a->pages_ || a->prevent_access_)
		return cxx::Err(EBUSY);
	const uint64_t delta = last + 1 - a->iova(); // bytes in the left half
	const uint64_t right_page_offset = (a->addr_ + delta) % kPageSize;
	if (((last + 1) | right_page_offset) & (iova_alignment_ - 1))
		return cxx::Err(EINVAL);
	if (a->num_accesses_)
		return cxx::Err(EINVAL);
	if (a->pinned_ && !no_large_pages_)
		return cxx::Err(EINVAL);

	auto right = TRY(cxx::make_unique<Area>());
	right->start = last + 1;
	right->last = a->last_iova();
	right->page_offset_ = right_page_offset;
	right->addr_ = a->addr_ + delta;
	right->pages_ = a->pages_;
	right->pages_offset_ = a->pages_offset_ + delta;
	right->prot_ = a->prot_;

	if (a->pinned_) {
		Pages &p = *a->pages_;
		const uint64_t first = a->first_index(), end = a->last_index();
		const uint64_t left_last = (p.first_offset() + a->pages_offset_ + delta - 1) / kPageSize;
		TRY(p.pin(first, left_last));
		Status st = p.pin(right->first_index(), right->last_index());
		if (!st.ok()) {
			p.unpin(first, left_last);
			return st;
		}
		p.unpin(first, end);
		right->pinned_ = true;
	}
	areas_.erase(a);
	a->last = last;
	areas_.insert(a);
	areas_.insert(right.release());
	return {};
}

// ---- domains ----------------------------------------------------------------------

Status IoPagetable::add_domain(Domain *domain)
{
	auto link = TRY(cxx::make_unique<DomainLink>());
	cxx::Guard g(lock_);

	uint64_t align = wanted_alignment_locked(domain, nullptr, no_large_pages_);
	if (align > iova_alignment_ && !areas_aligned_locked(align))
		return cxx::Err(EADDRINUSE);
	// Everything outside the aperture becomes reserved.
	if (domain->aperture_start())
		TRY(reserve_locked(0, domain->aperture_start() - 1, domain));
	if (domain->aperture_last() != UINT64_MAX) {
		Status st = reserve_locked(domain->aperture_last() + 1, UINT64_MAX, domain);
		if (!st.ok()) {
			unreserve_locked(domain);
			return st;
		}
	}

	// Pin (if this is the first domain) and map every area.
	const bool first_domain = domains_ == nullptr;
	Area *failed = nullptr;
	Status st;
	for (Area *a = areas_.first(); a; a = areas_.next(a)) {
		if (!a->pages_)
			continue;
		if (first_domain) {
			st = a->pages_->pin(a->first_index(), a->last_index());
			if (!st.ok()) {
				failed = a;
				break;
			}
			a->pinned_ = true;
		}
		st = map_area(a, domain);
		if (!st.ok()) {
			if (first_domain) {
				a->pages_->unpin(a->first_index(), a->last_index());
				a->pinned_ = false;
			}
			failed = a;
			break;
		}
	}
	if (failed) {
		for (Area *a = areas_.first(); a != failed; a = areas_.next(a)) {
			if (!a->pages_)
				continue;
			unmap_area(a, domain);
			if (first_domain) {
				a->pages_->unpin(a->first_index(), a->last_index());
				a->pinned_ = false;
			}
		}
		unreserve_locked(domain);
		return st;
	}

	link->domain = domain;
	link->next = domains_;
	domains_ = link.release();
	iova_alignment_ = align;
	return {};
}

void IoPagetable::remove_domain(Domain *domain)
{
	cxx::Guard g(lock_);
	DomainLink **pp = &domains_;
	while (*pp && (*pp)->domain != domain)
		pp = &(*pp)->next;
	CXX_ASSERT(*pp);
	if (!*pp)
		return;
	DomainLink *link = *pp;
	*pp = link->next;
	cxx::UniquePtr<DomainLink> gone(link);

	for (Area *a = areas_.first(); a; a = areas_.next(a)) {
		if (!a->pages_)
			continue;
		unmap_area(a, domain);
		if (!domains_ && a->pinned_) {
			a->pages_->unpin(a->first_index(), a->last_index());
			a->pinned_ = false;
		}
	}
	unreserve_locked(domain);
	iova_alignment_ = wanted_alignment_locked(nullptr, nullptr, no_large_pages_);
}

uint64_t IoPagetable::domains_pgsize_bitmap()
{
	cxx::Guard g(lock_);
	uint64_t bitmap = UINT64_MAX;
	for (DomainLink *l = domains_; l; l = l->next)
		bitmap &= l->domain->pgsize_bitmap();
	return bitmap;
}

bool IoPagetable::domains_cache_coherent()
{
	cxx::Guard g(lock_);
	for (DomainLink *l = domains_; l; l = l->next)
		if (!l->domain->enforces_cache_coherency())
			return false;
	return true;
}

size_t IoPagetable::domain_count()
{
	cxx::Guard g(lock_);
	size_t n = 0;
	for (DomainLink *l = domains_; l; l = l->next)
		n++;
	return n;
}

Status IoPagetable::for_each_area(uint64_t iova, uint64_t last,
				  cxx::FunctionRef<Status(uint64_t, uint64_t)> visit)
{
	cxx::Guard g(lock_);
	for (Area *a = areas_.first_overlap(iova, last); a; a = areas_.next_overlap(a, iova, last)) {
		if (!a->pages_)
			continue;
		uint64_t s = cxx::max(a->iova(), iova), e = cxx::min(a->last_iova(), last);
		TRY(visit(s, e - s + 1));
	}
	return {};
}

// ---- accesses ------------------------------------------------------------------------

Status IoPagetable::attach_access(AccessUser *access)
{
	cxx::Guard g(lock_);
	uint64_t align = wanted_alignment_locked(nullptr, access, no_large_pages_);
	if (align > iova_alignment_ && !areas_aligned_locked(align))
		return cxx::Err(EADDRINUSE);
	access->next_access_ = accesses_;
	accesses_ = access;
	iova_alignment_ = align;
	return {};
}

Status IoPagetable::check_access(const AccessUser *access)
{
	cxx::Guard g(lock_);
	uint64_t align = wanted_alignment_locked(nullptr, access, no_large_pages_);
	if (align > iova_alignment_ && !areas_aligned_locked(align))
		return cxx::Err(EADDRINUSE);
	return {};
}

void IoPagetable::detach_access(AccessUser *access)
{
	cxx::Guard g(lock_);
	AccessUser **pp = &accesses_;
	while (*pp && *pp != access)
		pp = &(*pp)->next_access_;
	CXX_ASSERT(*pp);
	if (*pp)
		*pp = access->next_access_;
	access->next_access_ = nullptr;
	iova_alignment_ = wanted_alignment_locked(nullptr, nullptr, no_large_pages_);
}

namespace {

// The part of `area` inside [iova, last] as Pages page indexes.
void area_index_span(const Area *a, uint64_t iova, uint64_t last, uint64_t *first_index,
		     uint64_t *last_index)
{
	uint64_t s = cxx::max(a->iova(), iova), e = cxx::min(a->last_iova(), last);
	uint64_t base = a->pages()->first_offset() + a->pages_offset();
	*first_index = (base + (s - a->iova())) / kPageSize;
	*last_index = (base + (e - a->iova())) / kPageSize;
}

} // namespace

Status IoPagetable::access_pin(uint64_t iova, uint64_t length, bool write,
			       cxx::FunctionRef<Status(uint64_t pfn)> visit)
{
	if (!length)
		return cxx::Err(EINVAL);
	uint64_t last = TRY(cxx::checked_last(iova, length));
	cxx::Guard g(lock_);

	// Every byte must be mapped, with the access rights asked for.
	uint64_t cur = iova;
	bool covered = false;
	for (Area *a = areas_.first_overlap(iova, last); a; a = areas_.next_overlap(a, iova, last)) {
		if (!a->pages_ || a->iova() > cur)
			return cxx::Err(ENOENT);
		if (write && !(a->prot_ & kWrite))
			return cxx::Err(EPERM);
		if (a->prevent_access_)
			return cxx::Err(EINVAL); // being unmapped
		if (a->last_iova() >= last) {
			covered = true;
			break;
		}
		cur = a->last_iova() + 1;
	}
	if (!covered)
		return cxx::Err(ENOENT);

	Area *done_until = nullptr;
	Status st;
	for (Area *a = areas_.first_overlap(iova, last); a; a = areas_.next_overlap(a, iova, last)) {
		uint64_t fi, li;
		area_index_span(a, iova, last, &fi, &li);
		st = a->pages_->pin(fi, li);
		if (!st.ok()) {
			done_until = a;
			break;
		}
		a->num_accesses_++;
		// Hand out one PFN per CPU page of the range, as upstream's
		// page array: page-granular even when iova is not.
		st = a->pages_->for_each_run(fi, li,
					     [&](uint64_t, uint64_t pfn, uint64_t count) -> Status {
						     for (uint64_t i = 0; i < count; i++)
							     TRY(visit(pfn + i));
						     return {};
					     });
		if (!st.ok()) {
			done_until = areas_.next_overlap(a, iova, last);
			break;
		}
	}
	if (!st.ok()) {
		for (Area *a = areas_.first_overlap(iova, last); a && a != done_until;
		     a = areas_.next_overlap(a, iova, last)) {
			uint64_t fi, li;
			area_index_span(a, iova, last, &fi, &li);
			a->pages_->unpin(fi, li);
			a->num_accesses_--;
		}
	}
	return st;
}

void IoPagetable::access_unpin(uint64_t iova, uint64_t length)
{
	uint64_t last = iova + (length - 1);
	cxx::Guard g(lock_);
	for (Area *a = areas_.first_overlap(iova, last); a; a = areas_.next_overlap(a, iova, last)) {
		CXX_ASSERT(a->num_accesses_);
		if (!a->num_accesses_)
			continue;
		uint64_t fi, li;
		area_index_span(a, iova, last, &fi, &li);
		a->pages_->unpin(fi, li);
		a->num_accesses_--;
	}
}

Status IoPagetable::access_rw(uint64_t iova, void *buf, uint64_t length, bool write)
{
	if (!length)
		return cxx::Err(EINVAL);
	uint64_t last = TRY(cxx::checked_last(iova, length));
	cxx::Guard g(lock_);
	uint64_t cur = iova;
	char *p = static_cast<char *>(buf);
	for (Area *a = areas_.first_overlap(iova, last); a; a = areas_.next_overlap(a, iova, last)) {
		if (!a->pages_ || a->iova() > cur)
			return cxx::Err(ENOENT);
		if (write && !(a->prot_ & kWrite))
			return cxx::Err(EPERM);
		uint64_t e = cxx::min(a->last_iova(), last);
		uint64_t n = e - cur + 1;
		TRY(a->pages_->rw(a->pages_offset_ + (cur - a->iova()), p, n, write));
		p += n;
		if (e == last)
			return {};
		cur = e + 1;
	}
	return cxx::Err(ENOENT);
}

Status IoPagetable::probe(uint64_t iova, bool write)
{
	cxx::Guard g(lock_);
	Area *a = areas_.first_overlap(iova, iova);
	if (!a || !a->pages_)
		return cxx::Err(ENOENT);
	if (write && !(a->prot_ & kWrite))
		return cxx::Err(EPERM);
	return {};
}

// A Pages shared by several areas (IOAS_COPY within one IOAS) is visited
// once per area; callers that must see it once dedupe (ioas.cpp does).
Status IoPagetable::for_each_pages(cxx::FunctionRef<Status(Pages &)> visit)
{
	cxx::Guard g(lock_);
	for (Area *a = areas_.first(); a; a = areas_.next(a))
		if (a->pages_)
			TRY(visit(*a->pages_));
	return {};
}

// ---- IOMMU_OPTION_HUGE_PAGES ----------------------------------------------------------

bool IoPagetable::large_pages()
{
	cxx::Guard g(lock_);
	return !no_large_pages_;
}

Status IoPagetable::set_large_pages(bool enable)
{
	cxx::Guard g(lock_);
	if (enable) {
		no_large_pages_ = false;
		iova_alignment_ = wanted_alignment_locked(nullptr, nullptr, false);
		return {};
	}
	if (no_large_pages_)
		return {};
	// Domains already mapped with large pages would keep them.
	if (domains_ && !areas_.empty())
		return cxx::Err(EINVAL);
	uint64_t align = wanted_alignment_locked(nullptr, nullptr, true);
	if (align > iova_alignment_ && !areas_aligned_locked(align))
		return cxx::Err(EADDRINUSE);
	no_large_pages_ = true;
	iova_alignment_ = align;
	return {};
}

} // namespace iommufd::iopt
