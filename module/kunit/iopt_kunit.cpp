// SPDX-License-Identifier: GPL-2.0
//
// iopt_kunit.cpp - KUnit suite iommufd_cxx_iopt: an io_pagetable with mock
// domains and an access, over real pages of the test thread.  What the
// domains hold is compared with the PFNs the mm maps, and the kernel's pin
// counts and VmPin say when pages are pinned: on the first domain, once
// however many domains, IOAS copies and accesses use them, and never after
// the last user is gone; cut (VFIO type1 v1) splits a pinned area's pins
// exactly.  Under lockdep (the debug kernel) the access case
// also validates the lock order of io_pagetable.hpp in the real kernel:
// access -> io_pagetable -> pages -> domain, with the mm's locks inside.
//
// Kernel only: to the hosted builds this file is empty.
#ifdef IOMMUFD_CXX_KERNEL

#include "kunit/kunit.hpp"

#include "cxxrt/lock.hpp"
#include "domain/mock_domain.hpp"
#include "iopt/io_pagetable.hpp"
#include "iopt/pages.hpp"

using namespace iommufd::kunit;
using iommufd::MockDomain;
using iommufd::iopt::AccountMode;
using iommufd::iopt::IoPagetable;
using iommufd::iopt::IovaMode;
using iommufd::iopt::Pages;

namespace {

constexpr uint64_t P = kPageSize;
constexpr uint64_t MiB = 1ull << 20;
constexpr uint32_t kRW = iommufd::iopt::kRead | iommufd::iopt::kWrite;
// Inside the mock aperture, 2 MiB aligned.
constexpr uint64_t kIova = iommufd::kMockApertureStart + 64 * MiB;

// An io_pagetable and up to two mock domains, torn down in the order the
// IOAS and HWPT code does it whichever way a case returns: unmap
// everything, detach the domains, free them, then the io_pagetable.
class Iopt : cxx::NoCopyNoMove {
public:
	Iopt() = default;
	~Iopt()
	{
		(void)iopt.unmap_all();
		for (int i = 0; i < 2; i++)
			remove_domain(i);
	}
	cxx::Status init() { return iopt.init(); }
	cxx::Status add_domain(int i, uint32_t dev_flags = 0)
	{
		if (!dom[i])
			dom[i] = TRY(MockDomain::create(dev_flags, false));
		TRY(iopt.add_domain(dom[i].get()));
		attached[i] = true;
		return {};
	}
	void remove_domain(int i)
	{
		if (attached[i])
			iopt.remove_domain(dom[i].get());
		attached[i] = false;
	}
	// Map all of `pages` (user memory from uptr) at a fixed IOVA.
	cxx::Status map(const cxx::RefPtr<Pages> &pages, uint64_t uptr, uint64_t iova)
	{
		return iopt.map_pages(pages, 0, pages->length(), uptr, kRW, IovaMode::Fixed, &iova);
	}

	IoPagetable iopt;
	cxx::UniquePtr<MockDomain> dom[2];
	bool attached[2] = {};
};

// Does domain d translate the page at iova (and a byte inside its second
// 2 KiB half) to the page at pfn?
bool maps(MockDomain &d, uint64_t iova, uint64_t pfn)
{
	const uint64_t offsets[] = { 0, 2048 + 5 };
	for (uint64_t off : offsets) {
		auto pa = d.lookup(iova + off);
		if (!pa.ok() || pa.value() != pfn * P + off)
			return false;
	}
	return true;
}

// An in-kernel user of the IOAS, as Access is for the test ABI: pins under
// its own lock and lets go when told, with at most four pins at a time.
class TestAccess final : public iommufd::iopt::AccessUser {
public:
	explicit TestAccess(IoPagetable &iopt) : iopt_(iopt) { iova_alignment = P; }
	~TestAccess()
	{
		if (lock_.valid()) {
			cxx::Guard g(lock_);
			while (nitems_)
				unpin_locked(--nitems_);
		}
		if (attached_)
			iopt_.detach_access(this);
	}
	cxx::Status init()
	{
		lock_ = TRY(cxx::Mutex::create(KAPI_LOCK_ACCESS));
		TRY(iopt_.attach_access(this));
		attached_ = true;
		return {};
	}
	// Pin [iova, iova + length): the PFN of each page into pfns[0..cap).
	cxx::Status pin(uint64_t iova, uint64_t length, uint64_t *pfns, size_t cap)
	{
		cxx::Guard g(lock_);
		if (nitems_ == kMaxItems)
			return cxx::Err(ENOSPC);
		size_t n = 0;
		TRY(iopt_.access_pin(iova, length, true, [&](uint64_t pfn) -> cxx::Status {
			if (n == cap)
				return cxx::Err(EINVAL);
			pfns[n++] = pfn;
			return {};
		}));
		items_[nitems_++] = Item{ iova, length };
		return {};
	}

	void unmap_notify(uint64_t iova, uint64_t length) override
	{
		cxx::Guard g(lock_);
		notified++;
		uint64_t last = iova + (length - 1);
		for (size_t i = 0; i < nitems_;) {
			Item &it = items_[i];
			if (it.iova > last || it.iova + (it.length - 1) < iova) {
				i++;
				continue;
			}
			unpin_locked(i);
			it = items_[--nitems_];
		}
	}
	void hold() override { holds++; }
	void release() override { holds--; }

	size_t items() const { return nitems_; }
	int notified = 0;
	int holds = 0;

private:
	struct Item {
		uint64_t iova, length;
	};
	void unpin_locked(size_t i) { iopt_.access_unpin(items_[i].iova, items_[i].length); }

	static constexpr size_t kMaxItems = 4;
	IoPagetable &iopt_;
	cxx::Mutex lock_;
	Item items_[kMaxItems] = {};
	size_t nitems_ = 0;
	bool attached_ = false;
};

} // namespace

// Mapped without a domain, nothing is pinned (upstream's order); the first
// domain pins and maps each page to the PFN the mm has for it; unmap gives
// the domain, the pins and VmPin back.
KUNIT_CXX_CASE(iopt, domain_maps_the_pinned_pfns)
{
	constexpr uint64_t n = 16;
	uint64_t uptr = user_pages(test, n);
	if (!uptr)
		return;
	auto pages = KT_OK(Pages::create_user(uptr, n * P, true, AccountMode::User));
	Iopt f;
	KT_OK(f.init());
	const auto before = counts();

	KT_OK(f.map(pages, uptr, kIova));
	KT_EXPECT_EQ(pages->npinned(), 0u);
	KT_EXPECT_EQ(pins(user_pfn(uptr)), 0u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm);

	KT_OK(f.add_domain(0));
	KT_EXPECT_EQ(pages->npinned(), n);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + n);
	KT_EXPECT_EQ(f.dom[0]->mapped_pages(), n * 2); // 2 KiB IO pages
	uint64_t pfns[n];
	for (uint64_t i = 0; i < n; i++) {
		pfns[i] = user_pfn(uptr + i * P);
		KT_EXPECT_EQ(pins(pfns[i]), 1u);
		KT_EXPECT(maps(*f.dom[0], kIova + i * P, pfns[i]));
		KT_EXPECT_EQ(tag_at_pfn(pfns[i]), tag(uptr, i));
	}

	KT_EXPECT_EQ(KT_OK(f.iopt.unmap(kIova, n * P)), n * P);
	KT_EXPECT_EQ(f.dom[0]->mapped_pages(), 0u);
	KT_EXPECT_EQ(pages->npinned(), 0u);
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(pfns[i]), 0u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm);
	KT_EXPECT(f.iopt.validate());
}

// A second domain maps the same pages without pinning them again; the
// pages stay pinned until the last domain goes, and a domain attached
// again afterwards pins and maps them anew.
KUNIT_CXX_CASE(iopt, second_domain_shares_the_pin)
{
	constexpr uint64_t n = 8;
	uint64_t uptr = user_pages(test, n);
	if (!uptr)
		return;
	auto pages = KT_OK(Pages::create_user(uptr, n * P, true, AccountMode::User));
	Iopt f;
	KT_OK(f.init());
	const auto before = counts();
	KT_OK(f.map(pages, uptr, kIova));
	KT_OK(f.add_domain(0));
	KT_OK(f.add_domain(1));

	uint64_t pfns[n];
	for (uint64_t i = 0; i < n; i++) {
		pfns[i] = user_pfn(uptr + i * P);
		KT_EXPECT_EQ(pins(pfns[i]), 1u);
		KT_EXPECT(maps(*f.dom[0], kIova + i * P, pfns[i]));
		KT_EXPECT(maps(*f.dom[1], kIova + i * P, pfns[i]));
	}
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + n);

	f.remove_domain(0);
	KT_EXPECT_EQ(f.dom[0]->mapped_pages(), 0u);
	for (uint64_t i = 0; i < n; i++) {
		KT_EXPECT_EQ(pins(pfns[i]), 1u);
		KT_EXPECT(maps(*f.dom[1], kIova + i * P, pfns[i]));
	}
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + n);

	f.remove_domain(1);
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(pfns[i]), 0u);
	KT_EXPECT_EQ(pages->npinned(), 0u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm);

	KT_OK(f.add_domain(0));
	for (uint64_t i = 0; i < n; i++) {
		KT_EXPECT_EQ(pins(pfns[i]), 1u);
		KT_EXPECT(maps(*f.dom[0], kIova + i * P, user_pfn(uptr + i * P)));
	}
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + n);
}

// Attaching a domain to an IOAS whose second area has lost its memory:
// EFAULT, and everything the attach did to the first area (pinned,
// mapped) and to the IOAS (reserved the outside of the aperture, raised
// the alignment) is undone.  After that area is unmapped, it attaches.
KUNIT_CXX_CASE(iopt, add_domain_fault_rolls_back)
{
	constexpr uint64_t n = 8;
	uint64_t uptr = user_pages(test, n);
	if (!uptr)
		return;
	auto a = KT_OK(Pages::create_user(uptr, 4 * P, true, AccountMode::User));
	auto b = KT_OK(Pages::create_user(uptr + 4 * P, 4 * P, true, AccountMode::User));
	Iopt f;
	KT_OK(f.init());
	KT_OK(f.map(a, uptr, kIova));
	KT_OK(f.map(b, uptr + 4 * P, kIova + MiB));
	// Mapping pinned nothing, so the hole only shows when a domain comes.
	KT_ASSERT_EQ(kapi_kunit_munmap(uptr + 6 * P, 2 * P), 0);
	uint64_t pfns[6];
	for (uint64_t i = 0; i < 6; i++)
		pfns[i] = user_pfn(uptr + i * P);
	const size_t reserved = f.iopt.reserved_count();
	const uint64_t align = f.iopt.iova_alignment();
	const auto before = counts();

	KT_EXPECT_ERR(EFAULT, f.add_domain(0));
	KT_EXPECT_EQ(f.iopt.domain_count(), 0u);
	KT_EXPECT_EQ(f.dom[0]->mapped_pages(), 0u);
	KT_EXPECT_EQ(f.iopt.reserved_count(), reserved);
	KT_EXPECT_EQ(f.iopt.iova_alignment(), align);
	KT_EXPECT_EQ(a->npinned(), 0u);
	KT_EXPECT_EQ(b->npinned(), 0u);
	for (uint64_t i = 0; i < 6; i++)
		KT_EXPECT_EQ(pins(pfns[i]), 0u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm);
	KT_EXPECT(f.iopt.validate());

	KT_EXPECT_EQ(KT_OK(f.iopt.unmap(kIova + MiB, 4 * P)), 4 * P);
	KT_OK(f.add_domain(0));
	KT_EXPECT(maps(*f.dom[0], kIova, pfns[0]));
	KT_EXPECT_EQ(pins(pfns[0]), 1u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + 4);
}

// IOAS_COPY: the destination IOAS maps the same Pages, so its domain gets
// the same PFNs without a second pin, and the pages stay pinned until the
// last of the two IOASes unmaps them.
KUNIT_CXX_CASE(iopt, copy_shares_the_pin)
{
	constexpr uint64_t n = 4;
	uint64_t uptr = user_pages(test, n);
	if (!uptr)
		return;
	auto pages = KT_OK(Pages::create_user(uptr, n * P, true, AccountMode::User));
	Iopt src, dst;
	KT_OK(src.init());
	KT_OK(dst.init());
	KT_OK(src.add_domain(0));
	KT_OK(dst.add_domain(0));
	const auto before = counts();
	KT_OK(src.map(pages, uptr, kIova));

	uint64_t dst_iova = kIova + 4 * MiB;
	{
		iommufd::iopt::SliceList slices;
		KT_OK(src.iopt.get_slices(kIova, n * P, slices));
		KT_EXPECT_EQ(slices.size(), 1u);
		KT_OK(dst.iopt.map_slices(slices, n * P, kRW, IovaMode::Fixed, &dst_iova));
	}
	uint64_t pfns[n];
	for (uint64_t i = 0; i < n; i++) {
		pfns[i] = user_pfn(uptr + i * P);
		KT_EXPECT_EQ(pins(pfns[i]), 1u);
		KT_EXPECT(maps(*dst.dom[0], dst_iova + i * P, pfns[i]));
	}
	KT_EXPECT_EQ(pages->npinned(), n);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + n);

	KT_EXPECT_EQ(KT_OK(src.iopt.unmap(kIova, n * P)), n * P);
	for (uint64_t i = 0; i < n; i++) {
		KT_EXPECT_EQ(pins(pfns[i]), 1u);
		KT_EXPECT(maps(*dst.dom[0], dst_iova + i * P, pfns[i]));
	}
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + n);

	KT_EXPECT_EQ(KT_OK(dst.iopt.unmap(dst_iova, n * P)), n * P);
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(pfns[i]), 0u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm);
}

// An access pins a slice and gets the mm's PFNs; a domain then pins the
// rest without pinning that slice twice; unmapping the area tells the
// access (with the io_pagetable lock dropped), which unpins under its own
// lock, and the area goes with every pin.
KUNIT_CXX_CASE(iopt, access_unpins_on_unmap_notify)
{
	constexpr uint64_t n = 8;
	uint64_t uptr = user_pages(test, n);
	if (!uptr)
		return;
	auto pages = KT_OK(Pages::create_user(uptr, n * P, true, AccountMode::User));
	Iopt f;
	KT_OK(f.init());
	KT_OK(f.map(pages, uptr, kIova));
	TestAccess access(f.iopt);
	KT_OK(access.init());
	const auto before = counts();

	uint64_t got[2] = {};
	KT_OK(access.pin(kIova + 2 * P, 2 * P, got, 2));
	uint64_t pfns[n];
	for (uint64_t i = 0; i < n; i++)
		pfns[i] = user_pfn(uptr + i * P);
	KT_EXPECT_EQ(got[0], pfns[2]);
	KT_EXPECT_EQ(got[1], pfns[3]);
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(pfns[i]), (i == 2 || i == 3) ? 1u : 0u);
	KT_EXPECT_EQ(pages->npinned(), 2u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + 2);

	KT_OK(f.add_domain(0));
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(pfns[i]), 1u);
	KT_EXPECT_EQ(pages->npinned(), n);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + n);

	KT_EXPECT_EQ(KT_OK(f.iopt.unmap(kIova, n * P)), n * P);
	KT_EXPECT_EQ(access.notified, 1);
	KT_EXPECT_EQ(access.items(), 0u);
	KT_EXPECT_EQ(access.holds, 0);
	KT_EXPECT_EQ(f.iopt.area_count(), 0u);
	KT_EXPECT_EQ(f.dom[0]->mapped_pages(), 0u);
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(pfns[i]), 0u);
	KT_EXPECT_EQ(pages->npinned(), 0u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm);
}

// A THP mapped into a domain with 1 MiB IO pages is mapped with them (one
// map call per contiguous run lets the domain choose); a domain with only
// 2 KiB pages maps the same memory with those.
KUNIT_CXX_CASE(iopt, thp_maps_huge_iommu_pages)
{
	constexpr uint64_t len = iommufd::iopt::kHugePageSize;
	uint64_t pfn0 = 0;
	uint64_t uptr = user_huge_page(test, &pfn0);
	if (!uptr)
		return; // skipped (or failed) inside
	auto pages = KT_OK(Pages::create_user(uptr, len, true, AccountMode::User));
	Iopt f;
	KT_OK(f.init());
	KT_OK(f.map(pages, uptr, kIova));
	KT_OK(f.add_domain(0, iommufd::kMockDevHugeIova));
	KT_OK(f.add_domain(1));

	KT_EXPECT_EQ(pins(pfn0), uint32_t(len / P));
	const uint64_t offsets[] = { 0, MiB, len - 2048 };
	for (uint64_t off : offsets) {
		auto huge = KT_OK(f.dom[0]->entry(kIova + off));
		KT_EXPECT(huge.flags & iommufd::kMockEntryHuge);
		auto small = KT_OK(f.dom[1]->entry(kIova + off));
		KT_EXPECT(!(small.flags & iommufd::kMockEntryHuge));
		KT_EXPECT_EQ(KT_OK(f.dom[0]->lookup(kIova + off + 7)), pfn0 * P + off + 7);
		KT_EXPECT_EQ(KT_OK(f.dom[1]->lookup(kIova + off + 7)), pfn0 * P + off + 7);
	}
	KT_EXPECT_EQ(f.dom[0]->mapped_pages(), len / 2048);

	KT_EXPECT_EQ(KT_OK(f.iopt.unmap(kIova, len)), len);
	KT_EXPECT_EQ(pins(pfn0), 0u);
}

// VFIO TYPE1 (v1) unmaps, with large IOPTEs off: a pinned area cut at CPU
// page boundaries keeps every page pinned once and mapped; unmap_range
// then takes exactly the pages of the areas it covers (the kernel's pin
// counts and VmPin follow page by page), stops with ENOENT at an area
// crossing its end after the whole areas before it, and is success with 0
// bytes where nothing is mapped.
KUNIT_CXX_CASE(iopt, cut_and_unmap_range_move_the_real_pins)
{
	constexpr uint64_t n = 8;
	uint64_t uptr = user_pages(test, n);
	if (!uptr)
		return;
	auto pages = KT_OK(Pages::create_user(uptr, n * P, true, AccountMode::User));
	Iopt f;
	KT_OK(f.init());
	KT_OK(f.iopt.set_large_pages(false));
	KT_OK(f.add_domain(0));
	const auto before = counts();
	KT_OK(f.map(pages, uptr, kIova));
	uint64_t pfns[n];
	for (uint64_t i = 0; i < n; i++)
		pfns[i] = user_pfn(uptr + i * P);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + n);

	// [0, 3) [3] [4, 8)
	KT_OK(f.iopt.cut(kIova + 3 * P - 1));
	KT_OK(f.iopt.cut(kIova + 4 * P - 1));
	KT_EXPECT_EQ(f.iopt.area_count(), 3u);
	KT_EXPECT(pages->validate());
	KT_EXPECT_EQ(pages->npinned(), n);
	for (uint64_t i = 0; i < n; i++) {
		KT_EXPECT_EQ(pins(pfns[i]), 1u);
		KT_EXPECT(maps(*f.dom[0], kIova + i * P, pfns[i]));
	}
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + n);

	uint64_t unmapped = 0;
	KT_OK(f.iopt.unmap_range(kIova + 3 * P, P, &unmapped));
	KT_EXPECT_EQ(unmapped, P);
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(pfns[i]), i == 3 ? 0u : 1u);
	KT_EXPECT(!f.dom[0]->lookup(kIova + 3 * P).ok());
	KT_EXPECT(maps(*f.dom[0], kIova + 4 * P, pfns[4]));
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm + n - 1);
	KT_EXPECT(pages->validate());

	// [0, 6) holds [0, 3) whole and crosses into [4, 8).
	KT_EXPECT_ERR(ENOENT, f.iopt.unmap_range(kIova, 6 * P, &unmapped));
	KT_EXPECT_EQ(unmapped, 3 * P);
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(pfns[i]), i < 4 ? 0u : 1u);
	KT_OK(f.iopt.unmap_range(kIova, 4 * P, &unmapped));
	KT_EXPECT_EQ(unmapped, 0u);
	KT_OK(f.iopt.unmap_range(kIova, n * P, &unmapped));
	KT_EXPECT_EQ(unmapped, 4 * P);
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(pfns[i]), 0u);
	KT_EXPECT_EQ(pages->npinned(), 0u);
	KT_EXPECT_EQ(f.dom[0]->mapped_pages(), 0u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm);
	KT_EXPECT(f.iopt.validate());
}

// An access with a page pinned in an area: the area refuses to be cut
// (EINVAL) and nothing changes; unmapping it whole still works, the
// access being told to let go first.
KUNIT_CXX_CASE(iopt, cut_refused_under_an_access_pin)
{
	constexpr uint64_t n = 8;
	uint64_t uptr = user_pages(test, n);
	if (!uptr)
		return;
	auto pages = KT_OK(Pages::create_user(uptr, n * P, true, AccountMode::User));
	Iopt f;
	KT_OK(f.init());
	KT_OK(f.iopt.set_large_pages(false));
	KT_OK(f.add_domain(0));
	KT_OK(f.map(pages, uptr, kIova));
	TestAccess access(f.iopt);
	KT_OK(access.init());
	const auto before = counts();
	uint64_t got = 0;
	KT_OK(access.pin(kIova + P, P, &got, 1));
	KT_EXPECT_EQ(got, user_pfn(uptr + P));

	KT_EXPECT_ERR(EINVAL, f.iopt.cut(kIova + 4 * P - 1));
	KT_EXPECT_ERR(EINVAL, f.iopt.cut(kIova + P - 1));
	KT_EXPECT_EQ(f.iopt.area_count(), 1u);
	KT_EXPECT(pages->validate());
	for (uint64_t i = 0; i < n; i++)
		KT_EXPECT_EQ(pins(user_pfn(uptr + i * P)), 1u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm);

	uint64_t unmapped = 0;
	KT_OK(f.iopt.unmap_range(kIova, n * P, &unmapped));
	KT_EXPECT_EQ(unmapped, n * P);
	KT_EXPECT_EQ(access.notified, 1);
	KT_EXPECT_EQ(access.items(), 0u);
	KT_EXPECT_EQ(pages->npinned(), 0u);
	KT_EXPECT_EQ(counts().pinned_vm, before.pinned_vm - n);
}

#endif // IOMMUFD_CXX_KERNEL
