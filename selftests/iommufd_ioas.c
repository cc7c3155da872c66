// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd_ioas.c - the IOAS's IOVA space as user space sees it through
 * /dev/iommu: IOMMU_IOAS_IOVA_RANGES (the usable ranges, the EMSGSIZE
 * sizing protocol, the alignment) and IOMMU_IOAS_ALLOW_IOVAS (replacing and
 * clearing the allowed list), each with every bad input: reserved fields,
 * unknown IDs, unreadable and unwritable arrays, empty and overlapping
 * ranges, struct sizes.  Runs in the VM against iommufd_cxx.ko; TAP via the
 * kernel's kselftest harness.  Reserved ranges need the test ABI, so
 * EADDRINUSE is covered by the hosted unit tests instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iommufd.h"
#include "iommufd_util.h"
#include "kselftest_harness.h"

#define DEV_PATH "/dev/iommu"

static int iova_ranges(int fd, uint32_t ioas_id, struct iommu_iova_range *array,
		       uint32_t *num, uint64_t *alignment)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = *num,
		.allowed_iovas = (uintptr_t)array,
	};
	int ret = ioctl_err(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);

	*num = cmd.num_iovas;
	if (alignment)
		*alignment = cmd.out_iova_alignment;
	return ret;
}

static int allow_iovas(int fd, uint32_t ioas_id, const struct iommu_iova_range *ranges,
		       uint32_t num)
{
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = num,
		.allowed_iovas = (uintptr_t)ranges,
	};

	return ioctl_err(fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

FIXTURE(ioas)
{
	int fd;
	uint32_t ioas_id;
	long page;
	/* Two pages: read/write, then no access at all. */
	uint8_t *mem;
};

FIXTURE_SETUP(ioas)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	self->fd = open(DEV_PATH, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioctl_err(self->fd, IOMMU_IOAS_ALLOC, &alloc));
	self->ioas_id = alloc.out_ioas_id;
	self->page = sysconf(_SC_PAGESIZE);
	self->mem = mmap(NULL, 2 * self->page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	ASSERT_EQ(0, mprotect(self->mem + self->page, self->page, PROT_NONE));
}

FIXTURE_TEARDOWN(ioas)
{
	munmap(self->mem, 2 * self->page);
	close(self->fd);
}

/* ---- IOMMU_IOAS_IOVA_RANGES ------------------------------------------- */

TEST_F(ioas, iova_ranges_whole_space)
{
	struct iommu_iova_range r[4];
	uint64_t align = 0;
	uint32_t num = 4;

	memset(r, 0xa5, sizeof(r));
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, r, &num, &align));
	ASSERT_EQ(1, num);
	EXPECT_EQ(0, r[0].start);
	EXPECT_EQ(UINT64_MAX, r[0].last);
	/* No device attached: nothing constrains alignment. */
	EXPECT_EQ(1, align);
	/* Nothing past the count is written. */
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ull, r[1].start);
}

TEST_F(ioas, iova_ranges_too_small)
{
	struct iommu_iova_range r[1] = {};
	uint64_t align = 0;
	uint32_t num = 0;

	/* The count needed and the alignment come back with EMSGSIZE. */
	ASSERT_EQ(EMSGSIZE, iova_ranges(self->fd, self->ioas_id, r, &num, &align));
	EXPECT_EQ(1, num);
	EXPECT_EQ(1, align);
	EXPECT_EQ(0, r[0].start);
	EXPECT_EQ(0, r[0].last);
	/* No array at all is fine for sizing. */
	num = 0;
	ASSERT_EQ(EMSGSIZE, iova_ranges(self->fd, self->ioas_id, NULL, &num, NULL));
	EXPECT_EQ(1, num);
	/* Then with the size it asked for. */
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, r, &num, NULL));
	EXPECT_EQ(UINT64_MAX, r[0].last);
}

TEST_F(ioas, iova_ranges_not_narrowed_by_allowed)
{
	struct iommu_iova_range allowed[] = { { 0x100000, 0x1fffff } };
	struct iommu_iova_range r[2];
	uint32_t num = 2;

	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, allowed, 1));
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, r, &num, NULL));
	ASSERT_EQ(1, num);
	EXPECT_EQ(0, r[0].start);
	EXPECT_EQ(UINT64_MAX, r[0].last);
}

TEST_F(ioas, iova_ranges_bad_input)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 1,
		.__reserved = 1,
		.allowed_iovas = (uintptr_t)self->mem,
	};
	struct iommu_iova_range r[1];
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	uint32_t num;

	/* A reserved field set: EOPNOTSUPP, before the ID is looked at. */
	EXPECT_EQ(EOPNOTSUPP, ioctl_err(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	cmd.ioas_id = 0;
	EXPECT_EQ(EOPNOTSUPP, ioctl_err(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));

	/* Unknown IDs, including 0 and a destroyed IOAS. */
	num = 1;
	EXPECT_EQ(ENOENT, iova_ranges(self->fd, 0, r, &num, NULL));
	num = 1;
	EXPECT_EQ(ENOENT, iova_ranges(self->fd, self->ioas_id + 100, r, &num, NULL));
	num = 1;
	EXPECT_EQ(ENOENT, iova_ranges(self->fd, UINT32_MAX, r, &num, NULL));
	ASSERT_EQ(0, ioctl_err(self->fd, IOMMU_IOAS_ALLOC, &alloc));
	destroy.id = alloc.out_ioas_id;
	ASSERT_EQ(0, ioctl_err(self->fd, IOMMU_DESTROY, &destroy));
	num = 1;
	EXPECT_EQ(ENOENT, iova_ranges(self->fd, alloc.out_ioas_id, r, &num, NULL));

	/* The array cannot be written: NULL, a read-only page's guard, the
	 * top of the address space.
	 */
	num = 1;
	EXPECT_EQ(EFAULT, iova_ranges(self->fd, self->ioas_id, NULL, &num, NULL));
	num = 1;
	EXPECT_EQ(EFAULT, iova_ranges(self->fd, self->ioas_id,
				      (void *)(self->mem + self->page), &num, NULL));
	num = 1;
	EXPECT_EQ(EFAULT, iova_ranges(self->fd, self->ioas_id,
				      (void *)(uintptr_t)(UINT64_MAX - 7), &num, NULL));
	/* The struct itself cannot be read. */
	EXPECT_EQ(EFAULT, ioctl_err(self->fd, IOMMU_IOAS_IOVA_RANGES, NULL));
}

TEST_F(ioas, iova_ranges_struct_size)
{
	struct {
		struct iommu_ioas_iova_ranges cmd;
		uint64_t extra;
	} buf;
	struct iommu_iova_range r[1];

	memset(&buf, 0, sizeof(buf));
	buf.cmd.ioas_id = self->ioas_id;
	buf.cmd.num_iovas = 1;
	buf.cmd.allowed_iovas = (uintptr_t)r;
	/* out_iova_alignment has always been part of the struct. */
	buf.cmd.size = offsetof(struct iommu_ioas_iova_ranges, out_iova_alignment);
	EXPECT_EQ(EINVAL, ioctl_err(self->fd, IOMMU_IOAS_IOVA_RANGES, &buf));
	buf.cmd.size = sizeof(buf);
	buf.extra = 1;
	EXPECT_EQ(E2BIG, ioctl_err(self->fd, IOMMU_IOAS_IOVA_RANGES, &buf));
	buf.extra = 0;
	EXPECT_EQ(0, ioctl_err(self->fd, IOMMU_IOAS_IOVA_RANGES, &buf));
	EXPECT_EQ(1, buf.cmd.num_iovas);
	EXPECT_EQ(1, buf.cmd.out_iova_alignment);
	EXPECT_EQ(0, buf.extra);
}

/* ---- IOMMU_IOAS_ALLOW_IOVAS ------------------------------------------- */

TEST_F(ioas, allow_iovas_set_replace_clear)
{
	struct iommu_iova_range two[] = {
		{ 0x200000, 0x3fffff },
		{ 0x100000, 0x1fffff }, /* order does not matter */
	};
	struct iommu_iova_range whole[] = { { 0, UINT64_MAX } };
	struct iommu_iova_range adjacent[] = { { 0, 9 }, { 10, 20 } };

	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, two, 2));
	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, whole, 1));
	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, adjacent, 2));
	/* Zero entries clears the list; the pointer is not read. */
	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, NULL, 0));
	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, NULL, 0));
}

TEST_F(ioas, allow_iovas_bad_ranges)
{
	struct iommu_iova_range one_byte[] = { { 5, 5 } };
	struct iommu_iova_range backwards[] = { { 6, 5 } };
	struct iommu_iova_range overlap[] = { { 0, 100 }, { 100, 200 } };
	struct iommu_iova_range inside[] = { { 50, 60 }, { 0, UINT64_MAX } };
	struct iommu_iova_range late[] = { { 0, 10 }, { 20, 30 }, { 25, 26 } };

	/* Upstream refuses start >= last, so a one-byte range too. */
	EXPECT_EQ(EINVAL, allow_iovas(self->fd, self->ioas_id, one_byte, 1));
	EXPECT_EQ(EINVAL, allow_iovas(self->fd, self->ioas_id, backwards, 1));
	EXPECT_EQ(EINVAL, allow_iovas(self->fd, self->ioas_id, overlap, 2));
	EXPECT_EQ(EINVAL, allow_iovas(self->fd, self->ioas_id, inside, 2));
	EXPECT_EQ(EINVAL, allow_iovas(self->fd, self->ioas_id, late, 3));
	/* A valid prefix is accepted on its own. */
	EXPECT_EQ(0, allow_iovas(self->fd, self->ioas_id, late, 2));
}

TEST_F(ioas, allow_iovas_bad_input)
{
	struct iommu_iova_range good[] = { { 0x1000, 0x1fff } };
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 1,
		.__reserved = 1,
		.allowed_iovas = (uintptr_t)good,
	};
	struct iommu_iova_range *at_end;

	EXPECT_EQ(EOPNOTSUPP, ioctl_err(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	cmd.ioas_id = 0;
	EXPECT_EQ(EOPNOTSUPP, ioctl_err(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));

	EXPECT_EQ(ENOENT, allow_iovas(self->fd, 0, good, 1));
	EXPECT_EQ(ENOENT, allow_iovas(self->fd, self->ioas_id + 100, good, 1));
	EXPECT_EQ(ENOENT, allow_iovas(self->fd, UINT32_MAX, NULL, 0));

	/* Unreadable arrays. */
	EXPECT_EQ(EFAULT, allow_iovas(self->fd, self->ioas_id, NULL, 1));
	EXPECT_EQ(EFAULT, allow_iovas(self->fd, self->ioas_id,
				      (void *)(self->mem + self->page), 1));
	EXPECT_EQ(EFAULT, allow_iovas(self->fd, self->ioas_id,
				      (void *)(uintptr_t)(UINT64_MAX - 15), 2));
	/* The last element sits at the end of the readable page: a count of
	 * one more faults, as does an absurd count.
	 */
	at_end = (void *)(self->mem + self->page - sizeof(*at_end));
	at_end->start = 0x1000;
	at_end->last = 0x1fff;
	EXPECT_EQ(0, allow_iovas(self->fd, self->ioas_id, at_end, 1));
	EXPECT_EQ(EFAULT, allow_iovas(self->fd, self->ioas_id, at_end, 2));
	EXPECT_EQ(EFAULT, allow_iovas(self->fd, self->ioas_id, at_end, UINT32_MAX));
	/* A bad element before the fault wins: the walk is in order. */
	at_end->last = at_end->start;
	EXPECT_EQ(EINVAL, allow_iovas(self->fd, self->ioas_id, at_end, 2));
}

TEST_F(ioas, allow_iovas_struct_size)
{
	struct {
		struct iommu_ioas_allow_iovas cmd;
		uint32_t extra;
	} buf;

	memset(&buf, 0, sizeof(buf));
	buf.cmd.ioas_id = self->ioas_id;
	buf.cmd.size = sizeof(struct iommu_ioas_allow_iovas) - 1;
	EXPECT_EQ(EINVAL, ioctl_err(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &buf));
	buf.cmd.size = sizeof(buf);
	buf.extra = 1;
	EXPECT_EQ(E2BIG, ioctl_err(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &buf));
	buf.extra = 0;
	EXPECT_EQ(0, ioctl_err(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &buf));
}

/* Many ranges at once: the list is built and freed without leaking (the
 * runner checks live_allocs after every file is closed).
 */
TEST_F(ioas, allow_iovas_many)
{
	const uint32_t n = 4096;
	struct iommu_iova_range *r = calloc(n, sizeof(*r));
	uint32_t i;

	ASSERT_NE(NULL, r);
	for (i = 0; i < n; i++) {
		r[n - 1 - i].start = (uint64_t)i << 20;
		r[n - 1 - i].last = ((uint64_t)i << 20) + 0xfffff;
	}
	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, r, n));
	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, r, n / 2));
	/* A duplicate at the end fails the whole list; the old one stays. */
	r[n - 1] = r[0];
	EXPECT_EQ(EINVAL, allow_iovas(self->fd, self->ioas_id, r, n));
	free(r);
}

TEST_HARNESS_MAIN
