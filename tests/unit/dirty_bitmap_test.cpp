// SPDX-License-Identifier: GPL-2.0
//
// dirty_bitmap_test.cpp - DirtyBitmap, the writer of the user's
// IOMMU_HWPT_GET_DIRTY_BITMAP buffer: argument checks, the bit layout at
// every byte alignment of the user buffer (guard bytes around it stay
// untouched), OR-only writes that keep the user's bits, records that cross
// the 4 KiB kernel window, run backwards or stick out of the range, a
// randomized comparison against a plain bitset, write-back of only the
// changed bytes, EFAULT (sticky) from the fake kapi's fault ranges, and
// allocation failure.
#include <gtest/gtest.h>
#include <string.h>

#include <random>
#include <set>
#include <vector>

#include "fake_kapi.h"
#include "domain/dirty_bitmap.hpp"

using namespace iommufd;

namespace {

constexpr uint64_t W = DirtyBitmap::kWindowBytes;
constexpr uint64_t kWindowBits = W * 8;
constexpr uint8_t kGuard = 0xa5;

uint64_t uptr(const void *p) { return reinterpret_cast<uint64_t>(p); }

template <typename T> long code(const cxx::Result<T> &r) { return r.ok() ? 0 : r.error().code(); }

class DirtyBitmapTest : public ::testing::Test {
protected:
	void SetUp() override { allocs_before = iommufd_cxx_live_allocs(); }
	void TearDown() override
	{
		fake_kapi::fail_alloc_after(-1);
		fake_kapi::clear_fault_ranges();
		EXPECT_EQ(allocs_before, iommufd_cxx_live_allocs());
	}

	// A user buffer of `bytes` at byte offset `off` in a guarded block.
	struct UserBuf {
		UserBuf(uint64_t bytes, uint64_t off)
			: mem(off + bytes + 64, kGuard), off(off), bytes(bytes)
		{
			memset(data(), 0, bytes);
		}
		uint8_t *data() { return mem.data() + off; }
		uint64_t addr() { return uptr(data()); }
		bool bit(uint64_t i) { return data()[i / 8] & (1u << (i % 8)); }
		std::set<uint64_t> bits()
		{
			std::set<uint64_t> s;
			for (uint64_t i = 0; i < bytes * 8; i++)
				if (bit(i))
					s.insert(i);
			return s;
		}
		bool guards_intact()
		{
			for (uint64_t i = 0; i < off; i++)
				if (mem[i] != kGuard)
					return false;
			for (uint64_t i = off + bytes; i < mem.size(); i++)
				if (mem[i] != kGuard)
					return false;
			return true;
		}
		std::vector<uint8_t> mem;
		uint64_t off, bytes;
	};

	static cxx::UniquePtr<DirtyBitmap> make(uint64_t iova, uint64_t length, uint64_t page_size,
						uint64_t user)
	{
		auto r = DirtyBitmap::create(iova, length, page_size, user);
		EXPECT_TRUE(r.ok());
		return r.take();
	}

	long allocs_before = 0;
};

TEST_F(DirtyBitmapTest, CreateChecksArguments)
{
	uint8_t buf[64];
	const uint64_t u = uptr(buf);
	EXPECT_EQ(-EINVAL, code(DirtyBitmap::create(0, 0, 4096, u)));
	EXPECT_EQ(-EINVAL, code(DirtyBitmap::create(0, 4096, 0, u)));
	EXPECT_EQ(-EINVAL, code(DirtyBitmap::create(0, 3 * 4096, 3 * 4096, u)));
	EXPECT_EQ(-EINVAL, code(DirtyBitmap::create(2048, 4096, 4096, u)));
	EXPECT_EQ(-EINVAL, code(DirtyBitmap::create(4096, 6144, 4096, u)));
	EXPECT_EQ(-EOVERFLOW, code(DirtyBitmap::create(~0ull - 4095, 8192, 4096, u)));
	// The bitmap's user range would wrap.
	EXPECT_EQ(-EFAULT, code(DirtyBitmap::create(0, 1ull << 40, 4096, ~0ull - 100)));
	// The top half of the 64-bit space as one 2^63-byte page: fine.
	auto b = DirtyBitmap::create(1ull << 63, 1ull << 63, 1ull << 63, u);
	ASSERT_TRUE(b.ok());
	EXPECT_EQ(1ull << 63, b.value()->page_size());
	EXPECT_EQ(1ull << 63, b.value()->iova());
}

TEST_F(DirtyBitmapTest, CreateAllocationFailure)
{
	uint8_t buf[8];
	for (long nth = 0; nth < 2; nth++) {
		fake_kapi::fail_alloc_after(nth);
		EXPECT_EQ(-ENOMEM, code(DirtyBitmap::create(0, 64 * 4096, 4096, uptr(buf))));
		EXPECT_TRUE(fake_kapi::injected());
	}
	fake_kapi::fail_alloc_after(2);
	EXPECT_TRUE(DirtyBitmap::create(0, 64 * 4096, 4096, uptr(buf)).ok());
	EXPECT_FALSE(fake_kapi::injected());
}

// Bit i is byte i / 8, bit i % 8, at any alignment of the user buffer; the
// bytes around the buffer are never written.
TEST_F(DirtyBitmapTest, LayoutAtEveryAlignment)
{
	const uint64_t page = 2048, iova = 1ull << 24, nbits = 200;
	for (uint64_t off : { 0, 1, 3, 7, 8, 2048, 0xff1 }) {
		SCOPED_TRACE(off);
		UserBuf ub((nbits + 7) / 8, off);
		{
			auto b = make(iova, nbits * page, page, ub.addr());
			ASSERT_TRUE(b->record(iova, page).ok());                 // bit 0
			ASSERT_TRUE(b->record(iova + 9 * page + 5, 1).ok());     // bit 9
			ASSERT_TRUE(b->record(iova + 15 * page, 3 * page).ok()); // 15..17
			ASSERT_TRUE(b->record(iova + 64 * page - 1, 2).ok());    // 63, 64
			ASSERT_TRUE(b->record(iova + 199 * page, page).ok());    // last bit
			ASSERT_TRUE(b->flush().ok());
		}
		EXPECT_EQ((std::set<uint64_t>{ 0, 9, 15, 16, 17, 63, 64, 199 }), ub.bits());
		EXPECT_EQ(0x01, ub.data()[0]);
		EXPECT_EQ(0x82, ub.data()[1]); // bits 9 and 15
		EXPECT_EQ(0x03, ub.data()[2]); // bits 16 and 17
		EXPECT_EQ(0x80, ub.data()[7]);
		EXPECT_EQ(0x01, ub.data()[8]);
		EXPECT_EQ(0x80, ub.data()[24]); // bit 199 = byte 24, bit 7
		EXPECT_TRUE(ub.guards_intact());
	}
}

// Every byte-boundary shape of a single record: all (first, length) pairs
// over three bytes.
TEST_F(DirtyBitmapTest, EveryShortRange)
{
	for (uint64_t first = 0; first < 24; first++) {
		for (uint64_t n = 1; first + n <= 24; n++) {
			UserBuf ub(3, 5);
			{
				auto b = make(0, 24 * 4096, 4096, ub.addr());
				ASSERT_TRUE(b->record(first * 4096, n * 4096).ok());
			} // the destructor flushes
			std::set<uint64_t> want;
			for (uint64_t i = first; i < first + n; i++)
				want.insert(i);
			ASSERT_EQ(want, ub.bits()) << first << "+" << n;
			ASSERT_TRUE(ub.guards_intact());
		}
	}
}

// Bits already set in the user's buffer survive: the writer only adds.
TEST_F(DirtyBitmapTest, OnlyOrsIntoUserBits)
{
	UserBuf ub(16, 3);
	memset(ub.data(), 0x11, 16);
	{
		auto b = make(0, 128 * 4096, 4096, ub.addr());
		ASSERT_TRUE(b->record(1 * 4096, 4096).ok());
		ASSERT_TRUE(b->record(64 * 4096, 16 * 4096).ok());
		ASSERT_TRUE(b->flush().ok());
	}
	EXPECT_EQ(0x13, ub.data()[0]);
	for (int i = 1; i < 8; i++)
		EXPECT_EQ(0x11, ub.data()[i]);
	EXPECT_EQ(0xff, ub.data()[8]);
	EXPECT_EQ(0xff, ub.data()[9]);
	EXPECT_EQ(0x11, ub.data()[10]);
	EXPECT_TRUE(ub.guards_intact());
}

// Parts of a record outside [iova, iova + length) are dropped: a whole
// huge page reported around the bitmap's edges, or a range past 2^64.
TEST_F(DirtyBitmapTest, RecordsAreClippedToTheRange)
{
	const uint64_t page = 2048, iova = (1ull << 24) + (1ull << 20) + 100 * page;
	UserBuf ub(16, 1);
	{
		auto b = make(iova, 128 * page, page, ub.addr());
		ASSERT_TRUE(b->record(iova - (1ull << 20), (1ull << 20) + page).ok()); // bit 0
		ASSERT_TRUE(b->record(iova - 10 * page, 5 * page).ok()); // all before
		ASSERT_TRUE(b->record(iova + 127 * page, 1ull << 20).ok()); // bit 127
		ASSERT_TRUE(b->record(iova + 128 * page, 1ull << 20).ok()); // all after
		ASSERT_TRUE(b->record(iova + 126 * page, ~0ull).ok());     // to 2^64: 126, 127
		ASSERT_TRUE(b->record(iova + 5 * page, 0).ok());           // empty
	}
	EXPECT_EQ((std::set<uint64_t>{ 0, 126, 127 }), ub.bits());
	EXPECT_TRUE(ub.guards_intact());
}

// Records spanning the kernel window, going backwards across windows, and
// landing in the last, partial window.
TEST_F(DirtyBitmapTest, WindowBoundaries)
{
	const uint64_t page = 4096, nbits = 3 * kWindowBits + 100;
	for (uint64_t off : { 0, 0xff1 }) {
		UserBuf ub((nbits + 7) / 8, off);
		std::set<uint64_t> want;
		{
			auto b = make(0, nbits * page, page, ub.addr());
			auto rec = [&](uint64_t first, uint64_t n) {
				ASSERT_TRUE(b->record(first * page, n * page).ok());
				for (uint64_t i = first; i < first + n; i++)
					want.insert(i);
			};
			rec(kWindowBits - 3, 10);              // windows 0 and 1
			rec(5, 1);                             // back to window 0
			rec(kWindowBits - 1, 1);               // window 0's last bit
			rec(kWindowBits, 1);                   // window 1's first
			rec(2 * kWindowBits - 8, kWindowBits + 16); // 1, all of 2, 3
			rec(nbits - 1, 1);                     // the very last bit
			rec(kWindowBits + 77, 1);              // back to window 1
			ASSERT_TRUE(b->flush().ok());
			ASSERT_TRUE(b->flush().ok()); // twice is harmless
		}
		EXPECT_EQ(want, ub.bits());
		EXPECT_TRUE(ub.guards_intact());
	}
}

// Random records, in order and shuffled, against a plain bitset.
TEST_F(DirtyBitmapTest, RandomizedAgainstModel)
{
	std::mt19937_64 rng(12345);
	for (int round = 0; round < 40; round++) {
		const uint64_t page = 1ull << (11 + rng() % 10);
		const uint64_t nbits = 1 + rng() % (4 * kWindowBits);
		const uint64_t iova = (rng() % 1024) * page;
		const uint64_t off = rng() % 64;
		UserBuf ub((nbits + 7) / 8, off);
		std::vector<bool> model(nbits);
		// Start from some user bits, which must survive.
		for (int i = 0; i < 20; i++) {
			uint64_t bit = rng() % nbits;
			ub.data()[bit / 8] |= 1u << (bit % 8);
			model[bit] = true;
		}
		std::vector<std::pair<uint64_t, uint64_t>> recs;
		uint64_t pos = 0;
		while (pos < nbits * page) {
			uint64_t gap = (rng() % 3 == 0) ? rng() % (page * 64) : rng() % (page * 4096);
			uint64_t len = 1 + rng() % (page * (rng() % 2 ? 4 : 300));
			pos += gap;
			if (pos >= nbits * page)
				break;
			recs.push_back({ iova + pos, len });
			pos += len;
		}
		if (round % 2)
			std::shuffle(recs.begin(), recs.end(), rng);
		{
			auto b = make(iova, nbits * page, page, ub.addr());
			for (auto [s, l] : recs) {
				ASSERT_TRUE(b->record(s, l).ok());
				uint64_t first = (s - iova) / page;
				uint64_t last = std::min((s + l - 1 - iova) / page, nbits - 1);
				for (uint64_t i = first; i <= last; i++)
					model[i] = true;
			}
			ASSERT_TRUE(b->flush().ok());
		}
		for (uint64_t i = 0; i < nbits; i++)
			ASSERT_EQ(model[i], ub.bit(i)) << "round " << round << " bit " << i;
		// Bits past nbits in the last byte are never set.
		for (uint64_t i = nbits; i < ub.bytes * 8; i++)
			ASSERT_FALSE(ub.bit(i));
		ASSERT_TRUE(ub.guards_intact());
	}
}

// Only the bytes a record changed are written back: a byte of the window
// that user space changes meanwhile keeps its new value.
TEST_F(DirtyBitmapTest, WritesBackOnlyChangedBytes)
{
	UserBuf ub(64, 0);
	auto b = make(0, 512 * 4096, 4096, ub.addr());
	ASSERT_TRUE(b->record(0, 4096).ok()); // loads the window
	ub.data()[40] = 0x5a;
	ASSERT_TRUE(b->record(9 * 4096, 4096).ok());
	ASSERT_TRUE(b->flush().ok());
	EXPECT_EQ(0x01, ub.data()[0]);
	EXPECT_EQ(0x02, ub.data()[1]);
	EXPECT_EQ(0x5a, ub.data()[40]);
}

// Nothing recorded, nothing touched: not even a faulting buffer.
TEST_F(DirtyBitmapTest, NoRecordNoAccess)
{
	UserBuf ub(64, 0);
	fake_kapi::add_fault_range(ub.addr(), 64);
	auto b = make(0, 512 * 4096, 4096, ub.addr());
	EXPECT_TRUE(b->record(1ull << 40, 4096).ok()); // outside the range
	EXPECT_TRUE(b->flush().ok());
}

TEST_F(DirtyBitmapTest, FaultOnLoadIsStickyEfault)
{
	const uint64_t nbits = 3 * kWindowBits;
	UserBuf ub(nbits / 8, 0);
	// The second window's user bytes fault.
	fake_kapi::add_fault_range(ub.addr() + W + 100, 1);
	auto b = make(0, nbits * 4096, 4096, ub.addr());
	ASSERT_TRUE(b->record(0, 4096).ok());
	EXPECT_EQ(-EFAULT, b->record(kWindowBits * 4096, 4096).code());
	EXPECT_EQ(-EFAULT, b->record(2 * kWindowBits * 4096, 4096).code());
	EXPECT_EQ(-EFAULT, b->flush().code());
	// What was recorded before the fault reached user memory.
	EXPECT_TRUE(ub.bit(0));
	EXPECT_FALSE(ub.bit(2 * kWindowBits));
}

TEST_F(DirtyBitmapTest, FaultOnWriteBack)
{
	UserBuf ub(64, 0);
	auto b = make(0, 512 * 4096, 4096, ub.addr());
	ASSERT_TRUE(b->record(0, 4096).ok());
	fake_kapi::add_fault_range(ub.addr(), 1);
	EXPECT_EQ(-EFAULT, b->flush().code());
	EXPECT_EQ(-EFAULT, b->record(4096, 4096).code());
	fake_kapi::clear_fault_ranges();
	EXPECT_EQ(-EFAULT, b->flush().code()); // still: the bits are lost
	EXPECT_FALSE(ub.bit(0));
}

// A fault at the first window's load, at an unaligned buffer whose end
// faults (the bitmap reaches into an unmapped page).
TEST_F(DirtyBitmapTest, FaultAtTheTail)
{
	UserBuf ub(8, 0xff1);
	fake_kapi::add_fault_range(ub.addr() + 7, 1);
	auto b = make(0, 64 * 4096, 4096, ub.addr());
	EXPECT_EQ(-EFAULT, b->record(0, 4096).code());
	b.reset(); // the destructor swallows the error
	EXPECT_FALSE(ub.bit(0));
	EXPECT_TRUE(ub.guards_intact());
}

} // namespace
