// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd_vfio.c - the VFIO type1 container personality as user space sees
 * it (uapi/vfio_compat.h): VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION,
 * VFIO_SET_IOMMU, VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA and
 * VFIO_IOMMU_UNMAP_DMA on a container whose IOAS is named with
 * IOMMU_VFIO_IOAS, each with every bad input the header documents.
 *
 * Fixture `vfio` runs every test twice (variants):
 *   iommu  on /dev/iommu (charges the user's locked_vm, as iommufd does);
 *   node   on this module's own /dev/vfio/vfio (a full iommufd context that
 *          charges the mm's locked_vm, VmLck, as VFIO does).  It exists only
 *          while vfio.ko is not loaded (vfio_node=Y); the variant skips,
 *          naming why, when /dev/vfio/vfio is someone else's or missing.
 * Tests that need a domain (pinning, MD_CHECK_MAP, EFAULT, reserved IOVA,
 * accesses) use the test ABI's mock domain and skip without it (the module
 * loaded without test_abi=1); the rest run in both passes of run.sh.
 *
 * Fixture `noiommu` is the no-IOMMU mode: it needs the module loaded with
 * enable_unsafe_noiommu_mode=1 and skips otherwise.  run.sh runs it in a
 * load of its own (`iommufd_vfio -f noiommu`) because entering the mode
 * taints the kernel ('U'); the VM stages accept that taint.  Fixture
 * `noiommu_off` checks the module without the parameter.
 *
 * Runs in the VM against iommufd_cxx.ko as root (tests drop CAP_IPC_LOCK
 * or CAP_SYS_RAWIO themselves where they need an unprivileged caller);
 * TAP via the kernel's kselftest harness.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "iommufd.h"
#include "iommufd_test.h"
#include "vfio_compat.h"
#include "iommufd_util.h"
#include "kselftest_harness.h"

#define PARAMS "/sys/module/iommufd_cxx/parameters/"
/* The misc device behind our own /dev/vfio/vfio (vfio_glue.c). */
#define OUR_VFIO_NODE "/sys/class/misc/iommufd_cxx_vfio"
#define BUF_PAGES 64
#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)
#define IOVA ((uint64_t)MOCK_APERTURE_START)
#define INFO_MIN offsetof(struct vfio_iommu_type1_info, cap_offset) /* 16 */
#define INFO_SZ sizeof(struct vfio_iommu_type1_info)		    /* 24 */
#define TAINT_USER_BIT (1UL << 6)				    /* 'U' */

static long PG;

/* ---- helpers: each returns 0 or the errno -------------------------------- */

/* "Y", "N" or a number from a module parameter; -1 if unreadable. */
static int param_bool(const char *name)
{
	char path[128], v[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(v, sizeof(v), f))
		v[0] = 0;
	fclose(f);
	return v[0] == 'Y' || v[0] == '1';
}

static long tainted(void)
{
	long v = -1;
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* ioctl's own return value, or -errno. */
static long ioctl_val(int fd, unsigned long cmd, unsigned long arg)
{
	long r = ioctl(fd, cmd, arg);

	return r < 0 ? -errno : r;
}

static int vfio_ioas(int fd, uint16_t op, uint32_t *id)
{
	struct iommu_vfio_ioas cmd = { .size = sizeof(cmd), .ioas_id = *id, .op = op };
	int ret = ioctl_err(fd, IOMMU_VFIO_IOAS, &cmd);

	*id = cmd.ioas_id;
	return ret;
}

static int option_get(int fd, uint32_t option_id, uint32_t object_id, uint64_t *val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option_id,
		.op = IOMMU_OPTION_OP_GET,
		.object_id = object_id,
	};
	int ret = ioctl_err(fd, IOMMU_OPTION, &cmd);

	*val = cmd.val64;
	return ret;
}

static int iova_ranges(int fd, uint32_t ioas, struct iommu_iova_range *r, uint32_t *num)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = *num,
		.allowed_iovas = (uintptr_t)r,
	};
	int ret = ioctl_err(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);

	*num = cmd.num_iovas;
	return ret;
}

/* 0 when the mock domain @hwpt maps [iova, iova + len) to the pages at @p. */
/* 0 when every page of [p, p + len) is pinned exactly @refs times. */
static int map_dma_sz(int fd, uint64_t iova, const void *va, uint64_t size, uint32_t flags,
		      uint32_t argsz)
{
	struct vfio_iommu_type1_dma_map cmd = {
		.argsz = argsz,
		.flags = flags,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = size,
	};

	return ioctl_err(fd, VFIO_IOMMU_MAP_DMA, &cmd);
}

static int map_dma(int fd, uint64_t iova, const void *va, uint64_t size, uint32_t flags)
{
	return map_dma_sz(fd, iova, va, size, flags, sizeof(struct vfio_iommu_type1_dma_map));
}

/* *size: in, the range; out, what the kernel wrote back. */
static int unmap_dma_sz(int fd, uint64_t iova, uint64_t *size, uint32_t flags, uint32_t argsz)
{
	struct vfio_iommu_type1_dma_unmap cmd = {
		.argsz = argsz,
		.flags = flags,
		.iova = iova,
		.size = *size,
	};
	int ret = ioctl_err(fd, VFIO_IOMMU_UNMAP_DMA, &cmd);

	*size = cmd.size;
	return ret;
}

static int unmap_dma(int fd, uint64_t iova, uint64_t *size, uint32_t flags)
{
	return unmap_dma_sz(fd, iova, size, flags, sizeof(struct vfio_iommu_type1_dma_unmap));
}

/* Bytes unmapped, or -errno. */
static long unmap_bytes(int fd, uint64_t iova, uint64_t size)
{
	int ret = unmap_dma(fd, iova, &size, 0);

	return ret ? -ret : (long)size;
}

static int get_info(int fd, void *buf, uint32_t argsz)
{
	memcpy(buf, &argsz, sizeof(argsz));
	return ioctl_err(fd, VFIO_IOMMU_GET_INFO, buf);
}

static bool all_bytes(const uint8_t *p, uint8_t c, size_t n)
{
	for (; n; n--, p++)
		if (*p != c)
			return false;
	return true;
}

/* Is /dev/vfio/vfio this module's node (and not vfio.ko's)? */
static bool our_vfio_node(void)
{
	return access(OUR_VFIO_NODE, F_OK) == 0 && access("/dev/vfio/vfio", F_OK) == 0;
}

/* ======================================================================== */

FIXTURE(vfio)
{
	int fd;
	uint32_t ioas;
	bool test_abi;
	uint32_t stdev, hwpt; /* a mock domain, after need_domain() */
	uint8_t *buf;	      /* BUF_PAGES populated pages */
	size_t len;
};

FIXTURE_VARIANT(vfio)
{
	const char *dev;
	bool node;
};

FIXTURE_VARIANT_ADD(vfio, iommu)
{
	.dev = "/dev/iommu",
};

FIXTURE_VARIANT_ADD(vfio, node)
{
	.dev = "/dev/vfio/vfio",
	.node = true,
};

FIXTURE_SETUP(vfio)
{
	if (variant->node && !our_vfio_node())
		SKIP(return, "/dev/vfio/vfio is not iommufd_cxx's (vfio.ko loaded, or vfio_node=N)");
	self->fd = open(variant->dev, O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", variant->dev, strerror(errno));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &self->ioas));
	self->len = BUF_PAGES * PG;
	self->buf = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0x5a, self->len);
	/* The test ABI is there if a harmless op answers. */
	self->test_abi = check_refs(self->fd, self->buf, PG, 0) != ENOTTY;
}

FIXTURE_TEARDOWN(vfio)
{
	if (self->fd > 0)
		close(self->fd);
	/* Closing released every pin. */
	if (self->test_abi) {
		int fd = open("/dev/iommu", O_RDWR);

		if (fd >= 0) {
			EXPECT_EQ(0, check_refs(fd, self->buf, self->len, 0));
			close(fd);
		}
	}
}

/* A mock device on the container's IOAS: its domain is the container's. */
#define need_domain()                                                            \
	do {                                                                     \
		if (!self->test_abi)                                             \
			SKIP(return, "needs the test ABI (load with test_abi=1)");\
		ASSERT_EQ(0, mock_domain(self->fd, self->ioas, &self->stdev,     \
					 &self->hwpt));                          \
	} while (0)

#define set_iommu(type) ioctl_val(self->fd, VFIO_SET_IOMMU, (type))
#define check_ext(ext) ioctl_val(self->fd, VFIO_CHECK_EXTENSION, (ext))

/* ---- versions, extensions, types ---------------------------------------- */

TEST_F(vfio, api_version)
{
	unsigned int nr;

	EXPECT_EQ(VFIO_API_VERSION, ioctl_val(self->fd, VFIO_GET_API_VERSION, 0));
	/* Not served: dirty pages; the group/device numbers; other types. */
	EXPECT_EQ(-ENOTTY, ioctl_val(self->fd, VFIO_IOMMU_DIRTY_PAGES, 0));
	for (nr = 3; nr < 12; nr++) {
		EXPECT_EQ(-ENOTTY, ioctl_val(self->fd, _IO(VFIO_TYPE, VFIO_BASE + nr), 0));
	}
	EXPECT_EQ(-ENOTTY, ioctl_val(self->fd, _IO('V', VFIO_BASE), 0));
}

TEST_F(vfio, check_extension)
{
	const unsigned long zero[] = { 0, VFIO_SPAPR_TCE_IOMMU, VFIO_EEH,
				       VFIO_TYPE1_NESTING_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU,
				       VFIO_UPDATE_VADDR, 11, 1000 };
	uint32_t id = 0;
	size_t i;

	EXPECT_EQ(1, check_ext(VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1, check_ext(VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1, check_ext(VFIO_UNMAP_ALL));
	for (i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		EXPECT_EQ(0, check_ext(zero[i])) TH_LOG("extension %lu", zero[i]);
	}
	EXPECT_EQ(param_bool("enable_unsafe_noiommu_mode") == 1, check_ext(VFIO_NOIOMMU_IOMMU));
	/* Coherency: true without a domain, ENODEV without an IOAS. */
	EXPECT_EQ(1, check_ext(VFIO_DMA_CC_IOMMU));
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_CLEAR, &id));
	EXPECT_EQ(-ENODEV, check_ext(VFIO_DMA_CC_IOMMU));
	EXPECT_EQ(1, check_ext(VFIO_TYPE1v2_IOMMU));
	id = self->ioas;
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	if (!self->test_abi)
		return; /* the rest in the test_abi=1 pass */
	need_domain();
	EXPECT_EQ(1, check_ext(VFIO_DMA_CC_IOMMU)); /* the mock is coherent */
}

TEST_F(vfio, set_iommu)
{
	const unsigned long bad[] = { 0, VFIO_SPAPR_TCE_IOMMU, VFIO_TYPE1_NESTING_IOMMU,
				      VFIO_SPAPR_TCE_v2_IOMMU, VFIO_UNMAP_ALL, 99 };
	uint64_t val;
	uint32_t id = 0;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, set_iommu(bad[i])) TH_LOG("type %lu", bad[i]);
	}
	if (param_bool("enable_unsafe_noiommu_mode") != 1) {
		EXPECT_EQ(-EINVAL, set_iommu(VFIO_NOIOMMU_IOMMU));
	}
	/* v2 leaves large pages on, v1 turns them off. */
	ASSERT_EQ(0, set_iommu(VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, option_get(self->fd, IOMMU_OPTION_HUGE_PAGES, self->ioas, &val));
	EXPECT_EQ(1, val);
	ASSERT_EQ(0, set_iommu(VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, option_get(self->fd, IOMMU_OPTION_HUGE_PAGES, self->ioas, &val));
	EXPECT_EQ(0, val);
	/* No IOAS: ENODEV (the type is checked first). */
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_CLEAR, &id));
	EXPECT_EQ(-ENODEV, set_iommu(VFIO_TYPE1_IOMMU));
	EXPECT_EQ(-ENODEV, set_iommu(VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(-EINVAL, set_iommu(VFIO_TYPE1_NESTING_IOMMU));
}

/* TYPE1 once a domain holds mappings made with large pages: EINVAL. */
TEST_F(vfio, set_iommu_v1_after_mappings)
{
	uint64_t val, n;

	need_domain();
	ASSERT_EQ(0, set_iommu(VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, map_dma(self->fd, IOVA, self->buf, self->len, RW));
	EXPECT_EQ(-EINVAL, set_iommu(VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, option_get(self->fd, IOMMU_OPTION_HUGE_PAGES, self->ioas, &val));
	EXPECT_EQ(1, val);
	n = 0;
	ASSERT_EQ(0, unmap_dma(self->fd, 0, &n, VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(self->len, n);
	EXPECT_EQ(0, set_iommu(VFIO_TYPE1_IOMMU));
}

/* ---- GET_INFO --------------------------------------------------------------- */

TEST_F(vfio, get_info_bad_input)
{
	uint8_t buf[128];
	uint32_t id = 0;

	ASSERT_EQ(0, set_iommu(VFIO_TYPE1v2_IOMMU));
	memset(buf, 0xAA, sizeof(buf));
	EXPECT_EQ(EINVAL, get_info(self->fd, buf, 0));
	EXPECT_EQ(EINVAL, get_info(self->fd, buf, INFO_MIN - 1));
	EXPECT_TRUE(all_bytes(buf + 4, 0xAA, sizeof(buf) - 4));
	EXPECT_EQ(EFAULT, ioctl_err(self->fd, VFIO_IOMMU_GET_INFO, NULL));
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_CLEAR, &id));
	EXPECT_EQ(ENODEV, get_info(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, get_info(self->fd, buf, INFO_MIN - 1));
}

/* argsz 16: the struct before capabilities existed. */
TEST_F(vfio, get_info_pre_cap)
{
	struct vfio_iommu_type1_info info;
	uint8_t buf[64];

	ASSERT_EQ(0, set_iommu(VFIO_TYPE1v2_IOMMU));
	memset(buf, 0xAA, sizeof(buf));
	ASSERT_EQ(0, get_info(self->fd, buf, INFO_MIN));
	memcpy(&info, buf, INFO_MIN);
	EXPECT_EQ(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, info.flags);
	EXPECT_NE(0, info.iova_pgsizes);
	EXPECT_TRUE(all_bytes(buf + INFO_MIN, 0xAA, sizeof(buf) - INFO_MIN));
}

TEST_F(vfio, get_info_pgsizes)
{
	struct vfio_iommu_type1_info info;

	ASSERT_EQ(0, set_iommu(VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, get_info(self->fd, &info, sizeof(info)));
	/* No domain: every size from the CPU page up. */
	EXPECT_EQ(~(uint64_t)(PG - 1), info.iova_pgsizes);
	if (!self->test_abi)
		return; /* the rest in the test_abi=1 pass */
	need_domain();
	ASSERT_EQ(0, get_info(self->fd, &info, sizeof(info)));
	/* The mock's 2 KiB pages count as one CPU page. */
	EXPECT_EQ((uint64_t)PG, info.iova_pgsizes);
}

/*
 * The capability chain read at every argsz: nothing past argsz is ever
 * written; the size needed comes back; cap_offset is 0 until the whole
 * chain fits; then DMA_AVAIL (avail = U32_MAX) and IOVA_RANGE with
 * exactly the ranges IOMMU_IOAS_IOVA_RANGES reports.
 */
static void check_chain(struct __test_metadata *_metadata, int fd, uint32_t ioas)
{
	struct iommu_iova_range want[8];
	uint32_t nwant = 8, total, argsz;
	uint8_t buf[512];

	ASSERT_EQ(0, iova_ranges(fd, ioas, want, &nwant));
	ASSERT_GE(8, nwant);
	total = INFO_SZ + 16 + sizeof(struct vfio_iommu_type1_info_cap_iova_range) +
		nwant * sizeof(struct vfio_iova_range);

	for (argsz = INFO_MIN; argsz <= total + 64; argsz++) {
		struct vfio_iommu_type1_info info;
		struct vfio_iommu_type1_info_dma_avail avail;
		struct vfio_iommu_type1_info_cap_iova_range cap;
		uint32_t i;

		memset(buf, 0xAA, sizeof(buf));
		ASSERT_EQ(0, get_info(fd, buf, argsz));
		ASSERT_TRUE(all_bytes(buf + argsz, 0xAA, sizeof(buf) - argsz))
			TH_LOG("argsz %u: written past it", argsz);
		memcpy(&info, buf, sizeof(info));
		ASSERT_EQ(total, info.argsz) TH_LOG("argsz %u", argsz);
		ASSERT_EQ(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, info.flags);
		if (argsz < total) {
			if (argsz >= INFO_SZ) {
				ASSERT_EQ(0, info.cap_offset) TH_LOG("argsz %u", argsz);
			}
			continue;
		}
		ASSERT_EQ(INFO_SZ, info.cap_offset);
		memcpy(&avail, buf + info.cap_offset, sizeof(avail));
		ASSERT_EQ(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, avail.header.id);
		ASSERT_EQ(1, avail.header.version);
		ASSERT_EQ(UINT32_MAX, avail.avail);
		ASSERT_EQ(INFO_SZ + 16, avail.header.next);
		memcpy(&cap, buf + avail.header.next, sizeof(cap));
		ASSERT_EQ(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, cap.header.id);
		ASSERT_EQ(1, cap.header.version);
		ASSERT_EQ(0, cap.header.next);
		ASSERT_EQ(nwant, cap.nr_iovas);
		for (i = 0; i < nwant; i++) {
			struct vfio_iova_range r;

			memcpy(&r, buf + avail.header.next + sizeof(cap) + i * sizeof(r),
			       sizeof(r));
			ASSERT_EQ(want[i].start, r.start);
			ASSERT_EQ(want[i].last, r.end);
		}
	}
}

TEST_F(vfio, get_info_chain)
{
	ASSERT_EQ(0, set_iommu(VFIO_TYPE1v2_IOMMU));
	check_chain(_metadata, self->fd, self->ioas);
	if (!self->test_abi)
		return; /* the rest in the test_abi=1 pass */
	/* The mock's aperture, then split by reserved ranges. */
	need_domain();
	check_chain(_metadata, self->fd, self->ioas);
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas, IOVA + (1 << 20), 1 << 20));
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas, IOVA + (8 << 20), 4 * PG));
	check_chain(_metadata, self->fd, self->ioas);
}

/* ---- MAP_DMA ------------------------------------------------------------------ */

TEST_F(vfio, map_dma_bad_input)
{
	const uint32_t minsz = offsetof(struct vfio_iommu_type1_dma_map, size) + 8;
	uint8_t *p = self->buf;
	uint32_t bit, id = 0;

	ASSERT_EQ(0, set_iommu(VFIO_TYPE1_IOMMU)); /* v1: page alignment */
	EXPECT_EQ(EINVAL, map_dma_sz(self->fd, IOVA, p, PG, RW, 0));
	EXPECT_EQ(EINVAL, map_dma_sz(self->fd, IOVA, p, PG, RW, minsz - 1));
	for (bit = 2; bit < 32; bit++) {
		EXPECT_EQ(EINVAL, map_dma(self->fd, IOVA, p, PG, RW | (1u << bit)))
			TH_LOG("flag bit %u", bit);
	}
	EXPECT_EQ(EINVAL, map_dma(self->fd, IOVA, p, PG, VFIO_DMA_MAP_FLAG_VADDR));
	EXPECT_EQ(EINVAL, map_dma(self->fd, IOVA, p, PG, 0));
	EXPECT_EQ(EINVAL, map_dma(self->fd, IOVA, p, 0, RW));
	EXPECT_EQ(EOVERFLOW, map_dma(self->fd, UINT64_MAX - PG + 1, p, 2 * PG, RW));
	EXPECT_EQ(EOVERFLOW, map_dma(self->fd, IOVA, (void *)(UINTPTR_MAX - PG + 1), 2 * PG, RW));
	EXPECT_EQ(EINVAL, map_dma(self->fd, IOVA + PG / 2, p, PG, RW));
	EXPECT_EQ(EINVAL, map_dma(self->fd, IOVA + 1, p, PG, RW));
	EXPECT_EQ(EINVAL, map_dma(self->fd, IOVA, p + PG / 2, PG, RW));
	EXPECT_EQ(EINVAL, map_dma(self->fd, IOVA, p, PG + PG / 2, RW));
	EXPECT_EQ(EINVAL, map_dma(self->fd, IOVA, p, 100, RW));
	EXPECT_EQ(EFAULT, ioctl_err(self->fd, VFIO_IOMMU_MAP_DMA, NULL));
	/* A larger argsz is fine; then overlaps are EEXIST. */
	ASSERT_EQ(0, map_dma_sz(self->fd, IOVA, p, 4 * PG, RW, 4096));
	EXPECT_EQ(EEXIST, map_dma(self->fd, IOVA, p, 4 * PG, RW));
	EXPECT_EQ(EEXIST, map_dma(self->fd, IOVA + 3 * PG, p + 3 * PG, 4 * PG, RW));
	EXPECT_EQ(EEXIST, map_dma(self->fd, IOVA - PG, p, 2 * PG, RW));
	EXPECT_EQ(0, map_dma(self->fd, IOVA + 4 * PG, p, 4 * PG, RW));
	/* Without an IOAS: ENODEV, after argsz and flags. */
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_CLEAR, &id));
	EXPECT_EQ(ENODEV, map_dma(self->fd, IOVA + 16 * PG, p, PG, RW));
	EXPECT_EQ(EINVAL, map_dma(self->fd, IOVA + 16 * PG, p, PG, 0));
}

/* User memory that is not there: EFAULT once a domain pins it. */
TEST_F(vfio, map_dma_unmapped_memory)
{
	uint8_t *hole;

	need_domain();
	ASSERT_EQ(0, set_iommu(VFIO_TYPE1v2_IOMMU));
	hole = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hole);
	ASSERT_EQ(0, munmap(hole + 2 * PG, PG));
	EXPECT_EQ(EFAULT, map_dma(self->fd, IOVA, hole, 4 * PG, RW));
	EXPECT_EQ(EFAULT, map_dma(self->fd, IOVA, hole + 2 * PG, PG, RW));
	/* Nothing was left behind: the same IOVA maps. */
	EXPECT_EQ(0, map_dma(self->fd, IOVA, hole, 2 * PG, RW));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt, IOVA, 2 * PG, hole));
	/* Read-only memory maps for READ only. */
	ASSERT_EQ(0, mprotect(self->buf, 4 * PG, PROT_READ));
	EXPECT_EQ(EFAULT, map_dma(self->fd, IOVA + 16 * PG, self->buf, 4 * PG, RW));
	EXPECT_EQ(0, map_dma(self->fd, IOVA + 16 * PG, self->buf, 4 * PG,
			     VFIO_DMA_MAP_FLAG_READ));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt, IOVA + 16 * PG, 4 * PG, self->buf));
	munmap(hole, 2 * PG);
}

TEST_F(vfio, map_dma_reserved_iova)
{
	need_domain();
	ASSERT_EQ(0, set_iommu(VFIO_TYPE1v2_IOMMU));
	/* Outside the mock aperture: reserved. */
	EXPECT_EQ(EINVAL, map_dma(self->fd, IOVA - 4 * PG, self->buf, 4 * PG, RW));
	EXPECT_EQ(EINVAL, map_dma(self->fd, (uint64_t)MOCK_APERTURE_LAST + 1, self->buf, PG, RW));
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas, IOVA + 64 * PG, PG));
	EXPECT_EQ(EINVAL, map_dma(self->fd, IOVA + 64 * PG, self->buf, PG, RW));
	EXPECT_EQ(EINVAL, map_dma(self->fd, IOVA + 60 * PG, self->buf, 8 * PG, RW));
	EXPECT_EQ(0, map_dma(self->fd, IOVA + 60 * PG, self->buf, 4 * PG, RW));
	EXPECT_EQ(0, map_dma(self->fd, IOVA + 65 * PG, self->buf, 4 * PG, RW));
}

/*
 * DMA through the container: after MAP_DMA the mock domain translates the
 * IOVAs to exactly the buffer's pages, pinned once, and READ-only or
 * WRITE-only mappings map too.  Both container types.
 */
static void map_reaches_domain(struct __test_metadata *_metadata,
			       FIXTURE_DATA(vfio) *self, unsigned long type)
{
	uint64_t n = 0;

	ASSERT_EQ(0, ioctl_val(self->fd, VFIO_SET_IOMMU, type));
	ASSERT_EQ(0, map_dma(self->fd, IOVA, self->buf, self->len, RW));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt, IOVA, self->len, self->buf));
	EXPECT_EQ(EINVAL, check_map(self->fd, self->hwpt, IOVA, self->len, self->buf + PG));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 1));
	ASSERT_EQ(0, map_dma(self->fd, IOVA + self->len, self->buf, 4 * PG,
			     VFIO_DMA_MAP_FLAG_READ));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt, IOVA + self->len, 4 * PG, self->buf));
	ASSERT_EQ(0, map_dma(self->fd, IOVA + 2 * self->len, self->buf + PG, 4 * PG,
			     VFIO_DMA_MAP_FLAG_WRITE));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt, IOVA + 2 * self->len, 4 * PG,
			       self->buf + PG));
	ASSERT_EQ(0, unmap_dma(self->fd, 0, &n, VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(self->len + 8 * PG, n);
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 0));
	EXPECT_NE(0, check_map(self->fd, self->hwpt, IOVA, PG, self->buf));
}

TEST_F(vfio, map_dma_reaches_domain_v2)
{
	need_domain();
	map_reaches_domain(_metadata, self, VFIO_TYPE1v2_IOMMU);
}

TEST_F(vfio, map_dma_reaches_domain_v1)
{
	need_domain();
	map_reaches_domain(_metadata, self, VFIO_TYPE1_IOMMU);
}

/* ---- UNMAP_DMA ---------------------------------------------------------------- */

TEST_F(vfio, unmap_dma_bad_input)
{
	const uint32_t bad[] = { VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, VFIO_DMA_UNMAP_FLAG_VADDR,
				 VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR, 1u << 3,
				 1u << 31 };
	uint64_t n;
	uint32_t id = 0;
	size_t i;

	ASSERT_EQ(0, set_iommu(VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, map_dma(self->fd, IOVA, self->buf, 8 * PG, RW));
	n = PG;
	EXPECT_EQ(EINVAL, unmap_dma_sz(self->fd, IOVA, &n, 0, 0));
	EXPECT_EQ(EINVAL, unmap_dma_sz(self->fd, IOVA, &n, 0,
				       sizeof(struct vfio_iommu_type1_dma_unmap) - 1));
	EXPECT_EQ(PG, n);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 8 * PG;
		EXPECT_EQ(EINVAL, unmap_dma(self->fd, IOVA, &n, bad[i])) TH_LOG("flags 0x%x", bad[i]);
	}
	n = 0;
	EXPECT_EQ(EINVAL, unmap_dma(self->fd, IOVA, &n, 0));
	n = 2 * PG;
	EXPECT_EQ(EOVERFLOW, unmap_dma(self->fd, UINT64_MAX - PG + 1, &n, 0));
	/* FLAG_ALL wants iova and size 0. */
	n = 8 * PG;
	EXPECT_EQ(EINVAL, unmap_dma(self->fd, IOVA, &n, VFIO_DMA_UNMAP_FLAG_ALL));
	n = 8 * PG;
	EXPECT_EQ(EINVAL, unmap_dma(self->fd, 0, &n, VFIO_DMA_UNMAP_FLAG_ALL));
	n = 0;
	EXPECT_EQ(EINVAL, unmap_dma(self->fd, IOVA, &n, VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(EFAULT, ioctl_err(self->fd, VFIO_IOMMU_UNMAP_DMA, NULL));
	/* Nothing mapped there: success, size 0. */
	n = 4 * PG;
	EXPECT_EQ(0, unmap_dma(self->fd, IOVA + 64 * PG, &n, 0));
	EXPECT_EQ(0, n);
	/* Still all there; a larger argsz is fine. */
	n = 8 * PG;
	EXPECT_EQ(0, unmap_dma_sz(self->fd, IOVA, &n, 0, 256));
	EXPECT_EQ(8 * PG, n);
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_CLEAR, &id));
	n = PG;
	EXPECT_EQ(ENODEV, unmap_dma(self->fd, IOVA, &n, 0));
}

TEST_F(vfio, unmap_dma_all)
{
	uint64_t n = 0;

	ASSERT_EQ(0, set_iommu(VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, unmap_dma(self->fd, 0, &n, VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(0, n);
	ASSERT_EQ(0, map_dma(self->fd, IOVA, self->buf, 4 * PG, RW));
	ASSERT_EQ(0, map_dma(self->fd, IOVA + 16 * PG, self->buf, 8 * PG, RW));
	ASSERT_EQ(0, map_dma(self->fd, 1ULL << 40, self->buf + 8 * PG, 3 * PG, RW));
	n = 0;
	ASSERT_EQ(0, unmap_dma(self->fd, 0, &n, VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(15 * PG, n);
	EXPECT_EQ(0, unmap_bytes(self->fd, IOVA, 32 * PG));
}

/* v2: only whole mappings; one crossing either end stops it with ENOENT. */
TEST_F(vfio, unmap_dma_v2_crossing)
{
	uint64_t n;
	int i;

	ASSERT_EQ(0, set_iommu(VFIO_TYPE1v2_IOMMU));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, map_dma(self->fd, IOVA + i * 4 * PG, self->buf + i * 4 * PG,
				     4 * PG, RW));
	}
	/* Crossing the start: nothing goes. */
	n = 6 * PG;
	EXPECT_EQ(ENOENT, unmap_dma(self->fd, IOVA + 2 * PG, &n, 0));
	EXPECT_EQ(0, n);
	/* Crossing the end: the whole mappings before it go. */
	n = 10 * PG;
	EXPECT_EQ(ENOENT, unmap_dma(self->fd, IOVA, &n, 0));
	EXPECT_EQ(8 * PG, n);
	EXPECT_EQ(0, unmap_bytes(self->fd, IOVA, 8 * PG));
	n = PG;
	EXPECT_EQ(ENOENT, unmap_dma(self->fd, IOVA + 9 * PG, &n, 0));
	EXPECT_EQ(0, n);
	EXPECT_EQ(4 * PG, unmap_bytes(self->fd, IOVA + 8 * PG, 4 * PG));
}

/*
 * v1: any page-aligned range; mappings are split at both ends first.  The
 * middle page of a 4-page mapping: 4096 bytes, both ends stay mapped.
 */
TEST_F(vfio, unmap_dma_v1_middle_page)
{
	uint8_t *p = self->buf;

	if (self->test_abi) {
		need_domain();
	}
	ASSERT_EQ(0, set_iommu(VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, map_dma(self->fd, IOVA, p, 4 * PG, RW));
	EXPECT_EQ(PG, unmap_bytes(self->fd, IOVA + PG, PG));
	if (self->test_abi) {
		EXPECT_EQ(0, check_map(self->fd, self->hwpt, IOVA, PG, p));
		EXPECT_EQ(0, check_map(self->fd, self->hwpt, IOVA + 2 * PG, 2 * PG, p + 2 * PG));
		EXPECT_NE(0, check_map(self->fd, self->hwpt, IOVA + PG, PG, p + PG));
		EXPECT_EQ(0, check_refs(self->fd, p, PG, 1));
		EXPECT_EQ(0, check_refs(self->fd, p + PG, PG, 0));
		EXPECT_EQ(0, check_refs(self->fd, p + 2 * PG, 2 * PG, 1));
	}
	/* The middle is gone; the two ends are whole mappings now. */
	EXPECT_EQ(0, unmap_bytes(self->fd, IOVA + PG, PG));
	EXPECT_EQ(PG, unmap_bytes(self->fd, IOVA, PG));
	EXPECT_EQ(2 * PG, unmap_bytes(self->fd, IOVA + 2 * PG, 2 * PG));
	if (self->test_abi) {
		EXPECT_EQ(0, check_refs(self->fd, p, 4 * PG, 0));
	}
}

TEST_F(vfio, unmap_dma_v1_across_two)
{
	uint8_t *p = self->buf;
	uint64_t n = 0;

	if (self->test_abi) {
		need_domain();
	}
	ASSERT_EQ(0, set_iommu(VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, map_dma(self->fd, IOVA, p, 4 * PG, RW));
	ASSERT_EQ(0, map_dma(self->fd, IOVA + 4 * PG, p + 4 * PG, 4 * PG, RW));
	/* [2, 6) of [0, 4) and [4, 8). */
	EXPECT_EQ(4 * PG, unmap_bytes(self->fd, IOVA + 2 * PG, 4 * PG));
	if (self->test_abi) {
		EXPECT_EQ(0, check_map(self->fd, self->hwpt, IOVA, 2 * PG, p));
		EXPECT_EQ(0, check_map(self->fd, self->hwpt, IOVA + 6 * PG, 2 * PG, p + 6 * PG));
		EXPECT_EQ(0, check_refs(self->fd, p + 2 * PG, 4 * PG, 0));
	}
	/* Then [1, 7): across the hole, half of each piece left. */
	EXPECT_EQ(2 * PG, unmap_bytes(self->fd, IOVA + PG, 6 * PG));
	ASSERT_EQ(0, unmap_dma(self->fd, 0, &n, VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(2 * PG, n);
	/* Many single pages out of one mapping, scattered. */
	ASSERT_EQ(0, map_dma(self->fd, IOVA, p, 16 * PG, RW));
	{
		static const int order[] = { 7, 3, 11, 0, 15, 8, 1, 14, 4, 9, 2, 13, 5, 10, 6, 12 };
		size_t i;

		for (i = 0; i < 16; i++) {
			ASSERT_EQ(PG, unmap_bytes(self->fd, IOVA + order[i] * PG, PG));
		}
	}
	if (self->test_abi) {
		EXPECT_EQ(0, check_refs(self->fd, p, 16 * PG, 0));
	}
}

TEST_F(vfio, unmap_dma_v1_misaligned)
{
	uint64_t n;

	ASSERT_EQ(0, set_iommu(VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, map_dma(self->fd, IOVA, self->buf, 8 * PG, RW));
	n = PG;
	EXPECT_EQ(EINVAL, unmap_dma(self->fd, IOVA + PG / 2, &n, 0));
	n = PG / 2;
	EXPECT_EQ(EINVAL, unmap_dma(self->fd, IOVA, &n, 0));
	EXPECT_EQ(8 * PG, unmap_bytes(self->fd, IOVA, 8 * PG));
}

/* v1 cannot split an area an access has pages pinned in: EINVAL. */
TEST_F(vfio, unmap_dma_v1_access_pinned)
{
	uint32_t item;
	uint64_t n;
	int afd;

	need_domain();
	ASSERT_EQ(0, set_iommu(VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, map_dma(self->fd, IOVA, self->buf, 8 * PG, RW));
	ASSERT_EQ(0, create_access(self->fd, self->ioas, &afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, IOVA + PG, PG, self->buf + PG, &item));
	n = PG;
	EXPECT_EQ(EINVAL, unmap_dma(self->fd, IOVA + 4 * PG, &n, 0));
	EXPECT_EQ(PG, n);
	n = 2 * PG;
	EXPECT_EQ(EINVAL, unmap_dma(self->fd, IOVA, &n, 0));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt, IOVA, 8 * PG, self->buf));
	/* The whole mapping unmaps (the access is told to let go). */
	EXPECT_EQ(8 * PG, unmap_bytes(self->fd, IOVA, 8 * PG));
	close(afd);
}

/* ---- the container's IOAS ------------------------------------------------------ */

TEST_F(vfio, destroy_vfio_ioas)
{
	uint8_t buf[64];
	uint32_t id = 0;
	uint64_t n = PG;

	ASSERT_EQ(0, set_iommu(VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, map_dma(self->fd, IOVA, self->buf, 4 * PG, RW));
	ASSERT_EQ(0, destroy(self->fd, self->ioas));
	EXPECT_EQ(ENODEV, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_EQ(ENODEV, map_dma(self->fd, IOVA, self->buf, 4 * PG, RW));
	EXPECT_EQ(ENODEV, unmap_dma(self->fd, IOVA, &n, 0));
	EXPECT_EQ(ENODEV, get_info(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(-ENODEV, set_iommu(VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(-ENODEV, check_ext(VFIO_DMA_CC_IOMMU));
	/* A new IOAS named again serves the container. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	id = self->ioas;
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	EXPECT_EQ(0, map_dma(self->fd, IOVA, self->buf, 4 * PG, RW));
}

/* ---- accounting ----------------------------------------------------------------- */

TEST_F(vfio, rlimit_mode)
{
	uint64_t val = 7;

	ASSERT_EQ(0, option_get(self->fd, IOMMU_OPTION_RLIMIT_MODE, 0, &val));
	/* /dev/vfio/vfio charges the mm (1), /dev/iommu the user (0). */
	EXPECT_EQ(variant->node ? 1 : 0, val);
}

/*
 * Pinned memory is charged: on /dev/vfio/vfio to the mm's locked_vm (VmLck
 * grows, as with VFIO), on /dev/iommu to the user's locked_vm (VmLck stays);
 * VmPin grows on both; either way over RLIMIT_MEMLOCK is ENOMEM.  The test
 * drops CAP_IPC_LOCK first (with it nothing is charged).
 */
TEST_F(vfio, accounting)
{
	struct rlimit rl = { .rlim_cur = 16 * PG, .rlim_max = 16 * PG };
	long lck0, pin0, kb = self->len / 1024;

	need_domain();
	ASSERT_EQ(0, drop_cap(CAP_IPC_LOCK));
	ASSERT_EQ(0, set_iommu(VFIO_TYPE1v2_IOMMU));
	lck0 = vm_kb(0, "VmLck");
	pin0 = vm_kb(0, "VmPin");
	ASSERT_LE(0, lck0);
	ASSERT_EQ(0, map_dma(self->fd, IOVA, self->buf, self->len, RW));
	EXPECT_EQ(pin0 + kb, vm_kb(0, "VmPin"));
	EXPECT_EQ(lck0 + (variant->node ? kb : 0), vm_kb(0, "VmLck"));
	EXPECT_EQ(self->len, unmap_bytes(self->fd, IOVA, self->len));
	EXPECT_EQ(pin0, vm_kb(0, "VmPin"));
	EXPECT_EQ(lck0, vm_kb(0, "VmLck"));
	/* Over the limit: ENOMEM, nothing charged or mapped. */
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	EXPECT_EQ(ENOMEM, map_dma(self->fd, IOVA, self->buf, self->len, RW));
	EXPECT_EQ(lck0, vm_kb(0, "VmLck"));
	EXPECT_EQ(0, map_dma(self->fd, IOVA, self->buf, 8 * PG, RW));
	EXPECT_EQ(lck0 + (variant->node ? 8 * PG / 1024 : 0), vm_kb(0, "VmLck"));
}

/* ---- no-IOMMU mode, absent ------------------------------------------------------ */

FIXTURE(noiommu_off)
{
	int fd;
};

FIXTURE_SETUP(noiommu_off)
{
	if (param_bool("enable_unsafe_noiommu_mode") == 1)
		SKIP(return, "loaded with enable_unsafe_noiommu_mode=1 (fixture noiommu runs)");
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(noiommu_off)
{
	close(self->fd);
}

TEST_F(noiommu_off, not_offered)
{
	long t0 = tainted();

	EXPECT_EQ(0, ioctl_val(self->fd, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(-EINVAL, ioctl_val(self->fd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(1, ioctl_val(self->fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(t0, tainted());
}

/* ---- no-IOMMU mode (enable_unsafe_noiommu_mode=1) ------------------------------ */

FIXTURE(noiommu)
{
	int fd;
	uint32_t ioas;
	uint8_t *buf;
};

FIXTURE_VARIANT(noiommu)
{
	const char *dev;
	bool node;
};

FIXTURE_VARIANT_ADD(noiommu, iommu)
{
	.dev = "/dev/iommu",
};

FIXTURE_VARIANT_ADD(noiommu, node)
{
	.dev = "/dev/vfio/vfio",
	.node = true,
};

FIXTURE_SETUP(noiommu)
{
	if (param_bool("enable_unsafe_noiommu_mode") != 1)
		SKIP(return, "needs the module loaded with enable_unsafe_noiommu_mode=1 (run.sh does it)");
	if (variant->node && !our_vfio_node())
		SKIP(return, "/dev/vfio/vfio is not iommufd_cxx's (vfio.ko loaded, or vfio_node=N)");
	self->fd = open(variant->dev, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	self->buf = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(noiommu)
{
	close(self->fd);
}

TEST_F(noiommu, needs_cap_sys_rawio)
{
	EXPECT_EQ(1, ioctl_val(self->fd, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU));
	ASSERT_EQ(0, drop_cap(CAP_SYS_RAWIO));
	EXPECT_EQ(-EPERM, ioctl_val(self->fd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
	/* Still an ordinary container. */
	EXPECT_EQ(1, ioctl_val(self->fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));
}

TEST_F(noiommu, refused_with_an_ioas)
{
	uint32_t id = self->ioas;

	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	EXPECT_EQ(-EINVAL, ioctl_val(self->fd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(1, ioctl_val(self->fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));
	EXPECT_EQ(0, ioctl_val(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
}

TEST_F(noiommu, mode)
{
	uint8_t info[64];
	uint32_t id = self->ioas;
	uint64_t n = PG;
	int other;

	ASSERT_EQ(0, ioctl_val(self->fd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
	/* The kernel is tainted 'U' (it was maybe already, by an earlier test). */
	EXPECT_NE(0, tainted() & TAINT_USER_BIT);
	/* No IOMMU type is served any more, and no IOAS can be named. */
	EXPECT_EQ(0, ioctl_val(self->fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));
	EXPECT_EQ(0, ioctl_val(self->fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(0, ioctl_val(self->fd, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL));
	EXPECT_EQ(1, ioctl_val(self->fd, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(-EINVAL, ioctl_val(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	EXPECT_EQ(-EINVAL, ioctl_val(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(EINVAL, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	EXPECT_EQ(ENODEV, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_EQ(ENODEV, map_dma(self->fd, IOVA, self->buf, PG, RW));
	EXPECT_EQ(ENODEV, unmap_dma(self->fd, IOVA, &n, 0));
	EXPECT_EQ(ENODEV, get_info(self->fd, info, sizeof(info)));
	EXPECT_EQ(-ENODEV, ioctl_val(self->fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
	/* Again is fine. */
	EXPECT_EQ(0, ioctl_val(self->fd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
	/* Another file is not affected. */
	other = open(variant->dev, O_RDWR);
	ASSERT_LE(0, other);
	EXPECT_EQ(1, ioctl_val(other, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	close(other);
}

int main(int argc, char **argv)
{
	PG = sysconf(_SC_PAGESIZE);
	return test_harness_run(argc, argv);
}
