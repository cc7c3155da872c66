// SPDX-License-Identifier: GPL-2.0
//
// selftest_test.cpp - the test ABI (IOMMU_TEST_CMD): hidden unless
// test_abi=1, then each implemented op with its bad inputs.
#include <gtest/gtest.h>
#include <string.h>

#include "fake_kapi.h"
#include "cxxrt/errno.hpp"
#include "kapi.h"
#include "uapi/iommufd_test.h"

namespace {

uint64_t uptr(const void *p) { return reinterpret_cast<uint64_t>(p); }

class TestAbi : public ::testing::Test {
protected:
	void SetUp() override
	{
		fake_kapi::set_test_abi(true);
		ASSERT_EQ(0, iommufd_cxx_open(&ctx, nullptr));
		iommu_ioas_alloc a = { .size = sizeof(a) };
		ASSERT_EQ(0, iommufd_cxx_ioctl(ctx, IOMMU_IOAS_ALLOC, uptr(&a)));
		ioas = a.out_ioas_id;
	}
	void TearDown() override
	{
		iommufd_cxx_release(ctx);
		fake_kapi::set_test_abi(false);
		EXPECT_EQ(0, iommufd_cxx_live_objects());
	}
	long test_cmd(iommu_test_cmd &cmd)
	{
		cmd.size = sizeof(cmd);
		return iommufd_cxx_ioctl(ctx, IOMMU_TEST_CMD, uptr(&cmd));
	}

	void *ctx = nullptr;
	uint32_t ioas = 0;
};

TEST_F(TestAbi, HiddenWithoutTheParameter)
{
	fake_kapi::set_test_abi(false);
	iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT };
	cmd.memory_limit.limit = 65536;
	EXPECT_EQ(-ENOIOCTLCMD, test_cmd(cmd));
}

TEST_F(TestAbi, UnknownOp)
{
	iommu_test_cmd cmd = { .op = 0xffff };
	EXPECT_EQ(-EOPNOTSUPP, test_cmd(cmd));
}

TEST_F(TestAbi, TempMemoryLimit)
{
	iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT };
	cmd.memory_limit.limit = sizeof(unsigned long) + sizeof(uint32_t) - 1;
	EXPECT_EQ(-EINVAL, test_cmd(cmd));
	cmd.memory_limit.limit = sizeof(unsigned long) + sizeof(uint32_t);
	EXPECT_EQ(0, test_cmd(cmd));
	cmd.memory_limit.limit = 65536;
	EXPECT_EQ(0, test_cmd(cmd));
}

TEST_F(TestAbi, CheckRefs)
{
	alignas(4096) static uint8_t page[2 * 4096];
	iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MD_CHECK_REFS };
	cmd.check_refs.uptr = uptr(page);
	cmd.check_refs.length = sizeof(page);
	EXPECT_EQ(0, test_cmd(cmd));
	cmd.check_refs.refs = 1;
	EXPECT_EQ(-EIO, test_cmd(cmd));
	cmd.check_refs.refs = 0;
	cmd.check_refs.length = 100;
	EXPECT_EQ(-EINVAL, test_cmd(cmd));
	cmd.check_refs.length = 4096;
	cmd.check_refs.uptr = uptr(page) + 1;
	EXPECT_EQ(-EINVAL, test_cmd(cmd));
	cmd.check_refs.uptr = UINT64_MAX & ~4095ull;
	cmd.check_refs.length = 8192;
	EXPECT_EQ(-EINVAL, test_cmd(cmd)); // a wrapping range, as upstream
	cmd.check_refs.uptr = 0;
	cmd.check_refs.length = 4096;
	EXPECT_EQ(-EFAULT, test_cmd(cmd));
}

TEST_F(TestAbi, AddReserved)
{
	iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_ADD_RESERVED, .id = ioas };
	cmd.add_reserved.start = 0x100000;
	cmd.add_reserved.length = 0;
	EXPECT_EQ(-EINVAL, test_cmd(cmd));
	cmd.add_reserved.start = UINT64_MAX;
	cmd.add_reserved.length = 2;
	EXPECT_EQ(-EOVERFLOW, test_cmd(cmd));
	cmd.add_reserved.start = 0x100000;
	cmd.add_reserved.length = 0x1000;
	cmd.id = ioas + 100;
	EXPECT_EQ(-ENOENT, test_cmd(cmd));
	cmd.id = ioas;
	EXPECT_EQ(0, test_cmd(cmd));

	// The reserved range is a hole in IOVA_RANGES.
	iommu_iova_range ranges[4];
	iommu_ioas_iova_ranges r = { .size = sizeof(r), .ioas_id = ioas, .num_iovas = 4,
				     .allowed_iovas = uptr(ranges) };
	ASSERT_EQ(0, iommufd_cxx_ioctl(ctx, IOMMU_IOAS_IOVA_RANGES, uptr(&r)));
	ASSERT_EQ(2u, r.num_iovas);
	EXPECT_EQ(0x100000u - 1, ranges[0].last);
	EXPECT_EQ(0x101000u, ranges[1].start);
}

} // namespace
