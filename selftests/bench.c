// SPDX-License-Identifier: GPL-2.0
/*
 * bench.c - map/unmap throughput of /dev/iommu implementations, side by
 * side in one boot (guest timings under TCG drift by ±20% between runs, so
 * only ratios measured together mean much).
 *
 *   bench [-r REPS] [-n SMALL_OPS] [-s MIB,MIB,...] [-k KIND,...] [-R] [-A]
 *         NAME=TARGET... ['!CMD'...]
 *
 * TARGET is an iommufd device node (IOAS + one mock domain from the test
 * ABI, IOMMU_TEST_OP_MOCK_DOMAIN; the node must serve it) or, prefixed
 * "type1:", a VFIO group node (/dev/vfio/N) for a VFIO container
 * (VFIO_TYPE1v2_IOMMU; "type1v1:" for VFIO_TYPE1_IOMMU) with the group's
 * real IOMMU domain. Whichever backend vfio.ko picks serves that container:
 * vfio_iommu_type1, or iommufd_cxx.ko's VFIO backend when it is loaded (so
 * NAME labels it). The first target is the reference: the ratio columns are
 * every other target over it.
 *
 * For each buffer kind and size (default 64, 256 and 1024 MiB):
 *   4k       anonymous, MADV_NOHUGEPAGE, touched in order (the allocator
 *            tends to hand out physically contiguous runs)
 *   4k-frag  the same, touched even pages first, then odd pages: runs of
 *            one page, the honest 4 KiB case
 *   thp      2 MiB aligned, MADV_HUGEPAGE
 *   hugetlb  MAP_HUGETLB (skipped if the pool is too small)
 * it maps the whole buffer (kernel-chosen IOVA for iommufd, a fixed one for
 * type1) and unmaps it, REPS times (default 5, after one warm-up), targets
 * interleaved rep by rep, and reports the median map, unmap and map+unmap
 * throughput in GB/s (10^9 bytes/s). "runs" is the number of physically
 * contiguous runs in the buffer (from /proc/self/pagemap).
 * Then a single 4 KiB page: SMALL_OPS (default 2000) map+unmap pairs, the
 * median ns of map, unmap and the pair. Every ratio is "higher is faster":
 * throughput over the reference's, or the reference's time over the target's.
 *
 * An argument "!CMD" is a shell command run (system()) at its place among
 * the targets, after the ones before it are open and before the ones after
 * it: "a=type1:/dev/vfio/1 '!insmod x.ko' b=type1:/dev/vfio/2" gets a
 * container from whichever VFIO backend serves before the insmod and one
 * from the backend x.ko registers, both alive together, so their samples
 * interleave rep by rep on the same buffer. A failing command fails the run.
 * -A alternates the target order from rep to rep (first to last, then last
 * to first), so that no target always runs right after another one.
 *
 * -R also prints every sample as a line "raw NAME KIND MIB RUNS MAP_NS UNMAP_NS"
 * (KIND "4k-single", MIB 0: the run's median for one 4 KiB page), for a
 * script to pool the samples of several runs (scripts/vfio-vm.sh).
 *
 * Output: a Markdown table per section, ready for docs/bench.md. Needs
 * root (pagemap PFNs, the device nodes). Exit status 0 if every target
 * worked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "iommufd.h"
#include "iommufd_test.h"

#define MAX_TARGETS 4
#define MAX_REPS 64
#define HUGE_2M (2UL << 20)
#define TYPE1_IOVA (1ULL << 32)

struct target {
	const char *name;
	const char *path;
	bool type1;
	bool type1v1;	/* VFIO_TYPE1_IOMMU instead of VFIO_TYPE1v2_IOMMU */
	int fd;		/* iommufd, or the VFIO container */
	int group;	/* type1: the group */
	uint32_t ioas;
	bool failed;
};

static struct target targets[MAX_TARGETS];
static int ntargets;
static long page_size;
static bool raw, alternate;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- targets ------------------------------------------------------------ */

static int open_iommufd(struct target *t)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd md = { .size = sizeof(md), .op = IOMMU_TEST_OP_MOCK_DOMAIN };

	t->fd = open(t->path, O_RDWR);
	if (t->fd < 0) {
		fprintf(stderr, "%s: open %s: %s\n", t->name, t->path, strerror(errno));
		return -1;
	}
	if (ioctl(t->fd, IOMMU_IOAS_ALLOC, &alloc)) {
		fprintf(stderr, "%s: IOMMU_IOAS_ALLOC: %s\n", t->name, strerror(errno));
		return -1;
	}
	t->ioas = alloc.out_ioas_id;
	md.id = t->ioas;
	if (ioctl(t->fd, IOMMU_TEST_CMD, &md)) {
		fprintf(stderr, "%s: IOMMU_TEST_OP_MOCK_DOMAIN: %s\n", t->name, strerror(errno));
		return -1;
	}
	return 0;
}

static int open_type1(struct target *t)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int container = open("/dev/vfio/vfio", O_RDWR);
	int type = t->type1v1 ? VFIO_TYPE1_IOMMU : VFIO_TYPE1v2_IOMMU;

	t->fd = container;
	if (container < 0) {
		fprintf(stderr, "%s: open /dev/vfio/vfio: %s\n", t->name, strerror(errno));
		return -1;
	}
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    !ioctl(container, VFIO_CHECK_EXTENSION, type)) {
		fprintf(stderr, "%s: no VFIO %s\n", t->name, t->type1v1 ? "type1" : "type1v2");
		return -1;
	}
	t->group = open(t->path, O_RDWR);
	if (t->group < 0) {
		fprintf(stderr, "%s: open %s: %s\n", t->name, t->path, strerror(errno));
		return -1;
	}
	if (ioctl(t->group, VFIO_GROUP_GET_STATUS, &st) ||
	    !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		fprintf(stderr, "%s: group not viable\n", t->name);
		return -1;
	}
	if (ioctl(t->group, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, type)) {
		fprintf(stderr, "%s: attaching the group: %s\n", t->name, strerror(errno));
		return -1;
	}
	return 0;
}

/* Map @len bytes at @p; the IOVA comes back in *iova. 0 or an errno. */
static int t_map(struct target *t, void *p, uint64_t len, uint64_t *iova)
{
	if (t->type1) {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)p,
			.iova = TYPE1_IOVA,
			.size = len,
		};

		*iova = TYPE1_IOVA;
		return ioctl(t->fd, VFIO_IOMMU_MAP_DMA, &m) ? errno : 0;
	} else {
		struct iommu_ioas_map m = {
			.size = sizeof(m),
			.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = t->ioas,
			.user_va = (uintptr_t)p,
			.length = len,
		};
		int ret = ioctl(t->fd, IOMMU_IOAS_MAP, &m) ? errno : 0;

		*iova = m.iova;
		return ret;
	}
}

static int t_unmap(struct target *t, uint64_t iova, uint64_t len)
{
	if (t->type1) {
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u),
			.iova = iova,
			.size = len,
		};

		if (ioctl(t->fd, VFIO_IOMMU_UNMAP_DMA, &u))
			return errno;
		return u.size == len ? 0 : EIO;
	} else {
		struct iommu_ioas_unmap u = {
			.size = sizeof(u),
			.ioas_id = t->ioas,
			.iova = iova,
			.length = len,
		};

		if (ioctl(t->fd, IOMMU_IOAS_UNMAP, &u))
			return errno;
		return u.length == len ? 0 : EIO;
	}
}

/* One timed map + unmap; false (and the target marked failed) on error. */
static bool timed(struct target *t, void *p, uint64_t len, double *tmap, double *tunmap)
{
	uint64_t iova;
	double t0, t1, t2;
	int ret;

	t0 = now();
	ret = t_map(t, p, len, &iova);
	t1 = now();
	if (ret) {
		fprintf(stderr, "%s: map %llu bytes: %s\n", t->name, (unsigned long long)len,
			strerror(ret));
		t->failed = true;
		return false;
	}
	ret = t_unmap(t, iova, len);
	t2 = now();
	if (ret) {
		fprintf(stderr, "%s: unmap %llu bytes: %s\n", t->name, (unsigned long long)len,
			strerror(ret));
		t->failed = true;
		return false;
	}
	*tmap = t1 - t0;
	*tunmap = t2 - t1;
	return true;
}

/* ---- buffers ------------------------------------------------------------ */

/*
 * Kernels without madvise() (a tinyconfig-based test kernel lacks
 * CONFIG_ADVISE_SYSCALLS) cannot ask for or refuse THP per range: there the
 * system-wide THP mode is switched for each buffer instead, and put back at
 * exit.
 */
#define THP_ENABLED "/sys/kernel/mm/transparent_hugepage/enabled"
static bool have_madvise;
static char thp_saved[32];

static void thp_set(const char *mode)
{
	int fd = open(THP_ENABLED, O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, mode, strlen(mode)) < 0)
		fprintf(stderr, "bench: %s: %s\n", THP_ENABLED, strerror(errno));
	close(fd);
}

static void thp_probe(void)
{
	void *p = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	char buf[128] = "", *l, *r;
	int fd;

	have_madvise = p != MAP_FAILED && !madvise(p, page_size, MADV_NOHUGEPAGE);
	if (p != MAP_FAILED)
		munmap(p, page_size);
	if (have_madvise)
		return;
	/* "always [madvise] never": keep the bracketed word. */
	fd = open(THP_ENABLED, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	l = strchr(buf, '[');
	r = l ? strchr(l, ']') : NULL;
	if (l && r && r - l - 1 < (long)sizeof(thp_saved)) {
		memcpy(thp_saved, l + 1, r - l - 1);
		thp_saved[r - l - 1] = 0;
	}
}

static void thp_restore(void)
{
	if (thp_saved[0])
		thp_set(thp_saved);
}

enum kind { K_4K, K_4K_FRAG, K_THP, K_HUGETLB, K_NUM };
static const char *const kind_name[K_NUM] = { "4k", "4k-frag", "thp", "hugetlb" };

struct buffer {
	void *map;	/* what to munmap */
	size_t map_len;
	void *p;	/* the buffer */
};

static bool buffer_alloc(struct buffer *b, enum kind k, size_t len)
{
	size_t pages = len / page_size, i;
	uint8_t *p;

	if (k == K_HUGETLB) {
		b->map_len = len;
		b->map = mmap(NULL, len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
		b->p = b->map;
		return b->map != MAP_FAILED;
	}
	b->map_len = len + HUGE_2M;
	b->map = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	if (b->map == MAP_FAILED)
		return false;
	p = (uint8_t *)(((uintptr_t)b->map + HUGE_2M - 1) & ~(HUGE_2M - 1));
	b->p = p;
	if (have_madvise)
		madvise(p, len, k == K_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	else
		thp_set(k == K_THP ? "always" : "never");
	if (k == K_4K_FRAG) {
		for (i = 0; i < pages; i += 2)
			p[i * page_size] = 1;
		for (i = 1; i < pages; i += 2)
			p[i * page_size] = 1;
	} else {
		for (i = 0; i < pages; i++)
			p[i * page_size] = 1;
	}
	return true;
}

static void buffer_free(struct buffer *b)
{
	munmap(b->map, b->map_len);
}

/* Physically contiguous runs in [p, p + len), or -1 if PFNs are hidden. */
static long count_runs(void *p, size_t len)
{
	size_t pages = len / page_size, i, n;
	uint64_t chunk[4096], prev = 0;
	long runs = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return -1;
	for (i = 0; i < pages; i += n) {
		off_t off = ((uintptr_t)p / page_size + i) * sizeof(uint64_t);

		n = pages - i < 4096 ? pages - i : 4096;
		if (pread(fd, chunk, n * sizeof(uint64_t), off) != (ssize_t)(n * sizeof(uint64_t))) {
			runs = -1;
			break;
		}
		for (size_t j = 0; j < n; j++) {
			uint64_t pfn = chunk[j] & ((1ULL << 55) - 1);

			if (!(chunk[j] >> 63) || !pfn) {
				runs = -1;
				goto out;
			}
			if (i + j == 0 || pfn != prev + 1)
				runs++;
			prev = pfn;
		}
	}
out:
	close(fd);
	return runs;
}

/* ---- sections ----------------------------------------------------------- */

static int reps = 5, small_ops = 2000;

static void print_header_throughput(void)
{
	int i;

	printf("| buffer | MiB | runs |");
	for (i = 0; i < ntargets; i++)
		printf(" %s map | %s unmap | %s map+unmap |", targets[i].name, targets[i].name,
		       targets[i].name);
	for (i = 1; i < ntargets; i++)
		printf(" %s/%s map | unmap | map+unmap |", targets[i].name, targets[0].name);
	printf("\n|---|--:|--:|");
	for (i = 0; i < ntargets; i++)
		printf("--:|--:|--:|");
	for (i = 1; i < ntargets; i++)
		printf("--:|--:|--:|");
	printf("\n");
	fflush(stdout);
}

static void bench_throughput(enum kind k, size_t mib)
{
	double tm[MAX_TARGETS][MAX_REPS], tu[MAX_TARGETS][MAX_REPS], tb[MAX_TARGETS][MAX_REPS];
	double gmap[MAX_TARGETS], gunmap[MAX_TARGETS], gboth[MAX_TARGETS];
	size_t len = mib << 20;
	struct buffer b;
	long runs;
	int r, i;

	if (!buffer_alloc(&b, k, len)) {
		printf("| %s | %zu | - | skipped: cannot allocate (%s) |\n", kind_name[k], mib,
		       strerror(errno));
		fflush(stdout);
		return;
	}
	runs = count_runs(b.p, len);
	/* Warm-up, then the timed reps, targets interleaved. */
	for (r = -1; r < reps; r++) {
		for (int j = 0; j < ntargets; j++) {
			double m, u;

			i = alternate && (r & 1) ? ntargets - 1 - j : j;

			if (targets[i].failed || !timed(&targets[i], b.p, len, &m, &u))
				continue;
			if (r >= 0) {
				tm[i][r] = m;
				tu[i][r] = u;
				tb[i][r] = m + u;
				if (raw)
					printf("raw %s %s %zu %ld %.0f %.0f\n", targets[i].name,
					       kind_name[k], mib, runs, m * 1e9, u * 1e9);
			}
		}
	}
	for (i = 0; i < ntargets; i++) {
		if (targets[i].failed) {
			gmap[i] = gunmap[i] = gboth[i] = 0;
			continue;
		}
		gmap[i] = len / median(tm[i], reps) / 1e9;
		gunmap[i] = len / median(tu[i], reps) / 1e9;
		gboth[i] = len / median(tb[i], reps) / 1e9;
	}
	printf("| %s | %zu | %ld |", kind_name[k], mib, runs);
	for (i = 0; i < ntargets; i++)
		printf(" %.3f | %.3f | %.3f |", gmap[i], gunmap[i], gboth[i]);
	for (i = 1; i < ntargets; i++) {
		if (!gmap[0] || !gmap[i])
			printf(" - | - | - |");
		else
			printf(" %.2f | %.2f | %.2f |", gmap[i] / gmap[0], gunmap[i] / gunmap[0],
			       gboth[i] / gboth[0]);
	}
	printf("\n");
	fflush(stdout);
	buffer_free(&b);
}

static void bench_small(void)
{
	double *tm = calloc(small_ops, sizeof(double)), *tu = calloc(small_ops, sizeof(double));
	double *tb = calloc(small_ops, sizeof(double));
	double res[MAX_TARGETS][3];
	struct buffer b;
	int i, n;

	if (!tm || !tu || !tb || !buffer_alloc(&b, K_4K, page_size))
		return;
	printf("\n| 4 KiB map+unmap, median of %d | map ns | unmap ns | pair ns |", small_ops);
	for (i = 1; i < ntargets; i++)
		printf(" %s/%s pair |", targets[i].name, targets[0].name);
	printf("\n|---|--:|--:|--:|");
	for (i = 1; i < ntargets; i++)
		printf("--:|");
	printf("\n");
	for (i = 0; i < ntargets; i++) {
		struct target *t = &targets[i];

		res[i][0] = res[i][1] = res[i][2] = 0;
		if (t->failed)
			continue;
		for (n = -10; n < small_ops && !t->failed; n++) {
			double m, u;

			if (timed(t, b.p, page_size, &m, &u) && n >= 0) {
				tm[n] = m;
				tu[n] = u;
				tb[n] = m + u;
			}
		}
		if (t->failed)
			continue;
		res[i][0] = median(tm, small_ops) * 1e9;
		res[i][1] = median(tu, small_ops) * 1e9;
		res[i][2] = median(tb, small_ops) * 1e9;
		if (raw)
			printf("raw %s 4k-single 0 1 %.0f %.0f\n", t->name, res[i][0], res[i][1]);
	}
	for (i = 0; i < ntargets; i++) {
		printf("| %s | %.0f | %.0f | %.0f |", targets[i].name, res[i][0], res[i][1],
		       res[i][2]);
		for (n = 1; n < ntargets; n++) {
			if (n == i && res[0][2] && res[i][2])
				printf(" %.2f |", res[0][2] / res[i][2]);
			else
				printf(" |");
		}
		printf("\n");
	}
	fflush(stdout);
	buffer_free(&b);
	free(tm);
	free(tu);
	free(tb);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench [-r REPS] [-n SMALL_OPS] [-s MIB,...] [-k KIND,...] [-R] [-A] "
			"NAME=/dev/iommu... | NAME=type1[v1]:/dev/vfio/N | '!CMD' ...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char sizes_arg[256] = "64,256,1024", kinds_arg[256] = "4k,4k-frag,thp,hugetlb";
	size_t sizes[16];
	int nsizes = 0, opt, i, k, ok = 1;
	bool want[K_NUM] = {};
	char *tok, *save;

	setvbuf(stdout, NULL, _IOLBF, 0);
	page_size = sysconf(_SC_PAGESIZE);
	thp_probe();
	while ((opt = getopt(argc, argv, "r:n:s:k:RA")) != -1) {
		switch (opt) {
		case 'r':
			reps = atoi(optarg);
			break;
		case 'n':
			small_ops = atoi(optarg);
			break;
		case 's':
			snprintf(sizes_arg, sizeof(sizes_arg), "%s", optarg);
			break;
		case 'k':
			snprintf(kinds_arg, sizeof(kinds_arg), "%s", optarg);
			break;
		case 'R':
			raw = true;
			break;
		case 'A':
			alternate = true;
			break;
		default:
			usage();
		}
	}
	for (i = optind, k = 0; i < argc; i++)
		k += argv[i][0] != '!';
	if (reps < 1 || reps > MAX_REPS || small_ops < 1 || !k || k > MAX_TARGETS)
		usage();
	for (tok = strtok_r(sizes_arg, ",", &save); tok && nsizes < 16;
	     tok = strtok_r(NULL, ",", &save))
		sizes[nsizes++] = strtoul(tok, NULL, 10);
	for (tok = strtok_r(kinds_arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (k = 0; k < K_NUM && strcmp(tok, kind_name[k]); k++)
			;
		if (k == K_NUM)
			usage();
		want[k] = true;
	}

	for (i = optind; i < argc; i++) {
		struct target *t;
		char *eq = strchr(argv[i], '=');

		if (argv[i][0] == '!') {
			int rc;

			fflush(stdout);
			rc = system(argv[i] + 1);
			if (rc) {
				fprintf(stderr, "bench: '%s' failed (status %d)\n", argv[i] + 1, rc);
				ok = 0;
			}
			continue;
		}
		t = &targets[ntargets++];
		if (!eq)
			usage();
		*eq = 0;
		t->name = argv[i];
		t->path = eq + 1;
		if (!strncmp(t->path, "type1:", 6)) {
			t->type1 = true;
			t->path += 6;
		} else if (!strncmp(t->path, "type1v1:", 8)) {
			t->type1 = t->type1v1 = true;
			t->path += 8;
		}
		if (t->type1 ? open_type1(t) : open_iommufd(t))
			t->failed = true;
	}

	printf("Targets:");
	for (i = 0; i < ntargets; i++)
		printf(" %s=%s%s%s", targets[i].name,
		       targets[i].type1v1 ? "type1v1:" : targets[i].type1 ? "type1:" : "",
		       targets[i].path, targets[i].failed ? " (FAILED to open)" : "");
	printf("\nMedian of %d reps after one warm-up; GB/s = 10^9 bytes/s; ratios are "
	       "target/%s (higher is faster).\n", reps, targets[0].name);
	if (!have_madvise)
		printf("No madvise(): THP chosen per buffer through %s (was: %s).\n",
		       THP_ENABLED, thp_saved[0] ? thp_saved : "unknown");
	printf("\n");
	print_header_throughput();
	for (k = 0; k < K_NUM; k++) {
		if (!want[k])
			continue;
		for (i = 0; i < nsizes; i++)
			bench_throughput(k, sizes[i]);
	}
	bench_small();
	thp_restore();

	for (i = 0; i < ntargets; i++) {
		if (targets[i].failed) {
			printf("# %s: FAILED (see stderr)\n", targets[i].name);
			ok = 0;
		}
	}
	return ok ? 0 : 1;
}
