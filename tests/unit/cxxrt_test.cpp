// SPDX-License-Identifier: GPL-2.0
//
// cxxrt_test.cpp - the freestanding library: Result/TRY, owning and counted
// pointers, checked arithmetic, mutex guards.
#include <gtest/gtest.h>

#include "cxxrt/checked.hpp"
#include "cxxrt/lock.hpp"
#include "cxxrt/refcount.hpp"
#include "fake_kapi.h"

using namespace cxx;

namespace {

Result<int> half(int v)
{
	if (v % 2)
		return Err(EINVAL);
	return v / 2;
}

Result<int> quarter(int v)
{
	int h = TRY(half(v));
	return TRY(half(h));
}

Status check_even(int v)
{
	TRY(half(v));
	return {};
}

TEST(Result, ValueAndError)
{
	auto a = quarter(8);
	ASSERT_TRUE(a.ok());
	EXPECT_EQ(2, a.value());
	auto b = quarter(6);
	ASSERT_FALSE(b.ok());
	EXPECT_EQ(-EINVAL, b.error().code());
	EXPECT_TRUE(check_even(4).ok());
	EXPECT_EQ(-EINVAL, check_even(3).code());
}

struct Tracked {
	static inline int alive = 0;
	int v;
	explicit Tracked(int v) : v(v) { alive++; }
	Tracked(Tracked &&o) : v(o.v) { alive++; }
	~Tracked() { alive--; }
};

TEST(Result, DestroysItsValueOnce)
{
	{
		Result<Tracked> r(Tracked(3));
		EXPECT_EQ(1, Tracked::alive);
		Tracked t = r.take();
		EXPECT_EQ(3, t.v);
	}
	EXPECT_EQ(0, Tracked::alive);
	{
		Result<Tracked> e(Err(ENOMEM));
		EXPECT_EQ(0, Tracked::alive);
	}
}

TEST(Checked, Add)
{
	EXPECT_EQ(5u, checked_add<uint64_t>(2, 3).value());
	EXPECT_EQ(-EOVERFLOW, checked_add<uint64_t>(UINT64_MAX, 1).error().code());
	EXPECT_EQ(-EOVERFLOW, checked_mul<uint32_t>(1u << 16, 1u << 16).error().code());
	EXPECT_EQ(UINT64_MAX - 1, checked_last(0, UINT64_MAX).value());
	EXPECT_EQ(0x1fffu, checked_last(0x1000, 0x1000).value());
	EXPECT_EQ(-EINVAL, checked_last(0x1000, 0).error().code());
	EXPECT_EQ(-EOVERFLOW, checked_last(UINT64_MAX, 2).error().code());
	EXPECT_EQ(UINT64_MAX, checked_last(UINT64_MAX, 1).value());
	EXPECT_EQ(-EOVERFLOW, (checked_cast<uint32_t, uint64_t>(1ull << 32).error().code()));
	EXPECT_EQ(-EOVERFLOW, (checked_cast<uint32_t, int>(-1).error().code()));
	EXPECT_EQ(7u, (checked_cast<uint32_t, uint64_t>(7).value()));
}

TEST(UniquePtr, OwnsAndFailsCleanly)
{
	{
		auto p = make_unique<Tracked>(7);
		ASSERT_TRUE(p.ok());
		EXPECT_EQ(7, p.value()->v);
		UniquePtr<Tracked> q = p.take();
		EXPECT_EQ(1, Tracked::alive);
	}
	EXPECT_EQ(0, Tracked::alive);
	long before = iommufd_cxx_live_allocs();
	{
		auto a = UniqueArray<uint64_t>::zeroed(100);
		ASSERT_TRUE(a.ok());
		EXPECT_EQ(0u, a.value()[99]);
		EXPECT_EQ(before + 1, iommufd_cxx_live_allocs());
	}
	EXPECT_EQ(before, iommufd_cxx_live_allocs());
	fake_kapi::fail_alloc_after(0);
	auto f = UniqueArray<uint64_t>::zeroed(4);
	EXPECT_EQ(-ENOMEM, f.error().code());
	EXPECT_EQ(-EOVERFLOW, UniqueArray<uint64_t>::zeroed(SIZE_MAX / 4).error().code());
	fake_kapi::fail_alloc_after(-1);
}

struct Node : RefCounted<Node> {
	static inline int alive = 0;
	Node() { alive++; }
	~Node() { alive--; }
};

TEST(RefPtr, LastReferenceDestroys)
{
	{
		auto a = make_ref<Node>();
		ASSERT_TRUE(a.ok());
		RefPtr<Node> p = a.take();
		RefPtr<Node> q = p;
		EXPECT_EQ(2u, p->ref_count());
		p = RefPtr<Node>();
		EXPECT_EQ(1, Node::alive);
		EXPECT_EQ(1u, q->ref_count());
	}
	EXPECT_EQ(0, Node::alive);
}

TEST(Mutex, GuardHoldsForItsScope)
{
	auto m = Mutex::create(KAPI_LOCK_OBJECTS);
	ASSERT_TRUE(m.ok());
	Mutex mu = m.take();
	{
		Guard g(mu);
		EXPECT_EQ(1, fake_kapi::mutexes_held());
	}
	EXPECT_EQ(0, fake_kapi::mutexes_held());
	fake_kapi::fail_alloc_after(0);
	EXPECT_EQ(-ENOMEM, Mutex::create(KAPI_LOCK_OBJECTS).error().code());
	fake_kapi::fail_alloc_after(-1);
}

} // namespace
