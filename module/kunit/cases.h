/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cases.h - the one list of the in-module KUnit cases, as X-macros, read by
 * both sides: kunit/suites.c (C) expands it into the kunit_case tables, and
 * the C++ bodies next to it get their extern "C" declarations from it.
 * A case listed here without a body fails the link (modpost: undefined); a
 * body not listed here fails the C++ build (-Wmissing-declarations).
 *
 * X(suite, name) names the body iommufd_cxx_kunit_<suite>_<name>(struct kunit
 * *) and the KUnit case <name> of the suite iommufd_cxx_<suite>.
 *
 * Only built into kernels with CONFIG_KUNIT (see Kbuild), and only run when
 * the module is loaded with kunit=1 (suites.c says why).
 */
#ifndef IOMMUFD_CXX_KUNIT_CASES_H
#define IOMMUFD_CXX_KUNIT_CASES_H

/* iopt::Pages over real user memory of the test thread (pages_kunit.cpp). */
#define IOMMUFD_CXX_KUNIT_PAGES(X)					\
	X(pages, pin_holds_the_user_pages)				\
	X(pages, overlapping_pins_pin_each_page_once)			\
	X(pages, unmapped_page_is_efault)				\
	X(pages, user_mode_charges_user_locked_vm)			\
	X(pages, mm_mode_charges_mm_locked_vm)				\
	X(pages, rw_reaches_user_memory)				\
	X(pages, thp_is_one_run)

/* io_pagetable with mock domains and accesses on real pages (iopt_kunit.cpp). */
#define IOMMUFD_CXX_KUNIT_IOPT(X)					\
	X(iopt, domain_maps_the_pinned_pfns)				\
	X(iopt, second_domain_shares_the_pin)				\
	X(iopt, add_domain_fault_rolls_back)				\
	X(iopt, copy_shares_the_pin)					\
	X(iopt, access_unpins_on_unmap_notify)				\
	X(iopt, thp_maps_huge_iommu_pages)				\
	X(iopt, cut_and_unmap_range_move_the_real_pins)			\
	X(iopt, cut_refused_under_an_access_pin)

/* The C++ runtime and kernel-service shims (runtime_kunit.cpp). */
#define IOMMUFD_CXX_KUNIT_RUNTIME(X)					\
	X(runtime, alloc_beyond_kmalloc_uses_vmalloc)			\
	X(runtime, over_aligned_new)

struct kunit;

#define IOMMUFD_CXX_KUNIT_DECLARE(suite, name)				\
	void iommufd_cxx_kunit_##suite##_##name(struct kunit *test);

#ifdef __cplusplus
extern "C" {
#endif
IOMMUFD_CXX_KUNIT_PAGES(IOMMUFD_CXX_KUNIT_DECLARE)
IOMMUFD_CXX_KUNIT_IOPT(IOMMUFD_CXX_KUNIT_DECLARE)
IOMMUFD_CXX_KUNIT_RUNTIME(IOMMUFD_CXX_KUNIT_DECLARE)
#ifdef __cplusplus
}
#endif

#endif /* IOMMUFD_CXX_KUNIT_CASES_H */
