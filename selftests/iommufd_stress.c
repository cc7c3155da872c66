// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd_stress.c - a bounded race test: several threads map, unmap, copy,
 * attach, replace, detach, pin, destroy and close on shared objects of one
 * /dev/iommu file (and on a second file that is closed with everything
 * still alive), then every object is destroyed and the pages' pin counts
 * and the locked memory must be back where they started.
 *
 * Shared objects (on one context, "the main fd"):
 *  - one user buffer: 32 small anonymous pages, plus a 2 MiB huge piece
 *    (hugetlbfs if vm.nr_hugepages has a page, else THP via MADV_HUGEPAGE;
 *    if neither, the huge slots are left out and the test says why);
 *  - three IOASes A, B, C with the same fixed-IOVA "slots": slot s is
 *    always the same piece of the buffer at the same IOVA in every IOAS, so
 *    any thread may map, unmap or copy any slot (overlapping pieces: slot 4
 *    covers slots 0-3, slot 7 lies inside slot 6's huge page).  A also has
 *    an allowed window where the mappers put private automatic-IOVA maps;
 *  - A is held busy for the whole run by a test access (the "anchor"), so
 *    IOMMU_DESTROY of A must be EBUSY; B and C may be destroyed (and are
 *    then re-made) by the destroyer while other threads use them;
 *  - mock devices (IOMMU_TEST_OP_MOCK_DOMAIN) attached to A/B/C through
 *    automatic HWPTs shared between threads, replaced between IOASes and
 *    user HWPTs (IOMMU_HWPT_ALLOC), destroyed while maps happen;
 *  - test accesses (CREATE_ACCESS with NEEDS_PIN_PAGES) that pin slots
 *    (ACCESS_PAGES), unpin them (DESTROY_ACCESS_PAGES), read through them
 *    (ACCESS_RW), move between IOASes (ACCESS_REPLACE_IOAS) and are closed
 *    with pins held, while other threads unmap those very slots.
 *
 * Threads (test "full"; "ioas" runs the first, fourth and fifth only, and
 * needs no test ABI; "killed" is separate, below):
 *  - mapper x2: MAP (FIXED slot), UNMAP (slot), COPY (slot, IOAS to IOAS),
 *    UNMAP-all of B or C, and private MAP/UNMAP with automatic IOVAs in A;
 *  - device x2: MOCK_DOMAIN on A/B/C, MOCK_DOMAIN_REPLACE to an IOAS or to
 *    its own HWPT, HWPT_ALLOC, DESTROY of its HWPTs and mock devices;
 *  - access x1: CREATE_ACCESS, ACCESS_PAGES, DESTROY_ACCESS_PAGES,
 *    ACCESS_RW, ACCESS_REPLACE_IOAS, close of the access fd;
 *  - destroyer x1: IOMMU_DESTROY of objects other threads use: A (always
 *    EBUSY), B or C (then a new IOAS takes its place), other threads' bound
 *    devices (EBUSY), their attached HWPTs (EBUSY) and their user HWPTs
 *    (EBUSY if attached, else destroyed under their owner's feet);
 *  - closer x1: opens a second /dev/iommu, sets RLIMIT_MODE, builds two
 *    IOASes with maps, copies, a mock device, a user HWPT and an access
 *    with pins, then closes the file with all of it alive -- before or
 *    after the access fd, and in the first case pins through the access
 *    (whose context then lives on only through it) before closing it.
 *
 * IDs: a destroyed object's ID is handed out again (lowest free, here and
 * upstream).  So that a thread never names an object that is no longer the
 * one it means, IOMMU_DESTROY of another thread's object happens only with
 * the "graph" lock held for writing (a user-space rwlock); every call that
 * creates, attaches, replaces or destroys a device or HWPT holds it for
 * reading, and so run concurrently with each other.  The data path (MAP,
 * UNMAP, COPY and everything on accesses) takes no lock and races with all
 * of it.  It may name B or C just as the destroyer removes it: ENOENT is
 * then legal for it (the ID is free, or names an object of another type;
 * only the destroyer makes IOASes on the main fd).
 *
 * Legal outcomes; any other errno fails the test, reported with the thread,
 * its iteration, the call and the errno.  [vol] marks errnos legal only
 * when the call names B or C:
 *  - MAP FIXED slot:          0, EEXIST (slot taken), [vol] ENOENT
 *  - UNMAP slot:              0 (and exactly the slot's length unmapped),
 *                             ENOENT (slot empty), EBUSY (upstream: the
 *                             area is being mapped or unmapped by another
 *                             thread), [vol] ENOENT
 *  - COPY slot X->Y:          0, ENOENT (source slot empty or being
 *                             unmapped), EEXIST (destination slot taken)
 *  - UNMAP all (B/C):         0, EBUSY (as UNMAP), ENOENT (vol)
 *  - private MAP/UNMAP in A:  0 only (an IOVA inside A's allowed window;
 *                             the same length back)
 *  - DESTROY A:               EBUSY only (the anchor access holds it)
 *  - DESTROY B/C:             EBUSY if a device or HWPT uses it, else 0 or
 *                             EBUSY (an access or an ioctl in flight)
 *  - DESTROY another thread's bound device object (idev): EBUSY only
 *  - DESTROY a HWPT a device is attached to: EBUSY only
 *  - DESTROY a user HWPT no device uses: 0 only
 *  - MOCK_DOMAIN, REPLACE, HWPT_ALLOC, DESTROY of own mock device: 0 only
 *  - CREATE_ACCESS:           0, [vol] ENOENT
 *  - ACCESS_PAGES slot:       0, ENOENT (slot not mapped in the access's
 *                             IOAS), EINVAL (upstream: an unmap of that
 *                             area is in progress, area->prevent_access)
 *  - DESTROY_ACCESS_PAGES:    0, ENOENT (an unmap or a replace already
 *                             unpinned the item)
 *  - ACCESS_RW (read):        0, ENOENT, EINVAL (as ACCESS_PAGES)
 *  - ACCESS_REPLACE_IOAS:     0, [vol] ENOENT
 *  - close() of any fd:       0
 *  - the second fd (closer): every call 0 (only the closer uses that file)
 * ENOMEM is legal nowhere: RLIMIT_MEMLOCK is set to the bound below, so an
 * accounting leak shows as ENOMEM too.
 *
 * Accounting: the main fd and every second fd use IOMMU_OPTION_RLIMIT_MODE
 * = 1 (mm->locked_vm, as VFIO; needs CAP_SYS_RESOURCE), and the process
 * drops CAP_IPC_LOCK before the threads start, so every pinned page shows
 * in VmLck as well as VmPin.  Each MAP makes one pinned-page object; COPY
 * shares it, and each page of it is pinned and charged once however many
 * domains, copies and accesses use it.  So the charge is bounded by the
 * bytes of all areas that can exist at once: 3 IOASes x every slot, plus
 * the private maps, plus one second fd's maps.  The main thread samples
 * VmPin and VmLck every 10 ms and fails if either leaves [start, start +
 * bound].  After the run and after every object is destroyed both must be
 * back at their start values exactly, and MD_CHECK_REFS must find every
 * small page of the buffer pinned 0 times (huge pages are compound and not
 * counted by MD_CHECK_REFS; VmPin/VmLck cover them).  A last
 * deterministic phase checks the expected counts 1 and 2 with domains and
 * an access, and that closing the file brings them back to 0.
 *
 * Knobs (environment): IOMMUFD_STRESS_SECONDS (wall-clock cap of each
 * test's race phase, default 4), IOMMUFD_STRESS_ITERS (iterations per
 * thread, default 3000), IOMMUFD_STRESS_SEED (default: time; printed),
 * IOMMUFD_DEV (the device, default /dev/iommu: the same binary runs against
 * the kernel's own iommufd and against iommufd_cxx.ko loaded with
 * devname=<other>).  Needs root (CAP_SYS_RESOURCE to set RLIMIT_MODE and
 * RLIMIT_MEMLOCK).
 *
 * Validation: both tests pass, with a clean console, against the
 * in-kernel iommufd.ko (CONFIG_IOMMUFD_TEST) of the debug test kernel
 * (KASAN, lockdep, kmemleak) built from Debian's 6.12 tree, also with a
 * 25 s cap.  That run is where UNMAP's EBUSY and ACCESS_PAGES' EINVAL
 * above were seen.  iommufd_cxx.ko gives ENOENT for that UNMAP race (its
 * per-IOAS lock never shows a half-made area) and, like upstream, EINVAL
 * for an access pin in an area an unmap is waiting on.
 *
 * Test "killed": processes SIGKILLed in the middle of their ioctls, with
 * their files then closed by the exit path (IOMMUFD_STRESS_KILLS rounds,
 * default 40); see the comment above it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "iommufd.h"
#include "iommufd_test.h"
#include "iommufd_util.h"
#include "kselftest_harness.h"

#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED IOMMU_IOAS_MAP_FIXED_IOVA

#define SMALL_PAGES 32
#define HUGE_LEN (2UL << 20)
#define SLOT_BASE ((uint64_t)MOCK_APERTURE_START)
#define SLOT_STRIDE (4ULL << 20)
#define MAX_SLOTS 8
/* A's allowed window for automatic IOVAs, inside the mock aperture. */
#define AUTO_START (1ULL << 30)
#define AUTO_LAST ((3ULL << 29) - 1)

#define NIOAS 3
#define NMAPPERS 2
#define NPRIV 3
#define NDEVTHREADS 2
#define NDEV 3
#define NHWPT 2
#define NACC 2
#define NITEM 8
#define MAX_FAILS 16
#define NBUCKET 134 /* errno buckets; the last one collects the rest */

static long PAGE_SZ;

static const char *dev_path(void)
{
	const char *p = getenv("IOMMUFD_DEV");

	return p && *p ? p : "/dev/iommu";
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : def;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- ioctls: each returns 0 or the errno -------------------------------- */

static int map_fixed(int fd, uint32_t ioas, const void *va, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = FIXED | RW, .ioas_id = ioas,
		.user_va = (uintptr_t)va, .length = len, .iova = iova,
	};

	return ioctl_err(fd, IOMMU_IOAS_MAP, &cmd);
}

static int map_auto(int fd, uint32_t ioas, const void *va, uint64_t len, uint64_t *iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = RW, .ioas_id = ioas,
		.user_va = (uintptr_t)va, .length = len,
	};
	int ret = ioctl_err(fd, IOMMU_IOAS_MAP, &cmd);

	*iova = cmd.iova;
	return ret;
}

static int unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t len, uint64_t *done)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = len,
	};
	int ret = ioctl_err(fd, IOMMU_IOAS_UNMAP, &cmd);

	*done = ret ? 0 : cmd.length;
	return ret;
}

static int copy_fixed(int fd, uint32_t dst, uint32_t src, uint64_t src_iova, uint64_t len,
		      uint64_t dst_iova)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd), .flags = FIXED | RW, .dst_ioas_id = dst,
		.src_ioas_id = src, .length = len, .dst_iova = dst_iova,
		.src_iova = src_iova,
	};

	return ioctl_err(fd, IOMMU_IOAS_COPY, &cmd);
}

static int allow_iovas(int fd, uint32_t ioas, uint64_t start, uint64_t last)
{
	struct iommu_iova_range r = { .start = start, .last = last };
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = 1,
		.allowed_iovas = (uintptr_t)&r,
	};

	return ioctl_err(fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

static int set_rlimit_mode(int fd, uint64_t mode)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_SET, .val64 = mode,
	};

	return ioctl_err(fd, IOMMU_OPTION, &cmd);
}

static int hwpt_alloc(int fd, uint32_t idev, uint32_t pt, uint32_t *hwpt)
{
	struct iommu_hwpt_alloc cmd = { .size = sizeof(cmd), .dev_id = idev, .pt_id = pt };
	int ret = ioctl_err(fd, IOMMU_HWPT_ALLOC, &cmd);

	*hwpt = cmd.out_hwpt_id;
	return ret;
}

static int mock_domain_dev(int fd, uint32_t pt, uint32_t *stdev, uint32_t *hwpt, uint32_t *idev)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pt,
	};
	int ret = ioctl_err(fd, IOMMU_TEST_CMD, &cmd);

	*stdev = cmd.mock_domain.out_stdev_id;
	*hwpt = cmd.mock_domain.out_hwpt_id;
	*idev = cmd.mock_domain.out_idev_id;
	return ret;
}

static int mock_replace(int fd, uint32_t stdev, uint32_t pt, uint32_t *hwpt)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev,
		.mock_domain_replace = { .pt_id = pt },
	};
	int ret = ioctl_err(fd, IOMMU_TEST_CMD, &cmd);

	*hwpt = cmd.mock_domain_replace.pt_id;
	return ret;
}

static int access_unpin(int fd, int afd, uint32_t item)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, .id = afd,
		.destroy_access_pages = { .access_pages_id = item },
	};

	return ioctl_err(fd, IOMMU_TEST_CMD, &cmd);
}

static int access_read(int fd, int afd, uint64_t iova, void *buf, uint64_t len)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_RW, .id = afd,
		.access_rw = { .iova = iova, .length = len, .uptr = (uintptr_t)buf },
	};

	return ioctl_err(fd, IOMMU_TEST_CMD, &cmd);
}

static int access_replace(int fd, int afd, uint32_t ioas)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, .id = afd,
		.access_replace_ioas = { .ioas_id = ioas },
	};

	return ioctl_err(fd, IOMMU_TEST_CMD, &cmd);
}

static int close_err(int fd)
{
	return close(fd) ? errno : 0;
}

/* ---- shared state ----------------------------------------------------------- */

struct slot {
	uint8_t *va;
	uint64_t len;
	uint64_t iova;
};

struct dev_rec {
	bool live;
	uint32_t stdev, idev, hwpt; /* hwpt: what the device is attached to */
	int ioas;		    /* IOAS index through an automatic HWPT, or -1 */
	int uhwpt;		    /* index of the owner's user HWPT, or -1 */
};

struct hwpt_rec {
	bool live;
	uint32_t id;
	int ioas;
};

/* One device thread's objects: written by it under the graph lock held
 * for reading, read (and a HWPT marked destroyed) by the destroyer under
 * the lock held for writing.
 */
struct devtab {
	struct dev_rec dev[NDEV];
	struct hwpt_rec hwpt[NHWPT];
};

enum op {
	OP_MAP, OP_UNMAP, OP_COPY, OP_UNMAP_ALL, OP_MAP_AUTO, OP_UNMAP_AUTO,
	OP_DESTROY_A, OP_DESTROY_IOAS, OP_REMAKE_IOAS, OP_DESTROY_IDEV, OP_DESTROY_ATTACHED_HWPT,
	OP_DESTROY_FREE_HWPT,
	OP_MOCK_DOMAIN, OP_REPLACE, OP_HWPT_ALLOC, OP_DESTROY_HWPT, OP_DESTROY_STDEV,
	OP_CREATE_ACCESS, OP_ACCESS_PAGES, OP_ACCESS_UNPIN, OP_ACCESS_RW, OP_ACCESS_REPLACE,
	OP_ACCESS_CLOSE,
	OP_FD2_OPEN, OP_FD2_SETUP, OP_FD2_MAP, OP_FD2_COPY, OP_FD2_UNMAP, OP_FD2_MOCK_DOMAIN,
	OP_FD2_HWPT, OP_FD2_ACCESS, OP_FD2_PIN, OP_FD2_PIN_AFTER_CLOSE, OP_FD2_CLOSE,
	OP_NR
};

static const char *const op_names[OP_NR] = {
	[OP_MAP] = "MAP slot", [OP_UNMAP] = "UNMAP slot", [OP_COPY] = "COPY slot",
	[OP_UNMAP_ALL] = "UNMAP all (B/C)", [OP_MAP_AUTO] = "MAP auto IOVA (A)",
	[OP_UNMAP_AUTO] = "UNMAP auto IOVA (A)",
	[OP_DESTROY_A] = "DESTROY A (anchored)", [OP_DESTROY_IOAS] = "DESTROY B/C",
	[OP_REMAKE_IOAS] = "IOAS_ALLOC (B/C again)", [OP_DESTROY_IDEV] = "DESTROY other's idev",
	[OP_DESTROY_ATTACHED_HWPT] = "DESTROY attached HWPT",
	[OP_DESTROY_FREE_HWPT] = "DESTROY other's free HWPT",
	[OP_MOCK_DOMAIN] = "MOCK_DOMAIN", [OP_REPLACE] = "MOCK_DOMAIN_REPLACE",
	[OP_HWPT_ALLOC] = "HWPT_ALLOC", [OP_DESTROY_HWPT] = "DESTROY own HWPT",
	[OP_DESTROY_STDEV] = "DESTROY own mock device",
	[OP_CREATE_ACCESS] = "CREATE_ACCESS", [OP_ACCESS_PAGES] = "ACCESS_PAGES",
	[OP_ACCESS_UNPIN] = "DESTROY_ACCESS_PAGES", [OP_ACCESS_RW] = "ACCESS_RW",
	[OP_ACCESS_REPLACE] = "ACCESS_REPLACE_IOAS", [OP_ACCESS_CLOSE] = "close access fd",
	[OP_FD2_OPEN] = "fd2: open", [OP_FD2_SETUP] = "fd2: RLIMIT_MODE, IOAS_ALLOC",
	[OP_FD2_MAP] = "fd2: MAP", [OP_FD2_COPY] = "fd2: COPY", [OP_FD2_UNMAP] = "fd2: UNMAP",
	[OP_FD2_MOCK_DOMAIN] = "fd2: MOCK_DOMAIN", [OP_FD2_HWPT] = "fd2: HWPT_ALLOC+REPLACE",
	[OP_FD2_ACCESS] = "fd2: CREATE_ACCESS", [OP_FD2_PIN] = "fd2: ACCESS_PAGES",
	[OP_FD2_PIN_AFTER_CLOSE] = "fd2: ACCESS_PAGES after close",
	[OP_FD2_CLOSE] = "fd2: close",
};

struct stress {
	/* configuration */
	bool full;	/* domains and accesses (the test ABI) */
	double seconds;
	long iters;
	unsigned int seed;
	struct slot slot[MAX_SLOTS];
	int nslots;
	uint8_t *small;
	uint8_t *huge;
	long bound_kb;

	int fd;
	uint32_t ioas[NIOAS];	/* [1], [2] change: atomic, under graph (write) */
	pthread_rwlock_t graph;
	struct devtab devtab[NDEVTHREADS];

	int stop;
	int finished;
	int nfails;
	char fails[MAX_FAILS][320];
	unsigned long stats[OP_NR][NBUCKET];
};

struct worker {
	struct stress *s;
	char name[16];
	int idx;
	uint64_t rng;
	long iter;
};

static uint32_t rnd(struct worker *w, uint32_t n)
{
	/* xorshift64* */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return (uint32_t)((w->rng * 0x2545F4914F6CDD1DULL) >> 32) % n;
}

static void record_fail(struct stress *s, const char *fmt, ...)
{
	int n = __atomic_fetch_add(&s->nfails, 1, __ATOMIC_SEQ_CST);
	va_list ap;

	if (n < MAX_FAILS) {
		va_start(ap, fmt);
		vsnprintf(s->fails[n], sizeof(s->fails[n]), fmt, ap);
		va_end(ap);
	}
	__atomic_store_n(&s->stop, 1, __ATOMIC_SEQ_CST);
}

static const char *errname(int e)
{
	const char *n = e ? strerrorname_np(e) : "ok";

	return n ? n : "?";
}

/* A legal set: errnos ending with -1 (0 is success). */
#define L(...) ((const int[]){ __VA_ARGS__, -1 })

/*
 * Count @ret for @op; if it is not in @legal, record a failure naming the
 * thread, its iteration, the call (@fmt) and the errno.  Returns @ret.
 */
static int __attribute__((format(printf, 5, 6)))
result(struct worker *w, enum op op, int ret, const int *legal, const char *fmt, ...)
{
	struct stress *s = w->s;
	char what[160], set[96] = "";
	size_t len = 0;
	va_list ap;
	int i;

	__atomic_fetch_add(&s->stats[op][ret < NBUCKET - 1 ? ret : NBUCKET - 1], 1,
			   __ATOMIC_RELAXED);
	for (i = 0; legal[i] >= 0; i++)
		if (legal[i] == ret)
			return ret;
	for (i = 0; legal[i] >= 0 && len < sizeof(set) - 16; i++)
		len += snprintf(set + len, sizeof(set) - len, "%s%s", i ? " " : "",
				errname(legal[i]));
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	record_fail(s, "%s iteration %ld: %s: %s -> %s (%d); legal: %s", w->name, w->iter,
		    op_names[op], what, errname(ret), ret, set);
	return ret;
}

static bool keep_going(struct worker *w)
{
	if (__atomic_load_n(&w->s->stop, __ATOMIC_RELAXED) || w->iter >= w->s->iters)
		return false;
	w->iter++;
	return true;
}

static uint32_t ioas_id(struct stress *s, int i)
{
	return __atomic_load_n(&s->ioas[i], __ATOMIC_ACQUIRE);
}

/* ---- mapper ------------------------------------------------------------------- */

struct priv_map {
	bool live;
	uint64_t iova, len;
};

static void *mapper(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	struct priv_map priv[NPRIV] = {};
	uint64_t done;
	int i, ret;

	while (keep_going(w)) {
		int x = rnd(w, NIOAS), y = (x + 1 + rnd(w, NIOAS - 1)) % NIOAS;
		struct slot *sl = &s->slot[rnd(w, s->nslots)];
		uint32_t id = ioas_id(s, x);
		bool vol = x != 0;
		uint32_t r = rnd(w, 16);

		if (r < 5) {
			result(w, OP_MAP, map_fixed(s->fd, id, sl->va, sl->len, sl->iova),
			       vol ? L(0, EEXIST, ENOENT) : L(0, EEXIST),
			       "IOAS %c (%u) IOVA 0x%llx len 0x%llx", 'A' + x, id,
			       (unsigned long long)sl->iova, (unsigned long long)sl->len);
		} else if (r < 9) {
			ret = result(w, OP_UNMAP, unmap(s->fd, id, sl->iova, sl->len, &done),
				     L(0, ENOENT, EBUSY), "IOAS %c (%u) IOVA 0x%llx len 0x%llx",
				     'A' + x, id, (unsigned long long)sl->iova,
				     (unsigned long long)sl->len);
			if (!ret && done != sl->len)
				record_fail(s, "%s iteration %ld: UNMAP of slot 0x%llx unmapped 0x%llx, not 0x%llx",
					    w->name, w->iter, (unsigned long long)sl->iova,
					    (unsigned long long)done, (unsigned long long)sl->len);
		} else if (r < 12) {
			uint32_t dst = ioas_id(s, y);

			result(w, OP_COPY, copy_fixed(s->fd, dst, id, sl->iova, sl->len, sl->iova),
			       L(0, ENOENT, EEXIST), "IOAS %c (%u) -> %c (%u) IOVA 0x%llx len 0x%llx",
			       'A' + x, id, 'A' + y, dst, (unsigned long long)sl->iova,
			       (unsigned long long)sl->len);
		} else if (r == 12) {
			int v = 1 + rnd(w, 2);

			id = ioas_id(s, v);
			result(w, OP_UNMAP_ALL, unmap(s->fd, id, 0, UINT64_MAX, &done),
			       L(0, ENOENT, EBUSY), "IOAS %c (%u)", 'A' + v, id);
		} else {
			struct priv_map *p = &priv[rnd(w, NPRIV)];

			if (p->live) {
				ret = result(w, OP_UNMAP_AUTO,
					     unmap(s->fd, ioas_id(s, 0), p->iova, p->len, &done), L(0),
					     "IOVA 0x%llx len 0x%llx", (unsigned long long)p->iova,
					     (unsigned long long)p->len);
				if (!ret && done != p->len)
					record_fail(s, "%s iteration %ld: UNMAP of auto IOVA 0x%llx unmapped 0x%llx, not 0x%llx",
						    w->name, w->iter, (unsigned long long)p->iova,
						    (unsigned long long)done, (unsigned long long)p->len);
				p->live = false;
				continue;
			}
			p->len = sl->len;
			ret = result(w, OP_MAP_AUTO, map_auto(s->fd, ioas_id(s, 0), sl->va, sl->len, &p->iova),
				     L(0), "len 0x%llx", (unsigned long long)sl->len);
			if (ret)
				continue;
			p->live = true;
			if (p->iova < AUTO_START || p->iova + p->len - 1 > AUTO_LAST ||
			    p->iova % PAGE_SZ)
				record_fail(s, "%s iteration %ld: auto IOVA 0x%llx (len 0x%llx) is outside A's allowed window",
					    w->name, w->iter, (unsigned long long)p->iova,
					    (unsigned long long)p->len);
		}
	}
	for (i = 0; i < NPRIV; i++) {
		if (!priv[i].live)
			continue;
		result(w, OP_UNMAP_AUTO, unmap(s->fd, ioas_id(s, 0), priv[i].iova, priv[i].len, &done),
		       L(0), "cleanup IOVA 0x%llx", (unsigned long long)priv[i].iova);
	}
	__atomic_fetch_add(&s->finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* ---- device ------------------------------------------------------------------- */

static bool hwpt_attached(const struct devtab *t, int h)
{
	int i;

	for (i = 0; i < NDEV; i++)
		if (t->dev[i].live && t->dev[i].uhwpt == h)
			return true;
	return false;
}

static int pick_live_dev(struct worker *w, struct devtab *t)
{
	int i, start = rnd(w, NDEV);

	for (i = 0; i < NDEV; i++)
		if (t->dev[(start + i) % NDEV].live)
			return (start + i) % NDEV;
	return -1;
}

static int pick_live_hwpt(struct worker *w, struct devtab *t)
{
	int i, start = rnd(w, NHWPT);

	for (i = 0; i < NHWPT; i++)
		if (t->hwpt[(start + i) % NHWPT].live)
			return (start + i) % NHWPT;
	return -1;
}

static void device_step(struct worker *w, struct devtab *t)
{
	struct stress *s = w->s;
	uint32_t r = rnd(w, 10);
	int x = rnd(w, NIOAS);
	uint32_t pt;
	int d, h;

	if (r < 3) { /* a new mock device on an IOAS */
		for (d = 0; d < NDEV && t->dev[d].live; d++)
			;
		if (d == NDEV)
			return;
		struct dev_rec *dv = &t->dev[d];

		if (result(w, OP_MOCK_DOMAIN,
			   mock_domain_dev(s->fd, ioas_id(s, x), &dv->stdev, &dv->hwpt, &dv->idev), L(0),
			   "IOAS %c (%u)", 'A' + x, ioas_id(s, x)))
			return;
		dv->live = true;
		dv->ioas = x;
		dv->uhwpt = -1;
	} else if (r < 5) { /* move a device to an IOAS or to a HWPT of ours */
		d = pick_live_dev(w, t);
		if (d < 0)
			return;
		h = rnd(w, 2) ? pick_live_hwpt(w, t) : -1;
		pt = h >= 0 ? t->hwpt[h].id : ioas_id(s, x);
		if (result(w, OP_REPLACE, mock_replace(s->fd, t->dev[d].stdev, pt, &pt), L(0),
			   "mock device %u to %s %u", t->dev[d].stdev, h >= 0 ? "HWPT" : "IOAS",
			   h >= 0 ? t->hwpt[h].id : ioas_id(s, x)))
			return;
		t->dev[d].hwpt = pt;
		t->dev[d].ioas = h >= 0 ? -1 : x;
		t->dev[d].uhwpt = h;
	} else if (r < 6) { /* a user HWPT on an IOAS */
		d = pick_live_dev(w, t);
		for (h = 0; h < NHWPT && t->hwpt[h].live; h++)
			;
		if (d < 0 || h == NHWPT)
			return;
		if (result(w, OP_HWPT_ALLOC, hwpt_alloc(s->fd, t->dev[d].idev, ioas_id(s, x), &pt),
			   L(0), "device %u on IOAS %c (%u)", t->dev[d].idev, 'A' + x,
			   ioas_id(s, x)))
			return;
		t->hwpt[h] = (struct hwpt_rec){ .live = true, .id = pt, .ioas = x };
	} else if (r < 7) { /* destroy a user HWPT: EBUSY while ours use it */
		h = pick_live_hwpt(w, t);
		if (h < 0)
			return;
		bool busy = hwpt_attached(t, h);

		if (!result(w, OP_DESTROY_HWPT, destroy(s->fd, t->hwpt[h].id), busy ? L(EBUSY) : L(0),
			    "HWPT %u (%s)", t->hwpt[h].id, busy ? "attached" : "free"))
			t->hwpt[h].live = false;
	} else { /* destroy a mock device (detaches it) */
		d = pick_live_dev(w, t);
		if (d < 0)
			return;
		if (!result(w, OP_DESTROY_STDEV, destroy(s->fd, t->dev[d].stdev), L(0),
			    "mock device %u", t->dev[d].stdev))
			t->dev[d].live = false;
	}
}

static void *device(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	struct devtab *t = &s->devtab[w->idx];
	int i;

	while (keep_going(w)) {
		pthread_rwlock_rdlock(&s->graph);
		device_step(w, t);
		pthread_rwlock_unlock(&s->graph);
	}
	pthread_rwlock_rdlock(&s->graph);
	for (i = 0; i < NDEV; i++)
		if (t->dev[i].live &&
		    !result(w, OP_DESTROY_STDEV, destroy(s->fd, t->dev[i].stdev), L(0),
			    "cleanup mock device %u", t->dev[i].stdev))
			t->dev[i].live = false;
	for (i = 0; i < NHWPT; i++)
		if (t->hwpt[i].live &&
		    !result(w, OP_DESTROY_HWPT, destroy(s->fd, t->hwpt[i].id), L(0),
			    "cleanup HWPT %u", t->hwpt[i].id))
			t->hwpt[i].live = false;
	pthread_rwlock_unlock(&s->graph);
	__atomic_fetch_add(&s->finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* ---- access ------------------------------------------------------------------- */

struct acc {
	int fd;
	bool live[NITEM];
	uint32_t item[NITEM];
};

static void *accessor(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;
	struct acc acc[NACC];
	uint8_t buf[64];
	int a, i, x;

	for (a = 0; a < NACC; a++)
		acc[a] = (struct acc){ .fd = -1 };
	while (keep_going(w)) {
		struct acc *ac = &acc[rnd(w, NACC)];
		struct slot *sl = &s->slot[rnd(w, s->nslots)];
		uint32_t r = rnd(w, 12);

		x = rnd(w, NIOAS);
		if (ac->fd < 0) {
			result(w, OP_CREATE_ACCESS, create_access(s->fd, ioas_id(s, x), &ac->fd),
			       x ? L(0, ENOENT) : L(0), "IOAS %c (%u)", 'A' + x, ioas_id(s, x));
			memset(ac->live, 0, sizeof(ac->live));
			continue;
		}
		if (r < 5) {
			for (i = 0; i < NITEM && ac->live[i]; i++)
				;
			if (i == NITEM)
				i = rnd(w, NITEM); /* keep it: an unmap may take it */
			if (!result(w, OP_ACCESS_PAGES,
				    access_pages(s->fd, ac->fd, sl->iova, sl->len, sl->va, &ac->item[i]),
				    L(0, ENOENT, EINVAL), "access fd %d IOVA 0x%llx len 0x%llx", ac->fd,
				    (unsigned long long)sl->iova, (unsigned long long)sl->len))
				ac->live[i] = true;
		} else if (r < 8) {
			int start = rnd(w, NITEM);

			for (i = 0; i < NITEM && !ac->live[(start + i) % NITEM]; i++)
				;
			if (i == NITEM)
				continue;
			i = (start + i) % NITEM;
			result(w, OP_ACCESS_UNPIN, access_unpin(s->fd, ac->fd, ac->item[i]),
			       L(0, ENOENT), "access fd %d item %u", ac->fd, ac->item[i]);
			ac->live[i] = false;
		} else if (r < 10) {
			result(w, OP_ACCESS_RW,
			       access_read(s->fd, ac->fd, sl->iova + sl->len / 2, buf, sizeof(buf)),
			       L(0, ENOENT, EINVAL), "access fd %d read at 0x%llx", ac->fd,
			       (unsigned long long)(sl->iova + sl->len / 2));
		} else if (r < 11) {
			if (!result(w, OP_ACCESS_REPLACE, access_replace(s->fd, ac->fd, ioas_id(s, x)),
				    x ? L(0, ENOENT) : L(0), "access fd %d to IOAS %c (%u)", ac->fd,
				    'A' + x, ioas_id(s, x)))
				memset(ac->live, 0, sizeof(ac->live)); /* unpinned */
		} else {
			result(w, OP_ACCESS_CLOSE, close_err(ac->fd), L(0), "access fd %d", ac->fd);
			ac->fd = -1;
		}
	}
	for (a = 0; a < NACC; a++)
		if (acc[a].fd >= 0)
			result(w, OP_ACCESS_CLOSE, close_err(acc[a].fd), L(0), "cleanup access fd %d",
			       acc[a].fd);
	__atomic_fetch_add(&s->finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* ---- destroyer ------------------------------------------------------------------ */

static bool ioas_used_by_graph(struct stress *s, int x)
{
	int t, i;

	for (t = 0; t < NDEVTHREADS; t++) {
		for (i = 0; i < NDEV; i++)
			if (s->devtab[t].dev[i].live && s->devtab[t].dev[i].ioas == x)
				return true;
		for (i = 0; i < NHWPT; i++)
			if (s->devtab[t].hwpt[i].live && s->devtab[t].hwpt[i].ioas == x)
				return true;
	}
	return false;
}

static void destroyer_step(struct worker *w)
{
	struct stress *s = w->s;
	int x = 1 + rnd(w, 2), t, d, h;
	uint32_t id = s->ioas[x];
	bool busy;

	/* A: the anchor access holds it. */
	if (s->full)
		result(w, OP_DESTROY_A, destroy(s->fd, s->ioas[0]), L(EBUSY), "IOAS A (%u)",
		       s->ioas[0]);

	/* B or C: gone unless something holds it; then a new one in its place. */
	busy = ioas_used_by_graph(s, x);
	if (!result(w, OP_DESTROY_IOAS, destroy(s->fd, id), busy ? L(EBUSY) : L(0, EBUSY),
		    "IOAS %c (%u)%s", 'A' + x, id, busy ? ", a device or HWPT uses it" : "")) {
		if (!result(w, OP_REMAKE_IOAS, ioas_alloc(s->fd, &id), L(0), "for %c", 'A' + x))
			__atomic_store_n(&s->ioas[x], id, __ATOMIC_RELEASE);
		else
			__atomic_store_n(&s->ioas[x], 0, __ATOMIC_RELEASE);
	}
	if (!s->full)
		return;

	t = rnd(w, NDEVTHREADS);
	for (d = 0; d < NDEV; d++) {
		struct dev_rec *dv = &s->devtab[t].dev[d];

		if (!dv->live)
			continue;
		result(w, OP_DESTROY_IDEV, destroy(s->fd, dv->idev), L(EBUSY),
		       "device %u of device%d", dv->idev, t);
		result(w, OP_DESTROY_ATTACHED_HWPT, destroy(s->fd, dv->hwpt), L(EBUSY),
		       "HWPT %u with device %u of device%d", dv->hwpt, dv->idev, t);
		break;
	}
	h = rnd(w, NHWPT);
	if (s->devtab[t].hwpt[h].live) {
		struct hwpt_rec *hw = &s->devtab[t].hwpt[h];

		busy = hwpt_attached(&s->devtab[t], h);
		if (busy)
			result(w, OP_DESTROY_ATTACHED_HWPT, destroy(s->fd, hw->id), L(EBUSY),
			       "user HWPT %u of device%d", hw->id, t);
		else if (!result(w, OP_DESTROY_FREE_HWPT, destroy(s->fd, hw->id), L(0),
				 "user HWPT %u of device%d", hw->id, t))
			hw->live = false;
	}
}

static void *destroyer(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->s;

	while (keep_going(w)) {
		pthread_rwlock_wrlock(&s->graph);
		destroyer_step(w);
		pthread_rwlock_unlock(&s->graph);
		usleep(rnd(w, 1000));
	}
	__atomic_fetch_add(&s->finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* ---- closer: a second file, closed with everything alive ------------------------ */

static void closer_step(struct worker *w)
{
	struct stress *s = w->s;
	uint32_t i1 = 0, i2 = 0, stdev = 0, hwpt, idev = 0, item, uhwpt;
	bool mapped[MAX_SLOTS] = {}, copied[MAX_SLOTS] = {};
	bool dom_first = rnd(w, 2), acc_on_i1 = rnd(w, 2);
	int fd2, afd = -1, k, pin_slot = -1;
	uint64_t done;

	fd2 = open(dev_path(), O_RDWR);
	if (result(w, OP_FD2_OPEN, fd2 < 0 ? errno : 0, L(0), "%s", dev_path()))
		return;
	if (result(w, OP_FD2_SETUP, set_rlimit_mode(fd2, 1), L(0), "RLIMIT_MODE=1") ||
	    result(w, OP_FD2_SETUP, ioas_alloc(fd2, &i1), L(0), "IOAS_ALLOC") ||
	    result(w, OP_FD2_SETUP, ioas_alloc(fd2, &i2), L(0), "IOAS_ALLOC"))
		goto out;
	if (s->full && dom_first &&
	    result(w, OP_FD2_MOCK_DOMAIN, mock_domain_dev(fd2, i1, &stdev, &hwpt, &idev), L(0),
		   "IOAS %u (before the maps)", i1))
		goto out;
	for (k = 0; k < s->nslots; k++) {
		if (!rnd(w, 3))
			continue;
		if (result(w, OP_FD2_MAP,
			   map_fixed(fd2, i1, s->slot[k].va, s->slot[k].len, s->slot[k].iova), L(0),
			   "IOAS %u slot %d", i1, k))
			goto out;
		mapped[k] = true;
	}
	if (s->full && !dom_first &&
	    result(w, OP_FD2_MOCK_DOMAIN, mock_domain_dev(fd2, i1, &stdev, &hwpt, &idev), L(0),
		   "IOAS %u (after the maps)", i1))
		goto out;
	for (k = 0; k < s->nslots; k++) {
		if (!mapped[k] || !rnd(w, 2))
			continue;
		if (result(w, OP_FD2_COPY,
			   copy_fixed(fd2, i2, i1, s->slot[k].iova, s->slot[k].len, s->slot[k].iova),
			   L(0), "IOAS %u -> %u slot %d", i1, i2, k))
			goto out;
		copied[k] = true;
	}
	if (s->full && rnd(w, 2)) {
		/* A user HWPT on i2 with the device moved to it: i2 gets pinned. */
		if (result(w, OP_FD2_HWPT, hwpt_alloc(fd2, idev, i2, &uhwpt), L(0), "on IOAS %u", i2) ||
		    result(w, OP_FD2_HWPT, mock_replace(fd2, stdev, uhwpt, &hwpt), L(0),
			   "device to HWPT %u", uhwpt))
			goto out;
	}
	if (s->full) {
		bool *have = acc_on_i1 ? mapped : copied;

		if (result(w, OP_FD2_ACCESS, create_access(fd2, acc_on_i1 ? i1 : i2, &afd), L(0),
			   "on IOAS %u", acc_on_i1 ? i1 : i2))
			goto out;
		for (k = 0; k < s->nslots; k++)
			if (have[k])
				pin_slot = k;
		if (pin_slot >= 0 &&
		    result(w, OP_FD2_PIN,
			   access_pages(fd2, afd, s->slot[pin_slot].iova, s->slot[pin_slot].len,
					s->slot[pin_slot].va, &item),
			   L(0), "slot %d", pin_slot))
			goto out;
	}
	/* Sometimes unmap a slot of i1 (its access pin, if any, is dropped). */
	for (k = 0; k < s->nslots; k++) {
		if (!mapped[k] || rnd(w, 4))
			continue;
		if (result(w, OP_FD2_UNMAP, unmap(fd2, i1, s->slot[k].iova, s->slot[k].len, &done),
			   L(0), "IOAS %u slot %d", i1, k))
			goto out;
		mapped[k] = false;
		break;
	}
	if (afd >= 0 && rnd(w, 2)) {
		/* The file goes first; the access keeps its context alive. */
		result(w, OP_FD2_CLOSE, close_err(fd2), L(0), "fd2 %d (access fd %d still open)",
		       fd2, afd);
		fd2 = -1;
		if (pin_slot >= 0 && (acc_on_i1 ? mapped : copied)[pin_slot])
			result(w, OP_FD2_PIN_AFTER_CLOSE,
			       access_pages(s->fd, afd, s->slot[pin_slot].iova, s->slot[pin_slot].len,
					    s->slot[pin_slot].va, &item),
			       L(0), "slot %d", pin_slot);
	}
out:
	if (afd >= 0)
		result(w, OP_FD2_CLOSE, close_err(afd), L(0), "access fd %d", afd);
	if (fd2 >= 0)
		result(w, OP_FD2_CLOSE, close_err(fd2), L(0), "fd2 %d", fd2);
}

static void *closer(void *arg)
{
	struct worker *w = arg;

	while (keep_going(w))
		closer_step(w);
	__atomic_fetch_add(&w->s->finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* ---- the buffer ------------------------------------------------------------------ */

static bool have_thp(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strstr(buf, "[always]") || strstr(buf, "[madvise]");
}

/*
 * The small anonymous piece, and the huge one: hugetlbfs, else THP, else
 * none (*why says why).  Then the slots.
 */
static void setup_buffer(struct stress *s, const char **kind)
{
	uint8_t *p;
	int n = 0;

	s->small = mmap(NULL, SMALL_PAGES * PAGE_SZ, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->small == MAP_FAILED) {
		s->small = NULL;
		return;
	}
	madvise(s->small, SMALL_PAGES * PAGE_SZ, MADV_NOHUGEPAGE);
	memset(s->small, 0x5a, SMALL_PAGES * PAGE_SZ);

	s->huge = NULL;
	p = mmap(NULL, HUGE_LEN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	if (p != MAP_FAILED) {
		s->huge = p;
		*kind = "2 MiB hugetlbfs page";
	} else if (have_thp()) {
		p = mmap(NULL, 2 * HUGE_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (p != MAP_FAILED) {
			s->huge = (uint8_t *)(((uintptr_t)p + HUGE_LEN - 1) & ~(HUGE_LEN - 1));
			madvise(s->huge, HUGE_LEN, MADV_HUGEPAGE);
			memset(s->huge, 0x5a, HUGE_LEN);
			*kind = "2 MiB THP (MADV_HUGEPAGE)";
		}
	}
	if (!s->huge)
		*kind = "none: no hugetlbfs page (vm.nr_hugepages) and THP is off; huge slots skipped";

#define SLOT(ptr, pages) \
	s->slot[n] = (struct slot){ (ptr), (pages) * PAGE_SZ, SLOT_BASE + n * SLOT_STRIDE }, n++
	SLOT(s->small, 4);
	SLOT(s->small + 4 * PAGE_SZ, 8);
	SLOT(s->small + 12 * PAGE_SZ, 1);
	SLOT(s->small + 13 * PAGE_SZ, 3);
	SLOT(s->small, 16); /* over slots 0-3: the same pages, other pin objects */
	SLOT(s->small + 16 * PAGE_SZ, 16);
	if (s->huge) {
		SLOT(s->huge, HUGE_LEN / PAGE_SZ);
		SLOT(s->huge + HUGE_LEN / 2, 16); /* inside slot 6's huge page */
	}
#undef SLOT
	s->nslots = n;
}

/* ---- the test ---------------------------------------------------------------------- */

static uint64_t slots_bytes(struct stress *s)
{
	uint64_t b = 0;
	int i;

	for (i = 0; i < s->nslots; i++)
		b += s->slot[i].len;
	return b;
}

static uint64_t max_slot(struct stress *s)
{
	uint64_t m = 0;
	int i;

	for (i = 0; i < s->nslots; i++)
		if (s->slot[i].len > m)
			m = s->slot[i].len;
	return m;
}

static void print_stats(struct stress *s, double secs, struct worker *w, int nw)
{
	int op, e, i;

	printf("# race phase: %.1f s; iterations:", secs);
	for (i = 0; i < nw; i++)
		printf(" %s %ld", w[i].name, w[i].iter);
	printf("\n");
	for (op = 0; op < OP_NR; op++) {
		char line[512];
		size_t len = 0;
		unsigned long total = 0;

		for (e = 0; e < NBUCKET; e++)
			total += s->stats[op][e];
		if (!total)
			continue;
		len += snprintf(line + len, sizeof(line) - len, "#   %-30s %6lu:", op_names[op], total);
		for (e = 0; e < NBUCKET && len < sizeof(line) - 32; e++)
			if (s->stats[op][e])
				len += snprintf(line + len, sizeof(line) - len, " %s %lu",
						e == NBUCKET - 1 ? "other" : errname(e), s->stats[op][e]);
		printf("%s\n", line);
	}
	fflush(stdout);
}

FIXTURE(stress)
{
	int check_fd;	/* a context with no objects: MD_CHECK_REFS */
	bool test_abi;
};

FIXTURE_SETUP(stress)
{
	PAGE_SZ = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	self->check_fd = open(dev_path(), O_RDWR);
	ASSERT_LE(0, self->check_fd) TH_LOG("open %s: %s", dev_path(), strerror(errno));
	/* The test ABI is there if a harmless op answers. */
	self->test_abi = check_refs(self->check_fd, &self->check_fd, 0, 0) != ENOTTY;
}

FIXTURE_TEARDOWN(stress)
{
	if (self->check_fd >= 0)
		close(self->check_fd);
}

static void run(struct __test_metadata *_metadata, FIXTURE_DATA(stress) *self, bool full)
{
	static struct stress st; /* the stats array is large; one test per process */
	struct stress *s = &st;
	struct worker w[8];
	pthread_t th[8];
	const char *huge_kind = "";
	long pin0, lck0, pin, lck, pin_max = 0, lck_max = 0, small_kb;
	double t0, deadline;
	int nw = 0, i, anchor = -1, ret;
	uint64_t done;

	memset(s, 0, sizeof(*s));
	s->full = full;
	s->seconds = env_long("IOMMUFD_STRESS_SECONDS", 4);
	s->iters = env_long("IOMMUFD_STRESS_ITERS", 3000);
	s->seed = env_long("IOMMUFD_STRESS_SEED", (long)time(NULL));
	setup_buffer(s, &huge_kind);
	ASSERT_NE(NULL, s->small);
	small_kb = SMALL_PAGES * PAGE_SZ / 1024;
	printf("# seed %u, cap %.0f s, %ld iterations per thread; huge piece: %s\n", s->seed,
	       s->seconds, s->iters, huge_kind);

	s->fd = open(dev_path(), O_RDWR);
	ASSERT_LE(0, s->fd);
	ret = set_rlimit_mode(s->fd, 1);
	if (ret == EPERM)
		SKIP(return, "IOMMU_OPTION_RLIMIT_MODE needs CAP_SYS_RESOURCE");
	ASSERT_EQ(0, ret);

	/*
	 * The bound: every slot in each of A, B, C and in one second fd,
	 * plus the mappers' private maps.
	 */
	s->bound_kb = (4 * slots_bytes(s) + NMAPPERS * NPRIV * max_slot(s)) / 1024;
	pin0 = vm_kb(0, "VmPin");
	lck0 = vm_kb(0, "VmLck");
	ASSERT_LE(0, pin0);
	ASSERT_LE(0, lck0);
	{
		uint64_t lim = (uint64_t)(lck0 + s->bound_kb) * 1024;
		struct rlimit rl = { .rlim_cur = lim, .rlim_max = lim };

		ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	}
	/* Without CAP_IPC_LOCK every pin is charged (VmLck, RLIMIT_MEMLOCK). */
	ASSERT_EQ(0, drop_cap(CAP_IPC_LOCK));
	printf("# VmPin %ld kB, VmLck %ld kB at start; bound %ld kB (also RLIMIT_MEMLOCK)\n",
	       pin0, lck0, s->bound_kb);

	for (i = 0; i < NIOAS; i++)
		ASSERT_EQ(0, ioas_alloc(s->fd, &s->ioas[i]));
	ASSERT_EQ(0, allow_iovas(s->fd, s->ioas[0], AUTO_START, AUTO_LAST));
	if (full)
		ASSERT_EQ(0, create_access(s->fd, s->ioas[0], &anchor));
	{
		pthread_rwlockattr_t a;

		pthread_rwlockattr_init(&a);
		pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		ASSERT_EQ(0, pthread_rwlock_init(&s->graph, &a));
		pthread_rwlockattr_destroy(&a);
	}

#define WORKER(fn, nm, ix)                                                             \
	do {                                                                           \
		w[nw] = (struct worker){ .s = s, .idx = (ix),                          \
					 .rng = (s->seed + 1) * 0x9E3779B97F4A7C15ULL + nw }; \
		snprintf(w[nw].name, sizeof(w[nw].name), "%s%d", nm, ix);               \
		ASSERT_EQ(0, pthread_create(&th[nw], NULL, fn, &w[nw]));               \
		nw++;                                                                  \
	} while (0)

	t0 = now_s();
	deadline = t0 + s->seconds;
	for (i = 0; i < NMAPPERS; i++)
		WORKER(mapper, "mapper", i);
	if (full) {
		for (i = 0; i < NDEVTHREADS; i++)
			WORKER(device, "device", i);
		WORKER(accessor, "access", 0);
	}
	WORKER(destroyer, "destroyer", 0);
	WORKER(closer, "closer", 0);
#undef WORKER

	/* Watch the accounting while they run. */
	while (__atomic_load_n(&s->finished, __ATOMIC_SEQ_CST) < nw &&
	       !__atomic_load_n(&s->stop, __ATOMIC_SEQ_CST)) {
		pin = vm_kb(0, "VmPin");
		lck = vm_kb(0, "VmLck");
		if (pin - pin0 > pin_max)
			pin_max = pin - pin0;
		if (lck - lck0 > lck_max)
			lck_max = lck - lck0;
		if (pin < pin0 || lck < lck0 || pin - pin0 > s->bound_kb ||
		    lck - lck0 > s->bound_kb)
			record_fail(s, "accounting out of bounds during the run: VmPin %ld kB, VmLck %ld kB (start %ld/%ld, bound +%ld kB)",
				    pin, lck, pin0, lck0, s->bound_kb);
		if (now_s() >= deadline)
			__atomic_store_n(&s->stop, 1, __ATOMIC_SEQ_CST);
		usleep(10000);
	}
	__atomic_store_n(&s->stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < nw; i++)
		ASSERT_EQ(0, pthread_join(th[i], NULL));
	print_stats(s, now_s() - t0, w, nw);
	printf("# peak during the run: VmPin +%ld kB, VmLck +%ld kB (bound %ld kB)\n", pin_max,
	       lck_max, s->bound_kb);

	for (i = 0; i < s->nfails && i < MAX_FAILS; i++)
		TH_LOG("%s", s->fails[i]);
	EXPECT_EQ(0, s->nfails);

	/* Every thread joined: destroy what is left, every call must work. */
	for (i = 0; i < NIOAS; i++) {
		EXPECT_EQ(0, unmap(s->fd, s->ioas[i], 0, UINT64_MAX, &done)) TH_LOG("IOAS %c", 'A' + i);
		if (i)
			EXPECT_EQ(0, destroy(s->fd, s->ioas[i])) TH_LOG("IOAS %c", 'A' + i);
	}
	if (full) {
		EXPECT_EQ(EBUSY, destroy(s->fd, s->ioas[0]));
		EXPECT_EQ(0, close(anchor));
	}
	EXPECT_EQ(0, destroy(s->fd, s->ioas[0]));

	/* Back where it started. */
	EXPECT_EQ(pin0, vm_kb(0, "VmPin"));
	EXPECT_EQ(lck0, vm_kb(0, "VmLck"));
	if (self->test_abi)
		EXPECT_EQ(0, check_refs(self->check_fd, s->small, SMALL_PAGES * PAGE_SZ, 0));

	if (full) {
		/*
		 * The pin machinery is still exact: one pin per page for a
		 * map into a domain, shared by a copy and by an access, a
		 * second one for a second map of the same memory; closing
		 * the file (the access fd first) drops them all.
		 */
		uint32_t d, e, stdev, hwpt, idev, item;
		uint64_t len = SMALL_PAGES * PAGE_SZ;
		int afd;

		ASSERT_EQ(0, ioas_alloc(s->fd, &d));
		ASSERT_EQ(0, ioas_alloc(s->fd, &e));
		ASSERT_EQ(0, mock_domain_dev(s->fd, d, &stdev, &hwpt, &idev));
		ASSERT_EQ(0, mock_domain_dev(s->fd, e, &stdev, &hwpt, &idev));
		ASSERT_EQ(0, map_fixed(s->fd, d, s->small, len, SLOT_BASE));
		EXPECT_EQ(0, check_refs(self->check_fd, s->small, len, 1));
		EXPECT_EQ(pin0 + small_kb, vm_kb(0, "VmPin"));
		EXPECT_EQ(lck0 + small_kb, vm_kb(0, "VmLck"));
		ASSERT_EQ(0, copy_fixed(s->fd, e, d, SLOT_BASE, len, SLOT_BASE));
		EXPECT_EQ(0, check_refs(self->check_fd, s->small, len, 1));
		ASSERT_EQ(0, create_access(s->fd, d, &afd));
		ASSERT_EQ(0, access_pages(s->fd, afd, SLOT_BASE, len, s->small, &item));
		EXPECT_EQ(0, check_refs(self->check_fd, s->small, len, 1));
		EXPECT_EQ(pin0 + small_kb, vm_kb(0, "VmPin"));
		ASSERT_EQ(0, map_fixed(s->fd, e, s->small, len, SLOT_BASE + SLOT_STRIDE));
		EXPECT_EQ(0, check_refs(self->check_fd, s->small, len, 2));
		EXPECT_EQ(pin0 + 2 * small_kb, vm_kb(0, "VmPin"));
		EXPECT_EQ(lck0 + 2 * small_kb, vm_kb(0, "VmLck"));
		EXPECT_EQ(0, close(afd));
		EXPECT_EQ(0, check_refs(self->check_fd, s->small, len, 2));
	}
	EXPECT_EQ(0, close(s->fd));
	EXPECT_EQ(pin0, vm_kb(0, "VmPin"));
	EXPECT_EQ(lck0, vm_kb(0, "VmLck"));
	if (self->test_abi)
		EXPECT_EQ(0, check_refs(self->check_fd, s->small, SMALL_PAGES * PAGE_SZ, 0));
	pthread_rwlock_destroy(&s->graph);
}

/*
 * MAP/UNMAP/COPY/UNMAP-all/auto-IOVA maps against IOMMU_DESTROY of the
 * IOASes in use and against a second file being built and closed: no
 * test ABI needed (without domains or accesses nothing is pinned, so the
 * accounting must simply never move).
 */
TEST_F_TIMEOUT(stress, ioas, 300)
{
	run(_metadata, self, false);
}

/* Everything, with mock devices, HWPTs and test accesses. */
TEST_F_TIMEOUT(stress, full, 300)
{
	if (!self->test_abi)
		SKIP(return, "needs test_abi=1");
	run(_metadata, self, true);
}

/*
 * Processes killed in the middle of their ioctls, as the kselftest harness
 * kills a test that runs out of time.  Each child opens its own file,
 * builds an IOAS over a private buffer (with the test ABI also a mock
 * domain and a test access), and loops map, access pin, access read and
 * unmap until the parent SIGKILLs it a few milliseconds in; its files are
 * then closed by the exit path with everything alive.  The parent keeps
 * using a file of its own meanwhile.  Afterwards that file still works,
 * its buffer holds no pin, and VmPin/VmLck are where they were.  (Our
 * module also counts the references its objects hold on a /dev/iommu file
 * and WARNs on an imbalance, which fails the VM run.)
 */
static void __attribute__((noreturn)) killed_child(bool test_abi)
{
	size_t len = 16 * PAGE_SZ;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t ioas, stdev, hwpt, idev, item;
	uint64_t done;
	char tmp[64];
	int fd, afd = -1;

	fd = open(dev_path(), O_RDWR);
	if (buf == MAP_FAILED || fd < 0 || ioas_alloc(fd, &ioas))
		_exit(1);
	memset(buf, 0x5a, len);
	if (test_abi && (mock_domain_dev(fd, ioas, &stdev, &hwpt, &idev) || create_access(fd, ioas, &afd)))
		_exit(2);
	for (;;) {
		if (map_fixed(fd, ioas, buf, len, SLOT_BASE))
			_exit(3);
		if (afd >= 0) {
			access_pages(fd, afd, SLOT_BASE, 4 * PAGE_SZ, buf, &item);
			access_read(fd, afd, SLOT_BASE + 100, tmp, sizeof(tmp));
		}
		if (unmap(fd, ioas, SLOT_BASE, len, &done))
			_exit(4);
	}
}

TEST_F_TIMEOUT(stress, killed, 300)
{
	long rounds = env_long("IOMMUFD_STRESS_KILLS", 40);
	size_t len = 8 * PAGE_SZ;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint32_t ioas, stdev = 0, hwpt, idev;
	long pin0, lck0, i, started = 0;
	uint64_t done;
	int fd;

	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 1, len);
	fd = open(dev_path(), O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas));
	if (self->test_abi)
		ASSERT_EQ(0, mock_domain_dev(fd, ioas, &stdev, &hwpt, &idev));
	pin0 = vm_kb(0, "VmPin");
	lck0 = vm_kb(0, "VmLck");
	srand(env_long("IOMMUFD_STRESS_SEED", (long)time(NULL)));

	for (i = 0; i < rounds; i++) {
		int status;
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (!pid)
			killed_child(self->test_abi);
		/* The parent's own work while the child runs: a map and an unmap. */
		ASSERT_EQ(0, map_fixed(fd, ioas, buf, len, SLOT_BASE));
		usleep(1000 + rand() % 20000);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		/* Killed mid-loop, or it failed before its loop (say which). */
		if (WIFEXITED(status))
			TH_LOG("child %ld exited %d before it was killed", i, WEXITSTATUS(status));
		else
			started++;
		ASSERT_EQ(0, unmap(fd, ioas, SLOT_BASE, len, &done));
		ASSERT_EQ(len, done);
	}
	EXPECT_LT(0, started);
	if (self->test_abi) {
		EXPECT_EQ(0, check_refs(self->check_fd, buf, len, 0));
		ASSERT_EQ(0, destroy(fd, stdev));
	}
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(pin0, vm_kb(0, "VmPin"));
	EXPECT_EQ(lck0, vm_kb(0, "VmLck"));
	munmap(buf, len);
}

TEST_HARNESS_MAIN
