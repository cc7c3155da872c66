// SPDX-License-Identifier: GPL-2.0
//
// kunit.hpp - what the in-module KUnit bodies share: how a case is defined,
// the expectation macros, and helpers over real user memory of the test
// thread.  Kernel only (CONFIG_KUNIT): the hosted unit tests cover the same
// code against fakes; these cases are about what only the real kernel can
// say (GUP, folio pin counts, VmPin/VmLck, lockdep, KASAN).
//
// KT_EXPECT* record a failure and go on; KT_ASSERT* and KT_OK also return
// from the body.  None of them uses KUnit's own ASSERT or kunit_skip(): those
// end the test thread on the spot, and the C++ destructors that unpin pages,
// detach domains and free memory would never run.  So every resource a body
// holds must be owned by a local whose destructor undoes it (the fixtures in
// the bodies), and a body ends only by returning.
#pragma once

#include "kapi.h"
#include "kunit/cases.h"

#include "cxxrt/result.hpp"
#include "iopt/page.hpp"
#include "iopt/pages.hpp"

// The body of case `name` of suite iommufd_cxx_<suite> (listed in cases.h).
#define KUNIT_CXX_CASE(suite, name) void iommufd_cxx_kunit_##suite##_##name(struct kunit *test)

// (Variadic, so that template arguments need no extra parentheses.)
#define KT_EXPECT(...)                                                        \
	({                                                                    \
		bool kt_ok_ = (__VA_ARGS__);                                  \
		if (!kt_ok_)                                                  \
			kapi_kunit_fail(test, __FILE__, __LINE__, "expected %s", #__VA_ARGS__); \
		kt_ok_;                                                       \
	})

#define KT_EXPECT_EQ(a, b)                                                    \
	iommufd::kunit::expect_eq(test, __FILE__, __LINE__, #a, #b, (a), (b))

#define KT_ASSERT(...)                                                        \
	do {                                                                  \
		if (!KT_EXPECT(__VA_ARGS__))                                  \
			return;                                               \
	} while (0)

#define KT_ASSERT_EQ(a, b)                                                    \
	do {                                                                  \
		if (!KT_EXPECT_EQ(a, b))                                      \
			return;                                               \
	} while (0)

// Evaluate a Result: its value, or fail the case and return.
#define KT_OK(...)                                                            \
	({                                                                    \
		auto &&kt_r_ = (__VA_ARGS__);                                 \
		if (!kt_r_.ok()) {                                            \
			kapi_kunit_fail(test, __FILE__, __LINE__, "%s failed: errno %d", \
					#__VA_ARGS__, kt_r_.error().code());  \
			return;                                               \
		}                                                             \
		kt_r_.take();                                                 \
	})

// Expect a Result to fail with -err (err a positive errno name).
#define KT_EXPECT_ERR(err, expr)                                              \
	({                                                                    \
		auto &&kt_r_ = (expr);                                        \
		int kt_got_ = kt_r_.ok() ? 0 : kt_r_.error().code();          \
		bool kt_ok_ = kt_got_ == -(err);                              \
		if (!kt_ok_)                                                  \
			kapi_kunit_fail(test, __FILE__, __LINE__,             \
					"expected %s to fail with -%s (%d), got %d", \
					#expr, #err, -(err), kt_got_);        \
		kt_ok_;                                                       \
	})

namespace iommufd::kunit {

using iopt::kPageSize;

template <typename A, typename B>
bool expect_eq(struct kunit *test, const char *file, int line, const char *as, const char *bs,
	       const A &a, const B &b)
{
	// Compared as 64-bit patterns: the values here are counts, PFNs,
	// addresses and errnos, where that is what equality means.
	auto va = static_cast<unsigned long long>(a);
	auto vb = static_cast<unsigned long long>(b);
	if (va == vb)
		return true;
	kapi_kunit_fail(test, file, line, "expected %s == %s, but %s == %lld (0x%llx), %s == %lld (0x%llx)",
			as, bs, as, (long long)va, va, bs, (long long)vb, vb);
	return false;
}

// `npages` pages of fresh anonymous memory in the test thread's mm, each
// written with a tag (tag(uptr, i)) so that a PFN can be proved to be that
// page by reading it back.  0 (and the case failed) if the kernel says no.
uint64_t user_pages(struct kunit *test, uint64_t npages);
uint64_t tag(uint64_t uptr, uint64_t index);
// The tag stored in the page at pfn (read through the kernel mapping).
uint64_t tag_at_pfn(uint64_t pfn);
// The PFN backing the user address now (GUP of the test's mm), or 0.
uint64_t user_pfn(uint64_t uptr);

// THP-backed memory: a 2 MiB-aligned range of a larger mapping that the
// kernel backed with one 2 MiB folio on first touch; 0, with the case
// marked skipped (not failed), when it would not (THP off, or no free
// 2 MiB block).  *pfn is the folio's first PFN.
uint64_t user_huge_page(struct kunit *test, uint64_t *pfn);

inline kapi_kunit_counts counts()
{
	kapi_kunit_counts c;
	kapi_kunit_read_counts(&c);
	return c;
}

inline unsigned int pins(uint64_t pfn) { return kapi_kunit_page_pins(pfn); }

// One pin() of a Pages, undone when it goes out of scope (or by unpin()).
class Pinned : cxx::NoCopyNoMove {
public:
	explicit Pinned(iopt::Pages &pages) : pages_(pages) {}
	~Pinned() { unpin(); }
	cxx::Status pin(uint64_t first, uint64_t last)
	{
		CXX_ASSERT(!held_);
		TRY(pages_.pin(first, last));
		first_ = first;
		last_ = last;
		held_ = true;
		return {};
	}
	void unpin()
	{
		if (held_)
			pages_.unpin(first_, last_);
		held_ = false;
	}

private:
	iopt::Pages &pages_;
	uint64_t first_ = 0, last_ = 0;
	bool held_ = false;
};

// The PFN of each page index in [first, last] (pinned by the caller), from
// Pages::for_each_run, into pfns[0 .. last - first]; *runs counts the runs
// the visitor saw.
cxx::Status collect_pfns(iopt::Pages &pages, uint64_t first, uint64_t last, uint64_t *pfns,
			 uint64_t *runs = nullptr);

} // namespace iommufd::kunit
