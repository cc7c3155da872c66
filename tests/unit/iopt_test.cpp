// SPDX-License-Identifier: GPL-2.0
//
// iopt_test.cpp - IoPagetable: the IOVA allocation rules (alignment and its
// caps, page offset, never IOVA 0, allowed windows, reserved holes, areas,
// ENOSPC), the fixed-IOVA checks, reserved and allowed ranges with their
// errnos, and a randomized comparison of the allocator with a brute-force
// first-fit search.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "fake_kapi.h"
#include "iopt/io_pagetable.hpp"
#include "iopt/pages.hpp"

using namespace iommufd::iopt;

namespace {

constexpr uint64_t P = kPageSize;
constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;

class IoptTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		allocs_before = iommufd_cxx_live_allocs();
		iopt = new IoPagetable();
		ASSERT_TRUE(iopt->init().ok());
	}
	void TearDown() override
	{
		EXPECT_TRUE(iopt->validate());
		delete iopt; // frees whatever areas and ranges are left
		EXPECT_EQ(allocs_before, iommufd_cxx_live_allocs());
		EXPECT_EQ(0, fake_kapi::mutexes_held());
	}

	// 0 or the negative errno, so EXPECT_EQ(-EINVAL, ...) reads well.
	template <typename T> static long code(const cxx::Result<T> &r)
	{
		return r.ok() ? 0 : r.error().code();
	}

	long alloc(uint64_t uptr, uint64_t length, uint64_t *iova = nullptr)
	{
		auto r = iopt->alloc_iova(uptr, length);
		if (r.ok() && iova)
			*iova = r.value();
		return code(r);
	}
	uint64_t alloc_ok(uint64_t uptr, uint64_t length)
	{
		uint64_t iova = 0;
		EXPECT_EQ(0, alloc(uptr, length, &iova)) << uptr << " " << length;
		return iova;
	}

	// Add an area; returns 0 or the errno, and the IOVA in *iova.
	long map(uint64_t uptr, uint64_t length, uint64_t *iova, IovaMode mode)
	{
		auto area = cxx::make_unique<Area>();
		EXPECT_TRUE(area.ok());
		auto r = iopt->add_area(area.take(), iova, uptr, length, mode);
		if (r.ok())
			areas.push_back(r.value());
		return code(r);
	}
	uint64_t map_auto(uint64_t uptr, uint64_t length)
	{
		uint64_t iova = 0;
		EXPECT_EQ(0, map(uptr, length, &iova, IovaMode::Alloc));
		return iova;
	}
	long map_fixed(uint64_t iova, uint64_t length, uint64_t uptr = 0)
	{
		return map(uptr, length, &iova, IovaMode::Fixed);
	}

	long set_allowed(std::vector<std::pair<uint64_t, uint64_t>> ranges)
	{
		AllowedList list;
		for (auto &r : ranges) {
			long e = code(list.add(r.first, r.second));
			if (e)
				return e;
		}
		return code(iopt->set_allowed(list));
	}

	long reserve(uint64_t start, uint64_t last, const void *owner = nullptr)
	{
		return code(iopt->reserve(start, last, owner));
	}

	std::vector<std::pair<uint64_t, uint64_t>> ranges(uint64_t *alignment = nullptr)
	{
		std::vector<std::pair<uint64_t, uint64_t>> out;
		uint64_t a = 0;
		auto st = iopt->iova_ranges(&a, [&](uint64_t s, uint64_t l) -> cxx::Status {
			out.push_back({ s, l });
			return {};
		});
		EXPECT_TRUE(st.ok());
		if (alignment)
			*alignment = a;
		return out;
	}

	IoPagetable *iopt = nullptr;
	std::vector<Area *> areas;
	long allocs_before = 0;
};

// ---- alignment --------------------------------------------------------------

TEST_F(IoptTest, NeverIovaZero)
{
	// The first page is skipped even though nothing is there.
	EXPECT_EQ(P, alloc_ok(0, 1));
	EXPECT_EQ(P, alloc_ok(0, P));
	EXPECT_EQ(P, alloc_ok(0x7f0000000000, P));
	// Fixed mappings may use IOVA 0.
	EXPECT_EQ(0, map_fixed(0, P));
}

TEST_F(IoptTest, AlignmentFollowsLength)
{
	// Power-of-two rounding of the length, first fit above PAGE_SIZE.
	EXPECT_EQ(2 * P, alloc_ok(0, 2 * P));
	EXPECT_EQ(4 * P, alloc_ok(0, 3 * P));
	EXPECT_EQ(8 * P, alloc_ok(0, 5 * P));
	EXPECT_EQ(MiB, alloc_ok(0, MiB));
	EXPECT_EQ(MiB, alloc_ok(0, MiB - P + 1));
	for (uint64_t len = P; len <= 64 * P; len += P) {
		uint64_t iova = map_auto(0x40000000, len);
		uint64_t want = uint64_t(1) << (63 - __builtin_clzll(len)); // largest pow2 <= len
		EXPECT_EQ(0u, iova % want) << len;
	}
}

TEST_F(IoptTest, AlignmentCappedByUserAddress)
{
	// uptr only 4 KiB aligned: a 1 MiB mapping needs only 4 KiB alignment.
	EXPECT_EQ(P, alloc_ok(0x7f0000001000, MiB));
	// 64 KiB aligned uptr: 64 KiB alignment.
	EXPECT_EQ(64 * 1024u, alloc_ok(0x7f0000010000, MiB));
	// A 2 MiB aligned buffer of 2 MiB gets a 2 MiB aligned IOVA (THP).
	EXPECT_EQ(2 * MiB, alloc_ok(0x7f0000200000, 2 * MiB));
}

TEST_F(IoptTest, AlignmentCappedByHugePage)
{
	// 1 GiB from a 1 GiB aligned address: still only 2 MiB aligned.
	EXPECT_EQ(2 * MiB, alloc_ok(0x40000000, GiB));
	EXPECT_EQ(2 * MiB, alloc_ok(0, GiB));
	// The cap is a parameter.
	IoPagetable big;
	ASSERT_TRUE(big.init(GiB).ok());
	auto r = big.alloc_iova(0, GiB);
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(GiB, r.value());
}

TEST_F(IoptTest, PageOffsetPreserved)
{
	uint64_t iova = alloc_ok(0x7f0000000345, 100);
	EXPECT_EQ(0x345u, iova % P);
	EXPECT_EQ(0u, iova % 1); // alignment of 0x345 is 1
	iova = alloc_ok(0x7f0000000800, 0x800);
	EXPECT_EQ(0x800u, iova % P);
	EXPECT_EQ(P + 0x800, iova);

	// A hole that begins mid-page: upstream's ALIGN(hole) | offset would
	// break the offset; we skip to the next IOVA that keeps it.
	ASSERT_EQ(0, map_fixed(P, 0x10)); // area [0x1000, 0x100f]
	iova = alloc_ok(0x7f0000000000, 16);
	EXPECT_EQ(0u, iova % P);
	EXPECT_EQ(2 * P, iova);
	iova = alloc_ok(0x7f0000000020, 16);
	EXPECT_EQ(P + 0x20, iova); // fits after the area, same page
	for (uint64_t off = 0; off < P; off += 0x111) {
		iova = map_auto(0x7f0000000000 + off, 0x100);
		EXPECT_EQ(off, iova % P);
	}
}

TEST_F(IoptTest, AlignmentBelowIovaAlignmentIsEinval)
{
	ASSERT_TRUE(iopt->set_iova_alignment(P).ok());
	EXPECT_EQ(-EINVAL, alloc(0, P / 2)); // length gives 2 KiB
	EXPECT_EQ(-EINVAL, alloc(0x7f0000000800, 2 * P)); // uptr gives 2 KiB
	EXPECT_EQ(P, alloc_ok(0x7f0000001000, 2 * P));
}

TEST_F(IoptTest, LengthLimits)
{
	EXPECT_EQ(-EOVERFLOW, alloc(0, 0));
	EXPECT_EQ(-EOVERFLOW, alloc(0, UINT64_MAX / 2));
	EXPECT_EQ(-EOVERFLOW, alloc(0, UINT64_MAX));
	// The largest length allowed fits the empty space once, not twice.
	EXPECT_EQ(2 * MiB, map_auto(0, UINT64_MAX / 2 - 1));
	uint64_t iova;
	EXPECT_EQ(-ENOSPC, map(0, UINT64_MAX / 2 - 1, &iova, IovaMode::Alloc));
}

// ---- where it searches ----------------------------------------------------------

TEST_F(IoptTest, AvoidsReservedAndAreas)
{
	ASSERT_EQ(0, reserve(4 * P, 104 * P - 1));
	for (int i = 1; i <= 10; i++) {
		uint64_t len = P * i;
		uint64_t iova = map_auto(0x7f0000000000, len);
		EXPECT_FALSE(iova + len > 4 * P && iova < 104 * P) << i;
	}
	// No two areas overlap.
	for (Area *a : areas)
		for (Area *b : areas)
			if (a != b) {
				EXPECT_TRUE(a->last_iova() < b->iova() || b->last_iova() < a->iova());
			}
}

TEST_F(IoptTest, AllowedWindows)
{
	ASSERT_EQ(0, set_allowed({ { 200 * P, 600 * P - 1 } }));
	for (int i = 1; i <= 10; i++) {
		uint64_t len = P * i;
		uint64_t iova = map_auto(0x7f0000000000, len);
		EXPECT_GE(iova, 200 * P);
		EXPECT_LE(iova + len, 600 * P);
	}
	// Two windows: the first too small for 16 pages, the second fits.
	ASSERT_EQ(0, set_allowed({ { 8 * P, 12 * P - 1 }, { 64 * P, 128 * P - 1 } }));
	EXPECT_EQ(64 * P, alloc_ok(0, 16 * P));
	EXPECT_EQ(8 * P, alloc_ok(0, 4 * P));
	// Allowed below PAGE_SIZE only: the window excludes it.
	ASSERT_EQ(0, set_allowed({ { 0, P - 1 } }));
	EXPECT_EQ(-ENOSPC, alloc(0, 1));
	// At the very top: the last page is excluded too.
	ASSERT_EQ(0, set_allowed({ { UINT64_MAX - 2 * P + 1, UINT64_MAX } }));
	EXPECT_EQ(UINT64_MAX - 2 * P + 1, alloc_ok(0, P));
	EXPECT_EQ(-ENOSPC, alloc(0, 2 * P));
	// Clearing the list opens the whole space again.
	ASSERT_EQ(0, set_allowed({}));
	EXPECT_EQ(P, alloc_ok(0, P));
}

TEST_F(IoptTest, NoSpace)
{
	ASSERT_EQ(0, reserve(0, UINT64_MAX));
	EXPECT_EQ(-ENOSPC, alloc(0, 1));
	iopt->unreserve(nullptr);
	// A huge reservation leaving only sub-page gaps (upstream's
	// reserved_overflow case).
	ASSERT_EQ(0, reserve(P + 1, UINT64_MAX - P - 1));
	EXPECT_EQ(-ENOSPC, alloc(0, P));
	EXPECT_EQ(-ENOSPC, alloc(0x7f0000000000, 2));
	EXPECT_EQ(P, alloc_ok(0x7f0000000000, 1)); // the one byte at 0x1000
}

TEST_F(IoptTest, HoleNearTopDoesNotWrap)
{
	// The only hole is the top 225 pages (224 usable below the excluded
	// last page).  150 pages fit by size but want 1 MiB alignment, and
	// rounding the hole's start up to 1 MiB passes 2^64: that must be "no
	// fit", never a wrapped IOVA near 0.
	ASSERT_EQ(0, reserve(0, UINT64_MAX - 225 * P));
	EXPECT_EQ(-ENOSPC, alloc(0, 150 * P));
	EXPECT_EQ(-ENOSPC, alloc(0, 225 * P));
	EXPECT_EQ(UINT64_MAX - 225 * P + 1, alloc_ok(0, P));
	EXPECT_EQ(UINT64_MAX - 225 * P + 1, alloc_ok(0x7f0000001000, 224 * P));
}

// ---- fixed IOVA ----------------------------------------------------------------

TEST_F(IoptTest, FixedIovaChecks)
{
	ASSERT_EQ(0, reserve(16 * P, 20 * P - 1));
	ASSERT_EQ(0, map_fixed(32 * P, 4 * P));
	// Intersecting a reserved range: EINVAL (not EADDRINUSE).
	EXPECT_EQ(-EINVAL, map_fixed(15 * P, 2 * P));
	EXPECT_EQ(-EINVAL, map_fixed(20 * P - 1, 1));
	EXPECT_EQ(0, map_fixed(20 * P, P));
	// Overlapping an area: EEXIST, even when also reserved-adjacent.
	EXPECT_EQ(-EEXIST, map_fixed(35 * P, 2 * P));
	EXPECT_EQ(-EEXIST, map_fixed(31 * P, 2 * P));
	EXPECT_EQ(-EINVAL, map_fixed(0, 64 * P)); // reserved is checked before areas
	// Wrapping.
	EXPECT_EQ(-EOVERFLOW, map_fixed(UINT64_MAX - P + 1, 2 * P));
	EXPECT_EQ(0, map_fixed(UINT64_MAX - P + 1, P));
	// Length 0.
	EXPECT_EQ(-EINVAL, map_fixed(64 * P, 0));
	// check_iova agrees, without adding anything.
	EXPECT_EQ(-EEXIST, code(iopt->check_iova(32 * P, 1)));
	EXPECT_EQ(0, code(iopt->check_iova(40 * P, P)));
}

TEST_F(IoptTest, FixedIovaAlignment)
{
	ASSERT_TRUE(iopt->set_iova_alignment(P).ok());
	EXPECT_EQ(-EINVAL, map_fixed(P + 0x800, P));
	EXPECT_EQ(-EINVAL, map_fixed(P, P + 1)); // length misaligned
	EXPECT_EQ(-EINVAL, map_fixed(P, P, 0x7f0000000800)); // uptr offset misaligned
	EXPECT_EQ(0, map_fixed(P, P, 0x7f0000001000));
	uint64_t iova;
	EXPECT_EQ(-EINVAL, map(0x7f0000000000, P + 1, &iova, IovaMode::Alloc));
}

TEST_F(IoptTest, FixedIgnoresAllowed)
{
	// Allowed ranges steer allocation only (upstream iopt_check_iova does
	// not consult them).
	ASSERT_EQ(0, set_allowed({ { 100 * P, 200 * P - 1 } }));
	EXPECT_EQ(0, map_fixed(10 * P, P));
	EXPECT_EQ(100 * P, alloc_ok(0, P));
}

TEST_F(IoptTest, RemoveArea)
{
	uint64_t a = map_auto(0, P);
	ASSERT_EQ(1u, iopt->area_count());
	auto owned = iopt->remove_area(areas.back());
	areas.pop_back();
	EXPECT_EQ(a, owned->iova());
	EXPECT_EQ(0u, iopt->area_count());
	EXPECT_EQ(a, alloc_ok(0, P)); // free again
}

TEST_F(IoptTest, RaisingAlignmentChecksAreas)
{
	ASSERT_EQ(0, map_fixed(P, 0x800));
	EXPECT_EQ(-EADDRINUSE, code(iopt->set_iova_alignment(P)));
	EXPECT_EQ(1u, iopt->iova_alignment());
	EXPECT_EQ(0, code(iopt->set_iova_alignment(0x800)));
	EXPECT_EQ(0x800u, iopt->iova_alignment());
	EXPECT_EQ(0, code(iopt->set_iova_alignment(1))); // lowering always works
}

// ---- reserved and allowed --------------------------------------------------------

TEST_F(IoptTest, ReserveConflicts)
{
	EXPECT_EQ(-EINVAL, reserve(10, 9));
	EXPECT_EQ(0, reserve(5, 5)); // one byte is fine here
	ASSERT_EQ(0, map_fixed(16 * P, P));
	EXPECT_EQ(-EADDRINUSE, reserve(16 * P + 100, 16 * P + 100));
	EXPECT_EQ(-EADDRINUSE, reserve(0, UINT64_MAX));
	ASSERT_EQ(0, set_allowed({ { 100 * P, 600 * P } }));
	// upstream selftest area_allowed: reserving inside an allowed range.
	EXPECT_EQ(-EADDRINUSE, reserve(101 * P, 102 * P - 1));
	EXPECT_EQ(0, reserve(600 * P + 1, 700 * P));
	// Reserved ranges may overlap each other.
	EXPECT_EQ(0, reserve(650 * P, 800 * P));
	EXPECT_EQ(3u, iopt->reserved_count());
}

TEST_F(IoptTest, UnreserveByOwner)
{
	int a = 0, b = 0; // only their addresses matter
	ASSERT_EQ(0, reserve(P, 2 * P - 1, &a));
	ASSERT_EQ(0, reserve(4 * P, 5 * P - 1, &b));
	ASSERT_EQ(0, reserve(8 * P, 9 * P - 1, &a));
	ASSERT_EQ(0, reserve(8 * P, 10 * P - 1, &b));
	iopt->unreserve(&a);
	EXPECT_EQ(2u, iopt->reserved_count());
	auto r = ranges();
	ASSERT_EQ(3u, r.size());
	EXPECT_EQ(std::make_pair(uint64_t(0), 4 * P - 1), r[0]);
	EXPECT_EQ(std::make_pair(5 * P, 8 * P - 1), r[1]);
	EXPECT_EQ(std::make_pair(10 * P, UINT64_MAX), r[2]);
	iopt->unreserve(&a); // nothing left of a's
	iopt->unreserve(&b);
	EXPECT_EQ(0u, iopt->reserved_count());
}

TEST_F(IoptTest, AllowedListRules)
{
	AllowedList list;
	EXPECT_EQ(-EINVAL, code(list.add(5, 5))); // start >= last, as upstream
	EXPECT_EQ(-EINVAL, code(list.add(6, 5)));
	EXPECT_EQ(0, code(list.add(100, 199)));
	EXPECT_EQ(-EINVAL, code(list.add(199, 300)));
	EXPECT_EQ(-EINVAL, code(list.add(0, 100)));
	EXPECT_EQ(-EINVAL, code(list.add(120, 130)));
	EXPECT_EQ(-EINVAL, code(list.add(0, UINT64_MAX)));
	EXPECT_EQ(0, code(list.add(200, 300))); // adjacent is fine
	EXPECT_EQ(0, code(list.add(0, 99)));
	EXPECT_EQ(3u, list.size());
}

TEST_F(IoptTest, SetAllowedIsAllOrNothing)
{
	ASSERT_EQ(0, set_allowed({ { 100 * P, 200 * P - 1 } }));
	ASSERT_EQ(0, reserve(300 * P, 301 * P - 1));
	// upstream selftest area_allowed: an allowed range over a reserved one.
	EXPECT_EQ(-EADDRINUSE, set_allowed({ { 10 * P, 20 * P }, { 250 * P, 350 * P } }));
	EXPECT_EQ(1u, iopt->allowed_count());
	EXPECT_EQ(100 * P, alloc_ok(0, P)); // the old list still applies
	// Areas outside the new list do not stop it.
	ASSERT_EQ(0, map_fixed(2 * P, P));
	EXPECT_EQ(0, set_allowed({ { 400 * P, 500 * P } }));
	EXPECT_EQ(1u, iopt->area_count());
	// The swapped-out list is freed by its owner (checked by TearDown).
}

TEST_F(IoptTest, IovaRangesAreReservedHoles)
{
	uint64_t align = 0;
	auto r = ranges(&align);
	ASSERT_EQ(1u, r.size());
	EXPECT_EQ(std::make_pair(uint64_t(0), UINT64_MAX), r[0]);
	EXPECT_EQ(1u, align);

	// Areas and allowed ranges do not show.
	ASSERT_EQ(0, map_fixed(P, P));
	ASSERT_EQ(0, set_allowed({ { 100 * P, 200 * P } }));
	EXPECT_EQ(1u, ranges().size());

	ASSERT_EQ(0, reserve(0, P - 1));
	ASSERT_EQ(0, reserve(10 * P, 11 * P - 1));
	ASSERT_EQ(0, reserve(10 * P + 5, 12 * P - 1)); // overlapping ones merge
	ASSERT_EQ(0, reserve(UINT64_MAX, UINT64_MAX));
	r = ranges();
	ASSERT_EQ(2u, r.size());
	EXPECT_EQ(std::make_pair(P, 10 * P - 1), r[0]);
	EXPECT_EQ(std::make_pair(12 * P, UINT64_MAX - 1), r[1]);

	ASSERT_TRUE(iopt->set_iova_alignment(P).ok());
	ranges(&align);
	EXPECT_EQ(P, align);

	// A visitor's error stops the walk and is returned.
	int calls = 0;
	auto st = iopt->iova_ranges(&align, [&](uint64_t, uint64_t) -> cxx::Status {
		calls++;
		return cxx::Err(EFAULT);
	});
	EXPECT_EQ(-EFAULT, code(st));
	EXPECT_EQ(1, calls);
}

TEST_F(IoptTest, AllocationFailuresLeaveStateUnchanged)
{
	for (long nth = 0; nth < 4; nth++) {
		fake_kapi::fail_alloc_after(0);
		EXPECT_EQ(-ENOMEM, reserve(nth * 10 * P, nth * 10 * P + P - 1));
		AllowedList list;
		fake_kapi::fail_alloc_after(0);
		EXPECT_EQ(-ENOMEM, code(list.add(1000 * P, 1001 * P)));
		fake_kapi::fail_alloc_after(-1);
		EXPECT_EQ(0u, list.size());
	}
	EXPECT_EQ(0u, iopt->reserved_count());
	EXPECT_EQ(1u, ranges().size());
}

// ---- randomized: the allocator against a brute-force first fit -------------------

// A straightforward restatement of the rules over a small space: candidate
// IOVAs in increasing order, each checked against every range.
struct BruteForce {
	std::vector<std::pair<uint64_t, uint64_t>> used, allowed;
	uint64_t max_align = kHugePageSize;

	bool alloc(uint64_t uptr, uint64_t length, uint64_t limit, uint64_t *out) const
	{
		uint64_t align = 1;
		while (align < length)
			align <<= 1;
		if (uptr)
			align = std::min(align, uptr & -uptr);
		align = std::min(align, max_align);
		uint64_t step = std::max(align, P), residue = uptr % P;
		for (uint64_t x = residue; x + length - 1 <= limit; x += step) {
			uint64_t last = x + length - 1;
			if (x < P)
				continue;
			bool inside = allowed.empty();
			for (auto &a : allowed)
				inside |= a.first <= x && last <= a.second;
			if (!inside)
				continue;
			bool clash = false;
			for (auto &u : used)
				clash |= u.first <= last && u.second >= x;
			if (!clash) {
				*out = x;
				return true;
			}
		}
		return false;
	}
};

TEST_F(IoptTest, RandomAgainstBruteForce)
{
	// Everything lives below 4 MiB; "limit" bounds the brute force search,
	// and a reservation from 4 MiB up makes the real allocator agree.
	constexpr uint64_t kLimit = 4 * MiB - 1;
	std::mt19937_64 rng(2024);
	for (int round = 0; round < 25; round++) {
		delete iopt;
		areas.clear();
		iopt = new IoPagetable();
		ASSERT_TRUE(iopt->init().ok());
		BruteForce bf;
		ASSERT_EQ(0, reserve(kLimit + 1, UINT64_MAX));

		if (rng() % 2) {
			AllowedList list;
			uint64_t at = rng() % (64 * P);
			while (at < kLimit) {
				uint64_t last = std::min(kLimit, at + 1 + rng() % (512 * P));
				ASSERT_EQ(0, code(list.add(at, last)));
				bf.allowed.push_back({ at, last });
				at = last + 1 + rng() % (128 * P);
			}
			ASSERT_EQ(0, code(iopt->set_allowed(list)));
		}
		for (int i = 0; i < 8; i++) {
			uint64_t s = rng() % kLimit, l = std::min(kLimit, s + rng() % (64 * P));
			if (reserve(s, l) == 0)
				bf.used.push_back({ s, l });
		}
		for (int op = 0; op < 60; op++) {
			uint64_t length = rng() % 3 ? (1 + rng() % 64) * P : 1 + rng() % (300 * P);
			uint64_t uptr = 0x7f0000000000 + (rng() % 4 ? (rng() % 1024) * P : rng() % MiB);
			if (rng() % 8 == 0)
				uptr = 0;
			uint64_t want = 0, got = 0;
			bool fits = bf.alloc(uptr, length, kLimit, &want);
			long e = map(uptr, length, &got, IovaMode::Alloc);
			if (!fits) {
				ASSERT_EQ(-ENOSPC, e) << round << "/" << op;
				continue;
			}
			ASSERT_EQ(0, e) << round << "/" << op;
			ASSERT_EQ(want, got) << round << "/" << op << " len " << length << " uptr "
					     << uptr;
			bf.used.push_back({ got, got + length - 1 });
			// Sometimes unmap one again.
			if (rng() % 4 == 0 && !areas.empty()) {
				size_t k = rng() % areas.size();
				Area *a = areas[k];
				auto it = std::find(bf.used.begin(), bf.used.end(),
						    std::make_pair(a->iova(), a->last_iova()));
				ASSERT_NE(bf.used.end(), it);
				bf.used.erase(it);
				areas.erase(areas.begin() + k);
				iopt->remove_area(a);
			}
		}
		ASSERT_TRUE(iopt->validate());
	}
}

} // namespace

// ---- an unmap and access pins ----------------------------------------------

// An access that, told to let go, first tries to pin the area again (as a
// driver racing the unmap would), then drops its pin.
class RepinningAccess final : public AccessUser {
public:
	explicit RepinningAccess(IoPagetable &iopt) : iopt_(iopt) {}
	void unmap_notify(uint64_t iova, uint64_t length) override
	{
		notified++;
		repin_code = pin(iova, length);
		if (pinned_) {
			iopt_.access_unpin(pin_iova_, pin_len_);
			pinned_ = false;
		}
	}
	void hold() override {}
	void release() override {}
	long pin(uint64_t iova, uint64_t length)
	{
		auto st = iopt_.access_pin(iova, length, false, [](uint64_t) { return cxx::Status(); });
		if (!st.ok())
			return st.code();
		if (pinned_) // unpin the extra one right away
			iopt_.access_unpin(iova, length);
		pinned_ = true;
		pin_iova_ = iova;
		pin_len_ = length;
		return 0;
	}
	int notified = 0;
	long repin_code = 1;

private:
	IoPagetable &iopt_;
	bool pinned_ = false;
	uint64_t pin_iova_ = 0, pin_len_ = 0;
};

// While an unmap waits for the accesses, the area refuses new access pins
// (EINVAL, as upstream's prevent_access), so the unmap ends after one
// notification instead of chasing pins.
TEST_F(IoptTest, UnmapRefusesNewAccessPinsWhileWaiting)
{
	constexpr uint64_t kVa = 0x7f0000000000;
	fake_kapi::pin_reset();
	fake_kapi::map_user(kVa, 4, 0x1000);
	auto pages = Pages::create_user(kVa, 4 * P, true, AccountMode::None).take();
	uint64_t iova = 0;
	ASSERT_TRUE(iopt->map_pages(pages, 0, 4 * P, kVa, kRead | kWrite, IovaMode::Alloc, &iova).ok());
	RepinningAccess access(*iopt);
	ASSERT_TRUE(iopt->attach_access(&access).ok());
	ASSERT_EQ(0, access.pin(iova, 2 * P));

	auto r = iopt->unmap(iova, 4 * P);
	ASSERT_TRUE(r.ok()) << r.error().code();
	EXPECT_EQ(4 * P, r.value());
	EXPECT_EQ(1, access.notified);
	EXPECT_EQ(-EINVAL, access.repin_code);
	EXPECT_EQ(0u, pages->npinned());
	iopt->detach_access(&access);
}
