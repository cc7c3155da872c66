// SPDX-License-Identifier: GPL-2.0
//
// vsmmu_ioctl_test.cpp - the vIOMMU uAPI over the software SMMUv3, driven
// through iommufd_cxx_ioctl as user space drives it: IOMMU_VIOMMU_ALLOC,
// IOMMU_VDEVICE_ALLOC, IOMMU_VEVENTQ_ALLOC, nested HWPTs from a guest STE,
// IOMMU_HWPT_INVALIDATE on the vIOMMU, and the test ABI's MOCK_SMMUV3 and
// SMMU_DMA ops.  The translation itself is the model's (smmuv3_model_test)
// and the VM's (selftests/iommufd_smmuv3.c, real AArch64 tables); here it
// is the object lifetimes, the reference rules and every error path,
// including an allocation-failure sweep over the whole chain that must
// leave nothing behind.
#include "uapi_fixture.h"

#include "smmuv3/regs.hpp"

namespace uapi_test {
namespace {

namespace ste = iommufd::smmuv3::ste;

// The module-lifetime state (the software SMMUv3) that module load makes.
class VsmmuIoctl : public UapiTest {
protected:
	static void SetUpTestSuite() { ASSERT_EQ(0, iommufd_cxx_init()); }
	static void TearDownTestSuite() { iommufd_cxx_exit(); }

	long mock_smmuv3(uint32_t pt, MockDev *out, uint32_t *sid = nullptr)
	{
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_CXX_MOCK_SMMUV3, .id = pt };
		long r = test_cmd(c);
		if (!r) {
			*out = { c.mock_smmuv3.out_stdev_id, c.mock_smmuv3.out_hwpt_id,
				 c.mock_smmuv3.out_idev_id };
			if (sid)
				*sid = c.mock_smmuv3.out_sid;
		}
		return r;
	}
	long viommu_alloc(uint32_t dev, uint32_t hwpt, uint32_t *out,
			  uint32_t type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3, uint32_t flags = 0)
	{
		iommu_viommu_alloc c = { .size = sizeof(c), .flags = flags, .type = type,
					 .dev_id = dev, .hwpt_id = hwpt };
		long r = ioctl(IOMMU_VIOMMU_ALLOC, &c);
		*out = c.out_viommu_id;
		return r;
	}
	long vdevice_alloc(uint32_t viommu, uint32_t dev, uint64_t virt_id, uint32_t *out)
	{
		iommu_vdevice_alloc c = { .size = sizeof(c), .viommu_id = viommu, .dev_id = dev,
					  .virt_id = virt_id };
		long r = ioctl(IOMMU_VDEVICE_ALLOC, &c);
		*out = c.out_vdevice_id;
		return r;
	}
	long veventq_alloc(uint32_t viommu, uint32_t *id, int *fd, uint32_t depth = 4,
			   uint32_t type = IOMMU_VEVENTQ_TYPE_ARM_SMMUV3)
	{
		iommu_veventq_alloc c = { .size = sizeof(c), .viommu_id = viommu, .type = type,
					  .veventq_depth = depth };
		long r = ioctl(IOMMU_VEVENTQ_ALLOC, &c);
		if (!r) {
			*id = c.out_veventq_id;
			*fd = int(c.out_veventq_fd);
			fds_.insert(*fd);
		}
		return r;
	}
	long veventq_read(int fd, void *buf, size_t count)
	{
		void *ref;
		void *priv = kapi_fd_get(fd, KAPI_FD_VEVENTQ, &ref);
		if (!priv)
			return -EBADF;
		long r = iommufd_cxx_veventq_read(priv, uptr(buf), count);
		kapi_fd_put(ref);
		return r;
	}
	long nested_alloc(uint32_t dev, uint32_t viommu, uint64_t w0, uint64_t w1, uint32_t *out,
			  uint32_t len = sizeof(iommu_hwpt_arm_smmuv3))
	{
		iommu_hwpt_arm_smmuv3 data = { { w0, w1 } };
		iommu_hwpt_alloc c = { .size = sizeof(c), .dev_id = dev, .pt_id = viommu,
				       .data_type = IOMMU_HWPT_DATA_ARM_SMMUV3, .data_len = len,
				       .data_uptr = uptr(&data) };
		long r = ioctl(IOMMU_HWPT_ALLOC, &c);
		*out = c.out_hwpt_id;
		return r;
	}
	long commands(uint32_t viommu, const uint64_t (*cmds)[2], uint32_t *num,
		      uint32_t entry_len = 16)
	{
		return invalidate(viommu, cmds, entry_len, num,
				  IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3);
	}
	long dma(uint32_t stdev, uint64_t iova, void *buf, uint64_t len, bool write,
		 uint32_t *event, uint32_t *done = nullptr)
	{
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_CXX_SMMU_DMA, .id = stdev };
		c.smmu_dma.flags = write ? SMMU_DMA_WRITE : 0;
		c.smmu_dma.iova = iova;
		c.smmu_dma.length = len;
		c.smmu_dma.uptr = uptr(buf);
		long r = test_cmd(c);
		*event = c.smmu_dma.out_event;
		if (done)
			*done = c.smmu_dma.out_done;
		return r;
	}

	static uint64_t s1_ste(uint64_t cd_ipa)
	{
		return ste::k0V | ste::k0Config.prep(ste::kConfigS1Trans) |
		       ste::k0S1ContextPtr.prep(cd_ipa >> 6);
	}

	// IOAS with 16 pages of zeroed guest memory at the aperture, a
	// MOCK_SMMUV3 device on it, a nest parent and a vIOMMU.
	void build(uint32_t *ioas, MockDev *dev, uint32_t *parent, uint32_t *viommu)
	{
		map_contig(kVa, 16);
		*ioas = new_ioas();
		ASSERT_EQ(0, map_fixed(*ioas, kVa, 16 * P, kAperture));
		ASSERT_EQ(0, mock_smmuv3(*ioas, dev));
		ASSERT_EQ(0, hwpt_alloc(dev->idev, *ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, parent));
		ASSERT_EQ(0, viommu_alloc(dev->idev, *parent, viommu));
	}
};

TEST_F(VsmmuIoctl, HwInfoIsArmSmmuV3)
{
	uint32_t ioas = new_ioas();
	MockDev d;
	ASSERT_EQ(0, mock_smmuv3(ioas, &d));
	iommu_hw_info_arm_smmuv3 info = {};
	uint32_t len = sizeof(info), type = 0;
	ASSERT_EQ(0, hw_info(d.idev, &info, &len, &type));
	EXPECT_EQ(uint32_t(IOMMU_HW_INFO_TYPE_ARM_SMMUV3), type);
	EXPECT_EQ(sizeof(info), len);
	EXPECT_EQ(3u, info.idr[0] & 3u);		      // S1P and S2P
	EXPECT_EQ(1u << 4, info.idr[5] & (7u << 4)); // 4 KiB granule only
}

TEST_F(VsmmuIoctl, ViommuAllocErrors)
{
	uint32_t ioas = new_ioas(), parent, plain_parent, paging, v;
	MockDev d, plain;
	ASSERT_EQ(0, mock_smmuv3(ioas, &d));
	ASSERT_EQ(0, mock_domain(ioas, &plain));
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, 0, &paging));
	ASSERT_EQ(0, hwpt_alloc(plain.idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &plain_parent));

	EXPECT_EQ(-EOPNOTSUPP, viommu_alloc(d.idev, parent, &v, IOMMU_VIOMMU_TYPE_DEFAULT));
	EXPECT_EQ(-EOPNOTSUPP, viommu_alloc(d.idev, parent, &v, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, 1));
	EXPECT_EQ(-ENOENT, viommu_alloc(9999, parent, &v));
	EXPECT_EQ(-EOPNOTSUPP, viommu_alloc(plain.idev, plain_parent, &v));
	EXPECT_EQ(-ENOENT, viommu_alloc(d.idev, ioas, &v));
	EXPECT_EQ(-EINVAL, viommu_alloc(d.idev, paging, &v));
	EXPECT_EQ(-EINVAL, viommu_alloc(d.idev, plain_parent, &v));
	EXPECT_EQ(-EOPNOTSUPP, viommu_alloc(d.idev, parent, &v, IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV));
	ASSERT_EQ(0, viommu_alloc(d.idev, parent, &v));
	// The vIOMMU holds its parent.
	EXPECT_EQ(-EBUSY, destroy(parent));
	EXPECT_EQ(0, destroy(v));
	EXPECT_EQ(0, destroy(parent));
}

TEST_F(VsmmuIoctl, VdeviceAndNestedErrors)
{
	uint32_t ioas, parent, v, vd, vd2, h;
	MockDev d, plain;
	build(&ioas, &d, &parent, &v);
	ASSERT_EQ(0, mock_domain(ioas, &plain));

	EXPECT_EQ(-ENOENT, vdevice_alloc(9999, d.idev, 1, &vd));
	EXPECT_EQ(-ENOENT, vdevice_alloc(v, 9999, 1, &vd));
	EXPECT_EQ(-EINVAL, vdevice_alloc(v, plain.idev, 1, &vd));
	EXPECT_EQ(-EINVAL, vdevice_alloc(v, d.idev, 1ull << 32, &vd));
	ASSERT_EQ(0, vdevice_alloc(v, d.idev, 0x42, &vd));
	EXPECT_EQ(-EEXIST, vdevice_alloc(v, d.idev, 0x43, &vd2));
	MockDev d2;
	ASSERT_EQ(0, mock_smmuv3(ioas, &d2));
	EXPECT_EQ(-EEXIST, vdevice_alloc(v, d2.idev, 0x42, &vd2));

	const uint64_t w0 = s1_ste(kAperture);
	EXPECT_EQ(-EINVAL, nested_alloc(d.idev, v, w0, 0, &h, 8));
	EXPECT_EQ(-EINVAL, nested_alloc(plain.idev, v, w0, 0, &h));
	EXPECT_EQ(-EIO, nested_alloc(d.idev, v, w0 | ste::k0Config.prep(ste::kConfigNested), 0,
				     &h));
	EXPECT_EQ(-EIO, nested_alloc(d.idev, v, w0, 1ull << 40, &h));
	iommu_hwpt_alloc wrong = { .size = sizeof(wrong), .dev_id = d.idev, .pt_id = v };
	EXPECT_EQ(-EINVAL, ioctl(IOMMU_HWPT_ALLOC, &wrong)); // data type NONE
	ASSERT_EQ(0, nested_alloc(d.idev, v, w0, 0, &h));
	// The mock's nested data on a paging parent is not the SMMUv3's way.
	uint32_t selftest_nested;
	EXPECT_EQ(-EOPNOTSUPP, hwpt_alloc_nested(d.idev, parent, &selftest_nested));

	// A stage-1 STE needs the device's vDEVICE; d2 has none.
	uint32_t pt = h;
	EXPECT_EQ(-ENOENT, mock_replace(d2.stdev, &pt));
	EXPECT_EQ(-EINVAL, mock_replace(plain.stdev, &pt));
	ASSERT_EQ(0, mock_replace(d.stdev, &pt));
	EXPECT_EQ(-EBUSY, destroy(v));
	EXPECT_EQ(-EBUSY, destroy(h));
	pt = ioas;
	ASSERT_EQ(0, mock_replace(d.stdev, &pt));
	EXPECT_EQ(0, destroy(h));
	EXPECT_EQ(-EBUSY, destroy(v)); // the vDEVICE
	EXPECT_EQ(-EBUSY, destroy(d.idev));
	EXPECT_EQ(0, destroy(vd));
	EXPECT_EQ(0, destroy(v));
}

TEST_F(VsmmuIoctl, InvalidateRules)
{
	uint32_t ioas, parent, v, vd, n;
	MockDev d;
	build(&ioas, &d, &parent, &v);
	ASSERT_EQ(0, vdevice_alloc(v, d.idev, 7, &vd));
	namespace cmd = iommufd::smmuv3::cmd;
	const uint64_t good[3][2] = {
		{ cmd::kOpTlbiNhAll, 0 },
		{ cmd::kOpCfgiCdAll | cmd::k0CfgiSid.prep(7), 0 },
		{ cmd::kOpTlbiNhAll | cmd::k0TlbiVmid.prep(0xffff), 0 },
	};
	n = 3;
	EXPECT_EQ(0, commands(v, good, &n));
	EXPECT_EQ(3u, n);
	n = 0;
	EXPECT_EQ(0, commands(v, good, &n)); // a probe
	n = 1;
	EXPECT_EQ(-EINVAL, invalidate(v, good, 16, &n, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1));
	const uint64_t bad[3][2] = {
		{ cmd::kOpTlbiNhAll, 0 },
		{ cmd::kOpCfgiCdAll | cmd::k0CfgiSid.prep(8), 0 }, // unknown vSID
		{ cmd::kOpTlbiNhAll, 0 },
	};
	n = 3;
	EXPECT_EQ(-EIO, commands(v, bad, &n));
	EXPECT_EQ(1u, n);
	// Entries shorter than the format are zero-extended; longer ones need a
	// zero tail.
	uint64_t wide[2][3] = { { cmd::kOpTlbiNhAll, 0, 0 }, { cmd::kOpTlbiNhAll, 0, 1 } };
	n = 2;
	EXPECT_EQ(-E2BIG, invalidate(v, wide, 24, &n, IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3));
	EXPECT_EQ(0u, n);
	n = 1;
	EXPECT_EQ(0, invalidate(v, wide, 24, &n, IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3));
	uint64_t narrow[1] = { cmd::kOpTlbiNhAll };
	n = 1;
	EXPECT_EQ(0, invalidate(v, narrow, 8, &n, IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3));
}

// A stage-1 STE whose CD is all zeroes (V == 0): the DMA stops with
// C_BAD_CD and the vEVENTQ gets the record with the vSID; a queue of depth
// 1 then loses the next one.
TEST_F(VsmmuIoctl, BadCdEventReachesTheQueue)
{
	uint32_t ioas, parent, v, vd, h, q, q2, sid, ev;
	MockDev d;
	int fd, fd2;
	map_contig(kVa, 16);
	ioas = new_ioas();
	ASSERT_EQ(0, map_fixed(ioas, kVa, 16 * P, kAperture));
	ASSERT_EQ(0, mock_smmuv3(ioas, &d, &sid));
	ASSERT_EQ(0, hwpt_alloc(d.idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
	ASSERT_EQ(0, viommu_alloc(d.idev, parent, &v));
	ASSERT_EQ(0, vdevice_alloc(v, d.idev, 0x99, &vd));
	EXPECT_EQ(-EOPNOTSUPP, veventq_alloc(v, &q, &fd, 1, IOMMU_VEVENTQ_TYPE_DEFAULT));
	EXPECT_EQ(-EINVAL, veventq_alloc(v, &q, &fd, 0));
	EXPECT_EQ(-ENOENT, veventq_alloc(9999, &q, &fd, 1));
	ASSERT_EQ(0, veventq_alloc(v, &q, &fd, 1));
	EXPECT_EQ(-EEXIST, veventq_alloc(v, &q2, &fd2, 1));
	ASSERT_EQ(0, nested_alloc(d.idev, v, s1_ste(kAperture), 0, &h));
	uint32_t pt = h;
	ASSERT_EQ(0, mock_replace(d.stdev, &pt));

	char buf[64] = {};
	uint32_t done = 1;
	ASSERT_EQ(0, dma(d.stdev, 0x1000, buf, 16, false, &ev, &done));
	EXPECT_EQ(0x0au, ev);
	EXPECT_EQ(0u, done);
	ASSERT_EQ(0, dma(d.stdev, 0x1000, buf, 16, true, &ev));

	struct {
		iommufd_vevent_header hdr;
		iommu_vevent_arm_smmuv3 rec;
		iommufd_vevent_header lost;
	} out = {};
	EXPECT_EQ(0, veventq_read(fd, &out, 8)); // no whole record fits
	ASSERT_EQ(long(sizeof(out)), veventq_read(fd, &out, sizeof(out)));
	EXPECT_EQ(0u, out.hdr.flags);
	EXPECT_EQ(0u, out.hdr.sequence);
	EXPECT_EQ(0x0au, out.rec.evt[0] & 0xff);
	EXPECT_EQ(0x99u, out.rec.evt[0] >> 32); // the vSID, not the StreamID
	EXPECT_NE(sid, 0x99u);
	EXPECT_EQ(uint32_t(IOMMU_VEVENTQ_FLAG_LOST_EVENTS), out.lost.flags);
	EXPECT_EQ(1u, out.lost.sequence);
	EXPECT_EQ(0, veventq_read(fd, &out, sizeof(out)));

	EXPECT_EQ(-EBUSY, destroy(q)); // its fd holds it
	close_fd(fd);
	EXPECT_EQ(0, destroy(q));
	pt = ioas;
	ASSERT_EQ(0, mock_replace(d.stdev, &pt));
}

// Fail allocation n for n = 0, 1, 2, ... over the whole chain until a run
// completes: each failure surfaces from the call that hit it and, after
// release, nothing of the chain is left.
TEST_F(VsmmuIoctl, AllocationFailureSweep)
{
	close_iommufd();
	ASSERT_TRUE(released_);
	int injected = 0;
	for (long nth = 0;; nth++) {
		SCOPED_TRACE(testing::Message() << "nth " << nth);
		fake_kapi::pin_reset();
		map_contig(kVa, 16);
		closed_ = released_ = false;
		fake_kapi::fail_alloc_after(nth);
		long r = iommufd_cxx_open(&ctx_, nullptr);
		int step = 0;
		int fd = -1;
		if (r) {
			released_ = true;
		} else {
			uint32_t ioas = 0, parent, v, vd, q, h, n, ev;
			MockDev d;
			auto run = [&]() -> long {
				long e;
				iommu_ioas_alloc c = { .size = sizeof(c) };
				SWEEP_STEP(ioctl(IOMMU_IOAS_ALLOC, &c));
				ioas = c.out_ioas_id;
				SWEEP_STEP(map_fixed(ioas, kVa, 16 * P, kAperture));
				SWEEP_STEP(mock_smmuv3(ioas, &d));
				SWEEP_STEP(hwpt_alloc(d.idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &parent));
				SWEEP_STEP(viommu_alloc(d.idev, parent, &v));
				SWEEP_STEP(vdevice_alloc(v, d.idev, 5, &vd));
				SWEEP_STEP(veventq_alloc(v, &q, &fd, 2));
				SWEEP_STEP(nested_alloc(d.idev, v, s1_ste(kAperture), 0, &h));
				uint32_t pt = h;
				SWEEP_STEP(mock_replace(d.stdev, &pt));
				const uint64_t cmds[1][2] = { { iommufd::smmuv3::cmd::kOpTlbiNhAll, 0 } };
				n = 1;
				SWEEP_STEP(commands(v, cmds, &n));
				char buf[8];
				SWEEP_STEP(dma(d.stdev, 0, buf, sizeof(buf), false, &ev));
				return 0;
			};
			r = run();
			close_iommufd();
			if (fd >= 0)
				close_fd(fd);
		}
		bool hit = fake_kapi::injected();
		fake_kapi::fail_alloc_after(-1);
		ASSERT_TRUE(released_) << "step " << step;
		if (hit) {
			// -ENOMEM from an allocation, -EFAULT from the module's own
			// fault injection point at a pin site; 0 where the failed
			// allocation was an event's record, which is then counted as
			// lost.
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
		ASSERT_EQ(file_refs_before_, fake_kapi::file_refs_held());
		if (!hit)
			break;
	}
	EXPECT_GT(injected, 15);
}

} // namespace
} // namespace uapi_test
