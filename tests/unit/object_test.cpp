// SPDX-License-Identifier: GPL-2.0
//
// object_test.cpp - the object table: ID allocation, two-step add, lookups by
// type, EBUSY while referenced, release order.
#include <gtest/gtest.h>

#include "ioas.hpp"
#include "object.hpp"
#include "fake_kapi.h"

using namespace iommufd;

namespace {

// An object that depends on an IOAS, as a HWPT will.
class Holder final : public Object {
public:
	static constexpr ObjType kType = ObjType(200);
	explicit Holder(ObjRef<Ioas> &&ioas) : Object(kType), ioas(cxx::move(ioas)) {}
	ObjRef<Ioas> ioas;
};

class ObjectTableTest : public ::testing::Test {
protected:
	void SetUp() override { ASSERT_TRUE(table.init().ok()); }
	void TearDown() override
	{
		table.destroy_all();
		EXPECT_EQ(0, Object::live_count());
	}

	uint32_t add_ioas()
	{
		auto p = table.add(cxx::make_unique<Ioas>().take());
		EXPECT_TRUE(p.ok());
		PendingObject pending = p.take();
		uint32_t id = pending.id();
		pending.commit();
		return id;
	}

	ObjectTable table;
};

TEST_F(ObjectTableTest, LowestFreeIdFromOne)
{
	EXPECT_EQ(1u, add_ioas());
	EXPECT_EQ(2u, add_ioas());
	EXPECT_EQ(3u, add_ioas());
	ASSERT_TRUE(table.destroy(2).ok());
	ASSERT_TRUE(table.destroy(1).ok());
	EXPECT_EQ(1u, add_ioas());
	EXPECT_EQ(2u, add_ioas());
	EXPECT_EQ(4u, add_ioas());
}

TEST_F(ObjectTableTest, GrowsPastInitialSlots)
{
	for (uint32_t i = 1; i <= 1000; i++)
		ASSERT_EQ(i, add_ioas());
	EXPECT_EQ(1000, Object::live_count());
	for (uint32_t i = 1; i <= 1000; i += 2)
		ASSERT_TRUE(table.destroy(i).ok());
	EXPECT_EQ(1u, add_ioas());
	EXPECT_EQ(3u, add_ioas());
}

TEST_F(ObjectTableTest, PendingIsInvisibleAndAbortFrees)
{
	{
		PendingObject p = table.add(cxx::make_unique<Ioas>().take()).take();
		EXPECT_EQ(1u, p.id());
		EXPECT_EQ(-ENOENT, table.get<Ioas>(1).error().code());
		EXPECT_EQ(-ENOENT, table.destroy(1).code());
		EXPECT_EQ(1, Object::live_count());
	} // not committed: aborted
	EXPECT_EQ(0, Object::live_count());
	EXPECT_EQ(1u, add_ioas());
}

TEST_F(ObjectTableTest, LookupChecksType)
{
	uint32_t id = add_ioas();
	EXPECT_TRUE(table.get<Ioas>(id).ok());
	EXPECT_EQ(-ENOENT, table.get<Holder>(id).error().code());
	EXPECT_EQ(-ENOENT, table.get<Ioas>(0).error().code());
	EXPECT_EQ(-ENOENT, table.get<Ioas>(UINT32_MAX).error().code());
}

TEST_F(ObjectTableTest, BusyWhileReferenced)
{
	uint32_t id = add_ioas();
	{
		auto ref = table.get<Ioas>(id);
		ASSERT_TRUE(ref.ok());
		EXPECT_EQ(-EBUSY, table.destroy(id).code());
	}
	EXPECT_TRUE(table.destroy(id).ok());
	EXPECT_EQ(-ENOENT, table.destroy(id).code());
}

TEST_F(ObjectTableTest, DependentBlocksDestroyUntilGone)
{
	uint32_t ioas = add_ioas();
	auto holder = cxx::make_unique<Holder>(table.get<Ioas>(ioas).take()).take();
	PendingObject p = table.add(cxx::move(holder)).take();
	uint32_t hid = p.id();
	p.commit();
	EXPECT_EQ(-EBUSY, table.destroy(ioas).code());
	EXPECT_TRUE(table.destroy(hid).ok());
	EXPECT_TRUE(table.destroy(ioas).ok());
}

TEST_F(ObjectTableTest, ReleaseDestroysDependentsFirst)
{
	// The IOAS has the lower ID but must wait for its holder.
	for (int i = 0; i < 50; i++) {
		uint32_t ioas = add_ioas();
		auto holder = cxx::make_unique<Holder>(table.get<Ioas>(ioas).take()).take();
		table.add(cxx::move(holder)).take().commit();
	}
	EXPECT_EQ(100, Object::live_count());
	table.destroy_all(); // TearDown checks that nothing is left
}

TEST_F(ObjectTableTest, AddFailsCleanlyWhenGrowingFails)
{
	for (uint32_t i = 1; i < 16; i++)
		add_ioas();
	auto obj = cxx::make_unique<Ioas>().take();
	fake_kapi::fail_alloc_after(0);
	auto r = table.add(cxx::move(obj));
	fake_kapi::fail_alloc_after(-1);
	EXPECT_EQ(-ENOMEM, r.error().code());
	EXPECT_EQ(15, Object::live_count());
	EXPECT_EQ(16u, add_ioas());
}

} // namespace
