// SPDX-License-Identifier: GPL-2.0
//
// ioas_ioctl_test.cpp - IOMMU_IOAS_IOVA_RANGES and IOMMU_IOAS_ALLOW_IOVAS
// through iommufd_cxx_ioctl, as user space reaches them: success, the
// EMSGSIZE sizing protocol, and every errno path (EOPNOTSUPP for
// __reserved, ENOENT, EFAULT at each user access, EINVAL and EADDRINUSE for
// bad lists, ENOMEM at each allocation).  Reserved ranges, which only the
// test ABI can add from user space, are added here through the IOAS object.
#include <gtest/gtest.h>
#include <string.h>

#include <vector>

#include "context.hpp"
#include "fake_kapi.h"
#include "ioas.hpp"
#include "kapi.h"
#include "uapi/iommufd.h"

using namespace iommufd;

namespace {

constexpr uint64_t P = iopt::kPageSize;

uint64_t uptr(const void *p) { return reinterpret_cast<uint64_t>(p); }

class IoasIoctlTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		allocs_before = iommufd_cxx_live_allocs();
		ASSERT_EQ(0, iommufd_cxx_open(&ctx, nullptr));
		iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
		ASSERT_EQ(0, ioctl(IOMMU_IOAS_ALLOC, &cmd));
		ioas_id = cmd.out_ioas_id;
	}
	void TearDown() override
	{
		iommufd_cxx_release(ctx);
		fake_kapi::clear_fault_ranges();
		fake_kapi::fail_alloc_after(-1);
		EXPECT_EQ(0, iommufd_cxx_live_objects());
		EXPECT_EQ(allocs_before, iommufd_cxx_live_allocs());
		EXPECT_EQ(0, fake_kapi::mutexes_held());
	}

	long ioctl(unsigned int cmd, void *arg) { return iommufd_cxx_ioctl(ctx, cmd, uptr(arg)); }

	// The IOAS object itself, for what user space cannot do yet.
	iopt::IoPagetable &iopt()
	{
		auto ref = static_cast<Context *>(ctx)->objects().get<Ioas>(ioas_id);
		EXPECT_TRUE(ref.ok());
		return ref.value()->iopt(); // the table's own reference keeps it alive
	}

	long ranges(iommu_iova_range *array, uint32_t *num, uint64_t *alignment = nullptr,
		    uint32_t id = 0)
	{
		iommu_ioas_iova_ranges cmd = {
			.size = sizeof(cmd),
			.ioas_id = id ? id : ioas_id,
			.num_iovas = *num,
			.allowed_iovas = uptr(array),
		};
		long r = ioctl(IOMMU_IOAS_IOVA_RANGES, &cmd);
		*num = cmd.num_iovas;
		if (alignment)
			*alignment = cmd.out_iova_alignment;
		return r;
	}

	long allow(const std::vector<iommu_iova_range> &list, uint32_t id = 0)
	{
		iommu_ioas_allow_iovas cmd = {
			.size = sizeof(cmd),
			.ioas_id = id ? id : ioas_id,
			.num_iovas = uint32_t(list.size()),
			.allowed_iovas = uptr(list.data()),
		};
		return ioctl(IOMMU_IOAS_ALLOW_IOVAS, &cmd);
	}

	void *ctx = nullptr;
	uint32_t ioas_id = 0;
	long allocs_before = 0;
};

// ---- IOMMU_IOAS_IOVA_RANGES ---------------------------------------------------

TEST_F(IoasIoctlTest, RangesOfAnEmptyIoas)
{
	iommu_iova_range r[4] = {};
	uint32_t num = 4;
	uint64_t align = 0;
	ASSERT_EQ(0, ranges(r, &num, &align));
	EXPECT_EQ(1u, num);
	EXPECT_EQ(0u, r[0].start);
	EXPECT_EQ(UINT64_MAX, r[0].last);
	EXPECT_EQ(1u, align);
	EXPECT_EQ(0u, r[1].last); // nothing written past the count
}

TEST_F(IoasIoctlTest, RangesTooSmallIsEmsgsizeWithCount)
{
	iommu_iova_range r[3] = {};
	uint32_t num = 0;
	uint64_t align = 0;
	EXPECT_EQ(-EMSGSIZE, ranges(r, &num, &align));
	EXPECT_EQ(1u, num); // the count needed comes back anyway
	EXPECT_EQ(1u, align);
	EXPECT_EQ(0u, r[0].start);
	EXPECT_EQ(0u, r[0].last);

	ASSERT_TRUE(iopt().reserve(P, 2 * P - 1, nullptr).ok());
	ASSERT_TRUE(iopt().reserve(10 * P, 10 * P, nullptr).ok());
	num = 1;
	EXPECT_EQ(-EMSGSIZE, ranges(r, &num));
	EXPECT_EQ(3u, num);
	EXPECT_EQ(0u, r[0].start); // filled as far as it fits
	EXPECT_EQ(P - 1, r[0].last);
	EXPECT_EQ(0u, r[1].start);
	EXPECT_EQ(0u, r[1].last);

	num = 3;
	ASSERT_EQ(0, ranges(r, &num));
	EXPECT_EQ(3u, num);
	EXPECT_EQ(2 * P, r[1].start);
	EXPECT_EQ(10 * P - 1, r[1].last);
	EXPECT_EQ(10 * P + 1, r[2].start);
	EXPECT_EQ(UINT64_MAX, r[2].last);

	// With no array at all, sizing still works.
	num = 0;
	iommu_ioas_iova_ranges cmd = { .size = sizeof(cmd), .ioas_id = ioas_id };
	EXPECT_EQ(-EMSGSIZE, ioctl(IOMMU_IOAS_IOVA_RANGES, &cmd));
	EXPECT_EQ(3u, cmd.num_iovas);
}

TEST_F(IoasIoctlTest, RangesReportAlignment)
{
	ASSERT_TRUE(iopt().set_iova_alignment(P).ok());
	iommu_iova_range r[1];
	uint32_t num = 1;
	uint64_t align = 0;
	ASSERT_EQ(0, ranges(r, &num, &align));
	EXPECT_EQ(P, align);
}

TEST_F(IoasIoctlTest, RangesBadInput)
{
	iommu_iova_range r[2] = {};
	uint32_t num = 2;
	iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = 2,
		.__reserved = 1,
		.allowed_iovas = uptr(r),
	};
	long lines = fake_kapi::log_lines();
	EXPECT_EQ(-EOPNOTSUPP, ioctl(IOMMU_IOAS_IOVA_RANGES, &cmd));
	EXPECT_GT(fake_kapi::log_lines(), lines);
	// __reserved is checked before the ID.
	cmd.ioas_id = 999;
	EXPECT_EQ(-EOPNOTSUPP, ioctl(IOMMU_IOAS_IOVA_RANGES, &cmd));
	EXPECT_EQ(2u, cmd.num_iovas); // nothing written back

	EXPECT_EQ(-ENOENT, ranges(r, &num, nullptr, 999));
	num = 2;
	EXPECT_EQ(-ENOENT, ranges(r, &num, nullptr, UINT32_MAX));

	// An ID that was an IOAS but is destroyed.
	iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	ASSERT_EQ(0, ioctl(IOMMU_IOAS_ALLOC, &alloc));
	iommu_destroy destroy = { .size = sizeof(destroy), .id = alloc.out_ioas_id };
	ASSERT_EQ(0, ioctl(IOMMU_DESTROY, &destroy));
	num = 2;
	EXPECT_EQ(-ENOENT, ranges(r, &num, nullptr, alloc.out_ioas_id));

	// The array cannot be written.
	num = 2;
	fake_kapi::add_fault_range(uptr(r), sizeof(r));
	EXPECT_EQ(-EFAULT, ranges(r, &num));
	fake_kapi::clear_fault_ranges();
	num = 2;
	EXPECT_EQ(-EFAULT, ranges(reinterpret_cast<iommu_iova_range *>(16), &num));
	// An array running off the end of the address space.
	num = 2;
	EXPECT_EQ(-EFAULT, ranges(reinterpret_cast<iommu_iova_range *>(UINT64_MAX - 7), &num));

	// Only the second element is unwritable: EFAULT there.
	ASSERT_TRUE(iopt().reserve(P, P, nullptr).ok());
	num = 2;
	fake_kapi::add_fault_range(uptr(&r[1]), sizeof(r[1]));
	EXPECT_EQ(-EFAULT, ranges(r, &num));
	fake_kapi::clear_fault_ranges();

	// The response cannot be written back.
	cmd = { .size = sizeof(cmd), .ioas_id = ioas_id, .num_iovas = 2, .allowed_iovas = uptr(r) };
	fake_kapi::add_fault_range(uptr(&cmd.num_iovas), 4);
	EXPECT_EQ(-EFAULT, ioctl(IOMMU_IOAS_IOVA_RANGES, &cmd));
}

TEST_F(IoasIoctlTest, RangesSizeVersioning)
{
	struct {
		iommu_ioas_iova_ranges cmd;
		uint8_t extra[8];
	} buf = {};
	iommu_iova_range r[1];
	buf.cmd.ioas_id = ioas_id;
	buf.cmd.num_iovas = 1;
	buf.cmd.allowed_iovas = uptr(r);
	buf.cmd.size = offsetof(iommu_ioas_iova_ranges, out_iova_alignment) + 7;
	EXPECT_EQ(-EINVAL, ioctl(IOMMU_IOAS_IOVA_RANGES, &buf));
	buf.cmd.size = sizeof(buf);
	buf.extra[3] = 1;
	EXPECT_EQ(-E2BIG, ioctl(IOMMU_IOAS_IOVA_RANGES, &buf));
	buf.extra[3] = 0;
	EXPECT_EQ(0, ioctl(IOMMU_IOAS_IOVA_RANGES, &buf));
	EXPECT_EQ(1u, buf.cmd.out_iova_alignment);
	for (uint8_t b : buf.extra)
		EXPECT_EQ(0, b);
}

// ---- IOMMU_IOAS_ALLOW_IOVAS --------------------------------------------------------

TEST_F(IoasIoctlTest, AllowSetsAndClears)
{
	ASSERT_EQ(0, allow({ { 100 * P, 200 * P - 1 }, { 256 * P, 512 * P - 1 } }));
	EXPECT_EQ(2u, iopt().allowed_count());
	// 80 pages want 128-page alignment: 128..207 overruns the first range.
	auto r = iopt().alloc_iova(0, 80 * P);
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(256 * P, r.value());
	// The usable ranges are not narrowed by it.
	iommu_iova_range out[2];
	uint32_t num = 2;
	ASSERT_EQ(0, ranges(out, &num));
	EXPECT_EQ(1u, num);
	// Replace, then clear.
	ASSERT_EQ(0, allow({ { 10 * P, 20 * P } }));
	EXPECT_EQ(1u, iopt().allowed_count());
	ASSERT_EQ(0, allow({}));
	EXPECT_EQ(0u, iopt().allowed_count());
	// Unordered input is fine; only overlap is not.
	ASSERT_EQ(0, allow({ { 50, 60 }, { 0, 49 }, { 61, UINT64_MAX } }));
	EXPECT_EQ(3u, iopt().allowed_count());
}

TEST_F(IoasIoctlTest, AllowBadRanges)
{
	ASSERT_EQ(0, allow({ { 100 * P, 200 * P - 1 } }));
	long lines = fake_kapi::log_lines();
	EXPECT_EQ(-EINVAL, allow({ { 5, 5 } })); // start == last is refused too
	EXPECT_GT(fake_kapi::log_lines(), lines);
	EXPECT_EQ(-EINVAL, allow({ { 6, 5 } }));
	EXPECT_EQ(-EINVAL, allow({ { 0, 100 }, { 100, 200 } }));
	EXPECT_EQ(-EINVAL, allow({ { 50, 60 }, { 0, UINT64_MAX } }));
	EXPECT_EQ(-EINVAL, allow({ { 0, 10 }, { 20, 30 }, { 25, 25 } }));
	// The old list survives every failure.
	EXPECT_EQ(1u, iopt().allowed_count());
	auto r = iopt().alloc_iova(0, P);
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(100 * P, r.value());
}

TEST_F(IoasIoctlTest, AllowOverReservedIsEaddrinuse)
{
	ASSERT_EQ(0, allow({ { 100 * P, 200 * P - 1 } }));
	ASSERT_TRUE(iopt().reserve(300 * P, 300 * P, nullptr).ok());
	EXPECT_EQ(-EADDRINUSE, allow({ { 0, P }, { 250 * P, 350 * P } }));
	EXPECT_EQ(1u, iopt().allowed_count());
	EXPECT_EQ(0, allow({ { 250 * P, 300 * P - 1 } }));
	// And the other way round: reserving inside an allowed range.
	cxx::Status st = iopt().reserve(260 * P, 260 * P, nullptr);
	ASSERT_FALSE(st.ok());
	EXPECT_EQ(-EADDRINUSE, st.code());
}

TEST_F(IoasIoctlTest, AllowBadInput)
{
	std::vector<iommu_iova_range> list = { { P, 2 * P } };
	iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = 1,
		.__reserved = 1,
		.allowed_iovas = uptr(list.data()),
	};
	EXPECT_EQ(-EOPNOTSUPP, ioctl(IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	cmd.ioas_id = 77;
	EXPECT_EQ(-EOPNOTSUPP, ioctl(IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	EXPECT_EQ(-ENOENT, allow(list, 77));
	EXPECT_EQ(0u, iopt().allowed_count());

	// The array cannot be read: at the first element, or part way, where
	// an earlier bad element wins (the walk is in order).
	cmd = { .size = sizeof(cmd), .ioas_id = ioas_id, .num_iovas = 1, .allowed_iovas = 8 };
	EXPECT_EQ(-EFAULT, ioctl(IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	list = { { P, 2 * P }, { 3 * P, 4 * P }, { 5 * P, 6 * P } };
	fake_kapi::add_fault_range(uptr(&list[1].last), 8);
	EXPECT_EQ(-EFAULT, allow(list));
	list[0].last = 0;
	EXPECT_EQ(-EINVAL, allow(list));
	fake_kapi::clear_fault_ranges();
	EXPECT_EQ(0u, iopt().allowed_count());
	// num_iovas larger than the array: the walk faults where memory ends.
	list = { { P, 2 * P } };
	cmd = { .size = sizeof(cmd), .ioas_id = ioas_id, .num_iovas = UINT32_MAX,
		.allowed_iovas = uptr(list.data()) };
	fake_kapi::add_fault_range(uptr(list.data()) + sizeof(iommu_iova_range), 4096);
	EXPECT_EQ(-EFAULT, ioctl(IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	fake_kapi::clear_fault_ranges();
	// An array running off the end of the address space.
	cmd.num_iovas = 2;
	cmd.allowed_iovas = UINT64_MAX - 15;
	fake_kapi::add_fault_range(UINT64_MAX - 15, 16);
	EXPECT_EQ(-EFAULT, ioctl(IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	EXPECT_EQ(0u, iopt().allowed_count());

	// Size: below the minimum, and an unknown non-zero tail.
	struct {
		iommu_ioas_allow_iovas cmd;
		uint32_t extra;
	} buf = {};
	buf.cmd.ioas_id = ioas_id;
	buf.cmd.size = sizeof(iommu_ioas_allow_iovas) - 1;
	EXPECT_EQ(-EINVAL, ioctl(IOMMU_IOAS_ALLOW_IOVAS, &buf));
	buf.cmd.size = sizeof(buf);
	buf.extra = 1;
	EXPECT_EQ(-E2BIG, ioctl(IOMMU_IOAS_ALLOW_IOVAS, &buf));
	buf.extra = 0;
	EXPECT_EQ(0, ioctl(IOMMU_IOAS_ALLOW_IOVAS, &buf));
}

// Fail each allocation of a 6-range ALLOW_IOVAS in turn: ENOMEM, the old
// list intact, nothing leaked (TearDown).
TEST_F(IoasIoctlTest, AllowFailNth)
{
	ASSERT_EQ(0, allow({ { P, 2 * P } }));
	std::vector<iommu_iova_range> list;
	for (uint64_t i = 0; i < 6; i++)
		list.push_back({ (10 + 10 * i) * P, (15 + 10 * i) * P });
	int injected = 0;
	for (long nth = 0;; nth++) {
		fake_kapi::fail_alloc_after(nth);
		long r = allow(list);
		bool hit = fake_kapi::injected();
		fake_kapi::fail_alloc_after(-1);
		if (!hit) {
			ASSERT_EQ(0, r);
			break;
		}
		ASSERT_EQ(-ENOMEM, r);
		ASSERT_EQ(1u, iopt().allowed_count());
		injected++;
	}
	EXPECT_EQ(6, injected);
	EXPECT_EQ(6u, iopt().allowed_count());
}

} // namespace
