// SPDX-License-Identifier: GPL-2.0
//
// vfio_compat_test.cpp - the VFIO type1 container personality
// (vfio_compat/container.cpp, uapi/vfio_compat.h) through the C entry
// points the kernel calls, over the fake kapi:
//
//   - on a /dev/iommu context (iommufd_cxx_ioctl) and on this module's own
//     /dev/vfio/vfio node (iommufd_cxx_open_vfio_node): GET_API_VERSION,
//     CHECK_EXTENSION, SET_IOMMU, GET_INFO (the capability chain at every
//     argsz), MAP_DMA and UNMAP_DMA with every errno the uapi header names,
//     the TYPE1 (v1) splitting unmap and the TYPE1v2 crossing rule, the
//     no-IOMMU mode, and an allocation-failure sweep;
//   - as an IOMMU backend of vfio.ko (vfio_compat/backend.cpp through
//     iommufd_cxx_vfio_*), with fake groups and fake kernel iommu_domains
//     that record every map: attach fills the domain, groups share a
//     domain or get their own, reserved regions, MSI isolation, the MSI
//     cookie, detach, type1's MAP/UNMAP rules (alignment and wrap EINVAL,
//     v1 never cuts, v2 cuts EINVAL), and an allocation-failure sweep.
//
// The errnos are those uapi/vfio_compat.h documents; where two errors
// apply at once, the order is the one container.cpp checks them in
// (upstream vfio_compat.c's).
#include "uapi_fixture.h"

#include <algorithm>
#include <utility>

#include "ioas.hpp"
#include "uapi/vfio_compat.h"
#include "vfio_compat/backend.hpp"

using namespace uapi_test;

namespace {

constexpr uint32_t kDmaRW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
constexpr uint32_t kInfoSz = sizeof(vfio_iommu_type1_info);		   // 24
constexpr uint32_t kInfoMin = offsetof(vfio_iommu_type1_info, cap_offset); // 16
constexpr uint32_t kAvailSz = sizeof(vfio_iommu_type1_info_dma_avail);	   // 12
constexpr uint32_t kRangeCapSz = sizeof(vfio_iommu_type1_info_cap_iova_range);

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

// ---- the calls, shared by both fixtures ------------------------------------------

// One container ioctl through `call` (the /dev/iommu entry point or the
// vfio.ko backend's).
template <typename Call> struct Vfio {
	Call call;

	long raw(unsigned int cmd, unsigned long arg) { return call(cmd, arg); }
	long check(unsigned long ext) { return call(VFIO_CHECK_EXTENSION, ext); }
	long set_iommu(unsigned long type) { return call(VFIO_SET_IOMMU, type); }

	long map(uint64_t iova, uint64_t vaddr, uint64_t size, uint32_t flags = kDmaRW,
		 uint32_t argsz = sizeof(vfio_iommu_type1_dma_map))
	{
		vfio_iommu_type1_dma_map m = { .argsz = argsz, .flags = flags, .vaddr = vaddr,
					       .iova = iova, .size = size };
		return call(VFIO_IOMMU_MAP_DMA, uptr(&m));
	}
	// *size in: the request; out: what the kernel wrote back.
	long unmap(uint64_t iova, uint64_t *size, uint32_t flags = 0,
		   uint32_t argsz = sizeof(vfio_iommu_type1_dma_unmap))
	{
		vfio_iommu_type1_dma_unmap u = { .argsz = argsz, .flags = flags, .iova = iova,
						 .size = *size };
		long r = call(VFIO_IOMMU_UNMAP_DMA, uptr(&u));
		*size = u.size;
		return r;
	}
	// Unmap and return the bytes unmapped, or the negative errno.
	long unmap_bytes(uint64_t iova, uint64_t size, uint32_t flags = 0)
	{
		long r = unmap(iova, &size, flags);
		return r ? r : long(size);
	}
	long unmap_all(uint64_t *bytes)
	{
		*bytes = 0;
		return unmap(0, bytes, VFIO_DMA_UNMAP_FLAG_ALL);
	}

	// GET_INFO into `buf` (at least `argsz` bytes); returns the errno.
	long info(void *buf, uint32_t argsz)
	{
		memcpy(buf, &argsz, sizeof(argsz));
		return call(VFIO_IOMMU_GET_INFO, uptr(buf));
	}
};

// The reply GET_INFO must give for `ranges` and `pgsizes`, in full: the
// info struct, DMA_AVAIL (12 bytes, padded to 16) and IOVA_RANGE.  Pad
// bytes the kernel never writes are left as `fill`.
std::vector<uint8_t> expected_info(const Ranges &ranges, uint64_t pgsizes, uint8_t fill)
{
	const uint32_t avail_at = kInfoSz;
	const uint32_t range_at = avail_at + 16;
	const uint32_t total = range_at + kRangeCapSz + uint32_t(ranges.size()) * 16;
	std::vector<uint8_t> e(total, fill);
	vfio_iommu_type1_info info = { .argsz = total,
				       .flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS,
				       .iova_pgsizes = pgsizes, .cap_offset = kInfoSz };
	memcpy(&e[0], &info, offsetof(vfio_iommu_type1_info, pad));
	vfio_iommu_type1_info_dma_avail avail = {};
	avail.header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1, .next = range_at };
	avail.avail = UINT32_MAX;
	memcpy(&e[avail_at], &avail, kAvailSz);
	vfio_iommu_type1_info_cap_iova_range cap = {};
	cap.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1, .next = 0 };
	cap.nr_iovas = uint32_t(ranges.size());
	memcpy(&e[range_at], &cap, kRangeCapSz);
	for (size_t i = 0; i < ranges.size(); i++) {
		vfio_iova_range r = { .start = ranges[i].first, .end = ranges[i].second };
		memcpy(&e[range_at + kRangeCapSz + i * 16], &r, sizeof(r));
	}
	return e;
}

// GET_INFO at every argsz from 0 to past the whole reply: below 16 EINVAL
// with nothing written; otherwise nothing past argsz is written, the info
// struct comes back at min(argsz, 24) bytes with argsz = the size needed,
// cap_offset 0 until the whole chain fits, and every byte written inside
// the chain area is the byte of the full reply (no torn or corrupt
// capability).  At the full size and above, the reply is exactly `want`.
template <typename V> void check_info_every_argsz(V &v, const std::vector<uint8_t> &want)
{
	const uint32_t total = uint32_t(want.size());
	for (uint32_t argsz = 0; argsz <= total + 40; argsz++) {
		SCOPED_TRACE(argsz);
		uint8_t buf[512];
		memset(buf, 0xAA, sizeof(buf));
		long r = v.info(buf, argsz);
		if (argsz < kInfoMin) {
			ASSERT_EQ(-EINVAL, r);
			for (size_t i = 4; i < sizeof(buf); i++)
				ASSERT_EQ(0xAA, buf[i]) << i;
			continue;
		}
		ASSERT_EQ(0, r);
		for (size_t i = argsz; i < sizeof(buf); i++)
			ASSERT_EQ(0xAA, buf[i]) << "written past argsz at " << i;
		vfio_iommu_type1_info info;
		memcpy(&info, buf, sizeof(info));
		EXPECT_EQ(total, info.argsz);
		EXPECT_EQ(uint32_t(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS), info.flags);
		EXPECT_EQ(memcmp(&want[8], &buf[8], 8), 0) << "iova_pgsizes";
		if (argsz >= total) {
			EXPECT_EQ(kInfoSz, info.cap_offset);
			EXPECT_EQ(0, memcmp(&want[kInfoSz], &buf[kInfoSz], total - kInfoSz));
		} else {
			if (argsz >= offsetof(vfio_iommu_type1_info, pad)) {
				EXPECT_EQ(0u, info.cap_offset);
			}
			// A capability written before the next one fits still
			// ends the chain (next 0).
			const uint32_t next_at = kInfoSz + offsetof(vfio_info_cap_header, next);
			for (uint32_t i = kInfoSz; i < argsz; i++) {
				bool next = i >= next_at && i < next_at + 4 && buf[i] == 0;
				ASSERT_TRUE(buf[i] == 0xAA || buf[i] == want[i] || next)
					<< "byte " << i << " of a partial chain";
			}
		}
	}
}

// ---- the container on /dev/iommu --------------------------------------------------

class VfioCompat : public UapiTest {
protected:
	void SetUp() override
	{
		fake_kapi::iommu_reset();
		UapiTest::SetUp();
	}
	void TearDown() override
	{
		UapiTest::TearDown();
		fake_kapi::iommu_reset();
	}

	struct Call {
		VfioCompat *t;
		long operator()(unsigned int cmd, unsigned long arg)
		{
			return iommufd_cxx_ioctl(t->ctx_, cmd, arg);
		}
	};
	Vfio<Call> v{ Call{ this } };

	// An IOAS named by IOMMU_VFIO_IOAS, optionally with a mock device,
	// then SET_IOMMU(type).  Returns the IOAS ID; *dev the mock device.
	uint32_t container(unsigned long type, MockDev *dev = nullptr, uint32_t dev_flags = 0)
	{
		uint32_t ioas = new_ioas();
		uint32_t id = ioas;
		EXPECT_EQ(0, vfio_ioas(IOMMU_VFIO_IOAS_SET, &id));
		if (dev)
			*dev = new_mock(ioas, dev_flags);
		if (type) {
			EXPECT_EQ(0, v.set_iommu(type));
		}
		return ioas;
	}

	Ranges iova_ranges(uint32_t ioas)
	{
		iommu_iova_range r[16];
		iommu_ioas_iova_ranges c = { .size = sizeof(c), .ioas_id = ioas, .num_iovas = 16,
					     .allowed_iovas = uptr(r) };
		EXPECT_EQ(0, ioctl(IOMMU_IOAS_IOVA_RANGES, &c));
		Ranges out;
		for (uint32_t i = 0; i < c.num_iovas && i < 16; i++)
			out.push_back({ r[i].start, r[i].last });
		return out;
	}

	uint64_t huge_pages_option(uint32_t ioas)
	{
		uint64_t val = 7;
		EXPECT_EQ(0, option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas, &val));
		return val;
	}

	// Every Pages the IOAS maps passes its own invariant check.
	bool pages_valid(uint32_t ioas)
	{
		auto ref = ctx().objects().get<iommufd::Ioas>(ioas);
		if (!ref.ok())
			return false;
		bool ok = true;
		EXPECT_TRUE(ref.value()
				    ->iopt()
				    .for_each_pages([&](iommufd::iopt::Pages &p) -> cxx::Status {
					    ok = ok && p.validate();
					    return {};
				    })
				    .ok());
		return ok && ref.value()->iopt().validate();
	}
};

TEST_F(VfioCompat, ApiVersionAndUnservedNumbers)
{
	EXPECT_EQ(VFIO_API_VERSION, v.raw(VFIO_GET_API_VERSION, 0));
	EXPECT_EQ(0, v.raw(VFIO_GET_API_VERSION, 12345)); // the argument is ignored
	// Container numbers that are not served (group, device and dirty
	// ioctls, VFIO_IOMMU_DIRTY_PAGES): ENOTTY from the VFS.
	for (unsigned nr = 3; nr < 12; nr++)
		EXPECT_EQ(-ENOIOCTLCMD, v.raw(_IO(VFIO_TYPE, VFIO_BASE + nr), 0)) << nr;
	EXPECT_EQ(-ENOIOCTLCMD, v.raw(VFIO_IOMMU_DIRTY_PAGES, 0));
	EXPECT_EQ(-ENOIOCTLCMD, v.raw(_IO(VFIO_TYPE, VFIO_BASE + 15), 0));
	EXPECT_EQ(-ENOIOCTLCMD, v.raw(_IO(VFIO_TYPE, VFIO_BASE + 16), 0));
	// The same numbers of another type, or with a direction/size encoded.
	EXPECT_EQ(-ENOIOCTLCMD, v.raw(_IO('V', VFIO_BASE + 0), 0));
	EXPECT_EQ(-ENOIOCTLCMD, v.raw(_IOR(VFIO_TYPE, VFIO_BASE + 0, uint32_t), 0));
	EXPECT_EQ(-ENOIOCTLCMD, v.raw(_IO(VFIO_TYPE, 0), 0));
}

TEST_F(VfioCompat, CheckExtension)
{
	// Without an IOAS: the types are offered, coherency cannot be said.
	EXPECT_EQ(1, v.check(VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1, v.check(VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1, v.check(VFIO_UNMAP_ALL));
	EXPECT_EQ(-ENODEV, v.check(VFIO_DMA_CC_IOMMU));
	const unsigned long zero[] = { 0,
				       VFIO_SPAPR_TCE_IOMMU,
				       VFIO_EEH,
				       VFIO_TYPE1_NESTING_IOMMU,
				       VFIO_SPAPR_TCE_v2_IOMMU,
				       VFIO_NOIOMMU_IOMMU, // enable_unsafe_noiommu_mode=0
				       VFIO_UPDATE_VADDR,
				       11,
				       1000,
				       ~0ul };
	for (unsigned long ext : zero)
		EXPECT_EQ(0, v.check(ext)) << ext;

	uint32_t ioas = container(0);
	EXPECT_EQ(1, v.check(VFIO_DMA_CC_IOMMU)); // no domain: nothing incoherent
	new_mock(ioas);
	EXPECT_EQ(1, v.check(VFIO_DMA_CC_IOMMU)); // the mock enforces coherency
	for (unsigned long ext : zero)
		EXPECT_EQ(0, v.check(ext)) << ext;
	EXPECT_EQ(1, v.check(VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1, v.check(VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1, v.check(VFIO_UNMAP_ALL));
}

TEST_F(VfioCompat, SetIommu)
{
	// The type is checked before the IOAS is looked for.
	EXPECT_EQ(-ENODEV, v.set_iommu(VFIO_TYPE1_IOMMU));
	EXPECT_EQ(-ENODEV, v.set_iommu(VFIO_TYPE1v2_IOMMU));
	const unsigned long bad[] = { 0, VFIO_SPAPR_TCE_IOMMU, VFIO_TYPE1_NESTING_IOMMU,
				      VFIO_SPAPR_TCE_v2_IOMMU, VFIO_NOIOMMU_IOMMU,
				      VFIO_UNMAP_ALL, 99, ~0ul };
	for (unsigned long t : bad)
		EXPECT_EQ(-EINVAL, v.set_iommu(t)) << t;

	uint32_t a = container(0);
	for (unsigned long t : bad)
		EXPECT_EQ(-EINVAL, v.set_iommu(t)) << t;
	// TYPE1v2 leaves large pages on; TYPE1 turns them off.
	ASSERT_EQ(0, v.set_iommu(VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1u, huge_pages_option(a));
	ASSERT_EQ(0, v.set_iommu(VFIO_TYPE1_IOMMU));
	EXPECT_EQ(0u, huge_pages_option(a));

	// TYPE1 once a domain holds mappings made with large pages: EINVAL,
	// and large pages stay on.
	uint32_t b = new_ioas();
	uint32_t id = b;
	ASSERT_EQ(0, vfio_ioas(IOMMU_VFIO_IOAS_SET, &id));
	new_mock(b);
	map_contig(kVa, 4);
	ASSERT_EQ(0, v.map(kAperture, kVa, 4 * P));
	EXPECT_EQ(-EINVAL, v.set_iommu(VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1u, huge_pages_option(b));
	EXPECT_EQ(0, v.set_iommu(VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(4 * long(P), v.unmap_bytes(kAperture, 4 * P));
	EXPECT_EQ(0, v.set_iommu(VFIO_TYPE1_IOMMU));
	EXPECT_EQ(0u, huge_pages_option(b));

	// Without a domain the IOAS alignment is one byte, so v2 takes a
	// mapping that is not page aligned; TYPE1 then cannot align the IOAS
	// to the CPU page: EADDRINUSE (upstream's iopt_disable_large_pages).
	uint32_t c = container(VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, v.map(kAperture + 100, kVa + 100, P));
	EXPECT_EQ(-EADDRINUSE, v.set_iommu(VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1u, huge_pages_option(c));
	EXPECT_EQ(long(P), v.unmap_bytes(kAperture + 100, P));
	EXPECT_EQ(0, v.set_iommu(VFIO_TYPE1_IOMMU));
}

TEST_F(VfioCompat, GetInfoBadInput)
{
	uint8_t buf[128] = {};
	EXPECT_EQ(-ENODEV, v.info(buf, kInfoSz));
	EXPECT_EQ(-EINVAL, v.info(buf, kInfoMin - 1)); // before the IOAS lookup
	container(VFIO_TYPE1v2_IOMMU);
	EXPECT_EQ(-EINVAL, v.info(buf, 0));
	EXPECT_EQ(-EINVAL, v.info(buf, kInfoMin - 1));
	EXPECT_EQ(-EFAULT, v.raw(VFIO_IOMMU_GET_INFO, 0));
	EXPECT_EQ(-EFAULT, v.raw(VFIO_IOMMU_GET_INFO, 8));
	// The struct readable but the chain's room faulting: EFAULT.
	fake_kapi::add_fault_range(uptr(buf) + 32, 64);
	EXPECT_EQ(-EFAULT, v.info(buf, sizeof(buf)));
	fake_kapi::clear_fault_ranges();
	EXPECT_EQ(0, v.info(buf, sizeof(buf)));
}

TEST_F(VfioCompat, GetInfoPreCapAbi)
{
	MockDev d;
	container(VFIO_TYPE1v2_IOMMU, &d);
	vfio_iommu_type1_info info;
	uint8_t buf[64];
	memset(buf, 0xAA, sizeof(buf));
	ASSERT_EQ(0, v.info(buf, kInfoMin));
	memcpy(&info, buf, kInfoMin);
	EXPECT_EQ(uint32_t(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS), info.flags);
	// 2 KiB mock pages count as one CPU page.
	EXPECT_EQ(P, info.iova_pgsizes);
	for (size_t i = kInfoMin; i < sizeof(buf); i++)
		ASSERT_EQ(0xAA, buf[i]) << i;
}

TEST_F(VfioCompat, GetInfoPageSizes)
{
	uint8_t buf[kInfoSz];
	vfio_iommu_type1_info info;
	// No domain: every size from the CPU page up.
	uint32_t a = container(VFIO_TYPE1v2_IOMMU);
	ASSERT_EQ(0, v.info(buf, kInfoSz));
	memcpy(&info, buf, sizeof(info));
	EXPECT_EQ(~(P - 1), info.iova_pgsizes);
	// A mock domain with 1 MiB pages: its bitmap, 2 KiB rounded up to 4 KiB.
	MockDev d = new_mock(a, MOCK_FLAGS_DEVICE_HUGE_IOVA);
	ASSERT_EQ(0, v.info(buf, kInfoSz));
	memcpy(&info, buf, sizeof(info));
	EXPECT_EQ(P | (1ull << 20), info.iova_pgsizes);
	// Two domains: the sizes both support.
	MockDev d2 = new_mock(new_ioas());
	uint32_t hwpt = 0;
	ASSERT_EQ(0, hwpt_alloc(d2.idev, a, 0, &hwpt));
	ASSERT_EQ(0, v.info(buf, kInfoSz));
	memcpy(&info, buf, sizeof(info));
	EXPECT_EQ(P, info.iova_pgsizes);
	EXPECT_EQ(0, destroy(hwpt));
	EXPECT_EQ(0, destroy(d.stdev));
}

TEST_F(VfioCompat, GetInfoChainAtEveryArgsz)
{
	MockDev d;
	uint32_t ioas = container(VFIO_TYPE1v2_IOMMU, &d);
	Ranges r = iova_ranges(ioas);
	ASSERT_EQ(1u, r.size());
	EXPECT_EQ(kAperture, r[0].first);
	EXPECT_EQ(uint64_t(MOCK_APERTURE_LAST), r[0].second);
	{
		SCOPED_TRACE("one range");
		check_info_every_argsz(v, expected_info(r, P, 0xAA));
	}
	// Reserved holes split the window: the capability grows.
	ASSERT_EQ(0, add_reserved(ioas, kAperture + (1 << 20), 1 << 20));
	ASSERT_EQ(0, add_reserved(ioas, kAperture + (8 << 20), 4 * P));
	r = iova_ranges(ioas);
	ASSERT_EQ(3u, r.size());
	{
		SCOPED_TRACE("three ranges");
		check_info_every_argsz(v, expected_info(r, P, 0xAA));
	}
}

TEST_F(VfioCompat, GetInfoWithoutDomainIsTheWholeSpace)
{
	uint32_t ioas = container(VFIO_TYPE1_IOMMU);
	Ranges r = iova_ranges(ioas);
	ASSERT_EQ(1u, r.size());
	EXPECT_EQ(0u, r[0].first);
	EXPECT_EQ(UINT64_MAX, r[0].second);
	check_info_every_argsz(v, expected_info(r, ~(P - 1), 0xAA));
}

TEST_F(VfioCompat, MapDmaBadInput)
{
	map_contig(kVa, 16);
	// Before the IOAS lookup: argsz and flags.
	EXPECT_EQ(-EINVAL, v.map(kAperture, kVa, P, kDmaRW, offsetof(vfio_iommu_type1_dma_map, size)));
	EXPECT_EQ(-EINVAL, v.map(kAperture, kVa, P, kDmaRW | VFIO_DMA_MAP_FLAG_VADDR));
	EXPECT_EQ(-EINVAL, v.map(kAperture, kVa, P, 0));
	EXPECT_EQ(-ENODEV, v.map(kAperture, kVa, P));
	EXPECT_EQ(-EFAULT, v.raw(VFIO_IOMMU_MAP_DMA, 0));

	MockDev d;
	uint32_t ioas = container(VFIO_TYPE1_IOMMU, &d);
	const uint32_t minsz = offsetof(vfio_iommu_type1_dma_map, size) + 8;
	EXPECT_EQ(-EINVAL, v.map(kAperture, kVa, P, kDmaRW, 0));
	EXPECT_EQ(-EINVAL, v.map(kAperture, kVa, P, kDmaRW, minsz - 1));
	for (uint32_t bit = 2; bit < 32; bit++)
		EXPECT_EQ(-EINVAL, v.map(kAperture, kVa, P, kDmaRW | (1u << bit))) << bit;
	EXPECT_EQ(-EINVAL, v.map(kAperture, kVa, P, VFIO_DMA_MAP_FLAG_VADDR));
	EXPECT_EQ(-EINVAL, v.map(kAperture, kVa, P, 0));
	EXPECT_EQ(-EINVAL, v.map(kAperture, kVa, 0));
	// Wrapping ranges: EOVERFLOW, for the IOVA and for the user address.
	EXPECT_EQ(-EOVERFLOW, v.map(UINT64_MAX - P + 1, kVa, 2 * P));
	EXPECT_EQ(-EOVERFLOW, v.map(kAperture, UINT64_MAX - P + 1, 2 * P));
	// v1: everything is aligned to the CPU page.
	EXPECT_EQ(-EINVAL, v.map(kAperture + 2048, kVa, P));
	EXPECT_EQ(-EINVAL, v.map(kAperture + 1, kVa, P));
	EXPECT_EQ(-EINVAL, v.map(kAperture, kVa + 2048, P));
	EXPECT_EQ(-EINVAL, v.map(kAperture, kVa, P + 2048));
	EXPECT_EQ(-EINVAL, v.map(kAperture, kVa, 100));
	// Outside the mock aperture and in a reserved range: EINVAL.
	EXPECT_EQ(-EINVAL, v.map(kAperture - 4 * P, kVa, 4 * P));
	EXPECT_EQ(-EINVAL, v.map(uint64_t(MOCK_APERTURE_LAST) + 1, kVa, P));
	ASSERT_EQ(0, add_reserved(ioas, kAperture + 64 * P, P));
	EXPECT_EQ(-EINVAL, v.map(kAperture + 64 * P, kVa, P));
	EXPECT_EQ(-EINVAL, v.map(kAperture + 60 * P, kVa, 8 * P));
	// Larger argsz is fine (the tail is ignored).
	ASSERT_EQ(0, v.map(kAperture, kVa, 4 * P, kDmaRW, 4096));
	// Overlaps: EEXIST.
	EXPECT_EQ(-EEXIST, v.map(kAperture, kVa, 4 * P));
	EXPECT_EQ(-EEXIST, v.map(kAperture + 3 * P, kVa, 4 * P));
	EXPECT_EQ(-EEXIST, v.map(kAperture - 0, kVa + 8 * P, P));
	// Memory that is not mapped: EFAULT, and nothing is left behind.
	fake_kapi::add_fault_range(kVa + 10 * P, P);
	EXPECT_EQ(-EFAULT, v.map(kAperture + 8 * P, kVa + 8 * P, 4 * P));
	fake_kapi::clear_fault_ranges();
	EXPECT_EQ(1u, area_count(ioas));
	EXPECT_EQ(4u, fake_kapi::total_pins());
	EXPECT_EQ(0, check_map(d.hwpt, kAperture, 4 * P, kVa));
	EXPECT_EQ(-EINVAL, check_map(d.hwpt, kAperture + 8 * P, P, kVa + 8 * P));
	EXPECT_TRUE(pages_valid(ioas));
}

TEST_F(VfioCompat, MapDmaOverRlimitIsEnomem)
{
	fake_kapi::set_rlimit_memlock(0, 4 * P);
	MockDev d;
	uint32_t ioas = container(VFIO_TYPE1v2_IOMMU, &d);
	map_contig(kVa, 16);
	EXPECT_EQ(-ENOMEM, v.map(kAperture, kVa, 8 * P));
	EXPECT_EQ(0u, area_count(ioas));
	ASSERT_EQ(0, v.map(kAperture, kVa, 4 * P));
	EXPECT_EQ(4u, fake_kapi::user_locked_vm(0));
}

TEST_F(VfioCompat, MapDmaReachesTheDomain)
{
	for (unsigned long type : { VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU }) {
		SCOPED_TRACE(type);
		MockDev d;
		uint32_t ioas = container(type, &d);
		uint64_t pfn = map_contig(kVa, 32);
		ASSERT_EQ(0, v.map(kAperture, kVa, 32 * P));
		EXPECT_EQ(0, check_map(d.hwpt, kAperture, 32 * P, kVa));
		EXPECT_EQ(-EINVAL, check_map(d.hwpt, kAperture, 32 * P, kVa + P));
		EXPECT_EQ(1u, fake_kapi::pfn_pins(pfn));
		EXPECT_EQ(32u, fake_kapi::total_pins());
		EXPECT_EQ(32u, fake_kapi::user_locked_vm(0));
		// v1: one map() call per CPU page, so any page can be unmapped
		// alone; v2: one call for the contiguous run.
		auto *mock = mock_of(d.hwpt);
		ASSERT_NE(nullptr, mock);
		auto e = mock->entry(kAperture + 5 * P);
		ASSERT_TRUE(e.ok());
		EXPECT_EQ(type == VFIO_TYPE1_IOMMU, bool(e.value().flags & iommufd::kMockEntryStart));
		// A read-only mapping maps too.
		ASSERT_EQ(0, v.map(kAperture + 64 * P, kVa, 4 * P, VFIO_DMA_MAP_FLAG_READ));
		EXPECT_EQ(0, check_map(d.hwpt, kAperture + 64 * P, 4 * P, kVa));
		ASSERT_EQ(0, v.map(kAperture + 72 * P, kVa, 4 * P, VFIO_DMA_MAP_FLAG_WRITE));
		uint64_t n;
		ASSERT_EQ(0, v.unmap_all(&n));
		EXPECT_EQ(40 * P, n);
		EXPECT_EQ(0u, fake_kapi::total_pins());
		EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
		EXPECT_EQ(-EINVAL, check_map(d.hwpt, kAperture, P, kVa));
		EXPECT_EQ(0, destroy(d.stdev));
		EXPECT_EQ(0, destroy(ioas));
	}
}

TEST_F(VfioCompat, UnmapDmaBadInput)
{
	uint64_t n = P;
	EXPECT_EQ(-EINVAL, v.unmap(kAperture, &n, 0, offsetof(vfio_iommu_type1_dma_unmap, size)));
	EXPECT_EQ(-EINVAL, v.unmap(kAperture, &n, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP));
	EXPECT_EQ(-ENODEV, v.unmap(kAperture, &n));
	EXPECT_EQ(-EFAULT, v.raw(VFIO_IOMMU_UNMAP_DMA, 0));

	uint32_t ioas = container(VFIO_TYPE1v2_IOMMU);
	map_contig(kVa, 8);
	ASSERT_EQ(0, v.map(kAperture, kVa, 8 * P));
	n = P;
	EXPECT_EQ(-EINVAL, v.unmap(kAperture, &n, 0, 0));
	EXPECT_EQ(-EINVAL, v.unmap(kAperture, &n, 0, sizeof(vfio_iommu_type1_dma_unmap) - 1));
	EXPECT_EQ(P, n); // not written back on EINVAL
	const uint32_t bad_flags[] = { VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
				       VFIO_DMA_UNMAP_FLAG_VADDR,
				       VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL,
				       VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL,
				       1u << 3,
				       1u << 31 };
	for (uint32_t f : bad_flags) {
		n = 8 * P;
		EXPECT_EQ(-EINVAL, v.unmap(kAperture, &n, f)) << f;
	}
	n = 0;
	EXPECT_EQ(-EINVAL, v.unmap(kAperture, &n));
	n = 2 * P;
	EXPECT_EQ(-EOVERFLOW, v.unmap(UINT64_MAX - P + 1, &n));
	// FLAG_ALL needs iova and size 0.
	n = 8 * P;
	EXPECT_EQ(-EINVAL, v.unmap(kAperture, &n, VFIO_DMA_UNMAP_FLAG_ALL));
	n = 8 * P;
	EXPECT_EQ(-EINVAL, v.unmap(0, &n, VFIO_DMA_UNMAP_FLAG_ALL));
	n = 0;
	EXPECT_EQ(-EINVAL, v.unmap(kAperture, &n, VFIO_DMA_UNMAP_FLAG_ALL));
	EXPECT_EQ(1u, area_count(ioas));
	// Nothing mapped in the range: success, 0 bytes.
	n = 4 * P;
	EXPECT_EQ(0, v.unmap(kAperture + 64 * P, &n));
	EXPECT_EQ(0u, n);
	n = P;
	EXPECT_EQ(0, v.unmap(0, &n));
	EXPECT_EQ(0u, n);
	// A larger argsz is fine; size is written back.
	n = 8 * P;
	EXPECT_EQ(0, v.unmap(kAperture, &n, 0, 256));
	EXPECT_EQ(8 * P, n);
	EXPECT_EQ(0u, area_count(ioas));
}

TEST_F(VfioCompat, UnmapAllReturnsTheTotal)
{
	uint32_t ioas = container(VFIO_TYPE1v2_IOMMU);
	uint64_t n;
	ASSERT_EQ(0, v.unmap_all(&n));
	EXPECT_EQ(0u, n);
	map_contig(kVa, 16);
	ASSERT_EQ(0, v.map(kAperture, kVa, 4 * P));
	ASSERT_EQ(0, v.map(kAperture + 16 * P, kVa, 8 * P));
	ASSERT_EQ(0, v.map(1ull << 40, kVa + 100 * P, 3 * P));
	ASSERT_EQ(0, v.unmap_all(&n));
	EXPECT_EQ(15 * P, n);
	EXPECT_EQ(0u, area_count(ioas));
}

// v2: whole mappings only.  A mapping crossing either end stops the unmap
// with ENOENT; size says what went before it.
TEST_F(VfioCompat, V2CrossingIsEnoent)
{
	MockDev d;
	uint32_t ioas = container(VFIO_TYPE1v2_IOMMU, &d);
	map_contig(kVa, 16);
	auto map3 = [&] {
		for (int i = 0; i < 3; i++)
			ASSERT_EQ(0, v.map(kAperture + i * 4 * P, kVa + i * 4 * P, 4 * P));
	};
	map3();
	uint64_t n;
	// Crossing the start: nothing goes.
	n = 6 * P;
	EXPECT_EQ(-ENOENT, v.unmap(kAperture + 2 * P, &n));
	EXPECT_EQ(0u, n);
	// Crossing the end: the whole mappings before it go.
	n = 10 * P;
	EXPECT_EQ(-ENOENT, v.unmap(kAperture, &n));
	EXPECT_EQ(8 * P, n);
	EXPECT_EQ(1u, area_count(ioas));
	EXPECT_EQ(0, check_map(d.hwpt, kAperture + 8 * P, 4 * P, kVa + 8 * P));
	EXPECT_EQ(-EINVAL, check_map(d.hwpt, kAperture, P, kVa));
	// Inside one mapping: ENOENT, 0.
	n = P;
	EXPECT_EQ(-ENOENT, v.unmap(kAperture + 9 * P, &n));
	EXPECT_EQ(0u, n);
	n = 4 * P;
	EXPECT_EQ(0, v.unmap(kAperture + 8 * P, &n));
	EXPECT_EQ(4 * P, n);
	// A range covering several whole mappings and holes.
	map3();
	n = 64 * P;
	EXPECT_EQ(0, v.unmap(kAperture - 16 * P, &n));
	EXPECT_EQ(12 * P, n);
	EXPECT_EQ(0u, fake_kapi::total_pins());
}

// v1: any page-aligned range, mappings split at both ends first.
TEST_F(VfioCompat, V1SplitsAtBothEnds)
{
	MockDev d;
	uint32_t ioas = container(VFIO_TYPE1_IOMMU, &d);
	uint64_t pfn = map_contig(kVa, 16);
	ASSERT_EQ(0, v.map(kAperture, kVa, 4 * P));
	// The middle page of four: 4096 bytes, both ends stay mapped.
	EXPECT_EQ(long(P), v.unmap_bytes(kAperture + P, P));
	EXPECT_EQ(2u, area_count(ioas));
	EXPECT_EQ(0, check_map(d.hwpt, kAperture, P, kVa));
	EXPECT_EQ(0, check_map(d.hwpt, kAperture + 2 * P, 2 * P, kVa + 2 * P));
	EXPECT_EQ(-EINVAL, check_map(d.hwpt, kAperture + P, P, kVa + P));
	EXPECT_EQ(1u, fake_kapi::pfn_pins(pfn));
	EXPECT_EQ(0u, fake_kapi::pfn_pins(pfn + 1));
	EXPECT_EQ(1u, fake_kapi::pfn_pins(pfn + 2));
	EXPECT_EQ(3u, fake_kapi::total_pins());
	EXPECT_EQ(3u, fake_kapi::user_locked_vm(0));
	EXPECT_TRUE(pages_valid(ioas));
	// The rest, one page at a time from the far end: 3 pages in all.
	EXPECT_EQ(long(P), v.unmap_bytes(kAperture + 3 * P, P));
	EXPECT_EQ(long(P), v.unmap_bytes(kAperture + 2 * P, P));
	EXPECT_EQ(long(P), v.unmap_bytes(kAperture, P));
	EXPECT_EQ(0u, area_count(ioas));
	EXPECT_EQ(0u, fake_kapi::total_pins());
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));

	// Across two mappings, partly: [2, 6) of [0, 4) and [4, 8).
	ASSERT_EQ(0, v.map(kAperture, kVa, 4 * P));
	ASSERT_EQ(0, v.map(kAperture + 4 * P, kVa + 4 * P, 4 * P));
	EXPECT_EQ(long(4 * P), v.unmap_bytes(kAperture + 2 * P, 4 * P));
	EXPECT_EQ(0, check_map(d.hwpt, kAperture, 2 * P, kVa));
	EXPECT_EQ(0, check_map(d.hwpt, kAperture + 6 * P, 2 * P, kVa + 6 * P));
	EXPECT_EQ(4u, fake_kapi::total_pins());
	EXPECT_TRUE(pages_valid(ioas));
	// A range starting at IOVA 0 (no cut below it) and covering a split end.
	EXPECT_EQ(long(2 * P), v.unmap_bytes(0, kAperture + P + P));
	EXPECT_EQ(long(P), v.unmap_bytes(kAperture + 7 * P, P));
	EXPECT_EQ(1u, area_count(ioas));
	uint64_t n;
	ASSERT_EQ(0, v.unmap_all(&n));
	EXPECT_EQ(P, n);

	// A 16-page mapping cut into pages in a scattered order: each unmap
	// takes exactly its page, the pins follow.
	ASSERT_EQ(0, v.map(kAperture, kVa, 16 * P));
	const int order[] = { 7, 3, 11, 0, 15, 8, 1, 14, 4, 9, 2, 13, 5, 10, 6, 12 };
	int left = 16;
	for (int i : order) {
		EXPECT_EQ(long(P), v.unmap_bytes(kAperture + i * P, P)) << i;
		EXPECT_EQ(0u, fake_kapi::pfn_pins(pfn + i)) << i;
		EXPECT_EQ(uint64_t(--left), fake_kapi::total_pins());
		ASSERT_TRUE(pages_valid(ioas));
	}
	EXPECT_EQ(0u, area_count(ioas));
}

TEST_F(VfioCompat, V1SplitNeedsAlignmentAndNoAccess)
{
	MockDev d;
	uint32_t ioas = container(VFIO_TYPE1_IOMMU, &d);
	map_contig(kVa, 16);
	ASSERT_EQ(0, v.map(kAperture, kVa, 8 * P));
	// A split point inside a CPU page: EINVAL, nothing unmapped.
	uint64_t n = P;
	EXPECT_EQ(-EINVAL, v.unmap(kAperture + 2048, &n));
	EXPECT_EQ(P, n);
	n = 2048;
	EXPECT_EQ(-EINVAL, v.unmap(kAperture, &n));
	EXPECT_EQ(1u, area_count(ioas));

	// An access with pages pinned in the area: no split (EINVAL) ...
	int afd;
	ASSERT_EQ(0, create_access(ioas, &afd));
	uint32_t item;
	ASSERT_EQ(0, access_pages(afd, kAperture + P, P, kVa + P, &item));
	n = P;
	EXPECT_EQ(-EINVAL, v.unmap(kAperture + 4 * P, &n));
	EXPECT_EQ(P, n);
	n = 2 * P;
	EXPECT_EQ(-EINVAL, v.unmap(kAperture, &n));
	EXPECT_EQ(1u, area_count(ioas));
	EXPECT_EQ(0, check_map(d.hwpt, kAperture, 8 * P, kVa));
	// ... but another area splits, and a whole area unmaps (the access
	// is told to let go).
	ASSERT_EQ(0, v.map(kAperture + 8 * P, kVa + 8 * P, 4 * P));
	EXPECT_EQ(long(P), v.unmap_bytes(kAperture + 9 * P, P));
	EXPECT_EQ(long(8 * P), v.unmap_bytes(kAperture, 8 * P));
	EXPECT_EQ(2u, area_count(ioas));
	close_fd(afd);
	EXPECT_TRUE(pages_valid(ioas));
}

TEST_F(VfioCompat, V1WithoutDomainSplitsUnpinned)
{
	uint32_t ioas = container(VFIO_TYPE1_IOMMU);
	map_contig(kVa, 8);
	ASSERT_EQ(0, v.map(1ull << 32, kVa, 8 * P));
	EXPECT_EQ(long(2 * P), v.unmap_bytes((1ull << 32) + 3 * P, 2 * P));
	EXPECT_EQ(2u, area_count(ioas));
	EXPECT_EQ(0u, fake_kapi::total_pins());
	uint64_t n;
	ASSERT_EQ(0, v.unmap_all(&n));
	EXPECT_EQ(6 * P, n);
}

TEST_F(VfioCompat, V1DomainAfterSplitMapsTheHalves)
{
	uint32_t ioas = container(VFIO_TYPE1_IOMMU);
	map_contig(kVa, 8);
	ASSERT_EQ(0, v.map(kAperture, kVa, 8 * P));
	EXPECT_EQ(long(2 * P), v.unmap_bytes(kAperture + 3 * P, 2 * P));
	MockDev d = new_mock(ioas);
	EXPECT_EQ(0, check_map(d.hwpt, kAperture, 3 * P, kVa));
	EXPECT_EQ(0, check_map(d.hwpt, kAperture + 5 * P, 3 * P, kVa + 5 * P));
	EXPECT_EQ(6u, fake_kapi::total_pins());
	EXPECT_EQ(long(P), v.unmap_bytes(kAperture + 6 * P, P));
	EXPECT_EQ(5u, fake_kapi::total_pins());
	EXPECT_TRUE(pages_valid(ioas));
}

TEST_F(VfioCompat, DestroyingTheVfioIoasClearsIt)
{
	uint32_t ioas = container(VFIO_TYPE1v2_IOMMU);
	map_contig(kVa, 4);
	ASSERT_EQ(0, v.map(kAperture, kVa, 4 * P));
	ASSERT_EQ(0, destroy(ioas));
	uint32_t id = 0;
	EXPECT_EQ(-ENODEV, vfio_ioas(IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_EQ(-ENODEV, v.map(kAperture, kVa, 4 * P));
	uint64_t n = P;
	EXPECT_EQ(-ENODEV, v.unmap(kAperture, &n));
	uint8_t buf[64];
	EXPECT_EQ(-ENODEV, v.info(buf, sizeof(buf)));
	EXPECT_EQ(-ENODEV, v.set_iommu(VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(-ENODEV, v.check(VFIO_DMA_CC_IOMMU));
	// Destroying another IOAS leaves the VFIO one alone.
	uint32_t a = container(0), b = new_ioas();
	ASSERT_EQ(0, destroy(b));
	ASSERT_EQ(0, vfio_ioas(IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_EQ(a, id);
	// CLEAR: the container has no IOAS, the IOAS lives on.
	ASSERT_EQ(0, vfio_ioas(IOMMU_VFIO_IOAS_CLEAR, &id));
	EXPECT_EQ(-ENODEV, v.map(kAperture, kVa, 4 * P));
	EXPECT_TRUE(exists(a));
}

TEST_F(VfioCompat, NoIommuNeedsTheParameter)
{
	fake_kapi::set_cap_sys_rawio(true);
	EXPECT_EQ(0, v.check(VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(-EINVAL, v.set_iommu(VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(0, fake_kapi::noiommu_taints());
	EXPECT_EQ(1, v.check(VFIO_TYPE1v2_IOMMU));
}

TEST_F(VfioCompat, NoIommuMode)
{
	fake_kapi::set_noiommu_enabled(true);
	EXPECT_EQ(1, v.check(VFIO_NOIOMMU_IOMMU));
	// CAP_SYS_RAWIO first.
	EXPECT_EQ(-EPERM, v.set_iommu(VFIO_NOIOMMU_IOMMU));
	fake_kapi::set_cap_sys_rawio(true);
	// A container that has an IOAS cannot become a no-IOMMU one.
	uint32_t ioas = container(0);
	EXPECT_EQ(-EINVAL, v.set_iommu(VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(0, fake_kapi::noiommu_taints());
	uint32_t id = 0;
	ASSERT_EQ(0, vfio_ioas(IOMMU_VFIO_IOAS_CLEAR, &id));

	ASSERT_EQ(0, v.set_iommu(VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(1, fake_kapi::noiommu_taints());
	// Now no IOMMU type is served and the container gets no IOAS.
	EXPECT_EQ(0, v.check(VFIO_TYPE1_IOMMU));
	EXPECT_EQ(0, v.check(VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(0, v.check(VFIO_UNMAP_ALL));
	EXPECT_EQ(1, v.check(VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(-EINVAL, v.set_iommu(VFIO_TYPE1_IOMMU));
	EXPECT_EQ(-EINVAL, v.set_iommu(VFIO_TYPE1v2_IOMMU));
	id = ioas;
	EXPECT_EQ(-EINVAL, vfio_ioas(IOMMU_VFIO_IOAS_SET, &id));
	EXPECT_EQ(-ENODEV, vfio_ioas(IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_EQ(0, vfio_ioas(IOMMU_VFIO_IOAS_CLEAR, &id));
	map_contig(kVa, 4);
	EXPECT_EQ(-ENODEV, v.map(kAperture, kVa, 4 * P));
	uint64_t n = P;
	EXPECT_EQ(-ENODEV, v.unmap(kAperture, &n));
	EXPECT_EQ(-ENODEV, v.unmap_all(&n));
	uint8_t buf[64];
	EXPECT_EQ(-ENODEV, v.info(buf, sizeof(buf)));
	EXPECT_EQ(-ENODEV, v.check(VFIO_DMA_CC_IOMMU));
	// Setting it again is fine; RAWIO is still needed.
	EXPECT_EQ(0, v.set_iommu(VFIO_NOIOMMU_IOMMU));
	fake_kapi::set_cap_sys_rawio(false);
	EXPECT_EQ(-EPERM, v.set_iommu(VFIO_NOIOMMU_IOMMU));
	// The IOAS itself still works through the iommufd ioctls.
	EXPECT_EQ(0, map_fixed(ioas, kVa, 4 * P, kAperture));
}

// This module's /dev/vfio/vfio node: a context whose pinned pages are
// charged to the mm, as VFIO charges them.
class VfioNode : public VfioCompat {
protected:
	void SetUp() override
	{
		VfioCompat::SetUp();
		iommufd_cxx_release(ctx_);
		ASSERT_EQ(0, iommufd_cxx_open_vfio_node(&ctx_, nullptr));
	}
};

TEST_F(VfioNode, RlimitModeIsMm)
{
	uint64_t val = 7;
	ASSERT_EQ(0, option(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &val));
	EXPECT_EQ(1u, val);
}

TEST_F(VfioNode, ContainerFlowChargesTheMm)
{
	EXPECT_EQ(0, v.raw(VFIO_GET_API_VERSION, 0));
	EXPECT_EQ(1, v.check(VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(-ENODEV, v.set_iommu(VFIO_TYPE1v2_IOMMU));
	MockDev d;
	uint32_t ioas = container(VFIO_TYPE1v2_IOMMU, &d);
	uint64_t pfn = map_contig(kVa, 16);
	ASSERT_EQ(0, v.map(kAperture, kVa, 16 * P));
	EXPECT_EQ(0, check_map(d.hwpt, kAperture, 16 * P, kVa));
	EXPECT_EQ(16u, fake_kapi::mm_locked_vm(0));
	EXPECT_EQ(16u, fake_kapi::mm_pinned_vm(0));
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(1u, fake_kapi::pfn_pins(pfn));
	uint8_t buf[128];
	ASSERT_EQ(0, v.info(buf, sizeof(buf)));
	check_info_every_argsz(v, expected_info(iova_ranges(ioas), P, 0xAA));
	uint64_t n = 16 * P;
	ASSERT_EQ(0, v.unmap(kAperture, &n));
	EXPECT_EQ(16 * P, n);
	EXPECT_EQ(0u, fake_kapi::mm_locked_vm(0));
	// Over RLIMIT_MEMLOCK: ENOMEM.
	fake_kapi::set_rlimit_memlock(0, 8 * P);
	EXPECT_EQ(-ENOMEM, v.map(kAperture, kVa, 16 * P));
	EXPECT_EQ(0u, fake_kapi::mm_locked_vm(0));
	ASSERT_EQ(0, v.map(kAperture, kVa, 8 * P));
	EXPECT_EQ(8u, fake_kapi::mm_locked_vm(0));
}

// Every allocation of a container's life fails in turn: each failure is
// -ENOMEM (or a pin stopping short), and closing the file afterwards
// leaves nothing behind.
TEST_F(VfioCompat, AllocationFailureSweep)
{
	map_contig(kVa, 32);
	int injected = 0;
	for (long nth = 0;; nth++) {
		ASSERT_LT(nth, 5000);
		if (nth) {
			closed_ = released_ = false;
			ASSERT_EQ(0, iommufd_cxx_open(&ctx_, nullptr));
		}
		fake_kapi::fail_alloc_after(nth);
		int step = 0;
		long r = 0;
		{
			auto run = [&]() -> long {
				long e;
				iommu_ioas_alloc c = { .size = sizeof(c) };
				SWEEP_STEP(ioctl(IOMMU_IOAS_ALLOC, &c));
				uint32_t id = c.out_ioas_id;
				SWEEP_STEP(vfio_ioas(IOMMU_VFIO_IOAS_SET, &id));
				MockDev d;
				SWEEP_STEP(mock_domain(c.out_ioas_id, &d));
				SWEEP_STEP(v.set_iommu(VFIO_TYPE1_IOMMU));
				SWEEP_STEP(v.map(kAperture, kVa, 16 * P));
				SWEEP_STEP(v.map(kAperture + 16 * P, kVa + 16 * P, 16 * P));
				uint8_t buf[128];
				SWEEP_STEP(v.info(buf, sizeof(buf)));
				uint64_t n = 4 * P;
				SWEEP_STEP(v.unmap(kAperture + 14 * P, &n));
				n = P;
				SWEEP_STEP(v.unmap(kAperture + 5 * P, &n));
				SWEEP_STEP(v.unmap_all(&n));
				SWEEP_STEP(v.map(kAperture, kVa, 4 * P));
				return 0;
			};
			r = run();
			close_iommufd();
		}
		bool hit = fake_kapi::injected();
		fake_kapi::fail_alloc_after(-1);
		ASSERT_TRUE(released_);
		if (hit) {
			ASSERT_TRUE(r == -ENOMEM || r == -EFAULT || r == 0)
				<< "step " << step << " r " << r;
			injected++;
		} else {
			ASSERT_EQ(0, r) << "step " << step;
		}
		ASSERT_EQ(0, iommufd_cxx_live_objects()) << "nth " << nth;
		ASSERT_EQ(allocs_before_, iommufd_cxx_live_allocs()) << "nth " << nth;
		ASSERT_EQ(0, fake_kapi::mutexes_held());
		ASSERT_EQ(0u, fake_kapi::total_pins()) << "nth " << nth;
		ASSERT_EQ(0u, fake_kapi::user_locked_vm(0)) << "nth " << nth;
		ASSERT_EQ(0u, fake_kapi::mm_pinned_vm(0)) << "nth " << nth;
		if (!hit)
			break;
	}
	EXPECT_GT(injected, 80);
}

// ---- vfio.ko's containers: the backend ------------------------------------------------

class VfioBackend : public ::testing::Test {
protected:
	static uint64_t map_contig(uint64_t va, uint64_t n)
	{
		uint64_t pfn = fake_kapi::alloc_pfns(n, 512);
		fake_kapi::map_user(va, n, pfn);
		return pfn;
	}

	void SetUp() override
	{
		fake_kapi::pin_reset();
		fake_kapi::iommu_reset();
		iommufd::iopt::set_pin_batch_bytes(65536);
		allocs_before_ = iommufd_cxx_live_allocs();
	}
	void TearDown() override
	{
		fake_kapi::fail_alloc_after(-1);
		fake_kapi::clear_fault_ranges();
		close();
		EXPECT_EQ(0, fake_kapi::live_domains());
		EXPECT_EQ(0, iommufd_cxx_vfio_containers());
		EXPECT_EQ(0, iommufd_cxx_live_objects());
		EXPECT_EQ(allocs_before_, iommufd_cxx_live_allocs());
		EXPECT_EQ(0, fake_kapi::mutexes_held());
		EXPECT_EQ(0u, fake_kapi::total_pins());
		EXPECT_EQ(0u, fake_kapi::mm_locked_vm(0));
		EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
		EXPECT_EQ(0u, fake_kapi::mm_pinned_vm(0));
		EXPECT_EQ(0, fake_kapi::owners_alive());
		fake_kapi::iommu_reset();
		fake_kapi::pin_reset();
	}

	long open(bool v2)
	{
		long r = iommufd_cxx_vfio_open(v2, &c_);
		if (r)
			c_ = nullptr;
		return r;
	}
	// vfio.ko detaches every group before it releases the container.
	void close()
	{
		for (auto *g : attached_)
			iommufd_cxx_vfio_detach_group(c_, K(g));
		attached_.clear();
		if (c_)
			iommufd_cxx_vfio_release(c_);
		c_ = nullptr;
	}
	static kapi_iommu_group *K(fake_kapi::FakeGroup *g)
	{
		return reinterpret_cast<kapi_iommu_group *>(g);
	}
	long attach(fake_kapi::FakeGroup &g)
	{
		long r = iommufd_cxx_vfio_attach_group(c_, K(&g));
		if (!r)
			attached_.push_back(&g);
		return r;
	}
	void detach(fake_kapi::FakeGroup &g)
	{
		attached_.erase(std::find(attached_.begin(), attached_.end(), &g));
		iommufd_cxx_vfio_detach_group(c_, K(&g));
	}

	struct Call {
		VfioBackend *t;
		long operator()(unsigned int cmd, unsigned long arg)
		{
			return iommufd_cxx_vfio_ioctl(t->c_, cmd, arg);
		}
	};
	Vfio<Call> v{ Call{ this } };

	// Does the domain of g translate [iova, iova + n pages) to pfn, pfn + 1, ...?
	static bool maps(const fake_kapi::FakeGroup &g, uint64_t iova, uint64_t pfn, uint64_t n)
	{
		for (uint64_t i = 0; i < n; i++) {
			uint64_t pa;
			if (!fake_kapi::translate(g, iova + i * P + 5, &pa) ||
			    pa != (pfn + i) * P + 5)
				return false;
		}
		return true;
	}
	static bool mapped(const fake_kapi::FakeGroup &g, uint64_t iova)
	{
		uint64_t pa;
		return fake_kapi::translate(g, iova, &pa);
	}
	static fake_kapi::FakeDomainView view(const fake_kapi::FakeGroup &g)
	{
		fake_kapi::FakeDomainView d = {};
		EXPECT_TRUE(fake_kapi::domain_of(g, &d));
		return d;
	}

	Ranges info_ranges()
	{
		uint8_t buf[256];
		EXPECT_EQ(0, v.info(buf, sizeof(buf)));
		vfio_iommu_type1_info info;
		memcpy(&info, buf, sizeof(info));
		EXPECT_EQ(kInfoSz, info.cap_offset);
		vfio_iommu_type1_info_cap_iova_range cap;
		const uint32_t at = kInfoSz + 16;
		memcpy(&cap, buf + at, sizeof(cap));
		EXPECT_EQ(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, cap.header.id);
		Ranges out;
		for (uint32_t i = 0; i < cap.nr_iovas && at + kRangeCapSz + (i + 1) * 16 <= 256; i++) {
			vfio_iova_range r;
			memcpy(&r, buf + at + kRangeCapSz + i * 16, sizeof(r));
			out.push_back({ r.start, r.end });
		}
		return out;
	}

	static constexpr uint64_t kIova = 1ull << 32;
	void *c_ = nullptr;
	std::vector<fake_kapi::FakeGroup *> attached_;
	long allocs_before_ = 0;
};

TEST_F(VfioBackend, OpenAndRelease)
{
	EXPECT_EQ(1, iommufd_cxx_vfio_check_extension(VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1, iommufd_cxx_vfio_check_extension(VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1, iommufd_cxx_vfio_check_extension(VFIO_UNMAP_ALL));
	for (unsigned long ext : { 0ul, 2ul, 4ul, 5ul, 6ul, 7ul, 8ul, 10ul, 11ul, ~0ul })
		EXPECT_EQ(0, iommufd_cxx_vfio_check_extension(ext)) << ext;
	ASSERT_EQ(0, open(true));
	EXPECT_EQ(1, iommufd_cxx_vfio_containers());
	void *second = nullptr;
	ASSERT_EQ(0, iommufd_cxx_vfio_open(false, &second));
	EXPECT_EQ(2, iommufd_cxx_vfio_containers());
	iommufd_cxx_vfio_release(second);
	EXPECT_EQ(1, iommufd_cxx_vfio_containers());
	// The container ioctls work before any group (no domain yet).
	EXPECT_EQ(1, v.check(VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1, v.check(VFIO_DMA_CC_IOMMU));
	Ranges r = info_ranges();
	ASSERT_EQ(1u, r.size());
	EXPECT_EQ(0u, r[0].first);
	EXPECT_EQ(UINT64_MAX, r[0].second);
	// An allocation failure in open: ENOMEM, nothing left.
	for (long nth = 0; nth < 64; nth++) {
		void *c = nullptr;
		fake_kapi::fail_alloc_after(nth);
		long rc = iommufd_cxx_vfio_open(nth & 1, &c);
		bool hit = fake_kapi::injected();
		fake_kapi::fail_alloc_after(-1);
		if (!hit) {
			ASSERT_EQ(0, rc);
			iommufd_cxx_vfio_release(c);
			break;
		}
		EXPECT_EQ(-ENOMEM, rc) << nth;
		EXPECT_EQ(1, iommufd_cxx_vfio_containers()) << nth;
	}
}

TEST_F(VfioBackend, AttachFillsTheDomainWithEarlierMappings)
{
	ASSERT_EQ(0, open(true));
	uint64_t pfn = map_contig(kVa, 16);
	ASSERT_EQ(0, v.map(kIova, kVa, 16 * P));
	// No domain yet: nothing pinned or charged.
	EXPECT_EQ(0u, fake_kapi::total_pins());
	EXPECT_EQ(0u, fake_kapi::mm_locked_vm(0));
	fake_kapi::FakeGroup g;
	ASSERT_EQ(0, attach(g));
	EXPECT_EQ(1, fake_kapi::live_domains());
	EXPECT_TRUE(maps(g, kIova, pfn, 16));
	EXPECT_EQ(16 * P, view(g).mapped_bytes);
	EXPECT_EQ(1u, view(g).map_calls); // one contiguous run, one call
	EXPECT_EQ(1, view(g).groups);
	EXPECT_FALSE(view(g).msi_cookie);
	// The container charges the mm (VmLck), as VFIO does.
	EXPECT_EQ(16u, fake_kapi::mm_locked_vm(0));
	EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
	EXPECT_EQ(16u, fake_kapi::total_pins());
	EXPECT_EQ(-EEXIST, attach(g));
}

TEST_F(VfioBackend, MapAfterAttachReachesTheDomain)
{
	ASSERT_EQ(0, open(true));
	fake_kapi::FakeGroup g;
	ASSERT_EQ(0, attach(g));
	EXPECT_EQ(0u, view(g).mapped_bytes);
	uint64_t pfn = map_contig(kVa, 8);
	ASSERT_EQ(0, v.map(kIova, kVa, 8 * P));
	EXPECT_TRUE(maps(g, kIova, pfn, 8));
	EXPECT_FALSE(mapped(g, kIova + 8 * P));
	EXPECT_FALSE(mapped(g, kIova - 1));
	// Scattered memory: one map call per page.
	for (uint64_t i = 0; i < 4; i++)
		fake_kapi::map_user(kVa + (16 + i) * P, 1, fake_kapi::alloc_pfns(1, 2));
	ASSERT_EQ(0, v.map(kIova + 64 * P, kVa + 16 * P, 4 * P));
	EXPECT_EQ(5u, view(g).map_calls);
	EXPECT_EQ(12 * P, view(g).mapped_bytes);
	EXPECT_EQ(-EEXIST, v.map(kIova + 4 * P, kVa, P));
	EXPECT_EQ(long(8 * P), v.unmap_bytes(kIova, 8 * P));
	EXPECT_FALSE(mapped(g, kIova));
	EXPECT_EQ(4 * P, view(g).mapped_bytes);
	EXPECT_EQ(4u, fake_kapi::total_pins());
	EXPECT_EQ(4u, fake_kapi::mm_locked_vm(0));
	uint64_t n;
	ASSERT_EQ(0, v.unmap_all(&n));
	EXPECT_EQ(4 * P, n);
	EXPECT_EQ(0u, view(g).mapped_bytes);
	// The outside of the domain's aperture (2^48) is reserved now.
	Ranges r = info_ranges();
	ASSERT_EQ(1u, r.size());
	EXPECT_EQ((1ull << 48) - 1, r[0].second);
	EXPECT_EQ(-EINVAL, v.map(1ull << 48, kVa, P));
}

TEST_F(VfioBackend, GroupsShareADomain)
{
	ASSERT_EQ(0, open(true));
	uint64_t pfn = map_contig(kVa, 8);
	fake_kapi::FakeGroup g1, g2;
	g2.id = 2;
	ASSERT_EQ(0, attach(g1));
	ASSERT_EQ(0, v.map(kIova, kVa, 8 * P));
	ASSERT_EQ(0, attach(g2));
	EXPECT_EQ(1, fake_kapi::live_domains());
	EXPECT_EQ(2, view(g1).groups);
	EXPECT_TRUE(maps(g2, kIova, pfn, 8));
	EXPECT_EQ(1u, view(g2).map_calls); // not mapped a second time
	EXPECT_EQ(8u, fake_kapi::total_pins());
	// The first group leaving keeps the domain for the second.
	detach(g1);
	EXPECT_EQ(1, fake_kapi::live_domains());
	EXPECT_EQ(1, view(g2).groups);
	EXPECT_TRUE(maps(g2, kIova, pfn, 8));
	detach(g2);
	EXPECT_EQ(0, fake_kapi::live_domains());
	EXPECT_EQ(0u, fake_kapi::total_pins());
	EXPECT_EQ(0u, fake_kapi::mm_locked_vm(0));
}

// A group the existing domain refuses (another IOMMU, other settings) gets
// a domain of its own, filled with every mapping before it moves onto it;
// so does one with different coherency or a different MSI window.
TEST_F(VfioBackend, RefusedGroupGetsItsOwnFilledDomain)
{
	ASSERT_EQ(0, open(true));
	uint64_t pfn = map_contig(kVa, 8);
	fake_kapi::FakeGroup g1, g2, g3;
	g2.id = 2;
	g2.attach_shared_error = -EINVAL;
	g3.id = 3;
	g3.coherent = false;
	ASSERT_EQ(0, attach(g1));
	ASSERT_EQ(0, v.map(kIova, kVa, 8 * P));
	ASSERT_EQ(0, attach(g2));
	EXPECT_EQ(2, fake_kapi::live_domains());
	EXPECT_EQ(1, view(g1).groups);
	EXPECT_EQ(1, view(g2).groups);
	EXPECT_TRUE(maps(g2, kIova, pfn, 8));
	EXPECT_EQ(8u, fake_kapi::total_pins()); // pinned once for both
	EXPECT_EQ(1, v.check(VFIO_DMA_CC_IOMMU));
	ASSERT_EQ(0, attach(g3));
	EXPECT_EQ(3, fake_kapi::live_domains());
	EXPECT_TRUE(maps(g3, kIova, pfn, 8));
	// One domain does not enforce coherency: DMA_CC is 0.
	EXPECT_EQ(0, v.check(VFIO_DMA_CC_IOMMU));
	// A map reaches all three; an unmap leaves all three.
	map_contig(kVa + 8 * P, 4);
	ASSERT_EQ(0, v.map(kIova + 16 * P, kVa + 8 * P, 4 * P));
	for (auto *g : { &g1, &g2, &g3 })
		EXPECT_EQ(12 * P, view(*g).mapped_bytes);
	EXPECT_EQ(long(8 * P), v.unmap_bytes(kIova, 8 * P));
	for (auto *g : { &g1, &g2, &g3 }) {
		EXPECT_EQ(4 * P, view(*g).mapped_bytes);
		EXPECT_FALSE(mapped(*g, kIova));
	}
	detach(g3);
	EXPECT_EQ(1, v.check(VFIO_DMA_CC_IOMMU));
	detach(g2);
	EXPECT_EQ(1, fake_kapi::live_domains());
}

TEST_F(VfioBackend, FailedAttachLeavesNothing)
{
	ASSERT_EQ(0, open(true));
	map_contig(kVa, 8);
	ASSERT_EQ(0, v.map(kIova, kVa, 8 * P));
	Ranges before = info_ranges();
	fake_kapi::FakeGroup bad;
	bad.alloc_error = -ENODEV;
	bad.resv[0] = { 0xfee00000, 0xfeefffff, KAPI_RESV_MSI };
	bad.nresv = 1;
	EXPECT_EQ(-ENODEV, attach(bad));
	EXPECT_EQ(0, fake_kapi::live_domains());
	EXPECT_EQ(before, info_ranges());
	bad.alloc_error = 0;
	bad.attach_error = -EBUSY;
	EXPECT_EQ(-EBUSY, attach(bad));
	EXPECT_EQ(0, fake_kapi::live_domains());
	EXPECT_EQ(before, info_ranges());
	EXPECT_EQ(0u, fake_kapi::total_pins());
	// Existing mappings the new domain cannot take (its memory is gone):
	// EFAULT, nothing left.
	bad.attach_error = 0;
	fake_kapi::add_fault_range(kVa + 4 * P, P);
	EXPECT_EQ(-EFAULT, attach(bad));
	EXPECT_EQ(0, fake_kapi::live_domains());
	EXPECT_EQ(0u, fake_kapi::total_pins());
	fake_kapi::clear_fault_ranges();
	// A domain without page sizes: ENODEV.
	fake_kapi::set_domain_pgsizes(0);
	EXPECT_EQ(-ENODEV, attach(bad));
	EXPECT_EQ(0, fake_kapi::live_domains());
	fake_kapi::set_domain_pgsizes((1ull << 12) | (1ull << 21));
	ASSERT_EQ(0, attach(bad));
	EXPECT_EQ(8 * P, view(bad).mapped_bytes);
}

TEST_F(VfioBackend, ReservedRegionsBlockMapDma)
{
	ASSERT_EQ(0, open(true));
	map_contig(kVa, 8);
	fake_kapi::FakeGroup g;
	g.resv[0] = { 0xfee00000, 0xfeefffff, KAPI_RESV_MSI };
	g.resv[1] = { 0x100000, 0x1fffff, KAPI_RESV_DIRECT };
	g.resv[2] = { 0x400000, 0x400fff, KAPI_RESV_RESERVED };
	g.resv[3] = { 0x800000, 0x8fffff, KAPI_RESV_DIRECT_RELAXABLE };
	g.nresv = 4;
	ASSERT_EQ(0, attach(g));
	EXPECT_FALSE(view(g).msi_cookie); // a hardware MSI window needs none
	EXPECT_EQ(-EINVAL, v.map(0xfee00000, kVa, P));
	EXPECT_EQ(-EINVAL, v.map(0xfedff000, kVa, 2 * P));
	EXPECT_EQ(-EINVAL, v.map(0x1ff000, kVa, P));
	EXPECT_EQ(-EINVAL, v.map(0x3ff000, kVa, 2 * P));
	// A relaxable direct region is not reserved.
	ASSERT_EQ(0, v.map(0x800000, kVa, 4 * P));
	EXPECT_EQ(0, v.map(0xfef00000, kVa, P));
	Ranges want = { { 0, 0xfffff },
			{ 0x200000, 0x3fffff },
			{ 0x401000, 0xfedfffff },
			{ 0xfef00000, (1ull << 48) - 1 } };
	EXPECT_EQ(want, info_ranges());
	// Gone with the group.
	detach(g);
	EXPECT_EQ(0, v.map(0x100000, kVa, P));
	EXPECT_EQ(1u, info_ranges().size());
}

TEST_F(VfioBackend, ReservedRegionOverAMappingFailsTheAttach)
{
	ASSERT_EQ(0, open(true));
	uint64_t pfn = map_contig(kVa, 8);
	fake_kapi::FakeGroup g1, g2;
	g2.id = 2;
	g2.resv[0] = { 0x100000, 0x1fffff, KAPI_RESV_RESERVED };
	g2.resv[1] = { kIova + 4 * P, kIova + 4 * P, KAPI_RESV_SW_MSI };
	g2.nresv = 2;
	ASSERT_EQ(0, attach(g1));
	ASSERT_EQ(0, v.map(kIova, kVa, 8 * P));
	Ranges before = info_ranges();
	EXPECT_EQ(-EADDRINUSE, attach(g2));
	// Nothing of g2 remains: not its first region, not a domain.
	EXPECT_EQ(before, info_ranges());
	EXPECT_EQ(1, fake_kapi::live_domains());
	EXPECT_EQ(1, view(g1).groups);
	fake_kapi::FakeDomainView none;
	EXPECT_FALSE(fake_kapi::domain_of(g2, &none));
	EXPECT_EQ(0, v.map(0x100000, kVa, P));
	EXPECT_TRUE(maps(g1, kIova, pfn, 8));
	EXPECT_EQ(long(P), v.unmap_bytes(0x100000, P));
	EXPECT_EQ(long(8 * P), v.unmap_bytes(kIova, 8 * P));
	// With the mapping gone it attaches, to a domain of its own (the
	// software MSI window differs from g1's).
	ASSERT_EQ(0, attach(g2));
	EXPECT_EQ(2, fake_kapi::live_domains());
	EXPECT_TRUE(view(g2).msi_cookie);
	EXPECT_FALSE(view(g1).msi_cookie);
}

TEST_F(VfioBackend, MsiIsolation)
{
	ASSERT_EQ(0, open(true));
	fake_kapi::FakeGroup g;
	g.isolated_msi = false;
	EXPECT_EQ(-EPERM, attach(g));
	EXPECT_EQ(0, fake_kapi::live_domains());
	fake_kapi::set_allow_unsafe_interrupts(true);
	ASSERT_EQ(0, attach(g));
	EXPECT_EQ(1, fake_kapi::live_domains());
}

TEST_F(VfioBackend, SoftwareMsiWindowGetsACookie)
{
	ASSERT_EQ(0, open(true));
	map_contig(kVa, 4);
	fake_kapi::FakeGroup g1, g2;
	g1.resv[0] = { 0x8000000, 0x80fffff, KAPI_RESV_SW_MSI };
	g1.nresv = 1;
	g2.id = 2;
	g2.resv[0] = g1.resv[0];
	g2.nresv = 1;
	ASSERT_EQ(0, attach(g1));
	EXPECT_TRUE(view(g1).msi_cookie);
	EXPECT_EQ(-EINVAL, v.map(0x8000000, kVa, P));
	// Same window: the domain is shared.
	ASSERT_EQ(0, attach(g2));
	EXPECT_EQ(1, fake_kapi::live_domains());
	EXPECT_EQ(2, view(g2).groups);
	detach(g1);
	// g2 still reserves the window.
	EXPECT_EQ(-EINVAL, v.map(0x8000000, kVa, P));
	detach(g2);
	EXPECT_EQ(0, v.map(0x8000000, kVa, P));
}

TEST_F(VfioBackend, DetachUnmapsAndFreesTheDomain)
{
	ASSERT_EQ(0, open(true));
	uint64_t pfn = map_contig(kVa, 8);
	fake_kapi::FakeGroup g;
	ASSERT_EQ(0, attach(g));
	ASSERT_EQ(0, v.map(kIova, kVa, 8 * P));
	EXPECT_EQ(8u, fake_kapi::mm_locked_vm(0));
	detach(g);
	EXPECT_EQ(0, fake_kapi::live_domains());
	// The mapping stays in the container, unpinned and uncharged.
	EXPECT_EQ(0u, fake_kapi::total_pins());
	EXPECT_EQ(0u, fake_kapi::mm_locked_vm(0));
	EXPECT_EQ(-EEXIST, v.map(kIova, kVa, P));
	// Attached again: mapped again.
	ASSERT_EQ(0, attach(g));
	EXPECT_TRUE(maps(g, kIova, pfn, 8));
	EXPECT_EQ(8u, fake_kapi::mm_locked_vm(0));
	// Release with the mapping still there: the container goes with it.
}

// A vfio.ko container stands in for vfio_iommu_type1, so MAP_DMA and
// UNMAP_DMA follow type1's rules there (uapi/vfio_compat.h): sizes and
// addresses aligned to the smallest IOMMU page, wrapping ranges EINVAL.
TEST_F(VfioBackend, Type1MapRules)
{
	for (bool v2 : { true, false }) {
		SCOPED_TRACE(v2);
		ASSERT_EQ(0, open(v2));
		map_contig(kVa, 8);
		fake_kapi::FakeGroup g;
		ASSERT_EQ(0, attach(g));
		EXPECT_EQ(-EINVAL, v.map(kIova + 2048, kVa, P));
		EXPECT_EQ(-EINVAL, v.map(kIova, kVa + 2048, P));
		EXPECT_EQ(-EINVAL, v.map(kIova, kVa, P + 2048));
		EXPECT_EQ(-EINVAL, v.map(kIova, kVa, 0));
		EXPECT_EQ(-EINVAL, v.map(UINT64_MAX - P + 1, kVa, 2 * P));
		EXPECT_EQ(-EINVAL, v.map(kIova, UINT64_MAX - P + 1, 2 * P));
		EXPECT_EQ(-EINVAL, v.map(kIova, kVa, P, kDmaRW | VFIO_DMA_MAP_FLAG_VADDR));
		ASSERT_EQ(0, v.map(kIova, kVa, 4 * P));
		EXPECT_EQ(-EEXIST, v.map(kIova + 3 * P, kVa, 4 * P));
		// Unmap: iova, size aligned; no wrap; FLAG_ALL wants zeros.
		uint64_t n = P;
		EXPECT_EQ(-EINVAL, v.unmap(kIova + 100, &n));
		n = 100;
		EXPECT_EQ(-EINVAL, v.unmap(kIova, &n));
		EXPECT_EQ(100u, n); // not written back on error
		n = 0;
		EXPECT_EQ(-EINVAL, v.unmap(kIova, &n));
		n = 2 * P;
		EXPECT_EQ(-EINVAL, v.unmap(UINT64_MAX - P + 1, &n));
		n = P;
		EXPECT_EQ(-EINVAL, v.unmap(0, &n, VFIO_DMA_UNMAP_FLAG_ALL));
		n = P;
		EXPECT_EQ(-EINVAL, v.unmap(kIova, &n, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP));
		EXPECT_EQ(4 * P, view(g).mapped_bytes);
		// Nothing there: success, 0 bytes.
		n = 4 * P;
		EXPECT_EQ(0, v.unmap(kIova + 64 * P, &n));
		EXPECT_EQ(0u, n);
		ASSERT_EQ(0, v.unmap_all(&n));
		EXPECT_EQ(4 * P, n);
		EXPECT_EQ(0u, fake_kapi::total_pins());
		close();
	}
}

// TYPE1 (v1) on a vfio.ko container keeps large IOPTEs and never cuts: an
// unmap starting inside a mapping removes nothing, one covering a
// mapping's start removes the whole mapping, even past its end.
TEST_F(VfioBackend, V1NeverCuts)
{
	ASSERT_EQ(0, open(false));
	uint64_t pfn = map_contig(kVa, 16);
	fake_kapi::FakeGroup g;
	ASSERT_EQ(0, attach(g));
	ASSERT_EQ(0, v.map(kIova, kVa, 4 * P));
	// Large IOPTEs stay on: one map call for the contiguous run.
	EXPECT_EQ(1u, view(g).map_calls);
	uint8_t buf[kInfoSz];
	ASSERT_EQ(0, v.info(buf, kInfoSz));
	vfio_iommu_type1_info info;
	memcpy(&info, buf, sizeof(info));
	EXPECT_EQ((1ull << 12) | (1ull << 21) | (1ull << 30), info.iova_pgsizes);
	// Starting inside: success, nothing unmapped.
	EXPECT_EQ(0, v.unmap_bytes(kIova + P, P));
	EXPECT_EQ(0, v.unmap_bytes(kIova + P, 64 * P));
	EXPECT_TRUE(maps(g, kIova, pfn, 4));
	EXPECT_EQ(4u, fake_kapi::total_pins());
	// Covering the start: the whole mapping, past the range's end.
	EXPECT_EQ(long(4 * P), v.unmap_bytes(kIova - 4 * P, 5 * P));
	EXPECT_FALSE(mapped(g, kIova + 3 * P));
	EXPECT_EQ(0u, fake_kapi::total_pins());
	// Two mappings: a range covering both starts takes both whole.
	ASSERT_EQ(0, v.map(kIova, kVa, 4 * P));
	ASSERT_EQ(0, v.map(kIova + 4 * P, kVa + 4 * P, 4 * P));
	EXPECT_EQ(long(8 * P), v.unmap_bytes(kIova, 5 * P));
	EXPECT_EQ(0u, view(g).mapped_bytes);
	// A range starting inside the first stops there, whatever follows.
	ASSERT_EQ(0, v.map(kIova, kVa, 4 * P));
	ASSERT_EQ(0, v.map(kIova + 4 * P, kVa + 4 * P, 4 * P));
	EXPECT_EQ(0, v.unmap_bytes(kIova + 2 * P, 8 * P));
	EXPECT_EQ(8 * P, view(g).mapped_bytes);
	EXPECT_EQ(long(4 * P), v.unmap_bytes(kIova + 4 * P, P));
	EXPECT_EQ(long(4 * P), v.unmap_bytes(kIova, 4 * P));
	EXPECT_EQ(0u, fake_kapi::mm_locked_vm(0));
}

// TYPE1v2 on a vfio.ko container refuses to cut a mapping: EINVAL (type1's
// errno, not iommufd's ENOENT), nothing unmapped, size not written back.
TEST_F(VfioBackend, V2RefusesCutsWithEinval)
{
	ASSERT_EQ(0, open(true));
	map_contig(kVa, 16);
	fake_kapi::FakeGroup g;
	ASSERT_EQ(0, attach(g));
	ASSERT_EQ(0, v.map(kIova, kVa, 4 * P));
	ASSERT_EQ(0, v.map(kIova + 4 * P, kVa + 4 * P, 4 * P));
	uint64_t n = P;
	EXPECT_EQ(-EINVAL, v.unmap(kIova + P, &n));
	EXPECT_EQ(P, n);
	n = 6 * P;
	EXPECT_EQ(-EINVAL, v.unmap(kIova, &n)); // cuts the second
	n = 6 * P;
	EXPECT_EQ(-EINVAL, v.unmap(kIova + 2 * P, &n)); // cuts the first
	EXPECT_EQ(8 * P, view(g).mapped_bytes);
	EXPECT_EQ(long(8 * P), v.unmap_bytes(kIova - 4 * P, 16 * P));
	EXPECT_EQ(0u, view(g).mapped_bytes);
	EXPECT_EQ(0u, fake_kapi::total_pins());
}

// Every allocation of a backend container's life fails in turn: open,
// attaches (shared and own domain), maps, v1 unmaps, info, detach, release.
// Each failure is clean: nothing alive once the container is released.
TEST_F(VfioBackend, AllocationFailureSweep)
{
	map_contig(kVa, 32);
	int injected = 0;
	for (long nth = 0;; nth++) {
		ASSERT_LT(nth, 5000);
		fake_kapi::FakeGroup g1, g2, g3;
		g2.id = 2;
		g3.id = 3;
		g3.coherent = false;
		g3.resv[0] = { 0x8000000, 0x80fffff, KAPI_RESV_SW_MSI };
		g3.resv[1] = { 0xfee00000, 0xfeefffff, KAPI_RESV_MSI };
		g3.nresv = 2;
		fake_kapi::fail_alloc_after(nth);
		int step = 0;
		auto run = [&]() -> long {
			long e;
			SWEEP_STEP(open(false));
			SWEEP_STEP(v.map(kIova, kVa, 16 * P));
			SWEEP_STEP(attach(g1));
			SWEEP_STEP(attach(g2));
			SWEEP_STEP(v.map(kIova + 16 * P, kVa + 16 * P, 16 * P));
			SWEEP_STEP(attach(g3));
			uint64_t n = P;
			SWEEP_STEP(v.unmap(kIova + 3 * P, &n));
			n = 4 * P;
			SWEEP_STEP(v.unmap(kIova + 14 * P, &n));
			uint8_t buf[256];
			SWEEP_STEP(v.info(buf, sizeof(buf)));
			detach(g1);
			SWEEP_STEP(v.unmap_all(&n));
			SWEEP_STEP(v.map(kIova, kVa, 4 * P));
			detach(g3);
			return 0;
		};
		long r = run();
		close();
		bool hit = fake_kapi::injected();
		fake_kapi::fail_alloc_after(-1);
		if (hit) {
			ASSERT_TRUE(r == -ENOMEM || r == -EFAULT || r == 0)
				<< "step " << step << " r " << r;
			injected++;
		} else {
			ASSERT_EQ(0, r) << "step " << step;
		}
		ASSERT_EQ(0, fake_kapi::live_domains()) << "nth " << nth;
		ASSERT_EQ(0, iommufd_cxx_vfio_containers()) << "nth " << nth;
		ASSERT_EQ(0, iommufd_cxx_live_objects()) << "nth " << nth;
		ASSERT_EQ(allocs_before_, iommufd_cxx_live_allocs()) << "nth " << nth;
		ASSERT_EQ(0, fake_kapi::mutexes_held());
		ASSERT_EQ(0u, fake_kapi::total_pins()) << "nth " << nth;
		ASSERT_EQ(0u, fake_kapi::mm_locked_vm(0)) << "nth " << nth;
		if (!hit)
			break;
	}
	EXPECT_GT(injected, 50);
}

} // namespace
