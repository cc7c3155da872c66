// SPDX-License-Identifier: GPL-2.0
//
// mock_domain.cpp - the mock IOMMU's page table and its nested domain (see
// mock_domain.hpp for the semantics the test ABI needs).
//
// The table is two levels: kLeaves pointers, each null or a 4 KiB leaf of
// 512 entries (one 1 MiB huge page of IOVA), allocated on first map and
// freed when its last entry is unmapped, with a count of present entries
// per leaf.  A lookup is two loads; a map allocates every leaf it needs
// before it writes any entry, so an allocation failure unwinds by freeing
// the still-empty leaves, and unmap only ever frees.
//
// Lock order: a domain's lock is taken inside the io_pagetable and test-ABI
// paths and nothing of this module is taken under it.  read_and_clear_dirty
// writes the user bitmap through DirtyBitmap while holding it, so page
// faults (the mm's locks) nest inside it, as they nest inside upstream's
// iova_rwsem on the same path.
#include "domain/mock_domain.hpp"

#include "cxxrt/checked.hpp"
#include "domain/dirty_bitmap.hpp"
#include "kapi.h"
#include "uapi/iommufd_test.h"

// A caller broke the domain contract: a bug in this module, never user
// input.  WARN with a backtrace, as upstream's mock driver does, then carry
// on, refusing the operation where that is possible.  The hosted kapi
// aborts on it, so unit tests see these as deaths.
#define MOCK_WARN_ON(cond, what)                                              \
	({                                                                    \
		bool warn_ = (cond);                                          \
		if (__builtin_expect(warn_, 0))                               \
			kapi_assert_failed(what, __FILE__, __LINE__);         \
		warn_;                                                        \
	})

namespace iommufd {

static_assert(uint32_t(kMockDevNoDirty) == MOCK_FLAGS_DEVICE_NO_DIRTY &&
	      uint32_t(kMockDevHugeIova) == MOCK_FLAGS_DEVICE_HUGE_IOVA &&
	      uint32_t(kMockDevPasid) == MOCK_FLAGS_DEVICE_PASID);
static_assert(kMockApertureStart == MOCK_APERTURE_START &&
	      kMockApertureLast == MOCK_APERTURE_LAST);
static_assert(kMockIoPageSize == 2048 && kMockHugePageSize == (1u << 20));
// One huge page per leaf, and the aperture made of whole leaves.
static_assert(kMockApertureStart % kMockHugePageSize == 0 &&
	      (kMockApertureLast + 1) % kMockHugePageSize == 0);
static_assert(MockDomain::kLeafEntries * sizeof(uint64_t) == 4096);
static_assert(MockDomain::kLeafEntries <= UINT16_MAX);

namespace {

// One table entry: the page frame (paddr / 2 KiB) in the low bits, flags on
// top.  PRESENT tells a mapped frame 0 from an empty entry.
constexpr uint64_t kPresent = 1ull << 63;
constexpr uint64_t kStart = 1ull << 62;
constexpr uint64_t kLast = 1ull << 61;
constexpr uint64_t kHuge = 1ull << 60;
constexpr uint64_t kDirty = 1ull << 59;
constexpr unsigned int kIoPageShift = 11;
constexpr uint64_t kPfnMask = (1ull << 52) - 1;
static_assert(kMockIoPageSize == 1ull << kIoPageShift);
// The highest physical address an entry can hold.
constexpr uint64_t kMaxPaddr = ((kPfnMask + 1) << kIoPageShift) - 1;

constexpr uint64_t index_of(uint64_t iova) { return (iova - kMockApertureStart) >> kIoPageShift; }
constexpr uint64_t iova_of(uint64_t index) { return kMockApertureStart + (index << kIoPageShift); }

constexpr uint32_t public_flags(uint64_t e)
{
	uint32_t f = 0;
	if (e & kStart)
		f |= kMockEntryStart;
	if (e & kLast)
		f |= kMockEntryLast;
	if (e & kHuge)
		f |= kMockEntryHuge;
	if (e & kDirty)
		f |= kMockEntryDirty;
	return f;
}

// [iova, iova + length) inside the aperture, on 2 KiB boundaries.
bool valid_range(uint64_t iova, uint64_t length, uint64_t *last)
{
	if (!length || (iova | length) % kMockIoPageSize)
		return false;
	if (__builtin_add_overflow(iova, length - 1, last))
		return false;
	return iova >= kMockApertureStart && *last <= kMockApertureLast;
}

} // namespace

// ---- MockDomain -------------------------------------------------------------

cxx::Result<cxx::UniquePtr<MockDomain>> MockDomain::create(uint32_t dev_flags, bool dirty)
{
	uint64_t pgsize = kMockIoPageSize;
	if (dev_flags & kMockDevHugeIova)
		pgsize |= kMockHugePageSize;
	auto lock = TRY(cxx::Mutex::create(KAPI_LOCK_DOMAIN));
	auto leaves = TRY(cxx::UniqueArray<uint64_t *>::zeroed(kLeaves));
	auto used = TRY(cxx::UniqueArray<uint16_t>::zeroed(kLeaves));
	return cxx::make_unique<MockDomain>(Token(), pgsize, dirty, cxx::move(lock),
					    cxx::move(leaves), cxx::move(used));
}

MockDomain::MockDomain(Token, uint64_t pgsize_bitmap, bool dirty, cxx::Mutex lock,
		       cxx::UniqueArray<uint64_t *> leaves, cxx::UniqueArray<uint16_t> used)
	: Domain(pgsize_bitmap, kMockApertureStart, kMockApertureLast), lock_(cxx::move(lock)),
	  leaves_(cxx::move(leaves)), used_(cxx::move(used)), dirty_ops_(dirty)
{
}

MockDomain::~MockDomain()
{
	MOCK_WARN_ON(nr_mapped_ != 0, "mock domain: freed while pages are still mapped");
	for (uint64_t l = 0; l < kLeaves; l++)
		kapi_free(leaves_[l]);
}

void MockDomain::free_empty_leaves(uint64_t first_leaf, uint64_t last_leaf)
{
	for (uint64_t l = first_leaf; l <= last_leaf; l++) {
		if (leaves_[l] && !used_[l]) {
			kapi_free(leaves_[l]);
			leaves_[l] = nullptr;
			nr_leaves_--;
		}
	}
}

// Clear entries [first, last] (indexes) and free the leaves this empties.
void MockDomain::erase_range(uint64_t first, uint64_t last)
{
	for (uint64_t l = first / kLeafEntries; l <= last / kLeafEntries; l++) {
		uint64_t *leaf = leaves_[l];
		if (!leaf)
			continue;
		uint64_t base = l * kLeafEntries;
		uint64_t lo = cxx::max(first, base) - base;
		uint64_t hi = cxx::min(last, base + kLeafEntries - 1) - base;
		if (lo == 0 && hi == kLeafEntries - 1) {
			// The whole leaf goes: no need to clear what is freed.
			nr_mapped_ -= used_[l];
			used_[l] = 0;
		} else {
			for (uint64_t i = lo; i <= hi; i++) {
				if (leaf[i] & kPresent) {
					leaf[i] = 0;
					used_[l]--;
					nr_mapped_--;
				}
			}
		}
		if (!used_[l]) {
			kapi_free(leaf);
			leaves_[l] = nullptr;
			nr_leaves_--;
		}
	}
}

// prot is not kept: upstream's mock ignores it too, and no test op reads it.
cxx::Status MockDomain::map(uint64_t iova, uint64_t paddr, uint64_t length, uint32_t prot)
{
	uint64_t last, plast;
	if (MOCK_WARN_ON(!valid_range(iova, length, &last),
			 "mock domain: map of an unaligned range or outside the aperture"))
		return cxx::Err(EINVAL);
	if (MOCK_WARN_ON(paddr % kMockIoPageSize ||
				 __builtin_add_overflow(paddr, length - 1, &plast) ||
				 plast > kMaxPaddr,
			 "mock domain: map of an unaligned or impossible physical address"))
		return cxx::Err(EINVAL);

	// Fault injection (fail_iommufd_cxx), as upstream's mock has: a map
	// failing part way through a domain fill must unwind cleanly.
	if (kapi_should_fail())
		return cxx::Err(ENOMEM);

	cxx::Guard g(lock_);
	const uint64_t first = index_of(iova), n = length >> kIoPageShift;
	const uint64_t first_leaf = first / kLeafEntries, last_leaf = index_of(last) / kLeafEntries;

	// Every leaf first, so that nothing below can fail for want of memory.
	for (uint64_t l = first_leaf; l <= last_leaf; l++) {
		if (leaves_[l])
			continue;
		void *p = kapi_alloc(kLeafEntries * sizeof(uint64_t),
				     KAPI_ALLOC_ZERO | KAPI_ALLOC_ACCOUNT);
		if (!p) {
			if (l > first_leaf)
				free_empty_leaves(first_leaf, l - 1);
			return cxx::Err(ENOMEM);
		}
		leaves_[l] = static_cast<uint64_t *>(p);
		nr_leaves_++;
	}

	const bool huge = pgsize_bitmap() & kMockHugePageSize;
	uint64_t index = first, pa = paddr, done = 0;
	while (done < n) {
		// The largest page the alignment of both addresses and the
		// remaining length allow.  A huge page is exactly one leaf.
		uint64_t run = 1, flags = kPresent;
		if (huge && index % kLeafEntries == 0 && pa % kMockHugePageSize == 0 &&
		    n - done >= kLeafEntries) {
			run = kLeafEntries;
			flags |= kHuge;
		}
		uint64_t *s = slot(index);
		uint16_t &used = used_[index / kLeafEntries];
		for (uint64_t j = 0; j < run; j++, done++, pa += kMockIoPageSize) {
			uint64_t e = flags | (pa >> kIoPageShift);
			if (done == 0)
				e |= kStart;
			if (done == n - 1)
				e |= kLast;
			if (MOCK_WARN_ON(s[j] & kPresent,
					 "mock domain: map over an IOVA that is already mapped")) {
				// Undo this call only; the earlier mapping stays.
				if (index + j > first)
					erase_range(first, index + j - 1);
				free_empty_leaves(first_leaf, last_leaf);
				return cxx::Err(EEXIST);
			}
			s[j] = e;
			used++;
			nr_mapped_++;
		}
		index += run;
	}
	return {};
}

void MockDomain::unmap(uint64_t iova, uint64_t length)
{
	uint64_t last;
	if (MOCK_WARN_ON(!valid_range(iova, length, &last),
			 "mock domain: unmap of an unaligned range or outside the aperture"))
		return;

	cxx::Guard g(lock_);
	const uint64_t first = index_of(iova), end_index = index_of(last);
	const uint64_t *fl = leaves_[first / kLeafEntries];
	const uint64_t *ll = leaves_[end_index / kLeafEntries];
	const uint64_t fe = fl ? fl[first % kLeafEntries] : 0;
	const uint64_t le = ll ? ll[end_index % kLeafEntries] : 0;

	// Unmaps cover whole map() calls, so the range starts at a START entry
	// and ends at a LAST one.  Upstream checks this only without huge
	// pages, where its START/LAST marks are per map call as ours always
	// are; we keep its rule so both mocks accept the same callers.
	if (!(pgsize_bitmap() & kMockHugePageSize)) {
		MOCK_WARN_ON((fe & kPresent) && !(fe & kStart),
			     "mock domain: unmap does not begin where a map began");
		MOCK_WARN_ON((le & kPresent) && !(le & kLast),
			     "mock domain: unmap does not end where a map ended");
	}
	// Cutting a huge page in two cannot be expressed in a page table.
	MOCK_WARN_ON(((fe & kHuge) && first % kLeafEntries) ||
			     ((le & kHuge) && end_index % kLeafEntries != kLeafEntries - 1),
		     "mock domain: unmap splits a huge page");
	erase_range(first, end_index);
}

cxx::Status MockDomain::set_dirty_tracking(bool enable)
{
	if (!dirty_ops_)
		return cxx::Err(EOPNOTSUPP);
	cxx::Guard g(lock_);
	tracking_ = enable;
	return {};
}

bool MockDomain::dirty_tracking_enabled() const
{
	cxx::Guard g(lock_);
	return tracking_;
}

// The dirty walk shared by GET_DIRTY_BITMAP and the clear before tracking
// is enabled; lock_ held.  A dirty huge page is tested, cleared and
// reported as a whole, wherever in it the range begins.  Adjacent dirty
// pages are reported as one range, which keeps DirtyBitmap calls few.
cxx::Status MockDomain::walk_dirty(uint64_t iova, uint64_t length, bool clear, DirtyBitmap *out)
{
	if (!length)
		return {};
	uint64_t last;
	if (MOCK_WARN_ON((iova | length) % kMockIoPageSize,
			 "mock domain: dirty read of an unaligned range"))
		return cxx::Err(EINVAL);
	if (__builtin_add_overflow(iova, length - 1, &last))
		last = UINT64_MAX;
	// Nothing is mapped outside the aperture.
	iova = cxx::max(iova, kMockApertureStart);
	last = cxx::min(last, kMockApertureLast);
	if (iova > last)
		return {};

	uint64_t run_start = 0, run_len = 0;
	auto report = [&](uint64_t start, uint64_t len) -> cxx::Status {
		if (!out)
			return {};
		if (run_len && run_start + run_len == start) {
			run_len += len;
			return {};
		}
		if (run_len)
			TRY(out->record(run_start, run_len));
		run_start = start;
		run_len = len;
		return {};
	};

	uint64_t index = index_of(iova);
	const uint64_t end_index = index_of(last);
	while (index <= end_index) {
		const uint64_t l = index / kLeafEntries;
		uint64_t *leaf = leaves_[l];
		if (!leaf) {
			index = (l + 1) * kLeafEntries;
			continue;
		}
		uint64_t &e = leaf[index % kLeafEntries];
		if (!(e & kPresent)) {
			index++;
			continue;
		}
		if (e & kHuge) {
			bool dirty = false;
			for (uint64_t i = 0; i < kLeafEntries; i++) {
				if (leaf[i] & kDirty) {
					dirty = true;
					if (clear)
						leaf[i] &= ~kDirty;
				}
			}
			if (dirty)
				TRY(report(iova_of(l * kLeafEntries), kMockHugePageSize));
			index = (l + 1) * kLeafEntries;
			continue;
		}
		if (e & kDirty) {
			if (clear)
				e &= ~kDirty;
			TRY(report(iova_of(index), kMockIoPageSize));
		}
		index++;
	}
	if (out && run_len)
		TRY(out->record(run_start, run_len));
	return {};
}

cxx::Status MockDomain::read_and_clear_dirty(uint64_t iova, uint64_t length, bool no_clear,
					     DirtyBitmap &out)
{
	if (!dirty_ops_)
		return cxx::Err(EOPNOTSUPP);
	cxx::Guard g(lock_);
	if (!tracking_)
		return cxx::Err(EINVAL);
	return walk_dirty(iova, length, !no_clear, &out);
}

cxx::Status MockDomain::clear_dirty(uint64_t iova, uint64_t length)
{
	if (!dirty_ops_)
		return cxx::Err(EOPNOTSUPP);
	cxx::Guard g(lock_);
	return walk_dirty(iova, length, true, nullptr);
}

cxx::Result<MockEntry> MockDomain::entry(uint64_t iova) const
{
	if (iova < kMockApertureStart || iova > kMockApertureLast)
		return cxx::Err(ENOENT);
	cxx::Guard g(lock_);
	const uint64_t index = index_of(iova);
	const uint64_t *leaf = leaves_[index / kLeafEntries];
	const uint64_t e = leaf ? leaf[index % kLeafEntries] : 0;
	if (!(e & kPresent))
		return cxx::Err(ENOENT);
	return MockEntry{ (e & kPfnMask) << kIoPageShift, public_flags(e) };
}

cxx::Result<uint64_t> MockDomain::lookup(uint64_t iova) const
{
	MockEntry e = TRY(entry(iova));
	return e.paddr + iova % kMockIoPageSize;
}

uint64_t MockDomain::set_dirty(uint64_t iova, uint64_t page_size, const unsigned long *bits,
			       uint64_t nbits)
{
	constexpr uint64_t kBitsPerLong = sizeof(unsigned long) * 8;
	uint64_t count = 0;

	cxx::Guard g(lock_);
	for (uint64_t w = 0; w * kBitsPerLong < nbits; w++) {
		unsigned long word = bits[w];
		if (nbits - w * kBitsPerLong < kBitsPerLong)
			word &= (1ul << (nbits - w * kBitsPerLong)) - 1;
		while (word) {
			uint64_t i = w * kBitsPerLong + __builtin_ctzl(word);
			word &= word - 1;
			uint64_t off, cur;
			// Pages only grow with i: past 2^64 or the aperture,
			// nothing further can be mapped.
			if (__builtin_mul_overflow(i, page_size, &off) ||
			    __builtin_add_overflow(iova, off, &cur) || cur > kMockApertureLast)
				return count;
			if (cur < kMockApertureStart)
				continue;
			const uint64_t index = index_of(cur);
			uint64_t *leaf = leaves_[index / kLeafEntries];
			if (leaf && (leaf[index % kLeafEntries] & kPresent)) {
				leaf[index % kLeafEntries] |= kDirty;
				count++;
			}
		}
	}
	return count;
}

uint64_t MockDomain::mapped_pages() const
{
	cxx::Guard g(lock_);
	return nr_mapped_;
}

uint64_t MockDomain::leaf_count() const
{
	cxx::Guard g(lock_);
	return nr_leaves_;
}

// ---- MockNestedDomain ------------------------------------------------------

static_assert(MockNestedDomain::kIotlbNum == MOCK_NESTED_DOMAIN_IOTLB_NUM &&
	      MOCK_NESTED_DOMAIN_IOTLB_ID_MAX == MOCK_NESTED_DOMAIN_IOTLB_NUM - 1);

cxx::Result<cxx::UniquePtr<MockNestedDomain>> MockNestedDomain::create(uint32_t iotlb)
{
	return cxx::make_unique<MockNestedDomain>(Token(), iotlb);
}

MockNestedDomain::MockNestedDomain(Token, uint32_t iotlb)
{
	for (auto &e : iotlb_)
		e.store_relaxed(iotlb);
}

uint32_t MockNestedDomain::iotlb(unsigned int id) const
{
	if (MOCK_WARN_ON(id >= kIotlbNum, "mock nested domain: IOTLB id out of range"))
		return 0;
	return iotlb_[id].load_relaxed();
}

cxx::Status MockNestedDomain::invalidate(uint64_t uptr, uint32_t entry_len, uint32_t entry_num,
					 uint32_t *done)
{
	using Inv = iommu_hwpt_invalidate_selftest;
	// The struct's first version ended at iotlb_id, which is also all we
	// know of it.
	constexpr uint32_t kMinLen = __builtin_offsetof(Inv, iotlb_id) + sizeof(Inv::iotlb_id);
	static_assert(kMinLen == sizeof(Inv));

	*done = 0;
	for (uint32_t i = 0; i < entry_num; i++) {
		// Checked per entry, as upstream does inside its loop, so
		// entry_num == 0 succeeds whatever entry_len says.
		if (entry_len < kMinLen || entry_len > sizeof(Inv))
			return cxx::Err(EINVAL);
		uint64_t addr;
		if (__builtin_add_overflow(uptr, uint64_t(entry_len) * i, &addr))
			return cxx::Err(EFAULT);
		Inv inv;
		if (kapi_copy_from_user(&inv, addr, sizeof(inv)))
			return cxx::Err(EFAULT);
		if (inv.flags & ~uint32_t(IOMMU_TEST_INVALIDATE_FLAG_ALL))
			return cxx::Err(EOPNOTSUPP);
		if (inv.iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX)
			return cxx::Err(EINVAL);
		if (inv.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) {
			for (auto &e : iotlb_)
				e.store_relaxed(0);
		} else {
			iotlb_[inv.iotlb_id].store_relaxed(0);
		}
		(*done)++;
	}
	return {};
}

} // namespace iommufd
