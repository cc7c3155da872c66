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
int iommufd_cxx_open(void **ctx);
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
	KAPI_LOCK_NR
};

struct kapi_mutex;
struct kapi_mutex *kapi_mutex_create(enum kapi_lock_class cls);
void kapi_mutex_destroy(struct kapi_mutex *m);
void kapi_mutex_lock(struct kapi_mutex *m);
void kapi_mutex_unlock(struct kapi_mutex *m);

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

#ifdef __cplusplus
}
#endif

#endif /* IOMMUFD_CXX_KAPI_H */
