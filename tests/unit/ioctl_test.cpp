// SPDX-License-Identifier: GPL-2.0
//
// ioctl_test.cpp - the core through the same C entry points glue.c uses:
// dispatch rules, DESTROY and IOAS_ALLOC, bad user memory, and every
// allocation failure along the way (the host's fail-nth).
#include <gtest/gtest.h>
#include <string.h>

#include "fake_kapi.h"
#include "kapi.h"
#include "context.hpp"
#include "object.hpp"
#include "uapi/iommufd.h"

namespace {

uint64_t uptr(const void *p) { return reinterpret_cast<uint64_t>(p); }

class IoctlTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		allocs_before = iommufd_cxx_live_allocs();
		ASSERT_EQ(0, iommufd_cxx_open(&ctx, nullptr));
	}
	void TearDown() override
	{
		iommufd_cxx_release(ctx);
		fake_kapi::clear_fault_ranges();
		EXPECT_EQ(0, iommufd_cxx_live_objects());
		EXPECT_EQ(allocs_before, iommufd_cxx_live_allocs());
		EXPECT_EQ(0, fake_kapi::mutexes_held());
	}

	long ioctl(unsigned int cmd, void *arg) { return iommufd_cxx_ioctl(ctx, cmd, uptr(arg)); }

	long ioas_alloc(uint32_t *id)
	{
		iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
		long r = ioctl(IOMMU_IOAS_ALLOC, &cmd);
		*id = cmd.out_ioas_id;
		return r;
	}

	long destroy(uint32_t id)
	{
		iommu_destroy cmd = { .size = sizeof(cmd), .id = id };
		return ioctl(IOMMU_DESTROY, &cmd);
	}

	void *ctx = nullptr;
	long allocs_before = 0;
};

TEST_F(IoctlTest, AllocAndDestroy)
{
	uint32_t a, b;
	ASSERT_EQ(0, ioas_alloc(&a));
	ASSERT_EQ(0, ioas_alloc(&b));
	EXPECT_EQ(1u, a);
	EXPECT_EQ(2u, b);
	EXPECT_EQ(2, iommufd_cxx_live_objects());
	EXPECT_EQ(0, destroy(a));
	EXPECT_EQ(-ENOENT, destroy(a));
	EXPECT_EQ(-ENOENT, destroy(0));
	EXPECT_EQ(-ENOENT, destroy(UINT32_MAX));
}

TEST_F(IoctlTest, UnknownFlags)
{
	iommu_ioas_alloc cmd = { .size = sizeof(cmd), .flags = 1 };
	long lines = fake_kapi::log_lines();
	EXPECT_EQ(-EOPNOTSUPP, ioctl(IOMMU_IOAS_ALLOC, &cmd));
	EXPECT_GT(fake_kapi::log_lines(), lines); // bad input is reported
	EXPECT_EQ(0, iommufd_cxx_live_objects());
}

TEST_F(IoctlTest, SizeVersioning)
{
	struct {
		iommu_ioas_alloc cmd;
		uint8_t extra[32];
	} buf;
	for (uint32_t size = 0; size < 12; size++) {
		memset(&buf, 0, sizeof(buf));
		buf.cmd.size = size;
		EXPECT_EQ(-EINVAL, ioctl(IOMMU_IOAS_ALLOC, &buf)) << size;
	}
	memset(&buf, 0, sizeof(buf));
	buf.cmd.size = sizeof(buf);
	buf.extra[31] = 1;
	EXPECT_EQ(-E2BIG, ioctl(IOMMU_IOAS_ALLOC, &buf));
	buf.extra[31] = 0;
	memset(buf.extra, 0, sizeof(buf.extra));
	EXPECT_EQ(0, ioctl(IOMMU_IOAS_ALLOC, &buf));
	EXPECT_EQ(1u, buf.cmd.out_ioas_id);
	for (uint8_t b : buf.extra)
		EXPECT_EQ(0, b); // nothing past our struct is written

	// A tail running into unmapped memory after non-zero bytes is E2BIG,
	// all zero up to the hole is EFAULT.
	buf.cmd.size = sizeof(buf) + 4096;
	fake_kapi::add_fault_range(uptr(&buf) + sizeof(buf), 4096);
	EXPECT_EQ(-EFAULT, ioctl(IOMMU_IOAS_ALLOC, &buf));
	buf.extra[0] = 1;
	EXPECT_EQ(-E2BIG, ioctl(IOMMU_IOAS_ALLOC, &buf));
}

TEST_F(IoctlTest, UnknownCommands)
{
	iommu_destroy cmd = { .size = sizeof(cmd) };
	EXPECT_EQ(-ENOIOCTLCMD, ioctl(_IO(IOMMUFD_TYPE, 0x7f), &cmd));
	EXPECT_EQ(-ENOIOCTLCMD, ioctl(_IO(IOMMUFD_TYPE, 0xff), &cmd));
	EXPECT_EQ(-ENOIOCTLCMD, ioctl(_IOW(IOMMUFD_TYPE, 0x80, iommu_destroy), &cmd));
	EXPECT_EQ(-ENOIOCTLCMD, ioctl(_IO('V', 0x80), &cmd));
	// A command in the upstream table that this module does not serve yet.
	EXPECT_EQ(-ENOIOCTLCMD, ioctl(_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HW_QUEUE_ALLOC), &cmd));
}

TEST_F(IoctlTest, BadUserMemory)
{
	EXPECT_EQ(-EFAULT, iommufd_cxx_ioctl(ctx, IOMMU_DESTROY, 0));
	iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	// The response cannot be written: the new IOAS must not survive.
	fake_kapi::add_fault_range(uptr(&cmd.out_ioas_id), 4);
	EXPECT_EQ(-EFAULT, ioctl(IOMMU_IOAS_ALLOC, &cmd));
	EXPECT_EQ(0, iommufd_cxx_live_objects());
	fake_kapi::clear_fault_ranges();
	uint32_t id;
	EXPECT_EQ(0, ioas_alloc(&id));
	EXPECT_EQ(1u, id); // the aborted ID is free again
}

TEST_F(IoctlTest, ReleaseDestroysEverything)
{
	uint32_t id;
	for (int i = 0; i < 300; i++)
		ASSERT_EQ(0, ioas_alloc(&id));
	EXPECT_EQ(300, iommufd_cxx_live_objects());
	// TearDown releases the context and checks nothing is left.
}

// Fail each allocation in turn (open, then IOAS allocations that grow the
// table): every failure is -ENOMEM and leaves nothing behind.
TEST(IoctlFailNth, EveryAllocationFailureIsClean)
{
	long base = iommufd_cxx_live_allocs();
	int injected = 0;
	for (long nth = 0;; nth++) {
		fake_kapi::fail_alloc_after(nth);
		void *ctx = nullptr;
		int r = iommufd_cxx_open(&ctx, nullptr);
		if (r == 0) {
			for (int i = 0; i < 40; i++) {
				iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
				long e = iommufd_cxx_ioctl(ctx, IOMMU_IOAS_ALLOC, uptr(&cmd));
				ASSERT_TRUE(e == 0 || e == -ENOMEM) << e;
			}
			iommufd_cxx_release(ctx);
		} else {
			ASSERT_EQ(-ENOMEM, r);
		}
		bool hit = fake_kapi::injected();
		fake_kapi::fail_alloc_after(-1);
		ASSERT_EQ(0, iommufd_cxx_live_objects());
		ASSERT_EQ(base, iommufd_cxx_live_allocs());
		if (!hit)
			break;
		injected++;
	}
	EXPECT_GT(injected, 40);
}

} // namespace

// The context counts the references its objects hold on the /dev/iommu
// file: a put without a hold, or a release with a hold left, is a refcount
// bug that would free the file under its fd, and is caught (in the kernel:
// a WARN, and the put is refused).
TEST(ContextFileHolds, ImbalanceIsCaught)
{
	void *raw = nullptr;
	ASSERT_EQ(0, iommufd_cxx_open(&raw, nullptr));
	auto *ctx = static_cast<iommufd::Context *>(raw);
	const long refs = fake_kapi::file_refs_held();
	EXPECT_DEATH(ctx->put_file(), "context file put without a hold");
	ctx->hold_file();
	EXPECT_EQ(refs + 1, fake_kapi::file_refs_held());
	EXPECT_DEATH(iommufd_cxx_release(raw), "context released with file holds");
	ctx->put_file();
	EXPECT_EQ(refs, fake_kapi::file_refs_held());
	iommufd_cxx_release(raw);
}
