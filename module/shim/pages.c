// SPDX-License-Identifier: GPL-2.0
/*
 * pages.c - the kernel side of iopt::Pages: who owns a pinned range (mm,
 * thread-group leader, user_struct), charging pinned pages against
 * RLIMIT_MEMLOCK and VmPin, pinning user memory with GUP and memfd memory
 * with memfd_pin_folios(), unpinning, and copying to a pinned page.  All
 * policy (what to pin, when, how much to charge) lives in
 * iopt/pages.cpp; this file only turns PFNs and handles back into kernel
 * objects and calls the one kernel function that does each job.
 */
#include "shim.h"

#include <linux/bug.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/user.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>

#include "../kapi.h"

struct kapi_pin_owner {
	struct mm_struct *mm;		/* mmgrab: the struct, not the pages */
	struct task_struct *task;	/* its RLIMIT_MEMLOCK */
	struct user_struct *user;	/* its locked_vm */
};

struct kapi_pin_owner *kapi_pin_owner_current(void)
{
	struct kapi_pin_owner *o;

	/* Only ioctls reach here, and they always run with an mm. */
	if (WARN_ON_ONCE(!current->mm))
		return NULL;
	o = kmalloc(sizeof(*o), GFP_KERNEL_ACCOUNT);
	if (!o)
		return NULL;
	o->mm = current->mm;
	mmgrab(o->mm);
	o->task = current->group_leader;
	get_task_struct(o->task);
	o->user = get_uid(current_user());
	return o;
}

void kapi_pin_owner_put(struct kapi_pin_owner *o)
{
	if (!o)
		return;
	mmdrop(o->mm);
	put_task_struct(o->task);
	free_uid(o->user);
	kfree(o);
}

bool kapi_pin_owner_is_current(const struct kapi_pin_owner *o)
{
	return o->mm == current->mm;
}

bool kapi_capable_ipc_lock(void)
{
	return capable(CAP_IPC_LOCK);
}

bool kapi_capable_sys_resource(void)
{
	return capable(CAP_SYS_RESOURCE);
}

/*
 * The user's locked_vm is shared by every process of that user without a
 * lock, so the limit check and the add must be one atomic step.
 */
static int charge_user(struct kapi_pin_owner *o, unsigned long npages)
{
	unsigned long limit = task_rlimit(o->task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	long cur = atomic_long_read(&o->user->locked_vm);

	do {
		if (npages > limit || (unsigned long)cur > limit - npages)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&o->user->locked_vm, &cur, cur + npages));
	return 0;
}

/*
 * mm->locked_vm is protected by the mmap lock, and an mm whose last user
 * is gone must not be locked; the calling process's own mm needs no extra
 * reference.
 */
static int charge_mm(struct kapi_pin_owner *o, unsigned long npages, bool inc)
{
	bool remote = o->mm != current->mm;
	int ret;

	if (remote && !mmget_not_zero(o->mm))
		return -EFAULT;
	mmap_write_lock(o->mm);
	ret = __account_locked_vm(o->mm, npages, inc, o->task, false);
	mmap_write_unlock(o->mm);
	if (remote)
		mmput(o->mm);
	return ret;
}

int kapi_pin_charge(struct kapi_pin_owner *o, enum kapi_pin_account mode,
		    uint64_t npages)
{
	int ret = 0;

	if (!npages)
		return 0;
	switch (mode) {
	case KAPI_PIN_ACCOUNT_NONE:
		break;
	case KAPI_PIN_ACCOUNT_USER:
		ret = charge_user(o, npages);
		break;
	case KAPI_PIN_ACCOUNT_MM:
		ret = charge_mm(o, npages, true);
		break;
	}
	if (ret)
		return ret;
	atomic64_add(npages, &o->mm->pinned_vm);
	return 0;
}

void kapi_pin_uncharge(struct kapi_pin_owner *o, enum kapi_pin_account mode,
		       uint64_t npages)
{
	if (!npages)
		return;
	switch (mode) {
	case KAPI_PIN_ACCOUNT_NONE:
		break;
	case KAPI_PIN_ACCOUNT_USER:
		WARN_ON_ONCE(atomic_long_read(&o->user->locked_vm) < (long)npages);
		atomic_long_sub(npages, &o->user->locked_vm);
		break;
	case KAPI_PIN_ACCOUNT_MM:
		/* An exited mm's locked_vm is never read again: skip it. */
		charge_mm(o, npages, false);
		break;
	}
	/* mmgrab keeps the struct, so VmPin is exact even after exit. */
	atomic64_sub(npages, &o->mm->pinned_vm);
}

long kapi_pin_user_pages(struct kapi_pin_owner *o, uint64_t uptr,
			 unsigned int npages, bool write, uint64_t *pfns)
{
	/* GUP fills pfns[] as a page array; it is converted in place. */
	struct page **pages = (struct page **)pfns;
	unsigned int flags = FOLL_LONGTERM | (write ? FOLL_WRITE : 0);
	int locked = 1;
	long n, i;

	BUILD_BUG_ON(sizeof(struct page *) != sizeof(*pfns));
	if (WARN_ON_ONCE(!npages || npages > KAPI_PIN_BATCH_MAX))
		return -EINVAL;
	/* A large pin is thousands of batches under the Pages mutex. */
	cond_resched();
	if (o->mm == current->mm) {
		n = pin_user_pages_fast(uptr, npages, flags, pages);
	} else {
		/* A fork child or a process that took the IOAS over. */
		if (!mmget_not_zero(o->mm))
			return -EFAULT;
		mmap_read_lock(o->mm);
		n = pin_user_pages_remote(o->mm, uptr, npages, flags, pages, &locked);
		if (locked)
			mmap_read_unlock(o->mm);
		mmput(o->mm);
	}
	if (n <= 0)
		return n ? n : -EFAULT;
	for (i = 0; i < n; i++)
		pfns[i] = page_to_pfn(pages[i]);
	return n;
}

/* Pages per unpin call between chances to reschedule. */
#define UNPIN_CHUNK 4096

void kapi_unpin_user_pages(uint64_t pfn, uint64_t npages, bool dirty)
{
	/* One run can be a terabyte: unpin it in slices. */
	while (npages) {
		unsigned long n = min_t(uint64_t, npages, UNPIN_CHUNK);

		cond_resched();
		unpin_user_page_range_dirty_lock(pfn_to_page(pfn), n, dirty);
		pfn += n;
		npages -= n;
	}
}

static struct file *to_file(struct kapi_pin_file *f)
{
	return (struct file *)f;
}

int kapi_pin_file_get(int fd, bool write, struct kapi_pin_file **out)
{
	struct file *file = fget(fd);

	if (!file)
		return -EBADF;
	/* The only files memfd_pin_folios() can pin. */
	if (!shmem_file(file) && !is_file_hugepages(file)) {
		fput(file);
		return -EINVAL;
	}
	/* DMA writes must not reach a file the caller may only read. */
	if (write && !(file->f_mode & FMODE_WRITE)) {
		fput(file);
		return -EPERM;
	}
	*out = (struct kapi_pin_file *)file;
	return 0;
}

void kapi_pin_file_put(struct kapi_pin_file *f)
{
	if (f)
		fput(to_file(f));
}

uint64_t kapi_pin_file_size(struct kapi_pin_file *f)
{
	return i_size_read(file_inode(to_file(f)));
}

long kapi_pin_file_folios(struct kapi_pin_file *f, uint64_t start, uint64_t last,
			  struct kapi_folio *folios, unsigned int max,
			  uint64_t *first_page)
{
	/*
	 * memfd_pin_folios() fills the front of folios[] as a pointer array
	 * (half its size); expanding from the back never overwrites a pointer
	 * that is still to be read (entry i covers pointers 2i and 2i+1).
	 */
	struct folio **fp = (struct folio **)folios;
	pgoff_t offset = 0;
	long n, i;

	BUILD_BUG_ON(sizeof(*folios) < 2 * sizeof(*fp));
	if (WARN_ON_ONCE(!max || max > KAPI_PIN_BATCH_MAX))
		return -EINVAL;
	cond_resched();
	if (start > LLONG_MAX || last > LLONG_MAX)
		return -EOVERFLOW;
	n = memfd_pin_folios(to_file(f), start, last, fp, max, &offset);
	if (n <= 0)
		return n ? n : -EFAULT;
	*first_page = offset >> PAGE_SHIFT;
	for (i = n - 1; i >= 0; i--) {
		struct folio *folio = fp[i];

		folios[i].pfn = folio_pfn(folio);
		folios[i].npages = folio_nr_pages(folio);
	}
	return n;
}

void kapi_folio_of(uint64_t pfn, struct kapi_folio *out)
{
	struct folio *folio = page_folio(pfn_to_page(pfn));

	out->pfn = folio_pfn(folio);
	out->npages = folio_nr_pages(folio);
}

void kapi_unpin_folios(uint64_t pfn, uint64_t npages, bool dirty,
		       bool skip_first, bool skip_last)
{
	uint64_t end = pfn + npages;
	uint64_t cur = pfn;
	unsigned int n = 0;

	while (cur < end) {
		struct folio *folio = page_folio(pfn_to_page(cur));
		uint64_t next = folio_pfn(folio) + folio_nr_pages(folio);

		if (!(++n % UNPIN_CHUNK))
			cond_resched();

		if (!(skip_first && cur == pfn) && !(skip_last && next >= end)) {
			/* As unpin_user_page_range_dirty_lock() does for a page. */
			if (dirty && !folio_test_dirty(folio)) {
				folio_lock(folio);
				folio_mark_dirty(folio);
				folio_unlock(folio);
			}
			unpin_folio(folio);
		}
		cur = next;
	}
}

void kapi_copy_page(uint64_t pfn, size_t offset, void *buf, size_t len,
		    bool to_page)
{
	struct page *page = pfn_to_page(pfn);
	char *mem;

	if (WARN_ON_ONCE(offset > PAGE_SIZE || len > PAGE_SIZE - offset))
		return;
	mem = kmap_local_page(page);
	if (to_page)
		memcpy(mem + offset, buf, len);
	else
		memcpy(buf, mem + offset, len);
	kunmap_local(mem);
	if (to_page)
		set_page_dirty_lock(page);
}

int kapi_test_user_pfn(uint64_t uptr, uint64_t *pfn)
{
	struct page *page;
	int n;

	n = get_user_pages_fast(uptr, 1, 0, &page);
	if (n < 0)
		return n;
	if (n != 1)
		return -EFAULT;
	*pfn = page_to_pfn(page);
	put_page(page);
	return 0;
}
