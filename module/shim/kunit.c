// SPDX-License-Identifier: GPL-2.0
/*
 * kunit.c - the kernel side of the in-module KUnit bodies (kunit/): failures
 * and skips reported to KUnit with the C++ file and line, user memory for
 * the test thread (kunit_vm_mmap), and the kernel's own view of what
 * pinning did (pin counts of folios, VmPin/VmLck, the user's locked_vm),
 * which the bodies compare with what iopt::Pages says.  Built only with
 * CONFIG_KUNIT.
 */
#include "shim.h"

#include <kunit/assert.h>
#include <kunit/test.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "../kapi.h"

/*
 * kbuild gives an out-of-tree module's __FILE__ as an absolute path; from
 * "module/" on is what a reader needs.
 */
static const char *repo_path(const char *file)
{
	const char *p, *from = file;

	for (p = strstr(file, "/module/"); p; p = strstr(p + 1, "/module/"))
		from = p + 1;
	return from;
}

void kapi_kunit_fail(struct kunit *test, const char *file, int line, const char *fmt, ...)
{
	/* As KUNIT_FAIL(), with the location of the C++ expectation. */
	const struct kunit_loc loc = { .line = line, .file = repo_path(file) };
	const struct kunit_fail_assert assert = {};
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	__kunit_do_failed_assertion(test, &loc, KUNIT_EXPECTATION, &assert.assert,
				    kunit_fail_assert_format, "%pV", &vaf);
	va_end(args);
}

void kapi_kunit_skip(struct kunit *test, const char *reason)
{
	/* Not kunit_skip(): that ends the thread, past the C++ destructors. */
	kunit_mark_skipped(test, "%s", reason);
}

uint64_t kapi_kunit_mmap(struct kunit *test, uint64_t length)
{
	unsigned long addr;

	/* Gives the test thread an mm first if it has none. */
	addr = kunit_vm_mmap(test, NULL, 0, length, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	/* vm_mmap()'s errors come back as addresses: kunit_vm_mmap passes them on. */
	if (!addr || IS_ERR_VALUE(addr))
		return 0;
	return addr;
}

int kapi_kunit_munmap(uint64_t uptr, uint64_t length)
{
	return vm_munmap(uptr, length);
}

unsigned int kapi_kunit_page_pins(uint64_t pfn)
{
	struct folio *folio = page_folio(pfn_to_page(pfn));

	/* As folio_maybe_dma_pinned() reads them, but counted. */
	if (folio_test_large(folio))
		return atomic_read(&folio->_pincount);
	return (unsigned int)folio_ref_count(folio) / GUP_PIN_COUNTING_BIAS;
}

bool kapi_kunit_page_dma_pinned(uint64_t pfn)
{
	return folio_maybe_dma_pinned(page_folio(pfn_to_page(pfn)));
}

void kapi_kunit_read_counts(struct kapi_kunit_counts *out)
{
	struct mm_struct *mm = current->mm;

	out->pinned_vm = mm ? atomic64_read(&mm->pinned_vm) : 0;
	out->mm_locked_vm = mm ? READ_ONCE(mm->locked_vm) : 0;
	out->user_locked_vm = atomic_long_read(&current_user()->locked_vm);
}

int kapi_kunit_drop_cap_ipc_lock(void)
{
	/*
	 * Committed, not overridden: each case runs in a thread of its own
	 * that exits afterwards, so there is nothing to restore.
	 */
	struct cred *new = prepare_creds();

	if (!new)
		return -ENOMEM;
	cap_lower(new->cap_effective, CAP_IPC_LOCK);
	return commit_creds(new);
}

void kapi_kunit_set_memlock_limit(uint64_t bytes)
{
	/* A kthread has a signal_struct of its own: this limit is the test's. */
	struct task_struct *leader = current->group_leader;

	task_lock(leader);
	WRITE_ONCE(leader->signal->rlim[RLIMIT_MEMLOCK].rlim_cur, bytes);
	task_unlock(leader);
}

bool kapi_kunit_is_vmalloc(const void *p)
{
	return is_vmalloc_addr(p);
}
