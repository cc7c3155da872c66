// SPDX-License-Identifier: GPL-2.0
/*
 * fault.c - the module's own fault injection point, "fail_iommufd_cxx".
 *
 * failslab and fail_page_alloc already reach every allocation the module
 * makes.  A few failures are out of their reach: pinning user pages or
 * memfd folios (GUP fails for reasons no allocation explains) and the mock
 * domain's map.  Those sites ask kapi_should_fail(), which, like upstream
 * iommufd's fail_iommufd, honours the per-task fail-nth counter
 * (/proc/self/task/<tid>/fail-nth, used by the iommufd_fail_nth selftest)
 * and the usual debugfs attributes under /sys/kernel/debug/fail_iommufd_cxx.
 * Kernels without CONFIG_FAULT_INJECTION (Debian's) compile it to "never".
 */
#include "shim.h"

#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fault-inject.h>

#include "../kapi.h"

#if IS_ENABLED(CONFIG_FAULT_INJECTION)
static DECLARE_FAULT_ATTR(fail_iommufd_cxx);

bool kapi_should_fail(void)
{
	return should_fail(&fail_iommufd_cxx, 1);
}
#else
bool kapi_should_fail(void)
{
	return false;
}
#endif

#if IS_ENABLED(CONFIG_FAULT_INJECTION_DEBUG_FS)
static struct dentry *fail_dir;

void kapi_fault_init(void)
{
	/* Without the debugfs knobs fail-nth still works: not an error. */
	fail_dir = fault_create_debugfs_attr("fail_iommufd_cxx", NULL, &fail_iommufd_cxx);
	if (IS_ERR(fail_dir))
		fail_dir = NULL;
}

void kapi_fault_exit(void)
{
	debugfs_remove_recursive(fail_dir);
	fail_dir = NULL;
}
#else
void kapi_fault_init(void) {}
void kapi_fault_exit(void) {}
#endif
