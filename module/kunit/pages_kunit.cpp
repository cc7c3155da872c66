// SPDX-License-Identifier: GPL-2.0
//
// pages_kunit.cpp - KUnit suite iommufd_cxx_pages: iopt::Pages over real
// user memory of the test thread, checked against the kernel's own view:
// the folio pin counts GUP keeps, the PFNs the mm maps (and what those
// pages hold), VmPin, VmLck and the user's locked_vm.  The hosted unit tests
// prove the same logic against a fake kernel; these prove the fake right.
//
// Kernel only: to the hosted builds this file is empty.
#ifdef IOMMUFD_CXX_KERNEL

#include "kunit/kunit.hpp"

#include "iopt/pages.hpp"

using namespace iommufd::kunit;
using iommufd::iopt::AccountMode;
using iommufd::iopt::Pages;

namespace {

constexpr uint64_t P = kPageSize;

// Restores the global pin batch size (the test ABI's knob) on scope exit.
class BatchBytes : cxx::NoCopyNoMove {
public:
	explicit BatchBytes(size_t bytes) : saved_(iommufd::iopt::pin_batch_bytes())
	{
		iommufd::iopt::set_pin_batch_bytes(bytes);
	}
	~BatchBytes() { iommufd::iopt::set_pin_batch_bytes(saved_); }

private:
	size_t saved_;
};

} // namespace

// A pin holds exactly the pages the mm maps, once each, and charges VmPin;
// unpin gives all of it back.
KUNIT_CXX_CASE(pages, pin_holds_the_user_pages)
{
	constexpr uint64_t n = 16;
	uint64_t uptr = user_pages(test, n);
	if (!uptr)
		return;
	auto pages = KT_OK(Pages::create_user(uptr, n * P, true, AccountMode::User));
	// The test thread is a root kthread: CAP_IPC_LOCK, so no RLIMIT
	// accounting, only VmPin (user_mode_* below drop the capability).
	KT_EXPECT(pages->account_mode() == AccountMode::None);
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(user_pfn(uptr + i * P)), 0u);
	const auto before = counts();

	Pinned pin(*pages);
	KT_OK(pin.pin(0, n - 1));
	KT_EXPECT_EQ(pages->npinned(), n);
	KT_EXPECT(pages->validate());
	uint64_t pfns[n] = {};
	KT_OK(collect_pfns(*pages, 0, n - 1, pfns));
	for (uint64_t i = 0; i < n; i++) {
		// FOLL_LONGTERM may have moved a page first: what the mm maps
		// now is what must be held.
		KT_EXPECT_EQ(pfns[i], user_pfn(uptr + i * P));
		KT_EXPECT_EQ(tag_at_pfn(pfns[i]), tag(uptr, i));
		KT_EXPECT_EQ(pins(pfns[i]), 1u);
		KT_EXPECT(kapi_kunit_page_dma_pinned(pfns[i]));
	}
	const auto during = counts();
	KT_EXPECT_EQ(during.pinned_vm, before.pinned_vm + n);
	KT_EXPECT_EQ(during.mm_locked_vm, before.mm_locked_vm);
	KT_EXPECT_EQ(during.user_locked_vm, before.user_locked_vm);

	pin.unpin();
	KT_EXPECT_EQ(pages->npinned(), 0u);
	for (uint64_t i = 0; i < n; i++) {
		KT_EXPECT_EQ(pins(pfns[i]), 0u);
		KT_EXPECT(!kapi_kunit_page_dma_pinned(pfns[i]));
	}
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm);
}

// Two users of overlapping ranges: the kernel sees one pin per page, and
// the first unpin releases only the pages the second does not cover.
KUNIT_CXX_CASE(pages, overlapping_pins_pin_each_page_once)
{
	constexpr uint64_t n = 12;
	uint64_t uptr = user_pages(test, n);
	if (!uptr)
		return;
	auto pages = KT_OK(Pages::create_user(uptr, n * P, true, AccountMode::User));
	const auto before = counts();

	Pinned a(*pages), b(*pages);
	KT_OK(a.pin(0, 7));
	KT_OK(b.pin(4, 11));
	uint64_t pfns[n] = {};
	KT_OK(collect_pfns(*pages, 0, n - 1, pfns));
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(pfns[i]), 1u);
	KT_EXPECT_EQ(pages->npinned(), n);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + n);
	KT_EXPECT(pages->validate());

	a.unpin();
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(pfns[i]), i < 4 ? 0u : 1u);
	KT_EXPECT_EQ(pages->npinned(), 8u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + 8);
	KT_EXPECT(pages->validate());

	b.unpin();
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(pfns[i]), 0u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm);
}

// A range with an unmapped tail: pin() is EFAULT (as pages.hpp documents)
// and leaves nothing pinned or charged, although GUP pinned the mapped head
// before it met the hole; the mapped part still pins afterwards.
KUNIT_CXX_CASE(pages, unmapped_page_is_efault)
{
	constexpr uint64_t n = 8;
	uint64_t uptr = user_pages(test, n);
	if (!uptr)
		return;
	KT_ASSERT_EQ(kapi_kunit_munmap(uptr + 4 * P, 4 * P), 0);
	auto pages = KT_OK(Pages::create_user(uptr, n * P, true, AccountMode::User));
	uint64_t head[4];
	for (uint64_t i = 0; i < 4; i++)
		head[i] = user_pfn(uptr + i * P);
	const auto before = counts();

	Pinned pin(*pages);
	KT_EXPECT_ERR(EFAULT, pin.pin(0, n - 1));
	KT_EXPECT_EQ(pages->npinned(), 0u);
	for (uint64_t i = 0; i < 4; i++)
		KT_EXPECT_EQ(pins(head[i]), 0u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm);
	KT_EXPECT(pages->validate());

	KT_OK(pin.pin(0, 3));
	for (uint64_t i = 0; i < 4; i++)
		KT_EXPECT_EQ(pins(head[i]), 1u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + 4);
	pin.unpin();
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm);
}

// Pins of pages accounted in `mode` move the counter `charged` (and VmPin),
// never `untouched`, against RLIMIT_MEMLOCK: one page over the limit is
// ENOMEM and pins nothing; unpin gives everything back.
static void check_charges(kunit *test, AccountMode mode, uint64_t kapi_kunit_counts::*charged,
			  uint64_t kapi_kunit_counts::*untouched)
{
	constexpr uint64_t n = 8;
	uint64_t uptr = user_pages(test, n);
	if (!uptr)
		return;
	KT_ASSERT_EQ(kapi_kunit_drop_cap_ipc_lock(), 0);
	auto pages = KT_OK(Pages::create_user(uptr, n * P, true, mode));
	KT_ASSERT(pages->account_mode() == mode);
	const auto before = counts();
	kapi_kunit_set_memlock_limit((before.*charged + 4) * P);

	Pinned a(*pages), b(*pages);
	KT_OK(a.pin(0, 3));
	auto c = counts();
	KT_EXPECT_EQ(c.*charged, before.*charged + 4);
	KT_EXPECT_EQ(c.pinned_vm, before.pinned_vm + 4);
	KT_EXPECT_EQ(c.*untouched, before.*untouched);

	KT_EXPECT_ERR(ENOMEM, b.pin(4, 4));
	KT_EXPECT_EQ(pins(user_pfn(uptr + 4 * P)), 0u);
	KT_EXPECT_EQ(pages->npinned(), 4u);
	c = counts();
	KT_EXPECT_EQ(c.*charged, before.*charged + 4);
	KT_EXPECT_EQ(c.pinned_vm, before.pinned_vm + 4);

	a.unpin();
	c = counts();
	KT_EXPECT_EQ(c.*charged, before.*charged);
	KT_EXPECT_EQ(c.pinned_vm, before.pinned_vm);
}

// Without CAP_IPC_LOCK, IOMMU_OPTION_RLIMIT_MODE's default (user): the
// user's locked_vm carries the pins.
KUNIT_CXX_CASE(pages, user_mode_charges_user_locked_vm)
{
	check_charges(test, AccountMode::User, &kapi_kunit_counts::user_locked_vm,
		      &kapi_kunit_counts::mm_locked_vm);
}

// RLIMIT_MODE mm (VFIO type1's way): the mm's VmLck carries the pins,
// through __account_locked_vm and its RLIMIT_MEMLOCK check.
KUNIT_CXX_CASE(pages, mm_mode_charges_mm_locked_vm)
{
	check_charges(test, AccountMode::Mm, &kapi_kunit_counts::mm_locked_vm,
		      &kapi_kunit_counts::user_locked_vm);
}

// Pages::rw, called in the mm the pages belong to, copies through the user
// address (upstream's fast path) to and from the very bytes user space
// sees, across a page boundary, and leaves no pin or charge.  (The path
// through transient pins, for callers in another mm, is covered by the
// hosted tests and the upstream fork tests.)
KUNIT_CXX_CASE(pages, rw_reaches_user_memory)
{
	constexpr uint64_t n = 3;
	uint64_t uptr = user_pages(test, n);
	if (!uptr)
		return;
	// Starts and ends inside a page, as a user's buffer may.
	const uint64_t start = uptr + 100;
	auto pages = KT_OK(Pages::create_user(start, n * P - 200, true, AccountMode::User));
	const auto before = counts();

	uint8_t out[32], back[32];
	for (unsigned int i = 0; i < sizeof(out); i++)
		out[i] = uint8_t(0xa0 + i);
	const uint64_t at = uptr + P - 16; // 16 bytes on each side of the boundary
	KT_OK(pages->rw(at - start, out, sizeof(out), true));
	KT_ASSERT_EQ(kapi_copy_from_user(back, at, sizeof(back)), 0);
	for (unsigned int i = 0; i < sizeof(out); i++)
		KT_EXPECT_EQ(back[i], out[i]);

	const uint8_t msg[12] = { 'f', 'r', 'o', 'm', ' ', 'u', 's', 'e', 'r', 0, 1, 2 };
	const uint64_t at2 = uptr + 2 * P + 8;
	KT_ASSERT_EQ(kapi_copy_to_user(at2, msg, sizeof(msg)), 0);
	uint8_t in[12] = {};
	KT_OK(pages->rw(at2 - start, in, sizeof(in), false));
	for (unsigned int i = 0; i < sizeof(in); i++)
		KT_EXPECT_EQ(in[i], msg[i]);

	KT_EXPECT_EQ(pages->npinned(), 0u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm);
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(user_pfn(uptr + i * P)), 0u);
	KT_EXPECT_ERR(EINVAL, pages->rw(pages->length() - 4, in, 8, false));

	// Read-only pages: reads work (here the tag of page 0), writes are EPERM.
	auto ro = KT_OK(Pages::create_user(uptr, n * P, false, AccountMode::User));
	uint64_t t = 0;
	KT_OK(ro->rw(0, &t, sizeof(t), false));
	KT_EXPECT_EQ(t, tag(uptr, 0));
	KT_EXPECT_ERR(EPERM, ro->rw(0, &t, sizeof(t), true));
}

// A 2 MiB THP is one run however the pins and batches cut it: pinned in
// batches of 7 pages, 200 pages make one run entry; pinning the whole folio
// around that adds pins only for the new pages (the folio's pincount is
// one per page), and the domain-facing walk still sees one run.
KUNIT_CXX_CASE(pages, thp_is_one_run)
{
	constexpr uint64_t n = iommufd::iopt::kHugePageSize / P;
	uint64_t pfn0 = 0;
	uint64_t uptr = user_huge_page(test, &pfn0);
	if (!uptr)
		return; // skipped (or failed) inside
	auto pages = KT_OK(Pages::create_user(uptr, n * P, true, AccountMode::User));
	BatchBytes batch(7 * sizeof(uint64_t));

	Pinned mid(*pages), all(*pages);
	KT_OK(mid.pin(100, 299));
	KT_EXPECT_EQ(pages->nruns(), 1u);
	KT_EXPECT_EQ(pins(pfn0), 200u);

	KT_OK(all.pin(0, n - 1));
	KT_EXPECT_EQ(pins(pfn0), uint32_t(n));
	KT_EXPECT_EQ(pages->npinned(), n);
	KT_EXPECT_EQ(pages->nspans(), 3u); // split where `mid` starts and ends
	KT_EXPECT(pages->validate());
	uint64_t runs = 0, first_index = ~0ull, first_pfn = 0, count = 0;
	KT_OK(pages->for_each_run(0, n - 1, [&](uint64_t index, uint64_t pfn, uint64_t c) {
		if (!runs++) {
			first_index = index;
			first_pfn = pfn;
			count = c;
		}
		return cxx::Status();
	}));
	KT_EXPECT_EQ(runs, 1u);
	KT_EXPECT_EQ(first_index, 0u);
	KT_EXPECT_EQ(first_pfn, pfn0);
	KT_EXPECT_EQ(count, n);
	KT_EXPECT_EQ(tag_at_pfn(pfn0 + 311), tag(uptr, 311));

	all.unpin();
	KT_EXPECT_EQ(pins(pfn0), 200u);
	KT_EXPECT_EQ(pages->nspans(), 1u);
	mid.unpin();
	KT_EXPECT_EQ(pins(pfn0), 0u);
	KT_EXPECT(!kapi_kunit_page_dma_pinned(pfn0));
}

#endif // IOMMUFD_CXX_KERNEL
