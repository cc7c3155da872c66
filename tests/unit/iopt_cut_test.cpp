// SPDX-License-Identifier: GPL-2.0
//
// iopt_cut_test.cpp - IoPagetable::cut (split an area in two, for VFIO type1
// v1 unmaps) and IoPagetable::unmap_range (unmap as the VFIO container
// wants it), on an io_pagetable over the fake's simulated memory with mock
// domains:
//   - where a cut does nothing (no area, an area's own ends), where it
//     splits (any byte of an unpinned area; CPU page boundaries of a pinned
//     one with large pages off), and that both halves keep their bytes of
//     the Pages (offset, user address) and their domain mappings;
//   - that a pinned area's pin is split exactly: each half can later unpin
//     what it holds (Pages::validate, per-PFN pin counts) in any order;
//   - the refusals: EINVAL (misaligned split point, an access's pins in the
//     area, large pages on under a domain), EBUSY (an area being built),
//     ENOMEM at every allocation with nothing changed;
//   - unmap_range's contract: nothing mapped is success with 0 bytes, a
//     crossing area is ENOENT with the bytes unmapped before it.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "domain/mock_domain.hpp"
#include "fake_kapi.h"
#include "iopt/io_pagetable.hpp"
#include "iopt/pages.hpp"

using namespace iommufd::iopt;
using iommufd::MockDomain;

namespace {

constexpr uint64_t P = kPageSize;
constexpr uint64_t kVa = 0x7f0000000000ull;
constexpr uint64_t kIova = iommufd::kMockApertureStart + (1ull << 20);
constexpr uint32_t kRW = kRead | kWrite;

using Spans = std::vector<std::pair<uint64_t, uint64_t>>; // (iova, length)

class IoptCut : public ::testing::Test {
protected:
	void SetUp() override
	{
		fake_kapi::pin_reset();
		allocs_before_ = iommufd_cxx_live_allocs();
		iopt_ = new IoPagetable();
		ASSERT_TRUE(iopt_->init().ok());
		pfn_ = fake_kapi::alloc_pfns(64, 512);
		fake_kapi::map_user(kVa, 64, pfn_);
	}
	void TearDown() override
	{
		fake_kapi::fail_alloc_after(-1);
		EXPECT_TRUE(iopt_->validate());
		(void)iopt_->unmap_all();
		if (dom_) {
			iopt_->remove_domain(dom_.get());
			EXPECT_EQ(0u, dom_->mapped_pages());
			dom_.reset();
		}
		pages_.clear();
		delete iopt_;
		EXPECT_EQ(0u, fake_kapi::total_pins());
		EXPECT_EQ(allocs_before_, iommufd_cxx_live_allocs());
		EXPECT_EQ(0, fake_kapi::mutexes_held());
		fake_kapi::pin_reset();
	}

	template <typename T> static long code(const cxx::Result<T> &r)
	{
		return r.ok() ? 0 : r.error().code();
	}
	static long code(const cxx::Status &s) { return s.code(); }

	// Map `n` pages of user memory from page `first` at iova.
	long map(uint64_t iova, uint64_t first, uint64_t n, uint64_t byte_offset = 0)
	{
		auto pages = Pages::create_user(kVa + first * P + byte_offset, n * P, true,
						AccountMode::None);
		EXPECT_TRUE(pages.ok());
		pages_.push_back(pages.value());
		uint64_t at = iova;
		return code(iopt_->map_pages(pages.value(), 0, n * P, kVa + first * P + byte_offset,
					     kRW, IovaMode::Fixed, &at));
	}

	void attach_domain()
	{
		auto d = MockDomain::create(0, false);
		ASSERT_TRUE(d.ok());
		dom_ = d.take();
		ASSERT_TRUE(iopt_->add_domain(dom_.get()).ok());
	}

	Spans areas()
	{
		Spans out;
		EXPECT_TRUE(iopt_->for_each_area(0, UINT64_MAX, [&](uint64_t iova, uint64_t len) {
				     out.push_back({ iova, len });
				     return cxx::Status();
			     }).ok());
		return out;
	}

	// The slice behind [iova, iova + len), which must be one area's.
	PagesSlice slice(uint64_t iova, uint64_t len)
	{
		SliceList l;
		EXPECT_TRUE(iopt_->get_slices(iova, len, l).ok());
		EXPECT_EQ(1u, l.size());
		return l.first() ? l.first()->slice : PagesSlice{};
	}

	// Does the domain translate page i of [iova...) to the i-th PFN of
	// user page `first`?
	bool maps(uint64_t iova, uint64_t first, uint64_t n)
	{
		for (uint64_t i = 0; i < n; i++) {
			auto pa = dom_->lookup(iova + i * P + 3000);
			if (!pa.ok() || pa.value() != (pfn_ + first + i) * P + 3000)
				return false;
		}
		return true;
	}
	bool unmapped(uint64_t iova) { return !dom_->lookup(iova).ok(); }

	bool pages_valid()
	{
		for (auto &p : pages_)
			if (!p->validate())
				return false;
		return true;
	}

	IoPagetable *iopt_ = nullptr;
	cxx::UniquePtr<MockDomain> dom_;
	std::vector<cxx::RefPtr<Pages>> pages_;
	uint64_t pfn_ = 0;
	long allocs_before_ = 0;
};

TEST_F(IoptCut, NothingToCut)
{
	ASSERT_EQ(0, map(kIova, 0, 4));
	// No area holds the point, or the area already ends or starts there.
	EXPECT_EQ(0, code(iopt_->cut(kIova - 1)));
	EXPECT_EQ(0, code(iopt_->cut(kIova + 4 * P)));
	EXPECT_EQ(0, code(iopt_->cut(0)));
	EXPECT_EQ(0, code(iopt_->cut(UINT64_MAX)));
	EXPECT_EQ(0, code(iopt_->cut(kIova + 4 * P - 1)));
	EXPECT_EQ(0, code(iopt_->cut(kIova)));
	EXPECT_EQ((Spans{ { kIova, 4 * P } }), areas());
}

// Without a domain nothing is pinned, and with large pages on the IOAS
// alignment is one byte: any byte is a split point, and each half keeps
// its bytes of the Pages and its user address.
TEST_F(IoptCut, UnpinnedSplitsAtAnyByte)
{
	ASSERT_EQ(1u, iopt_->iova_alignment());
	ASSERT_EQ(0, map(kIova + 100, 0, 4, 100));
	ASSERT_EQ(0, code(iopt_->cut(kIova + 100 + 999)));
	EXPECT_EQ((Spans{ { kIova + 100, 1000 }, { kIova + 1100, 4 * P - 1000 } }), areas());
	PagesSlice l = slice(kIova + 100, 1000), r = slice(kIova + 1100, 4 * P - 1000);
	EXPECT_EQ(pages_[0].get(), l.pages.get());
	EXPECT_EQ(pages_[0].get(), r.pages.get());
	EXPECT_EQ(0u, l.offset);
	EXPECT_EQ(1000u, r.offset);
	EXPECT_EQ(kVa + 100, l.addr);
	EXPECT_EQ(kVa + 1100, r.addr);
	// And again inside the right half.
	ASSERT_EQ(0, code(iopt_->cut(kIova + 2 * P)));
	EXPECT_EQ(3u, areas().size());
	EXPECT_EQ(0u, fake_kapi::total_pins());
	auto u = iopt_->unmap(kIova + 1100, 2 * P - 1100 + 1);
	ASSERT_TRUE(u.ok());
	EXPECT_EQ(2 * P - 1100 + 1, u.value());
	EXPECT_EQ(2u, areas().size());
}

TEST_F(IoptCut, PinnedNeedsLargePagesOff)
{
	attach_domain();
	ASSERT_EQ(0, map(kIova, 0, 8));
	EXPECT_EQ(-EINVAL, code(iopt_->cut(kIova + 4 * P - 1)));
	EXPECT_EQ(1u, areas().size());
	EXPECT_EQ(8u, fake_kapi::total_pins());
	// The domain holds mappings, so large pages cannot go off now.
	EXPECT_EQ(-EINVAL, code(iopt_->set_large_pages(false)));
	// Without the domain the area is unpinned and splits.
	iopt_->remove_domain(dom_.get());
	EXPECT_EQ(0u, fake_kapi::total_pins());
	EXPECT_EQ(0, code(iopt_->cut(kIova + 4 * P - 1)));
	EXPECT_EQ(2u, areas().size());
	EXPECT_EQ(0, code(iopt_->add_domain(dom_.get())));
	EXPECT_TRUE(maps(kIova, 0, 8));
}

// With large pages off, a pinned area splits at a CPU page boundary: the
// halves share the Pages, every page stays pinned once, the domain keeps
// every mapping, and each half unpins exactly its own pages.
TEST_F(IoptCut, PinnedSplitMovesThePinsExactly)
{
	ASSERT_EQ(0, code(iopt_->set_large_pages(false)));
	attach_domain();
	ASSERT_EQ(P, iopt_->iova_alignment());
	ASSERT_EQ(0, map(kIova, 0, 8));
	Pages &pages = *pages_[0];
	EXPECT_EQ(8u, pages.npinned());

	ASSERT_EQ(0, code(iopt_->cut(kIova + 3 * P - 1)));
	EXPECT_EQ((Spans{ { kIova, 3 * P }, { kIova + 3 * P, 5 * P } }), areas());
	EXPECT_TRUE(pages.validate());
	EXPECT_EQ(8u, pages.npinned());
	EXPECT_EQ(8u, fake_kapi::total_pins());
	for (uint64_t i = 0; i < 8; i++)
		EXPECT_EQ(1u, fake_kapi::pfn_pins(pfn_ + i)) << i;
	EXPECT_TRUE(maps(kIova, 0, 8));
	EXPECT_EQ(3 * P, slice(kIova + 3 * P, 5 * P).offset);

	// The left half goes: its pages are unpinned, the right's are not.
	auto u = iopt_->unmap(kIova, 3 * P);
	ASSERT_TRUE(u.ok());
	EXPECT_EQ(3 * P, u.value());
	EXPECT_TRUE(pages.validate());
	EXPECT_EQ(5u, pages.npinned());
	for (uint64_t i = 0; i < 8; i++)
		EXPECT_EQ(i < 3 ? 0u : 1u, fake_kapi::pfn_pins(pfn_ + i)) << i;
	EXPECT_TRUE(unmapped(kIova));
	EXPECT_TRUE(unmapped(kIova + 3 * P - 1));
	EXPECT_TRUE(maps(kIova + 3 * P, 3, 5));

	// Split the right half at both ends of a middle page and take it.
	ASSERT_EQ(0, code(iopt_->cut(kIova + 5 * P - 1)));
	ASSERT_EQ(0, code(iopt_->cut(kIova + 6 * P - 1)));
	EXPECT_EQ(3u, areas().size());
	auto u2 = iopt_->unmap(kIova + 5 * P, P);
	ASSERT_TRUE(u2.ok());
	EXPECT_EQ(0u, fake_kapi::pfn_pins(pfn_ + 5));
	EXPECT_EQ(1u, fake_kapi::pfn_pins(pfn_ + 4));
	EXPECT_EQ(1u, fake_kapi::pfn_pins(pfn_ + 6));
	EXPECT_TRUE(pages.validate());
	EXPECT_EQ(4u, pages.npinned());
	EXPECT_EQ(4u * 2, dom_->mapped_pages()); // 2 KiB IO pages
}

// An area cut into single pages, unmapped in a random order: the pins
// follow page by page and the Pages stays consistent at every step.
TEST_F(IoptCut, CutIntoPagesAndUnmapInAnyOrder)
{
	ASSERT_EQ(0, code(iopt_->set_large_pages(false)));
	attach_domain();
	constexpr uint64_t n = 32;
	ASSERT_EQ(0, map(kIova, 0, n));
	std::vector<uint64_t> order(n);
	for (uint64_t i = 0; i < n; i++)
		order[i] = i;
	std::mt19937 rng(12345);
	std::shuffle(order.begin(), order.end(), rng);
	// Cut in a shuffled order too.
	for (uint64_t i : order)
		ASSERT_EQ(0, code(iopt_->cut(kIova + (i + 1) * P - 1))) << i;
	EXPECT_EQ(n, areas().size());
	EXPECT_EQ(n, fake_kapi::total_pins());
	ASSERT_TRUE(pages_valid());
	std::shuffle(order.begin(), order.end(), rng);
	uint64_t left = n;
	for (uint64_t i : order) {
		auto u = iopt_->unmap(kIova + i * P, P);
		ASSERT_TRUE(u.ok()) << i;
		EXPECT_EQ(P, u.value());
		EXPECT_EQ(0u, fake_kapi::pfn_pins(pfn_ + i));
		EXPECT_EQ(--left, fake_kapi::total_pins());
		EXPECT_TRUE(unmapped(kIova + i * P));
		ASSERT_TRUE(pages_valid()) << i;
	}
	EXPECT_EQ(0u, dom_->mapped_pages());
}

TEST_F(IoptCut, MisalignedSplitIsEinval)
{
	ASSERT_EQ(0, code(iopt_->set_large_pages(false)));
	ASSERT_EQ(0, map(kIova, 0, 4));
	// Large pages off: the split point must be a CPU page boundary,
	// pinned or not.
	EXPECT_EQ(-EINVAL, code(iopt_->cut(kIova + 2048 - 1)));
	EXPECT_EQ(-EINVAL, code(iopt_->cut(kIova + P)));
	attach_domain();
	EXPECT_EQ(-EINVAL, code(iopt_->cut(kIova + P + 1)));
	EXPECT_EQ(1u, areas().size());
	EXPECT_EQ(0, code(iopt_->cut(kIova + P - 1)));
	EXPECT_EQ(2u, areas().size());
}

// An in-kernel access with pages pinned in the area: its pins are tracked
// per area, so the area may not split (upstream's rule); other areas may.
class PinningAccess final : public AccessUser {
public:
	explicit PinningAccess(IoPagetable &iopt) : iopt_(iopt) { iova_alignment = 1; }
	void unmap_notify(uint64_t iova, uint64_t length) override
	{
		if (len_ && iova <= iova_ + len_ - 1 && iova_ <= iova + length - 1)
			unpin();
	}
	void hold() override {}
	void release() override {}
	long pin(uint64_t iova, uint64_t len)
	{
		long r = iopt_.access_pin(iova, len, true, [](uint64_t) { return cxx::Status(); })
				 .code();
		if (!r) {
			iova_ = iova;
			len_ = len;
		}
		return r;
	}
	void unpin()
	{
		if (len_)
			iopt_.access_unpin(iova_, len_);
		len_ = 0;
	}

private:
	IoPagetable &iopt_;
	uint64_t iova_ = 0, len_ = 0;
};

TEST_F(IoptCut, AccessPinsBlockTheSplit)
{
	ASSERT_EQ(0, code(iopt_->set_large_pages(false)));
	attach_domain();
	ASSERT_EQ(0, map(kIova, 0, 8));
	ASSERT_EQ(0, map(kIova + 8 * P, 8, 8));
	PinningAccess access(*iopt_);
	ASSERT_EQ(0, code(iopt_->attach_access(&access)));
	ASSERT_EQ(0, access.pin(kIova + P, P));
	// Anywhere in the pinned area, even away from the access's pages.
	EXPECT_EQ(-EINVAL, code(iopt_->cut(kIova + 6 * P - 1)));
	EXPECT_EQ(-EINVAL, code(iopt_->cut(kIova + 2 * P - 1)));
	EXPECT_EQ(2u, areas().size());
	// The other area splits.
	EXPECT_EQ(0, code(iopt_->cut(kIova + 12 * P - 1)));
	EXPECT_EQ(3u, areas().size());
	access.unpin();
	EXPECT_EQ(0, code(iopt_->cut(kIova + 6 * P - 1)));
	EXPECT_EQ(4u, areas().size());
	// An access pin across a split point uses both halves (the pages
	// stay pinned once in the kernel), and lets go of both.
	ASSERT_EQ(0, access.pin(kIova + 5 * P, 2 * P));
	EXPECT_TRUE(pages_valid());
	EXPECT_EQ(-EINVAL, code(iopt_->cut(kIova + 4 * P - 1)));
	EXPECT_EQ(-EINVAL, code(iopt_->cut(kIova + 7 * P - 1)));
	EXPECT_EQ(1u, fake_kapi::pfn_pins(pfn_ + 5));
	EXPECT_EQ(1u, fake_kapi::pfn_pins(pfn_ + 6));
	access.unpin();
	EXPECT_TRUE(pages_valid());
	EXPECT_EQ(0, code(iopt_->cut(kIova + 4 * P - 1)));
	EXPECT_EQ(16u, fake_kapi::total_pins());
	iopt_->detach_access(&access);
}

TEST_F(IoptCut, AreaBeingBuiltIsEbusy)
{
	auto area = cxx::make_unique<Area>();
	ASSERT_TRUE(area.ok());
	uint64_t iova = kIova;
	auto a = iopt_->add_area(area.take(), &iova, kVa, 4 * P, IovaMode::Fixed);
	ASSERT_TRUE(a.ok());
	EXPECT_EQ(-EBUSY, code(iopt_->cut(kIova + 2 * P - 1)));
	// Its ends are not split points at all.
	EXPECT_EQ(0, code(iopt_->cut(kIova + 4 * P - 1)));
	iopt_->remove_area(a.value()); // the UniquePtr returned frees it
}

// ENOMEM at each allocation a cut makes (the new area, the pin nodes and
// spans of both halves): the area, the pins and the domain are unchanged.
TEST_F(IoptCut, AllocationFailureChangesNothing)
{
	ASSERT_EQ(0, code(iopt_->set_large_pages(false)));
	attach_domain();
	ASSERT_EQ(0, map(kIova, 0, 16));
	int injected = 0;
	for (long nth = 0;; nth++) {
		ASSERT_LT(nth, 100);
		const long allocs = iommufd_cxx_live_allocs();
		fake_kapi::fail_alloc_after(nth);
		long r = code(iopt_->cut(kIova + 5 * P - 1));
		bool hit = fake_kapi::injected();
		fake_kapi::fail_alloc_after(-1);
		if (!hit) {
			ASSERT_EQ(0, r);
			break;
		}
		injected++;
		ASSERT_EQ(-ENOMEM, r) << nth;
		EXPECT_EQ(1u, areas().size()) << nth;
		EXPECT_EQ(16u, fake_kapi::total_pins()) << nth;
		EXPECT_EQ(16u, pages_[0]->npinned()) << nth;
		EXPECT_TRUE(pages_valid()) << nth;
		EXPECT_TRUE(maps(kIova, 0, 16)) << nth;
		EXPECT_EQ(allocs, iommufd_cxx_live_allocs()) << nth;
	}
	EXPECT_GE(injected, 2);
	EXPECT_EQ(2u, areas().size());
	EXPECT_TRUE(pages_valid());
	auto u = iopt_->unmap(kIova + 5 * P, 11 * P);
	ASSERT_TRUE(u.ok());
	EXPECT_EQ(5u, fake_kapi::total_pins());
}

TEST_F(IoptCut, UnmapRange)
{
	uint64_t out = 99;
	EXPECT_EQ(-EINVAL, code(iopt_->unmap_range(kIova, 0, &out)));
	EXPECT_EQ(0u, out);
	out = 99;
	EXPECT_EQ(-EOVERFLOW, code(iopt_->unmap_range(UINT64_MAX - P + 1, 2 * P, &out)));
	EXPECT_EQ(0u, out);
	// Nothing mapped: success with 0 bytes (IOAS_UNMAP says ENOENT).
	out = 99;
	EXPECT_EQ(0, code(iopt_->unmap_range(kIova, 4 * P, &out)));
	EXPECT_EQ(0u, out);
	EXPECT_EQ(-ENOENT, code(iopt_->unmap(kIova, 4 * P)));

	ASSERT_EQ(0, map(kIova, 0, 4));
	ASSERT_EQ(0, map(kIova + 4 * P, 4, 4));
	ASSERT_EQ(0, map(kIova + 8 * P, 8, 4));
	// Crossing the start: ENOENT before anything goes.
	out = 99;
	EXPECT_EQ(-ENOENT, code(iopt_->unmap_range(kIova + P, 4 * P, &out)));
	EXPECT_EQ(0u, out);
	// Crossing the end: the whole areas before it go.
	EXPECT_EQ(-ENOENT, code(iopt_->unmap_range(kIova, 10 * P, &out)));
	EXPECT_EQ(8 * P, out);
	EXPECT_EQ(1u, areas().size());
	EXPECT_EQ(0, code(iopt_->unmap_range(0, UINT64_MAX, &out)));
	EXPECT_EQ(4 * P, out);
	EXPECT_EQ(0u, iopt_->unmap_all());
}

} // namespace
