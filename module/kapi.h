/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kapi.h - the one C ABI between the C++ core and the kernel.
 *
 * Two directions cross this line and both are declared here, so that the C
 * side (glue.c and the shims in shim/) and the C++ side compile against the
 * same text:
 *
 *   kernel -> C++ : iommufd_cxx_* entry points that glue.c calls from its
 *                   file_operations and module init/exit;
 *   C++ -> kernel : kapi_* services (allocation, user copy, locks, logging)
 *                   implemented by small C shims in the module, and by a
 *                   hosted fake (tests/unit/fake_kapi.cpp) on the host.
 *
 * Rules: plain C types only, no kernel structs (they stay opaque handles),
 * user pointers travel as uint64_t addresses, errors are negative errnos.
 * C++ never includes a kernel header; this file is what it sees instead.
 */
#ifndef IOMMUFD_CXX_KAPI_H
#define IOMMUFD_CXX_KAPI_H

#if defined(__KERNEL__) && !defined(__cplusplus)
#include <linux/types.h>
#else
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- kernel -> C++ ------------------------------------------------------ */

/* Module lifetime: called from glue.c's init/exit. */
int iommufd_cxx_init(void);
void iommufd_cxx_exit(void);

/*
 * One context per open file of /dev/iommu.  open returns a handle that glue.c
 * keeps in file->private_data; release destroys every object the context
 * still holds.  ioctl returns 0 or a negative errno (-ENOIOCTLCMD for an
 * unknown command, which the kernel turns into ENOTTY).
 */
int iommufd_cxx_open(void **ctx, void *file);
void iommufd_cxx_release(void *ctx);
long iommufd_cxx_ioctl(void *ctx, unsigned int cmd, unsigned long arg);

/* Counters for tests: objects alive in any context, C++ heap blocks alive. */
long iommufd_cxx_live_objects(void);
long iommufd_cxx_live_allocs(void);

/* ---- C++ -> kernel: memory ---------------------------------------------- */

enum kapi_alloc_flags {
	KAPI_ALLOC_ZERO = 1u << 0,	/* zero the memory */
	KAPI_ALLOC_ACCOUNT = 1u << 1,	/* charge it to the caller's memcg */
	KAPI_ALLOC_NOFAIL = 1u << 2,	/* never fail (throwing operator new) */
};

/*
 * Returns memory aligned to at least KAPI_MIN_ALIGN, or to `size` rounded
 * up to a power of two when the caller asked for more (kmalloc guarantees
 * natural alignment for power-of-two sizes).  NULL on failure.
 */
#define KAPI_MIN_ALIGN 8
void *kapi_alloc(size_t size, unsigned int flags);
void kapi_free(const void *p);

/* ---- C++ -> kernel: user memory ----------------------------------------- */

/* 0, or -EFAULT.  `uptr` is a user virtual address. */
int kapi_copy_from_user(void *dst, uint64_t uptr, size_t len);
int kapi_copy_to_user(uint64_t uptr, const void *src, size_t len);
/* 1 if all `len` bytes at uptr are zero, 0 if not, -EFAULT. */
int kapi_check_zeroed_user(uint64_t uptr, size_t len);

/* ---- C++ -> kernel: locks ------------------------------------------------ */

/*
 * Every lock site names its own class, so lockdep sees one class per site
 * (a single shared init function would merge them all into one).  The shim
 * owns one static lock_class_key per entry.
 */
enum kapi_lock_class {
	KAPI_LOCK_OBJECTS,	/* context: the object table */
	KAPI_LOCK_IOPT,		/* io_pagetable: one IOAS's IOVA space */
	KAPI_LOCK_PAGES,	/* iopt::Pages: one pinned user range */
	KAPI_LOCK_ACCESS,	/* Access: which IOAS, and its pin items */
	KAPI_LOCK_DEVICE,	/* Device: its attachment */
	KAPI_LOCK_FAULT,	/* Fault: the queue of page requests */
	KAPI_LOCK_DOMAIN,	/* a mock domain's page table */
	KAPI_LOCK_IOAS,		/* Ioas: its list of automatic HWPTs */
	KAPI_LOCK_VFIO,		/* context: its VFIO IOAS vs no-IOMMU mode */
	KAPI_LOCK_VFIO_BACKEND,	/* a vfio.ko container: its groups and domains */
	KAPI_LOCK_SMMU,		/* the software SMMUv3: its caches and ID spaces */
	KAPI_LOCK_VIOMMU,	/* a vIOMMU: its vDEVICE table and vEVENTQs */
	KAPI_LOCK_VEVENTQ,	/* a vEVENTQ: its queued events */
	KAPI_LOCK_NR
};

struct kapi_mutex;
struct kapi_mutex *kapi_mutex_create(enum kapi_lock_class cls);
void kapi_mutex_destroy(struct kapi_mutex *m);
void kapi_mutex_lock(struct kapi_mutex *m);
void kapi_mutex_unlock(struct kapi_mutex *m);

/* ---- C++ -> kernel: files and fds (shim/file.c) ------------------------- */

/* Take or drop a reference on a struct file (the /dev/iommu file). */
void kapi_file_get(void *file);
void kapi_file_put(void *file);

/*
 * Objects that user space reaches through an fd of their own: a test
 * access (IOMMU_TEST_OP_CREATE_ACCESS) and a fault queue
 * (IOMMU_FAULT_QUEUE_ALLOC).  Each kind has its own file_operations in the
 * shim; the file's private data is the C++ object.
 */
enum kapi_fd_kind {
	KAPI_FD_ACCESS,
	KAPI_FD_FAULT,
	KAPI_FD_VEVENTQ,
};

struct kapi_fd;
/*
 * Make the file and reserve an fd number (O_CLOEXEC), not yet visible:
 * returns the fd number, or -errno.  Then exactly one of install (the fd
 * becomes live; the file's release later calls iommufd_cxx_fd_release) or
 * abort (the file is dropped; release is NOT called, the caller still owns
 * `priv`).
 */
int kapi_fd_reserve(enum kapi_fd_kind kind, void *priv, struct kapi_fd **out);
void kapi_fd_install(struct kapi_fd *fd);
void kapi_fd_abort(struct kapi_fd *fd);
/*
 * Look up fd number `fd` of `kind` in the calling process and hold it:
 * returns its private data (and *ref, to pass to kapi_fd_put), or NULL if
 * there is no such fd or it is of another kind (EBADF).
 */
void *kapi_fd_get(int fd, enum kapi_fd_kind kind, void **ref);
void kapi_fd_put(void *ref);

/* kernel -> C++: the file of an installed fd was released. */
void iommufd_cxx_fd_release(enum kapi_fd_kind kind, void *priv);
/* kernel -> C++: read/write/poll of a fault queue fd (bytes or -errno). */
long iommufd_cxx_fault_read(void *priv, uint64_t ubuf, size_t count);
long iommufd_cxx_fault_write(void *priv, uint64_t ubuf, size_t count);
bool iommufd_cxx_fault_readable(void *priv);

/* A wait queue (for poll on a fault queue fd). */
struct kapi_waitq;
struct kapi_waitq *kapi_waitq_create(void);
void kapi_waitq_destroy(struct kapi_waitq *q);
void kapi_waitq_wake(struct kapi_waitq *q);
/* kernel -> C++: the wait queue of a fault queue fd's object. */
struct kapi_waitq *iommufd_cxx_fault_waitq(void *priv);
/* kernel -> C++: read/poll of a vEVENTQ fd (bytes or -errno; never blocks). */
long iommufd_cxx_veventq_read(void *priv, uint64_t ubuf, size_t count);
bool iommufd_cxx_veventq_readable(void *priv);
struct kapi_waitq *iommufd_cxx_veventq_waitq(void *priv);

/* ---- C++ -> kernel: the test ABI (uapi/iommufd_test.h) ----------------- */

/* Was the module loaded with test_abi=1? */
bool kapi_test_abi_enabled(void);
/*
 * How many times the page at user address `uptr` is pinned (its refcount
 * over GUP_PIN_COUNTING_BIAS): 0 with *pins set, 1 for a compound page
 * (shared counts: not checked), or a negative errno.
 */
int kapi_test_page_pins(uint64_t uptr, unsigned int *pins);

/* ---- C++ -> kernel: logging ---------------------------------------------- */

enum kapi_log_level {
	KAPI_LOG_ERR = 3,
	KAPI_LOG_WARN = 4,
	KAPI_LOG_INFO = 6,
	KAPI_LOG_DEBUG = 7,
};

/*
 * printf-style, prefixed with the module name.  The ratelimited variant is
 * for anything a user can trigger (bad ioctl input), so that no caller can
 * flood the kernel log.
 */
void kapi_log(enum kapi_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kapi_log_ratelimited(enum kapi_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A pure virtual function was called: WARN with a backtrace. */
void kapi_warn_pure_virtual(void);
/* CXX_ASSERT failed: WARN with a backtrace (the caller then traps). */
void kapi_assert_failed(const char *expr, const char *file, int line);

/* ==== the VFIO container personality (vfio_compat/vfio_glue.c) =========== */

/* Was the module loaded with enable_unsafe_noiommu_mode=1? */
bool kapi_vfio_noiommu_enabled(void);
/* capable(CAP_SYS_RAWIO) of the caller. */
bool kapi_capable_sys_rawio(void);
/* A container entered no-IOMMU mode: warn and taint the kernel as VFIO does. */
void kapi_vfio_noiommu_taint(void);

/* kernel -> C++: this module's own /dev/vfio/vfio node (a context with mm
 * accounting, as VFIO charges). */
int iommufd_cxx_open_vfio_node(void **out, void *file);

/*
 * kernel -> C++: the IOMMU backend registered with vfio.ko
 * (vfio_compat/backend.cpp).  vfio.ko serialises attach/detach/release of a
 * container against its ioctls.
 */
struct kapi_iommu_group;
int iommufd_cxx_vfio_open(bool type1v2, void **out);
void iommufd_cxx_vfio_release(void *container);
long iommufd_cxx_vfio_ioctl(void *container, unsigned int cmd, unsigned long arg);
long iommufd_cxx_vfio_check_extension(unsigned long ext);
int iommufd_cxx_vfio_attach_group(void *container, struct kapi_iommu_group *group);
void iommufd_cxx_vfio_detach_group(void *container, struct kapi_iommu_group *group);
/* Containers open now (the vfio_containers parameter). */
long iommufd_cxx_vfio_containers(void);
/* Was the module loaded with allow_unsafe_interrupts=1? */
bool kapi_vfio_allow_unsafe_interrupts(void);

/* ==== C++ -> kernel: the kernel's IOMMU API (shim/iommu.c) ============== */

/* An iommu_domain of the kernel's IOMMU driver; may sleep. */
struct kapi_iommu_domain;
/*
 * A paging domain for the devices of `group`, from the IOMMU driver of its
 * first device.  NULL with *err set (-ENODEV: no device or no IOMMU).
 */
struct kapi_iommu_domain *kapi_iommu_domain_alloc(struct kapi_iommu_group *group, int *err);
void kapi_iommu_domain_free(struct kapi_iommu_domain *d);
/* The domain's page sizes and translatable IOVA window (inclusive). */
void kapi_iommu_domain_info(struct kapi_iommu_domain *d, uint64_t *pgsize_bitmap,
			    uint64_t *aperture_start, uint64_t *aperture_last);
/* iommu_attach_group / iommu_detach_group. */
int kapi_iommu_attach_group(struct kapi_iommu_domain *d, struct kapi_iommu_group *group);
void kapi_iommu_detach_group(struct kapi_iommu_domain *d, struct kapi_iommu_group *group);
/*
 * iommu_map with IOMMU_READ/IOMMU_WRITE from prot bits 1/2, plus IOMMU_CACHE
 * when `cache`; all or nothing.  iommu_unmap of a range made by earlier maps.
 */
int kapi_iommu_map(struct kapi_iommu_domain *d, uint64_t iova, uint64_t paddr, uint64_t len,
		   uint32_t prot, bool cache);
void kapi_iommu_unmap(struct kapi_iommu_domain *d, uint64_t iova, uint64_t len);
/* MSI isolation (interrupt remapping) for every device of the group. */
bool kapi_iommu_group_isolated_msi(struct kapi_iommu_group *group);
/* Does every device of the group have IOMMU_CAP_CACHE_COHERENCY? */
bool kapi_iommu_group_cache_coherent(struct kapi_iommu_group *group);
int kapi_iommu_group_id(struct kapi_iommu_group *group);

enum kapi_resv_type {
	KAPI_RESV_DIRECT,	     /* must stay identity mapped (RMRR): reserved */
	KAPI_RESV_DIRECT_RELAXABLE, /* may be dropped once assigned: ignored */
	KAPI_RESV_RESERVED,	     /* never usable */
	KAPI_RESV_MSI,		     /* hardware MSI window */
	KAPI_RESV_SW_MSI,	     /* software-mapped MSI window (needs a cookie) */
};
/*
 * Call visit(ctx, start, last, type) for each reserved region of the group's
 * devices; stops at and returns the first non-zero result.  -ENOMEM.
 */
int kapi_iommu_group_resv_regions(struct kapi_iommu_group *group,
				  int (*visit)(void *ctx, uint64_t start, uint64_t last,
					       enum kapi_resv_type type),
				  void *ctx);
/* iommu_get_msi_cookie: the domain maps MSI doorbells at `base`. */
int kapi_iommu_get_msi_cookie(struct kapi_iommu_domain *d, uint64_t base);

/* ==== C++ -> kernel: fault injection (shim/fault.c) ====================== */

/*
 * True when the debugfs fault attribute fail_iommufd_cxx (or the calling
 * task's fail-nth counter) says this site should fail.  Asked only where
 * failslab/fail_page_alloc cannot reach: before pinning user pages or file
 * folios, and in the mock domain's map.  Always false on kernels without
 * CONFIG_FAULT_INJECTION.  kapi_fault_init/exit create and remove the
 * debugfs directory (module load/unload).
 */
bool kapi_should_fail(void);
void kapi_fault_init(void);
void kapi_fault_exit(void);

/* ==== C++ -> kernel: pinning (iopt::Pages; shim/pages.c) ================ */

/* Everything in this section may sleep. */

/*
 * The process memory is pinned for: its mm (mmgrab'd: the struct stays,
 * its address space may go away), its thread-group leader (whose
 * RLIMIT_MEMLOCK applies) and its user_struct (whose locked_vm is charged).
 * kapi_pin_owner_current() takes all three of the calling process, or
 * returns NULL when out of memory.
 */
struct kapi_pin_owner;
struct kapi_pin_owner *kapi_pin_owner_current(void);
void kapi_pin_owner_put(struct kapi_pin_owner *o);
/* Does the caller run in o's mm (so o's user addresses are its own)? */
bool kapi_pin_owner_is_current(const struct kapi_pin_owner *o);

/* capable(CAP_IPC_LOCK) and capable(CAP_SYS_RESOURCE) of the caller. */
bool kapi_capable_ipc_lock(void);
bool kapi_capable_sys_resource(void);

/*
 * How pinned pages are charged.  Every mode adds them to the owner mm's
 * pinned_vm (VmPin); USER also to the user_struct's locked_vm, checked
 * against the owner task's RLIMIT_MEMLOCK (io_uring's way); MM also to
 * the mm's locked_vm through __account_locked_vm (VFIO type1's way).
 */
enum kapi_pin_account {
	KAPI_PIN_ACCOUNT_NONE,
	KAPI_PIN_ACCOUNT_USER,
	KAPI_PIN_ACCOUNT_MM,
};
/* 0, -ENOMEM over the limit, -EFAULT if MM mode finds the mm gone. */
int kapi_pin_charge(struct kapi_pin_owner *o, enum kapi_pin_account mode,
		    uint64_t npages);
/* Never fails; the exact inverse of a successful charge. */
void kapi_pin_uncharge(struct kapi_pin_owner *o, enum kapi_pin_account mode,
		       uint64_t npages);

/*
 * Pin npages (1..KAPI_PIN_BATCH_MAX) user pages from uptr in the owner's
 * address space, FOLL_LONGTERM (and FOLL_WRITE if write), and store their
 * PFNs in pfns[].  Returns how many were pinned (> 0, possibly fewer than
 * asked) or a negative errno; -EFAULT when the owner's mm has no users.
 * Each pinned page holds one pin, released by kapi_unpin_user_pages.
 */
#define KAPI_PIN_BATCH_MAX 512
long kapi_pin_user_pages(struct kapi_pin_owner *o, uint64_t uptr,
			 unsigned int npages, bool write, uint64_t *pfns);
/* Drop one pin from each of npages physically contiguous pages at pfn. */
void kapi_unpin_user_pages(uint64_t pfn, uint64_t npages, bool dirty);

/*
 * A shmem or hugetlbfs file (a memfd) held by reference.  get: -EBADF for
 * no such fd, -EINVAL for another kind of file, -EPERM for write on a
 * file not open for writing.  size: its current size in bytes.
 */
struct kapi_pin_file;
int kapi_pin_file_get(int fd, bool write, struct kapi_pin_file **out);
void kapi_pin_file_put(struct kapi_pin_file *f);
uint64_t kapi_pin_file_size(struct kapi_pin_file *f);

/* A folio: the PFN of its first page and how many pages it has. */
struct kapi_folio {
	uint64_t pfn;
	uint64_t npages;
};
/*
 * memfd_pin_folios() over the bytes [start, last] of the file: pins each
 * folio of the range once (allocating absent ones), up to max (1..
 * KAPI_PIN_BATCH_MAX) folios.  *first_page is the page offset of `start`
 * within folios[0].  Returns the number of folios or a negative errno.
 */
long kapi_pin_file_folios(struct kapi_pin_file *f, uint64_t start, uint64_t last,
			  struct kapi_folio *folios, unsigned int max,
			  uint64_t *first_page);
/* The folio holding pfn (which the caller keeps pinned). */
void kapi_folio_of(uint64_t pfn, struct kapi_folio *out);
/*
 * Drop one pin from each folio that meets the npages contiguous pages at
 * pfn, except the folio of the first page if skip_first and that of the
 * last page if skip_last (still held for pages outside the range).
 */
void kapi_unpin_folios(uint64_t pfn, uint64_t npages, bool dirty,
		       bool skip_first, bool skip_last);

/*
 * Copy len bytes between buf and the page at pfn, from byte offset
 * (offset + len <= PAGE_SIZE).  to_page copies buf into the page and marks
 * it dirty.  The caller holds a pin on the page.
 */
void kapi_copy_page(uint64_t pfn, size_t offset, void *buf, size_t len,
		    bool to_page);

/* Test ABI: the PFN now backing user address uptr of the caller, or -errno. */
int kapi_test_user_pfn(uint64_t uptr, uint64_t *pfn);

/* ==== end of pinning ===================================================== */

/* ==== KUnit (kunit/, shim/kunit.c; only with CONFIG_KUNIT) ================ */

/*
 * For the in-module KUnit bodies (C++).  `test` is KUnit's struct kunit,
 * opaque here.  Everything acts on the calling test thread, whose user mm
 * is the one kunit_vm_mmap() gives it.
 */
struct kunit;
/* Record a failed expectation at file:line; the body goes on (or returns). */
void kapi_kunit_fail(struct kunit *test, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Mark the case skipped with a reason; the body then returns. */
void kapi_kunit_skip(struct kunit *test, const char *reason);
/* Anonymous private read-write memory of the test's mm; 0 on failure. */
uint64_t kapi_kunit_mmap(struct kunit *test, uint64_t length);
/* Unmap part of it again (a hole to fault on); 0 or -errno. */
int kapi_kunit_munmap(uint64_t uptr, uint64_t length);
/*
 * The pins on the folio of pfn: its pincount for a large folio (one per
 * pinned page), else the page's refcount over GUP_PIN_COUNTING_BIAS.
 */
unsigned int kapi_kunit_page_pins(uint64_t pfn);
/* folio_maybe_dma_pinned() of pfn's folio. */
bool kapi_kunit_page_dma_pinned(uint64_t pfn);
/* The accounting counters that pinning moves, in pages. */
struct kapi_kunit_counts {
	uint64_t pinned_vm;	 /* current->mm->pinned_vm (VmPin) */
	uint64_t mm_locked_vm;	 /* current->mm->locked_vm (VmLck) */
	uint64_t user_locked_vm; /* current_user()->locked_vm */
};
void kapi_kunit_read_counts(struct kapi_kunit_counts *out);
/* Drop CAP_IPC_LOCK from the test thread for good (0 or -ENOMEM). */
int kapi_kunit_drop_cap_ipc_lock(void);
/* Set the test thread's RLIMIT_MEMLOCK soft limit, in bytes. */
void kapi_kunit_set_memlock_limit(uint64_t bytes);
/* Is p vmalloc memory (kvmalloc's fallback)? */
bool kapi_kunit_is_vmalloc(const void *p);

/* ==== end of KUnit ======================================================= */

#ifdef __cplusplus
}
#endif

#endif /* IOMMUFD_CXX_KAPI_H */
