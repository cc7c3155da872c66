// SPDX-License-Identifier: GPL-2.0
//
// pages_test.cpp - iopt::Pages over the fake kernel's simulated user memory
// and memfds: nested pins pin each page once, runs coalesce, every counter
// (pins, dirty bits, locked_vm, pinned_vm) returns to where it started,
// tiny batches, short and failing GUP, RLIMIT_MEMLOCK, a vanished mm,
// allocation failure at every point, for_each_run clipping, rw, memfd folio
// pins (including a hole punched while pinned), CHANGE_PROCESS, and a
// randomized comparison with a per-page reference model.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "fake_kapi.h"
#include "iopt/page.hpp"
#include "iopt/pages.hpp"

using namespace iommufd::iopt;
using cxx::RefPtr;

namespace {

constexpr uint64_t P = kPageSize;
constexpr uint64_t kVa = 0x7f0000000000ull; // simulated user memory lives here

template <typename T> long code(const cxx::Result<T> &r) { return r.ok() ? 0 : r.error().code(); }

struct PfnRun {
	uint64_t index, pfn, count;
	bool operator==(const PfnRun &o) const
	{
		return index == o.index && pfn == o.pfn && count == o.count;
	}
};

class PagesTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		fake_kapi::pin_reset();
		set_pin_batch_bytes(65536);
		allocs_before = iommufd_cxx_live_allocs();
	}
	void TearDown() override
	{
		EXPECT_EQ(0u, fake_kapi::total_pins());
		EXPECT_EQ(allocs_before, iommufd_cxx_live_allocs());
		EXPECT_EQ(0, fake_kapi::mutexes_held());
		EXPECT_EQ(0, fake_kapi::owners_alive());
		EXPECT_EQ(0, fake_kapi::memfd_refs());
		EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
		EXPECT_EQ(0u, fake_kapi::mm_locked_vm(0));
		EXPECT_EQ(0u, fake_kapi::mm_pinned_vm(0));
		fake_kapi::fail_alloc_after(-1);
		fake_kapi::clear_fault_ranges();
		set_pin_batch_bytes(65536);
		fake_kapi::pin_reset();
	}

	// Map npages at va onto one contiguous PFN range; returns its first PFN.
	static uint64_t map_contig(uint64_t va, uint64_t npages)
	{
		uint64_t pfn = fake_kapi::alloc_pfns(npages);
		fake_kapi::map_user(va, npages, pfn);
		return pfn;
	}
	// Map npages at va, each on its own PFN (no two contiguous).
	static std::vector<uint64_t> map_scattered(uint64_t va, uint64_t npages)
	{
		std::vector<uint64_t> pfns;
		for (uint64_t i = 0; i < npages; i++)
			pfns.push_back(map_contig(va + i * P, 1));
		return pfns;
	}

	static RefPtr<Pages> user(uint64_t uptr, uint64_t length, bool writable = true,
				  AccountMode mode = AccountMode::User)
	{
		auto r = Pages::create_user(uptr, length, writable, mode);
		EXPECT_TRUE(r.ok());
		return r.ok() ? r.take() : RefPtr<Pages>();
	}

	static std::vector<PfnRun> runs(Pages &p, uint64_t first, uint64_t last)
	{
		std::vector<PfnRun> v;
		auto st = p.for_each_run(first, last, [&](uint64_t i, uint64_t pfn, uint64_t n) {
			v.push_back({ i, pfn, n });
			return cxx::Status();
		});
		EXPECT_TRUE(st.ok());
		return v;
	}

	long allocs_before = 0;
};

// ---- creation --------------------------------------------------------------

TEST_F(PagesTest, CreateGeometryAndErrors)
{
	auto p = user(kVa + 100, 2 * P);
	EXPECT_EQ(3u, p->npages());
	EXPECT_EQ(100u, p->first_offset());
	EXPECT_EQ(2 * P, p->length());
	EXPECT_TRUE(p->writable());
	EXPECT_FALSE(p->is_file());
	EXPECT_EQ(AccountMode::User, p->account_mode());
	EXPECT_EQ(0u, p->npinned());

	EXPECT_EQ(1u, user(kVa + P - 1, 1)->npages());
	EXPECT_EQ(2u, user(kVa + P - 1, 2)->npages());

	EXPECT_EQ(-EINVAL, code(Pages::create_user(kVa, 0, true, AccountMode::User)));
	EXPECT_EQ(-EINVAL, code(Pages::create_user(0, SIZE_MAX - P + 1, true, AccountMode::User)));
	EXPECT_EQ(-EOVERFLOW, code(Pages::create_user(~0ull - P, 2 * P, true, AccountMode::User)));
	// The largest length accepted still has an exact page count.
	auto big = Pages::create_user(0, SIZE_MAX - P, false, AccountMode::User);
	ASSERT_TRUE(big.ok());
	EXPECT_EQ((SIZE_MAX - P) / P + 1, big.value()->npages());
}

TEST_F(PagesTest, CapIpcLockMeansNoAccounting)
{
	fake_kapi::set_cap_ipc_lock(true);
	map_contig(kVa, 4);
	auto p = user(kVa, 4 * P, true, AccountMode::Mm);
	EXPECT_EQ(AccountMode::None, p->account_mode());
	ASSERT_TRUE(p->pin(0, 3).ok());
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(0u, fake_kapi::mm_locked_vm(0));
	EXPECT_EQ(4u, fake_kapi::mm_pinned_vm(0)); // VmPin counts anyway
	p->unpin(0, 3);
}

TEST_F(PagesTest, CreateAllocationFailures)
{
	for (long nth = 0;; nth++) {
		fake_kapi::fail_alloc_after(nth);
		auto r = Pages::create_user(kVa, P, true, AccountMode::User);
		bool injected = fake_kapi::injected();
		fake_kapi::fail_alloc_after(-1);
		if (!injected) {
			EXPECT_TRUE(r.ok());
			break;
		}
		EXPECT_EQ(-ENOMEM, code(r)) << nth;
	}
	EXPECT_EQ(0, fake_kapi::owners_alive());
}

// ---- pinning ---------------------------------------------------------------

TEST_F(PagesTest, OverlappingPinsPinEachPageOnce)
{
	uint64_t pfn = map_contig(kVa, 20);
	auto p = user(kVa, 20 * P);
	ASSERT_TRUE(p->pin(0, 9).ok());
	EXPECT_EQ(10u, p->npinned());
	ASSERT_TRUE(p->pin(5, 14).ok());
	ASSERT_TRUE(p->pin(5, 14).ok()); // the same range twice nests too
	ASSERT_TRUE(p->pin(0, 19).ok());
	EXPECT_TRUE(p->validate());
	EXPECT_EQ(20u, p->npinned());
	for (uint64_t i = 0; i < 20; i++)
		EXPECT_EQ(1u, fake_kapi::pfn_pins(pfn + i)) << i;
	EXPECT_EQ(20u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(20u, fake_kapi::mm_pinned_vm(0));

	p->unpin(0, 19);
	EXPECT_EQ(15u, p->npinned());
	EXPECT_EQ(0u, fake_kapi::pfn_pins(pfn + 15));
	p->unpin(0, 9);
	EXPECT_EQ(10u, p->npinned());
	EXPECT_EQ(0u, fake_kapi::pfn_pins(pfn + 4));
	EXPECT_EQ(1u, fake_kapi::pfn_pins(pfn + 5));
	p->unpin(5, 14);
	EXPECT_EQ(10u, p->npinned());
	EXPECT_TRUE(p->validate());
	p->unpin(5, 14);
	EXPECT_EQ(0u, p->npinned());
	EXPECT_EQ(0u, fake_kapi::total_pins());
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(0u, fake_kapi::mm_pinned_vm(0));
	EXPECT_EQ(0u, p->nspans());
}

TEST_F(PagesTest, BadIndexes)
{
	map_contig(kVa, 4);
	auto p = user(kVa, 4 * P);
	EXPECT_EQ(-EINVAL, p->pin(2, 1).code());
	EXPECT_EQ(-EINVAL, p->pin(0, 4).code());
	EXPECT_EQ(0u, p->npinned());
}

TEST_F(PagesTest, OneGiBContiguousIsOneRun)
{
	const uint64_t n = (1ull << 30) / P;
	uint64_t pfn = map_contig(kVa, n);
	auto p = user(kVa, n * P);
	ASSERT_TRUE(p->pin(0, n - 1).ok());
	EXPECT_EQ(1u, p->nspans());
	EXPECT_EQ(1u, p->nruns());
	EXPECT_EQ((std::vector<PfnRun>{ { 0, pfn, n } }), runs(*p, 0, n - 1));
	EXPECT_EQ(long(n / KAPI_PIN_BATCH_MAX), fake_kapi::pin_calls_fast());
	EXPECT_EQ(unsigned(KAPI_PIN_BATCH_MAX), fake_kapi::max_pin_batch());

	// A pin inside splits the view without copying runs; runs still
	// come out maximal, and the split heals when it goes.
	ASSERT_TRUE(p->pin(1000, 2000).ok());
	EXPECT_EQ(3u, p->nspans());
	EXPECT_EQ((std::vector<PfnRun>{ { 0, pfn, n } }), runs(*p, 0, n - 1));
	p->unpin(1000, 2000);
	EXPECT_EQ(1u, p->nspans());
	EXPECT_TRUE(p->validate());
	p->unpin(0, n - 1);
}

TEST_F(PagesTest, HugePageSizedChunksMakeOneRunEach)
{
	const uint64_t chunk = 512, nchunks = 64;
	std::vector<PfnRun> want;
	for (uint64_t c = 0; c < nchunks; c++)
		want.push_back({ c * chunk, map_contig(kVa + c * chunk * P, chunk), chunk });
	auto p = user(kVa, nchunks * chunk * P);
	ASSERT_TRUE(p->pin(0, nchunks * chunk - 1).ok());
	EXPECT_EQ(nchunks, p->nruns());
	EXPECT_EQ(want, runs(*p, 0, nchunks * chunk - 1));
	p->unpin(0, nchunks * chunk - 1);
}

TEST_F(PagesTest, ScatteredPagesFillSeveralBlocks)
{
	const uint64_t n = 5000; // more runs than one block holds
	auto pfns = map_scattered(kVa, n);
	auto p = user(kVa, n * P);
	ASSERT_TRUE(p->pin(0, n - 1).ok());
	EXPECT_EQ(n, p->nruns());
	EXPECT_EQ(3u, p->nspans());
	auto v = runs(*p, 0, n - 1);
	ASSERT_EQ(n, v.size());
	for (uint64_t i = 0; i < n; i++)
		EXPECT_EQ((PfnRun{ i, pfns[i], 1 }), v[i]);
	EXPECT_TRUE(p->validate());
	p->unpin(0, n - 1);
}

TEST_F(PagesTest, RunsCoalesceAcrossSpans)
{
	// Contiguous memory pinned in two separate pins: two blocks, but the
	// visitor sees one run.
	uint64_t pfn = map_contig(kVa, 100);
	auto p = user(kVa, 100 * P);
	ASSERT_TRUE(p->pin(0, 49).ok());
	ASSERT_TRUE(p->pin(50, 99).ok());
	EXPECT_EQ(2u, p->nspans());
	EXPECT_EQ((std::vector<PfnRun>{ { 0, pfn, 100 } }), runs(*p, 0, 99));
	p->unpin(0, 49);
	p->unpin(50, 99);
}

TEST_F(PagesTest, TinyBatches)
{
	uint64_t pfn = map_contig(kVa, 64);
	set_pin_batch_bytes(12); // one entry
	auto p = user(kVa, 64 * P);
	ASSERT_TRUE(p->pin(0, 63).ok());
	EXPECT_EQ(1u, fake_kapi::max_pin_batch());
	EXPECT_EQ(64, fake_kapi::pin_calls_fast());
	EXPECT_EQ((std::vector<PfnRun>{ { 0, pfn, 64 } }), runs(*p, 0, 63));
	p->unpin(0, 63);

	set_pin_batch_bytes(0); // nonsense still gets one entry
	ASSERT_TRUE(p->pin(0, 63).ok());
	p->unpin(0, 63);
	set_pin_batch_bytes(~size_t(0)); // and at most KAPI_PIN_BATCH_MAX
	ASSERT_TRUE(p->pin(0, 63).ok());
	EXPECT_EQ(64u, fake_kapi::max_pin_batch()); // never more than needed
	p->unpin(0, 63);
}

TEST_F(PagesTest, ShortPinsContinue)
{
	auto pfns = map_scattered(kVa, 40);
	fake_kapi::set_pin_short(3);
	auto p = user(kVa, 40 * P);
	ASSERT_TRUE(p->pin(0, 39).ok());
	EXPECT_EQ(14, fake_kapi::pin_calls_fast());
	auto v = runs(*p, 0, 39);
	ASSERT_EQ(40u, v.size());
	EXPECT_EQ(pfns[39], v[39].pfn);
	p->unpin(0, 39);
}

TEST_F(PagesTest, FaultMidRangeChangesNothing)
{
	uint64_t pfn = map_contig(kVa, 64);
	auto p = user(kVa, 64 * P);
	ASSERT_TRUE(p->pin(0, 3).ok());
	ASSERT_TRUE(p->pin(10, 12).ok());
	fake_kapi::add_fault_range(kVa + 40 * P, P);
	set_pin_batch_bytes(8 * 8); // the fault comes a few batches in
	EXPECT_EQ(-EFAULT, p->pin(0, 63).code());
	EXPECT_TRUE(p->validate());
	EXPECT_EQ(7u, p->npinned());
	EXPECT_EQ(7u, fake_kapi::total_pins());
	EXPECT_EQ(7u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(7u, fake_kapi::mm_pinned_vm(0));
	EXPECT_EQ(2u, p->nspans());
	EXPECT_EQ(0u, fake_kapi::pfn_pins(pfn + 39));
	fake_kapi::clear_fault_ranges();
	p->unpin(0, 3);
	p->unpin(10, 12);
}

TEST_F(PagesTest, RlimitMemlock)
{
	map_contig(kVa, 32);
	fake_kapi::set_rlimit_memlock(0, 10 * P);
	auto p = user(kVa, 32 * P);
	ASSERT_TRUE(p->pin(0, 9).ok());
	EXPECT_EQ(-ENOMEM, p->pin(5, 10).code());
	EXPECT_EQ(10u, fake_kapi::total_pins());
	EXPECT_EQ(10u, fake_kapi::user_locked_vm(0));
	ASSERT_TRUE(p->pin(5, 9).ok()); // already pinned: free
	p->unpin(5, 9);
	// rw's pins last only for the copy and are not charged.
	uint8_t buf[2 * P] = {};
	ASSERT_TRUE(p->rw(20 * P - 1, buf, sizeof(buf), true).ok());
	EXPECT_EQ(10u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(10u, fake_kapi::mm_pinned_vm(0));
	EXPECT_EQ(10u, fake_kapi::total_pins());
	// Another process of the same user shares the limit.
	int other = fake_kapi::new_process();
	fake_kapi::set_uid(other, 0);
	fake_kapi::set_rlimit_memlock(other, 10 * P);
	fake_kapi::set_current_process(other);
	map_contig(kVa + 64 * P, 4);
	auto q = user(kVa + 64 * P, 4 * P);
	EXPECT_EQ(-ENOMEM, q->pin(0, 0).code());
	fake_kapi::set_current_process(0);
	p->unpin(0, 9);
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
	ASSERT_TRUE(p->pin(20, 29).ok());
	p->unpin(20, 29);
}

TEST_F(PagesTest, MmModeChargesTheMm)
{
	map_contig(kVa, 32);
	fake_kapi::set_rlimit_memlock(0, 8 * P);
	auto p = user(kVa, 32 * P, true, AccountMode::Mm);
	ASSERT_TRUE(p->pin(0, 7).ok());
	EXPECT_EQ(8u, fake_kapi::mm_locked_vm(0));
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(8u, fake_kapi::mm_pinned_vm(0));
	EXPECT_EQ(-ENOMEM, p->pin(0, 8).code());
	EXPECT_EQ(8u, fake_kapi::total_pins());
	p->unpin(0, 7);
	EXPECT_EQ(0u, fake_kapi::mm_locked_vm(0));
}

TEST_F(PagesTest, RemoteMmAndGoneMm)
{
	uint64_t pfn = map_contig(kVa, 8);
	auto p = user(kVa, 8 * P);
	int child = fake_kapi::new_process();
	fake_kapi::set_current_process(child);
	ASSERT_TRUE(p->pin(0, 3).ok()); // another process pins the creator's memory
	EXPECT_EQ(0, fake_kapi::pin_calls_fast());
	EXPECT_EQ(1, fake_kapi::pin_calls_remote());
	EXPECT_EQ(1u, fake_kapi::pfn_pins(pfn));
	EXPECT_EQ(4u, fake_kapi::user_locked_vm(0)); // charged to the creator

	fake_kapi::set_mm_gone(0, true);
	EXPECT_EQ(-EFAULT, p->pin(0, 7).code());
	EXPECT_EQ(4u, p->npinned());
	EXPECT_EQ(4u, fake_kapi::user_locked_vm(0));
	// What is pinned stays usable, and unpinning works without the mm.
	ASSERT_TRUE(p->pin(1, 2).ok());
	uint8_t b = 0;
	EXPECT_TRUE(p->rw(P, &b, 1, false).ok());
	EXPECT_EQ(-EFAULT, p->rw(5 * P, &b, 1, false).code());
	p->unpin(1, 2);
	p->unpin(0, 3);
	EXPECT_EQ(0u, fake_kapi::mm_pinned_vm(0));
	fake_kapi::set_current_process(0);
}

TEST_F(PagesTest, GoneMmInMmModeIsEfault)
{
	map_contig(kVa, 8);
	auto p = user(kVa, 8 * P, true, AccountMode::Mm);
	int other = fake_kapi::new_process();
	fake_kapi::set_current_process(other);
	fake_kapi::set_mm_gone(0, true);
	EXPECT_EQ(-EFAULT, p->pin(0, 7).code());
	EXPECT_EQ(0u, fake_kapi::total_pins());
	fake_kapi::set_current_process(0);
}

TEST_F(PagesTest, UnpinDirtiesOnlyWritable)
{
	uint64_t a = map_contig(kVa, 2);
	uint64_t b = map_contig(kVa + 2 * P, 2);
	auto w = user(kVa, 2 * P, true);
	auto r = user(kVa + 2 * P, 2 * P, false);
	ASSERT_TRUE(w->pin(0, 1).ok());
	ASSERT_TRUE(r->pin(0, 1).ok());
	w->unpin(0, 1);
	r->unpin(0, 1);
	EXPECT_TRUE(fake_kapi::pfn_dirty(a + 1));
	EXPECT_FALSE(fake_kapi::pfn_dirty(b + 1));
}

TEST_F(PagesTest, UnpinNeverAllocates)
{
	map_contig(kVa, 100);
	auto p = user(kVa, 100 * P);
	ASSERT_TRUE(p->pin(0, 99).ok());
	ASSERT_TRUE(p->pin(10, 20).ok());
	ASSERT_TRUE(p->pin(15, 60).ok());
	fake_kapi::fail_alloc_after(0);
	p->unpin(10, 20);
	p->unpin(0, 99);
	p->unpin(15, 60);
	EXPECT_FALSE(fake_kapi::injected());
	fake_kapi::fail_alloc_after(-1);
	EXPECT_EQ(0u, p->npinned());
}

// Fail each allocation of a pin in turn (the pin node, split spares, batch
// array, spans, blocks and their growth): each failure is ENOMEM and leaves
// exactly the state before.
TEST_F(PagesTest, AllocationFailureAtEveryPoint)
{
	const uint64_t n = 4500;
	map_scattered(kVa, n);
	set_pin_batch_bytes(8 * 100);
	auto p = user(kVa, n * P);
	ASSERT_TRUE(p->pin(100, 199).ok());
	ASSERT_TRUE(p->pin(2000, 2100).ok());
	const uint64_t pins = fake_kapi::total_pins();
	long failures = 0;
	for (long nth = 0;; nth++) {
		long allocs = iommufd_cxx_live_allocs();
		fake_kapi::fail_alloc_after(nth);
		auto st = p->pin(150, n - 10);
		bool injected = fake_kapi::injected();
		fake_kapi::fail_alloc_after(-1);
		if (st.ok()) {
			if (!injected)
				break;
			// Only giving back block slack failed, or a pin stopped
			// short at the injection site: harmless.
			p->unpin(150, n - 10);
			continue;
		}
		ASSERT_TRUE(injected);
		failures++;
		// -EFAULT: the module's own injection site before a pin.
		ASSERT_TRUE(st.code() == -ENOMEM || st.code() == -EFAULT) << nth;
		ASSERT_TRUE(p->validate()) << nth;
		ASSERT_EQ(pins, fake_kapi::total_pins()) << nth;
		ASSERT_EQ(pins, p->npinned()) << nth;
		ASSERT_EQ(pins, fake_kapi::user_locked_vm(0)) << nth;
		ASSERT_EQ(pins, fake_kapi::mm_pinned_vm(0)) << nth;
		ASSERT_EQ(allocs, iommufd_cxx_live_allocs()) << nth;
	}
	EXPECT_GT(failures, 20);
	EXPECT_EQ(n - 10 - 100 + 1, p->npinned());
	EXPECT_TRUE(p->validate());
	p->unpin(150, n - 10);
	p->unpin(100, 199);
	p->unpin(2000, 2100);
}

// ---- reading ---------------------------------------------------------------

TEST_F(PagesTest, ForEachRunClipsAndStops)
{
	// Runs of 3, 5, 1 and 7 pages.
	uint64_t a = map_contig(kVa, 3);
	uint64_t b = map_contig(kVa + 3 * P, 5);
	uint64_t c = map_contig(kVa + 8 * P, 1);
	uint64_t d = map_contig(kVa + 9 * P, 7);
	auto p = user(kVa, 16 * P);
	ASSERT_TRUE(p->pin(0, 15).ok());
	EXPECT_EQ((std::vector<PfnRun>{ { 0, a, 3 }, { 3, b, 5 }, { 8, c, 1 }, { 9, d, 7 } }),
		  runs(*p, 0, 15));
	EXPECT_EQ((std::vector<PfnRun>{ { 2, a + 2, 1 }, { 3, b, 5 }, { 8, c, 1 }, { 9, d, 2 } }),
		  runs(*p, 2, 10));
	EXPECT_EQ((std::vector<PfnRun>{ { 4, b + 1, 3 } }), runs(*p, 4, 6));
	EXPECT_EQ((std::vector<PfnRun>{ { 15, d + 6, 1 } }), runs(*p, 15, 15));

	int calls = 0;
	auto st = p->for_each_run(0, 15, [&](uint64_t, uint64_t, uint64_t) -> cxx::Status {
		if (++calls == 2)
			return cxx::Err(ENOSPC);
		return {};
	});
	EXPECT_EQ(-ENOSPC, st.code());
	EXPECT_EQ(2, calls);
	p->unpin(0, 15);
}

TEST_F(PagesTest, ReadWriteAcrossPageBoundaries)
{
	uint64_t a = map_contig(kVa, 2);
	uint64_t b = map_contig(kVa + 2 * P, 2);
	// uptr 100 bytes into the first page, ending 200 bytes before the end.
	auto p = user(kVa + 100, 4 * P - 300);
	std::vector<uint8_t> in(2 * P + 1000), out(2 * P + 1000);
	for (size_t i = 0; i < in.size(); i++)
		in[i] = uint8_t(i * 7 + 1);
	// Bytes [4000, 4000 + 2P + 1000) of the range are bytes [4100, 13292)
	// from the first page: page 1 from offset 4 to page 3 up to 1003.
	ASSERT_TRUE(p->rw(4000, in.data(), in.size(), true).ok());
	EXPECT_EQ(0u, p->npinned());
	EXPECT_EQ(0u, fake_kapi::total_pins());
	EXPECT_FALSE(fake_kapi::pfn_dirty(a));
	EXPECT_TRUE(fake_kapi::pfn_dirty(a + 1));
	EXPECT_TRUE(fake_kapi::pfn_dirty(b + 1));
	uint8_t x;
	fake_kapi::phys_read(a + 1, 4, &x, 1);
	EXPECT_EQ(in[0], x);
	fake_kapi::phys_read(a + 1, 3, &x, 1);
	EXPECT_EQ(0, x);
	fake_kapi::phys_read(b, 0, &x, 1);
	EXPECT_EQ(in[P - 4], x);
	fake_kapi::phys_read(b + 1, 1003, &x, 1);
	EXPECT_EQ(in.back(), x);
	fake_kapi::phys_read(b + 1, 1004, &x, 1);
	EXPECT_EQ(0, x);

	ASSERT_TRUE(p->rw(4000, out.data(), out.size(), false).ok());
	EXPECT_EQ(in, out);
	// Reads leave what is pinned alone, and use it.
	ASSERT_TRUE(p->pin(1, 2).ok());
	ASSERT_TRUE(p->rw(P, out.data(), 10, false).ok());
	EXPECT_EQ(2u, p->npinned());
	p->unpin(1, 2);

	EXPECT_EQ(-EINVAL, p->rw(4 * P - 300, out.data(), 1, false).code());
	EXPECT_EQ(-EINVAL, p->rw(1, out.data(), 4 * P - 300, false).code());
	EXPECT_EQ(-EOVERFLOW, p->rw(~0ull, out.data(), 2, false).code());
	EXPECT_TRUE(p->rw(4 * P - 301, out.data(), 1, false).ok());
	EXPECT_TRUE(p->rw(0, out.data(), 0, true).ok());

	auto ro = user(kVa, P, false);
	EXPECT_EQ(-EPERM, ro->rw(0, in.data(), 1, true).code());
	EXPECT_TRUE(ro->rw(0, out.data(), 1, false).ok());
}

TEST_F(PagesTest, ReadWriteIdentityMappedMemory)
{
	// Unmapped in the simulation: the fake pins this process's own memory.
	std::vector<uint8_t> buf(3 * P, 0);
	auto p = user(reinterpret_cast<uint64_t>(buf.data()), buf.size());
	const char msg[] = "through the pins";
	ASSERT_TRUE(p->rw(P - 5, const_cast<char *>(msg), sizeof(msg), true).ok());
	EXPECT_EQ(0, memcmp(buf.data() + P - 5, msg, sizeof(msg)));
	uint64_t pfn = 0;
	EXPECT_EQ(0, kapi_test_user_pfn(reinterpret_cast<uint64_t>(buf.data()), &pfn));
	EXPECT_EQ(reinterpret_cast<uint64_t>(buf.data()) / P, pfn);
}

// The caller runs in the process the pages belong to: rw copies through
// the user address itself (upstream's fast path), with no pin and no GUP;
// another process's pages still go through pins.
TEST_F(PagesTest, ReadWriteInTheOwnerProcessCopiesDirectly)
{
	std::vector<uint8_t> buf(3 * P, 0);
	const uint64_t uptr = reinterpret_cast<uint64_t>(buf.data());
	auto p = user(uptr, buf.size());
	fake_kapi::set_user_copy_direct(true);
	const long gup = fake_kapi::pin_calls_fast() + fake_kapi::pin_calls_remote();
	const char msg[] = "straight to user memory";
	ASSERT_TRUE(p->rw(P - 5, const_cast<char *>(msg), sizeof(msg), true).ok());
	EXPECT_EQ(0, memcmp(buf.data() + P - 5, msg, sizeof(msg)));
	char back[sizeof(msg)] = {};
	ASSERT_TRUE(p->rw(P - 5, back, sizeof(back), false).ok());
	EXPECT_EQ(0, memcmp(back, msg, sizeof(msg)));
	EXPECT_EQ(gup, fake_kapi::pin_calls_fast() + fake_kapi::pin_calls_remote());
	EXPECT_EQ(0u, p->npinned());
	EXPECT_EQ(0u, fake_kapi::total_pins());
	// The checks before the copy still apply.
	EXPECT_EQ(-EINVAL, p->rw(3 * P, back, 1, false).code());
	auto ro = user(uptr, P, false);
	EXPECT_EQ(-EPERM, ro->rw(0, back, 1, true).code());
	fake_kapi::set_user_copy_direct(false);
	// Not the owner (as after a fork): through pins again.
	ASSERT_TRUE(p->rw(P - 5, back, sizeof(back), false).ok());
	EXPECT_LT(gup, fake_kapi::pin_calls_fast() + fake_kapi::pin_calls_remote());
}

TEST_F(PagesTest, ReadWriteAllocationFailure)
{
	map_contig(kVa, 4);
	auto p = user(kVa, 4 * P);
	uint8_t buf[16] = {};
	for (long nth = 0;; nth++) {
		fake_kapi::fail_alloc_after(nth);
		auto st = p->rw(P - 8, buf, sizeof(buf), true);
		bool injected = fake_kapi::injected();
		fake_kapi::fail_alloc_after(-1);
		EXPECT_EQ(0u, p->npinned());
		if (!injected) {
			EXPECT_TRUE(st.ok());
			break;
		}
		EXPECT_TRUE(st.ok() || st.code() == -ENOMEM || st.code() == -EFAULT);
	}
}

TEST_F(PagesTest, TestUserPfn)
{
	uint64_t pfn = map_contig(kVa, 2);
	uint64_t got = 0;
	EXPECT_EQ(0, kapi_test_user_pfn(kVa + P + 5, &got));
	EXPECT_EQ(pfn + 1, got);
	fake_kapi::add_fault_range(kVa, P);
	EXPECT_EQ(-EFAULT, kapi_test_user_pfn(kVa, &got));
}

// ---- memfd -----------------------------------------------------------------

TEST_F(PagesTest, FileCreateErrors)
{
	int fd = fake_kapi::memfd_create(16, 1);
	EXPECT_EQ(-EBADF, code(Pages::create_file(12345, 0, P, true, AccountMode::User)));
	EXPECT_EQ(-EINVAL, code(Pages::create_file(fake_kapi::plain_fd(), 0, P, true,
						   AccountMode::User)));
	EXPECT_EQ(-EINVAL, code(Pages::create_file(fd, 0, 0, true, AccountMode::User)));
	EXPECT_EQ(-EINVAL, code(Pages::create_file(fd, P, 16 * P, true, AccountMode::User)));
	EXPECT_EQ(-EOVERFLOW, code(Pages::create_file(fd, ~0ull, 2, true, AccountMode::User)));
	int ro = fake_kapi::memfd_create(16, 1, false);
	EXPECT_EQ(-EPERM, code(Pages::create_file(ro, 0, P, true, AccountMode::User)));
	auto r = Pages::create_file(ro, 10, P, false, AccountMode::User);
	ASSERT_TRUE(r.ok());
	EXPECT_TRUE(r.value()->is_file());
	EXPECT_EQ(10u, r.value()->first_offset());
	EXPECT_EQ(2u, r.value()->npages());
	EXPECT_EQ(1, fake_kapi::memfd_refs());
	// Only file-backed Pages can change process.
	EXPECT_EQ(-EINVAL, user(kVa, P)->change_process_prepare().code());
}

TEST_F(PagesTest, FileSmallFolios)
{
	int fd = fake_kapi::memfd_create(64, 1);
	auto r = Pages::create_file(fd, 0, 64 * P, true, AccountMode::User);
	ASSERT_TRUE(r.ok());
	auto p = r.take();
	ASSERT_TRUE(p->pin(0, 31).ok());
	ASSERT_TRUE(p->pin(16, 63).ok());
	EXPECT_EQ(64u, fake_kapi::total_pins());
	EXPECT_EQ(64u, fake_kapi::user_locked_vm(0));
	// Consecutive folios happen to be adjacent here: two fills, one run.
	auto v = runs(*p, 0, 63);
	ASSERT_EQ(1u, v.size());
	EXPECT_EQ(fake_kapi::memfd_pfn(fd, 0), v[0].pfn);
	p->unpin(0, 31);
	EXPECT_EQ(48u, fake_kapi::total_pins());
	p->unpin(16, 63);
	EXPECT_TRUE(fake_kapi::pfn_dirty(fake_kapi::memfd_pfn(fd, 63)));
}

TEST_F(PagesTest, FileHugeFoliosPinOncePerBlock)
{
	int fd = fake_kapi::memfd_create(1024, 512);
	auto p = Pages::create_file(fd, 0, 1024 * P, true, AccountMode::User).take();
	ASSERT_TRUE(p->pin(0, 9).ok());
	uint64_t f = fake_kapi::memfd_pfn(fd, 0);
	EXPECT_EQ(1u, fake_kapi::pfn_pins(f));
	EXPECT_EQ(10u, p->npinned());
	ASSERT_TRUE(p->pin(20, 29).ok()); // a second block holds its own pin
	EXPECT_EQ(2u, fake_kapi::pfn_pins(f));
	ASSERT_TRUE(p->pin(5, 25).ok());
	EXPECT_EQ(3u, fake_kapi::pfn_pins(f));
	EXPECT_EQ(30u, p->npinned());
	EXPECT_EQ((std::vector<PfnRun>{ { 0, f, 30 } }), runs(*p, 0, 29));

	p->unpin(0, 9); // [0, 4] goes; its block still has [5, 9]
	EXPECT_EQ(3u, fake_kapi::pfn_pins(f));
	p->unpin(5, 25); // [5, 9] and [10, 19] go; [20, 29] stays
	EXPECT_EQ(1u, fake_kapi::pfn_pins(f));
	EXPECT_EQ(10u, p->npinned());
	p->unpin(20, 29);
	EXPECT_EQ(0u, fake_kapi::pfn_pins(f));

	// Spanning both folios in one go, in batches of one folio.
	set_pin_batch_bytes(16);
	ASSERT_TRUE(p->pin(500, 600).ok());
	EXPECT_EQ(1u, fake_kapi::pfn_pins(f));
	EXPECT_EQ(1u, fake_kapi::pfn_pins(fake_kapi::memfd_pfn(fd, 512)));
	EXPECT_EQ(2, fake_kapi::memfd_pin_calls() - 3);
	p->unpin(500, 600);
}

TEST_F(PagesTest, FileOneFolioBatches)
{
	int fd = fake_kapi::memfd_create(64, 16);
	auto p = Pages::create_file(fd, 0, 64 * P, true, AccountMode::User).take();
	// One folio per batch, the first and last only partly used: one pin
	// per folio.
	set_pin_batch_bytes(16);
	ASSERT_TRUE(p->pin(3, 60).ok());
	for (uint64_t i = 0; i < 64; i += 16)
		EXPECT_EQ(1u, fake_kapi::pfn_pins(fake_kapi::memfd_pfn(fd, i))) << i;
	p->unpin(3, 60);
}

TEST_F(PagesTest, FileHolePunchedWhilePinned)
{
	int fd = fake_kapi::memfd_create(512, 512);
	auto p = Pages::create_file(fd, 0, 512 * P, true, AccountMode::User).take();
	ASSERT_TRUE(p->pin(0, 9).ok());
	uint64_t f = fake_kapi::memfd_pfn(fd, 0);
	fake_kapi::memfd_punch(fd, 0);
	ASSERT_TRUE(p->pin(10, 19).ok());
	uint64_t g = fake_kapi::memfd_pfn(fd, 0);
	ASSERT_NE(f, g);
	EXPECT_EQ((std::vector<PfnRun>{ { 0, f, 10 }, { 10, g + 10, 10 } }), runs(*p, 0, 19));
	ASSERT_TRUE(p->pin(0, 19).ok());
	p->unpin(0, 9);
	p->unpin(0, 19);
	EXPECT_EQ(0u, fake_kapi::pfn_pins(f));
	EXPECT_EQ(1u, fake_kapi::pfn_pins(g));
	p->unpin(10, 19);
	EXPECT_EQ(0u, fake_kapi::pfn_pins(g));
}

TEST_F(PagesTest, FileAllocationFailureAtEveryPoint)
{
	int fd = fake_kapi::memfd_create(6000, 1, true, true);
	auto p = Pages::create_file(fd, 0, 6000 * P, true, AccountMode::User).take();
	set_pin_batch_bytes(16 * 64);
	ASSERT_TRUE(p->pin(10, 20).ok());
	const uint64_t pins = fake_kapi::total_pins();
	for (long nth = 0;; nth++) {
		fake_kapi::fail_alloc_after(nth);
		auto st = p->pin(0, 5999);
		bool injected = fake_kapi::injected();
		fake_kapi::fail_alloc_after(-1);
		if (st.ok()) {
			if (!injected)
				break;
			p->unpin(0, 5999); // block slack, or a pin that stopped short
			continue;
		}
		ASSERT_TRUE(injected);
		ASSERT_TRUE(st.code() == -ENOMEM || st.code() == -EFAULT) << nth;
		ASSERT_TRUE(p->validate());
		ASSERT_EQ(pins, fake_kapi::total_pins());
		ASSERT_EQ(pins, fake_kapi::user_locked_vm(0));
	}
	EXPECT_EQ(6000u, p->nruns());
	p->unpin(10, 20);
	p->unpin(0, 5999);
}

TEST_F(PagesTest, FileReadWrite)
{
	int fd = fake_kapi::memfd_create(8, 4);
	auto p = Pages::create_file(fd, 100, 8 * P - 100, true, AccountMode::User).take();
	char in[64], out[64];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = char(i);
	ASSERT_TRUE(p->rw(4 * P - 130, in, sizeof(in), true).ok()); // across folios
	ASSERT_TRUE(p->rw(4 * P - 130, out, sizeof(out), false).ok());
	EXPECT_EQ(0, memcmp(in, out, sizeof(in)));
	char x;
	fake_kapi::phys_read(fake_kapi::memfd_pfn(fd, 4), 33, &x, 1);
	EXPECT_EQ(in[63], x);
}

TEST_F(PagesTest, ChangeProcess)
{
	int fd = fake_kapi::memfd_create(32, 1);
	auto p = Pages::create_file(fd, 0, 32 * P, true, AccountMode::User).take();
	ASSERT_TRUE(p->pin(0, 9).ok());
	int other = fake_kapi::new_process(); // uid == other
	fake_kapi::set_current_process(other);

	// Over the new owner's limit: nothing changes.
	fake_kapi::set_rlimit_memlock(other, 5 * P);
	EXPECT_EQ(-ENOMEM, p->change_process_prepare().code());
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(other));
	fake_kapi::set_rlimit_memlock(other, ~0ull);

	ASSERT_TRUE(p->change_process_prepare().ok());
	p->change_process_abort();
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(other));
	EXPECT_EQ(0u, fake_kapi::mm_pinned_vm(other));

	ASSERT_TRUE(p->change_process_prepare().ok());
	EXPECT_EQ(10u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(10u, fake_kapi::user_locked_vm(other));
	ASSERT_TRUE(p->pin(10, 11).ok()); // both owners carry it until commit
	EXPECT_EQ(12u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(12u, fake_kapi::user_locked_vm(other));
	p->change_process_commit();
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(0u, fake_kapi::mm_pinned_vm(0));
	EXPECT_EQ(12u, fake_kapi::user_locked_vm(other));
	EXPECT_EQ(12u, fake_kapi::mm_pinned_vm(other));
	p->unpin(0, 9);
	p->unpin(10, 11);
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(other));
	EXPECT_EQ(0u, fake_kapi::mm_pinned_vm(other));
	fake_kapi::set_current_process(0);
}

TEST_F(PagesTest, ChangeProcessDestroyedWhilePending)
{
	int fd = fake_kapi::memfd_create(4, 1);
	auto p = Pages::create_file(fd, 0, 4 * P, true, AccountMode::User).take();
	int other = fake_kapi::new_process();
	fake_kapi::set_current_process(other);
	ASSERT_TRUE(p->change_process_prepare().ok());
	p = RefPtr<Pages>();
	EXPECT_EQ(0, fake_kapi::owners_alive());
	fake_kapi::set_current_process(0);
}

// ---- randomized ------------------------------------------------------------

// Random pins and unpins (and failing ones) against per-page counts: after
// every step each page is pinned once iff some pin covers it, the counters
// match, the structure validates, and a random pinned range reads back as
// maximal runs of the right PFNs.
// folio: pages per folio for memfd Pages (0 for user memory), whose pins
// are per folio and per block: some pin iff some page of the folio is.
void random_ops(Pages &p, const std::vector<uint64_t> &pfn_of, uint64_t seed, uint64_t folio)
{
	const uint64_t n = pfn_of.size();
	std::mt19937_64 rng(seed);
	std::vector<uint32_t> count(n, 0);
	std::vector<std::pair<uint64_t, uint64_t>> live;
	for (int step = 0; step < 1500; step++) {
		uint64_t r = rng() % 100;
		if (r < 3)
			set_pin_batch_bytes(std::vector<size_t>{ 12, 16, 64, 200, 65536 }[rng() % 5]);
		if (r < 50 || live.empty()) {
			uint64_t a = rng() % n, len = 1 + rng() % (rng() % 4 ? 12 : n / 2);
			uint64_t b = std::min(n - 1, a + len - 1);
			bool fail = rng() % 8 == 0;
			if (fail)
				fake_kapi::fail_alloc_after(long(rng() % 6));
			auto st = p.pin(a, b);
			bool injected = fake_kapi::injected();
			fake_kapi::fail_alloc_after(-1);
			if (!st.ok()) {
				ASSERT_TRUE(injected);
				ASSERT_TRUE(st.code() == -ENOMEM || st.code() == -EFAULT);
			} else {
				ASSERT_TRUE(st.ok());
				live.push_back({ a, b });
				for (uint64_t i = a; i <= b; i++)
					count[i]++;
			}
		} else {
			size_t k = rng() % live.size();
			auto [a, b] = live[k];
			live.erase(live.begin() + k);
			p.unpin(a, b);
			for (uint64_t i = a; i <= b; i++)
				count[i]--;
		}
		ASSERT_TRUE(p.validate()) << step;
		uint64_t pinned = 0;
		for (uint64_t i = 0; i < n; i++) {
			pinned += count[i] != 0;
			uint64_t pins = fake_kapi::pfn_pins(pfn_of[i]);
			if (folio > 1) {
				bool any = false;
				for (uint64_t k = i - i % folio; k < i - i % folio + folio; k++)
					any |= count[k] != 0;
				ASSERT_EQ(any, pins != 0) << step << " " << i;
			} else {
				ASSERT_EQ(count[i] ? 1u : 0u, pins) << step << " " << i;
			}
		}
		ASSERT_EQ(pinned, p.npinned()) << step;
		ASSERT_EQ(pinned, fake_kapi::user_locked_vm(0)) << step;
		ASSERT_EQ(pinned, fake_kapi::mm_pinned_vm(0)) << step;
		if (!live.empty()) {
			auto [a, b] = live[rng() % live.size()];
			uint64_t lo = a + rng() % (b - a + 1);
			uint64_t hi = lo + rng() % (b - lo + 1);
			uint64_t expect = lo;
			uint64_t prev_end_pfn = ~0ull;
			auto st = p.for_each_run(lo, hi, [&](uint64_t i, uint64_t pfn, uint64_t cnt) {
				EXPECT_EQ(expect, i);
				EXPECT_NE(prev_end_pfn, pfn); // maximal: never continues the last
				for (uint64_t k = 0; k < cnt; k++)
					EXPECT_EQ(pfn_of[i + k], pfn + k);
				expect = i + cnt;
				prev_end_pfn = pfn + cnt;
				return cxx::Status();
			});
			ASSERT_TRUE(st.ok());
			ASSERT_EQ(hi + 1, expect);
		}
	}
	for (auto [a, b] : live)
		p.unpin(a, b);
	EXPECT_EQ(0u, p.npinned());
	EXPECT_EQ(0u, p.nspans());
}

TEST_F(PagesTest, RandomizedAgainstReferenceModel)
{
	// Pages in contiguous stretches of random length, some scattered.
	const uint64_t n = 300;
	std::vector<uint64_t> pfn_of;
	std::mt19937_64 rng(1);
	while (pfn_of.size() < n) {
		uint64_t len = std::min<uint64_t>(n - pfn_of.size(), 1 + rng() % 20);
		uint64_t pfn = map_contig(kVa + pfn_of.size() * P, len);
		for (uint64_t i = 0; i < len; i++)
			pfn_of.push_back(pfn + i);
	}
	for (uint64_t seed = 1; seed <= 4; seed++) {
		auto p = user(kVa, n * P);
		random_ops(*p, pfn_of, seed, 0);
		ASSERT_FALSE(HasFatalFailure());
	}
}

TEST_F(PagesTest, RandomizedFileAgainstReferenceModel)
{
	for (uint64_t folio : { 1, 8, 64 }) {
		const uint64_t n = 256;
		int fd = fake_kapi::memfd_create(n, folio, true, folio == 8);
		auto p = Pages::create_file(fd, 0, n * P, true, AccountMode::User).take();
		// Fault every folio in once to learn the PFNs.
		ASSERT_TRUE(p->pin(0, n - 1).ok());
		std::vector<uint64_t> pfn_of;
		for (uint64_t i = 0; i < n; i++)
			pfn_of.push_back(fake_kapi::memfd_pfn(fd, i));
		p->unpin(0, n - 1);
		random_ops(*p, pfn_of, folio, folio);
		ASSERT_FALSE(HasFatalFailure());
		EXPECT_EQ(0u, fake_kapi::total_pins());
	}
}

} // namespace
