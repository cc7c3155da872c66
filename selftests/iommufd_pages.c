// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd_pages.c - pinned pages as user space sees them through /dev/iommu:
 * IOMMU_IOAS_MAP, MAP_FILE, COPY, UNMAP and CHANGE_PROCESS, IOMMU_OPTION
 * (RLIMIT_MODE, HUGE_PAGES), and the accounting of what they pin.
 *
 * What is measured, and where:
 *  - VmPin and VmLck of /proc/<pid>/status (mm->pinned_vm, mm->locked_vm)
 *    before and after every step; each must come back to where it started.
 *    Pages are pinned only while a domain or an access needs them, so an
 *    IOAS without a domain pins nothing on MAP.
 *  - The pin count of each page (IOMMU_TEST_OP_MD_CHECK_REFS, refs = pins):
 *    0 after unmap and after close.
 *  - The accounting modes (pages.c of upstream): a task with CAP_IPC_LOCK
 *    charges nothing (NONE) but still raises VmPin; without it USER mode
 *    charges the user's locked_vm against RLIMIT_MEMLOCK (invisible in
 *    /proc, so it is observed through the limit) and raises VmPin; MM mode
 *    (IOMMU_OPTION RLIMIT_MODE=1, VFIO compatible) charges mm->locked_vm
 *    (VmLck) against RLIMIT_MEMLOCK and raises VmPin. Tests that need an
 *    unprivileged pinner fork nothing extra: the harness already runs each
 *    test in its own process, which drops to a fresh uid (or drops
 *    CAP_IPC_LOCK with capset) after opening the device.
 *  - Every errno path of MAP/MAP_FILE/COPY/UNMAP/CHANGE_PROCESS/OPTION.
 *
 * Domains come from the test ABI (IOMMU_TEST_OP_MOCK_DOMAIN; iommufd_cxx.ko
 * loaded with test_abi=1, or a kernel with CONFIG_IOMMUFD_TEST); tests that
 * need it skip without it. MAP_FILE (6.13) and CHANGE_PROCESS (6.14) tests
 * skip where the kernel answers ENOTTY.
 *
 * The device is $IOMMUFD_DEV, default /dev/iommu: the same binary runs
 * against the kernel's own iommufd (the reference) and against the module
 * loaded with devname=<other> next to it. Needs root (it drops privileges
 * itself) and, for the hugetlb cases, reserved huge pages
 * (/proc/sys/vm/nr_hugepages); they skip otherwise.
 *
 * Validation: every test passes against the in-kernel iommufd.ko
 * (CONFIG_IOMMUFD_TEST) of the debug test kernel built from Debian's 6.12
 * tree, except the MAP_FILE and CHANGE_PROCESS ones, which that kernel
 * cannot run (ENOTTY, they skip there): those follow upstream's newest
 * ioas.c, io_pagetable.c and pages.c, and mm/gup.c's memfd_pin_folios().
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iommufd.h"
#include "iommufd_test.h"
#include "iommufd_util.h"
#include "kselftest_harness.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED (IOMMU_IOAS_MAP_FIXED_IOVA)
#define BUF_PAGES 64
#define HUGE_2M (2UL << 20)
/* A mock domain's IO page size: IOVAs and lengths are multiples of it. */
#define MOCK_IO_PAGE (PAGE_SZ / 2)

static long PAGE_SZ;
#define KB(pages) ((long)(pages) * PAGE_SZ / 1024)

static const char *dev_path(void)
{
	const char *p = getenv("IOMMUFD_DEV");

	return p && *p ? p : "/dev/iommu";
}

/* ---- small helpers: each returns 0 or the errno ----------------------- */

/* *iova is input with FIXED, output otherwise; may be NULL without FIXED. */
static int map(int fd, uint32_t ioas, const void *va, uint64_t len, uint64_t *iova,
	       uint32_t flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = (flags & FIXED) && iova ? *iova : 0,
	};
	int ret = ioctl_err(fd, IOMMU_IOAS_MAP, &cmd);

	if (!ret && iova)
		*iova = cmd.iova;
	return ret;
}

static int map_at(int fd, uint32_t ioas, const void *va, uint64_t len, uint64_t iova)
{
	return map(fd, ioas, va, len, &iova, FIXED | RW);
}

static int map_file(int fd, uint32_t ioas, int mfd, uint64_t start, uint64_t len,
		    uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas,
		.fd = mfd,
		.start = start,
		.length = len,
		.iova = (flags & FIXED) && iova ? *iova : 0,
	};
	int ret = ioctl_err(fd, IOMMU_IOAS_MAP_FILE, &cmd);

	if (!ret && iova)
		*iova = cmd.iova;
	return ret;
}

static int unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t len, uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.iova = iova,
		.length = len,
	};
	int ret = ioctl_err(fd, IOMMU_IOAS_UNMAP, &cmd);

	if (!ret && unmapped)
		*unmapped = cmd.length;
	return ret;
}

static int copy(int fd, uint32_t dst, uint32_t src, uint64_t src_iova, uint64_t len,
		uint64_t *dst_iova, uint32_t flags)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = len,
		.dst_iova = (flags & FIXED) && dst_iova ? *dst_iova : 0,
		.src_iova = src_iova,
	};
	int ret = ioctl_err(fd, IOMMU_IOAS_COPY, &cmd);

	if (!ret && dst_iova)
		*dst_iova = cmd.dst_iova;
	return ret;
}

static int option(int fd, uint32_t option_id, uint16_t op, uint32_t object_id,
		  uint64_t *val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option_id,
		.op = op,
		.object_id = object_id,
		.val64 = *val,
	};
	int ret = ioctl_err(fd, IOMMU_OPTION, &cmd);

	*val = cmd.val64;
	return ret;
}

static int set_rlimit_mode(int fd, uint64_t v)
{
	return option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v);
}

static int set_huge_pages(int fd, uint32_t ioas, uint64_t v)
{
	return option(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v);
}

static int change_process(int fd)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };

	return ioctl_err(fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd);
}

static int iova_alignment(int fd, uint32_t ioas, uint64_t *align)
{
	struct iommu_iova_range r[8];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = 8,
		.allowed_iovas = (uintptr_t)r,
	};
	int ret = ioctl_err(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);

	*align = cmd.out_iova_alignment;
	return ret;
}

static int allow_iovas(int fd, uint32_t ioas, uint64_t start, uint64_t last)
{
	struct iommu_iova_range r = { .start = start, .last = last };
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = 1,
		.allowed_iovas = (uintptr_t)&r,
	};

	return ioctl_err(fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

/* ---- the test ABI ------------------------------------------------------ */

/* 0 when every page of [p, p + len) is pinned exactly @refs times. */
/* 0 when the mock domain @hwpt maps [iova, iova + len) to the pages at @p. */
static int destroy_access_pages(int fd, int access_fd, uint32_t item)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
		.id = access_fd,
		.destroy_access_pages = { .access_pages_id = item },
	};

	return ioctl_err(fd, IOMMU_TEST_CMD, &cmd);
}

/* The size of the kernel's temporary PFN batches (upstream's default 64 KiB). */
static int set_temp_memory_limit(int fd, uint32_t limit)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
		.memory_limit = { .limit = limit },
	};

	return ioctl_err(fd, IOMMU_TEST_CMD, &cmd);
}

#define DEFAULT_TEMP_MEMORY_LIMIT 65536

/* ---- process state ----------------------------------------------------- */

#define VMPIN(pid) vm_kb(pid, "VmPin")
#define VMLCK(pid) vm_kb(pid, "VmLck")

static int set_memlock(uint64_t bytes)
{
	struct rlimit r = { .rlim_cur = bytes, .rlim_max = bytes };

	return setrlimit(RLIMIT_MEMLOCK, &r) ? errno : 0;
}

/* The soft limit only: an unprivileged process may move it up to the hard one. */
static int set_memlock_soft(uint64_t bytes)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_MEMLOCK, &r))
		return errno;
	r.rlim_cur = bytes;
	return setrlimit(RLIMIT_MEMLOCK, &r) ? errno : 0;
}

/*
 * Become a fresh, unprivileged user: no capabilities (so accounting is not
 * NONE) and a user_struct of its own (so its locked_vm starts at 0 and
 * nothing another test left behind counts). Open files stay usable.
 */
static int become_user(void)
{
	uid_t uid = 40000 + getpid() % 20000;

	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		return errno;
	return 0;
}

/* Anonymous memory of @pages small pages, populated, no THP. */
static void *alloc_pages(size_t pages, int flags)
{
	size_t len = pages * PAGE_SZ;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | flags, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, 0x5a, len);
	return p;
}

/* Like alloc_pages, touched even pages first, then odd: virtually adjacent
 * pages are physically apart, so every PFN run is one page long.
 */
static void *alloc_fragmented(size_t pages)
{
	uint8_t *p = mmap(NULL, pages * PAGE_SZ, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, pages * PAGE_SZ, MADV_NOHUGEPAGE);
	for (i = 0; i < pages; i += 2)
		p[i * PAGE_SZ] = 1;
	for (i = 1; i < pages; i += 2)
		p[i * PAGE_SZ] = 1;
	return p;
}

/* @len bytes of 2 MiB aligned memory: THP (MADV_HUGEPAGE) or hugetlbfs. */
static void *alloc_huge(size_t len, bool hugetlb)
{
	void *p;

	if (hugetlb) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	p = mmap(NULL, len + HUGE_2M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	p = (void *)(((uintptr_t)p + HUGE_2M - 1) & ~(HUGE_2M - 1));
	madvise(p, len, MADV_HUGEPAGE);
	memset(p, 0x5a, len);
	return p;
}

static int memfd(size_t len, unsigned int flags)
{
	int fd = memfd_create("iommufd_pages", flags);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Run @fn in a child process and wait for it. The child cannot use the
 * harness's ASSERTs: it returns 0 for success or the number of the check
 * that failed, which comes back as the exit status.
 */
static int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* A child that runs in steps, in lock-step with the test through pipes. */
struct stepper {
	pid_t pid;
	int to_child, from_child;
};

static void child_wait(int rfd)
{
	char c;

	if (read(rfd, &c, 1) != 1)
		_exit(100);
}

/* The last wait: until the test lets go (stepper_finish), so the test can
 * still read the child's /proc status after its last step.
 */
static void child_wait_end(int rfd)
{
	char c;

	while (read(rfd, &c, 1) > 0)
		;
}

static void child_step_done(int wfd, char result)
{
	if (write(wfd, &result, 1) != 1)
		_exit(101);
}

/* Start @fn(arg, rfd, wfd) in a child; it calls child_step_done() after
 * each step and child_wait() before the next.
 */
static int stepper_start(struct stepper *s, int (*fn)(void *, int, int), void *arg)
{
	int down[2], up[2];

	if (pipe(down) || pipe(up))
		return -1;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (!s->pid) {
		close(down[1]);
		close(up[0]);
		_exit(fn(arg, down[0], up[1]));
	}
	close(down[0]);
	close(up[1]);
	s->to_child = down[1];
	s->from_child = up[0];
	return 0;
}

/* Wait for the child's next step; its one-byte result (0 = ok). */
static int stepper_result(struct stepper *s)
{
	char c;

	if (read(s->from_child, &c, 1) != 1)
		return -1;
	return c;
}

static void stepper_go(struct stepper *s)
{
	char c = 0;

	if (write(s->to_child, &c, 1) != 1)
		return;
}

static int stepper_finish(struct stepper *s)
{
	int status;

	close(s->to_child);
	close(s->from_child);
	if (waitpid(s->pid, &status, 0) != s->pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static bool have_hugetlb(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		return false;
	munmap(p, len);
	return true;
}

static __attribute__((constructor)) void setup_sizes(void)
{
	PAGE_SZ = sysconf(_SC_PAGESIZE);
}

/* ======================================================================== */

FIXTURE(pages)
{
	int fd;		/* the context under test */
	int check_fd;	/* a second context, for MD_CHECK_REFS after close */
	uint32_t ioas_id;
	bool test_abi;
	uint8_t *buf;	/* BUF_PAGES populated small pages, MAP_PRIVATE */
	uint8_t *sbuf;	/* BUF_PAGES populated small pages, MAP_SHARED */
	size_t len;
};

FIXTURE_SETUP(pages)
{
	self->fd = open(dev_path(), O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", dev_path(), strerror(errno));
	self->check_fd = open(dev_path(), O_RDWR);
	ASSERT_LE(0, self->check_fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	self->len = BUF_PAGES * PAGE_SZ;
	self->buf = alloc_pages(BUF_PAGES, MAP_PRIVATE);
	ASSERT_NE(NULL, self->buf);
	self->sbuf = alloc_pages(BUF_PAGES, MAP_SHARED);
	ASSERT_NE(NULL, self->sbuf);
	/* The test ABI is there if a harmless op answers. */
	self->test_abi = check_refs(self->check_fd, self->buf, PAGE_SZ, 0) != ENOTTY;
}

FIXTURE_TEARDOWN(pages)
{
	/* A test may have shrunk the (global) PFN batch size. */
	if (self->test_abi)
		set_temp_memory_limit(self->check_fd, DEFAULT_TEMP_MEMORY_LIMIT);
	if (self->fd >= 0)
		EXPECT_EQ(0, close(self->fd));
	/* Closing released every pin of the fixture's buffers. */
	if (self->test_abi && self->check_fd >= 0) {
		EXPECT_EQ(0, check_refs(self->check_fd, self->buf, self->len, 0));
		EXPECT_EQ(0, check_refs(self->check_fd, self->sbuf, self->len, 0));
	}
	if (self->check_fd >= 0)
		close(self->check_fd);
}

#define NEED_TEST_ABI()                                                        \
	do {                                                                   \
		if (!self->test_abi)                                           \
			SKIP(return, "no test ABI (IOMMU_TEST_CMD) on %s",     \
			     dev_path());                                      \
	} while (0)

/* ENOTTY from a well-formed command: the kernel is older than the ioctl. */
#define NEED_IOCTL(ret, name)                                                  \
	do {                                                                   \
		if ((ret) == ENOTTY)                                           \
			SKIP(return, "%s: ENOTTY (not in this kernel)", name); \
	} while (0)

/* ---- accounting, privileged (CAP_IPC_LOCK: no charge, VmPin still) ---- */

TEST_F(pages, no_domain_pins_nothing)
{
	long pin0 = VMPIN(0), lck0 = VMLCK(0);
	uint64_t iova, done;

	ASSERT_LE(0, pin0);
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, self->len, &iova, RW));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(lck0, VMLCK(0));
	if (self->test_abi)
		EXPECT_EQ(0, check_refs(self->check_fd, self->buf, self->len, 0));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, self->len, &done));
	EXPECT_EQ(self->len, done);
	EXPECT_EQ(pin0, VMPIN(0));
}

TEST_F(pages, map_unmap_with_domain)
{
	long pin0 = VMPIN(0), lck0 = VMLCK(0);
	uint32_t stdev, hwpt;
	uint64_t iova, done;

	NEED_TEST_ABI();
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt));
	EXPECT_EQ(pin0, VMPIN(0));

	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, self->len, &iova, RW));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	/* CAP_IPC_LOCK: no locked_vm charge. */
	EXPECT_EQ(lck0, VMLCK(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 1));
	EXPECT_EQ(0, check_map(self->fd, hwpt, iova, self->len, self->buf));

	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, self->len, &done));
	EXPECT_EQ(self->len, done);
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(lck0, VMLCK(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 0));
}

/* A domain attached after MAP pins then; detaching the last one unpins. */
TEST_F(pages, attach_detach_pins_unpins)
{
	long pin0 = VMPIN(0);
	uint32_t stdev, stdev2, hwpt;
	uint64_t done;

	NEED_TEST_ABI();
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, self->len,
			    MOCK_APERTURE_START));
	EXPECT_EQ(pin0, VMPIN(0));

	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 1));
	EXPECT_EQ(0, check_map(self->fd, hwpt, MOCK_APERTURE_START, self->len, self->buf));

	/* A second domain reads the pages from the first: no second pin. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev2, NULL));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 1));

	ASSERT_EQ(0, destroy(self->fd, stdev));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 1));
	ASSERT_EQ(0, destroy(self->fd, stdev2));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 0));

	/* The mapping itself is still there. */
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, MOCK_APERTURE_START, self->len, &done));
	EXPECT_EQ(self->len, done);
}

/* Two MAPs of the same memory are two pins; a COPY shares the first one. */
TEST_F(pages, map_twice_pins_twice_copy_does_not)
{
	long pin0 = VMPIN(0), lck0 = VMLCK(0);
	uint32_t ioas2, stdev2, hwpt2;
	uint64_t iova1, iova2, iova3;

	NEED_TEST_ABI();
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, &stdev2, &hwpt2));

	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, self->len, &iova1, RW));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, self->len, &iova2, RW));
	EXPECT_EQ(pin0 + 2 * KB(BUF_PAGES), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 2));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova2, self->len, NULL));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 1));

	/* COPY into a second IOAS with its own domain. */
	ASSERT_EQ(0, copy(self->fd, ioas2, self->ioas_id, iova1, self->len, &iova3, RW));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	EXPECT_EQ(lck0, VMLCK(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 1));
	EXPECT_EQ(0, check_map(self->fd, hwpt2, iova3, self->len, self->buf));

	/* The copy keeps the pages pinned after the source goes. */
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova1, self->len, NULL));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 1));
	ASSERT_EQ(0, unmap(self->fd, ioas2, iova3, self->len, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 0));
}

/* A COPY from an IOAS without a domain into one with a domain pins once;
 * a domain attached to the source later shares that pin.
 */
TEST_F(pages, copy_from_lazy_pins_once)
{
	long pin0 = VMPIN(0);
	uint32_t ioas2, stdev;
	uint64_t iova1, iova2, iova3;

	NEED_TEST_ABI();
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, NULL, NULL));
	/* Inside the mock aperture, so a domain can come later. */
	iova1 = MOCK_APERTURE_START;
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, self->len, &iova1, FIXED | RW));
	EXPECT_EQ(pin0, VMPIN(0));
	ASSERT_EQ(0, copy(self->fd, ioas2, self->ioas_id, iova1, self->len, &iova2, RW));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 1));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 1));
	/* A copy of part of an area, within the same IOAS. */
	ASSERT_EQ(0, copy(self->fd, self->ioas_id, self->ioas_id, iova1 + 4 * PAGE_SZ,
			  8 * PAGE_SZ, &iova3, RW));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 1));
	ASSERT_EQ(0, destroy(self->fd, stdev));
	ASSERT_EQ(0, unmap(self->fd, ioas2, 0, UINT64_MAX, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 0));
}

/* An access pins what it asks for when no domain holds the pages, and
 * shares the domain's pin when one does.
 */
TEST_F(pages, access_pins)
{
	long pin0 = VMPIN(0);
	uint32_t item, item2, stdev;
	uint64_t iova = MOCK_APERTURE_START;
	int afd;

	NEED_TEST_ABI();
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, self->len, iova));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, &afd));
	EXPECT_EQ(pin0, VMPIN(0));

	ASSERT_EQ(0, access_pages(self->fd, afd, iova + 4 * PAGE_SZ, 8 * PAGE_SZ,
				  self->buf + 4 * PAGE_SZ, &item));
	EXPECT_EQ(pin0 + KB(8), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 4 * PAGE_SZ, 0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf + 4 * PAGE_SZ, 8 * PAGE_SZ, 1));
	EXPECT_EQ(0, check_refs(self->fd, self->buf + 12 * PAGE_SZ, self->len - 12 * PAGE_SZ, 0));

	/* An overlapping second item: the pages are pinned once. */
	ASSERT_EQ(0, access_pages(self->fd, afd, iova + 8 * PAGE_SZ, 8 * PAGE_SZ,
				  self->buf + 8 * PAGE_SZ, &item2));
	EXPECT_EQ(pin0 + KB(12), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf + 4 * PAGE_SZ, 12 * PAGE_SZ, 1));

	/* A domain pins the rest; nothing is pinned twice. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 1));

	ASSERT_EQ(0, destroy_access_pages(self->fd, afd, item));
	EXPECT_EQ(ENOENT, destroy_access_pages(self->fd, afd, item));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	ASSERT_EQ(0, destroy(self->fd, stdev));
	/* Only item2's pages stay pinned, by the access. */
	EXPECT_EQ(pin0 + KB(8), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf + 8 * PAGE_SZ, 8 * PAGE_SZ, 1));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 8 * PAGE_SZ, 0));

	/* Unmap asks the access to let go (its unmap callback), then succeeds. */
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, self->len, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 0));
	EXPECT_EQ(ENOENT, destroy_access_pages(self->fd, afd, item2));
	EXPECT_EQ(0, close(afd));
}

/* Closing the file releases every pin and every charge, with no unmap. */
TEST_F(pages, close_releases_everything)
{
	long pin0 = VMPIN(0);
	uint32_t ioas2, item;
	uint64_t iova;
	int afd;

	NEED_TEST_ABI();
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, NULL, NULL));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, self->len, &iova, RW));
	ASSERT_EQ(0, copy(self->fd, ioas2, self->ioas_id, iova, self->len, NULL, RW));
	ASSERT_EQ(0, map(self->fd, ioas2, self->sbuf, self->len, NULL, RW));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, &afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, iova, PAGE_SZ, self->buf, &item));
	EXPECT_EQ(pin0 + 2 * KB(BUF_PAGES), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 1));
	EXPECT_EQ(0, check_refs(self->fd, self->sbuf, self->len, 1));
	/* The access holds the context open; closing both releases it all. */
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->check_fd, self->buf, self->len, 0));
	EXPECT_EQ(0, check_refs(self->check_fd, self->sbuf, self->len, 0));
}

/* Destroying the IOAS (once no device holds it) releases its pins. */
TEST_F(pages, destroy_ioas_releases)
{
	long pin0 = VMPIN(0);
	uint32_t stdev, hwpt;

	NEED_TEST_ABI();
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, self->len, NULL, RW));
	EXPECT_EQ(EBUSY, destroy(self->fd, self->ioas_id));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	ASSERT_EQ(0, destroy(self->fd, stdev));
	EXPECT_EQ(pin0, VMPIN(0));
	ASSERT_EQ(0, destroy(self->fd, self->ioas_id));
	EXPECT_EQ(ENOENT, destroy(self->fd, hwpt));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 0));
}

/* THP and hugetlbfs pages count in VmPin by their small pages. */
TEST_F(pages, huge_pages_accounting)
{
	const size_t len = 2 * HUGE_2M;
	long pin0 = VMPIN(0);
	uint64_t iova;
	void *p;

	NEED_TEST_ABI();
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));

	p = alloc_huge(len, false);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, map(self->fd, self->ioas_id, p, len, &iova, RW));
	EXPECT_EQ(pin0 + (long)(len / 1024), VMPIN(0));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, len, NULL));
	EXPECT_EQ(pin0, VMPIN(0));

	p = alloc_huge(len, true);
	if (!p)
		SKIP(return, "no hugetlbfs pages (vm.nr_hugepages)");
	ASSERT_EQ(0, map(self->fd, self->ioas_id, p, len, &iova, RW));
	EXPECT_EQ(pin0 + (long)(len / 1024), VMPIN(0));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, len, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	munmap(p, len);
}


/* A mapping that starts or ends inside a page pins the whole page; two
 * mappings of the same page pin it twice.
 */
TEST_F(pages, sub_page_accounting)
{
	long pin0 = VMPIN(0);
	uint64_t iova1, iova2, done;

	NEED_TEST_ABI();
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf + MOCK_IO_PAGE, PAGE_SZ, &iova1, RW));
	EXPECT_EQ(MOCK_IO_PAGE, iova1 % PAGE_SZ);
	EXPECT_EQ(pin0 + KB(2), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 2 * PAGE_SZ, 1));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf + MOCK_IO_PAGE, MOCK_IO_PAGE,
			 &iova2, RW));
	EXPECT_EQ(pin0 + KB(3), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, PAGE_SZ, 2));
	EXPECT_EQ(0, check_refs(self->fd, self->buf + PAGE_SZ, PAGE_SZ, 1));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova1, PAGE_SZ, &done));
	EXPECT_EQ(PAGE_SZ, done);
	EXPECT_EQ(pin0 + KB(1), VMPIN(0));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, 0, UINT64_MAX, &done));
	EXPECT_EQ(MOCK_IO_PAGE, done);
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, 2 * PAGE_SZ, 0));
}

/* Tiny PFN batches (one run each) over memory whose runs are one page:
 * every batch boundary is crossed, in map, in filling a new domain from an
 * existing one, in switching the storage domain and in unmap.
 */
TEST_F(pages, small_batches_fragmented)
{
	const size_t n = 64;
	long pin0 = VMPIN(0);
	uint32_t stdev1, stdev2, stdev3, hwpt1, hwpt2, hwpt3;
	uint64_t iova, iova2;
	uint8_t *frag;

	NEED_TEST_ABI();
	frag = alloc_fragmented(n);
	ASSERT_NE(NULL, frag);
	ASSERT_EQ(EINVAL, set_temp_memory_limit(self->fd, 11));
	ASSERT_EQ(0, set_temp_memory_limit(self->fd, 16));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev1, &hwpt1));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev2, &hwpt2));

	ASSERT_EQ(0, map(self->fd, self->ioas_id, frag, n * PAGE_SZ, &iova, RW));
	EXPECT_EQ(pin0 + KB(n), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, frag, n * PAGE_SZ, 1));
	EXPECT_EQ(0, check_map(self->fd, hwpt1, iova, n * PAGE_SZ, frag));
	EXPECT_EQ(0, check_map(self->fd, hwpt2, iova, n * PAGE_SZ, frag));
	/* A sub-page start and end, also over fragmented memory. */
	ASSERT_EQ(0, map(self->fd, self->ioas_id, frag + 3 * MOCK_IO_PAGE,
			 10 * PAGE_SZ, &iova2, RW));
	EXPECT_EQ(0, check_map(self->fd, hwpt1, iova2, 10 * PAGE_SZ, frag + 3 * MOCK_IO_PAGE));
	EXPECT_EQ(pin0 + KB(n + 11), VMPIN(0));

	/* A third domain is filled from the others. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev3, &hwpt3));
	EXPECT_EQ(0, check_map(self->fd, hwpt3, iova, n * PAGE_SZ, frag));
	EXPECT_EQ(0, check_map(self->fd, hwpt3, iova2, 10 * PAGE_SZ, frag + 3 * MOCK_IO_PAGE));
	EXPECT_EQ(pin0 + KB(n + 11), VMPIN(0));
	/* The first domain goes: the pages stay where the others need them. */
	ASSERT_EQ(0, destroy(self->fd, stdev1));
	EXPECT_EQ(pin0 + KB(n + 11), VMPIN(0));
	EXPECT_EQ(0, check_map(self->fd, hwpt2, iova, n * PAGE_SZ, frag));
	ASSERT_EQ(0, destroy(self->fd, stdev2));
	EXPECT_EQ(0, check_map(self->fd, hwpt3, iova, n * PAGE_SZ, frag));
	EXPECT_EQ(pin0 + KB(n + 11), VMPIN(0));

	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, n * PAGE_SZ, NULL));
	EXPECT_EQ(pin0 + KB(11), VMPIN(0));
	ASSERT_EQ(0, destroy(self->fd, stdev3));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, frag, n * PAGE_SZ, 0));
	ASSERT_EQ(0, set_temp_memory_limit(self->fd, DEFAULT_TEMP_MEMORY_LIMIT));
}

/* ---- accounting, unprivileged: USER mode (the default) ---------------- */

/* RLIMIT_MEMLOCK is hit on purpose: ENOMEM, and nothing stays pinned. */
TEST_F(pages, user_rlimit_enomem)
{
	long pin0, lck0;
	uint64_t iova, iova2;

	NEED_TEST_ABI();
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, set_memlock(16 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	pin0 = VMPIN(0);
	lck0 = VMLCK(0);

	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, 16 * PAGE_SZ, &iova, RW));
	EXPECT_EQ(pin0 + KB(16), VMPIN(0));
	/* USER mode charges the user, not the mm. */
	EXPECT_EQ(lck0, VMLCK(0));

	/* One page more is over the limit, and so is mapping the same
	 * memory a second time (a second MAP is a second pin).
	 */
	EXPECT_EQ(ENOMEM, map(self->fd, self->ioas_id, self->buf + 16 * PAGE_SZ, PAGE_SZ,
			      NULL, RW));
	EXPECT_EQ(ENOMEM, map(self->fd, self->ioas_id, self->buf, PAGE_SZ, NULL, RW));
	EXPECT_EQ(ENOMEM, map(self->fd, self->ioas_id, self->buf + 8 * PAGE_SZ,
			      32 * PAGE_SZ, NULL, RW));
	EXPECT_EQ(pin0 + KB(16), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->check_fd, self->buf, 16 * PAGE_SZ, 1));
	EXPECT_EQ(0, check_refs(self->check_fd, self->buf + 16 * PAGE_SZ,
				self->len - 16 * PAGE_SZ, 0));

	/* Unmapping returns the charge: the whole limit is usable again. */
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, 16 * PAGE_SZ, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf + 16 * PAGE_SZ, 16 * PAGE_SZ,
			 &iova2, RW));
	EXPECT_EQ(pin0 + KB(16), VMPIN(0));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova2, 16 * PAGE_SZ, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(lck0, VMLCK(0));
}

/* Over the limit at attach time: the domain is refused with ENOMEM and
 * nothing stays pinned; within the limit it attaches.
 */
TEST_F(pages, user_rlimit_at_attach)
{
	long pin0;
	uint32_t stdev;

	NEED_TEST_ABI();
	ASSERT_EQ(0, set_memlock(16 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	pin0 = VMPIN(0);

	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, 32 * PAGE_SZ,
			    MOCK_APERTURE_START));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(ENOMEM, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->check_fd, self->buf, self->len, 0));

	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, MOCK_APERTURE_START, 32 * PAGE_SZ, NULL));
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, 16 * PAGE_SZ,
			    MOCK_APERTURE_START));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL));
	EXPECT_EQ(pin0 + KB(16), VMPIN(0));
	ASSERT_EQ(0, destroy(self->fd, stdev));
	EXPECT_EQ(pin0, VMPIN(0));
}

/* COPY does not charge again: a full limit can still be copied. */
TEST_F(pages, user_rlimit_copy_no_charge)
{
	uint32_t ioas2, ioas3;
	uint64_t iova;
	long pin0;

	NEED_TEST_ABI();
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas3));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, NULL, NULL));
	ASSERT_EQ(0, set_memlock(16 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	pin0 = VMPIN(0);

	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, 16 * PAGE_SZ, &iova, RW));
	ASSERT_EQ(0, copy(self->fd, ioas2, self->ioas_id, iova, 16 * PAGE_SZ, NULL, RW));
	ASSERT_EQ(0, copy(self->fd, ioas2, self->ioas_id, iova, 16 * PAGE_SZ, NULL, RW));
	ASSERT_EQ(0, copy(self->fd, ioas3, self->ioas_id, iova, 16 * PAGE_SZ, NULL, RW));
	EXPECT_EQ(pin0 + KB(16), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->check_fd, self->buf, 16 * PAGE_SZ, 1));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));
	ASSERT_EQ(0, unmap(self->fd, ioas2, 0, UINT64_MAX, NULL));
	ASSERT_EQ(0, unmap(self->fd, ioas3, 0, UINT64_MAX, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
}

/* Dropping CAP_IPC_LOCK alone (still uid 0) is enough to be charged. */
TEST_F(pages, capset_drop_ipc_lock)
{
	long pin0 = VMPIN(0);
	uint64_t iova;

	NEED_TEST_ABI();
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, set_memlock(8 * PAGE_SZ));
	/* With CAP_IPC_LOCK the limit does not apply. */
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, 32 * PAGE_SZ, &iova, RW));
	EXPECT_EQ(pin0 + KB(32), VMPIN(0));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, 32 * PAGE_SZ, NULL));

	ASSERT_EQ(0, drop_cap(CAP_IPC_LOCK));
	EXPECT_EQ(ENOMEM, map(self->fd, self->ioas_id, self->buf, 32 * PAGE_SZ, NULL, RW));
	EXPECT_EQ(pin0, VMPIN(0));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, 8 * PAGE_SZ, &iova, RW));
	EXPECT_EQ(pin0 + KB(8), VMPIN(0));
	EXPECT_EQ(ENOMEM, map(self->fd, self->ioas_id, self->buf + 8 * PAGE_SZ, PAGE_SZ,
			      NULL, RW));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, 8 * PAGE_SZ, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
}

struct fork_arg {
	int fd;
	uint32_t ioas;
	void *p;
	size_t len;
};

struct shared_limit_arg {
	int fd;
	uint32_t ioas;
	void *p;
	size_t len;
	uint64_t iova;
};

/* Child: map and report, then wait, then unmap and report. */
static int map_hold_unmap(void *varg, int rfd, int wfd)
{
	struct shared_limit_arg *a = varg;

	child_step_done(wfd, map(a->fd, a->ioas, a->p, a->len, &a->iova, RW));
	child_wait(rfd);
	child_step_done(wfd, unmap(a->fd, a->ioas, a->iova, a->len, NULL));
	child_wait_end(rfd);
	return 0;
}

/* USER mode: the limit is on the user, across processes. MM mode: per mm. */
static void shared_limit(struct __test_metadata *_metadata, int fd, uint32_t ioas,
			 uint8_t *buf, bool mm_mode)
{
	struct shared_limit_arg a = { .fd = fd, .ioas = ioas, .p = buf + 32 * PAGE_SZ,
				      .len = 12 * PAGE_SZ };
	long pin0 = VMPIN(0), lck0 = VMLCK(0);
	struct stepper s;
	uint64_t iova;

	ASSERT_EQ(0, stepper_start(&s, map_hold_unmap, &a));
	ASSERT_EQ(0, stepper_result(&s));
	/* The child's pins are the child's: not in our VmPin. */
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(KB(12), VMPIN(s.pid));
	EXPECT_EQ(mm_mode ? KB(12) : 0, VMLCK(s.pid));
	if (mm_mode) {
		ASSERT_EQ(0, map(fd, ioas, buf, 8 * PAGE_SZ, &iova, RW));
		EXPECT_EQ(lck0 + KB(8), VMLCK(0));
		ASSERT_EQ(0, unmap(fd, ioas, iova, 8 * PAGE_SZ, NULL));
	} else {
		EXPECT_EQ(ENOMEM, map(fd, ioas, buf, 8 * PAGE_SZ, NULL, RW));
		ASSERT_EQ(0, map(fd, ioas, buf, 4 * PAGE_SZ, &iova, RW));
		ASSERT_EQ(0, unmap(fd, ioas, iova, 4 * PAGE_SZ, NULL));
	}
	EXPECT_EQ(pin0, VMPIN(0));
	stepper_go(&s);
	EXPECT_EQ(0, stepper_result(&s));
	EXPECT_EQ(0, VMPIN(s.pid));
	EXPECT_EQ(0, VMLCK(s.pid));
	EXPECT_EQ(0, stepper_finish(&s));
	if (!mm_mode) {
		/* The child's share is back: the whole limit is ours. */
		ASSERT_EQ(0, map(fd, ioas, buf, 16 * PAGE_SZ, &iova, RW));
		ASSERT_EQ(0, unmap(fd, ioas, iova, 16 * PAGE_SZ, NULL));
	}
	EXPECT_EQ(lck0, VMLCK(0));
}

TEST_F(pages, user_limit_is_per_user)
{
	NEED_TEST_ABI();
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, set_memlock(16 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	shared_limit(_metadata, self->fd, self->ioas_id, self->buf, false);
}


/* Over the limit half way through a map made of many small batches: every
 * page pinned so far is let go.
 */
TEST_F(pages, user_rlimit_small_batches)
{
	uint8_t *frag;
	long pin0;

	NEED_TEST_ABI();
	frag = alloc_fragmented(32);
	ASSERT_NE(NULL, frag);
	ASSERT_EQ(0, set_temp_memory_limit(self->fd, 16));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, set_memlock(16 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	pin0 = VMPIN(0);
	EXPECT_EQ(ENOMEM, map(self->fd, self->ioas_id, frag, 32 * PAGE_SZ, NULL, RW));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->check_fd, frag, 32 * PAGE_SZ, 0));
	/* ... and charged nothing: the whole limit is there. */
	ASSERT_EQ(0, map(self->fd, self->ioas_id, frag, 16 * PAGE_SZ, NULL, RW));
	EXPECT_EQ(pin0 + KB(16), VMPIN(0));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
}

/* The limit is read when pages are pinned, not when they are mapped. */
TEST_F(pages, user_rlimit_read_at_pin_time)
{
	long pin0;
	uint32_t stdev;

	NEED_TEST_ABI();
	ASSERT_EQ(0, set_memlock(64 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	pin0 = VMPIN(0);
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, 16 * PAGE_SZ,
			    MOCK_APERTURE_START));
	ASSERT_EQ(0, set_memlock_soft(8 * PAGE_SZ));
	EXPECT_EQ(ENOMEM, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	ASSERT_EQ(0, set_memlock_soft(16 * PAGE_SZ));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL));
	EXPECT_EQ(pin0 + KB(16), VMPIN(0));
	ASSERT_EQ(0, destroy(self->fd, stdev));
	EXPECT_EQ(pin0, VMPIN(0));
}

/* An access pins under the same limit. */
TEST_F(pages, user_rlimit_access)
{
	uint32_t item;
	long pin0;
	int afd;

	NEED_TEST_ABI();
	ASSERT_EQ(0, set_memlock(16 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	pin0 = VMPIN(0);
	/* Mapped by the unprivileged user: the mode is chosen at MAP time. */
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, self->len, MOCK_APERTURE_START));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, &afd));
	EXPECT_EQ(ENOMEM, access_pages(self->fd, afd, MOCK_APERTURE_START, 17 * PAGE_SZ,
				       self->buf, &item));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->check_fd, self->buf, self->len, 0));
	ASSERT_EQ(0, access_pages(self->fd, afd, MOCK_APERTURE_START, 16 * PAGE_SZ,
				  self->buf, &item));
	EXPECT_EQ(pin0 + KB(16), VMPIN(0));
	ASSERT_EQ(0, destroy_access_pages(self->fd, afd, item));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, close(afd));
}

static int child_map_exit_pinned(void *varg)
{
	struct fork_arg *a = varg;
	uint64_t iova = MOCK_APERTURE_START;

	if (map(a->fd, a->ioas, a->p, a->len, &iova, FIXED | RW))
		return 1;
	return VMPIN(0) == (long)(a->len / 1024) ? 0 : 2;
}

/* A child maps (and pins) and exits: the pins and the user's charge stay
 * until the mapping goes, whoever unmaps it.
 */
TEST_F(pages, fork_exit_keeps_charge_until_unmap)
{
	struct fork_arg a = { self->fd, self->ioas_id, self->sbuf, 12 * PAGE_SZ };
	uint64_t iova;
	long pin0;

	NEED_TEST_ABI();
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, set_memlock(16 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	pin0 = VMPIN(0);
	ASSERT_EQ(0, in_child(child_map_exit_pinned, &a));
	EXPECT_EQ(0, check_refs(self->check_fd, self->sbuf, 12 * PAGE_SZ, 1));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(ENOMEM, map(self->fd, self->ioas_id, self->buf, 8 * PAGE_SZ, NULL, RW));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, MOCK_APERTURE_START, 12 * PAGE_SZ, NULL));
	EXPECT_EQ(0, check_refs(self->check_fd, self->sbuf, 12 * PAGE_SZ, 0));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, 16 * PAGE_SZ, &iova, RW));
	EXPECT_EQ(pin0 + KB(16), VMPIN(0));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, 16 * PAGE_SZ, NULL));
}

/* ---- accounting: MM mode (IOMMU_OPTION RLIMIT_MODE = 1) --------------- */

/* A context in MM mode, with one IOAS and one mock domain. */
static int open_mm_ctx(uint32_t *ioas)
{
	int fd = open(dev_path(), O_RDWR);

	if (fd < 0)
		return -1;
	if (set_rlimit_mode(fd, 1) || ioas_alloc(fd, ioas) ||
	    mock_domain(fd, *ioas, NULL, NULL)) {
		close(fd);
		return -1;
	}
	return fd;
}

TEST_F(pages, mm_mode_charges_vmlck)
{
	long pin0, lck0;
	uint32_t ioas;
	uint64_t iova, iova2;
	int fd;

	NEED_TEST_ABI();
	fd = open_mm_ctx(&ioas);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, set_memlock(24 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	pin0 = VMPIN(0);
	lck0 = VMLCK(0);

	ASSERT_EQ(0, map(fd, ioas, self->buf, 16 * PAGE_SZ, &iova, RW));
	EXPECT_EQ(pin0 + KB(16), VMPIN(0));
	EXPECT_EQ(lck0 + KB(16), VMLCK(0));
	EXPECT_EQ(ENOMEM, map(fd, ioas, self->buf + 16 * PAGE_SZ, 9 * PAGE_SZ, NULL, RW));
	EXPECT_EQ(lck0 + KB(16), VMLCK(0));
	EXPECT_EQ(pin0 + KB(16), VMPIN(0));

	/* The fixture's context is in USER mode: VmPin only. */
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, 8 * PAGE_SZ, &iova2, RW));
	EXPECT_EQ(pin0 + KB(24), VMPIN(0));
	EXPECT_EQ(lck0 + KB(16), VMLCK(0));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova2, 8 * PAGE_SZ, NULL));

	ASSERT_EQ(0, unmap(fd, ioas, iova, 16 * PAGE_SZ, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(lck0, VMLCK(0));

	/* Close releases the charge too. */
	ASSERT_EQ(0, map(fd, ioas, self->buf, 24 * PAGE_SZ, &iova, RW));
	EXPECT_EQ(lck0 + KB(24), VMLCK(0));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(lck0, VMLCK(0));
	EXPECT_EQ(0, check_refs(self->check_fd, self->buf, self->len, 0));
}

TEST_F(pages, mm_limit_is_per_process)
{
	uint32_t ioas;
	int fd;

	NEED_TEST_ABI();
	fd = open_mm_ctx(&ioas);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_memlock(16 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	shared_limit(_metadata, fd, ioas, self->buf, true);
	EXPECT_EQ(0, close(fd));
}

/* With CAP_IPC_LOCK, MM mode charges nothing either. */
TEST_F(pages, mm_mode_privileged_no_charge)
{
	long pin0 = VMPIN(0), lck0 = VMLCK(0);
	uint32_t ioas;
	uint64_t iova;
	int fd;

	NEED_TEST_ABI();
	fd = open_mm_ctx(&ioas);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, map(fd, ioas, self->buf, self->len, &iova, RW));
	EXPECT_EQ(pin0 + KB(BUF_PAGES), VMPIN(0));
	EXPECT_EQ(lck0, VMLCK(0));
	ASSERT_EQ(0, unmap(fd, ioas, iova, self->len, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, close(fd));
}

/* ---- fork: pages belong to the mm that mapped them -------------------- */

static int child_map_exit(void *varg)
{
	struct fork_arg *a = varg;

	return map_at(a->fd, a->ioas, a->p, a->len, MOCK_APERTURE_START) ? 1 : 0;
}

/* The child that mapped has exited: its memory cannot be pinned (EFAULT). */
TEST_F(pages, fork_gone_pin_efault)
{
	struct fork_arg a = { self->fd, self->ioas_id, self->sbuf, self->len };
	long pin0 = VMPIN(0);

	NEED_TEST_ABI();
	ASSERT_EQ(0, in_child(child_map_exit, &a));
	EXPECT_EQ(EFAULT, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, self->sbuf, self->len, 0));
	/* The mapping is there and unmaps. */
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, MOCK_APERTURE_START, self->len, NULL));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
}

static int child_map_hold(void *varg, int rfd, int wfd)
{
	struct fork_arg *a = varg;

	child_step_done(wfd, map_at(a->fd, a->ioas, a->p, a->len, MOCK_APERTURE_START));
	child_wait(rfd);
	child_step_done(wfd, VMPIN(0) == KB(BUF_PAGES) ? 0 : 1);
	child_wait_end(rfd);
	return 0;
}

/* The child is alive: the attach pins from its mm and charges its VmPin. */
TEST_F(pages, fork_present_pins_child_mm)
{
	struct fork_arg a = { self->fd, self->ioas_id, self->sbuf, self->len };
	long pin0 = VMPIN(0);
	struct stepper s;
	uint32_t stdev;

	NEED_TEST_ABI();
	ASSERT_EQ(0, stepper_start(&s, child_map_hold, &a));
	ASSERT_EQ(0, stepper_result(&s));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(KB(BUF_PAGES), VMPIN(s.pid));
	stepper_go(&s);
	EXPECT_EQ(0, stepper_result(&s));
	/* MAP_SHARED: the child pinned the very pages we see. */
	EXPECT_EQ(0, check_refs(self->fd, self->sbuf, self->len, 1));
	ASSERT_EQ(0, destroy(self->fd, stdev));
	EXPECT_EQ(0, VMPIN(s.pid));
	EXPECT_EQ(0, check_refs(self->fd, self->sbuf, self->len, 0));
	EXPECT_EQ(0, stepper_finish(&s));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, MOCK_APERTURE_START, self->len, NULL));
}

/* ---- IOMMU_OPTION ------------------------------------------------------ */

TEST_F(pages, option_rlimit_mode)
{
	uint64_t v;
	int fd = open(dev_path(), O_RDWR);

	ASSERT_LE(0, fd);
	v = 7;
	ASSERT_EQ(0, option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, set_rlimit_mode(fd, 1));
	v = 7;
	ASSERT_EQ(0, option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v));
	EXPECT_EQ(1, v);
	EXPECT_EQ(EINVAL, set_rlimit_mode(fd, 2));
	EXPECT_EQ(EINVAL, set_rlimit_mode(fd, UINT64_MAX));
	EXPECT_EQ(EINVAL, set_rlimit_mode(fd, 1ULL << 32));
	v = 7;
	ASSERT_EQ(0, option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, set_rlimit_mode(fd, 0));
	v = 7;
	ASSERT_EQ(0, option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v));
	EXPECT_EQ(0, v);
	/* The mode is per context. */
	ASSERT_EQ(0, set_rlimit_mode(fd, 1));
	v = 7;
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v));
	EXPECT_EQ(0, v);

	/* RLIMIT_MODE is global: an object id is EOPNOTSUPP, even a real one. */
	v = 0;
	EXPECT_EQ(EOPNOTSUPP, option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 1, &v));
	EXPECT_EQ(EOPNOTSUPP, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
				     IOMMU_OPTION_OP_GET, self->ioas_id, &v));
	EXPECT_EQ(EOPNOTSUPP, option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 1, &v));
	/* Unknown op. */
	EXPECT_EQ(EOPNOTSUPP, option(fd, IOMMU_OPTION_RLIMIT_MODE, 2, 0, &v));
	EXPECT_EQ(EOPNOTSUPP, option(fd, IOMMU_OPTION_RLIMIT_MODE, 0xffff, 0, &v));
	EXPECT_EQ(0, close(fd));
}

/* SET needs an empty context: EBUSY once any object exists. */
TEST_F(pages, option_rlimit_mode_busy)
{
	uint32_t ioas;
	uint64_t v;
	int fd = open(dev_path(), O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	EXPECT_EQ(EBUSY, set_rlimit_mode(fd, 1));
	EXPECT_EQ(EBUSY, set_rlimit_mode(fd, 0));
	/* The object check comes before the value check. */
	EXPECT_EQ(EBUSY, set_rlimit_mode(fd, 2));
	v = 7;
	ASSERT_EQ(0, option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, destroy(fd, ioas));
	/* Empty again. */
	EXPECT_EQ(0, set_rlimit_mode(fd, 1));
	EXPECT_EQ(0, close(fd));

	EXPECT_EQ(EBUSY, set_rlimit_mode(self->fd, 1));
}

/* SET needs CAP_SYS_RESOURCE; GET does not. */
TEST_F(pages, option_rlimit_mode_eperm)
{
	uint64_t v;
	int fd = open(dev_path(), O_RDWR), fd2 = open(dev_path(), O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, drop_cap(CAP_SYS_RESOURCE));
	EXPECT_EQ(EPERM, set_rlimit_mode(fd, 1));
	EXPECT_EQ(EPERM, set_rlimit_mode(fd, 0));
	/* The capability check comes first of all. */
	EXPECT_EQ(EPERM, set_rlimit_mode(fd, 2));
	EXPECT_EQ(EPERM, set_rlimit_mode(self->fd, 1));
	v = 7;
	ASSERT_EQ(0, option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v));
	EXPECT_EQ(0, v);

	/* A plain user as well. */
	ASSERT_EQ(0, become_user());
	EXPECT_EQ(EPERM, set_rlimit_mode(fd2, 1));
	v = 7;
	ASSERT_EQ(0, option(fd2, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v));
	EXPECT_EQ(0, v);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, close(fd2));
}

TEST_F(pages, option_huge_pages)
{
	uint32_t ioas2, stdev;
	uint64_t v, align, iova;

	v = 7;
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
			    self->ioas_id, &v));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, iova_alignment(self->fd, self->ioas_id, &align));
	EXPECT_EQ(1, align);

	/* Off: everything at PAGE_SIZE, and the IOVA alignment says so. */
	ASSERT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 0));
	ASSERT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 0));
	v = 7;
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
			    self->ioas_id, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, iova_alignment(self->fd, self->ioas_id, &align));
	EXPECT_EQ(PAGE_SZ, align);
	EXPECT_EQ(EINVAL, map(self->fd, self->ioas_id, self->buf, 100, NULL, RW));
	iova = MOCK_APERTURE_START + PAGE_SZ / 2;
	EXPECT_EQ(EINVAL, map(self->fd, self->ioas_id, self->buf, PAGE_SZ, &iova, FIXED | RW));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, PAGE_SZ, &iova, RW));
	EXPECT_EQ(0, iova % PAGE_SZ);
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, PAGE_SZ, NULL));
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, PAGE_SZ,
			    MOCK_APERTURE_START + 16 * PAGE_SZ));

	/* Per IOAS: a second one still has it on. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	v = 7;
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas2, &v));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, map(self->fd, ioas2, self->buf, 100, NULL, RW));

	/* Back on; a sub-page mapping then blocks turning it off. */
	ASSERT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 1));
	ASSERT_EQ(0, iova_alignment(self->fd, self->ioas_id, &align));
	EXPECT_EQ(1, align);
	iova = MOCK_APERTURE_START + PAGE_SZ / 2;
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, PAGE_SZ, &iova, FIXED | RW));
	EXPECT_EQ(EADDRINUSE, set_huge_pages(self->fd, self->ioas_id, 0));
	v = 7;
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
			    self->ioas_id, &v));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, PAGE_SZ, NULL));
	ASSERT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 0));
	ASSERT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 1));

	/* Bad values, ops and objects. */
	EXPECT_EQ(EINVAL, set_huge_pages(self->fd, self->ioas_id, 2));
	EXPECT_EQ(EINVAL, set_huge_pages(self->fd, self->ioas_id, UINT64_MAX));
	v = 0;
	EXPECT_EQ(EOPNOTSUPP, option(self->fd, IOMMU_OPTION_HUGE_PAGES, 2, self->ioas_id, &v));
	EXPECT_EQ(ENOENT, option(self->fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 0, &v));
	EXPECT_EQ(ENOENT, set_huge_pages(self->fd, 0, 0));
	EXPECT_EQ(ENOENT, set_huge_pages(self->fd, ioas2 + 100, 0));
	EXPECT_EQ(ENOENT, set_huge_pages(self->fd, UINT32_MAX, 1));

	/* A domain with mappings in it: too late to turn it off (EINVAL). */
	if (!self->test_abi)
		return;
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL));
	EXPECT_EQ(ENOENT, set_huge_pages(self->fd, stdev, 0));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, PAGE_SZ, NULL, RW));
	EXPECT_EQ(EINVAL, set_huge_pages(self->fd, self->ioas_id, 0));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));
	ASSERT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 0));
}

TEST_F(pages, option_bad_input)
{
	struct {
		struct iommu_option cmd;
		uint64_t extra;
	} buf;
	uint64_t v = 0;

	EXPECT_EQ(EOPNOTSUPP, option(self->fd, 2, IOMMU_OPTION_OP_GET, 0, &v));
	EXPECT_EQ(EOPNOTSUPP, option(self->fd, UINT32_MAX, IOMMU_OPTION_OP_GET,
				     self->ioas_id, &v));

	memset(&buf, 0, sizeof(buf));
	buf.cmd.size = sizeof(buf.cmd);
	buf.cmd.option_id = IOMMU_OPTION_RLIMIT_MODE;
	buf.cmd.op = IOMMU_OPTION_OP_GET;
	buf.cmd.__reserved = 1;
	EXPECT_EQ(EOPNOTSUPP, ioctl_err(self->fd, IOMMU_OPTION, &buf));
	buf.cmd.option_id = IOMMU_OPTION_HUGE_PAGES;
	buf.cmd.object_id = self->ioas_id;
	EXPECT_EQ(EOPNOTSUPP, ioctl_err(self->fd, IOMMU_OPTION, &buf));
	buf.cmd.__reserved = 0;

	buf.cmd.size = offsetof(struct iommu_option, val64) + 7;
	EXPECT_EQ(EINVAL, ioctl_err(self->fd, IOMMU_OPTION, &buf));
	buf.cmd.size = sizeof(buf);
	buf.extra = 1;
	EXPECT_EQ(E2BIG, ioctl_err(self->fd, IOMMU_OPTION, &buf));
	buf.extra = 0;
	buf.cmd.val64 = 7;
	EXPECT_EQ(0, ioctl_err(self->fd, IOMMU_OPTION, &buf));
	EXPECT_EQ(1, buf.cmd.val64);
	EXPECT_EQ(0, buf.extra);

	/* The struct cannot be read. */
	EXPECT_EQ(EFAULT, ioctl_err(self->fd, IOMMU_OPTION, NULL));
}

/* ---- IOMMU_IOAS_MAP errors ---------------------------------------------- */

TEST_F(pages, map_bad_input)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = RW,
		.ioas_id = self->ioas_id,
		.user_va = (uintptr_t)self->buf,
		.length = PAGE_SZ,
	};
	uint32_t ioas2;
	uint64_t iova;

	/* Flags and reserved field. */
	cmd.flags = RW | (1 << 3);
	EXPECT_EQ(EOPNOTSUPP, ioctl_err(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.flags = RW | (1U << 31);
	EXPECT_EQ(EOPNOTSUPP, ioctl_err(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.flags = RW;
	cmd.__reserved = 1;
	EXPECT_EQ(EOPNOTSUPP, ioctl_err(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.__reserved = 0;
	/* Neither readable nor writeable. */
	EXPECT_EQ(EINVAL, map(self->fd, self->ioas_id, self->buf, PAGE_SZ, NULL, 0));
	iova = MOCK_APERTURE_START;
	EXPECT_EQ(EINVAL, map(self->fd, self->ioas_id, self->buf, PAGE_SZ, &iova, FIXED));

	/* Unknown IOAS: 0, never allocated, destroyed. */
	EXPECT_EQ(ENOENT, map(self->fd, 0, self->buf, PAGE_SZ, NULL, RW));
	EXPECT_EQ(ENOENT, map(self->fd, self->ioas_id + 100, self->buf, PAGE_SZ, NULL, RW));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, destroy(self->fd, ioas2));
	EXPECT_EQ(ENOENT, map(self->fd, ioas2, self->buf, PAGE_SZ, NULL, RW));

	/* Overflow: IOVA and length of ULONG_MAX or more. */
	iova = UINT64_MAX;
	EXPECT_EQ(EOVERFLOW, map(self->fd, self->ioas_id, self->buf, PAGE_SZ, &iova, FIXED | RW));
	EXPECT_EQ(EOVERFLOW, map(self->fd, self->ioas_id, self->buf, UINT64_MAX, NULL, RW));
	/* The user range wraps. */
	EXPECT_EQ(EOVERFLOW, map(self->fd, self->ioas_id, (void *)(uintptr_t)(-PAGE_SZ),
				 2 * PAGE_SZ, NULL, RW));
	/* The IOVA range wraps. */
	iova = -PAGE_SZ;
	EXPECT_EQ(EOVERFLOW, map(self->fd, self->ioas_id, self->buf, 2 * PAGE_SZ, &iova,
				 FIXED | RW));
	/* Too long for the kernel to pick an IOVA. */
	EXPECT_EQ(EOVERFLOW, map(self->fd, self->ioas_id, self->buf, 1ULL << 63, NULL, RW));
	/* Zero length. */
	EXPECT_EQ(EINVAL, map(self->fd, self->ioas_id, self->buf, 0, NULL, RW));
	iova = MOCK_APERTURE_START;
	EXPECT_EQ(EINVAL, map(self->fd, self->ioas_id, self->buf, 0, &iova, FIXED | RW));

	/* Nothing was mapped by any of it. */
	EXPECT_EQ(ENOENT, unmap(self->fd, self->ioas_id, 0, UINT64_MAX - 1, NULL));

	/* The struct itself. */
	EXPECT_EQ(EFAULT, ioctl_err(self->fd, IOMMU_IOAS_MAP, NULL));
}

/* The IOVA the kernel picks: the lowest hole at or above PAGE_SIZE that
 * fits, aligned to the smaller of the length rounded up to a power of two
 * and the alignment of the user address (at most 2 MiB), keeping the
 * address's offset within its page.
 */
TEST_F(pages, auto_iova_exact)
{
	uint8_t *a = alloc_huge(HUGE_2M, false);
	uint64_t iova;

	ASSERT_NE(NULL, a);
	ASSERT_EQ(0, map(self->fd, self->ioas_id, a, PAGE_SZ, &iova, RW));
	EXPECT_EQ(PAGE_SZ, iova);
	ASSERT_EQ(0, map(self->fd, self->ioas_id, a, HUGE_2M, &iova, RW));
	EXPECT_EQ(HUGE_2M, iova);
	ASSERT_EQ(0, map(self->fd, self->ioas_id, a + 100, 100, &iova, RW));
	EXPECT_EQ(2 * PAGE_SZ + 100, iova);
	ASSERT_EQ(0, map(self->fd, self->ioas_id, a, 3 * PAGE_SZ, &iova, RW));
	EXPECT_EQ(4 * PAGE_SZ, iova);
	/* 8 pages at 4 KiB alignment: the hole at 3 pages is too short. */
	ASSERT_EQ(0, map(self->fd, self->ioas_id, a + PAGE_SZ, 8 * PAGE_SZ, &iova, RW));
	EXPECT_EQ(7 * PAGE_SZ, iova);
	ASSERT_EQ(0, map(self->fd, self->ioas_id, a + 2 * PAGE_SZ, 2 * PAGE_SZ, &iova, RW));
	EXPECT_EQ(16 * PAGE_SZ, iova);
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, PAGE_SZ, PAGE_SZ, NULL));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, a + 5 * PAGE_SZ, PAGE_SZ, &iova, RW));
	EXPECT_EQ(PAGE_SZ, iova);
	/* A copy picks by the same rules, from the source's user address. */
	ASSERT_EQ(0, copy(self->fd, self->ioas_id, self->ioas_id, HUGE_2M, HUGE_2M, &iova, RW));
	EXPECT_EQ(2 * HUGE_2M, iova);

	/* With a mock domain: from its aperture, at least its IO page. */
	if (!self->test_abi)
		return;
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, a, PAGE_SZ, &iova, RW));
	EXPECT_EQ(MOCK_APERTURE_START, iova);
	ASSERT_EQ(0, map(self->fd, self->ioas_id, a + MOCK_IO_PAGE, MOCK_IO_PAGE, &iova, RW));
	EXPECT_EQ(MOCK_APERTURE_START + PAGE_SZ + MOCK_IO_PAGE, iova);
	ASSERT_EQ(0, map(self->fd, self->ioas_id, a, HUGE_2M, &iova, RW));
	EXPECT_EQ(MOCK_APERTURE_START + HUGE_2M, iova);
}

/* Which check wins when several inputs are bad: the order upstream tests
 * them in.
 */
TEST_F(pages, errno_order)
{
	uint64_t iova, v;

	/* MAP: flags, then overflow, then R/W, then the IOAS, then the range. */
	EXPECT_EQ(EOPNOTSUPP, map(self->fd, 0, self->buf, UINT64_MAX, NULL, 1 << 3));
	iova = UINT64_MAX;
	EXPECT_EQ(EOVERFLOW, map(self->fd, 0, self->buf, PAGE_SZ, &iova, FIXED));
	EXPECT_EQ(EINVAL, map(self->fd, 0, self->buf, PAGE_SZ, NULL, 0));
	EXPECT_EQ(ENOENT, map(self->fd, 0, self->buf, 0, NULL, RW));
	EXPECT_EQ(ENOENT, map(self->fd, 0, (void *)(uintptr_t)-PAGE_SZ, 2 * PAGE_SZ, NULL, RW));
	/* COPY: flags, overflow, R/W, the source IOAS, the source range, the
	 * destination IOAS.
	 */
	EXPECT_EQ(EOPNOTSUPP, copy(self->fd, 0, 0, UINT64_MAX, PAGE_SZ, NULL, 1 << 3));
	EXPECT_EQ(EOVERFLOW, copy(self->fd, 0, 0, UINT64_MAX, PAGE_SZ, NULL, 0));
	EXPECT_EQ(EINVAL, copy(self->fd, 0, 0, 0, PAGE_SZ, NULL, 0));
	EXPECT_EQ(ENOENT, copy(self->fd, self->ioas_id, 0, 0, 0, NULL, RW));
	EXPECT_EQ(EINVAL, copy(self->fd, 0, self->ioas_id, MOCK_APERTURE_START, 0, NULL, RW));
	EXPECT_EQ(ENOENT, copy(self->fd, 0, self->ioas_id, MOCK_APERTURE_START, PAGE_SZ, NULL,
			       RW));
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, PAGE_SZ, MOCK_APERTURE_START));
	EXPECT_EQ(ENOENT, copy(self->fd, 0, self->ioas_id, MOCK_APERTURE_START, PAGE_SZ, NULL,
			       RW));
	/* UNMAP: the IOAS comes first, then overflow, then the range. */
	EXPECT_EQ(ENOENT, unmap(self->fd, 0, UINT64_MAX, UINT64_MAX, NULL));
	EXPECT_EQ(EOVERFLOW, unmap(self->fd, self->ioas_id, UINT64_MAX, 0, NULL));
	EXPECT_EQ(EINVAL, unmap(self->fd, self->ioas_id, 5, 0, NULL));
	/* OPTION: reserved, then the option, then (HUGE_PAGES) the object
	 * before the op and the value; (RLIMIT_MODE) the object before the op.
	 */
	v = 5;
	EXPECT_EQ(EOPNOTSUPP, option(self->fd, 7, 9, 0, &v));
	EXPECT_EQ(ENOENT, option(self->fd, IOMMU_OPTION_HUGE_PAGES, 9, 0, &v));
	EXPECT_EQ(ENOENT, option(self->fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, 0, &v));
	EXPECT_EQ(EOPNOTSUPP, option(self->fd, IOMMU_OPTION_HUGE_PAGES, 9, self->ioas_id, &v));
	EXPECT_EQ(EOPNOTSUPP, option(self->fd, IOMMU_OPTION_RLIMIT_MODE, 9, 1, &v));
	EXPECT_EQ(EOPNOTSUPP, option(self->fd, IOMMU_OPTION_RLIMIT_MODE, 9, 0, &v));
}

/* An ID of another kind of object is not an IOAS: ENOENT everywhere. */
TEST_F(pages, wrong_object_type)
{
	struct iommu_test_cmd md = {
		.size = sizeof(md),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = self->ioas_id,
	};
	uint32_t ids[3];
	uint64_t v = 0, iova = MOCK_APERTURE_START;
	int mfd = memfd(PAGE_SZ, 0);

	NEED_TEST_ABI();
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ioctl_err(self->fd, IOMMU_TEST_CMD, &md));
	ids[0] = md.mock_domain.out_stdev_id;
	ids[1] = md.mock_domain.out_hwpt_id;
	ids[2] = md.mock_domain.out_idev_id;
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, PAGE_SZ, iova));
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(ENOENT, map(self->fd, ids[i], self->buf, PAGE_SZ, NULL, RW));
		EXPECT_EQ(ENOENT, unmap(self->fd, ids[i], 0, UINT64_MAX, NULL));
		EXPECT_EQ(ENOENT, unmap(self->fd, ids[i], iova, PAGE_SZ, NULL));
		EXPECT_EQ(ENOENT, copy(self->fd, self->ioas_id, ids[i], iova, PAGE_SZ, NULL, RW));
		EXPECT_EQ(ENOENT, copy(self->fd, ids[i], self->ioas_id, iova, PAGE_SZ, NULL, RW));
		EXPECT_EQ(ENOENT, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
					 IOMMU_OPTION_OP_GET, ids[i], &v));
		if (map_file(self->fd, self->ioas_id, mfd, 0, PAGE_SZ, NULL, RW) != ENOTTY)
			EXPECT_EQ(ENOENT, map_file(self->fd, ids[i], mfd, 0, PAGE_SZ, NULL, RW));
	}
	close(mfd);
}

TEST_F(pages, map_struct_size)
{
	struct {
		struct iommu_ioas_map cmd;
		uint64_t extra;
	} buf;

	memset(&buf, 0, sizeof(buf));
	buf.cmd.flags = RW;
	buf.cmd.ioas_id = self->ioas_id;
	buf.cmd.user_va = (uintptr_t)self->buf;
	buf.cmd.length = PAGE_SZ;
	buf.cmd.size = offsetof(struct iommu_ioas_map, iova) + 7;
	EXPECT_EQ(EINVAL, ioctl_err(self->fd, IOMMU_IOAS_MAP, &buf));
	buf.cmd.size = sizeof(buf);
	buf.extra = 1;
	EXPECT_EQ(E2BIG, ioctl_err(self->fd, IOMMU_IOAS_MAP, &buf));
	buf.extra = 0;
	ASSERT_EQ(0, ioctl_err(self->fd, IOMMU_IOAS_MAP, &buf));
	EXPECT_NE(0, buf.cmd.iova);
	EXPECT_EQ(0, buf.extra);
	EXPECT_EQ(0, unmap(self->fd, self->ioas_id, buf.cmd.iova, PAGE_SZ, NULL));
}

/* Where a FIXED mapping may go, and what the kernel picks otherwise. */
TEST_F(pages, map_iova_rules)
{
	uint64_t iova, base = MOCK_APERTURE_START;
	void *aligned;

	NEED_TEST_ABI();
	/* Overlaps give EEXIST, whichever way they overlap. */
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, 4 * PAGE_SZ, base + 4 * PAGE_SZ));
	EXPECT_EQ(EEXIST, map_at(self->fd, self->ioas_id, self->buf, 4 * PAGE_SZ, base + 4 * PAGE_SZ));
	EXPECT_EQ(EEXIST, map_at(self->fd, self->ioas_id, self->buf, 2 * PAGE_SZ, base + 3 * PAGE_SZ));
	EXPECT_EQ(EEXIST, map_at(self->fd, self->ioas_id, self->buf, PAGE_SZ, base + 7 * PAGE_SZ));
	EXPECT_EQ(EEXIST, map_at(self->fd, self->ioas_id, self->buf, 16 * PAGE_SZ, base));
	/* Adjacent is fine. */
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, 4 * PAGE_SZ, base));
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, 4 * PAGE_SZ, base + 8 * PAGE_SZ));

	/* A reserved range refuses FIXED (EINVAL) and is avoided otherwise. */
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas_id, base + 64 * PAGE_SZ, 16 * PAGE_SZ));
	EXPECT_EQ(EINVAL, map_at(self->fd, self->ioas_id, self->buf, PAGE_SZ, base + 70 * PAGE_SZ));
	EXPECT_EQ(EINVAL, map_at(self->fd, self->ioas_id, self->buf, 4 * PAGE_SZ, base + 62 * PAGE_SZ));

	/* A mock domain: 2 KiB IO pages, an aperture. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	EXPECT_EQ(EINVAL, map_at(self->fd, self->ioas_id, self->buf, PAGE_SZ, base + 100 * PAGE_SZ + 1));
	EXPECT_EQ(EINVAL, map(self->fd, self->ioas_id, self->buf, MOCK_IO_PAGE + 1, NULL, RW));
	EXPECT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, MOCK_IO_PAGE,
			    base + 100 * PAGE_SZ + MOCK_IO_PAGE));
	/* Outside the aperture is reserved. */
	EXPECT_EQ(EINVAL, map_at(self->fd, self->ioas_id, self->buf, PAGE_SZ, PAGE_SZ));
	EXPECT_EQ(EINVAL, map_at(self->fd, self->ioas_id, self->buf, PAGE_SZ,
				 (uint64_t)MOCK_APERTURE_LAST + 1));
	EXPECT_EQ(EINVAL, map_at(self->fd, self->ioas_id, self->buf, 2 * PAGE_SZ,
				 (uint64_t)MOCK_APERTURE_LAST + 1 - PAGE_SZ));

	/* Picked IOVAs avoid areas and reserved ranges, and keep the
	 * alignment of the user address up to the length.
	 */
	aligned = alloc_huge(HUGE_2M, false);
	ASSERT_NE(NULL, aligned);
	for (int i = 1; i <= 8; i++) {
		size_t len = i * PAGE_SZ;

		ASSERT_EQ(0, map(self->fd, self->ioas_id, aligned, len, &iova, RW));
		EXPECT_LE(MOCK_APERTURE_START, iova);
		EXPECT_GE((uint64_t)MOCK_APERTURE_LAST, iova + len - 1);
		EXPECT_EQ(0, iova % (1UL << __builtin_ctzl(len)));
		EXPECT_TRUE(iova + len <= base + 64 * PAGE_SZ || iova >= base + 80 * PAGE_SZ);
	}

	/* Nowhere left to put it: ENOSPC. */
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));
	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, base + 200 * PAGE_SZ,
				 base + 204 * PAGE_SZ - 1));
	EXPECT_EQ(ENOSPC, map(self->fd, self->ioas_id, self->buf, 8 * PAGE_SZ, NULL, RW));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, 4 * PAGE_SZ, &iova, RW));
	EXPECT_EQ(base + 200 * PAGE_SZ, iova);
	EXPECT_EQ(ENOSPC, map(self->fd, self->ioas_id, self->buf, PAGE_SZ, NULL, RW));
}

/* The IOVA alignment follows the domains (their smallest IO page) and
 * HUGE_PAGES; the usable ranges follow the domains' apertures. FIXED
 * mappings are not held to the allowed list, only picked IOVAs are.
 */
TEST_F(pages, alignment_tracks_domains)
{
	struct iommu_iova_range r[4];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 4,
		.allowed_iovas = (uintptr_t)r,
	};
	uint64_t align, base = MOCK_APERTURE_START, iova;
	uint32_t stdev;

	NEED_TEST_ABI();
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL));
	ASSERT_EQ(0, ioctl_err(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	ASSERT_EQ(1, cmd.num_iovas);
	EXPECT_EQ(MOCK_APERTURE_START, r[0].start);
	EXPECT_EQ(MOCK_APERTURE_LAST, r[0].last);
	EXPECT_EQ(MOCK_IO_PAGE, cmd.out_iova_alignment);
	ASSERT_EQ(0, destroy(self->fd, stdev));
	cmd.num_iovas = 4;
	ASSERT_EQ(0, ioctl_err(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	ASSERT_EQ(1, cmd.num_iovas);
	EXPECT_EQ(0, r[0].start);
	EXPECT_EQ(UINT64_MAX, r[0].last);
	EXPECT_EQ(1, cmd.out_iova_alignment);

	/* HUGE_PAGES off and a domain: the larger of the two. */
	ASSERT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 0));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL));
	ASSERT_EQ(0, iova_alignment(self->fd, self->ioas_id, &align));
	EXPECT_EQ(PAGE_SZ, align);
	EXPECT_EQ(EINVAL, map(self->fd, self->ioas_id, self->buf, MOCK_IO_PAGE, NULL, RW));
	ASSERT_EQ(0, destroy(self->fd, stdev));
	ASSERT_EQ(0, iova_alignment(self->fd, self->ioas_id, &align));
	EXPECT_EQ(PAGE_SZ, align);
	ASSERT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 1));
	ASSERT_EQ(0, iova_alignment(self->fd, self->ioas_id, &align));
	EXPECT_EQ(1, align);

	/* A domain cannot come while a mapping breaks its alignment. */
	iova = base + 1;
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf + 1, 100, &iova, FIXED | RW));
	EXPECT_EQ(EADDRINUSE, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));

	/* Allowed ranges bind picked IOVAs only. */
	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, base, base + 4 * PAGE_SZ - 1));
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, PAGE_SZ, base + 100 * PAGE_SZ));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, PAGE_SZ, &iova, RW));
	EXPECT_EQ(base, iova);
}

/* Memory that cannot be pinned: EFAULT once a domain needs it, and only
 * then; read-only memory pins for a read-only mapping.
 */
TEST_F(pages, map_unpinnable_memory)
{
	long pin0 = VMPIN(0);
	uint8_t *hole, *ro;
	uint64_t iova;
	uint32_t stdev;

	NEED_TEST_ABI();
	hole = mmap(NULL, 4 * PAGE_SZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	ro = alloc_pages(4, MAP_PRIVATE);
	ASSERT_NE(NULL, ro);
	ASSERT_EQ(0, mprotect(ro, 4 * PAGE_SZ, PROT_READ));

	/* No domain: nothing is pinned, so anything maps. */
	iova = MOCK_APERTURE_START;
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, hole, 4 * PAGE_SZ, iova));
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, ro, 4 * PAGE_SZ, iova + 4 * PAGE_SZ));
	/* ... until a domain wants the pages. */
	EXPECT_EQ(EFAULT, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, 4 * PAGE_SZ, NULL));
	EXPECT_EQ(EFAULT, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));

	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL));
	EXPECT_EQ(EFAULT, map(self->fd, self->ioas_id, hole, 4 * PAGE_SZ, NULL, RW));
	EXPECT_EQ(EFAULT, map(self->fd, self->ioas_id, hole, 4 * PAGE_SZ, NULL,
			      IOMMU_IOAS_MAP_READABLE));
	/* Partly good, partly not: all or nothing. */
	ASSERT_EQ(0, munmap(self->buf + 60 * PAGE_SZ, 4 * PAGE_SZ));
	EXPECT_EQ(EFAULT, map(self->fd, self->ioas_id, self->buf + 48 * PAGE_SZ,
			      16 * PAGE_SZ, NULL, RW));
	EXPECT_EQ(0, check_refs(self->fd, self->buf + 48 * PAGE_SZ, 12 * PAGE_SZ, 0));
	/* Writeable needs writable memory. */
	EXPECT_EQ(EFAULT, map(self->fd, self->ioas_id, ro, 4 * PAGE_SZ, NULL, RW));
	EXPECT_EQ(EFAULT, map(self->fd, self->ioas_id, ro, 4 * PAGE_SZ, NULL,
			      IOMMU_IOAS_MAP_WRITEABLE));
	EXPECT_EQ(pin0, VMPIN(0));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, ro, 4 * PAGE_SZ, &iova,
			 IOMMU_IOAS_MAP_READABLE));
	EXPECT_EQ(pin0 + KB(4), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, ro, 4 * PAGE_SZ, 1));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, 4 * PAGE_SZ, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, ro, 4 * PAGE_SZ, 0));
	/* Restore the fixture buffer for the teardown's check. */
	ASSERT_EQ(self->buf + 60 * PAGE_SZ,
		  mmap(self->buf + 60 * PAGE_SZ, 4 * PAGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0));
	ASSERT_EQ(0, destroy(self->fd, stdev));
}

/* ---- IOMMU_IOAS_UNMAP --------------------------------------------------- */

TEST_F(pages, unmap_rules)
{
	uint64_t base = MOCK_APERTURE_START, done;
	uint32_t ioas2;

	/* Empty IOAS: "all" succeeds with 0 bytes, a range is ENOENT. */
	done = 7;
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, 0, UINT64_MAX, &done));
	EXPECT_EQ(0, done);
	EXPECT_EQ(ENOENT, unmap(self->fd, self->ioas_id, base, PAGE_SZ, NULL));
	EXPECT_EQ(ENOENT, unmap(self->fd, self->ioas_id, 0, UINT64_MAX - 1, NULL));

	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, 8 * PAGE_SZ,
				    base + i * 16 * PAGE_SZ));
	/* A range that cuts an area: ENOENT, from either side. */
	EXPECT_EQ(ENOENT, unmap(self->fd, self->ioas_id, base, 4 * PAGE_SZ, NULL));
	EXPECT_EQ(ENOENT, unmap(self->fd, self->ioas_id, base + 4 * PAGE_SZ, 8 * PAGE_SZ, NULL));
	EXPECT_EQ(ENOENT, unmap(self->fd, self->ioas_id, base - 4 * PAGE_SZ, 8 * PAGE_SZ, NULL));
	/* A range of nothing between areas. */
	EXPECT_EQ(ENOENT, unmap(self->fd, self->ioas_id, base + 8 * PAGE_SZ, 8 * PAGE_SZ, NULL));
	/* Zero length; overflow. */
	EXPECT_EQ(EINVAL, unmap(self->fd, self->ioas_id, base, 0, NULL));
	EXPECT_EQ(EOVERFLOW, unmap(self->fd, self->ioas_id, base, UINT64_MAX, NULL));
	EXPECT_EQ(EOVERFLOW, unmap(self->fd, self->ioas_id, UINT64_MAX, 1, NULL));
	EXPECT_EQ(EOVERFLOW, unmap(self->fd, self->ioas_id, -PAGE_SZ, 2 * PAGE_SZ, NULL));
	/* Unknown IOAS. */
	EXPECT_EQ(ENOENT, unmap(self->fd, 0, base, 8 * PAGE_SZ, NULL));
	EXPECT_EQ(ENOENT, unmap(self->fd, self->ioas_id + 100, 0, UINT64_MAX, NULL));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, destroy(self->fd, ioas2));
	EXPECT_EQ(ENOENT, unmap(self->fd, ioas2, 0, UINT64_MAX, NULL));

	/* Whole areas first, then one cut: ENOENT, but upstream has already
	 * removed the whole ones it met before the cut.
	 */
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, 8 * PAGE_SZ,
			    base + 100 * PAGE_SZ));
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, 8 * PAGE_SZ,
			    base + 108 * PAGE_SZ));
	EXPECT_EQ(ENOENT, unmap(self->fd, self->ioas_id, base + 100 * PAGE_SZ, 12 * PAGE_SZ,
				NULL));
	EXPECT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, PAGE_SZ, base + 100 * PAGE_SZ));
	EXPECT_EQ(EEXIST, map_at(self->fd, self->ioas_id, self->buf, PAGE_SZ,
				 base + 108 * PAGE_SZ));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, base + 100 * PAGE_SZ, 16 * PAGE_SZ, &done));
	EXPECT_EQ(9 * PAGE_SZ, done);

	/* A superset of whole areas: their bytes come back. */
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, base - 4 * PAGE_SZ,
			   2 * 16 * PAGE_SZ + 4 * PAGE_SZ, &done));
	EXPECT_EQ(16 * PAGE_SZ, done);
	/* Exactly one area. */
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, base + 32 * PAGE_SZ, 8 * PAGE_SZ, &done));
	EXPECT_EQ(8 * PAGE_SZ, done);
	/* All of the rest. */
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, 0, UINT64_MAX, &done));
	EXPECT_EQ(8 * PAGE_SZ, done);
	EXPECT_EQ(ENOENT, unmap(self->fd, self->ioas_id, base + 48 * PAGE_SZ, 8 * PAGE_SZ, NULL));
}

TEST_F(pages, unmap_struct_size)
{
	struct {
		struct iommu_ioas_unmap cmd;
		uint64_t extra;
	} buf;

	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, PAGE_SZ, MOCK_APERTURE_START));
	memset(&buf, 0, sizeof(buf));
	buf.cmd.ioas_id = self->ioas_id;
	buf.cmd.iova = MOCK_APERTURE_START;
	buf.cmd.length = PAGE_SZ;
	buf.cmd.size = offsetof(struct iommu_ioas_unmap, length) + 7;
	EXPECT_EQ(EINVAL, ioctl_err(self->fd, IOMMU_IOAS_UNMAP, &buf));
	buf.cmd.size = sizeof(buf);
	buf.extra = 1;
	EXPECT_EQ(E2BIG, ioctl_err(self->fd, IOMMU_IOAS_UNMAP, &buf));
	buf.extra = 0;
	ASSERT_EQ(0, ioctl_err(self->fd, IOMMU_IOAS_UNMAP, &buf));
	EXPECT_EQ(PAGE_SZ, buf.cmd.length);
	EXPECT_EQ(EFAULT, ioctl_err(self->fd, IOMMU_IOAS_UNMAP, NULL));
}

/* ---- IOMMU_IOAS_COPY ---------------------------------------------------- */

TEST_F(pages, copy_rules)
{
	uint64_t base = MOCK_APERTURE_START, iova, done;
	uint32_t ioas2, ioas3;
	uint8_t *ro;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, 8 * PAGE_SZ, base));
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf + 8 * PAGE_SZ, 8 * PAGE_SZ,
			    base + 8 * PAGE_SZ));
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, 8 * PAGE_SZ,
			    base + 32 * PAGE_SZ));

	/* Flags: as for MAP. */
	EXPECT_EQ(EOPNOTSUPP, copy(self->fd, ioas2, self->ioas_id, base, PAGE_SZ, NULL,
				   RW | (1 << 3)));
	EXPECT_EQ(EINVAL, copy(self->fd, ioas2, self->ioas_id, base, PAGE_SZ, NULL, 0));
	iova = base;
	EXPECT_EQ(EINVAL, copy(self->fd, ioas2, self->ioas_id, base, PAGE_SZ, &iova, FIXED));
	/* Overflow. */
	EXPECT_EQ(EOVERFLOW, copy(self->fd, ioas2, self->ioas_id, base, UINT64_MAX, NULL, RW));
	EXPECT_EQ(EOVERFLOW, copy(self->fd, ioas2, self->ioas_id, UINT64_MAX, PAGE_SZ, NULL, RW));
	iova = UINT64_MAX;
	EXPECT_EQ(EOVERFLOW, copy(self->fd, ioas2, self->ioas_id, base, PAGE_SZ, &iova, FIXED | RW));
	EXPECT_EQ(EOVERFLOW, copy(self->fd, ioas2, self->ioas_id, -PAGE_SZ, 2 * PAGE_SZ, NULL, RW));
	/* Unknown IOAS, either side. */
	EXPECT_EQ(ENOENT, copy(self->fd, ioas2, 0, base, PAGE_SZ, NULL, RW));
	EXPECT_EQ(ENOENT, copy(self->fd, ioas2, ioas2 + 100, base, PAGE_SZ, NULL, RW));
	EXPECT_EQ(ENOENT, copy(self->fd, 0, self->ioas_id, base, PAGE_SZ, NULL, RW));
	EXPECT_EQ(ENOENT, copy(self->fd, ioas2 + 100, self->ioas_id, base, PAGE_SZ, NULL, RW));
	/* Zero length. */
	EXPECT_EQ(EINVAL, copy(self->fd, ioas2, self->ioas_id, base, 0, NULL, RW));
	/* The source must be mapped, without holes. */
	EXPECT_EQ(ENOENT, copy(self->fd, ioas2, self->ioas_id, base + 16 * PAGE_SZ, PAGE_SZ,
			       NULL, RW));
	EXPECT_EQ(ENOENT, copy(self->fd, ioas2, self->ioas_id, base + 8 * PAGE_SZ,
			       32 * PAGE_SZ, NULL, RW));
	EXPECT_EQ(ENOENT, copy(self->fd, ioas2, self->ioas_id, base - PAGE_SZ, 2 * PAGE_SZ,
			       NULL, RW));
	EXPECT_EQ(ENOENT, copy(self->fd, ioas2, self->ioas_id, base + 38 * PAGE_SZ,
			       4 * PAGE_SZ, NULL, RW));
	/* Nothing was copied by any of it. */
	done = 7;
	ASSERT_EQ(0, unmap(self->fd, ioas2, 0, UINT64_MAX, &done));
	EXPECT_EQ(0, done);

	/* Adjacent areas copy as one range; part of an area copies too. */
	iova = base;
	ASSERT_EQ(0, copy(self->fd, ioas2, self->ioas_id, base + 4 * PAGE_SZ, 8 * PAGE_SZ,
			  &iova, FIXED | RW));
	/* Onto a mapping: EEXIST. */
	EXPECT_EQ(EEXIST, copy(self->fd, ioas2, self->ioas_id, base, PAGE_SZ, &iova, FIXED | RW));
	/* Into the same IOAS. */
	iova = base + 48 * PAGE_SZ;
	ASSERT_EQ(0, copy(self->fd, self->ioas_id, self->ioas_id, base, 16 * PAGE_SZ, &iova,
			  FIXED | RW));
	/* The copy of two areas is two areas: unmapping one half works. */
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, base + 48 * PAGE_SZ, 8 * PAGE_SZ, &done));
	EXPECT_EQ(8 * PAGE_SZ, done);
	ASSERT_EQ(0, unmap(self->fd, ioas2, 0, UINT64_MAX, &done));
	EXPECT_EQ(8 * PAGE_SZ, done);

	/* A read-only mapping cannot be copied writeable: EPERM. */
	ro = alloc_pages(4, MAP_PRIVATE);
	ASSERT_NE(NULL, ro);
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas3));
	iova = base + 100 * PAGE_SZ;
	ASSERT_EQ(0, map(self->fd, ioas3, ro, 4 * PAGE_SZ, &iova, FIXED |
			 IOMMU_IOAS_MAP_READABLE));
	EXPECT_EQ(EPERM, copy(self->fd, ioas2, ioas3, iova, 4 * PAGE_SZ, NULL, RW));
	EXPECT_EQ(EPERM, copy(self->fd, ioas2, ioas3, iova, 4 * PAGE_SZ, NULL,
			      IOMMU_IOAS_MAP_WRITEABLE));
	ASSERT_EQ(0, copy(self->fd, ioas2, ioas3, iova, 4 * PAGE_SZ, NULL,
			  IOMMU_IOAS_MAP_READABLE));
}

TEST_F(pages, copy_struct_size)
{
	struct {
		struct iommu_ioas_copy cmd;
		uint64_t extra;
	} buf;

	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, self->buf, PAGE_SZ, MOCK_APERTURE_START));
	memset(&buf, 0, sizeof(buf));
	buf.cmd.flags = RW;
	buf.cmd.dst_ioas_id = self->ioas_id;
	buf.cmd.src_ioas_id = self->ioas_id;
	buf.cmd.length = PAGE_SZ;
	buf.cmd.src_iova = MOCK_APERTURE_START;
	buf.cmd.size = offsetof(struct iommu_ioas_copy, src_iova) + 7;
	EXPECT_EQ(EINVAL, ioctl_err(self->fd, IOMMU_IOAS_COPY, &buf));
	buf.cmd.size = sizeof(buf);
	buf.extra = 1;
	EXPECT_EQ(E2BIG, ioctl_err(self->fd, IOMMU_IOAS_COPY, &buf));
	buf.extra = 0;
	ASSERT_EQ(0, ioctl_err(self->fd, IOMMU_IOAS_COPY, &buf));
	EXPECT_NE(MOCK_APERTURE_START, buf.cmd.dst_iova);
	EXPECT_EQ(0, unmap(self->fd, self->ioas_id, buf.cmd.dst_iova, PAGE_SZ, NULL));
	EXPECT_EQ(EFAULT, ioctl_err(self->fd, IOMMU_IOAS_COPY, NULL));
}

/* ---- IOMMU_IOAS_MAP_FILE (6.13) --------------------------------------- */

TEST_F(pages, map_file_memfd)
{
	const size_t n = 16;
	long pin0 = VMPIN(0);
	uint32_t hwpt, stdev;
	uint64_t iova, iova2;
	uint8_t *p;
	int mfd, ret;

	mfd = memfd(n * PAGE_SZ, 0);
	ASSERT_LE(0, mfd);
	/* Inside the mock aperture, so a domain can come later. */
	iova = MOCK_APERTURE_START;
	ret = map_file(self->fd, self->ioas_id, mfd, 0, n * PAGE_SZ, &iova, FIXED | RW);
	NEED_IOCTL(ret, "IOMMU_IOAS_MAP_FILE");
	ASSERT_EQ(0, ret);
	/* No domain: nothing pinned. */
	EXPECT_EQ(pin0, VMPIN(0));
	NEED_TEST_ABI();

	p = mmap(NULL, n * PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0xa5, n * PAGE_SZ);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt));
	EXPECT_EQ(pin0 + KB(n), VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, p, n * PAGE_SZ, 1));
	EXPECT_EQ(0, check_map(self->fd, hwpt, iova, n * PAGE_SZ, p));

	/* A byte range inside the file, with the domain there: pins again. */
	ASSERT_EQ(0, map_file(self->fd, self->ioas_id, mfd, 4 * PAGE_SZ, 8 * PAGE_SZ,
			      &iova2, RW));
	EXPECT_EQ(pin0 + KB(n + 8), VMPIN(0));
	EXPECT_EQ(0, check_map(self->fd, hwpt, iova2, 8 * PAGE_SZ, p + 4 * PAGE_SZ));
	EXPECT_EQ(0, check_refs(self->fd, p + 4 * PAGE_SZ, 8 * PAGE_SZ, 2));
	/* Sub-page start: the IOVA keeps the offset within the page. */
	ASSERT_EQ(0, map_file(self->fd, self->ioas_id, mfd, PAGE_SZ + MOCK_IO_PAGE,
			      MOCK_IO_PAGE, &iova2, RW));
	EXPECT_EQ(MOCK_IO_PAGE, iova2 % PAGE_SZ);
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova2, MOCK_IO_PAGE, NULL));

	/* The file can go: the mapping holds it. */
	EXPECT_EQ(0, close(mfd));
	ASSERT_EQ(0, destroy(self->fd, stdev));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, p, n * PAGE_SZ, 0));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	EXPECT_EQ(pin0 + KB(n + 8), VMPIN(0));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, p, n * PAGE_SZ, 0));
	munmap(p, n * PAGE_SZ);
}

/* memfd pages need not be in anyone's address space, nor exist yet. */
TEST_F(pages, map_file_unmapped_memfd)
{
	long pin0 = VMPIN(0);
	uint64_t iova;
	uint8_t *p;
	int mfd, ret;

	NEED_TEST_ABI();
	mfd = memfd(32 * PAGE_SZ, 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ret = map_file(self->fd, self->ioas_id, mfd, 0, 32 * PAGE_SZ, &iova, RW);
	NEED_IOCTL(ret, "IOMMU_IOAS_MAP_FILE");
	ASSERT_EQ(0, ret);
	EXPECT_EQ(pin0 + KB(32), VMPIN(0));
	/* The pinned pages are the file's: a later mmap sees them pinned. */
	p = mmap(NULL, 32 * PAGE_SZ, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, check_refs(self->fd, p, 32 * PAGE_SZ, 1));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, 32 * PAGE_SZ, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(0, check_refs(self->fd, p, 32 * PAGE_SZ, 0));
	munmap(p, 32 * PAGE_SZ);
	close(mfd);
}

TEST_F(pages, map_file_bad_input)
{
	struct {
		struct iommu_ioas_map_file cmd;
		uint64_t extra;
	} buf;
	long pin0 = VMPIN(0);
	int mfd, ret, pipefd[2], null_fd;
	uint32_t stdev = 0;
	uint64_t iova;

	mfd = memfd(16 * PAGE_SZ, 0);
	ASSERT_LE(0, mfd);
	ret = map_file(self->fd, self->ioas_id, mfd, 0, PAGE_SZ, &iova, RW);
	NEED_IOCTL(ret, "IOMMU_IOAS_MAP_FILE");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, PAGE_SZ, NULL));

	/* Bad descriptors. */
	EXPECT_EQ(EBADF, map_file(self->fd, self->ioas_id, -1, 0, PAGE_SZ, NULL, RW));
	EXPECT_EQ(EBADF, map_file(self->fd, self->ioas_id, 1000000, 0, PAGE_SZ, NULL, RW));
	ASSERT_EQ(0, pipe(pipefd));
	close(pipefd[1]);
	EXPECT_EQ(EBADF, map_file(self->fd, self->ioas_id, pipefd[1], 0, PAGE_SZ, NULL, RW));
	/* Flags, as for MAP. */
	EXPECT_EQ(EOPNOTSUPP, map_file(self->fd, self->ioas_id, mfd, 0, PAGE_SZ, NULL,
				       RW | (1 << 3)));
	EXPECT_EQ(EINVAL, map_file(self->fd, self->ioas_id, mfd, 0, PAGE_SZ, NULL, 0));
	/* Lengths and overflow. */
	EXPECT_EQ(EINVAL, map_file(self->fd, self->ioas_id, mfd, 0, 0, NULL, RW));
	EXPECT_EQ(EOVERFLOW, map_file(self->fd, self->ioas_id, mfd, 0, UINT64_MAX, NULL, RW));
	EXPECT_EQ(EOVERFLOW, map_file(self->fd, self->ioas_id, mfd, -PAGE_SZ, 2 * PAGE_SZ,
				      NULL, RW));
	iova = UINT64_MAX;
	EXPECT_EQ(EOVERFLOW, map_file(self->fd, self->ioas_id, mfd, 0, PAGE_SZ, &iova,
				      FIXED | RW));
	/* Unknown IOAS. */
	EXPECT_EQ(ENOENT, map_file(self->fd, 0, mfd, 0, PAGE_SZ, NULL, RW));
	EXPECT_EQ(ENOENT, map_file(self->fd, self->ioas_id + 100, mfd, 0, PAGE_SZ, NULL, RW));

	/* Not a memfd: nothing to pin from (EINVAL) once a domain needs it;
	 * nor is a range past the end of the memfd.
	 */
	if (self->test_abi) {
		ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL));
		EXPECT_EQ(EINVAL, map_file(self->fd, self->ioas_id, mfd, 8 * PAGE_SZ,
					   16 * PAGE_SZ, NULL, RW));
		EXPECT_EQ(EINVAL, map_file(self->fd, self->ioas_id, mfd, 16 * PAGE_SZ,
					   PAGE_SZ, NULL, RW));
		EXPECT_EQ(EINVAL, map_file(self->fd, self->ioas_id, pipefd[0], 0, PAGE_SZ,
					   NULL, RW));
		null_fd = open("/dev/null", O_RDWR);
		ASSERT_LE(0, null_fd);
		EXPECT_EQ(EINVAL, map_file(self->fd, self->ioas_id, null_fd, 0, PAGE_SZ,
					   NULL, RW));
		close(null_fd);
		EXPECT_EQ(pin0, VMPIN(0));
	}
	close(pipefd[0]);
	/* Nothing was mapped by any of it. */
	EXPECT_EQ(ENOENT, unmap(self->fd, self->ioas_id, 0, UINT64_MAX - 1, NULL));

	/* The struct itself. */
	memset(&buf, 0, sizeof(buf));
	buf.cmd.flags = RW;
	buf.cmd.ioas_id = self->ioas_id;
	buf.cmd.fd = mfd;
	buf.cmd.length = PAGE_SZ;
	buf.cmd.size = offsetof(struct iommu_ioas_map_file, iova) + 7;
	EXPECT_EQ(EINVAL, ioctl_err(self->fd, IOMMU_IOAS_MAP_FILE, &buf));
	buf.cmd.size = sizeof(buf);
	buf.extra = 1;
	EXPECT_EQ(E2BIG, ioctl_err(self->fd, IOMMU_IOAS_MAP_FILE, &buf));
	buf.extra = 0;
	ASSERT_EQ(0, ioctl_err(self->fd, IOMMU_IOAS_MAP_FILE, &buf));
	EXPECT_EQ(0, unmap(self->fd, self->ioas_id, buf.cmd.iova, PAGE_SZ, NULL));
	EXPECT_EQ(EFAULT, ioctl_err(self->fd, IOMMU_IOAS_MAP_FILE, NULL));
	close(mfd);
	/* No failure above kept a reference on the IOAS: it can go. */
	if (stdev)
		ASSERT_EQ(0, destroy(self->fd, stdev));
	EXPECT_EQ(0, destroy(self->fd, self->ioas_id));
}

TEST_F(pages, map_file_hugetlb)
{
	const size_t len = 2 * HUGE_2M;
	long pin0 = VMPIN(0);
	uint64_t iova;
	int mfd, ret;

	NEED_TEST_ABI();
	if (!have_hugetlb(len))
		SKIP(return, "no hugetlbfs pages (vm.nr_hugepages)");
	mfd = memfd(len, MFD_HUGETLB);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ret = map_file(self->fd, self->ioas_id, mfd, 0, len, &iova, RW);
	NEED_IOCTL(ret, "IOMMU_IOAS_MAP_FILE");
	ASSERT_EQ(0, ret);
	EXPECT_EQ(pin0 + (long)(len / 1024), VMPIN(0));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, len, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	close(mfd);
}

/* USER accounting applies to MAP_FILE as to MAP. */
TEST_F(pages, map_file_user_rlimit)
{
	long pin0;
	uint64_t iova;
	int mfd, ret;

	NEED_TEST_ABI();
	mfd = memfd(32 * PAGE_SZ, 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, set_memlock(16 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	pin0 = VMPIN(0);
	ret = map_file(self->fd, self->ioas_id, mfd, 0, 17 * PAGE_SZ, &iova, RW);
	NEED_IOCTL(ret, "IOMMU_IOAS_MAP_FILE");
	EXPECT_EQ(ENOMEM, ret);
	EXPECT_EQ(pin0, VMPIN(0));
	ASSERT_EQ(0, map_file(self->fd, self->ioas_id, mfd, 0, 16 * PAGE_SZ, &iova, RW));
	EXPECT_EQ(pin0 + KB(16), VMPIN(0));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, 16 * PAGE_SZ, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	close(mfd);
}

/* ---- IOMMU_IOAS_CHANGE_PROCESS (6.14) ---------------------------------- */

TEST_F(pages, change_process_rules)
{
	struct {
		struct iommu_ioas_change_process cmd;
		uint64_t extra;
	} buf;
	uint64_t iova;
	int ret, mfd;

	/* Nothing mapped: a no-op. */
	ret = change_process(self->fd);
	NEED_IOCTL(ret, "IOMMU_IOAS_CHANGE_PROCESS");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, change_process(self->fd));

	memset(&buf, 0, sizeof(buf));
	buf.cmd.size = sizeof(buf.cmd);
	buf.cmd.__reserved = 1;
	EXPECT_EQ(EOPNOTSUPP, ioctl_err(self->fd, IOMMU_IOAS_CHANGE_PROCESS, &buf));
	buf.cmd.__reserved = 0;
	buf.cmd.size = sizeof(buf.cmd) - 1;
	EXPECT_EQ(EINVAL, ioctl_err(self->fd, IOMMU_IOAS_CHANGE_PROCESS, &buf));
	buf.cmd.size = sizeof(buf);
	buf.extra = 1;
	EXPECT_EQ(E2BIG, ioctl_err(self->fd, IOMMU_IOAS_CHANGE_PROCESS, &buf));
	buf.extra = 0;
	EXPECT_EQ(0, ioctl_err(self->fd, IOMMU_IOAS_CHANGE_PROCESS, &buf));
	EXPECT_EQ(EFAULT, ioctl_err(self->fd, IOMMU_IOAS_CHANGE_PROCESS, NULL));

	/* Only MAP_FILE mappings can change hands: one user VA mapping, in any
	 * IOAS and even without a domain, makes it EINVAL.
	 */
	mfd = memfd(16 * PAGE_SZ, 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, map_file(self->fd, self->ioas_id, mfd, 0, 16 * PAGE_SZ, NULL, RW));
	ASSERT_EQ(0, change_process(self->fd));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, PAGE_SZ, &iova, RW));
	EXPECT_EQ(EINVAL, change_process(self->fd));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, PAGE_SZ, NULL));
	ASSERT_EQ(0, change_process(self->fd));
	close(mfd);
}

struct change_arg {
	int fd;
	uint32_t ioas;
	long kb;	/* what the parent charged */
	bool mm_mode;
};

/* Child: take the charge, report, wait, unmap everything, report. */
static int child_change_process(void *varg, int rfd, int wfd)
{
	struct change_arg *a = varg;
	char r = 0;

	if (VMPIN(0) != 0)
		r = 1;
	else if (change_process(a->fd))
		r = 2;
	else if (VMPIN(0) != a->kb)
		r = 3;
	else if (VMLCK(0) != (a->mm_mode ? a->kb : 0))
		r = 4;
	else if (change_process(a->fd)) /* again: nothing to do */
		r = 5;
	else if (VMPIN(0) != a->kb)
		r = 6;
	child_step_done(wfd, r);
	child_wait(rfd);
	r = 0;
	if (unmap(a->fd, a->ioas, 0, UINT64_MAX, NULL))
		r = 7;
	else if (VMPIN(0) != 0 || VMLCK(0) != 0)
		r = 8;
	child_step_done(wfd, r);
	return 0;
}

static void change_process_moves(struct __test_metadata *_metadata, int fd, uint32_t ioas,
				 bool mm_mode)
{
	struct change_arg a = { .fd = fd, .ioas = ioas, .kb = KB(16), .mm_mode = mm_mode };
	long pin0 = VMPIN(0), lck0 = VMLCK(0);
	struct stepper s;
	int mfd, ret;

	mfd = memfd(16 * PAGE_SZ, 0);
	ASSERT_LE(0, mfd);
	ret = map_file(fd, ioas, mfd, 0, 8 * PAGE_SZ, NULL, RW);
	NEED_IOCTL(change_process(fd), "IOMMU_IOAS_CHANGE_PROCESS");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, map_file(fd, ioas, mfd, 8 * PAGE_SZ, 8 * PAGE_SZ, NULL, RW));
	EXPECT_EQ(pin0 + KB(16), VMPIN(0));
	EXPECT_EQ(lck0 + (mm_mode ? KB(16) : 0), VMLCK(0));

	ASSERT_EQ(0, stepper_start(&s, child_change_process, &a));
	EXPECT_EQ(0, stepper_result(&s));
	/* The charge left us. */
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(lck0, VMLCK(0));
	EXPECT_EQ(KB(16), VMPIN(s.pid));
	stepper_go(&s);
	EXPECT_EQ(0, stepper_result(&s));
	EXPECT_EQ(0, stepper_finish(&s));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(lck0, VMLCK(0));
	close(mfd);
}

TEST_F(pages, change_process_moves_user_charge)
{
	NEED_TEST_ABI();
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, set_memlock(32 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	change_process_moves(_metadata, self->fd, self->ioas_id, false);
}

TEST_F(pages, change_process_moves_mm_charge)
{
	uint32_t ioas;
	int fd;

	NEED_TEST_ABI();
	fd = open_mm_ctx(&ioas);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_memlock(32 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	change_process_moves(_metadata, fd, ioas, true);
	EXPECT_EQ(0, close(fd));
}

static int child_change_enomem(void *varg)
{
	struct change_arg *a = varg;

	if (change_process(a->fd) != ENOMEM)
		return 1;
	if (VMPIN(0) != 0 || VMLCK(0) != 0)
		return 2;
	return 0;
}

/* The new owner must have room under its limit: all or nothing. In USER
 * mode the same user is charged twice for a moment, so a limit that holds
 * the pages once is not enough.
 */
TEST_F(pages, change_process_enomem)
{
	struct change_arg a = { .fd = self->fd, .ioas = self->ioas_id };
	long pin0;
	int mfd, ret;

	NEED_TEST_ABI();
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, set_memlock(24 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	pin0 = VMPIN(0);
	mfd = memfd(16 * PAGE_SZ, 0);
	ASSERT_LE(0, mfd);
	ret = map_file(self->fd, self->ioas_id, mfd, 0, 16 * PAGE_SZ, NULL, RW);
	NEED_IOCTL(change_process(self->fd), "IOMMU_IOAS_CHANGE_PROCESS");
	ASSERT_EQ(0, ret);
	EXPECT_EQ(0, in_child(child_change_enomem, &a));
	EXPECT_EQ(pin0 + KB(16), VMPIN(0));
	/* The charge is still ours: unmapping returns it. */
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	close(mfd);
}

static int child_map_file_exit(void *varg)
{
	struct fork_arg *a = varg;	/* p: the memfd number */

	return map_file(a->fd, a->ioas, (int)(intptr_t)a->p, 0, a->len, NULL, RW) ? 1 : 0;
}

/* The process that pinned has exited (a live update's old process): the
 * new one takes the charge, and returns it on unmap.
 */
TEST_F(pages, change_process_after_exit)
{
	long pin0;
	uint64_t iova;
	int mfd, ret;
	struct fork_arg a = { self->fd, self->ioas_id, NULL, 8 * PAGE_SZ };

	NEED_TEST_ABI();
	ret = change_process(self->fd);
	NEED_IOCTL(ret, "IOMMU_IOAS_CHANGE_PROCESS");
	mfd = memfd(8 * PAGE_SZ, 0);
	ASSERT_LE(0, mfd);
	a.p = (void *)(intptr_t)mfd;
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL));
	ASSERT_EQ(0, set_memlock(16 * PAGE_SZ));
	ASSERT_EQ(0, become_user());
	pin0 = VMPIN(0);
	ASSERT_EQ(0, in_child(child_map_file_exit, &a));
	EXPECT_EQ(pin0, VMPIN(0));
	ASSERT_EQ(0, change_process(self->fd));
	EXPECT_EQ(pin0 + KB(8), VMPIN(0));
	/* The user is charged once: 8 more pages fit, 9 do not. */
	EXPECT_EQ(ENOMEM, map(self->fd, self->ioas_id, self->buf, 9 * PAGE_SZ, NULL, RW));
	ASSERT_EQ(0, map(self->fd, self->ioas_id, self->buf, 8 * PAGE_SZ, &iova, RW));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, iova, 8 * PAGE_SZ, NULL));
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	close(mfd);
}

static int child_take_and_hold(void *varg, int rfd, int wfd)
{
	struct change_arg *a = varg;

	child_step_done(wfd, change_process(a->fd) ? 1 : VMPIN(0) != 0 ? 2 : 0);
	child_wait_end(rfd);
	return 0;
}

/* Nothing pinned yet: CHANGE_PROCESS moves no charge but the ownership, so
 * what is pinned later is charged to the new owner, whoever attaches.
 */
TEST_F(pages, change_process_moves_owner)
{
	struct change_arg a = { .fd = self->fd, .ioas = self->ioas_id };
	uint64_t iova = MOCK_APERTURE_START;
	struct stepper s;
	uint32_t stdev;
	long pin0;
	int mfd, ret;

	NEED_TEST_ABI();
	ret = change_process(self->fd);
	NEED_IOCTL(ret, "IOMMU_IOAS_CHANGE_PROCESS");
	mfd = memfd(16 * PAGE_SZ, 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, become_user());
	pin0 = VMPIN(0);
	ASSERT_EQ(0, map_file(self->fd, self->ioas_id, mfd, 0, 16 * PAGE_SZ, &iova,
			      FIXED | RW));
	ASSERT_EQ(0, stepper_start(&s, child_take_and_hold, &a));
	ASSERT_EQ(0, stepper_result(&s));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL));
	EXPECT_EQ(pin0, VMPIN(0));
	EXPECT_EQ(KB(16), VMPIN(s.pid));
	ASSERT_EQ(0, destroy(self->fd, stdev));
	EXPECT_EQ(0, VMPIN(s.pid));
	EXPECT_EQ(0, stepper_finish(&s));
	close(mfd);
}

TEST_HARNESS_MAIN
