// SPDX-License-Identifier: GPL-2.0
/*
 * suites.c - the KUnit suite table, registration only: the cases of
 * kunit/cases.h (bodies in C++ next to this file) grouped into the suites
 * iommufd_cxx_pages, iommufd_cxx_iopt and iommufd_cxx_runtime.  Built only
 * into kernels with CONFIG_KUNIT.
 *
 * The suites are not put in the .kunit_test_suites section (where KUnit
 * would run them at every load): running a suite taints the kernel
 * (TAINT_TEST), which the VM runs of the other suites on the debug kernel
 * rightly count as a failure, and it costs each of their loads the time of
 * the suites.  glue.c runs them here instead when the module is loaded
 * with kunit=1, printing the same KTAP as KUnit's module loader would.
 */
#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/printk.h>

#include "cases.h"
#include "suites.h"

#define CASE(suite, c)							\
	{								\
		.run_case = iommufd_cxx_kunit_##suite##_##c,		\
		.name = #c,						\
		.module_name = KBUILD_MODNAME,				\
	},

static struct kunit_case pages_cases[] = { IOMMUFD_CXX_KUNIT_PAGES(CASE) {} };
static struct kunit_case iopt_cases[] = { IOMMUFD_CXX_KUNIT_IOPT(CASE) {} };
static struct kunit_case runtime_cases[] = { IOMMUFD_CXX_KUNIT_RUNTIME(CASE) {} };

static struct kunit_suite pages_suite = {
	.name = "iommufd_cxx_pages",
	.test_cases = pages_cases,
};
static struct kunit_suite iopt_suite = {
	.name = "iommufd_cxx_iopt",
	.test_cases = iopt_cases,
};
static struct kunit_suite runtime_suite = {
	.name = "iommufd_cxx_runtime",
	.test_cases = runtime_cases,
};

static struct kunit_suite *suites[] = { &pages_suite, &iopt_suite, &runtime_suite };
static bool ran;

void iommufd_cxx_kunit_run(void)
{
	/* The header kunit_exec_run_tests() prints (not exported). */
	pr_info("KTAP version 1\n");
	pr_info("1..%zu\n", ARRAY_SIZE(suites));
	__kunit_test_suites_init(suites, ARRAY_SIZE(suites));
	ran = true;
}

void iommufd_cxx_kunit_exit(void)
{
	/* Their debugfs files (kunit/<suite>/results, run) point into us. */
	if (ran)
		__kunit_test_suites_exit(suites, ARRAY_SIZE(suites));
}
