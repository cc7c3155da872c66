// SPDX-License-Identifier: GPL-2.0
//
// mock_domain_test.cpp - the mock IOMMU of the test ABI: map/unmap/lookup
// with and without 1 MiB pages (the page-size choice at every alignment,
// checked against a model of the greedy rule, and the START/LAST/HUGE
// marks), lazy leaves and their freeing, all-or-nothing map under every
// allocation failure, the contract WARNs (as deaths on the host), dirty
// set/read/clear/no_clear including whole huge pages and upstream's
// test_mock_dirty_bitmaps sequence, concurrency of the test ops with
// map/unmap, and the nested domain's IOMMU_HWPT_INVALIDATE walk.
#include <gtest/gtest.h>
#include <string.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "fake_kapi.h"
#include "domain/dirty_bitmap.hpp"
#include "domain/mock_domain.hpp"
#include "uapi/iommufd_test.h"

using namespace iommufd;

namespace {

constexpr uint64_t K2 = kMockIoPageSize;
constexpr uint64_t M1 = kMockHugePageSize;
constexpr uint64_t A = kMockApertureStart;
constexpr uint64_t kBitsPerLong = sizeof(unsigned long) * 8;

template <typename T> long code(const cxx::Result<T> &r) { return r.ok() ? 0 : r.error().code(); }

uint64_t uptr(const void *p) { return reinterpret_cast<uint64_t>(p); }

bool test_bit(const void *bitmap, uint64_t i)
{
	return static_cast<const uint8_t *>(bitmap)[i / 8] & (1u << (i % 8));
}

void set_bit(unsigned long *bitmap, uint64_t i) { bitmap[i / kBitsPerLong] |= 1ul << (i % kBitsPerLong); }

class MockDomainTest : public ::testing::Test {
protected:
	void SetUp() override { allocs_before = iommufd_cxx_live_allocs(); }
	void TearDown() override
	{
		fake_kapi::fail_alloc_after(-1);
		fake_kapi::clear_fault_ranges();
		EXPECT_EQ(0, fake_kapi::mutexes_held());
		EXPECT_EQ(allocs_before, iommufd_cxx_live_allocs());
	}

	static cxx::UniquePtr<MockDomain> make(uint32_t dev_flags = 0, bool dirty = false)
	{
		auto d = MockDomain::create(dev_flags, dirty);
		EXPECT_TRUE(d.ok());
		return d.take();
	}

	static MockEntry entry_ok(MockDomain &d, uint64_t iova)
	{
		auto e = d.entry(iova);
		EXPECT_TRUE(e.ok()) << std::hex << iova;
		return e.ok() ? e.value() : MockEntry{ ~0ull, ~0u };
	}

	// The page sizes the greedy rule must pick: one flag per 2 KiB page,
	// true where the page belongs to a 1 MiB page.
	static std::vector<bool> model_huge(bool huge, uint64_t iova, uint64_t paddr, uint64_t length)
	{
		uint64_t n = length / K2;
		std::vector<bool> out(n, false);
		for (uint64_t i = 0; i < n;) {
			if (huge && (iova + i * K2) % M1 == 0 && (paddr + i * K2) % M1 == 0 &&
			    n - i >= 512) {
				for (uint64_t j = 0; j < 512; j++)
					out[i + j] = true;
				i += 512;
			} else {
				i++;
			}
		}
		return out;
	}

	// Every page of a fresh map() holds the right address and marks.
	static void check_mapping(MockDomain &d, bool huge, uint64_t iova, uint64_t paddr,
				  uint64_t length)
	{
		auto model = model_huge(huge, iova, paddr, length);
		uint64_t n = length / K2;
		for (uint64_t i = 0; i < n; i++) {
			MockEntry e = entry_ok(d, iova + i * K2);
			ASSERT_EQ(paddr + i * K2, e.paddr) << i;
			uint32_t want = (i == 0 ? kMockEntryStart : 0) |
					(i == n - 1 ? kMockEntryLast : 0) |
					(model[i] ? kMockEntryHuge : 0);
			ASSERT_EQ(want, e.flags) << "page " << i << " of " << n;
		}
	}

	long allocs_before = 0;
};

// ---- creation --------------------------------------------------------------

TEST_F(MockDomainTest, Geometry)
{
	auto d = make();
	EXPECT_EQ(2048u, d->pgsize_bitmap());
	EXPECT_EQ(2048u, d->min_page_size());
	EXPECT_EQ(uint64_t(MOCK_APERTURE_START), d->aperture_start());
	EXPECT_EQ(uint64_t(MOCK_APERTURE_LAST), d->aperture_last());
	EXPECT_FALSE(d->dirty_tracking_supported());
	EXPECT_EQ(0u, d->leaf_count());

	auto h = make(MOCK_FLAGS_DEVICE_HUGE_IOVA | MOCK_FLAGS_DEVICE_PASID, true);
	EXPECT_EQ(2048u | (1u << 20), h->pgsize_bitmap());
	EXPECT_EQ(2048u, h->min_page_size());
	EXPECT_TRUE(h->dirty_tracking_supported());
	EXPECT_FALSE(h->dirty_tracking_enabled());

	// NO_DIRTY alone changes nothing here: refusing dirty is the caller's.
	auto n = make(MOCK_FLAGS_DEVICE_NO_DIRTY);
	EXPECT_EQ(2048u, n->pgsize_bitmap());
}

TEST_F(MockDomainTest, CreateFailsCleanlyOnEveryAllocation)
{
	for (long nth = 0;; nth++) {
		fake_kapi::fail_alloc_after(nth);
		auto d = MockDomain::create(MOCK_FLAGS_DEVICE_HUGE_IOVA, true);
		if (d.ok()) {
			EXPECT_FALSE(fake_kapi::injected());
			EXPECT_EQ(4, nth); // mutex, two arrays, the object
			break;
		}
		EXPECT_EQ(-ENOMEM, d.error().code());
		EXPECT_EQ(allocs_before, iommufd_cxx_live_allocs());
	}
	fake_kapi::fail_alloc_after(-1);
}

// ---- map, lookup, unmap ------------------------------------------------------

TEST_F(MockDomainTest, MapLookupUnmapSmall)
{
	auto d = make();
	const uint64_t iova = A + 10 * K2, paddr = 0x1234000;
	ASSERT_TRUE(d->map(iova, paddr, 3 * K2, kProtRead | kProtWrite).ok());
	EXPECT_EQ(3u, d->mapped_pages());
	EXPECT_EQ(1u, d->leaf_count());
	check_mapping(*d, false, iova, paddr, 3 * K2);

	// lookup translates, offset included.
	EXPECT_EQ(paddr, d->lookup(iova).value());
	EXPECT_EQ(paddr + K2 + 5, d->lookup(iova + K2 + 5).value());
	EXPECT_EQ(paddr + 3 * K2 - 1, d->lookup(iova + 3 * K2 - 1).value());
	// Unmapped pages, and anything outside the aperture, are ENOENT.
	EXPECT_EQ(-ENOENT, code(d->lookup(iova - 1)));
	EXPECT_EQ(-ENOENT, code(d->lookup(iova + 3 * K2)));
	EXPECT_EQ(-ENOENT, code(d->lookup(0)));
	EXPECT_EQ(-ENOENT, code(d->lookup(A - K2)));
	EXPECT_EQ(-ENOENT, code(d->lookup(kMockApertureLast + 1)));
	EXPECT_EQ(-ENOENT, code(d->lookup(~0ull)));
	EXPECT_EQ(-ENOENT, code(d->entry(A)));

	d->unmap(iova, 3 * K2);
	EXPECT_EQ(0u, d->mapped_pages());
	EXPECT_EQ(0u, d->leaf_count());
	EXPECT_EQ(-ENOENT, code(d->lookup(iova)));
}

TEST_F(MockDomainTest, SinglePageIsStartAndLast)
{
	auto d = make();
	ASSERT_TRUE(d->map(A, 0, K2, kProtRead).ok()); // frame 0 is a valid frame
	MockEntry e = entry_ok(*d, A);
	EXPECT_EQ(0u, e.paddr);
	EXPECT_EQ(uint32_t(kMockEntryStart | kMockEntryLast), e.flags);
	EXPECT_EQ(0u, d->lookup(A).value());
	d->unmap(A, K2);
}

TEST_F(MockDomainTest, WholeApertureEdges)
{
	auto d = make(MOCK_FLAGS_DEVICE_HUGE_IOVA);
	// First and last page of the aperture.
	ASSERT_TRUE(d->map(A, 0x8000, K2, kProtRead).ok());
	ASSERT_TRUE(d->map(kMockApertureLast + 1 - K2, 0x10000, K2, kProtRead).ok());
	EXPECT_EQ(0x8000u, d->lookup(A).value());
	EXPECT_EQ(0x10000u, d->lookup(kMockApertureLast).value() - (K2 - 1));
	EXPECT_EQ(2u, d->leaf_count());
	d->unmap(A, K2);
	d->unmap(kMockApertureLast + 1 - K2, K2);
	EXPECT_EQ(0u, d->leaf_count());
}

// The page size chosen at each step, for every combination of IOVA and
// physical alignment around a 1 MiB boundary and lengths around one or two
// huge pages, with and without the huge size.
TEST_F(MockDomainTest, PageSizeChoiceAtEveryAlignment)
{
	const uint64_t offsets[] = { 0, K2, 2 * K2, M1 - K2, M1 / 2 };
	const uint64_t lengths[] = { K2, M1 - K2, M1, M1 + K2, 2 * M1, 2 * M1 + 3 * K2, 3 * M1 - K2 };
	for (bool huge : { false, true }) {
		auto d = make(huge ? MOCK_FLAGS_DEVICE_HUGE_IOVA : 0);
		for (uint64_t io : offsets) {
			for (uint64_t po : offsets) {
				for (uint64_t len : lengths) {
					SCOPED_TRACE(testing::Message()
						     << "huge " << huge << " iova+" << io << " paddr+"
						     << po << " len " << len);
					const uint64_t iova = A + 4 * M1 + io, paddr = (1ull << 32) + po;
					ASSERT_TRUE(d->map(iova, paddr, len, kProtRead).ok());
					ASSERT_EQ(len / K2, d->mapped_pages());
					check_mapping(*d, huge, iova, paddr, len);
					d->unmap(iova, len);
					ASSERT_EQ(0u, d->mapped_pages());
					ASSERT_EQ(0u, d->leaf_count());
				}
			}
		}
	}
}

// Neighbouring map() calls keep their own START/LAST marks and can be
// unmapped together (a union of whole calls) or one by one.
TEST_F(MockDomainTest, AdjacentMapsAndUnionUnmap)
{
	for (bool huge : { false, true }) {
		auto d = make(huge ? MOCK_FLAGS_DEVICE_HUGE_IOVA : 0);
		const uint64_t base = A + 3 * M1;
		ASSERT_TRUE(d->map(base, 0x100000, M1, kProtRead).ok());
		ASSERT_TRUE(d->map(base + M1, 0x300000, 4 * K2, kProtRead).ok());
		ASSERT_TRUE(d->map(base + M1 + 4 * K2, 0x500000, 2 * M1, kProtRead).ok());
		EXPECT_EQ(uint32_t(kMockEntryLast | (huge ? kMockEntryHuge : 0)),
			  entry_ok(*d, base + M1 - K2).flags);
		EXPECT_EQ(uint32_t(kMockEntryStart), entry_ok(*d, base + M1).flags);
		EXPECT_EQ(uint32_t(kMockEntryLast), entry_ok(*d, base + M1 + 3 * K2).flags);
		EXPECT_EQ(uint32_t(kMockEntryStart), entry_ok(*d, base + M1 + 4 * K2).flags);
		EXPECT_EQ(0x500000u, d->lookup(base + M1 + 4 * K2).value());

		d->unmap(base + M1, 4 * K2);
		EXPECT_EQ(-ENOENT, code(d->lookup(base + M1)));
		EXPECT_EQ(0x100000u + M1 - K2, d->lookup(base + M1 - K2).value());
		ASSERT_TRUE(d->map(base + M1, 0x700000, 4 * K2, kProtRead).ok());
		d->unmap(base, 3 * M1 + 4 * K2);
		EXPECT_EQ(0u, d->mapped_pages());
		EXPECT_EQ(0u, d->leaf_count());
	}
}

// With the huge size, upstream's START/LAST check is off: an unmap may
// begin and end inside a run of small pages.
TEST_F(MockDomainTest, HugeDomainAllowsPartialSmallPageUnmap)
{
	auto d = make(MOCK_FLAGS_DEVICE_HUGE_IOVA);
	ASSERT_TRUE(d->map(A, 0x1000 + K2, 8 * K2, kProtRead).ok());
	d->unmap(A + 2 * K2, 4 * K2);
	EXPECT_EQ(4u, d->mapped_pages());
	d->unmap(A, 2 * K2);
	d->unmap(A + 6 * K2, 2 * K2);
	EXPECT_EQ(0u, d->leaf_count());
}

TEST_F(MockDomainTest, LeavesAreLazyAndFreedWhenEmpty)
{
	auto d = make();
	// Two pages either side of a leaf boundary: two leaves.
	ASSERT_TRUE(d->map(A + M1 - K2, 0, 2 * K2, kProtRead).ok());
	EXPECT_EQ(2u, d->leaf_count());
	ASSERT_TRUE(d->map(A + M1 + K2, 0x40000, K2, kProtRead).ok());
	EXPECT_EQ(2u, d->leaf_count());
	// Unmapping the first map leaves the second leaf, which still holds
	// the other one.
	d->unmap(A + M1 - K2, 2 * K2);
	EXPECT_EQ(1u, d->leaf_count());
	d->unmap(A + M1 + K2, K2);
	EXPECT_EQ(0u, d->leaf_count());
}

// The benchmark's shape: 1 GiB in one call, with and without huge pages.
TEST_F(MockDomainTest, MapOneGiB)
{
	const uint64_t G = 1ull << 30;
	for (bool huge : { false, true }) {
		auto d = make(huge ? MOCK_FLAGS_DEVICE_HUGE_IOVA : 0);
		ASSERT_TRUE(d->map(A, 1ull << 34, G, kProtRead | kProtWrite).ok());
		EXPECT_EQ(G / K2, d->mapped_pages());
		EXPECT_EQ(G / M1, d->leaf_count());
		EXPECT_EQ((1ull << 34) + G - K2, d->lookup(A + G - K2).value());
		EXPECT_EQ(uint32_t(kMockEntryLast | (huge ? kMockEntryHuge : 0)),
			  entry_ok(*d, A + G - K2).flags);
		d->unmap(A, G);
		EXPECT_EQ(0u, d->mapped_pages());
		EXPECT_EQ(0u, d->leaf_count());
	}
}

// ---- all-or-nothing map ----------------------------------------------------------

// A map over leaves that exist and leaves that do not fails at every
// allocation in turn (and at the fail_iommufd_cxx site) and leaves the
// table exactly as it was.
TEST_F(MockDomainTest, MapRollsBackOnEveryAllocationFailure)
{
	for (bool huge : { false, true }) {
		auto d = make(huge ? MOCK_FLAGS_DEVICE_HUGE_IOVA : 0);
		// An existing mapping in the first leaf of the range, just below it.
		ASSERT_TRUE(d->map(A + M1, 0x900000, K2, kProtRead).ok());
		const long allocs = iommufd_cxx_live_allocs();
		const uint64_t iova = A + M1 + 8 * K2, len = 4 * M1; // 5 leaves, 1 exists
		long failures = 0;
		for (long nth = 0;; nth++) {
			fake_kapi::fail_alloc_after(nth);
			auto st = d->map(iova, 0x10000000 + 8 * K2, len, kProtRead);
			if (st.ok()) {
				EXPECT_FALSE(fake_kapi::injected());
				break;
			}
			failures++;
			EXPECT_EQ(-ENOMEM, st.code());
			EXPECT_TRUE(fake_kapi::injected());
			EXPECT_EQ(1u, d->mapped_pages());
			EXPECT_EQ(1u, d->leaf_count());
			EXPECT_EQ(allocs, iommufd_cxx_live_allocs());
			EXPECT_EQ(-ENOENT, code(d->lookup(iova)));
			EXPECT_EQ(0x900000u, d->lookup(A + M1).value());
		}
		fake_kapi::fail_alloc_after(-1);
		EXPECT_EQ(5, failures); // the injection site, then one per missing leaf
		EXPECT_EQ(1 + len / K2, d->mapped_pages());
		d->unmap(iova, len);
		d->unmap(A + M1, K2);
		EXPECT_EQ(0u, d->leaf_count());
	}
}

// ---- contract violations: WARN (an abort on the host) ------------------------------

using MockDomainDeathTest = MockDomainTest;

TEST_F(MockDomainDeathTest, DoubleMapWarns)
{
	auto d = make();
	ASSERT_TRUE(d->map(A + 4 * K2, 0, 4 * K2, kProtRead).ok());
	EXPECT_DEATH((void)d->map(A, 0, 5 * K2, kProtRead), "already mapped");
	d->unmap(A + 4 * K2, 4 * K2);
}

TEST_F(MockDomainDeathTest, BadMapRangesWarn)
{
	auto d = make();
	EXPECT_DEATH((void)d->map(A + 1, 0, K2, kProtRead), "unaligned");
	EXPECT_DEATH((void)d->map(A, 0, K2 + 1, kProtRead), "unaligned");
	EXPECT_DEATH((void)d->map(A, 0, 0, kProtRead), "unaligned");
	EXPECT_DEATH((void)d->map(A, 1024, K2, kProtRead), "physical");
	EXPECT_DEATH((void)d->map(A, ~0ull - K2 + 1, 2 * K2, kProtRead), "physical");
	EXPECT_DEATH((void)d->map(A - K2, 0, 2 * K2, kProtRead), "aperture");
	EXPECT_DEATH((void)d->map(kMockApertureLast + 1 - K2, 0, 2 * K2, kProtRead), "aperture");
	EXPECT_DEATH((void)d->map(~0ull - K2 + 1, 0, 2 * K2, kProtRead), "aperture");
}

TEST_F(MockDomainDeathTest, UnmapMustCoverWholeMaps)
{
	auto d = make();
	ASSERT_TRUE(d->map(A, 0, 4 * K2, kProtRead).ok());
	EXPECT_DEATH(d->unmap(A + K2, 3 * K2), "begin where a map began");
	EXPECT_DEATH(d->unmap(A, 3 * K2), "end where a map ended");
	EXPECT_DEATH(d->unmap(A + 1, K2), "unaligned");
	EXPECT_DEATH(d->unmap(A - K2, K2), "aperture");
	d->unmap(A, 4 * K2);
}

TEST_F(MockDomainDeathTest, UnmapSplittingHugePageWarns)
{
	auto d = make(MOCK_FLAGS_DEVICE_HUGE_IOVA);
	ASSERT_TRUE(d->map(A, 0, 2 * M1, kProtRead).ok());
	EXPECT_DEATH(d->unmap(A + K2, M1), "splits a huge page");
	EXPECT_DEATH(d->unmap(A, M1 - K2), "splits a huge page");
	d->unmap(A, 2 * M1);
}

TEST_F(MockDomainDeathTest, FreeWhileMappedWarns)
{
	EXPECT_DEATH(
		{
			auto d = make();
			(void)d->map(A, 0, K2, kProtRead);
			d.reset();
		},
		"still mapped");
}

TEST_F(MockDomainDeathTest, NestedIotlbIdOutOfRangeWarns)
{
	auto n = MockNestedDomain::create(1);
	ASSERT_TRUE(n.ok());
	EXPECT_DEATH((void)n.value()->iotlb(MOCK_NESTED_DOMAIN_IOTLB_NUM), "out of range");
}

// ---- dirty tracking --------------------------------------------------------------

class MockDirtyTest : public MockDomainTest {
protected:
	// Mark pages through the test op with a kernel bitmap of nbits.
	static uint64_t set_dirty(MockDomain &d, uint64_t iova, uint64_t page_size,
				  const std::vector<uint64_t> &which, uint64_t nbits)
	{
		std::vector<unsigned long> bits((nbits + kBitsPerLong - 1) / kBitsPerLong + 1, 0);
		for (uint64_t i : which)
			set_bit(bits.data(), i);
		return d.set_dirty(iova, page_size, bits.data(), nbits);
	}
	// GET_DIRTY_BITMAP into `buf` (zeroed first), bit per page_size.
	static long read(MockDomain &d, uint64_t iova, uint64_t length, uint64_t page_size,
			 uint8_t *buf, bool no_clear)
	{
		uint64_t nbits = length / page_size;
		memset(buf, 0, (nbits + 7) / 8);
		auto bm = DirtyBitmap::create(iova, length, page_size, uptr(buf));
		EXPECT_TRUE(bm.ok());
		auto st = d.read_and_clear_dirty(iova, length, no_clear, *bm.value());
		if (!st.ok())
			return st.code();
		return bm.value()->flush().code();
	}
	static std::vector<uint64_t> set_bits(const uint8_t *buf, uint64_t nbits)
	{
		std::vector<uint64_t> v;
		for (uint64_t i = 0; i < nbits; i++)
			if (test_bit(buf, i))
				v.push_back(i);
		return v;
	}
};

TEST_F(MockDirtyTest, WithoutDirtyOps)
{
	auto d = make(0, false);
	EXPECT_EQ(-EOPNOTSUPP, d->set_dirty_tracking(true).code());
	EXPECT_EQ(-EOPNOTSUPP, d->set_dirty_tracking(false).code());
	EXPECT_EQ(-EOPNOTSUPP, d->clear_dirty(A, K2).code());
	uint8_t buf[8];
	EXPECT_EQ(-EOPNOTSUPP, read(*d, A, 8 * K2, K2, buf, false));
	EXPECT_FALSE(d->dirty_tracking_enabled());
}

TEST_F(MockDirtyTest, TrackingOnOff)
{
	auto d = make(0, true);
	uint8_t buf[8];
	EXPECT_EQ(-EINVAL, read(*d, A, 8 * K2, K2, buf, false)); // off
	ASSERT_TRUE(d->set_dirty_tracking(true).ok());
	ASSERT_TRUE(d->set_dirty_tracking(true).ok()); // no change is fine
	EXPECT_TRUE(d->dirty_tracking_enabled());
	EXPECT_EQ(0, read(*d, A, 8 * K2, K2, buf, false));
	ASSERT_TRUE(d->set_dirty_tracking(false).ok());
	EXPECT_FALSE(d->dirty_tracking_enabled());
	EXPECT_EQ(-EINVAL, read(*d, A, 8 * K2, K2, buf, false));
}

TEST_F(MockDirtyTest, SetReadClearNoClear)
{
	auto d = make(0, true);
	ASSERT_TRUE(d->set_dirty_tracking(true).ok());
	ASSERT_TRUE(d->map(A, 0x200000, 64 * K2, kProtRead | kProtWrite).ok());
	// Only mapped pages count; bits past the range (page 70) hit nothing.
	ASSERT_TRUE(d->map(A + 80 * K2, 0x800000, 2 * K2, kProtRead).ok());
	EXPECT_EQ(4u, set_dirty(*d, A, K2, { 0, 3, 63, 70, 81 }, 100));
	EXPECT_EQ(uint32_t(kMockEntryStart | kMockEntryDirty), entry_ok(*d, A).flags);
	EXPECT_EQ(uint32_t(kMockEntryDirty), entry_ok(*d, A + 3 * K2).flags);
	EXPECT_EQ(uint32_t(0), entry_ok(*d, A + 4 * K2).flags);
	EXPECT_EQ(uint32_t(kMockEntryLast | kMockEntryDirty), entry_ok(*d, A + 81 * K2).flags);

	uint8_t buf[16];
	ASSERT_EQ(0, read(*d, A, 96 * K2, K2, buf, true));
	EXPECT_EQ((std::vector<uint64_t>{ 0, 3, 63, 81 }), set_bits(buf, 96));
	// no_clear: still there.
	ASSERT_EQ(0, read(*d, A, 96 * K2, K2, buf, false));
	EXPECT_EQ((std::vector<uint64_t>{ 0, 3, 63, 81 }), set_bits(buf, 96));
	// Cleared by the read before.
	ASSERT_EQ(0, read(*d, A, 96 * K2, K2, buf, false));
	EXPECT_TRUE(set_bits(buf, 96).empty());
	EXPECT_EQ(uint32_t(kMockEntryStart), entry_ok(*d, A).flags);

	// A sub-range reads and clears only its pages.
	EXPECT_EQ(3u, set_dirty(*d, A, K2, { 1, 2, 40 }, 64));
	ASSERT_EQ(0, read(*d, A + 2 * K2, 8 * K2, K2, buf, false));
	EXPECT_EQ((std::vector<uint64_t>{ 0 }), set_bits(buf, 8)); // page 2
	ASSERT_EQ(0, read(*d, A, 64 * K2, K2, buf, false));
	EXPECT_EQ((std::vector<uint64_t>{ 1, 40 }), set_bits(buf, 64));

	// A bitmap page larger than the IO page: a dirty 2 KiB page marks
	// the 8 KiB bit it falls in.
	EXPECT_EQ(2u, set_dirty(*d, A, K2, { 5, 6 }, 64));
	ASSERT_EQ(0, read(*d, A, 64 * K2, 4 * K2, buf, false));
	EXPECT_EQ((std::vector<uint64_t>{ 1 }), set_bits(buf, 16));

	d->unmap(A, 64 * K2);
	d->unmap(A + 80 * K2, 2 * K2);
}

TEST_F(MockDirtyTest, SetDirtyEdges)
{
	auto d = make(0, true);
	ASSERT_TRUE(d->map(A, 0, 128 * K2, kProtRead).ok());
	// Bits beyond nbits in the last word are ignored.
	std::vector<unsigned long> bits(2, ~0ul);
	EXPECT_EQ(70u, d->set_dirty(A, K2, bits.data(), 70));
	// Pages below the aperture, and past it or past 2^64, are not mapped.
	EXPECT_EQ(2u, d->set_dirty(A - 2 * K2, K2, bits.data(), 4));
	EXPECT_EQ(0u, d->set_dirty(kMockApertureLast + 1 - K2, K2, bits.data(), 128));
	EXPECT_EQ(0u, d->set_dirty(~0ull - 4 * K2, K2, bits.data(), 128));
	EXPECT_EQ(1u, d->set_dirty(A, ~0ull / 2, bits.data(), 128)); // page 0 only
	// A larger page_size strides over the table.
	EXPECT_EQ(16u, d->set_dirty(A, 8 * K2, bits.data(), 64));
	d->unmap(A, 128 * K2);
}

TEST_F(MockDirtyTest, HugePagesAreReportedAndClearedWhole)
{
	auto d = make(MOCK_FLAGS_DEVICE_HUGE_IOVA, true);
	ASSERT_TRUE(d->set_dirty_tracking(true).ok());
	ASSERT_TRUE(d->map(A, 1ull << 30, 4 * M1, kProtRead | kProtWrite).ok());
	// One small page dirty in huge pages 1 and 3.
	EXPECT_EQ(2u, set_dirty(*d, A, K2, { 512 + 7, 3 * 512 + 511 }, 2048));
	std::vector<uint8_t> buf(2048 / 8);
	ASSERT_EQ(0, read(*d, A, 4 * M1, K2, buf.data(), true));
	std::vector<uint64_t> want;
	for (uint64_t i = 512; i < 1024; i++)
		want.push_back(i);
	for (uint64_t i = 3 * 512; i < 4 * 512; i++)
		want.push_back(i);
	EXPECT_EQ(want, set_bits(buf.data(), 2048));
	// A range starting inside a huge page still reads it whole (the part
	// inside the bitmap's range).
	ASSERT_EQ(0, read(*d, A + M1 + 100 * K2, 2 * M1, K2, buf.data(), true));
	want.clear();
	for (uint64_t i = 0; i < 512 - 100; i++)
		want.push_back(i); // huge page 1 from page 612
	for (uint64_t i = 3 * 512 - 612; i < 1024; i++)
		want.push_back(i); // huge page 3 up to page 1635
	EXPECT_EQ(want, set_bits(buf.data(), 1024));
	// Clearing a huge page clears all of its entries.
	ASSERT_EQ(0, read(*d, A + 3 * M1 + 4 * K2, 2 * K2, K2, buf.data(), false));
	EXPECT_EQ((std::vector<uint64_t>{ 0, 1 }), set_bits(buf.data(), 2));
	EXPECT_EQ(uint32_t(kMockEntryHuge | kMockEntryLast), entry_ok(*d, A + 4 * M1 - K2).flags);
	ASSERT_EQ(0, read(*d, A, 4 * M1, M1, buf.data(), false));
	EXPECT_EQ((std::vector<uint64_t>{ 1 }), set_bits(buf.data(), 4));
	ASSERT_EQ(0, read(*d, A, 4 * M1, M1, buf.data(), false));
	EXPECT_TRUE(set_bits(buf.data(), 4).empty());
	d->unmap(A, 4 * M1);
}

// Enabling tracking first forgets what was dirty before: clear_dirty works
// while tracking is off and reports nothing.
TEST_F(MockDirtyTest, ClearDirtyWhileOff)
{
	auto d = make(MOCK_FLAGS_DEVICE_HUGE_IOVA, true);
	ASSERT_TRUE(d->map(A, 0, M1 + 4 * K2, kProtRead).ok());
	EXPECT_EQ(3u, set_dirty(*d, A, K2, { 0, 512, 515 }, 516));
	ASSERT_TRUE(d->clear_dirty(A + M1, K2).ok()); // only page 512
	EXPECT_EQ(uint32_t(kMockEntryHuge | kMockEntryStart | kMockEntryDirty),
		  entry_ok(*d, A).flags);
	EXPECT_EQ(uint32_t(kMockEntryDirty | kMockEntryLast), entry_ok(*d, A + 515 * K2).flags);
	ASSERT_TRUE(d->clear_dirty(A, M1 + 4 * K2).ok());
	ASSERT_TRUE(d->set_dirty_tracking(true).ok());
	std::vector<uint8_t> buf(80);
	ASSERT_EQ(0, read(*d, A, M1 + 4 * K2, K2, buf.data(), false));
	EXPECT_TRUE(set_bits(buf.data(), 516).empty());
	ASSERT_TRUE(d->clear_dirty(A, 0).ok());
	ASSERT_TRUE(d->clear_dirty(kMockApertureLast + 1, M1).ok()); // nothing there
	d->unmap(A, M1 + 4 * K2);
}

// tools/testing/selftests/iommu's test_mock_dirty_bitmaps against the
// domain and the writer: every other PTE (2 KiB or 1 MiB) dirtied through
// its first page, read back at three bitmap alignments, with and without
// NO_CLEAR, for the fixture's buffer sizes.
TEST_F(MockDirtyTest, UpstreamDirtyBitmapSequence)
{
	struct Variant {
		uint64_t size;
		bool huge;
	} variants[] = {
		{ 8 << 10, false },  { 16 << 10, false }, { 64 << 10, false },
		{ 128 << 10, false }, { 320 << 10, false }, { 64 << 20, false },
		{ 64 << 20, true },  { 128 << 20, false }, { 128 << 20, true },
	};
	for (const Variant &v : variants) {
		for (bool no_clear : { false, true }) {
			SCOPED_TRACE(testing::Message() << v.size << " huge " << v.huge << " no_clear "
							<< no_clear);
			auto d = make(v.huge ? MOCK_FLAGS_DEVICE_HUGE_IOVA : 0, true);
			ASSERT_TRUE(d->map(A, 1ull << 32, v.size, kProtRead | kProtWrite).ok());
			ASSERT_TRUE(d->set_dirty_tracking(true).ok());

			const uint64_t page = K2, pte = v.huge ? M1 : K2, nbits = v.size / page;
			const uint64_t npte = pte / page, pteset = 2 * npte;
			const uint64_t nr = nbits / pteset ? nbits / pteset : 1;
			const uint64_t bytes = (nbits + 7) / 8;
			std::vector<uint8_t> mem(bytes + 4096 + 16);
			for (uint64_t off : { uint64_t(0), K2, uint64_t(0xff1) }) {
				uint8_t *bitmap = mem.data() + off;
				std::vector<unsigned long> kbits((nbits + kBitsPerLong - 1) / kBitsPerLong);
				for (uint64_t i = 0; i < nbits; i += pteset)
					set_bit(kbits.data(), i);
				ASSERT_EQ(nr, d->set_dirty(A, page, kbits.data(), nbits));

				ASSERT_EQ(0, read(*d, A, v.size, page, bitmap, no_clear));
				for (uint64_t i = 0; i < nbits; i += pteset)
					for (uint64_t j = 0; j < pteset && i + j < nbits; j++)
						ASSERT_EQ(j < npte, test_bit(bitmap, i + j)) << i + j;

				ASSERT_EQ(0, read(*d, A, v.size, page, bitmap, no_clear));
				for (uint64_t i = 0; i < nbits; i += pteset)
					for (uint64_t j = 0; j < pteset && i + j < nbits; j++)
						ASSERT_EQ(j < npte && no_clear, test_bit(bitmap, i + j));
				// Leave it clean for the next alignment.
				ASSERT_TRUE(d->clear_dirty(A, v.size).ok());
			}
			d->unmap(A, v.size);
		}
	}
}

TEST_F(MockDirtyTest, ReadFaultIsEfault)
{
	auto d = make(0, true);
	ASSERT_TRUE(d->set_dirty_tracking(true).ok());
	ASSERT_TRUE(d->map(A, 0, 16 * K2, kProtRead).ok());
	EXPECT_EQ(1u, set_dirty(*d, A, K2, { 9 }, 16));
	uint8_t buf[2];
	fake_kapi::add_fault_range(uptr(buf), sizeof(buf));
	auto bm = DirtyBitmap::create(A, 16 * K2, K2, uptr(buf));
	ASSERT_TRUE(bm.ok());
	EXPECT_EQ(-EFAULT, d->read_and_clear_dirty(A, 16 * K2, false, *bm.value()).code());
	EXPECT_EQ(-EFAULT, bm.value()->flush().code());
	fake_kapi::clear_fault_ranges();
	d->unmap(A, 16 * K2);
}

// The test ops (lookup, set_dirty, dirty reads) may run while another
// thread maps and unmaps the same domain.
TEST_F(MockDirtyTest, TestOpsRaceMapUnmap)
{
	auto d = make(MOCK_FLAGS_DEVICE_HUGE_IOVA, true);
	ASSERT_TRUE(d->set_dirty_tracking(true).ok());
	std::atomic<bool> stop{ false };
	std::thread mapper([&] {
		for (int i = 0; i < 300; i++) {
			uint64_t len = (i % 3 == 0) ? 2 * M1 : 64 * K2;
			EXPECT_TRUE(d->map(A + M1, 1ull << 30, len, kProtRead).ok());
			d->unmap(A + M1, len);
		}
		stop = true;
	});
	std::vector<unsigned long> bits(64, ~0ul);
	std::vector<uint8_t> buf(4096);
	while (!stop) {
		auto r = d->lookup(A + M1 + K2);
		if (r.ok()) {
			EXPECT_EQ((1ull << 30) + K2, r.value());
		}
		(void)d->set_dirty(A + M1, K2, bits.data(), 64 * kBitsPerLong);
		EXPECT_EQ(0, read(*d, A, 4 * M1, K2, buf.data(), false));
	}
	mapper.join();
	EXPECT_EQ(0u, d->mapped_pages());
}

// ---- nested domain -----------------------------------------------------------------

class MockNestedTest : public MockDomainTest {
protected:
	void SetUp() override
	{
		MockDomainTest::SetUp();
		auto n = MockNestedDomain::create(IOMMU_TEST_IOTLB_DEFAULT);
		ASSERT_TRUE(n.ok());
		nested = n.take();
	}
	void TearDown() override
	{
		nested.reset();
		MockDomainTest::TearDown();
	}
	long inv(const void *reqs, uint32_t len, uint32_t num, uint32_t *done)
	{
		return nested->invalidate(uptr(reqs), len, num, done).code();
	}
	void expect_iotlb(uint32_t a, uint32_t b, uint32_t c, uint32_t e)
	{
		EXPECT_EQ(a, nested->iotlb(0));
		EXPECT_EQ(b, nested->iotlb(1));
		EXPECT_EQ(c, nested->iotlb(2));
		EXPECT_EQ(e, nested->iotlb(3));
	}
	cxx::UniquePtr<MockNestedDomain> nested;
};

TEST_F(MockNestedTest, IotlbStartsAsGiven)
{
	const uint32_t d = IOMMU_TEST_IOTLB_DEFAULT;
	expect_iotlb(d, d, d, d);
}

// The sequence of tools/testing/selftests/iommu's hwpt nested test.
TEST_F(MockNestedTest, UpstreamInvalidateSequence)
{
	const uint32_t d = IOMMU_TEST_IOTLB_DEFAULT;
	iommu_hwpt_invalidate_selftest reqs[2] = {};
	uint32_t done = 99;

	// No entries: success whatever entry_len says.
	EXPECT_EQ(0, inv(reqs, sizeof(reqs[0]), 0, &done));
	EXPECT_EQ(0u, done);
	EXPECT_EQ(0, inv(reqs, 0, 0, &done));
	// entry_len larger than the struct, or shorter.
	EXPECT_EQ(-EINVAL, inv(reqs, sizeof(reqs[0]) + 1, 1, &done));
	EXPECT_EQ(0u, done);
	EXPECT_EQ(-EINVAL, inv(reqs, 1, 1, &done));
	EXPECT_EQ(-EINVAL, inv(reqs, 7, 1, &done));
	EXPECT_EQ(-EINVAL, inv(reqs, 0, 1, &done));
	// Unknown flags.
	reqs[0].flags = 0xffffffff;
	EXPECT_EQ(-EOPNOTSUPP, inv(reqs, sizeof(reqs[0]), 1, &done));
	EXPECT_EQ(0u, done);
	// iotlb_id too large.
	reqs[0].flags = 0;
	reqs[0].iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
	EXPECT_EQ(-EINVAL, inv(reqs, sizeof(reqs[0]), 1, &done));
	EXPECT_EQ(0u, done);
	expect_iotlb(d, d, d, d);

	// The second entry fails: the first is applied and counted.
	reqs[0].iotlb_id = 0;
	reqs[1].flags = 0xffffffff;
	reqs[1].iotlb_id = 1;
	EXPECT_EQ(-EOPNOTSUPP, inv(reqs, sizeof(reqs[0]), 2, &done));
	EXPECT_EQ(1u, done);
	expect_iotlb(0, d, d, d);
	reqs[1].flags = 0;
	reqs[1].iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
	EXPECT_EQ(-EINVAL, inv(reqs, sizeof(reqs[0]), 2, &done));
	EXPECT_EQ(1u, done);

	// One, then two valid entries.
	reqs[0].iotlb_id = 1;
	EXPECT_EQ(0, inv(reqs, sizeof(reqs[0]), 1, &done));
	EXPECT_EQ(1u, done);
	expect_iotlb(0, 0, d, d);
	reqs[0].iotlb_id = 2;
	reqs[1].iotlb_id = 3;
	EXPECT_EQ(0, inv(reqs, sizeof(reqs[0]), 2, &done));
	EXPECT_EQ(2u, done);
	expect_iotlb(0, 0, 0, 0);
}

TEST_F(MockNestedTest, InvalidateAllIgnoresId)
{
	iommu_hwpt_invalidate_selftest req = { IOMMU_TEST_INVALIDATE_FLAG_ALL, 0xffffffff };
	uint32_t done = 0;
	// FLAG_ALL does not make a bad id acceptable: upstream checks the id
	// first.
	EXPECT_EQ(-EINVAL, inv(&req, sizeof(req), 1, &done));
	req.iotlb_id = 3;
	EXPECT_EQ(0, inv(&req, sizeof(req), 1, &done));
	EXPECT_EQ(1u, done);
	expect_iotlb(0, 0, 0, 0);
}

TEST_F(MockNestedTest, FaultsAndProgress)
{
	const uint32_t d = IOMMU_TEST_IOTLB_DEFAULT;
	iommu_hwpt_invalidate_selftest reqs[3] = { { 0, 0 }, { 0, 1 }, { 0, 2 } };
	uint32_t done = 99;
	// The third entry's bytes fault: two applied.
	fake_kapi::add_fault_range(uptr(&reqs[2]), sizeof(reqs[2]));
	EXPECT_EQ(-EFAULT, inv(reqs, sizeof(reqs[0]), 3, &done));
	EXPECT_EQ(2u, done);
	expect_iotlb(0, 0, d, d);
	fake_kapi::clear_fault_ranges();
	// A null array faults on the first entry.
	EXPECT_EQ(-EFAULT, nested->invalidate(0, sizeof(reqs[0]), 1, &done).code());
	EXPECT_EQ(0u, done);
}

} // namespace
