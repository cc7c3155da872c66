// SPDX-License-Identifier: GPL-2.0
//
// hwpt_ioctl_test.cpp - devices, HWPTs, accesses and fault queues through
// iommufd_cxx_ioctl with the test ABI on: mock devices (MOCK_DOMAIN,
// _FLAGS with the cache-coherency gating, _REPLACE), automatic domains and
// their sharing and destruction, IOMMU_HWPT_ALLOC (paging and nested),
// GET_HW_INFO, SET_DIRTY_TRACKING, GET_DIRTY_BITMAP, HWPT_INVALIDATE,
// FAULT_QUEUE_ALLOC with read/write on its fd, the MD_CHECK_* and DIRTY test
// ops, test accesses (CREATE_ACCESS, ACCESS_PAGES, ACCESS_RW,
// DESTROY_ACCESS_PAGES, ACCESS_REPLACE_IOAS) and the unmap notification,
// IOMMU_DESTROY's EBUSY for objects in use, release with live objects in
// every order of closing the files, and an allocation-failure sweep over a
// realistic sequence.  Errnos and their order are upstream's (Debian 6.12
// hw_pagetable.c, device.c, fault.c, selftest.c).
//
// Not covered: MD_CHECK_REFS with a non-zero count (the fake reports every
// page as unpinned; pins are checked with fake_kapi::pfn_pins instead), and
// the MOCK_FLAGS_ACCESS_SYZ iova encoding (not implemented: EOPNOTSUPP).
#include <algorithm>

#include "uapi_fixture.h"

using namespace uapi_test;

namespace {

class HwptIoctl : public UapiTest {
protected:
	// An IOAS with `npages` of simulated memory mapped at a fixed IOVA
	// inside the mock aperture.
	uint32_t ioas_with_map(uint64_t npages, uint64_t iova = kAperture, uint64_t va = kVa,
			       uint32_t flags = kRW)
	{
		uint32_t ioas = new_ioas();
		map_contig(va, npages);
		EXPECT_EQ(0, map_fixed(ioas, va, npages * P, iova, flags));
		return ioas;
	}
};

// ---- mock devices and automatic domains -------------------------------------------

TEST_F(HwptIoctl, MockDomainBindsAttachesAndShares)
{
	uint32_t ioas = new_ioas();
	MockDev d = new_mock(ioas);
	EXPECT_NE(0u, d.stdev);
	EXPECT_NE(0u, d.hwpt);
	EXPECT_NE(0u, d.idev);
	EXPECT_NE(d.stdev, d.idev);
	EXPECT_EQ(4, iommufd_cxx_live_objects()); // IOAS, device, stdev, auto HWPT

	// A second device shares the automatic HWPT.
	MockDev d2 = new_mock(ioas);
	EXPECT_EQ(d.hwpt, d2.hwpt);
	EXPECT_EQ(6, iommufd_cxx_live_objects());

	// Everything is in use: the IOAS by the HWPT, the HWPT by the
	// devices, the devices by their stdev.
	EXPECT_EQ(-EBUSY, destroy(ioas));
	EXPECT_EQ(-EBUSY, destroy(d.hwpt));
	EXPECT_EQ(-EBUSY, destroy(d.idev));

	// The automatic HWPT goes with its last device.
	ASSERT_EQ(0, destroy(d.stdev));
	EXPECT_FALSE(exists(d.idev));
	EXPECT_TRUE(exists(d.hwpt));
	ASSERT_EQ(0, destroy(d2.stdev));
	EXPECT_FALSE(exists(d.hwpt));
	EXPECT_EQ(1, iommufd_cxx_live_objects());
	ASSERT_EQ(0, destroy(ioas));
}

TEST_F(HwptIoctl, MockDomainFlags)
{
	uint32_t ioas = new_ioas();
	MockDev d;
	EXPECT_EQ(-EINVAL, mock_domain(ioas, &d, 1u << 5));
	EXPECT_EQ(-EINVAL, mock_domain(ioas, &d, 1u << 31));
	// A device whose IOMMU does not enforce cache coherency may not bind:
	// EINVAL, with a log line, and nothing is left behind.
	long lines = fake_kapi::log_lines();
	EXPECT_EQ(-EINVAL, mock_domain(ioas, &d, MOCK_FLAGS_DEVICE_CXX_NOT_COHERENT));
	EXPECT_GT(fake_kapi::log_lines(), lines);
	EXPECT_EQ(-EINVAL,
		  mock_domain(ioas, &d, MOCK_FLAGS_DEVICE_CXX_NOT_COHERENT | MOCK_FLAGS_DEVICE_NO_DIRTY));
	EXPECT_EQ(1, iommufd_cxx_live_objects());
	// Every known flag, alone and together.
	for (uint32_t f : { 0u, uint32_t(MOCK_FLAGS_DEVICE_NO_DIRTY), uint32_t(MOCK_FLAGS_DEVICE_HUGE_IOVA),
			    uint32_t(MOCK_FLAGS_DEVICE_PASID),
			    uint32_t(MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA |
				     MOCK_FLAGS_DEVICE_PASID) }) {
		ASSERT_EQ(0, mock_domain(ioas, &d, f, true)) << f;
		EXPECT_EQ(0, destroy(d.stdev));
	}
	// Plain MOCK_DOMAIN ignores the dev_flags field.
	iommu_test_cmd c = { .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = ioas };
	c.mock_domain_flags.dev_flags = MOCK_FLAGS_DEVICE_CXX_NOT_COHERENT;
	ASSERT_EQ(0, test_cmd(c));
	EXPECT_EQ(0, destroy(c.mock_domain.out_stdev_id));
	EXPECT_EQ(1, iommufd_cxx_live_objects());
}

TEST_F(HwptIoctl, MockDomainBadTargets)
{
	uint32_t ioas = new_ioas();
	MockDev d = new_mock(ioas), x;
	EXPECT_EQ(-ENOENT, mock_domain(999, &x));
	EXPECT_EQ(-ENOENT, mock_domain(0, &x));
	EXPECT_EQ(-EINVAL, mock_domain(d.idev, &x));
	EXPECT_EQ(-EINVAL, mock_domain(d.stdev, &x));
	uint32_t fault;
	int fd;
	ASSERT_EQ(0, fault_alloc(&fault, &fd));
	EXPECT_EQ(-EINVAL, mock_domain(fault, &x));
	EXPECT_EQ(5, iommufd_cxx_live_objects());
	// A device without dirty tracking cannot join a HWPT that tracks.
	uint32_t dirty;
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &dirty));
	EXPECT_EQ(-EINVAL, mock_domain(dirty, &x, MOCK_FLAGS_DEVICE_NO_DIRTY));
	// The automatic HWPT does not track, so such a device shares it.
	ASSERT_EQ(0, mock_domain(ioas, &x, MOCK_FLAGS_DEVICE_NO_DIRTY));
	EXPECT_EQ(d.hwpt, x.hwpt);
}

TEST_F(HwptIoctl, MockDomainOnUserHwptsAndReplace)
{
	uint32_t a = ioas_with_map(4);
	uint32_t b = ioas_with_map(4, kAperture + (1ull << 20), kVa + 64 * P);
	MockDev d = new_mock(a);
	uint32_t h = 0;
	ASSERT_EQ(0, hwpt_alloc(d.idev, b, 0, &h));
	MockDev e = new_mock(h);
	EXPECT_EQ(h, e.hwpt);
	EXPECT_EQ(-EBUSY, destroy(h));

	// Replace to another IOAS: a new automatic HWPT, the old one is gone.
	uint32_t pt = b;
	ASSERT_EQ(0, mock_replace(d.stdev, &pt));
	EXPECT_NE(d.hwpt, pt);
	EXPECT_NE(h, pt);
	EXPECT_FALSE(exists(d.hwpt));
	EXPECT_EQ(0, check_map(pt, kAperture + (1ull << 20), 4 * P, kVa + 64 * P));
	uint32_t old = d.hwpt;
	pt = old;
	EXPECT_EQ(-ENOENT, mock_replace(d.stdev, &pt));
	// To the user HWPT, to it again, and back to the IOAS.
	uint32_t auto_b = 0;
	pt = b;
	ASSERT_EQ(0, mock_replace(d.stdev, &pt));
	auto_b = pt;
	pt = h;
	ASSERT_EQ(0, mock_replace(d.stdev, &pt));
	EXPECT_EQ(h, pt);
	EXPECT_FALSE(exists(auto_b));
	ASSERT_EQ(0, mock_replace(d.stdev, &pt));
	EXPECT_EQ(h, pt);
	pt = a;
	ASSERT_EQ(0, mock_replace(d.stdev, &pt));
	EXPECT_NE(h, pt);

	// Bad targets leave the device where it was.
	uint32_t here = pt;
	pt = 999;
	EXPECT_EQ(-ENOENT, mock_replace(d.stdev, &pt));
	pt = d.idev;
	EXPECT_EQ(-EINVAL, mock_replace(d.stdev, &pt));
	pt = a;
	EXPECT_EQ(-ENOENT, mock_replace(999, &pt));
	EXPECT_EQ(-ENOENT, mock_replace(d.idev, &pt));
	EXPECT_EQ(-ENOENT, mock_replace(a, &pt));
	uint32_t dirty;
	ASSERT_EQ(0, hwpt_alloc(d.idev, a, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &dirty));
	MockDev nd = new_mock(a, MOCK_FLAGS_DEVICE_NO_DIRTY);
	pt = dirty;
	EXPECT_EQ(-EINVAL, mock_replace(nd.stdev, &pt));
	EXPECT_EQ(0, check_map(here, kAperture, 4 * P, kVa));
	EXPECT_EQ(-EBUSY, destroy(here));
	EXPECT_EQ(0, destroy(e.stdev));
	EXPECT_EQ(0, destroy(h));
}

// ---- IOMMU_HWPT_ALLOC -----------------------------------------------------------------

TEST_F(HwptIoctl, HwptAllocPaging)
{
	uint32_t ioas = ioas_with_map(8);
	MockDev d = new_mock(ioas);
	MockDev nd = new_mock(ioas, MOCK_FLAGS_DEVICE_NO_DIRTY);
	uint32_t h = 0;
	for (uint32_t f : { 0u, uint32_t(IOMMU_HWPT_ALLOC_NEST_PARENT),
			    uint32_t(IOMMU_HWPT_ALLOC_DIRTY_TRACKING),
			    uint32_t(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING) }) {
		ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, f, &h)) << f;
		EXPECT_EQ(0, check_map(h, kAperture, 8 * P, kVa));
		EXPECT_EQ(0, destroy(h));
	}
	EXPECT_EQ(8u, fake_kapi::total_pins());

	// Flags, in upstream's order.
	EXPECT_EQ(-EOPNOTSUPP, hwpt_alloc(d.idev, ioas, 1u << 7, &h));
	EXPECT_EQ(-EOPNOTSUPP, hwpt_alloc(d.idev, ioas,
					  IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_FAULT_ID_VALID, &h));
	EXPECT_EQ(-EOPNOTSUPP, hwpt_alloc(nd.idev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &h));
	iommu_hwpt_selftest data = { .iotlb = 1 };
	EXPECT_EQ(-EOPNOTSUPP, hwpt_alloc(d.idev, ioas, 0, &h, IOMMU_HWPT_DATA_SELFTEST, &data,
					  sizeof(data)));
	// data_type and data_len must agree, before anything is looked up.
	EXPECT_EQ(-EINVAL, hwpt_alloc(999, 999, 0, &h, IOMMU_HWPT_DATA_NONE, &data, 4));
	EXPECT_EQ(-EINVAL, hwpt_alloc(999, 999, 0, &h, IOMMU_HWPT_DATA_SELFTEST, &data, 0));
	iommu_hwpt_alloc raw = { .size = sizeof(raw), .dev_id = 999, .pt_id = 999, .__reserved = 1 };
	EXPECT_EQ(-EOPNOTSUPP, ioctl(IOMMU_HWPT_ALLOC, &raw));
	// The device is looked up first: ENOENT; a missing or wrong pt is
	// EINVAL (upstream turns any lookup failure of pt_id into EINVAL).
	EXPECT_EQ(-ENOENT, hwpt_alloc(999, ioas, 0, &h));
	EXPECT_EQ(-ENOENT, hwpt_alloc(ioas, d.idev, 0, &h));
	EXPECT_EQ(-ENOENT, hwpt_alloc(d.stdev, ioas, 0, &h));
	EXPECT_EQ(-EINVAL, hwpt_alloc(d.idev, 999, 0, &h));
	EXPECT_EQ(-EINVAL, hwpt_alloc(d.idev, d.idev, 0, &h));
	EXPECT_EQ(-EINVAL, hwpt_alloc(d.idev, d.stdev, 0, &h));

	// An IOAS with an area outside the aperture cannot take a mock domain.
	uint32_t other = new_ioas();
	uint64_t iova = 0;
	ASSERT_EQ(0, map(other, kVa, P, &iova));
	EXPECT_EQ(-EADDRINUSE, hwpt_alloc(d.idev, other, 0, &h));
	EXPECT_EQ(7, iommufd_cxx_live_objects()); // 2 IOAS, 2 devices, 2 stdevs, the auto HWPT
}

TEST_F(HwptIoctl, HwptAllocNested)
{
	uint32_t ioas = new_ioas();
	MockDev d = new_mock(ioas);
	uint32_t parent = 0, plain = 0, nested = 0;
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, 0, &plain));

	iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	// The negative cases of upstream's alloc_hwpt_nested, in its order.
	EXPECT_EQ(-EINVAL, hwpt_alloc(d.idev, parent, 0, &nested, IOMMU_HWPT_DATA_NONE, &data,
				      sizeof(data)));
	EXPECT_EQ(-EOPNOTSUPP, hwpt_alloc(d.idev, parent, 0, &nested, IOMMU_HWPT_DATA_SELFTEST + 1,
					  &data, sizeof(data)));
	EXPECT_EQ(-EINVAL, hwpt_alloc(d.idev, parent, 0, &nested, IOMMU_HWPT_DATA_SELFTEST, &data,
				      sizeof(data) - 1));
	EXPECT_EQ(-EFAULT, hwpt_alloc(d.idev, parent, 0, &nested, IOMMU_HWPT_DATA_SELFTEST,
				      nullptr, sizeof(data)));
	EXPECT_EQ(-EOPNOTSUPP, hwpt_alloc(d.idev, parent, IOMMU_HWPT_ALLOC_NEST_PARENT, &nested,
					  IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)));
	EXPECT_EQ(-EINVAL, hwpt_alloc(d.idev, plain, 0, &nested, IOMMU_HWPT_DATA_SELFTEST, &data,
				      sizeof(data)));
	EXPECT_EQ(-EINVAL, hwpt_alloc(d.idev, d.hwpt, 0, &nested, IOMMU_HWPT_DATA_SELFTEST, &data,
				      sizeof(data))); // an automatic HWPT is no parent
	// 6.12's iommu_copy_struct_from_user: longer than the struct is
	// EINVAL, even with a zero tail.
	uint8_t longer[16] = {};
	memcpy(longer, &data, sizeof(data));
	EXPECT_EQ(-EINVAL, hwpt_alloc(d.idev, parent, 0, &nested, IOMMU_HWPT_DATA_SELFTEST, longer,
				      sizeof(longer)));

	ASSERT_EQ(0, hwpt_alloc_nested(d.idev, parent, &nested));
	for (uint32_t i = 0; i <= MOCK_NESTED_DOMAIN_IOTLB_ID_MAX; i++)
		EXPECT_EQ(0, check_iotlb(nested, i, IOMMU_TEST_IOTLB_DEFAULT)) << i;
	EXPECT_EQ(-EINVAL, check_iotlb(nested, 0, 1));
	EXPECT_EQ(-EINVAL, check_iotlb(nested, MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1,
				       IOMMU_TEST_IOTLB_DEFAULT));
	EXPECT_EQ(-ENOENT, check_iotlb(parent, 0, IOMMU_TEST_IOTLB_DEFAULT));
	EXPECT_EQ(-ENOENT, check_iotlb(999, 0, IOMMU_TEST_IOTLB_DEFAULT));
	// Nested on nested is no paging parent.
	uint32_t x;
	EXPECT_EQ(-EINVAL, hwpt_alloc_nested(d.idev, nested, &x));
	// The parent is held.
	EXPECT_EQ(-EBUSY, destroy(parent));

	// A fault queue: ENOENT for a missing one; held by the HWPT.
	uint32_t fault;
	int fd;
	ASSERT_EQ(0, fault_alloc(&fault, &fd));
	EXPECT_EQ(-ENOENT, hwpt_alloc_nested(d.idev, parent, &x, IOMMU_HWPT_FAULT_ID_VALID, 999));
	EXPECT_EQ(-ENOENT, hwpt_alloc_nested(d.idev, parent, &x, IOMMU_HWPT_FAULT_ID_VALID, ioas));
	uint32_t iopf;
	ASSERT_EQ(0, hwpt_alloc_nested(d.idev, parent, &iopf, IOMMU_HWPT_FAULT_ID_VALID, fault));
	close_fd(fd);
	EXPECT_EQ(-EBUSY, destroy(fault));
	ASSERT_EQ(0, destroy(iopf));
	ASSERT_EQ(0, destroy(fault));

	// Attach a device to the nested HWPT, then leave it.
	MockDev e = new_mock(nested);
	EXPECT_EQ(nested, e.hwpt);
	EXPECT_EQ(-EBUSY, destroy(nested));
	uint32_t pt = parent;
	ASSERT_EQ(0, mock_replace(e.stdev, &pt));
	ASSERT_EQ(0, destroy(nested));
	EXPECT_EQ(-EBUSY, destroy(parent));
	pt = ioas;
	ASSERT_EQ(0, mock_replace(e.stdev, &pt));
	ASSERT_EQ(0, destroy(parent));
}

// ---- IOMMU_HWPT_INVALIDATE ------------------------------------------------------------------

TEST_F(HwptIoctl, Invalidate)
{
	uint32_t ioas = new_ioas();
	MockDev d = new_mock(ioas);
	uint32_t parent, nested;
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
	ASSERT_EQ(0, hwpt_alloc_nested(d.idev, parent, &nested));
	iommu_hwpt_invalidate_selftest inv[3] = {};
	uint32_t num;

	// Upstream's cases, in its order; entry_num always comes back.
	num = 1;
	EXPECT_EQ(-ENOENT, invalidate(parent, inv, sizeof(*inv), &num));
	EXPECT_EQ(0u, num);
	num = 0;
	EXPECT_EQ(0, invalidate(nested, inv, sizeof(*inv), &num));
	EXPECT_EQ(0u, num);
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate(nested, inv, sizeof(*inv), &num,
				      IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID));
	EXPECT_EQ(0u, num);
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate(nested, inv, sizeof(*inv) + 1, &num));
	EXPECT_EQ(0u, num);
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate(nested, inv, 1, &num));
	num = 1;
	inv[0].flags = 0xffffffff;
	EXPECT_EQ(-EOPNOTSUPP, invalidate(nested, inv, sizeof(*inv), &num));
	EXPECT_EQ(0u, num);
	inv[0].flags = 0;
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate(nested, nullptr, sizeof(*inv), &num));
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate(nested, inv, 0, &num));
	num = 1;
	inv[0].iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
	EXPECT_EQ(-EINVAL, invalidate(nested, inv, sizeof(*inv), &num));
	EXPECT_EQ(0u, num);
	// The bounds on entry_len and entry_num come before the HWPT lookup.
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate(999, inv, 4097, &num));
	num = (1u << 19) + 1;
	EXPECT_EQ(-EINVAL, invalidate(999, inv, sizeof(*inv), &num));
	EXPECT_EQ(0u, num);
	num = 1;
	EXPECT_EQ(-ENOENT, invalidate(999, inv, sizeof(*inv), &num));
	iommu_hwpt_invalidate raw = { .size = sizeof(raw), .hwpt_id = nested, .data_uptr = uptr(inv),
				      .data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				      .entry_len = sizeof(*inv), .entry_num = 1, .__reserved = 1 };
	EXPECT_EQ(-EOPNOTSUPP, ioctl(IOMMU_HWPT_INVALIDATE, &raw));
	EXPECT_EQ(0u, raw.entry_num);
	for (uint32_t i = 0; i <= MOCK_NESTED_DOMAIN_IOTLB_ID_MAX; i++)
		EXPECT_EQ(0, check_iotlb(nested, i, IOMMU_TEST_IOTLB_DEFAULT));

	// One entry, then two with the second bad: the first is applied and
	// counted.
	inv[0] = { .flags = 0, .iotlb_id = 0 };
	num = 1;
	ASSERT_EQ(0, invalidate(nested, inv, sizeof(*inv), &num));
	EXPECT_EQ(1u, num);
	EXPECT_EQ(0, check_iotlb(nested, 0, 0));
	EXPECT_EQ(0, check_iotlb(nested, 1, IOMMU_TEST_IOTLB_DEFAULT));
	inv[0].iotlb_id = 1;
	inv[1] = { .flags = 0, .iotlb_id = 9 };
	num = 2;
	EXPECT_EQ(-EINVAL, invalidate(nested, inv, sizeof(*inv), &num));
	EXPECT_EQ(1u, num);
	EXPECT_EQ(0, check_iotlb(nested, 1, 0));
	EXPECT_EQ(0, check_iotlb(nested, 2, IOMMU_TEST_IOTLB_DEFAULT));
	// The array runs into unmapped memory: EFAULT after what was read.
	inv[0].iotlb_id = 2;
	inv[1].iotlb_id = 3;
	fake_kapi::add_fault_range(uptr(&inv[1]), sizeof(inv[1]));
	num = 2;
	EXPECT_EQ(-EFAULT, invalidate(nested, inv, sizeof(*inv), &num));
	EXPECT_EQ(1u, num);
	fake_kapi::clear_fault_ranges();
	EXPECT_EQ(0, check_iotlb(nested, 3, IOMMU_TEST_IOTLB_DEFAULT));
	// FLAG_ALL ignores iotlb_id, but it must still be in range (upstream).
	inv[0] = { .flags = IOMMU_TEST_INVALIDATE_FLAG_ALL, .iotlb_id = 77 };
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate(nested, inv, sizeof(*inv), &num));
	inv[0].iotlb_id = 0;
	num = 1;
	ASSERT_EQ(0, invalidate(nested, inv, sizeof(*inv), &num));
	for (uint32_t i = 0; i <= MOCK_NESTED_DOMAIN_IOTLB_ID_MAX; i++)
		EXPECT_EQ(0, check_iotlb(nested, i, 0));
}

// ---- IOMMU_GET_HW_INFO -------------------------------------------------------------------------

TEST_F(HwptIoctl, GetHwInfo)
{
	uint32_t ioas = new_ioas();
	MockDev d = new_mock(ioas);
	MockDev nd = new_mock(ioas, MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_PASID);
	uint8_t buf[64];
	memset(buf, 0xaa, sizeof(buf));
	uint32_t len = sizeof(buf), type = 0;
	uint64_t caps = 0;
	uint8_t pasid = 0xff;
	ASSERT_EQ(0, hw_info(d.idev, buf, &len, &type, &caps, &pasid));
	EXPECT_EQ(sizeof(iommu_test_hw_info), len);
	EXPECT_EQ(uint32_t(IOMMU_HW_INFO_TYPE_SELFTEST), type);
	EXPECT_EQ(uint64_t(IOMMU_HW_CAP_DIRTY_TRACKING), caps);
	EXPECT_EQ(0, pasid);
	iommu_test_hw_info info;
	memcpy(&info, buf, sizeof(info));
	EXPECT_EQ(uint32_t(IOMMU_HW_INFO_SELFTEST_REGVAL), info.test_reg);
	for (size_t i = sizeof(info); i < sizeof(buf); i++)
		EXPECT_EQ(0, buf[i]) << i; // the rest of the buffer is zeroed

	len = sizeof(buf);
	ASSERT_EQ(0, hw_info(nd.idev, buf, &len, &type, &caps, &pasid));
	EXPECT_EQ(0u, caps);
	EXPECT_EQ(MOCK_PASID_WIDTH, pasid);

	// A short buffer gets what fits; data_len says the full length.
	memset(buf, 0xaa, sizeof(buf));
	len = 4;
	ASSERT_EQ(0, hw_info(d.idev, buf, &len, &type));
	EXPECT_EQ(sizeof(iommu_test_hw_info), len);
	EXPECT_EQ(0xaa, buf[4]);
	len = 0;
	ASSERT_EQ(0, hw_info(d.idev, nullptr, &len, &type));
	EXPECT_EQ(sizeof(iommu_test_hw_info), len);

	// Asking for a type.
	type = IOMMU_HW_INFO_TYPE_SELFTEST;
	len = sizeof(buf);
	ASSERT_EQ(0, hw_info(d.idev, buf, &len, &type, nullptr, nullptr,
			     IOMMU_HW_INFO_FLAG_INPUT_TYPE));
	type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
	EXPECT_EQ(-EOPNOTSUPP, hw_info(d.idev, buf, &len, &type, nullptr, nullptr,
				       IOMMU_HW_INFO_FLAG_INPUT_TYPE));

	// Errors.
	len = sizeof(buf);
	EXPECT_EQ(-EOPNOTSUPP, hw_info(999, buf, &len, nullptr, nullptr, nullptr, 1u << 5));
	iommu_hw_info raw = { .size = sizeof(raw), .dev_id = d.idev };
	raw.__reserved[1] = 1;
	EXPECT_EQ(-EOPNOTSUPP, ioctl(IOMMU_GET_HW_INFO, &raw));
	EXPECT_EQ(-ENOENT, hw_info(999, buf, &len));
	EXPECT_EQ(-ENOENT, hw_info(ioas, buf, &len));
	EXPECT_EQ(-ENOENT, hw_info(d.stdev, buf, &len));
	fake_kapi::add_fault_range(uptr(buf), sizeof(buf));
	EXPECT_EQ(-EFAULT, hw_info(d.idev, buf, &len));
	fake_kapi::clear_fault_ranges();
	// The zeroing of the tail faults part way.
	fake_kapi::add_fault_range(uptr(buf) + 32, 32);
	len = sizeof(buf);
	EXPECT_EQ(-EFAULT, hw_info(d.idev, buf, &len));
	EXPECT_EQ(sizeof(buf), len); // not written back
}

// ---- dirty tracking ------------------------------------------------------------------------------

TEST_F(HwptIoctl, SetDirtyTracking)
{
	uint32_t ioas = ioas_with_map(8);
	MockDev d = new_mock(ioas);
	uint32_t h, plain;
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &h));
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, 0, &plain));
	ASSERT_EQ(0, set_dirty_tracking(h, true));
	ASSERT_EQ(0, set_dirty_tracking(h, true));
	ASSERT_EQ(0, set_dirty_tracking(h, false));
	iommu_hwpt_set_dirty_tracking raw = { .size = sizeof(raw), .flags = 2, .hwpt_id = 999 };
	EXPECT_EQ(-EOPNOTSUPP, ioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, &raw));
	EXPECT_EQ(-ENOENT, set_dirty_tracking(999, true));
	EXPECT_EQ(-ENOENT, set_dirty_tracking(ioas, true));
	EXPECT_EQ(-ENOENT, set_dirty_tracking(d.idev, true));
	// A HWPT without dirty tracking: EOPNOTSUPP, as upstream's
	// iopt_set_dirty_tracking for a domain without dirty ops.
	EXPECT_EQ(-EOPNOTSUPP, set_dirty_tracking(plain, true));
	EXPECT_EQ(-EOPNOTSUPP, set_dirty_tracking(d.hwpt, false));
}

TEST_F(HwptIoctl, DirtyBitsRoundTrip)
{
	const uint64_t n = 64;
	uint32_t ioas = ioas_with_map(n);
	MockDev d = new_mock(ioas);
	uint32_t h;
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &h));

	// DIRTY needs tracking on.
	uint64_t bits = 0x8421;
	uint64_t nr = 0;
	EXPECT_EQ(-EINVAL, set_dirty(h, kAperture, n * P, P, &bits, &nr));
	ASSERT_EQ(0, set_dirty_tracking(h, true));
	ASSERT_EQ(0, set_dirty(h, kAperture, n * P, P, &bits, &nr));
	EXPECT_EQ(4u, nr);
	// Beyond the mapping, nothing is marked.
	ASSERT_EQ(0, set_dirty(h, kAperture + n * P, n * P, P, &bits, &nr));
	EXPECT_EQ(0u, nr);

	uint8_t bitmap[8];
	auto read = [&](uint32_t flags) {
		memset(bitmap, 0, sizeof(bitmap));
		EXPECT_EQ(0, get_dirty_bitmap(h, kAperture, n * P, P, bitmap, flags));
		uint64_t v;
		memcpy(&v, bitmap, 8);
		return v;
	};
	EXPECT_EQ(0x8421u, read(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	EXPECT_EQ(0x8421u, read(0));
	EXPECT_EQ(0u, read(0));

	// Coarser bitmap pages: a bit for every 4 CPU pages touched.
	bits = 0x8421;
	ASSERT_EQ(0, set_dirty(h, kAperture, n * P, P, &bits, &nr));
	uint8_t coarse[2] = {};
	ASSERT_EQ(0, get_dirty_bitmap(h, kAperture, n * P, 4 * P, coarse));
	EXPECT_EQ(0x0f, coarse[0]);
	EXPECT_EQ(0, coarse[1]);

	// Enabling tracking forgets what was dirty before.
	bits = 1;
	ASSERT_EQ(0, set_dirty(h, kAperture, n * P, P, &bits, &nr));
	ASSERT_EQ(0, set_dirty_tracking(h, false));
	ASSERT_EQ(0, set_dirty_tracking(h, true));
	EXPECT_EQ(0u, read(0));
}

TEST_F(HwptIoctl, GetDirtyBitmapErrnoOrder)
{
	uint32_t ioas = ioas_with_map(16);
	MockDev d = new_mock(ioas);
	uint32_t h, plain;
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &h));
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, 0, &plain));
	ASSERT_EQ(0, set_dirty_tracking(h, true));
	uint8_t bitmap[8] = {};
	const uint64_t a = kAperture;
	// Flags first, whatever else is wrong.
	EXPECT_EQ(-EOPNOTSUPP, get_dirty_bitmap(999, UINT64_MAX, UINT64_MAX, 0, bitmap, 1u << 3));
	iommu_hwpt_get_dirty_bitmap raw = { .size = sizeof(raw), .hwpt_id = 999, .__reserved = 1,
					    .iova = UINT64_MAX, .length = 0 };
	EXPECT_EQ(-EOPNOTSUPP, ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP, &raw));
	// Then the HWPT.
	EXPECT_EQ(-ENOENT, get_dirty_bitmap(999, UINT64_MAX, 0, 0, bitmap));
	EXPECT_EQ(-ENOENT, get_dirty_bitmap(ioas, a, P, P, bitmap));
	// Then the range: length, overflow, the IOAS alignment, the page size.
	EXPECT_EQ(-EINVAL, get_dirty_bitmap(h, a, 0, P, bitmap));
	EXPECT_EQ(-EOVERFLOW, get_dirty_bitmap(h, UINT64_MAX - P + 1, 2 * P, P, bitmap));
	EXPECT_EQ(-EINVAL, get_dirty_bitmap(h, UINT64_MAX, 1, P, bitmap));
	EXPECT_EQ(-EINVAL, get_dirty_bitmap(h, 0, UINT64_MAX, P, bitmap));
	EXPECT_EQ(-EINVAL, get_dirty_bitmap(h, a + 1024, P, P, bitmap));
	EXPECT_EQ(-EINVAL, get_dirty_bitmap(h, a, P + 1024, P, bitmap));
	EXPECT_EQ(-EINVAL, get_dirty_bitmap(h, a, P, 0, bitmap));
	EXPECT_EQ(-EINVAL, get_dirty_bitmap(h, a + 2048, 2 * P, P, bitmap));
	EXPECT_EQ(-EINVAL, get_dirty_bitmap(h, a, 2 * P + 2048, P, bitmap));
	// ... all before the HWPT's own lack of dirty tracking.
	EXPECT_EQ(-EINVAL, get_dirty_bitmap(plain, a, 0, P, bitmap));
	EXPECT_EQ(-EINVAL, get_dirty_bitmap(plain, a, P, 0, bitmap));
	EXPECT_EQ(-EOPNOTSUPP, get_dirty_bitmap(plain, a, P, P, bitmap));
	// A bitmap that cannot be read or written.
	uint64_t bits = 1;
	uint64_t nr;
	ASSERT_EQ(0, set_dirty(h, a, P, P, &bits, &nr));
	fake_kapi::add_fault_range(uptr(bitmap), sizeof(bitmap));
	EXPECT_EQ(-EFAULT, get_dirty_bitmap(h, a, 16 * P, P, bitmap));
	fake_kapi::clear_fault_ranges();
	EXPECT_EQ(0, get_dirty_bitmap(h, a, 16 * P, P, bitmap));
}

TEST_F(HwptIoctl, DirtyTestOpErrors)
{
	uint32_t ioas = ioas_with_map(8);
	MockDev d = new_mock(ioas);
	uint32_t h, parent, nested;
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &h));
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
	ASSERT_EQ(0, hwpt_alloc_nested(d.idev, parent, &nested));
	ASSERT_EQ(0, set_dirty_tracking(h, true));
	uint64_t bits = 1, nr;
	const uint64_t a = kAperture;
	EXPECT_EQ(-EINVAL, set_dirty(999, a, P, 0, &bits, &nr));
	EXPECT_EQ(-EINVAL, set_dirty(999, a, 0, P, &bits, &nr));
	EXPECT_EQ(-EINVAL, set_dirty(999, a + 1, P, P, &bits, &nr));
	EXPECT_EQ(-EINVAL, set_dirty(999, a, P + 1, P, &bits, &nr));
	EXPECT_EQ(-EINVAL, set_dirty(999, a, P, P, nullptr, &nr));
	EXPECT_EQ(-EOVERFLOW, set_dirty(999, 0, ((16ull << 20) * 8 + 1) * P, P, &bits, &nr));
	EXPECT_EQ(-ENOENT, set_dirty(999, a, P, P, &bits, &nr));
	EXPECT_EQ(-ENOENT, set_dirty(nested, a, P, P, &bits, &nr));
	EXPECT_EQ(-EINVAL, set_dirty(parent, a, P, P, &bits, &nr)); // tracking is off there
	fake_kapi::add_fault_range(uptr(&bits), sizeof(bits));
	EXPECT_EQ(-EFAULT, set_dirty(h, a, P, P, &bits, &nr));
	fake_kapi::clear_fault_ranges();
}

// ---- MD_CHECK_MAP and MD_CHECK_REFS --------------------------------------------------------------

TEST_F(HwptIoctl, CheckMapAndRefs)
{
	uint32_t ioas = ioas_with_map(4);
	MockDev d = new_mock(ioas);
	const uint64_t a = kAperture;
	EXPECT_EQ(0, check_map(d.hwpt, a, 4 * P, kVa));
	EXPECT_EQ(0, check_map(d.hwpt, a + 2048, 2048, kVa + 2048));
	EXPECT_EQ(-EINVAL, check_map(d.hwpt, a + 1, P, kVa));
	EXPECT_EQ(-EINVAL, check_map(d.hwpt, a, P + 1, kVa));
	EXPECT_EQ(-EINVAL, check_map(d.hwpt, a, P, kVa + 1));
	EXPECT_EQ(-EINVAL, check_map(d.hwpt, a, 2 * P, UINT64_MAX - P + 1));
	EXPECT_EQ(-ENOENT, check_map(999, a, P, kVa));
	EXPECT_EQ(-ENOENT, check_map(ioas, a, P, kVa));
	EXPECT_EQ(-EINVAL, check_map(d.hwpt, a + 4 * P, P, kVa)); // not mapped
	EXPECT_EQ(-EFAULT, check_map(d.hwpt, a, P, 0));		   // user page 0 faults
	uint32_t parent, nested;
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
	ASSERT_EQ(0, hwpt_alloc_nested(d.idev, parent, &nested));
	EXPECT_EQ(-ENOENT, check_map(nested, a, P, kVa));

	EXPECT_EQ(0, check_refs(kVa, 4 * P, 0));
	EXPECT_EQ(-EIO, check_refs(kVa, 4 * P, 1)); // the fake reports no pins
	EXPECT_EQ(-EINVAL, check_refs(kVa, P + 1, 0));
	EXPECT_EQ(-EINVAL, check_refs(kVa + 1, P, 0));
	// A range that wraps is EINVAL, as upstream's check_add_overflow.
	EXPECT_EQ(-EINVAL, check_refs(UINT64_MAX - P + 1, 2 * P, 0));
	EXPECT_EQ(-EFAULT, check_refs(0, P, 0));
}

// ---- test accesses -------------------------------------------------------------------------------

TEST_F(HwptIoctl, CreateAccess)
{
	uint32_t ioas = ioas_with_map(4);
	int fd;
	EXPECT_EQ(-EOPNOTSUPP, create_access(ioas, &fd, 1u << 4));
	EXPECT_EQ(-ENOENT, create_access(999, &fd));
	MockDev d = new_mock(ioas);
	EXPECT_EQ(-ENOENT, create_access(d.hwpt, &fd));
	EXPECT_EQ(0, destroy(d.stdev));
	ASSERT_EQ(0, create_access(ioas, &fd));
	EXPECT_EQ(1, fake_kapi::file_refs_held() - file_refs_before_);
	EXPECT_EQ(-EBUSY, destroy(ioas)); // the access holds its IOAS
	close_fd(fd);
	EXPECT_EQ(0, fake_kapi::file_refs_held() - file_refs_before_);
	EXPECT_EQ(0, destroy(ioas));

	// A pinning access needs whole pages: an IOAS with a sub-page area
	// refuses it, and once attached it refuses sub-page maps.
	ioas = new_ioas();
	uint64_t iova = 0;
	ASSERT_EQ(0, map(ioas, kVa + 100, P, &iova));
	EXPECT_EQ(-EADDRINUSE, create_access(ioas, &fd));
	ASSERT_EQ(0, create_access(ioas, &fd, 0)); // a copying access is fine
	close_fd(fd);
	uint64_t n;
	ASSERT_EQ(0, unmap(ioas, iova, P, &n));
	ASSERT_EQ(0, create_access(ioas, &fd));
	EXPECT_EQ(-EINVAL, map(ioas, kVa + 100, P, &iova));
	EXPECT_EQ(0, map(ioas, kVa, P, &iova));
}

TEST_F(HwptIoctl, AccessPages)
{
	uint32_t ioas = ioas_with_map(16);
	ASSERT_EQ(0, map_fixed(ioas, kVa, 4 * P, kAperture + (1ull << 20),
			       IOMMU_IOAS_MAP_READABLE));
	int fd, copier;
	ASSERT_EQ(0, create_access(ioas, &fd));
	ASSERT_EQ(0, create_access(ioas, &copier, 0));
	const uint64_t a = kAperture;
	uint32_t item = 0, item2 = 0;
	ASSERT_EQ(0, access_pages(fd, a + 2 * P, 4 * P, kVa + 2 * P, &item));
	EXPECT_EQ(4u, fake_kapi::total_pins());
	EXPECT_EQ(4u, fake_kapi::user_locked_vm(0));
	// Overlapping items nest: each page is pinned once.
	ASSERT_EQ(0, access_pages(fd, a, 8 * P, 0, &item2));
	EXPECT_NE(item, item2);
	EXPECT_EQ(8u, fake_kapi::total_pins());
	// A sub-page start still pins whole pages (and checks them).
	uint32_t item3;
	ASSERT_EQ(0, access_pages(fd, a + 100, P, kVa + 100, &item3));
	EXPECT_EQ(0, destroy_access_pages(fd, item3));
	// Pages that are not the user's at uptr: EBADE, nothing stays pinned.
	uint32_t bad;
	EXPECT_EQ(-EBADE, access_pages(fd, a + 8 * P, 2 * P, kVa, &bad));
	EXPECT_EQ(8u, fake_kapi::total_pins());
	EXPECT_EQ(-EFAULT, access_pages(fd, a + 8 * P, 2 * P, 8, &bad));
	EXPECT_EQ(8u, fake_kapi::total_pins());

	// Errors, in upstream's order.
	EXPECT_EQ(-ENOMEM, access_pages(-1, a, (16ull << 20) + 1, 0, &bad, 1u << 5));
	EXPECT_EQ(-EOPNOTSUPP, access_pages(-1, a, P, 0, &bad, 1u << 5));
	EXPECT_EQ(-EBADFD, access_pages(-1, a, P, 0, &bad));
	EXPECT_EQ(-EBADFD, access_pages(12345, a, P, 0, &bad));
	EXPECT_EQ(-EOPNOTSUPP, access_pages(copier, a, P, 0, &bad));
	EXPECT_EQ(-EINVAL, access_pages(fd, a, 0, 0, &bad));
	EXPECT_EQ(-EOVERFLOW, access_pages(fd, UINT64_MAX - P + 1, 2 * P, 0, &bad));
	EXPECT_EQ(-ENOENT, access_pages(fd, a + 16 * P, P, 0, &bad));
	EXPECT_EQ(-ENOENT, access_pages(fd, a + 15 * P, 2 * P, 0, &bad)); // runs off the end
	EXPECT_EQ(-EPERM, access_pages(fd, a + (1ull << 20), P, 0, &bad));
	EXPECT_EQ(0, access_pages(fd, a + (1ull << 20), P, 0, &bad, 0)); // read-only is fine
	EXPECT_EQ(0, destroy_access_pages(fd, bad));
	EXPECT_EQ(8u, fake_kapi::total_pins());

	EXPECT_EQ(0, destroy_access_pages(fd, item));
	EXPECT_EQ(-ENOENT, destroy_access_pages(fd, item));
	EXPECT_EQ(-EBADFD, destroy_access_pages(12345, item2));
	EXPECT_EQ(8u, fake_kapi::total_pins());
	EXPECT_EQ(0, destroy_access_pages(fd, item2));
	EXPECT_EQ(0u, fake_kapi::total_pins());

	// With a domain the pages are pinned already: the access shares them.
	MockDev d = new_mock(ioas);
	EXPECT_EQ(20u, fake_kapi::total_pins());
	ASSERT_EQ(0, access_pages(fd, a, 16 * P, kVa, &item));
	EXPECT_EQ(20u, fake_kapi::total_pins());
	// Closing the fd drops its items.
	close_fd(fd);
	EXPECT_EQ(20u, fake_kapi::total_pins());
	EXPECT_EQ(0, destroy(d.stdev));
	EXPECT_EQ(0u, fake_kapi::total_pins());
}

TEST_F(HwptIoctl, AccessRw)
{
	uint32_t ioas = ioas_with_map(4);
	uint64_t pfn2 = map_contig(kVa + 64 * P, 4);
	ASSERT_EQ(0, map_fixed(ioas, kVa + 64 * P, 4 * P, kAperture + 4 * P));
	ASSERT_EQ(0, map_fixed(ioas, kVa, P, kAperture + (1ull << 20), IOMMU_IOAS_MAP_READABLE));
	int fd;
	ASSERT_EQ(0, create_access(ioas, &fd, 0));
	const uint64_t a = kAperture;

	// Across the boundary of two areas, both ways, fast and slow path.
	char out[300], in[300];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = char(i * 7 + 1);
	for (uint32_t slow : { 0u, uint32_t(MOCK_ACCESS_RW_SLOW_PATH) }) {
		ASSERT_EQ(0, access_rw(fd, a + 4 * P - 100, out, sizeof(out),
				       MOCK_ACCESS_RW_WRITE | slow));
		memset(in, 0, sizeof(in));
		ASSERT_EQ(0, access_rw(fd, a + 4 * P - 100, in, sizeof(in), slow));
		EXPECT_EQ(0, memcmp(out, in, sizeof(in)));
	}
	char check[200];
	fake_kapi::phys_read(pfn2, 0, check, sizeof(check));
	EXPECT_EQ(0, memcmp(out + 100, check, sizeof(check)));
	EXPECT_TRUE(fake_kapi::pfn_dirty(pfn2));
	EXPECT_EQ(0u, fake_kapi::total_pins()); // transient pins only

	// Errors, in upstream's order.
	EXPECT_EQ(-ENOMEM, access_rw(-1, a, in, (16ull << 20) + 1, 1u << 6));
	EXPECT_EQ(-EOPNOTSUPP, access_rw(-1, a, in, 1, 1u << 6));
	EXPECT_EQ(-EBADFD, access_rw(-1, a, in, 1, 0));
	EXPECT_EQ(-EINVAL, access_rw(fd, a, in, 0, 0));
	EXPECT_EQ(-EOVERFLOW, access_rw(fd, UINT64_MAX, in, 2, 0));
	EXPECT_EQ(-ENOENT, access_rw(fd, a + 8 * P, in, 1, 0));
	EXPECT_EQ(-ENOENT, access_rw(fd, a + 8 * P - 1, in, 2, 0));
	EXPECT_EQ(-EPERM, access_rw(fd, a + (1ull << 20), in, 1, MOCK_ACCESS_RW_WRITE));
	EXPECT_EQ(0, access_rw(fd, a + (1ull << 20), in, 1, 0));
	// The user buffer: read before a write, written after a read.
	fake_kapi::add_fault_range(uptr(in), sizeof(in));
	EXPECT_EQ(-EFAULT, access_rw(fd, a, in, 10, MOCK_ACCESS_RW_WRITE));
	EXPECT_EQ(-EFAULT, access_rw(fd, a, in, 10, 0));
	EXPECT_EQ(-EFAULT, access_rw(fd, a + 8 * P, in, 10, MOCK_ACCESS_RW_WRITE));
	EXPECT_EQ(-ENOENT, access_rw(fd, a + 8 * P, in, 10, 0)); // before the copy-out
	fake_kapi::clear_fault_ranges();
	// Guest memory that is gone.
	fake_kapi::add_fault_range(kVa + 2 * P, P);
	EXPECT_EQ(-EFAULT, access_rw(fd, a + 2 * P, in, 10, 0));
	fake_kapi::clear_fault_ranges();
}

TEST_F(HwptIoctl, UnmapTellsTheAccess)
{
	uint32_t ioas = ioas_with_map(8);
	ASSERT_EQ(0, map_fixed(ioas, kVa, 8 * P, kAperture + 8 * P));
	ASSERT_EQ(0, map_fixed(ioas, kVa, 8 * P, kAperture + 32 * P));
	int fd;
	ASSERT_EQ(0, create_access(ioas, &fd));
	const uint64_t a = kAperture;
	uint32_t i1, i2, i3;
	ASSERT_EQ(0, access_pages(fd, a + 2 * P, 2 * P, 0, &i1));
	ASSERT_EQ(0, access_pages(fd, a + 6 * P, 4 * P, 0, &i2)); // spans two areas
	ASSERT_EQ(0, access_pages(fd, a + 32 * P, P, 0, &i3));
	// Each area has Pages of its own: 4 + 2 pages of the first two, 1 of
	// the third.
	EXPECT_EQ(7u, fake_kapi::total_pins());

	// Unmapping the second area drops the item that reaches into it,
	// both halves, and nothing else.
	uint64_t n = 0;
	ASSERT_EQ(0, unmap(ioas, a + 8 * P, 8 * P, &n));
	EXPECT_EQ(8 * P, n);
	EXPECT_EQ(-ENOENT, destroy_access_pages(fd, i2));
	EXPECT_EQ(0, destroy_access_pages(fd, i1));
	ASSERT_EQ(0, access_pages(fd, a + 2 * P, 2 * P, 0, &i1));
	// Unmap everything: every item goes.
	ASSERT_EQ(0, unmap(ioas, 0, UINT64_MAX, &n));
	EXPECT_EQ(16 * P, n);
	EXPECT_EQ(-ENOENT, destroy_access_pages(fd, i1));
	EXPECT_EQ(-ENOENT, destroy_access_pages(fd, i3));
	EXPECT_EQ(0u, fake_kapi::total_pins());
	EXPECT_EQ(0u, area_count(ioas));
}

TEST_F(HwptIoctl, AccessReplaceIoas)
{
	uint32_t a = ioas_with_map(4);
	uint32_t b = ioas_with_map(4, kAperture, kVa + 64 * P);
	int fd;
	ASSERT_EQ(0, create_access(a, &fd));
	uint32_t item;
	ASSERT_EQ(0, access_pages(fd, kAperture, 2 * P, kVa, &item));
	EXPECT_EQ(-EBUSY, destroy(a));

	EXPECT_EQ(-ENOENT, access_replace(fd, 999));
	EXPECT_EQ(-EBADFD, access_replace(12345, b));
	EXPECT_EQ(0, access_replace(fd, a)); // the same IOAS: nothing happens
	EXPECT_EQ(2u, fake_kapi::total_pins());
	ASSERT_EQ(0, access_replace(fd, b));
	EXPECT_EQ(0u, fake_kapi::total_pins()); // the old IOAS's pins are dropped
	EXPECT_EQ(-ENOENT, destroy_access_pages(fd, item));
	EXPECT_EQ(0, destroy(a));
	EXPECT_EQ(-EBUSY, destroy(b));
	ASSERT_EQ(0, access_pages(fd, kAperture, 2 * P, kVa + 64 * P, &item));

	// An IOAS whose areas are not page aligned: EADDRINUSE, and the access
	// stays where it was, pins and all.
	uint32_t c = new_ioas();
	uint64_t iova = 0;
	ASSERT_EQ(0, map(c, kVa + 100, P, &iova));
	EXPECT_EQ(-EADDRINUSE, access_replace(fd, c));
	EXPECT_EQ(2u, fake_kapi::total_pins());
	EXPECT_EQ(0, destroy(c));
	EXPECT_EQ(-EBUSY, destroy(b));
	EXPECT_EQ(0, destroy_access_pages(fd, item));
}

// ---- fault queues -----------------------------------------------------------------------------------

TEST_F(HwptIoctl, FaultQueueReadAndRespond)
{
	uint32_t ioas = new_ioas();
	MockDev d = new_mock(ioas);
	uint32_t fault, parent, iopf;
	int fd;
	EXPECT_EQ(-EOPNOTSUPP, fault_alloc(&fault, &fd, 1));
	ASSERT_EQ(0, fault_alloc(&fault, &fd));
	EXPECT_EQ(1, fake_kapi::file_refs_held() - file_refs_before_);
	EXPECT_EQ(-EBUSY, destroy(fault)); // its fd holds it
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
	ASSERT_EQ(0, hwpt_alloc_nested(d.idev, parent, &iopf, IOMMU_HWPT_FAULT_ID_VALID, fault));
	MockDev e = new_mock(iopf);

	EXPECT_FALSE(fault_readable(fd));
	iommu_hwpt_pgfault rec[4];
	EXPECT_EQ(0, fault_read(fd, rec, sizeof(rec))); // nothing queued
	ASSERT_EQ(0, trigger_iopf(e.idev, 0x10, 3, IOMMU_PGFAULT_PERM_READ, 0xdead000));
	EXPECT_TRUE(fault_readable(fd));
	EXPECT_EQ(-ESPIPE, fault_read(fd, rec, sizeof(rec[0]) - 1));
	// A read too small for the queued fault is EINVAL, as upstream.
	EXPECT_EQ(-EINVAL, fault_read(fd, rec, 0));
	memset(rec, 0xff, sizeof(rec));
	ASSERT_EQ(long(sizeof(rec[0])), fault_read(fd, rec, sizeof(rec)));
	EXPECT_EQ(uint32_t(IOMMU_PGFAULT_FLAGS_LAST_PAGE | IOMMU_PGFAULT_FLAGS_PASID_VALID),
		  rec[0].flags);
	EXPECT_EQ(e.idev, rec[0].dev_id);
	EXPECT_EQ(0x10u, rec[0].pasid);
	EXPECT_EQ(3u, rec[0].grpid);
	EXPECT_EQ(uint32_t(IOMMU_PGFAULT_PERM_READ), rec[0].perm);
	EXPECT_EQ(0xdead000u, rec[0].addr);
	EXPECT_EQ(0u, rec[0].length);
	EXPECT_NE(0u, rec[0].cookie);
	EXPECT_FALSE(fault_readable(fd));

	// Responses: whole records, a known code, a cookie that awaits one.
	iommu_hwpt_page_response resp[2] = { { .cookie = rec[0].cookie, .code = 7 } };
	EXPECT_EQ(-ESPIPE, fault_write(fd, resp, sizeof(resp[0]) + 1));
	EXPECT_EQ(-EINVAL, fault_write(fd, resp, sizeof(resp[0])));
	resp[0] = { .cookie = rec[0].cookie + 100, .code = IOMMUFD_PAGE_RESP_SUCCESS };
	EXPECT_EQ(-EINVAL, fault_write(fd, resp, sizeof(resp[0])));
	EXPECT_EQ(-EFAULT, fault_write(fd, nullptr, sizeof(resp[0])));
	resp[0].cookie = rec[0].cookie;
	resp[1] = resp[0]; // answered twice: the second is unknown by then
	EXPECT_EQ(long(sizeof(resp[0])), fault_write(fd, resp, sizeof(resp)));

	// No PASID: no PASID_VALID.  Several faults, read two at a time.
	for (uint32_t g = 0; g < 3; g++)
		ASSERT_EQ(0, trigger_iopf(e.idev, 0, g, IOMMU_PGFAULT_PERM_WRITE, 0x1000 * g));
	ASSERT_EQ(long(2 * sizeof(rec[0])), fault_read(fd, rec, 2 * sizeof(rec[0])));
	EXPECT_EQ(uint32_t(IOMMU_PGFAULT_FLAGS_LAST_PAGE), rec[0].flags);
	EXPECT_EQ(0u, rec[0].grpid);
	EXPECT_EQ(1u, rec[1].grpid);
	EXPECT_NE(rec[0].cookie, rec[1].cookie);
	// The second slot of the buffer faults: one record comes back.
	fake_kapi::add_fault_range(uptr(&rec[3]), sizeof(rec[3]));
	ASSERT_EQ(0, trigger_iopf(e.idev, 0, 5, 0, 0));
	ASSERT_EQ(long(sizeof(rec[0])), fault_read(fd, &rec[2], 2 * sizeof(rec[0])));
	EXPECT_EQ(2u, rec[2].grpid);
	// Nothing read at all: EFAULT, and the fault stays queued.
	EXPECT_EQ(-EFAULT, fault_read(fd, &rec[3], sizeof(rec[0])));
	fake_kapi::clear_fault_ranges();
	EXPECT_TRUE(fault_readable(fd));
	ASSERT_EQ(long(sizeof(rec[0])), fault_read(fd, &rec[3], sizeof(rec)  - 3 * sizeof(rec[0])));
	EXPECT_EQ(5u, rec[3].grpid);
	resp[0] = { .cookie = rec[1].cookie, .code = IOMMUFD_PAGE_RESP_INVALID };
	resp[1] = { .cookie = rec[2].cookie, .code = IOMMUFD_PAGE_RESP_SUCCESS };
	EXPECT_EQ(long(sizeof(resp)), fault_write(fd, resp, sizeof(resp)));

	// Faults of a device that leaves are dropped, read or not.
	ASSERT_EQ(0, trigger_iopf(e.idev, 0, 9, 0, 0));
	EXPECT_TRUE(fault_readable(fd));
	EXPECT_EQ(0, destroy(e.stdev));
	EXPECT_FALSE(fault_readable(fd));
	resp[0] = { .cookie = rec[0].cookie, .code = IOMMUFD_PAGE_RESP_SUCCESS };
	EXPECT_EQ(-EINVAL, fault_write(fd, resp, sizeof(resp[0])));

	// A device without a fault queue: the fault is answered for it.
	EXPECT_EQ(0, trigger_iopf(d.idev, 0, 0, 0, 0));
	EXPECT_EQ(-ENOENT, trigger_iopf(999, 0, 0, 0, 0));
	EXPECT_EQ(-ENOENT, trigger_iopf(d.stdev, 0, 0, 0, 0));

	// The fd closes; the HWPT still holds the queue.
	close_fd(fd);
	EXPECT_EQ(0, fake_kapi::file_refs_held() - file_refs_before_);
	EXPECT_EQ(-EBUSY, destroy(fault));
	EXPECT_EQ(0, destroy(iopf));
	EXPECT_EQ(0, destroy(fault));
}

// ---- IOMMU_DESTROY and release ---------------------------------------------------------------------

TEST_F(HwptIoctl, DestroyIsEbusyWhileInUse)
{
	uint32_t ioas = ioas_with_map(4);
	MockDev d = new_mock(ioas);
	uint32_t parent, nested, fault;
	int ffd, afd;
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
	ASSERT_EQ(0, fault_alloc(&fault, &ffd));
	ASSERT_EQ(0, hwpt_alloc_nested(d.idev, parent, &nested, IOMMU_HWPT_FAULT_ID_VALID, fault));
	MockDev e = new_mock(nested);
	uint32_t ioas2 = new_ioas();
	ASSERT_EQ(0, create_access(ioas2, &afd));

	EXPECT_EQ(-EBUSY, destroy(ioas));   // HWPTs
	EXPECT_EQ(-EBUSY, destroy(ioas2));  // the access
	EXPECT_EQ(-EBUSY, destroy(d.hwpt)); // the device
	EXPECT_EQ(-EBUSY, destroy(d.idev)); // its stdev
	EXPECT_EQ(-EBUSY, destroy(parent)); // the nested HWPT
	EXPECT_EQ(-EBUSY, destroy(nested)); // device e
	EXPECT_EQ(-EBUSY, destroy(fault));  // fd and nested HWPT
	EXPECT_EQ(-ENOENT, destroy(999));
	EXPECT_EQ(10, iommufd_cxx_live_objects());

	// Unwind by hand, in dependency order.
	EXPECT_EQ(0, destroy(e.stdev));
	EXPECT_EQ(0, destroy(nested));
	EXPECT_EQ(0, destroy(parent));
	close_fd(ffd);
	EXPECT_EQ(0, destroy(fault));
	EXPECT_EQ(0, destroy(d.stdev));
	EXPECT_EQ(0, destroy(ioas));
	close_fd(afd);
	EXPECT_EQ(0, destroy(ioas2));
	EXPECT_EQ(0, iommufd_cxx_live_objects());
	EXPECT_EQ(0u, fake_kapi::total_pins());
}

// Build a context full of live, interdependent objects with pins, then let
// user space close its three fds in every order: the context is released
// when the last one goes, and everything is freed and unpinned.
TEST_F(HwptIoctl, ReleaseInAnyOrder)
{
	close_iommufd(); // the fixture's own context
	ASSERT_TRUE(released_);
	const int orders[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
				   { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
	for (auto &order : orders) {
		SCOPED_TRACE(testing::Message() << order[0] << order[1] << order[2]);
		closed_ = released_ = false;
		ASSERT_EQ(0, iommufd_cxx_open(&ctx_, nullptr));
		fake_kapi::pin_reset();

		uint32_t a = ioas_with_map(16);
		uint32_t b = new_ioas();
		MockDev d = new_mock(a);
		MockDev d2 = new_mock(a, MOCK_FLAGS_DEVICE_HUGE_IOVA);
		uint32_t parent, nested, fault, dirty;
		int ffd, afd;
		ASSERT_EQ(0, hwpt_alloc(d.idev, a, IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
		ASSERT_EQ(0, hwpt_alloc(d.idev, a, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &dirty));
		ASSERT_EQ(0, set_dirty_tracking(dirty, true));
		ASSERT_EQ(0, fault_alloc(&fault, &ffd));
		ASSERT_EQ(0, hwpt_alloc_nested(d.idev, parent, &nested, IOMMU_HWPT_FAULT_ID_VALID,
					       fault));
		uint32_t pt = nested;
		ASSERT_EQ(0, mock_replace(d2.stdev, &pt));
		ASSERT_EQ(0, trigger_iopf(d2.idev, 0, 1, 0, 0));
		uint64_t ib = 0;
		MockDev db = new_mock(b);
		ASSERT_EQ(0, copy(b, a, kAperture, 16 * P, &ib));
		ASSERT_EQ(0, create_access(a, &afd));
		uint32_t item;
		ASSERT_EQ(0, access_pages(afd, kAperture, 8 * P, kVa, &item));
		EXPECT_EQ(16u, fake_kapi::total_pins());
		(void)db;

		for (int which : order) {
			if (which == 0)
				close_iommufd();
			else
				close_fd(which == 1 ? ffd : afd);
			EXPECT_EQ(which == order[2], released_);
		}
		EXPECT_EQ(0, iommufd_cxx_live_objects());
		EXPECT_EQ(allocs_before_, iommufd_cxx_live_allocs());
		EXPECT_EQ(0u, fake_kapi::total_pins());
		EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
		EXPECT_EQ(0, fake_kapi::owners_alive());
		EXPECT_EQ(file_refs_before_, fake_kapi::file_refs_held());
	}
}

// ---- allocation failure -------------------------------------------------------------------------------

// A realistic sequence: two mock domains on one IOAS (an automatic one and
// a NEST_PARENT one), a map filled into both, a copy into a second IOAS
// with its own domain, a memfd map, an access pinning and reading, a fault
// queue and a nested HWPT with a device moved onto it and a fault read,
// an unmap under the access's pins, a device leaving, then release.  Fail
// allocation n for n = 0, 1, 2, ... until a run completes: every failure
// is -ENOMEM (-EFAULT at a pin; a pin may merely stop short) from the call
// that hit it, and after release nothing is
// alive, held, pinned or charged.
TEST_F(HwptIoctl, AllocationFailureSweep)
{
	close_iommufd();
	ASSERT_TRUE(released_);
	int injected = 0;
	for (long nth = 0;; nth++) {
		SCOPED_TRACE(testing::Message() << "nth " << nth);
		fake_kapi::pin_reset();
		map_contig(kVa, 64);
		int memfd = fake_kapi::memfd_create(16, 4);
		closed_ = released_ = false;
		fake_kapi::fail_alloc_after(nth);
		long r = iommufd_cxx_open(&ctx_, nullptr);
		int step = 0;
		if (r) {
			released_ = true; // nothing to release
		} else {
			uint32_t a = 0, b = 0, h2 = 0, fault = 0, nested = 0, item = 0;
			MockDev d1, d2, d3;
			int afd = -1, ffd = -1;
			uint64_t iova = 0, ib = 0, ifile = 0;
			char buf[64];
			iommu_hwpt_pgfault rec;
			auto run = [&]() -> long {
				long e;
				iommu_ioas_alloc c = { .size = sizeof(c) };
				SWEEP_STEP(ioctl(IOMMU_IOAS_ALLOC, &c));
				a = c.out_ioas_id;
				SWEEP_STEP(mock_domain(a, &d1));
				SWEEP_STEP(hwpt_alloc(d1.idev, a, IOMMU_HWPT_ALLOC_NEST_PARENT, &h2));
				SWEEP_STEP(mock_domain(h2, &d2));
				SWEEP_STEP(map(a, kVa, 64 * P, &iova));
				c = { .size = sizeof(c) };
				SWEEP_STEP(ioctl(IOMMU_IOAS_ALLOC, &c));
				b = c.out_ioas_id;
				SWEEP_STEP(mock_domain(b, &d3));
				SWEEP_STEP(copy(b, a, iova + 8 * P, 32 * P, &ib));
				SWEEP_STEP(map_file(b, memfd, 0, 16 * P, &ifile));
				SWEEP_STEP(create_access(a, &afd));
				SWEEP_STEP(access_pages(afd, iova, 4 * P, kVa, &item));
				SWEEP_STEP(access_rw(afd, iova + 100, buf, sizeof(buf), 0));
				SWEEP_STEP(fault_alloc(&fault, &ffd));
				SWEEP_STEP(hwpt_alloc_nested(d1.idev, h2, &nested, IOMMU_HWPT_FAULT_ID_VALID,
						       fault));
				uint32_t pt = nested;
				SWEEP_STEP(mock_replace(d2.stdev, &pt));
				SWEEP_STEP(trigger_iopf(d2.idev, 0, 1, 0, 0x1000));
				step++;
				if (fault_read(ffd, &rec, sizeof(rec)) != long(sizeof(rec)))
					return -EIO;
				uint64_t n;
				SWEEP_STEP(unmap(a, iova, 64 * P, &n));
				SWEEP_STEP(destroy(d1.stdev));
				return 0;
			};
			r = run();
			// Release, in the kernel's order: the fds keep the file.
			close_iommufd();
			if (afd >= 0)
				close_fd(afd);
			if (ffd >= 0)
				close_fd(ffd);
		}
		bool hit = fake_kapi::injected();
		fake_kapi::fail_alloc_after(-1);
		ASSERT_TRUE(released_) << "step " << step << " r " << r;
		if (hit) {
			// -ENOMEM from an allocation; -EFAULT from the pin sites of
			// the module's own fault injection point, or 0 where that
			// point only made a pin stop short (the next batch goes on).
			ASSERT_TRUE(r == -ENOMEM || r == -EFAULT || r == 0)
				<< "step " << step << " r " << r;
			injected++;
		} else {
			ASSERT_EQ(0, r) << "step " << step;
		}
		ASSERT_EQ(0, iommufd_cxx_live_objects()) << "step " << step;
		ASSERT_EQ(allocs_before_, iommufd_cxx_live_allocs()) << "step " << step;
		ASSERT_EQ(0, fake_kapi::mutexes_held());
		ASSERT_EQ(0u, fake_kapi::total_pins()) << "step " << step;
		ASSERT_EQ(0u, fake_kapi::user_locked_vm(0)) << "step " << step;
		ASSERT_EQ(0u, fake_kapi::mm_pinned_vm(0)) << "step " << step;
		ASSERT_EQ(0, fake_kapi::owners_alive());
		ASSERT_EQ(0, fake_kapi::memfd_refs());
		ASSERT_EQ(file_refs_before_, fake_kapi::file_refs_held());
		if (!hit)
			break;
	}
	EXPECT_GT(injected, 50);
}

} // namespace
