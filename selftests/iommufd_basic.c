// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd_basic.c - the /dev/iommu foundation: the device node, ioctl
 * dispatch (size-versioned structs, unknown commands), the object table
 * (IDs, IOMMU_DESTROY, release on close) and IOMMU_IOAS_ALLOC, with every
 * bad input.  Runs in the VM against iommufd_cxx.ko; TAP via the kernel's
 * kselftest harness.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "iommufd.h"
#include "iommufd_test.h"
#include "iommufd_util.h"
#include "kselftest_harness.h"

#define DEV_PATH "/dev/iommu"
#define PARAM_DIR "/sys/module/iommufd_cxx/parameters/"

static long read_param(const char *name)
{
	char path[256], buf[64] = {};
	long v = -1;
	int fd;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		v = strtol(buf, NULL, 10);
	close(fd);
	return v;
}

TEST(device_node)
{
	struct stat st;

	ASSERT_EQ(0, stat(DEV_PATH, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	/* Upstream's mode: root and the group may use it, nobody else. */
	ASSERT_EQ(0660, st.st_mode & 0777);
}

FIXTURE(iommufd)
{
	int fd;
	long live_before;
};

FIXTURE_SETUP(iommufd)
{
	self->live_before = read_param("live_objects");
	ASSERT_LE(0, self->live_before);
	self->fd = open(DEV_PATH, O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(iommufd)
{
	close(self->fd);
	/* Closing the file destroys everything it held. */
	EXPECT_EQ(self->live_before, read_param("live_objects"));
}

TEST_F(iommufd, simple_close)
{
}

TEST_F(iommufd, ioas_ids_start_at_one_and_reuse_lowest)
{
	uint32_t a, b, c, d;

	ASSERT_EQ(0, ioas_alloc(self->fd, &a));
	ASSERT_EQ(0, ioas_alloc(self->fd, &b));
	ASSERT_EQ(0, ioas_alloc(self->fd, &c));
	ASSERT_EQ(1, a);
	ASSERT_EQ(2, b);
	ASSERT_EQ(3, c);
	ASSERT_EQ(0, destroy(self->fd, b));
	ASSERT_EQ(0, ioas_alloc(self->fd, &d));
	ASSERT_EQ(b, d);
	ASSERT_EQ(self->live_before + 3, read_param("live_objects"));
}

TEST_F(iommufd, ids_are_per_file)
{
	int fd2 = open(DEV_PATH, O_RDWR);
	uint32_t a, b;

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, ioas_alloc(self->fd, &a));
	ASSERT_EQ(0, ioas_alloc(fd2, &b));
	ASSERT_EQ(a, b);
	ASSERT_EQ(0, destroy(fd2, b));
	ASSERT_EQ(ENOENT, destroy(fd2, b));
	/* The other file's object of the same ID is untouched. */
	ASSERT_EQ(0, destroy(self->fd, a));
	close(fd2);
}

TEST_F(iommufd, destroy_unknown_ids)
{
	uint32_t id;

	ASSERT_EQ(ENOENT, destroy(self->fd, 0));
	ASSERT_EQ(ENOENT, destroy(self->fd, 1));
	ASSERT_EQ(ENOENT, destroy(self->fd, 0x7fffffff));
	ASSERT_EQ(ENOENT, destroy(self->fd, 0x80000000));
	ASSERT_EQ(ENOENT, destroy(self->fd, UINT32_MAX));
	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	ASSERT_EQ(ENOENT, destroy(self->fd, id + 1));
	ASSERT_EQ(0, destroy(self->fd, id));
	ASSERT_EQ(ENOENT, destroy(self->fd, id));
}

TEST_F(iommufd, ioas_alloc_unknown_flags)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		cmd.flags = 1u << bit;
		ASSERT_EQ(EOPNOTSUPP, ioctl_err(self->fd, IOMMU_IOAS_ALLOC, &cmd));
	}
	ASSERT_EQ(self->live_before, read_param("live_objects"));
}

/*
 * Size-versioned structs: below the minimum is EINVAL, a longer struct is
 * fine when the extra bytes are zero and E2BIG when they are not.
 */
#define CHECK_LENGTH(ioctl_nr, type, last)                                      \
	do {                                                                    \
		size_t min_size = offsetof(type, last) + sizeof(((type *)0)->last); \
		struct {                                                        \
			type cmd;                                               \
			uint8_t extra[4096];                                    \
		} buf;                                                          \
		uint32_t size;                                                  \
                                                                                \
		for (size = 0; size < min_size; size++) {                       \
			memset(&buf, 0, sizeof(buf));                           \
			buf.cmd.size = size;                                    \
			ASSERT_EQ(EINVAL, ioctl_err(self->fd, ioctl_nr, &buf)); \
		}                                                               \
		memset(&buf, 0, sizeof(buf));                                   \
		buf.cmd.size = sizeof(type) + 1;                                \
		buf.extra[0] = 0xaa;                                            \
		ASSERT_EQ(E2BIG, ioctl_err(self->fd, ioctl_nr, &buf));          \
		memset(&buf, 0, sizeof(buf));                                   \
		buf.cmd.size = sizeof(buf);                                     \
		buf.extra[sizeof(buf.extra) - 1] = 1;                           \
		ASSERT_EQ(E2BIG, ioctl_err(self->fd, ioctl_nr, &buf));          \
	} while (0)

TEST_F(iommufd, cmd_length)
{
	CHECK_LENGTH(IOMMU_DESTROY, struct iommu_destroy, id);
	CHECK_LENGTH(IOMMU_IOAS_ALLOC, struct iommu_ioas_alloc, out_ioas_id);
	ASSERT_EQ(self->live_before, read_param("live_objects"));
}

TEST_F(iommufd, cmd_length_zero_tail_accepted)
{
	struct {
		struct iommu_ioas_alloc cmd;
		uint8_t extra[64];
	} buf = {};
	struct {
		struct iommu_destroy cmd;
		uint8_t extra[4000];
	} dbuf = {};

	buf.cmd.size = sizeof(buf);
	ASSERT_EQ(0, ioctl_err(self->fd, IOMMU_IOAS_ALLOC, &buf));
	ASSERT_NE(0, buf.cmd.out_ioas_id);
	/* Only our struct's bytes are written back. */
	for (size_t i = 0; i < sizeof(buf.extra); i++)
		ASSERT_EQ(0, buf.extra[i]);
	dbuf.cmd.size = sizeof(dbuf);
	dbuf.cmd.id = buf.cmd.out_ioas_id;
	ASSERT_EQ(0, ioctl_err(self->fd, IOMMU_DESTROY, &dbuf));
}

TEST_F(iommufd, bad_user_pointers)
{
	struct iommu_ioas_alloc *ro;
	long page = sysconf(_SC_PAGESIZE);
	void *mem;

	ASSERT_EQ(EFAULT, ioctl_err(self->fd, IOMMU_DESTROY, NULL));
	ASSERT_EQ(EFAULT, ioctl_err(self->fd, IOMMU_IOAS_ALLOC, NULL));
	ASSERT_EQ(EFAULT, ioctl_err(self->fd, IOMMU_IOAS_ALLOC, (void *)-4096L));

	/* A struct that straddles into an unmapped page. */
	mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, munmap((char *)mem + page, page));
	ro = (void *)((char *)mem + page - 4);
	ro->size = sizeof(*ro);
	ASSERT_EQ(EFAULT, ioctl_err(self->fd, IOMMU_IOAS_ALLOC, ro));

	/*
	 * Readable but not writable: the IOAS is created, the response
	 * cannot be written, and the object must not survive.
	 */
	ro = mem;
	memset(ro, 0, sizeof(*ro));
	ro->size = sizeof(*ro);
	ASSERT_EQ(0, mprotect(mem, page, PROT_READ));
	ASSERT_EQ(EFAULT, ioctl_err(self->fd, IOMMU_IOAS_ALLOC, ro));
	ASSERT_EQ(self->live_before, read_param("live_objects"));
	ASSERT_EQ(ENOENT, destroy(self->fd, 1));
	munmap(mem, page);
}

TEST_F(iommufd, unknown_commands)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd) };
	unsigned int nr;

	/* Outside our range: the number just below the base, and beyond. */
	ASSERT_EQ(ENOTTY, ioctl_err(self->fd, _IO(IOMMUFD_TYPE, 0x7f), &cmd));
	ASSERT_EQ(ENOTTY, ioctl_err(self->fd, _IO(IOMMUFD_TYPE, 0xff), &cmd));
	for (nr = 0; nr < 0x80; nr++) {
		/*
		 * The VFIO container ioctls share the type (';') below our
		 * base, and /dev/iommu serves them as upstream does
		 * (iommufd_vfio.c tests them): GET_API_VERSION,
		 * CHECK_EXTENSION, SET_IOMMU, IOMMU_GET_INFO, MAP_DMA, UNMAP_DMA.
		 */
		if (nr == 100 || nr == 101 || nr == 102 || nr == 112 || nr == 113 || nr == 114)
			continue;
		ASSERT_EQ(ENOTTY, ioctl_err(self->fd, _IO(IOMMUFD_TYPE, nr), &cmd));
	}
	/* Our numbers with another type or a size/direction encoded. */
	ASSERT_EQ(ENOTTY, ioctl_err(self->fd, _IO('V', 0x80), &cmd));
	ASSERT_EQ(ENOTTY, ioctl_err(self->fd, _IOW(IOMMUFD_TYPE, 0x80, struct iommu_destroy), &cmd));
	ASSERT_EQ(ENOTTY, ioctl_err(self->fd, _IOWR(IOMMUFD_TYPE, 0x81, struct iommu_ioas_alloc), &cmd));
}

/* The test ABI exists only when the module was loaded with test_abi=1. */
TEST_F(iommufd, test_abi_hidden_by_default)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
		.memory_limit = { .limit = 65536 },
	};
	char buf[8] = {};
	int fd = open(PARAM_DIR "test_abi", O_RDONLY);

	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, buf, sizeof(buf) - 1));
	close(fd);
	if (buf[0] != 'N')
		SKIP(return, "loaded with test_abi=1");
	ASSERT_EQ(ENOTTY, ioctl_err(self->fd, IOMMU_TEST_CMD, &cmd));
}

TEST_F(iommufd, release_destroys_everything)
{
	int fd2 = open(DEV_PATH, O_RDWR);
	uint32_t id;
	int i;

	ASSERT_LE(0, fd2);
	for (i = 0; i < 2000; i++)
		ASSERT_EQ(0, ioas_alloc(fd2, &id));
	ASSERT_EQ(2000, id);
	ASSERT_EQ(self->live_before + 2000, read_param("live_objects"));
	close(fd2);
	ASSERT_EQ(self->live_before, read_param("live_objects"));
}

struct churn_arg {
	int fd;
	int errors;
};

static void *churn(void *p)
{
	struct churn_arg *a = p;
	uint32_t id;
	int i;

	for (i = 0; i < 5000; i++) {
		if (ioas_alloc(a->fd, &id) || destroy(a->fd, id))
			a->errors++;
	}
	return NULL;
}

TEST_F(iommufd, concurrent_alloc_destroy)
{
	struct churn_arg args[4];
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++) {
		args[i] = (struct churn_arg){ .fd = self->fd };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, churn, &args[i]));
	}
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(t[i], NULL));
		ASSERT_EQ(0, args[i].errors);
	}
	ASSERT_EQ(self->live_before, read_param("live_objects"));
}

/*
 * Random ioctls: random numbers in and around our range, random sizes and
 * random bytes.  Bounded and seeded (the seed is printed), so a failure can
 * be replayed.  Every call must fail or succeed with an errno the dispatch
 * is allowed to return, and nothing may leak or splat.
 */
TEST_F(iommufd, random_ioctls)
{
	unsigned int seed = getenv("IOMMUFD_SEED") ? atoi(getenv("IOMMUFD_SEED")) : (unsigned int)time(NULL);
	static uint8_t buf[8192];
	int i, ok = 0;

	TH_LOG("seed %u", seed);
	srandom(seed);
	for (i = 0; i < 50000; i++) {
		unsigned long cmd;
		uint32_t size;
		size_t j;
		int ret;

		switch (random() % 4) {
		case 0:
			cmd = _IO(IOMMUFD_TYPE, 0x80 + random() % 0x30);
			break;
		case 1:
			cmd = _IO(IOMMUFD_TYPE, random() % 256);
			break;
		case 2:
			cmd = IOMMU_DESTROY + random() % 2;
			break;
		default:
			cmd = (uint32_t)random();
			break;
		}
		switch (random() % 4) {
		case 0:
			size = random() % 64;
			break;
		case 1:
			size = random() % sizeof(buf);
			break;
		case 2:
			size = random();
			break;
		default:
			size = 12;
			break;
		}
		for (j = 0; j < 96; j++)
			buf[j] = random() % 3 ? 0 : random();
		memcpy(buf, &size, sizeof(size));
		ret = ioctl_err(self->fd, cmd, buf);
		switch (ret) {
		case 0:
			ok++;
			break;
		/* Every errno the uAPI documents for bad input. */
		case EINVAL: case E2BIG: case ENOTTY: case ENOENT:
		case EOPNOTSUPP: case EFAULT: case EBUSY: case ENODEV:
		case EOVERFLOW: case EPERM: case ENOMEM: case ENOSPC:
		case EEXIST: case EADDRINUSE: case EMSGSIZE: case EBADF:
		case EBADFD: /* test ABI: not a test access fd */
			break;
		default:
			TH_LOG("cmd 0x%lx size %u: unexpected errno %d", cmd, size, ret);
			ASSERT_TRUE(0);
		}
	}
	TH_LOG("%d of %d random ioctls succeeded", ok, i);
	/*
	 * Test commands may have made access and fault-queue fds; each holds
	 * /dev/iommu open, so close them for the teardown's leak check.
	 */
	for (i = self->fd + 1; i < 4096; i++)
		close(i);
}

TEST_HARNESS_MAIN
