// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_edu.c - real DMA through the standard VFIO container API, with QEMU's
 * edu device (PCI 1234:11e8, a small DMA engine) bound to vfio-pci behind an
 * emulated intel-iommu.  Only <linux/vfio.h> is used, so the same binary
 * tests whichever backend vfio.ko picks for the container: the kernel's
 * vfio_iommu_type1, or iommufd_cxx.ko's VFIO backend when that module is
 * loaded.  Both must behave the same; the --expect-* options check which one
 * actually served the container.
 *
 *   vfio_edu [--expect-cxx | --expect-type1] [--iommu v2|v1|both]
 *            [--bdf 0000:00:03.0] [--dmar-gap SECONDS] LABEL
 *
 * For each IOMMU type (TYPE1v2, then TYPE1 v1; each in its own container):
 * container and group setup, VFIO_IOMMU_GET_INFO (page sizes, the IOVA
 * ranges of the capability chain, which must leave out the MSI window at
 * 0xfee00000), the device fd, its BAR0 and config regions, bus mastering;
 * then edu DMA RAM -> device buffer -> RAM through mapped IOVAs (within one
 * page and across page boundaries of a buffer whose pages are not physically
 * contiguous), and the negative cases: device writes to an IOVA that was
 * unmapped, and to an IOVA mapped read-only, must not land (the guest kernel
 * logs a DMAR fault for each; this program prints "# dmar-fault 0x<iova>"
 * lines for the caller to look for in dmesg).  The UNMAP_DMA protocol is
 * checked too: the bytes unmapped come back in .size, v2 refuses to split a
 * mapping, v1 unmaps whole mappings or nothing, UNMAP_ALL.
 *
 * edu (QEMU hw/misc/edu.c): BAR0 0x00 id (0x010000ed), 0x04 liveness
 * (reads back inverted), 0x80 DMA source, 0x88 destination, 0x90 count,
 * 0x98 command (bit 0 start/busy, bit 1 device->RAM).  The device buffer is
 * at device address 0x40000, 4 KiB; QEMU 7.2 aborts on a transfer that ends
 * exactly at its end, so transfers here stay below 4096 bytes.  A transfer
 * completes about 100 ms (virtual time) after the command; the DMA mask is
 * 28 bits, so every IOVA used here is below 256 MiB.
 *
 * Output: TAP ("ok N - LABEL: ..."), plan at the end.  Exit status 0 if
 * every check passed.  Needs root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_ID 0x00
#define EDU_LIVENESS 0x04
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_CMD_RUN 0x1
#define EDU_CMD_TO_RAM 0x2
#define EDU_DEV_BUF 0x40000ULL
#define EDU_MAX_XFER 4095u
#define EDU_MSI_LO 0xfee00000ULL
#define EDU_MSI_HI 0xfeefffffULL
#define IOVA_LIMIT (1ULL << 28)		/* edu's DMA mask */

#define PARAM_CONTAINERS "/sys/module/iommufd_cxx/parameters/vfio_containers"
#define TYPE1_REFCNT "/sys/module/vfio_iommu_type1/refcnt"

enum expect { EXPECT_NONE, EXPECT_CXX, EXPECT_TYPE1 };

static const char *label = "vfio_edu";
static const char *tag = "";	/* "v2: " / "v1: " */
static int ntest, nfail;
static enum expect expect = EXPECT_NONE;
static long page_size;

/* ---- TAP ------------------------------------------------------------------ */

static bool check(bool cond, const char *fmt, ...)
{
	va_list ap;

	ntest++;
	if (!cond)
		nfail++;
	printf("%sok %d - %s: %s", cond ? "" : "not ", ntest, label, tag);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return cond;
}

static void skip(const char *what, const char *why)
{
	ntest++;
	printf("ok %d - %s: %s%s # SKIP %s\n", ntest, label, tag, what, why);
}

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# %s", tag);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* ---- sysfs ---------------------------------------------------------------- */

/* The first number in @path, or -1 if the file is missing or unreadable. */
static long read_long(const char *path)
{
	char buf[64];
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f))
		v = strtol(buf, NULL, 0);
	fclose(f);
	return v;
}

static bool read_str(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = 0;
	return ok;
}

/* The edu device's BDF (first one found) unless given; false if none. */
static bool find_edu(char *bdf, size_t len)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char path[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		if (read_long(path) != EDU_VENDOR)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", e->d_name);
		if (read_long(path) != EDU_DEVICE)
			continue;
		snprintf(bdf, len, "%s", e->d_name);
		found = true;
	}
	closedir(d);
	return found;
}

/* Basename of the device's iommu_group link, or -1. */
static int find_group(const char *bdf)
{
	char path[PATH_MAX], link[PATH_MAX], *slash;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -1;
	link[n] = 0;
	slash = strrchr(link, '/');
	return atoi(slash ? slash + 1 : link);
}

/* ---- the device ----------------------------------------------------------- */

struct dev {
	int fd;
	uint64_t cfg_off;	/* config region offset in the device fd */
	uint64_t bar_off;	/* BAR0 region offset */
	uint64_t bar_size;
	volatile uint8_t *bar;	/* BAR0 mmap, or NULL: pread/pwrite */
};

static uint64_t bar_read(struct dev *d, uint32_t reg, int width)
{
	uint64_t v = 0;

	if (d->bar) {
		if (width == 8)
			return *(volatile uint64_t *)(d->bar + reg);
		return *(volatile uint32_t *)(d->bar + reg);
	}
	if (pread(d->fd, &v, width, d->bar_off + reg) != width)
		return ~0ULL;
	return v;
}

static void bar_write(struct dev *d, uint32_t reg, uint64_t v, int width)
{
	if (d->bar) {
		if (width == 8)
			*(volatile uint64_t *)(d->bar + reg) = v;
		else
			*(volatile uint32_t *)(d->bar + reg) = (uint32_t)v;
		return;
	}
	if (pwrite(d->fd, &v, width, d->bar_off + reg) != width)
		diag("BAR0 write at 0x%x: %s", reg, strerror(errno));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * The kernel's DMAR fault handler reports through one ratelimit of 10
 * messages per 5 s, and each fault costs it three (the status line, the
 * fault record, the empty slot after it): three faults per window get a
 * "fault addr" line, a fourth does not.  A session makes two faults, so
 * each session's first fault waits until dmar_gap_s have passed since the
 * previous session's first: each session then opens a fresh window.  The
 * caller keeps the same distance between runs (selftests/run-vfio.sh).
 */
static double dmar_gap_s = 5.5, last_window = -1;

static void dmar_gap(void)
{
	double wait = last_window < 0 ? 0 : last_window + dmar_gap_s - now();

	if (wait > 0) {
		diag("waiting %.1f s for a fresh DMAR fault ratelimit window", wait);
		usleep((useconds_t)(wait * 1e6));
	}
	last_window = now();
}

/*
 * One edu transfer of @len bytes between IOVA @iova and the device buffer at
 * offset @dev_off; waits for the engine to go idle.  0, or -ETIMEDOUT.
 */
static int edu_dma(struct dev *d, uint64_t iova, uint32_t dev_off, uint32_t len, bool to_ram)
{
	double deadline = now() + 20;

	if (to_ram) {
		bar_write(d, EDU_DMA_SRC, EDU_DEV_BUF + dev_off, 8);
		bar_write(d, EDU_DMA_DST, iova, 8);
	} else {
		bar_write(d, EDU_DMA_SRC, iova, 8);
		bar_write(d, EDU_DMA_DST, EDU_DEV_BUF + dev_off, 8);
	}
	bar_write(d, EDU_DMA_CNT, len, 8);
	bar_write(d, EDU_DMA_CMD, EDU_CMD_RUN | (to_ram ? EDU_CMD_TO_RAM : 0), 8);
	while (bar_read(d, EDU_DMA_CMD, 8) & EDU_CMD_RUN) {
		if (now() > deadline)
			return -ETIMEDOUT;
		usleep(5000);
	}
	return 0;
}

/* ---- the container --------------------------------------------------------- */

static int map_dma(int container, void *p, uint64_t iova, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = flags,
		.vaddr = (uintptr_t)p,
		.iova = iova,
		.size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &m) ? errno : 0;
}

#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* UNMAP_DMA; the errno or 0, and the size the kernel reports in *done. */
static int unmap_dma(int container, uint64_t iova, uint64_t size, uint32_t flags,
		     uint64_t *done)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.flags = flags,
		.iova = iova,
		.size = size,
	};
	int ret = ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u) ? errno : 0;

	if (done)
		*done = u.size;
	return ret;
}

/* Anonymous 4 KiB pages, touched last to first so that neighbours in the
 * buffer are (very likely) not neighbours in physical memory. */
static uint8_t *alloc_pages(size_t npages)
{
	size_t len = npages * page_size, i;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	for (i = npages; i-- > 0;)
		p[i * page_size] = 0;
	return p;
}

#define HUGE (2UL << 20)

/* Whether [p, p + 2 MiB) is one physically contiguous, 2 MiB-aligned block
 * (a THP), from /proc/self/pagemap (PFNs need root). */
static bool is_huge_block(const uint8_t *p)
{
	uint64_t e[2];
	int fd = open("/proc/self/pagemap", O_RDONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = pread(fd, &e[0], 8, (uintptr_t)p / page_size * 8) == 8 &&
	     pread(fd, &e[1], 8, ((uintptr_t)p + HUGE - page_size) / page_size * 8) == 8;
	close(fd);
	e[0] &= (1ULL << 55) - 1;
	e[1] &= (1ULL << 55) - 1;
	return ok && e[0] && !(e[0] % (HUGE / page_size)) && e[1] == e[0] + HUGE / page_size - 1;
}

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void print_info(int container, uint64_t *pgsizes, bool *msi_excluded,
		       bool *low_ok)
{
	struct vfio_iommu_type1_info *info = calloc(1, sizeof(*info));
	uint32_t argsz = sizeof(*info);
	int ret;

	*pgsizes = 0;
	*msi_excluded = false;
	*low_ok = false;
	if (!info)
		return;
	info->argsz = argsz;
	ret = ioctl(container, VFIO_IOMMU_GET_INFO, info) ? errno : 0;
	check(ret == 0, "VFIO_IOMMU_GET_INFO (argsz %u): %s", argsz, strerror(ret));
	if (ret)
		goto out;
	check(info->argsz >= argsz, "GET_INFO reports argsz %u (>= %u)", info->argsz, argsz);
	/* With capabilities the kernel asks for more room: ask again with it. */
	if (info->argsz > argsz) {
		struct vfio_iommu_type1_info *big;

		argsz = info->argsz;
		big = realloc(info, argsz);
		if (!big)
			goto out;
		info = big;
		memset(info, 0, argsz);
		info->argsz = argsz;
		ret = ioctl(container, VFIO_IOMMU_GET_INFO, info) ? errno : 0;
		check(ret == 0, "VFIO_IOMMU_GET_INFO again with argsz %u: %s", argsz,
		      strerror(ret));
		if (ret)
			goto out;
	}
	check(info->flags & VFIO_IOMMU_INFO_PGSIZES, "GET_INFO flags 0x%x have PGSIZES",
	      info->flags);
	*pgsizes = info->iova_pgsizes;
	check(info->iova_pgsizes & 0x1000, "iova_pgsizes 0x%llx include 4 KiB",
	      (unsigned long long)info->iova_pgsizes);
	if (!check(info->flags & VFIO_IOMMU_INFO_CAPS, "GET_INFO has a capability chain") ||
	    !info->cap_offset)
		goto out;

	bool seen_ranges = false;
	uint32_t off = info->cap_offset, hops = 0;

	*msi_excluded = true;
	while (off && hops++ < 32) {
		struct vfio_info_cap_header *h = (void *)((uint8_t *)info + off);

		if (off + sizeof(*h) > argsz) {
			check(false, "capability at offset %u is inside argsz %u", off, argsz);
			break;
		}
		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;
			uint32_t i;

			seen_ranges = true;
			diag("cap IOVA_RANGE v%u: %u ranges", h->version, r->nr_iovas);
			for (i = 0; i < r->nr_iovas; i++) {
				uint64_t s = r->iova_ranges[i].start, e = r->iova_ranges[i].end;

				diag("  [0x%016llx, 0x%016llx]", (unsigned long long)s,
				     (unsigned long long)e);
				if (s <= EDU_MSI_HI && e >= EDU_MSI_LO)
					*msi_excluded = false;
				if (s == 0 && e >= IOVA_LIMIT - 1)
					*low_ok = true;
			}
		} else if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION) {
			struct vfio_iommu_type1_info_cap_migration *m = (void *)h;

			diag("cap MIGRATION v%u: flags 0x%x pgsize_bitmap 0x%llx max_dirty_bitmap_size %llu",
			     h->version, m->flags, (unsigned long long)m->pgsize_bitmap,
			     (unsigned long long)m->max_dirty_bitmap_size);
		} else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
			struct vfio_iommu_type1_info_dma_avail *a = (void *)h;

			diag("cap DMA_AVAIL v%u: %u mappings available", h->version, a->avail);
		} else {
			diag("cap id %u v%u", h->id, h->version);
		}
		off = h->next;
	}
	check(seen_ranges, "capability chain has IOVA_RANGE");
	if (!seen_ranges)
		*msi_excluded = false;
out:
	free(info);
}

/* Current number of containers our backend serves; -1 if not loaded. */
static long cxx_containers(void)
{
	return read_long(PARAM_CONTAINERS);
}

/*
 * One container session with IOMMU type @type. Returns false if the setup
 * failed so badly that the rest of the session could not run.
 */
static bool session(const char *bdf, int groupno, int type)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	struct vfio_region_info bar = { .argsz = sizeof(bar), .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	struct dev d = { .fd = -1 };
	char gpath[64];
	int container, group, ret, i;
	long refcnt0 = -1, refcnt1, ours;
	bool v2 = type == VFIO_TYPE1v2_IOMMU;
	/* Each session its own IOVAs, so their DMAR fault lines differ. */
	uint64_t base = v2 ? 0x1000000 : 0x2000000;
	uint64_t pgsizes, done;
	bool msi_excluded, low_ok;
	uint8_t *src = NULL, *dst = NULL, *ro = NULL, *victim = NULL, *huge_map;
	const size_t npages = 16, len = npages * page_size;

	tag = v2 ? "TYPE1v2: " : "TYPE1: ";

	container = open("/dev/vfio/vfio", O_RDWR);
	if (!check(container >= 0, "open /dev/vfio/vfio: %s", container < 0 ? strerror(errno) : "ok"))
		return false;
	ret = ioctl(container, VFIO_GET_API_VERSION);
	check(ret == VFIO_API_VERSION, "VFIO_GET_API_VERSION is %d (want %d)", ret,
	      VFIO_API_VERSION);
	check(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1,
	      "CHECK_EXTENSION(TYPE1v2) before SET_IOMMU is 1");
	check(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) == 1,
	      "CHECK_EXTENSION(TYPE1) before SET_IOMMU is 1");

	snprintf(gpath, sizeof(gpath), "/dev/vfio/%d", groupno);
	group = open(gpath, O_RDWR);
	if (!check(group >= 0, "open %s: %s", gpath, group < 0 ? strerror(errno) : "ok")) {
		close(container);
		return false;
	}
	ret = ioctl(group, VFIO_GROUP_GET_STATUS, &st) ? errno : 0;
	check(ret == 0 && (st.flags & VFIO_GROUP_FLAGS_VIABLE) &&
	      !(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET),
	      "VFIO_GROUP_GET_STATUS: viable, no container (flags 0x%x, %s)", st.flags,
	      strerror(ret));
	ret = ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ? errno : 0;
	if (!check(ret == 0, "VFIO_GROUP_SET_CONTAINER: %s", strerror(ret)))
		goto out_group;
	st.flags = 0;
	ioctl(group, VFIO_GROUP_GET_STATUS, &st);
	check(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET, "group status has CONTAINER_SET");

	refcnt0 = read_long(TYPE1_REFCNT);
	ret = ioctl(container, VFIO_SET_IOMMU, type) ? errno : 0;
	if (!check(ret == 0, "VFIO_SET_IOMMU(%s): %s", v2 ? "VFIO_TYPE1v2_IOMMU" : "VFIO_TYPE1_IOMMU",
		   strerror(ret)))
		goto out_unset;
	refcnt1 = read_long(TYPE1_REFCNT);
	ours = cxx_containers();
	diag("vfio_iommu_type1 refcnt %ld -> %ld; iommufd_cxx vfio_containers %ld%s",
	     refcnt0, refcnt1, ours, ours < 0 ? " (module not loaded)" : "");
	if (expect == EXPECT_CXX) {
		check(ours >= 1, "served by iommufd_cxx: vfio_containers is %ld (>= 1)", ours);
		check(refcnt1 == refcnt0, "not served by vfio_iommu_type1: its refcnt stays %ld",
		      refcnt0);
	} else if (expect == EXPECT_TYPE1) {
		check(ours <= 0, "not served by iommufd_cxx: vfio_containers %s",
		      ours < 0 ? "absent" : "is 0");
		check(refcnt0 >= 0 && refcnt1 == refcnt0 + 1,
		      "served by vfio_iommu_type1: its refcnt %ld -> %ld", refcnt0, refcnt1);
	}
	ret = ioctl(container, VFIO_SET_IOMMU, type) ? errno : 0;
	check(ret != 0, "a second VFIO_SET_IOMMU fails (%s)", strerror(ret));
	check(ioctl(container, VFIO_CHECK_EXTENSION, type) == 1,
	      "CHECK_EXTENSION(own type) after SET_IOMMU is 1");
	ret = ioctl(container, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL);
	check(ret == 1, "CHECK_EXTENSION(VFIO_UNMAP_ALL) is 1 (%d)", ret);
	diag("CHECK_EXTENSION: DMA_CC_IOMMU %d, UPDATE_VADDR %d, TYPE1_NESTING %d",
	     ioctl(container, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU),
	     ioctl(container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR),
	     ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_NESTING_IOMMU));

	print_info(container, &pgsizes, &msi_excluded, &low_ok);
	diag("iova_pgsizes 0x%llx", (unsigned long long)pgsizes);
	check(msi_excluded, "the MSI window [0x%llx, 0x%llx] is outside every IOVA range",
	      EDU_MSI_LO, EDU_MSI_HI);
	check(low_ok, "IOVAs [0, 256 MiB) (edu's DMA mask) are usable");

	/* The device. */
	d.fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (!check(d.fd >= 0, "VFIO_GROUP_GET_DEVICE_FD(%s): %s", bdf,
		   d.fd < 0 ? strerror(errno) : "ok"))
		goto out_unset;
	ret = ioctl(d.fd, VFIO_DEVICE_GET_INFO, &dinfo) ? errno : 0;
	check(ret == 0 && (dinfo.flags & VFIO_DEVICE_FLAGS_PCI) &&
	      dinfo.num_regions > VFIO_PCI_CONFIG_REGION_INDEX,
	      "VFIO_DEVICE_GET_INFO: PCI, %u regions, %u irqs (%s)", dinfo.num_regions,
	      dinfo.num_irqs, strerror(ret));
	ret = ioctl(d.fd, VFIO_DEVICE_GET_REGION_INFO, &bar) ? errno : 0;
	if (!check(ret == 0 && bar.size >= 0x100 &&
		   (bar.flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)) ==
			   (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE),
		   "REGION_INFO BAR0: size 0x%llx offset 0x%llx flags 0x%x (%s)",
		   (unsigned long long)bar.size, (unsigned long long)bar.offset, bar.flags,
		   strerror(ret)))
		goto out_dev;
	ret = ioctl(d.fd, VFIO_DEVICE_GET_REGION_INFO, &cfg) ? errno : 0;
	if (!check(ret == 0 && cfg.size >= 256, "REGION_INFO config: size 0x%llx offset 0x%llx (%s)",
		   (unsigned long long)cfg.size, (unsigned long long)cfg.offset, strerror(ret)))
		goto out_dev;
	d.cfg_off = cfg.offset;
	d.bar_off = bar.offset;
	d.bar_size = bar.size;

	uint16_t ids[2] = { 0, 0 }, cmd = 0;
	bool ok;

	/* (Read first, then check: the arguments of check() are evaluated in any order.) */
	ok = pread(d.fd, ids, 4, d.cfg_off) == 4;
	check(ok && ids[0] == EDU_VENDOR && ids[1] == EDU_DEVICE,
	      "config space reads vendor:device %04x:%04x", ids[0], ids[1]);
	if (pread(d.fd, &cmd, 2, d.cfg_off + PCI_COMMAND) != 2)
		cmd = 0;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	ok = pwrite(d.fd, &cmd, 2, d.cfg_off + PCI_COMMAND) == 2;
	check(ok, "write PCI_COMMAND 0x%x", cmd);
	cmd = 0;
	ok = pread(d.fd, &cmd, 2, d.cfg_off + PCI_COMMAND) == 2;
	check(ok && (cmd & PCI_COMMAND_MASTER), "bus mastering enabled (PCI_COMMAND 0x%x)", cmd);

	if (bar.flags & VFIO_REGION_INFO_FLAG_MMAP) {
		void *m = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, d.fd, bar.offset);

		if (check(m != MAP_FAILED, "mmap BAR0 (%s)", m == MAP_FAILED ? strerror(errno) : "ok"))
			d.bar = m;
	} else {
		diag("BAR0 is not mmap-able: pread/pwrite at the region offset");
	}
	uint32_t id = bar_read(&d, EDU_ID, 4);

	check((id & 0xffff) == 0xed, "edu identification register 0x%08x", id);
	bar_write(&d, EDU_LIVENESS, 0x12345678, 4);
	id = bar_read(&d, EDU_LIVENESS, 4);
	check(id == (uint32_t)~0x12345678u, "edu liveness register inverts (0x%08x)", id);

	/* Buffers: 16 pages each, physically scattered. */
	src = alloc_pages(npages);
	dst = alloc_pages(npages);
	ro = alloc_pages(npages);
	victim = alloc_pages(npages);
	if (!check(src && dst && ro && victim, "allocate the DMA buffers"))
		goto out_dev;
	const uint64_t iova_src = base, iova_dst = base + 0x100000, iova_ro = base + 0x200000;
	const uint64_t iova_victim = base + 0x300000;

	fill(src, len, 0x11);
	memset(dst, 0xee, len);
	memset(ro, 0x77, len);
	memset(victim, 0, len);
	check(map_dma(container, src, iova_src, len, RW) == 0, "MAP_DMA src at 0x%llx, %zu KiB",
	      (unsigned long long)iova_src, len >> 10);
	check(map_dma(container, dst, iova_dst, len, RW) == 0, "MAP_DMA dst at 0x%llx, %zu KiB",
	      (unsigned long long)iova_dst, len >> 10);
	ret = map_dma(container, ro, iova_ro, len, VFIO_DMA_MAP_FLAG_READ);
	check(ret == 0, "MAP_DMA read-only buffer at 0x%llx (%s)", (unsigned long long)iova_ro,
	      strerror(ret));
	ret = map_dma(container, victim, iova_victim, len, RW);
	check(ret == 0, "MAP_DMA victim buffer at 0x%llx (%s)", (unsigned long long)iova_victim,
	      strerror(ret));

	/* Map errors: overlap, the MSI window, no permission, zero size. */
	ret = map_dma(container, dst, iova_src + page_size, page_size, RW);
	check(ret == EEXIST, "MAP_DMA over a mapping fails with EEXIST (%s)", strerror(ret));
	ret = map_dma(container, dst, EDU_MSI_LO, page_size, RW);
	check(ret == EINVAL, "MAP_DMA in the MSI window fails with EINVAL (%s)", strerror(ret));
	ret = map_dma(container, dst, base + 0x800000, page_size, 0);
	check(ret == EINVAL, "MAP_DMA without READ or WRITE fails with EINVAL (%s)", strerror(ret));
	ret = map_dma(container, dst, base + 0x800000, 0, RW);
	check(ret == EINVAL, "MAP_DMA of size 0 fails with EINVAL (%s)", strerror(ret));
	ret = map_dma(container, dst + 1, base + 0x800000, page_size, RW);
	check(ret == EINVAL, "MAP_DMA of an unaligned vaddr fails with EINVAL (%s)", strerror(ret));

	/* RAM -> device -> RAM within one page. */
	ret = edu_dma(&d, iova_src, 0, EDU_MAX_XFER, false);
	check(ret == 0, "DMA RAM->device 4095 bytes from 0x%llx completes",
	      (unsigned long long)iova_src);
	ret = edu_dma(&d, iova_dst, 0, EDU_MAX_XFER, true);
	check(ret == 0, "DMA device->RAM 4095 bytes to 0x%llx completes",
	      (unsigned long long)iova_dst);
	check(!memcmp(dst, src, EDU_MAX_XFER), "the bytes arrived through the IOMMU (one page)");
	check(dst[EDU_MAX_XFER] == 0xee, "nothing written past the transfer");

	/* Across page boundaries, at odd offsets: pages 1-2 to device, back into pages 5-6. */
	const uint32_t so = page_size + 0x800 + 3, doff = 5 * page_size + 0xc01, n = 4000;

	ret = edu_dma(&d, iova_src + so, 0, n, false);
	check(ret == 0, "DMA RAM->device across a page boundary (iova 0x%llx, %u bytes)",
	      (unsigned long long)(iova_src + so), n);
	ret = edu_dma(&d, iova_dst + doff, 0, n, true);
	check(ret == 0, "DMA device->RAM across a page boundary (iova 0x%llx)",
	      (unsigned long long)(iova_dst + doff));
	check(!memcmp(dst + doff, src + so, n), "the bytes arrived across the page boundary");
	check(dst[doff - 1] == 0xee && dst[doff + n] == 0xee,
	      "the bytes around the transfer are untouched");

	/* Device writes to a read-only mapping: must not land. */
	dmar_gap();
	ret = edu_dma(&d, iova_ro, 0, 256, true);
	check(ret == 0, "DMA device->RAM into the read-only mapping completes (the engine does not care)");
	check(all_bytes(ro, 256, 0x77), "no byte landed in the read-only mapping");
	printf("# dmar-fault 0x%llx\n", (unsigned long long)iova_ro);
	/* ... but reads from it work. */
	ret = edu_dma(&d, iova_ro, 0x800, 128, false);
	ret = ret ?: edu_dma(&d, iova_dst + 8 * page_size, 0x800, 128, true);
	check(ret == 0 && all_bytes(dst + 8 * page_size, 128, 0x77),
	      "the device reads the read-only mapping");

	/* The victim: DMA lands while mapped, not after UNMAP_DMA. */
	ret = edu_dma(&d, iova_src, 0, 1024, false);
	ret = ret ?: edu_dma(&d, iova_victim, 0, 1024, true);
	check(ret == 0 && !memcmp(victim, src, 1024), "DMA into the victim lands while mapped");
	ret = unmap_dma(container, iova_victim, len, 0, &done);
	check(ret == 0 && done == len, "UNMAP_DMA victim: %s, size %llu (want %zu)", strerror(ret),
	      (unsigned long long)done, len);
	memset(victim, 0x5a, len);
	ret = edu_dma(&d, iova_victim, 0, 1024, true);
	check(ret == 0, "DMA device->RAM to the unmapped IOVA 0x%llx completes",
	      (unsigned long long)iova_victim);
	check(all_bytes(victim, len, 0x5a), "no byte landed in the unmapped buffer");
	printf("# dmar-fault 0x%llx\n", (unsigned long long)iova_victim);

	/*
	 * The same with a transparent huge page at a 2 MiB-aligned IOVA, which
	 * a backend may map with one 2 MiB IOPTE and unmap in one go: after
	 * UNMAP_DMA the device must not reach any of it either.  (A third fault
	 * still fits the ratelimit window: nine messages of ten.)
	 */
	const uint64_t iova_huge = base + 0x400000, hoff = HUGE - page_size;

	huge_map = mmap(NULL, 2 * HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (check(huge_map != MAP_FAILED, "allocate a 2 MiB-aligned buffer")) {
		uint8_t *huge = (uint8_t *)(((uintptr_t)huge_map + HUGE - 1) & ~(uintptr_t)(HUGE - 1));

		madvise(huge, HUGE, MADV_HUGEPAGE);
		memset(huge, 0, HUGE);
		diag("the 2 MiB buffer is %sone physically contiguous, aligned 2 MiB block",
		     is_huge_block(huge) ? "" : "NOT ");
		ret = map_dma(container, huge, iova_huge, HUGE, RW);
		check(ret == 0, "MAP_DMA 2 MiB THP buffer at 0x%llx (%s)",
		      (unsigned long long)iova_huge, strerror(ret));
		/* The device buffer still holds src[0, 1024). */
		ret = edu_dma(&d, iova_huge + hoff, 0, 1024, true);
		check(ret == 0 && !memcmp(huge + hoff, src, 1024),
		      "DMA into the last page of the 2 MiB mapping lands");
		ret = unmap_dma(container, iova_huge, HUGE, 0, &done);
		check(ret == 0 && done == HUGE, "UNMAP_DMA of the 2 MiB mapping: %s, size %llu",
		      strerror(ret), (unsigned long long)done);
		memset(huge, 0x5a, HUGE);
		ret = edu_dma(&d, iova_huge + hoff, 0, 1024, true);
		check(ret == 0 && all_bytes(huge, HUGE, 0x5a),
		      "no byte landed in the unmapped 2 MiB buffer");
		printf("# dmar-fault 0x%llx\n", (unsigned long long)(iova_huge + hoff));
		munmap(huge_map, 2 * HUGE);
	}

	/* The UNMAP_DMA protocol. */
	struct vfio_iommu_type1_dma_unmap u = { .argsz = 8, .iova = iova_src, .size = len };

	ret = ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u) ? errno : 0;
	check(ret == EINVAL, "UNMAP_DMA with argsz 8 fails with EINVAL (%s)", strerror(ret));
	ret = unmap_dma(container, iova_src + 1, page_size, 0, &done);
	check(ret == EINVAL, "UNMAP_DMA of an unaligned IOVA fails with EINVAL (%s)", strerror(ret));
	ret = unmap_dma(container, base + 0x4000000, len, 0, &done);
	check(ret == 0 && done == 0, "UNMAP_DMA where nothing is mapped: %s, size %llu (want 0)",
	      strerror(ret), (unsigned long long)done);
	/* Split a mapping: v2 refuses; v1 unmaps nothing from its middle and
	 * everything from its start. */
	if (v2) {
		ret = unmap_dma(container, iova_src, page_size, 0, &done);
		check(ret == EINVAL, "v2: UNMAP_DMA of the head of a mapping fails with EINVAL (%s)",
		      strerror(ret));
		ret = unmap_dma(container, iova_src + page_size, page_size, 0, &done);
		check(ret == EINVAL, "v2: UNMAP_DMA of the middle of a mapping fails with EINVAL (%s)",
		      strerror(ret));
		ret = unmap_dma(container, iova_src + len - page_size, 2 * page_size, 0, &done);
		check(ret == EINVAL, "v2: UNMAP_DMA over the tail of a mapping fails with EINVAL (%s)",
		      strerror(ret));
	} else {
		ret = unmap_dma(container, iova_src + page_size, page_size, 0, &done);
		check(ret == 0 && done == 0,
		      "v1: UNMAP_DMA of the middle of a mapping: %s, size %llu (want 0)",
		      strerror(ret), (unsigned long long)done);
		ret = unmap_dma(container, iova_src, page_size, 0, &done);
		check(ret == 0 && done == len,
		      "v1: UNMAP_DMA of the head page unmaps the whole mapping: %s, size %llu (want %zu)",
		      strerror(ret), (unsigned long long)done, len);
		/* Whatever is left of it (nothing, unless the checks above failed),
		 * then map it again for what follows. */
		unmap_dma(container, iova_src, len, 0, &done);
		if (done)
			diag("v1: %llu bytes of src were still mapped", (unsigned long long)done);
		check(map_dma(container, src, iova_src, len, RW) == 0, "v1: MAP_DMA src again");
	}
	/* One range over two mappings (src and dst) and the hole between them. */
	ret = unmap_dma(container, iova_src, iova_dst + len - iova_src, 0, &done);
	check(ret == 0 && done == 2 * len,
	      "UNMAP_DMA over two mappings and a hole: %s, size %llu (want %zu)", strerror(ret),
	      (unsigned long long)done, 2 * len);
	/* UNMAP_ALL takes what is left (the read-only one and two more). */
	check(map_dma(container, src, iova_src, len, RW) == 0 &&
	      map_dma(container, dst, iova_dst, len / 2, RW) == 0, "MAP_DMA two more");
	ret = unmap_dma(container, 1, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done);
	check(ret == EINVAL, "UNMAP_DMA with FLAG_ALL and an IOVA fails with EINVAL (%s)",
	      strerror(ret));
	ret = unmap_dma(container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done);
	check(ret == 0 && done == len + len + len / 2,
	      "UNMAP_DMA FLAG_ALL: %s, size %llu (want %zu)", strerror(ret),
	      (unsigned long long)done, len + len + len / 2);
	ret = unmap_dma(container, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done);
	check(ret == 0 && done == 0, "UNMAP_DMA FLAG_ALL again: %s, size %llu (want 0)",
	      strerror(ret), (unsigned long long)done);

out_dev:
	if (d.bar)
		munmap((void *)d.bar, d.bar_size);
	if (d.fd >= 0)
		check(close(d.fd) == 0, "close the device fd");
out_unset:
	ret = ioctl(group, VFIO_GROUP_UNSET_CONTAINER) ? errno : 0;
	check(ret == 0, "VFIO_GROUP_UNSET_CONTAINER: %s", strerror(ret));
out_group:
	close(group);
	close(container);
	if (expect == EXPECT_CXX)
		check(cxx_containers() == 0, "iommufd_cxx vfio_containers back to 0 after close (%ld)",
		      cxx_containers());
	else if (expect == EXPECT_TYPE1)
		check(read_long(TYPE1_REFCNT) == refcnt0, "vfio_iommu_type1 refcnt back to %ld (%ld)",
		      refcnt0, read_long(TYPE1_REFCNT));
	uint8_t *bufs[] = { src, dst, ro, victim };

	for (i = 0; i < 4; i++)
		if (bufs[i])
			munmap(bufs[i], len);
	tag = "";
	return true;
}

static void usage(void)
{
	fprintf(stderr, "usage: vfio_edu [--expect-cxx | --expect-type1] [--iommu v2|v1|both] "
			"[--bdf BDF] [--dmar-gap SECONDS] LABEL\n");
	exit(2);
}

int main(int argc, char **argv)
{
	bool do_v2 = true, do_v1 = true;
	char bdf[256] = "", drv[PATH_MAX], path[PATH_MAX];
	const char *given_bdf = NULL;
	int i, groupno;
	ssize_t n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	page_size = sysconf(_SC_PAGESIZE);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--expect-cxx")) {
			expect = EXPECT_CXX;
		} else if (!strcmp(argv[i], "--expect-type1")) {
			expect = EXPECT_TYPE1;
		} else if (!strcmp(argv[i], "--iommu") && i + 1 < argc) {
			const char *v = argv[++i];

			do_v2 = !strcmp(v, "v2") || !strcmp(v, "both");
			do_v1 = !strcmp(v, "v1") || !strcmp(v, "both");
			if (!do_v2 && !do_v1)
				usage();
		} else if (!strcmp(argv[i], "--dmar-gap") && i + 1 < argc) {
			dmar_gap_s = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--bdf") && i + 1 < argc) {
			given_bdf = argv[++i];
		} else if (argv[i][0] == '-') {
			usage();
		} else {
			label = argv[i];
		}
	}

	printf("TAP version 13\n");
	if (given_bdf)
		snprintf(bdf, sizeof(bdf), "%s", given_bdf);
	if (!check(given_bdf || find_edu(bdf, sizeof(bdf)), "edu device %04x:%04x present (%s)",
		   EDU_VENDOR, EDU_DEVICE, bdf[0] ? bdf : "none"))
		goto done;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, drv, sizeof(drv) - 1);
	drv[n > 0 ? n : 0] = 0;
	check(n > 0 && !strcmp(strrchr(drv, '/') ? strrchr(drv, '/') + 1 : drv, "vfio-pci"),
	      "%s is bound to vfio-pci (%s)", bdf, n > 0 ? drv : "no driver");
	groupno = find_group(bdf);
	if (!check(groupno >= 0, "%s is in IOMMU group %d", bdf, groupno))
		goto done;
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/type", groupno);
	if (read_str(path, drv, sizeof(drv)))
		printf("# group %d default domain type: %s\n", groupno, drv);

	if (do_v2)
		session(bdf, groupno, VFIO_TYPE1v2_IOMMU);
	if (do_v1)
		session(bdf, groupno, VFIO_TYPE1_IOMMU);
	if (!do_v2 || !do_v1)
		skip(do_v2 ? "TYPE1 session" : "TYPE1v2 session", "not asked for (--iommu)");
done:
	printf("1..%d\n", ntest);
	printf("# %s: %d of %d checks failed\n", label, nfail, ntest);
	return nfail ? 1 : 0;
}
