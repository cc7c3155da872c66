// SPDX-License-Identifier: GPL-2.0
//
// helpers.cpp - the user-memory helpers of kunit.hpp, shared by the KUnit
// bodies.  Kernel only: the hosted builds (tests/unit, tests/fuzz) compile
// every module/*/*.cpp, and to them this file is empty.
#ifdef IOMMUFD_CXX_KERNEL

#include "kunit/kunit.hpp"

namespace iommufd::kunit {

namespace {

constexpr uint64_t kHuge = iopt::kHugePageSize;

bool write_tags(uint64_t uptr, uint64_t first, uint64_t npages)
{
	for (uint64_t i = first; i < first + npages; i++) {
		uint64_t t = tag(uptr, i);
		if (kapi_copy_to_user(uptr + i * kPageSize, &t, sizeof(t)))
			return false;
	}
	return true;
}

} // namespace

uint64_t tag(uint64_t uptr, uint64_t index)
{
	// Unique per page and per run, never 0 (what a fresh page holds).
	return (uptr + index * kPageSize) ^ 0x1077fd0000000000ull;
}

uint64_t user_pages(struct kunit *test, uint64_t npages)
{
	uint64_t uptr = kapi_kunit_mmap(test, npages * kPageSize);
	if (!uptr) {
		kapi_kunit_fail(test, __FILE__, __LINE__, "no user memory (%llu pages)",
				(unsigned long long)npages);
		return 0;
	}
	// Written, so that each page is a private page of its own (a read
	// fault would map the shared zero page).
	if (!write_tags(uptr, 0, npages)) {
		kapi_kunit_fail(test, __FILE__, __LINE__, "cannot write the user pages");
		return 0;
	}
	return uptr;
}

uint64_t tag_at_pfn(uint64_t pfn)
{
	uint64_t t = 0;
	kapi_copy_page(pfn, 0, &t, sizeof(t), false);
	return t;
}

uint64_t user_pfn(uint64_t uptr)
{
	uint64_t pfn = 0;
	return kapi_test_user_pfn(uptr, &pfn) ? 0 : pfn;
}

uint64_t user_huge_page(struct kunit *test, uint64_t *pfn)
{
	// Twice the size, so that a 2 MiB-aligned range fits wherever the
	// mapping lands.
	uint64_t map = kapi_kunit_mmap(test, 2 * kHuge);
	if (!map) {
		kapi_kunit_fail(test, __FILE__, __LINE__, "no user memory (4 MiB)");
		return 0;
	}
	uint64_t uptr = (map + kHuge - 1) & ~(kHuge - 1);
	// The first touch decides: a THP if the kernel can, else 4 KiB pages.
	if (!write_tags(uptr, 0, kHuge / kPageSize)) {
		kapi_kunit_fail(test, __FILE__, __LINE__, "cannot write the user pages");
		return 0;
	}
	uint64_t first = user_pfn(uptr);
	kapi_folio f = {};
	if (first)
		kapi_folio_of(first, &f);
	if (!first || f.pfn != first || f.npages != kHuge / kPageSize) {
		kapi_kunit_skip(test, "no 2 MiB THP for the test's memory (THP off or no free 2 MiB block)");
		return 0;
	}
	*pfn = first;
	return uptr;
}

cxx::Status collect_pfns(iopt::Pages &pages, uint64_t first, uint64_t last, uint64_t *pfns,
			 uint64_t *runs)
{
	uint64_t n = 0;
	TRY(pages.for_each_run(first, last, [&](uint64_t index, uint64_t pfn, uint64_t count) {
		for (uint64_t i = 0; i < count; i++)
			pfns[index - first + i] = pfn + i;
		n++;
		return cxx::Status();
	}));
	if (runs)
		*runs = n;
	return {};
}

} // namespace iommufd::kunit

#endif // IOMMUFD_CXX_KERNEL
