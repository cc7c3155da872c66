// SPDX-License-Identifier: GPL-2.0
//
// map_ioctl_test.cpp - IOMMU_IOAS_MAP, _MAP_FILE, _COPY, _UNMAP,
// IOMMU_OPTION, IOMMU_VFIO_IOAS and IOMMU_IOAS_CHANGE_PROCESS through
// iommufd_cxx_ioctl over the fake kapi: the success paths (IOVA allocation,
// pinning into mock domains, shared pages, accounting) and every errno
// path, in the order upstream's ioas.c / io_pagetable.c (Debian 6.12) check
// them: where two errors apply at once, the test asks for the one upstream
// returns.  MAP_FILE and CHANGE_PROCESS are newer than 6.12; their order is
// the one MAP uses.
//
// Not covered here: a response that cannot be copied back (the fake faults
// reads and writes of a range alike, so a struct that can be read in can
// always be written back).
#include "uapi_fixture.h"

using namespace uapi_test;

namespace {

class MapIoctl : public UapiTest {};

// ---- IOMMU_IOAS_MAP -----------------------------------------------------------

TEST_F(MapIoctl, MapAllocatesIovaAndUnmapReturnsLength)
{
	uint32_t ioas = new_ioas();
	map_contig(kVa, 32);
	uint64_t iova = 0;
	ASSERT_EQ(0, map(ioas, kVa, 16 * P, &iova));
	// 64 KiB from a highly aligned address: 64 KiB aligned, never IOVA 0.
	EXPECT_EQ(0x10000u, iova);
	uint64_t iova2 = 0;
	ASSERT_EQ(0, map(ioas, kVa, 16 * P, &iova2));
	EXPECT_EQ(0x20000u, iova2);
	EXPECT_EQ(2u, area_count(ioas));
	// No domain: nothing is pinned or charged on map.
	EXPECT_EQ(0u, fake_kapi::total_pins());
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));

	uint64_t n = 0;
	ASSERT_EQ(0, unmap(ioas, iova, 16 * P, &n));
	EXPECT_EQ(16 * P, n);
	ASSERT_EQ(0, unmap(ioas, 0, UINT64_MAX, &n));
	EXPECT_EQ(16 * P, n);
	// Unmapping everything from an empty IOAS succeeds with 0 bytes.
	ASSERT_EQ(0, unmap(ioas, 0, UINT64_MAX, &n));
	EXPECT_EQ(0u, n);
	EXPECT_EQ(0u, area_count(ioas));
}

TEST_F(MapIoctl, MapKeepsThePageOffset)
{
	uint32_t ioas = new_ioas();
	uint64_t iova = 0;
	ASSERT_EQ(0, map(ioas, kVa + 100, 2 * P, &iova));
	EXPECT_EQ(100u, iova % P);
	uint64_t n = 0;
	ASSERT_EQ(0, unmap(ioas, iova, 2 * P, &n));
	EXPECT_EQ(2 * P, n);
}

TEST_F(MapIoctl, MapFixed)
{
	uint32_t ioas = new_ioas();
	ASSERT_EQ(0, map_fixed(ioas, kVa, 4 * P, 0x100000));
	EXPECT_EQ(-EEXIST, map_fixed(ioas, kVa, 4 * P, 0x102000));
	EXPECT_EQ(-EEXIST, map_fixed(ioas, kVa, 4 * P, 0x100000 - P));
	EXPECT_EQ(0, map_fixed(ioas, kVa, 4 * P, 0x104000));
	// Reserved IOVA refuses a fixed map (EINVAL, as upstream).
	ASSERT_EQ(0, add_reserved(ioas, 0x200000, P));
	EXPECT_EQ(-EINVAL, map_fixed(ioas, kVa, 4 * P, 0x1ff000));
	// A fixed range that wraps the IOVA space.
	EXPECT_EQ(-EOVERFLOW, map_fixed(ioas, kVa, 4 * P, UINT64_MAX - 2 * P + 1));
	EXPECT_EQ(2u, area_count(ioas));
	// The allocator skips what is mapped.
	uint64_t iova = 0;
	ASSERT_EQ(0, map(ioas, kVa, 4 * P, &iova));
	EXPECT_TRUE(iova + 4 * P <= 0x100000 || iova >= 0x108000) << std::hex << iova;
}

TEST_F(MapIoctl, MapErrnoOrder)
{
	uint32_t ioas = new_ioas();
	uint64_t iova = UINT64_MAX;
	// Unknown flags first, whatever else is wrong.
	EXPECT_EQ(-EOPNOTSUPP, map(999, kVa, UINT64_MAX, &iova, kRW | kFixed | (1u << 3)));
	iommu_ioas_map raw = { .size = sizeof(raw), .flags = kRW, .ioas_id = 999,
			       .__reserved = 1, .user_va = kVa, .length = UINT64_MAX };
	EXPECT_EQ(-EOPNOTSUPP, ioctl(IOMMU_IOAS_MAP, &raw));
	// Then the IOVA and length, before the missing permission and the ID.
	iova = UINT64_MAX;
	EXPECT_EQ(-EOVERFLOW, map(999, kVa, P, &iova, kFixed));
	iova = 0;
	EXPECT_EQ(-EOVERFLOW, map(999, kVa, UINT64_MAX, &iova, kFixed));
	EXPECT_EQ(-EINVAL, map(999, kVa, P, &iova, kFixed));
	EXPECT_EQ(-EINVAL, map(999, kVa, P, &iova, 0));
	EXPECT_EQ(-ENOENT, map(999, kVa, P, &iova));
	EXPECT_EQ(-ENOENT, map(0, kVa, P, &iova));
	// Then the user range.
	EXPECT_EQ(-EINVAL, map(ioas, kVa, 0, &iova));
	EXPECT_EQ(-EOVERFLOW, map(ioas, UINT64_MAX - P + 1, 2 * P, &iova));
	EXPECT_EQ(-EINVAL, map(ioas, kVa, UINT64_MAX - 1, &iova)); // more than SIZE_MAX - PAGE_SIZE
	// An ID of another kind is no IOAS.
	MockDev d = new_mock(ioas);
	EXPECT_EQ(-ENOENT, map(d.hwpt, kVa, P, &iova));
	EXPECT_EQ(-ENOENT, map(d.idev, kVa, P, &iova));
	EXPECT_EQ(0u, area_count(ioas));
	EXPECT_EQ(0, destroy(d.stdev));
}

TEST_F(MapIoctl, MapNoSpace)
{
	uint32_t ioas = new_ioas();
	// 2 pages want 8 KiB alignment: the window [8K, 16K) fits them once.
	iommu_iova_range allowed = { .start = 2 * P, .last = 4 * P - 1 };
	iommu_ioas_allow_iovas a = { .size = sizeof(a), .ioas_id = ioas, .num_iovas = 1,
				     .allowed_iovas = uptr(&allowed) };
	ASSERT_EQ(0, ioctl(IOMMU_IOAS_ALLOW_IOVAS, &a));
	uint64_t iova = 0;
	EXPECT_EQ(-ENOSPC, map(ioas, kVa, 4 * P, &iova));
	ASSERT_EQ(0, map(ioas, kVa, 2 * P, &iova));
	EXPECT_EQ(2 * P, iova);
	EXPECT_EQ(-ENOSPC, map(ioas, kVa, P, &iova));
	// Fixed maps ignore the allowed ranges.
	EXPECT_EQ(0, map_fixed(ioas, kVa, P, 0x100000));
}

TEST_F(MapIoctl, MapIntoMockDomainsPinsOnceAndFills)
{
	uint32_t ioas = new_ioas();
	MockDev d = new_mock(ioas);
	uint64_t pfn = map_contig(kVa, 32);
	uint64_t iova = 0;
	ASSERT_EQ(0, map(ioas, kVa, 32 * P, &iova));
	EXPECT_GE(iova, kAperture); // below the aperture is reserved
	EXPECT_EQ(0, check_map(d.hwpt, iova, 32 * P, kVa));
	EXPECT_EQ(-EINVAL, check_map(d.hwpt, iova, 32 * P, kVa + P));
	EXPECT_EQ(32u, fake_kapi::total_pins());
	EXPECT_EQ(1u, fake_kapi::pfn_pins(pfn));
	EXPECT_EQ(32u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(32u, fake_kapi::mm_pinned_vm(0));

	// A second device on the IOAS shares the automatic HWPT.
	MockDev d2 = new_mock(ioas);
	EXPECT_EQ(d.hwpt, d2.hwpt);
	// A second domain (a user HWPT) maps the same pages, pinned once.
	uint32_t hwpt = 0;
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, 0, &hwpt));
	EXPECT_EQ(0, check_map(hwpt, iova, 32 * P, kVa));
	EXPECT_EQ(32u, fake_kapi::total_pins());

	uint64_t n = 0;
	ASSERT_EQ(0, unmap(ioas, iova, 32 * P, &n));
	EXPECT_EQ(32 * P, n);
	EXPECT_EQ(0u, fake_kapi::total_pins());
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(-EINVAL, check_map(d.hwpt, iova, 2 * P, kVa));
	EXPECT_EQ(0, destroy(hwpt));
	EXPECT_EQ(0, destroy(d2.stdev));
	EXPECT_EQ(0, destroy(d.stdev));
	EXPECT_EQ(1, iommufd_cxx_live_objects());
}

TEST_F(MapIoctl, MapAlignmentUnderADomain)
{
	uint32_t ioas = new_ioas();
	new_mock(ioas); // 2 KiB IO pages: every map must be 2 KiB aligned
	map_contig(kVa, 8);
	EXPECT_EQ(-EINVAL, map_fixed(ioas, kVa, 4 * P, kAperture + 1024));
	EXPECT_EQ(-EINVAL, map_fixed(ioas, kVa, 1000, kAperture));
	uint64_t iova = 0;
	EXPECT_EQ(-EINVAL, map(ioas, kVa + 1024, 2 * P, &iova));
	// Outside the aperture is reserved.
	EXPECT_EQ(-EINVAL, map_fixed(ioas, kVa, 4 * P, kAperture - 4 * P));
	EXPECT_EQ(-EINVAL, map_fixed(ioas, kVa, 4 * P, uint64_t(MOCK_APERTURE_LAST) + 1));
	// Half a CPU page is fine.
	ASSERT_EQ(0, map_fixed(ioas, kVa + 2048, 2048, kAperture + 2048));
	EXPECT_EQ(1u, fake_kapi::total_pins());
}

TEST_F(MapIoctl, MapPinFailureLeavesNothing)
{
	uint32_t ioas = new_ioas();
	new_mock(ioas);
	map_contig(kVa, 8);
	fake_kapi::add_fault_range(kVa + 5 * P, P);
	uint64_t iova = 0;
	EXPECT_EQ(-EFAULT, map(ioas, kVa, 8 * P, &iova));
	EXPECT_EQ(0u, area_count(ioas));
	EXPECT_EQ(0u, fake_kapi::total_pins());
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(0u, fake_kapi::mm_pinned_vm(0));
	fake_kapi::clear_fault_ranges();
	ASSERT_EQ(0, map(ioas, kVa, 8 * P, &iova));
	EXPECT_EQ(8u, fake_kapi::total_pins());
}

TEST_F(MapIoctl, MapOverRlimitIsEnomem)
{
	fake_kapi::set_rlimit_memlock(0, 4 * P);
	uint32_t ioas = new_ioas();
	new_mock(ioas);
	map_contig(kVa, 16);
	uint64_t iova = 0;
	EXPECT_EQ(-ENOMEM, map(ioas, kVa, 8 * P, &iova));
	EXPECT_EQ(0u, area_count(ioas));
	ASSERT_EQ(0, map(ioas, kVa, 4 * P, &iova));
	EXPECT_EQ(-ENOMEM, map(ioas, kVa + 8 * P, P, &iova));
	// Mapping the same memory again makes new Pages, charged again.
	EXPECT_EQ(-ENOMEM, map(ioas, kVa, P, &iova));
	EXPECT_EQ(4u, fake_kapi::user_locked_vm(0));
	// CAP_IPC_LOCK lifts the limit: nothing is charged to locked_vm.
	fake_kapi::set_cap_ipc_lock(true);
	ASSERT_EQ(0, map(ioas, kVa + 8 * P, 8 * P, &iova));
	EXPECT_EQ(4u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(12u, fake_kapi::mm_pinned_vm(0));
}

TEST_F(MapIoctl, DomainAttachPinsEarlierMaps)
{
	uint32_t ioas = new_ioas();
	map_contig(kVa, 8);
	// An area outside the mock aperture keeps a mock device out: the
	// domain must reserve everything outside it (EADDRINUSE).
	uint64_t iova = 0;
	ASSERT_EQ(0, map(ioas, kVa, 8 * P, &iova));
	EXPECT_LT(iova, kAperture);
	MockDev d;
	EXPECT_EQ(-EADDRINUSE, mock_domain(ioas, &d));
	EXPECT_EQ(1, iommufd_cxx_live_objects());
	uint64_t n = 0;
	ASSERT_EQ(0, unmap(ioas, iova, 8 * P, &n));

	iova = kAperture;
	ASSERT_EQ(0, map(ioas, kVa, 8 * P, &iova, kRW | kFixed));
	EXPECT_EQ(0u, fake_kapi::total_pins());
	d = new_mock(ioas);
	EXPECT_EQ(8u, fake_kapi::total_pins());
	EXPECT_EQ(0, check_map(d.hwpt, iova, 8 * P, kVa));
	// The last domain going unpins; the mapping stays.
	EXPECT_EQ(0, destroy(d.stdev));
	EXPECT_FALSE(exists(d.hwpt));
	EXPECT_EQ(0u, fake_kapi::total_pins());
	EXPECT_EQ(1u, area_count(ioas));

	// A domain cannot attach while a mapping's memory is gone: EFAULT,
	// and no device, HWPT or pin is left behind.
	fake_kapi::add_fault_range(kVa + 3 * P, P);
	MockDev d2;
	EXPECT_EQ(-EFAULT, mock_domain(ioas, &d2));
	EXPECT_EQ(1, iommufd_cxx_live_objects());
	EXPECT_EQ(0u, fake_kapi::total_pins());
}

// ---- IOMMU_IOAS_MAP_FILE ------------------------------------------------------------

TEST_F(MapIoctl, MapFilePinsFolios)
{
	uint32_t ioas = new_ioas();
	MockDev d = new_mock(ioas);
	int fd = fake_kapi::memfd_create(64, 1);
	uint64_t iova = 0;
	ASSERT_EQ(0, map_file(ioas, fd, 4 * P, 16 * P, &iova));
	EXPECT_EQ(16u, fake_kapi::total_pins());
	EXPECT_EQ(1, fake_kapi::memfd_refs());
	EXPECT_EQ(16u, fake_kapi::user_locked_vm(0));
	// Give the file's pages a user address, so MD_CHECK_MAP can compare.
	for (uint64_t i = 0; i < 16; i++)
		fake_kapi::map_user(kVa + i * P, 1, fake_kapi::memfd_pfn(fd, 4 + i));
	EXPECT_EQ(0, check_map(d.hwpt, iova, 16 * P, kVa));

	// Read-only on a read-only memfd works; writeable does not.
	int ro = fake_kapi::memfd_create(8, 1, false);
	EXPECT_EQ(-EPERM, map_file(ioas, ro, 0, 8 * P, &iova));
	EXPECT_EQ(0, map_file(ioas, ro, 0, 8 * P, &iova, IOMMU_IOAS_MAP_READABLE));
	EXPECT_EQ(24u, fake_kapi::total_pins());
	EXPECT_EQ(2, fake_kapi::memfd_refs());

	uint64_t n = 0;
	ASSERT_EQ(0, unmap(ioas, 0, UINT64_MAX, &n));
	EXPECT_EQ(24 * P, n);
	EXPECT_EQ(0u, fake_kapi::total_pins());
	EXPECT_EQ(0, fake_kapi::memfd_refs());
}

TEST_F(MapIoctl, MapFileHugeFoliosMakeHugeIoPages)
{
	uint32_t ioas = new_ioas();
	MockDev d = new_mock(ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA);
	int fd = fake_kapi::memfd_create(1024, 512);
	uint64_t iova = kAperture + (2ull << 20);
	ASSERT_EQ(0, map_file(ioas, fd, 0, 4ull << 20, &iova, kRW | kFixed));
	EXPECT_EQ(kAperture + (2ull << 20), iova);
	EXPECT_EQ(2u, fake_kapi::total_pins()); // two 2 MiB folios, one pin each
	EXPECT_EQ(1024u, fake_kapi::user_locked_vm(0)); // charged by the page
	auto *mock = mock_of(d.hwpt);
	ASSERT_NE(nullptr, mock);
	auto e = mock->entry(iova + (2ull << 20));
	ASSERT_TRUE(e.ok());
	EXPECT_TRUE(e.value().flags & iommufd::kMockEntryHuge);
	EXPECT_EQ(fake_kapi::memfd_pfn(fd, 512) * P, e.value().paddr);
}

TEST_F(MapIoctl, MapFileErrnoOrder)
{
	uint32_t ioas = new_ioas();
	int fd = fake_kapi::memfd_create(16, 1);
	uint64_t iova = UINT64_MAX;
	EXPECT_EQ(-EOPNOTSUPP, map_file(999, -1, 0, UINT64_MAX, &iova, kRW | (1u << 3)));
	iova = UINT64_MAX;
	EXPECT_EQ(-EOVERFLOW, map_file(999, -1, 0, P, &iova, kFixed));
	iova = 0;
	EXPECT_EQ(-EOVERFLOW, map_file(999, -1, 0, UINT64_MAX, &iova, kFixed));
	EXPECT_EQ(-EINVAL, map_file(999, -1, 0, P, &iova, kFixed));
	EXPECT_EQ(-ENOENT, map_file(999, -1, 0, P, &iova));
	// Then the range, then the fd.
	EXPECT_EQ(-EINVAL, map_file(ioas, -1, 0, 0, &iova));
	EXPECT_EQ(-EOVERFLOW, map_file(ioas, -1, UINT64_MAX - P + 1, 2 * P, &iova));
	EXPECT_EQ(-EBADF, map_file(ioas, -1, 0, P, &iova));
	EXPECT_EQ(-EBADF, map_file(ioas, 12345, 0, P, &iova));
	EXPECT_EQ(-EINVAL, map_file(ioas, fake_kapi::plain_fd(), 0, P, &iova));
	// Beyond the end of the file.
	EXPECT_EQ(-EINVAL, map_file(ioas, fd, 8 * P, 9 * P, &iova));
	EXPECT_EQ(-EINVAL, map_file(ioas, fd, 16 * P, 1, &iova));
	EXPECT_EQ(0, map_file(ioas, fd, 8 * P, 8 * P, &iova));
	EXPECT_EQ(1u, area_count(ioas));
	EXPECT_EQ(0u, fake_kapi::total_pins()); // no domain
}

// ---- IOMMU_IOAS_COPY ------------------------------------------------------------------

TEST_F(MapIoctl, CopySharesThePagesAcrossIoas)
{
	uint32_t a = new_ioas(), b = new_ioas();
	MockDev da = new_mock(a), db = new_mock(b);
	map_contig(kVa, 16);
	uint64_t ia = 0, ib = 0;
	ASSERT_EQ(0, map(a, kVa, 16 * P, &ia));
	ASSERT_EQ(0, copy(b, a, ia, 16 * P, &ib));
	EXPECT_EQ(0, check_map(db.hwpt, ib, 16 * P, kVa));
	EXPECT_EQ(16u, fake_kapi::total_pins()); // one Pages, pinned once
	EXPECT_EQ(16u, fake_kapi::user_locked_vm(0));

	// Within one IOAS, and a sub-range to a fixed IOVA.
	uint64_t ia2 = 0;
	ASSERT_EQ(0, copy(a, a, ia, 16 * P, &ia2));
	EXPECT_NE(ia, ia2);
	EXPECT_EQ(0, check_map(da.hwpt, ia2, 16 * P, kVa));
	uint64_t fixed = kAperture + (64ull << 20);
	ASSERT_EQ(0, copy(b, a, ia + 4 * P, 4 * P, &fixed, kRW | kFixed));
	EXPECT_EQ(kAperture + (64ull << 20), fixed);
	EXPECT_EQ(0, check_map(db.hwpt, fixed, 4 * P, kVa + 4 * P));

	// The source's unmap leaves the copies in place.
	uint64_t n = 0;
	ASSERT_EQ(0, unmap(a, ia, 16 * P, &n));
	EXPECT_EQ(0, check_map(db.hwpt, ib, 16 * P, kVa));
	EXPECT_EQ(16u, fake_kapi::total_pins());
	ASSERT_EQ(0, unmap(b, 0, UINT64_MAX, &n));
	EXPECT_EQ(20 * P, n);
	ASSERT_EQ(0, unmap(a, 0, UINT64_MAX, &n));
	EXPECT_EQ(0u, fake_kapi::total_pins());
}

TEST_F(MapIoctl, CopyAcrossAreasMakesAnAreaEach)
{
	uint32_t a = new_ioas(), b = new_ioas();
	MockDev db = new_mock(b);
	map_contig(kVa, 4);
	map_contig(kVa + 64 * P, 4);
	const uint64_t x = 0x400000;
	ASSERT_EQ(0, map_fixed(a, kVa, 4 * P, x));
	ASSERT_EQ(0, map_fixed(a, kVa + 64 * P, 4 * P, x + 4 * P));
	uint64_t ib = 0;
	ASSERT_EQ(0, copy(b, a, x + 2 * P, 4 * P, &ib));
	EXPECT_EQ(2u, area_count(b));
	EXPECT_EQ(0, check_map(db.hwpt, ib, 2 * P, kVa + 2 * P));
	EXPECT_EQ(0, check_map(db.hwpt, ib + 2 * P, 2 * P, kVa + 64 * P));
	EXPECT_EQ(4u, fake_kapi::total_pins());
	uint64_t n = 0;
	ASSERT_EQ(0, unmap(b, ib, 4 * P, &n));
	EXPECT_EQ(4 * P, n);
	// A source with a hole is ENOENT.
	ASSERT_EQ(0, unmap(a, x, 4 * P, &n));
	EXPECT_EQ(-ENOENT, copy(b, a, x + 2 * P, 4 * P, &ib));
	EXPECT_EQ(0u, area_count(b));
}

TEST_F(MapIoctl, CopyErrnoOrder)
{
	uint32_t a = new_ioas(), b = new_ioas();
	const uint64_t x = 0x400000;
	ASSERT_EQ(0, map_fixed(a, kVa, 4 * P, x));
	ASSERT_EQ(0, map_fixed(a, kVa + 16 * P, 4 * P, x + 16 * P, IOMMU_IOAS_MAP_READABLE));
	uint64_t dst = UINT64_MAX;
	EXPECT_EQ(-EOPNOTSUPP, copy(999, 999, UINT64_MAX, UINT64_MAX, &dst, kRW | (1u << 3)));
	// Length, source and destination IOVA all come before the permission.
	dst = 0;
	EXPECT_EQ(-EOVERFLOW, copy(999, 999, x, UINT64_MAX, &dst, kFixed));
	EXPECT_EQ(-EOVERFLOW, copy(999, 999, UINT64_MAX, P, &dst, kFixed));
	dst = UINT64_MAX;
	EXPECT_EQ(-EOVERFLOW, copy(999, 999, x, P, &dst, kFixed));
	dst = 0;
	EXPECT_EQ(-EINVAL, copy(999, 999, x, P, &dst, kFixed));
	// Then the source, then its range, then the destination.
	EXPECT_EQ(-ENOENT, copy(999, 999, x, P, &dst));
	EXPECT_EQ(-EINVAL, copy(999, a, x, 0, &dst));
	EXPECT_EQ(-EOVERFLOW, copy(999, a, UINT64_MAX - P + 1, 2 * P, &dst));
	EXPECT_EQ(-ENOENT, copy(999, a, x + 8 * P, P, &dst));
	EXPECT_EQ(-ENOENT, copy(999, a, x + 2 * P, 4 * P, &dst)); // runs off the area
	EXPECT_EQ(-ENOENT, copy(999, a, x, P, &dst));
	EXPECT_EQ(-ENOENT, copy(0, a, x, P, &dst));
	// The destination's IOVA is checked before the pages' permission.
	ASSERT_EQ(0, map_fixed(b, kVa, 4 * P, x));
	dst = x;
	EXPECT_EQ(-EEXIST, copy(b, a, x, P, &dst, kRW | kFixed));
	EXPECT_EQ(-EEXIST, copy(b, a, x + 16 * P, P, &dst, kRW | kFixed));
	dst = x + 32 * P;
	EXPECT_EQ(-EPERM, copy(b, a, x + 16 * P, P, &dst, kRW | kFixed));
	EXPECT_EQ(0, copy(b, a, x + 16 * P, P, &dst, IOMMU_IOAS_MAP_READABLE | kFixed));
	EXPECT_EQ(2u, area_count(b));
}

// ---- IOMMU_IOAS_UNMAP ------------------------------------------------------------------

TEST_F(MapIoctl, UnmapTakesWholeAreasOnly)
{
	uint32_t ioas = new_ioas();
	const uint64_t x = 0x400000;
	ASSERT_EQ(0, map_fixed(ioas, kVa, 4 * P, x));
	ASSERT_EQ(0, map_fixed(ioas, kVa, 4 * P, x + 4 * P));
	ASSERT_EQ(0, map_fixed(ioas, kVa, 4 * P, x + 16 * P));
	uint64_t n = 0;
	ASSERT_EQ(0, unmap(ioas, x, 8 * P, &n));
	EXPECT_EQ(8 * P, n);
	// A range that cuts an area, or holds nothing, is ENOENT.
	EXPECT_EQ(-ENOENT, unmap(ioas, x + 16 * P, 2 * P, &n));
	EXPECT_EQ(-ENOENT, unmap(ioas, x + 18 * P, 4 * P, &n));
	EXPECT_EQ(-ENOENT, unmap(ioas, x, 8 * P, &n));
	EXPECT_EQ(1u, area_count(ioas));
	// A range around an area takes it, holes around it do not matter.
	ASSERT_EQ(0, unmap(ioas, x + 12 * P, 12 * P, &n));
	EXPECT_EQ(4 * P, n);

	// Whole areas before a cut go, as upstream; then ENOENT.
	ASSERT_EQ(0, map_fixed(ioas, kVa, 4 * P, x));
	ASSERT_EQ(0, map_fixed(ioas, kVa, 4 * P, x + 4 * P));
	EXPECT_EQ(-ENOENT, unmap(ioas, x, 6 * P, &n));
	EXPECT_EQ(1u, area_count(ioas));
	EXPECT_EQ(-ENOENT, unmap(ioas, x, 4 * P, &n));
}

TEST_F(MapIoctl, UnmapErrnoOrder)
{
	uint32_t ioas = new_ioas();
	uint64_t n = 0;
	// The IOAS is looked up first.
	EXPECT_EQ(-ENOENT, unmap(999, UINT64_MAX, UINT64_MAX, &n));
	EXPECT_EQ(-ENOENT, unmap(999, 0, UINT64_MAX, &n));
	EXPECT_EQ(-EOVERFLOW, unmap(ioas, UINT64_MAX, P, &n));
	EXPECT_EQ(-EOVERFLOW, unmap(ioas, P, UINT64_MAX, &n));
	EXPECT_EQ(-EINVAL, unmap(ioas, P, 0, &n));
	EXPECT_EQ(-EOVERFLOW, unmap(ioas, UINT64_MAX - P, 2 * P, &n));
	EXPECT_EQ(-ENOENT, unmap(ioas, P, P, &n));
	EXPECT_EQ(P, n); // not written back on failure
}

// ---- size versioning --------------------------------------------------------------------

TEST_F(MapIoctl, SizeBelowMinimumIsEinval)
{
	struct {
		unsigned int cmd;
		uint32_t min;
	} cases[] = {
		{ IOMMU_IOAS_MAP, sizeof(iommu_ioas_map) },
		{ IOMMU_IOAS_MAP_FILE, sizeof(iommu_ioas_map_file) },
		{ IOMMU_IOAS_COPY, sizeof(iommu_ioas_copy) },
		{ IOMMU_IOAS_UNMAP, sizeof(iommu_ioas_unmap) },
		{ IOMMU_OPTION, sizeof(iommu_option) },
		{ IOMMU_VFIO_IOAS, sizeof(iommu_vfio_ioas) },
		{ IOMMU_IOAS_CHANGE_PROCESS, sizeof(iommu_ioas_change_process) },
	};
	for (auto &c : cases) {
		uint8_t buf[128] = {};
		uint32_t size = c.min - 1;
		memcpy(buf, &size, 4);
		EXPECT_EQ(-EINVAL, ioctl(c.cmd, buf)) << std::hex << c.cmd;
		// A longer struct with a non-zero tail is E2BIG.
		size = c.min + 8;
		memcpy(buf, &size, 4);
		buf[c.min + 3] = 1;
		EXPECT_EQ(-E2BIG, ioctl(c.cmd, buf)) << std::hex << c.cmd;
	}
}

// ---- IOMMU_OPTION ------------------------------------------------------------------------

TEST_F(MapIoctl, OptionRlimitMode)
{
	uint64_t v = 5;
	ASSERT_EQ(0, option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v));
	EXPECT_EQ(0u, v);
	v = 1;
	EXPECT_EQ(-EPERM, option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v));
	EXPECT_EQ(-EOPNOTSUPP, option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 1, &v));
	EXPECT_EQ(-EOPNOTSUPP, option(IOMMU_OPTION_RLIMIT_MODE, 2, 0, &v));
	fake_kapi::set_cap_sys_resource(true);
	v = 2;
	EXPECT_EQ(-EINVAL, option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v));
	EXPECT_EQ(2u, v); // val64 is only written on success
	v = 1;
	ASSERT_EQ(0, option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v));
	v = 7;
	ASSERT_EQ(0, option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &v));
	EXPECT_EQ(1u, v);

	// Once an object exists: EBUSY, whatever the value.
	uint32_t ioas = new_ioas();
	v = 0;
	EXPECT_EQ(-EBUSY, option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v));
	v = 7;
	EXPECT_EQ(-EBUSY, option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &v));

	// MM mode charges the mm's locked_vm (as VFIO type1) instead of the user's.
	new_mock(ioas);
	map_contig(kVa, 4);
	uint64_t iova = 0;
	ASSERT_EQ(0, map(ioas, kVa, 4 * P, &iova));
	EXPECT_EQ(4u, fake_kapi::mm_locked_vm(0));
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(4u, fake_kapi::mm_pinned_vm(0));
}

TEST_F(MapIoctl, OptionHugePages)
{
	uint32_t ioas = new_ioas();
	uint64_t v = 9;
	ASSERT_EQ(0, option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas, &v));
	EXPECT_EQ(1u, v);
	v = 0;
	ASSERT_EQ(0, option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));
	ASSERT_EQ(0, option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas, &v));
	EXPECT_EQ(0u, v);
	v = 2;
	EXPECT_EQ(-EINVAL, option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));
	v = 1;
	ASSERT_EQ(0, option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));

	// The IOAS is looked up before the op is checked.
	EXPECT_EQ(-ENOENT, option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, 999, &v));
	EXPECT_EQ(-ENOENT, option(IOMMU_OPTION_HUGE_PAGES, 2, 999, &v));
	EXPECT_EQ(-EOPNOTSUPP, option(IOMMU_OPTION_HUGE_PAGES, 2, ioas, &v));
	EXPECT_EQ(-EOPNOTSUPP, option(99, IOMMU_OPTION_OP_GET, ioas, &v));
	MockDev d = new_mock(ioas);
	EXPECT_EQ(-ENOENT, option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, d.hwpt, &v));
	iommu_option raw = { .size = sizeof(raw), .option_id = IOMMU_OPTION_HUGE_PAGES,
			     .op = IOMMU_OPTION_OP_GET, .__reserved = 1, .object_id = ioas };
	EXPECT_EQ(-EOPNOTSUPP, ioctl(IOMMU_OPTION, &raw));

	// Disabling is refused once domains hold mappings.
	map_contig(kVa, 4);
	uint64_t iova = 0;
	ASSERT_EQ(0, map(ioas, kVa, 4 * P, &iova));
	v = 0;
	EXPECT_EQ(-EINVAL, option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));
	EXPECT_EQ(0, destroy(d.stdev));
	// Without a domain, a sub-page area blocks it instead.
	ASSERT_EQ(0, map(ioas, kVa + 100, 2 * P, &iova));
	EXPECT_EQ(-EADDRINUSE, option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));
	uint64_t n;
	ASSERT_EQ(0, unmap(ioas, iova, 2 * P, &n));
	ASSERT_EQ(0, option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));
}

TEST_F(MapIoctl, HugePagesOffMapsPageByPage)
{
	uint32_t ioas = new_ioas();
	MockDev d = new_mock(ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA);
	map_contig(kVa, 1024);
	const uint64_t iova = kAperture + (4ull << 20);
	ASSERT_EQ(0, map_fixed(ioas, kVa, 4ull << 20, iova));
	auto *mock = mock_of(d.hwpt);
	ASSERT_NE(nullptr, mock);
	auto e = mock->entry(iova);
	ASSERT_TRUE(e.ok());
	EXPECT_TRUE(e.value().flags & iommufd::kMockEntryHuge);
	uint64_t n;
	ASSERT_EQ(0, unmap(ioas, iova, 4ull << 20, &n));
	EXPECT_EQ(0, destroy(d.stdev));

	uint64_t v = 0;
	ASSERT_EQ(0, option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &v));
	d = new_mock(ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA);
	ASSERT_EQ(0, map_fixed(ioas, kVa, 4ull << 20, iova));
	mock = mock_of(d.hwpt);
	ASSERT_NE(nullptr, mock);
	auto e2 = mock->entry(iova);
	ASSERT_TRUE(e2.ok());
	EXPECT_FALSE(e2.value().flags & iommufd::kMockEntryHuge);
	EXPECT_EQ(0, check_map(d.hwpt, iova, 4ull << 20, kVa));
}

// ---- IOMMU_VFIO_IOAS ----------------------------------------------------------------------

TEST_F(MapIoctl, VfioIoas)
{
	uint32_t id = 0;
	EXPECT_EQ(-ENODEV, vfio_ioas(IOMMU_VFIO_IOAS_GET, &id));
	id = 999;
	EXPECT_EQ(-ENOENT, vfio_ioas(IOMMU_VFIO_IOAS_SET, &id));
	uint32_t ioas = new_ioas();
	id = ioas;
	ASSERT_EQ(0, vfio_ioas(IOMMU_VFIO_IOAS_SET, &id));
	id = 0;
	ASSERT_EQ(0, vfio_ioas(IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_EQ(ioas, id);
	ASSERT_EQ(0, vfio_ioas(IOMMU_VFIO_IOAS_CLEAR, &id));
	EXPECT_EQ(-ENODEV, vfio_ioas(IOMMU_VFIO_IOAS_GET, &id));
	// The compat IOAS does not hold the IOAS: destroying it works, and
	// GET then finds nothing.
	id = ioas;
	ASSERT_EQ(0, vfio_ioas(IOMMU_VFIO_IOAS_SET, &id));
	ASSERT_EQ(0, destroy(ioas));
	EXPECT_EQ(-ENODEV, vfio_ioas(IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_EQ(-EOPNOTSUPP, vfio_ioas(3, &id));
	iommu_vfio_ioas raw = { .size = sizeof(raw), .op = IOMMU_VFIO_IOAS_CLEAR, .__reserved = 1 };
	EXPECT_EQ(-EOPNOTSUPP, ioctl(IOMMU_VFIO_IOAS, &raw));
}

// ---- IOMMU_IOAS_CHANGE_PROCESS ----------------------------------------------------------------

TEST_F(MapIoctl, ChangeProcessMovesTheCharge)
{
	EXPECT_EQ(0, change_process()); // nothing mapped: nothing to move
	uint32_t a = new_ioas(), b = new_ioas();
	new_mock(a);
	int fd = fake_kapi::memfd_create(32, 1);
	uint64_t ia = 0, ib = 0;
	ASSERT_EQ(0, map_file(a, fd, 0, 16 * P, &ia));
	ASSERT_EQ(0, copy(b, a, ia, 16 * P, &ib)); // the same Pages in two IOAS
	EXPECT_EQ(16u, fake_kapi::user_locked_vm(0));

	int other = fake_kapi::new_process();
	fake_kapi::set_current_process(other);
	ASSERT_EQ(0, change_process());
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(0u, fake_kapi::mm_pinned_vm(0));
	EXPECT_EQ(16u, fake_kapi::user_locked_vm(other)); // counted once
	EXPECT_EQ(16u, fake_kapi::mm_pinned_vm(other));

	// Over the new owner's limit: ENOMEM, and the charge stays put.
	int third = fake_kapi::new_process();
	fake_kapi::set_rlimit_memlock(third, 8 * P);
	fake_kapi::set_current_process(third);
	EXPECT_EQ(-ENOMEM, change_process());
	EXPECT_EQ(16u, fake_kapi::user_locked_vm(other));
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(third));

	iommu_ioas_change_process raw = { .size = sizeof(raw), .__reserved = 1 };
	EXPECT_EQ(-EOPNOTSUPP, ioctl(IOMMU_IOAS_CHANGE_PROCESS, &raw));

	uint64_t n;
	ASSERT_EQ(0, unmap(a, 0, UINT64_MAX, &n));
	ASSERT_EQ(0, unmap(b, 0, UINT64_MAX, &n));
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(other));
	EXPECT_EQ(0u, fake_kapi::mm_pinned_vm(other));
	fake_kapi::set_current_process(0);
}

TEST_F(MapIoctl, ChangeProcessRefusesUserMemory)
{
	uint32_t a = new_ioas();
	int fd = fake_kapi::memfd_create(32, 1);
	uint64_t iova = 0;
	ASSERT_EQ(0, map_file(a, fd, 0, 4 * P, &iova));
	ASSERT_EQ(0, change_process());
	uint32_t b = new_ioas();
	ASSERT_EQ(0, map(b, kVa, 4 * P, &iova));
	EXPECT_EQ(-EINVAL, change_process());
}

} // namespace
