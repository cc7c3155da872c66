// SPDX-License-Identifier: GPL-2.0
/*
 * alloc.c - kernel memory for the C++ core (kapi_alloc/kapi_free), with a
 * count of live blocks that tests read and module exit checks.
 */
#include "shim.h"

#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "../kapi.h"

static atomic_long_t live_allocs = ATOMIC_LONG_INIT(0);

void *kapi_alloc(size_t size, unsigned int flags)
{
	gfp_t gfp = (flags & KAPI_ALLOC_ACCOUNT) ? GFP_KERNEL_ACCOUNT : GFP_KERNEL;
	void *p;

	if (flags & KAPI_ALLOC_ZERO)
		gfp |= __GFP_ZERO;
	if (flags & KAPI_ALLOC_NOFAIL)
		gfp |= __GFP_NOFAIL;
	/*
	 * Big arrays (pin batches, test buffers) may fall back to vmalloc;
	 * its page alignment covers every alignment the C++ side asks for.
	 * kvmalloc also keeps __GFP_NOFAIL legal there: it drops the flag for
	 * the kmalloc attempt and honours it in the vmalloc fallback, where a
	 * plain kmalloc of order > 1 with __GFP_NOFAIL would WARN.
	 */
	if (size > PAGE_SIZE)
		p = kvmalloc(size, gfp);
	else
		p = kmalloc(size, gfp);
	if (p)
		atomic_long_inc(&live_allocs);
	return p;
}

void kapi_free(const void *p)
{
	if (!p)
		return;
	atomic_long_dec(&live_allocs);
	kvfree(p);
}

long iommufd_cxx_live_allocs(void)
{
	return atomic_long_read(&live_allocs);
}
