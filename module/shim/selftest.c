// SPDX-License-Identifier: GPL-2.0
/*
 * selftest.c - kernel services only the test ABI needs: the module
 * parameter that enables it, and reading a user page's pin count.
 */
#include "shim.h"

#include <linux/mm.h>
#include <linux/moduleparam.h>

#include "../kapi.h"

static bool test_abi;
module_param(test_abi, bool, 0444);
MODULE_PARM_DESC(test_abi,
		 "serve IOMMU_TEST_CMD (uapi/iommufd_test.h) for the kernel's iommufd "
		 "selftests; never on a production machine (default off)");

bool kapi_test_abi_enabled(void)
{
	return test_abi;
}

int kapi_test_page_pins(uint64_t uptr, unsigned int *pins)
{
	struct page *page;
	long n;
	int ret = 0;

	n = get_user_pages_fast(uptr, 1, 0, &page);
	if (n < 0)
		return n;
	if (WARN_ON(n != 1))
		return -EFAULT;
	if (PageCompound(page))
		ret = 1;
	else
		*pins = page_ref_count(page) / GUP_PIN_COUNTING_BIAS;
	put_page(page);
	return ret;
}
