// SPDX-License-Identifier: GPL-2.0
//
// ioctl_fuzz.cpp - libFuzzer target: a byte string becomes a sequence of
// operations on one /dev/iommu context, run on the portable core over the
// fake kapi with ASan/UBSan and the test ABI on.  An operation is an ioctl
// (command, size, struct bytes) or, for the fds the core hands out (test
// accesses, fault queues), a read, write or close of one of them.  After
// the fds and the file are closed, nothing may remain: no object, heap
// block, held mutex, file reference, pin, pin owner, memfd reference or
// charged page.
//
// The fake reads and writes "user" memory directly, and pins any address it
// has no simulated mapping for as this process's own page, so no user
// pointer may be left random:
//   - addresses the core pins or translates (IOAS_MAP's user_va, the test
//     ABI's check_map/check_refs/access_pages uptr) are aimed into kSimPages
//     of simulated memory at kSimVa (half contiguous, half scattered), and
//     everything above it faults, so a range running off its end is EFAULT;
//   - addresses the core copies to or from (arrays, bitmaps, hw_info data,
//     invalidation entries, access_rw buffers, fault records) are aimed at a
//     fuzzer-filled heap array with unmapped memory after it.
// The VFIO container ioctls (uapi/vfio_compat.h) share the command space:
// CHECK_EXTENSION and SET_IOMMU get a small integer argument instead of a
// pointer, MAP_DMA's vaddr is aimed like IOAS_MAP's user_va, and a prelude
// step names an IOAS for them and makes the container TYPE1 (v1), whose
// unmaps split areas.  An fd-op selector toggles the no-IOMMU parameter and
// CAP_SYS_RAWIO.  Three more build an SMMUv3 nesting chain (device, nest
// parent, vIOMMU, vDEVICE, vEVENTQ, nested HWPT from an STE the input
// shapes), run DMAs through it and pass it guest commands from the input.
// MAP_FILE's fd picks one of two memfds (small and 2 MiB folios), a file
// that is not a memfd, or nothing; access and fault fds are picked by index
// among those this input created.  Lengths the core would allocate for in
// full (access_rw, DIRTY's bitmap) are kept small unless they are past the
// limits the core checks.  Every input starts from the same fake state, so
// runs are deterministic.
//
// So that 30 seconds from an empty corpus reach the deep paths, the first
// two input bytes select a prelude (IOASes, mock devices, a map into the
// mock aperture, an access with a pin, a fault queue behind a nested HWPT
// with faults queued, a dirty-tracking HWPT with dirty bits, a memfd map, a
// copy, replaces, an unmap under the access's pin), made through the same
// ioctls; small IDs, IOVAs and lengths are folded onto the objects and the
// mock aperture an input is likely to have; and an
// op's size field is mostly replaced by the exact size of the command's
// struct (unless its top byte is 0xc0 or more).
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "fake_kapi.h"
#include "iopt/pages.hpp"
#include "smmuv3/regs.hpp"
#include "kapi.h"
#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"
#include "uapi/vfio_compat.h"

namespace {

constexpr uint64_t kPage = 4096;
constexpr size_t kArrayBytes = 64 * sizeof(iommu_iova_range);
constexpr uint64_t kSimVa = 0x7f0000000000ull;
constexpr uint64_t kSimPages = 64;
constexpr uint64_t kMaxTestBuffer = 16ull << 20;

struct State {
	void *ctx = nullptr;
	std::vector<int> access_fds, fault_fds;
	int memfds[3] = { -1, -1, -1 };
	uint8_t *array = nullptr; // the current op's user array
	uint32_t smmu_stdev = 0, smmu_viommu = 0; // the last SMMUv3 chain's
};

uint64_t get64(const uint8_t *buf, size_t off)
{
	uint64_t v;
	memcpy(&v, buf + off, sizeof(v));
	return v;
}
void put64(uint8_t *buf, size_t off, uint64_t v) { memcpy(buf + off, &v, sizeof(v)); }
uint32_t get32(const uint8_t *buf, size_t off)
{
	uint32_t v;
	memcpy(&v, buf + off, sizeof(v));
	return v;
}
void put32(uint8_t *buf, size_t off, uint32_t v) { memcpy(buf + off, &v, sizeof(v)); }

int pick(const std::vector<int> &fds, uint32_t v)
{
	if (v % (fds.size() + 1) == fds.size())
		return int(v); // no such fd (or not of this kind)
	return fds[v % (fds.size() + 1)];
}

// The struct size this module knows for cmd (0: none).
uint32_t struct_size(unsigned int cmd)
{
	switch (cmd) {
	case IOMMU_DESTROY: return sizeof(iommu_destroy);
	case IOMMU_IOAS_ALLOC: return sizeof(iommu_ioas_alloc);
	case IOMMU_IOAS_ALLOW_IOVAS: return sizeof(iommu_ioas_allow_iovas);
	case IOMMU_IOAS_COPY: return sizeof(iommu_ioas_copy);
	case IOMMU_IOAS_IOVA_RANGES: return sizeof(iommu_ioas_iova_ranges);
	case IOMMU_IOAS_MAP: return sizeof(iommu_ioas_map);
	case IOMMU_IOAS_MAP_FILE: return sizeof(iommu_ioas_map_file);
	case IOMMU_IOAS_UNMAP: return sizeof(iommu_ioas_unmap);
	case IOMMU_OPTION: return sizeof(iommu_option);
	case IOMMU_VFIO_IOAS: return sizeof(iommu_vfio_ioas);
	case IOMMU_HWPT_ALLOC: return sizeof(iommu_hwpt_alloc);
	case IOMMU_GET_HW_INFO: return sizeof(iommu_hw_info);
	case IOMMU_HWPT_SET_DIRTY_TRACKING: return sizeof(iommu_hwpt_set_dirty_tracking);
	case IOMMU_HWPT_GET_DIRTY_BITMAP: return sizeof(iommu_hwpt_get_dirty_bitmap);
	case IOMMU_HWPT_INVALIDATE: return sizeof(iommu_hwpt_invalidate);
	case IOMMU_FAULT_QUEUE_ALLOC: return sizeof(iommu_fault_alloc);
	case IOMMU_IOAS_CHANGE_PROCESS: return sizeof(iommu_ioas_change_process);
	case IOMMU_VIOMMU_ALLOC: return sizeof(iommu_viommu_alloc);
	case IOMMU_VDEVICE_ALLOC: return sizeof(iommu_vdevice_alloc);
	case IOMMU_VEVENTQ_ALLOC: return sizeof(iommu_veventq_alloc);
	case IOMMU_TEST_CMD: return sizeof(iommu_test_cmd);
	// argsz: the whole op buffer, so GET_INFO's capability chain fits.
	case VFIO_IOMMU_GET_INFO: return 96;
	case VFIO_IOMMU_MAP_DMA: return sizeof(vfio_iommu_type1_dma_map);
	case VFIO_IOMMU_UNMAP_DMA: return sizeof(vfio_iommu_type1_dma_unmap);
	default: return 0;
	}
}

long do_ioctl(State &s, unsigned int cmd, void *arg)
{
	return iommufd_cxx_ioctl(s.ctx, cmd, reinterpret_cast<unsigned long>(arg));
}

long test_cmd(State &s, iommu_test_cmd &c)
{
	c.size = sizeof(c);
	return do_ioctl(s, IOMMU_TEST_CMD, &c);
}

uint32_t new_ioas(State &s)
{
	iommu_ioas_alloc c = { .size = sizeof(c) };
	return do_ioctl(s, IOMMU_IOAS_ALLOC, &c) ? 0 : c.out_ioas_id;
}

// A mock device on pt: its idev ID (0 if that failed).
uint32_t new_mock(State &s, uint32_t pt, uint32_t dev_flags)
{
	iommu_test_cmd c = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, .id = pt };
	c.mock_domain_flags.dev_flags = dev_flags;
	return test_cmd(s, c) ? 0 : c.mock_domain_flags.out_idev_id;
}

uint32_t new_hwpt(State &s, uint32_t dev, uint32_t pt, uint32_t flags, uint32_t fault = 0)
{
	iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	iommu_hwpt_alloc c = { .size = sizeof(c), .flags = flags, .dev_id = dev, .pt_id = pt };
	if (fault) {
		c.data_type = IOMMU_HWPT_DATA_SELFTEST;
		c.data_len = sizeof(data);
		c.data_uptr = reinterpret_cast<uint64_t>(&data);
		c.fault_id = fault;
	}
	return do_ioctl(s, IOMMU_HWPT_ALLOC, &c) ? 0 : c.out_hwpt_id;
}

// The prelude: each bit of `bits` adds a step (some need earlier ones).
void prelude(State &s, uint16_t bits)
{
	if (!(bits & 1))
		return;
	uint32_t a = new_ioas(s), b = new_ioas(s);
	uint32_t idev = 0, huge_stdev = 0, parent = 0, nested_idev = 0, dirty = 0;
	int afd = -1;
	if (bits & 0x8000) {
		// a is the VFIO container's IOAS, TYPE1 (v1: large pages off).
		iommu_vfio_ioas v = { .size = sizeof(v), .ioas_id = a, .op = IOMMU_VFIO_IOAS_SET };
		do_ioctl(s, IOMMU_VFIO_IOAS, &v);
		iommufd_cxx_ioctl(s.ctx, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU);
	}
	if (bits & 2)
		idev = new_mock(s, a, 0);
	if (bits & 0x80) {
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, .id = a };
		c.mock_domain_flags.dev_flags = MOCK_FLAGS_DEVICE_HUGE_IOVA;
		if (!test_cmd(s, c))
			huge_stdev = c.mock_domain_flags.out_stdev_id;
	}
	if (bits & 4) {
		iommu_ioas_map m = { .size = sizeof(m),
				     .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
					      IOMMU_IOAS_MAP_WRITEABLE,
				     .ioas_id = a, .user_va = kSimVa, .length = 16 * kPage,
				     .iova = MOCK_APERTURE_START };
		do_ioctl(s, IOMMU_IOAS_MAP, &m);
	}
	if (bits & 8) {
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = a };
		c.create_access.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;
		if (!test_cmd(s, c)) {
			afd = int(c.create_access.out_access_fd);
			s.access_fds.push_back(afd);
			iommu_test_cmd p = { .op = IOMMU_TEST_OP_ACCESS_PAGES, .id = uint32_t(afd) };
			p.access_pages.iova = MOCK_APERTURE_START;
			p.access_pages.length = 2 * kPage;
			test_cmd(s, p);
		}
	}
	if ((bits & 0x10) && idev) {
		iommu_fault_alloc f = { .size = sizeof(f) };
		if (!do_ioctl(s, IOMMU_FAULT_QUEUE_ALLOC, &f)) {
			s.fault_fds.push_back(int(f.out_fault_fd));
			parent = new_hwpt(s, idev, a, IOMMU_HWPT_ALLOC_NEST_PARENT);
			uint32_t nested = new_hwpt(s, idev, parent, IOMMU_HWPT_FAULT_ID_VALID,
						   f.out_fault_id);
			if (nested)
				nested_idev = new_mock(s, nested, 0);
		}
	}
	if ((bits & 0x20) && idev) {
		dirty = new_hwpt(s, idev, a, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
		iommu_hwpt_set_dirty_tracking c = { .size = sizeof(c),
						    .flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
						    .hwpt_id = dirty };
		do_ioctl(s, IOMMU_HWPT_SET_DIRTY_TRACKING, &c);
	}
	if (bits & 0x40) {
		iommu_ioas_map_file m = { .size = sizeof(m),
					  .flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
					  .ioas_id = b, .fd = s.memfds[1], .length = 4ull << 20 };
		do_ioctl(s, IOMMU_IOAS_MAP_FILE, &m);
	}
	if ((bits & 0x100) && nested_idev) {
		// Faults queued for the fd ops to read and answer.
		for (uint32_t g = 0; g < 2; g++) {
			iommu_test_cmd c = { .op = IOMMU_TEST_OP_TRIGGER_IOPF };
			c.trigger_iopf = { .dev_id = nested_idev, .pasid = g, .grpid = g };
			test_cmd(s, c);
		}
	}
	if ((bits & 0x200) && dirty) {
		uint8_t *bits_buf = static_cast<uint8_t *>(calloc(1, 8));
		bits_buf[0] = 0x5a;
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_DIRTY, .id = dirty };
		c.dirty.iova = MOCK_APERTURE_START;
		c.dirty.length = 16 * kPage;
		c.dirty.page_size = kPage;
		c.dirty.uptr = reinterpret_cast<uint64_t>(bits_buf);
		test_cmd(s, c);
		iommu_hwpt_get_dirty_bitmap g = { .size = sizeof(g), .hwpt_id = dirty,
						  .flags = IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR,
						  .iova = MOCK_APERTURE_START, .length = 16 * kPage,
						  .page_size = kPage,
						  .data = reinterpret_cast<uint64_t>(bits_buf) };
		do_ioctl(s, IOMMU_HWPT_GET_DIRTY_BITMAP, &g);
		free(bits_buf);
	}
	if ((bits & 0x400) && afd >= 0) {
		uint8_t *buf = static_cast<uint8_t *>(calloc(1, 64));
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_ACCESS_RW, .id = uint32_t(afd) };
		c.access_rw = { .iova = MOCK_APERTURE_START + 100, .length = 64,
				.uptr = reinterpret_cast<uint64_t>(buf),
				.flags = MOCK_ACCESS_RW_WRITE };
		test_cmd(s, c);
		free(buf);
	}
	if (bits & 0x800) {
		iommu_ioas_copy c = { .size = sizeof(c),
				      .flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
				      .dst_ioas_id = b, .src_ioas_id = a, .length = 8 * kPage,
				      .src_iova = MOCK_APERTURE_START };
		do_ioctl(s, IOMMU_IOAS_COPY, &c);
	}
	if ((bits & 0x1000) && huge_stdev) {
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = huge_stdev };
		c.mock_domain_replace.pt_id = parent ? parent : b;
		test_cmd(s, c);
	}
	if ((bits & 0x2000) && afd >= 0) {
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, .id = uint32_t(afd) };
		c.access_replace_ioas.ioas_id = b;
		test_cmd(s, c);
	}
	if (bits & 0x4000) {
		// Unmap under the access's pin: it is told to let go.
		iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = a,
				       .iova = MOCK_APERTURE_START, .length = 16 * kPage };
		do_ioctl(s, IOMMU_IOAS_UNMAP, &u);
	}
}

// An SMMUv3 nesting chain (fd op 11), its shape from `v`: an IOAS with 16
// simulated pages at the aperture, a MOCK_SMMUV3 device, a nest parent, a
// vIOMMU, a vDEVICE, a vEVENTQ and a nested HWPT whose STE (config, CD
// pointer into those pages, S1Fmt, S1CDMax, S1DSS) comes from v, the device
// replaced onto it.  Any step may fail; what was made stays for the rest of
// the input (destroys, DMAs, invalidations, fd closes) to work on.
void smmu_chain(State &s, uint32_t v)
{
	namespace ste = iommufd::smmuv3::ste;
	uint32_t ioas = new_ioas(s);
	iommu_ioas_map m = { .size = sizeof(m),
			     .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				      (v & 1 ? 0u : uint32_t(IOMMU_IOAS_MAP_WRITEABLE)),
			     .ioas_id = ioas, .user_va = kSimVa, .length = 16 * kPage,
			     .iova = MOCK_APERTURE_START };
	do_ioctl(s, IOMMU_IOAS_MAP, &m);
	iommu_test_cmd c = { .op = IOMMU_TEST_OP_CXX_MOCK_SMMUV3, .id = ioas };
	if (test_cmd(s, c))
		return;
	uint32_t stdev = c.mock_smmuv3.out_stdev_id, idev = c.mock_smmuv3.out_idev_id;
	uint32_t parent = new_hwpt(s, idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
	iommu_viommu_alloc va = { .size = sizeof(va), .type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
				  .dev_id = idev, .hwpt_id = parent };
	if (do_ioctl(s, IOMMU_VIOMMU_ALLOC, &va))
		return;
	s.smmu_stdev = stdev;
	s.smmu_viommu = va.out_viommu_id;
	if (!(v & 2)) {
		iommu_vdevice_alloc vd = { .size = sizeof(vd), .viommu_id = va.out_viommu_id,
					   .dev_id = idev, .virt_id = (v >> 8) & 0xff };
		do_ioctl(s, IOMMU_VDEVICE_ALLOC, &vd);
	}
	if (!(v & 4)) {
		iommu_veventq_alloc q = { .size = sizeof(q), .viommu_id = va.out_viommu_id,
					  .type = IOMMU_VEVENTQ_TYPE_ARM_SMMUV3,
					  .veventq_depth = 1 + (v >> 16) % 4 };
		if (!do_ioctl(s, IOMMU_VEVENTQ_ALLOC, &q))
			s.fault_fds.push_back(int(q.out_veventq_fd)); // closed the same way
	}
	static const uint64_t kConfigs[] = { ste::kConfigS1Trans, ste::kConfigBypass,
					     ste::kConfigAbort, ste::kConfigS1Trans };
	const uint64_t cd_ipa = MOCK_APERTURE_START + ((v >> 20) % 16) * kPage;
	iommu_hwpt_arm_smmuv3 data = {};
	data.ste[0] = (v & 8 ? 0 : ste::k0V) | ste::k0Config.prep(kConfigs[(v >> 4) % 4]) |
		      ste::k0S1ContextPtr.prep(cd_ipa >> 6) | ste::k0S1Fmt.prep((v >> 24) % 3) |
		      ste::k0S1CDMax.prep((v >> 26) % 4);
	data.ste[1] = ste::k1S1DSS.prep((v >> 30) % 3);
	iommu_hwpt_alloc h = { .size = sizeof(h), .dev_id = idev, .pt_id = va.out_viommu_id,
			       .data_type = IOMMU_HWPT_DATA_ARM_SMMUV3, .data_len = sizeof(data),
			       .data_uptr = reinterpret_cast<uint64_t>(&data) };
	if (do_ioctl(s, IOMMU_HWPT_ALLOC, &h))
		return;
	iommu_test_cmd r = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev };
	r.mock_domain_replace.pt_id = h.out_hwpt_id;
	test_cmd(s, r);
}

// A DMA by the last chain's device (fd op 12): its IOVA, length, direction
// and SubstreamID from `v`.
void smmu_dma(State &s, uint32_t v)
{
	if (!s.smmu_stdev)
		return;
	uint8_t *buf = static_cast<uint8_t *>(calloc(1, 2 * kPage));
	iommu_test_cmd c = { .op = IOMMU_TEST_OP_CXX_SMMU_DMA, .id = s.smmu_stdev };
	c.smmu_dma.flags = v & 3;
	c.smmu_dma.ssid = v & SMMU_DMA_SSID ? (v >> 2) & 0xff : 0;
	c.smmu_dma.iova = uint64_t((v >> 10) & 0x3fff) << 8;
	c.smmu_dma.length = 1 + (v >> 24) * 8;
	c.smmu_dma.uptr = reinterpret_cast<uint64_t>(buf);
	test_cmd(s, c);
	free(buf);
}

// Guest commands on the last chain's vIOMMU (fd op 13): up to 32 entries
// from the fuzzer's array, so opcodes, vSIDs and reserved bits are its.
void smmu_invalidate(State &s, uint32_t v)
{
	if (!s.smmu_viommu)
		return;
	iommu_hwpt_invalidate c = { .size = sizeof(c), .hwpt_id = s.smmu_viommu,
				    .data_uptr = reinterpret_cast<uint64_t>(s.array),
				    .data_type = IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
				    .entry_len = 16, .entry_num = v % 33 };
	do_ioctl(s, IOMMU_HWPT_INVALIDATE, &c);
}

// How a field of a command struct is steered (see the top of the file).
enum Kind : uint8_t {
	Id,	  // an object ID: small values fold onto the IDs an input makes
	Iova,	  // small values land in the mock aperture, 2 KiB apart
	Len,	  // small values become multiples of 2 KiB
	PageSize, // small values become a power of two
	Array,	  // a user pointer the core copies through: the array
	Sim,	  // a user address the core pins or translates: simulated memory
	AccessFd, // a test access fd, by index
	MemFd,	  // MAP_FILE's fd: a memfd, a plain file or nothing
	U64 = 0x80,
};
struct Field {
	uint8_t off;
	uint8_t kind; // Kind, | U64 for a 64-bit field
};

#define F32(type, field, kind) Field{ uint8_t(offsetof(type, field)), kind }
#define F64(type, field, kind) Field{ uint8_t(offsetof(type, field)), uint8_t((kind) | U64) }

void steer(uint8_t *buf, Field f, State &s)
{
	const bool wide = f.kind & U64;
	uint64_t v = wide ? get64(buf, f.off) : get32(buf, f.off);
	switch (Kind(f.kind & ~U64)) {
	case Id:
		if (v < 0x100)
			v %= 16;
		break;
	case Iova:
		if (v && v < 0x100)
			v = MOCK_APERTURE_START + (v - 1) * 2048;
		break;
	case Len:
		if (v < 0x100)
			v *= 2048;
		break;
	case PageSize:
		if (v && v < 0x100)
			v = 1ull << (v % 24);
		break;
	case Array:
		if (v)
			v = reinterpret_cast<uint64_t>(s.array) + v % (kArrayBytes + 32);
		break;
	case Sim:
		v = kSimVa + v % ((kSimPages + 2) * kPage);
		break;
	case AccessFd:
		v = uint32_t(pick(s.access_fds, uint32_t(v)));
		break;
	case MemFd:
		v = v % 4 == 3 ? uint32_t(-1) : uint32_t(s.memfds[v % 4]);
		break;
	default:
		break;
	}
	if (wide)
		put64(buf, f.off, v);
	else
		put32(buf, f.off, uint32_t(v));
}

template <size_t N> void steer_all(uint8_t *buf, const Field (&fields)[N], State &s)
{
	for (const Field &f : fields)
		steer(buf, f, s);
}

void redirect(unsigned int cmd, uint8_t *buf, State &s)
{
	switch (cmd) {
	case IOMMU_DESTROY: {
		static const Field f[] = { F32(iommu_destroy, id, Id) };
		steer_all(buf, f, s);
		break;
	}
	case IOMMU_IOAS_IOVA_RANGES: {
		static const Field f[] = { F32(iommu_ioas_iova_ranges, ioas_id, Id),
					   F64(iommu_ioas_iova_ranges, allowed_iovas, Array) };
		steer_all(buf, f, s);
		break;
	}
	case IOMMU_IOAS_ALLOW_IOVAS: {
		static const Field f[] = { F32(iommu_ioas_allow_iovas, ioas_id, Id),
					   F64(iommu_ioas_allow_iovas, allowed_iovas, Array) };
		steer_all(buf, f, s);
		break;
	}
	case IOMMU_IOAS_MAP: {
		static const Field f[] = { F32(iommu_ioas_map, ioas_id, Id),
					   F64(iommu_ioas_map, user_va, Sim),
					   F64(iommu_ioas_map, length, Len),
					   F64(iommu_ioas_map, iova, Iova) };
		steer_all(buf, f, s);
		break;
	}
	case IOMMU_IOAS_MAP_FILE: {
		static const Field f[] = { F32(iommu_ioas_map_file, ioas_id, Id),
					   F32(iommu_ioas_map_file, fd, MemFd),
					   F64(iommu_ioas_map_file, start, Len),
					   F64(iommu_ioas_map_file, length, Len),
					   F64(iommu_ioas_map_file, iova, Iova) };
		steer_all(buf, f, s);
		break;
	}
	case IOMMU_IOAS_COPY: {
		static const Field f[] = { F32(iommu_ioas_copy, dst_ioas_id, Id),
					   F32(iommu_ioas_copy, src_ioas_id, Id),
					   F64(iommu_ioas_copy, length, Len),
					   F64(iommu_ioas_copy, dst_iova, Iova),
					   F64(iommu_ioas_copy, src_iova, Iova) };
		steer_all(buf, f, s);
		break;
	}
	case IOMMU_IOAS_UNMAP: {
		static const Field f[] = { F32(iommu_ioas_unmap, ioas_id, Id),
					   F64(iommu_ioas_unmap, iova, Iova),
					   F64(iommu_ioas_unmap, length, Len) };
		steer_all(buf, f, s);
		break;
	}
	case IOMMU_OPTION: {
		static const Field f[] = { F32(iommu_option, object_id, Id) };
		steer_all(buf, f, s);
		break;
	}
	case IOMMU_VFIO_IOAS: {
		static const Field f[] = { F32(iommu_vfio_ioas, ioas_id, Id) };
		steer_all(buf, f, s);
		break;
	}
	case IOMMU_HWPT_ALLOC: {
		static const Field f[] = { F32(iommu_hwpt_alloc, dev_id, Id),
					   F32(iommu_hwpt_alloc, pt_id, Id),
					   F64(iommu_hwpt_alloc, data_uptr, Array),
					   F32(iommu_hwpt_alloc, fault_id, Id) };
		steer_all(buf, f, s);
		break;
	}
	case IOMMU_GET_HW_INFO: {
		static const Field f[] = { F32(iommu_hw_info, dev_id, Id),
					   F64(iommu_hw_info, data_uptr, Array) };
		steer_all(buf, f, s);
		break;
	}
	case IOMMU_HWPT_SET_DIRTY_TRACKING: {
		static const Field f[] = { F32(iommu_hwpt_set_dirty_tracking, hwpt_id, Id) };
		steer_all(buf, f, s);
		break;
	}
	case IOMMU_HWPT_GET_DIRTY_BITMAP: {
		static const Field f[] = { F32(iommu_hwpt_get_dirty_bitmap, hwpt_id, Id),
					   F64(iommu_hwpt_get_dirty_bitmap, iova, Iova),
					   F64(iommu_hwpt_get_dirty_bitmap, length, Len),
					   F64(iommu_hwpt_get_dirty_bitmap, page_size, PageSize),
					   F64(iommu_hwpt_get_dirty_bitmap, data, Array) };
		steer_all(buf, f, s);
		break;
	}
	case IOMMU_HWPT_INVALIDATE: {
		static const Field f[] = { F32(iommu_hwpt_invalidate, hwpt_id, Id),
					   F64(iommu_hwpt_invalidate, data_uptr, Array) };
		steer_all(buf, f, s);
		break;
	}
	case VFIO_IOMMU_MAP_DMA: {
		static const Field f[] = { F64(vfio_iommu_type1_dma_map, vaddr, Sim),
					   F64(vfio_iommu_type1_dma_map, iova, Iova),
					   F64(vfio_iommu_type1_dma_map, size, Len) };
		steer_all(buf, f, s);
		break;
	}
	case VFIO_IOMMU_UNMAP_DMA: {
		static const Field f[] = { F64(vfio_iommu_type1_dma_unmap, iova, Iova),
					   F64(vfio_iommu_type1_dma_unmap, size, Len) };
		steer_all(buf, f, s);
		break;
	}
	case IOMMU_TEST_CMD: {
		iommu_test_cmd c;
		memcpy(&c, buf, sizeof(c));
		// Small values become a real op.
		if (c.op < 0x100)
			c.op %= 16;
		memcpy(buf, &c, sizeof(c));
		using T = iommu_test_cmd;
		static const Field id[] = { F32(T, id, Id) };
		static const Field fd[] = { F32(T, id, AccessFd) };
		switch (c.op) {
		case IOMMU_TEST_OP_ADD_RESERVED: {
			static const Field f[] = { F64(T, add_reserved.start, Iova),
						   F64(T, add_reserved.length, Len) };
			steer_all(buf, id, s);
			steer_all(buf, f, s);
			break;
		}
		case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE: {
			static const Field f[] = { F32(T, mock_domain_replace.pt_id, Id) };
			steer_all(buf, id, s);
			steer_all(buf, f, s);
			break;
		}
		case IOMMU_TEST_OP_MD_CHECK_MAP: {
			static const Field f[] = { F64(T, check_map.iova, Iova),
						   F64(T, check_map.length, Len),
						   F64(T, check_map.uptr, Sim) };
			steer_all(buf, id, s);
			steer_all(buf, f, s);
			break;
		}
		case IOMMU_TEST_OP_MD_CHECK_REFS: {
			static const Field f[] = { F64(T, check_refs.length, Len),
						   F64(T, check_refs.uptr, Sim) };
			steer_all(buf, f, s);
			break;
		}
		case IOMMU_TEST_OP_ACCESS_PAGES: {
			static const Field f[] = { F64(T, access_pages.iova, Iova),
						   F64(T, access_pages.length, Len) };
			steer_all(buf, fd, s);
			steer_all(buf, f, s);
			// NULL skips the page check; else simulated memory.
			if (get64(buf, offsetof(T, access_pages.uptr)))
				steer(buf, F64(T, access_pages.uptr, Sim), s);
			break;
		}
		case IOMMU_TEST_OP_ACCESS_RW: {
			static const Field f[] = { F64(T, access_rw.iova, Iova),
						   F64(T, access_rw.uptr, Array) };
			steer_all(buf, fd, s);
			steer_all(buf, f, s);
			// The core allocates the whole length: small, unless
			// past its limit.
			uint64_t n = get64(buf, offsetof(T, access_rw.length));
			if (n <= kMaxTestBuffer)
				put64(buf, offsetof(T, access_rw.length), n % (3 * kArrayBytes));
			break;
		}
		case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
			steer_all(buf, fd, s);
			if (c.op == IOMMU_TEST_OP_ACCESS_REPLACE_IOAS)
				steer(buf, F32(T, access_replace_ioas.ioas_id, Id), s);
			break;
		case IOMMU_TEST_OP_DIRTY: {
			static const Field f[] = { F64(T, dirty.iova, Iova),
						   F64(T, dirty.length, Len),
						   F64(T, dirty.page_size, PageSize),
						   F64(T, dirty.uptr, Array) };
			steer_all(buf, id, s);
			steer_all(buf, f, s);
			// The core allocates the whole bitmap: at most 64 Ki
			// bits, unless past its 128 Mi bit limit.
			uint64_t ps = get64(buf, offsetof(T, dirty.page_size));
			uint64_t len = get64(buf, offsetof(T, dirty.length));
			if (ps && len / ps > (1u << 16) && len / ps <= (16ull << 20) * 8)
				put64(buf, offsetof(T, dirty.length), ps << 16);
			break;
		}
		case IOMMU_TEST_OP_TRIGGER_IOPF: {
			static const Field f[] = { F32(T, trigger_iopf.dev_id, Id) };
			steer_all(buf, f, s);
			break;
		}
		default:
			steer_all(buf, id, s);
			break;
		}
		break;
	}
	default:
		break;
	}
}

#undef F32
#undef F64

// After a successful ioctl: remember the fds it made.
void record_fds(unsigned int cmd, const uint8_t *buf, State &s)
{
	if (cmd == IOMMU_FAULT_QUEUE_ALLOC) {
		s.fault_fds.push_back(int(get32(buf, offsetof(iommu_fault_alloc, out_fault_fd))));
	} else if (cmd == IOMMU_VEVENTQ_ALLOC) {
		// Closed like fault queue fds (fault_rw skips them: another kind).
		s.fault_fds.push_back(
			int(get32(buf, offsetof(iommu_veventq_alloc, out_veventq_fd))));
	} else if (cmd == IOMMU_TEST_CMD &&
		   get32(buf, offsetof(iommu_test_cmd, op)) == IOMMU_TEST_OP_CREATE_ACCESS) {
		s.access_fds.push_back(
			int(get32(buf, offsetof(iommu_test_cmd, create_access.out_access_fd))));
	}
}

void close_fd(std::vector<int> &fds, uint32_t v)
{
	if (fds.empty())
		return;
	size_t i = v % fds.size();
	if (!fake_kapi::close_fd(fds[i]))
		abort();
	fds.erase(fds.begin() + long(i));
}

// read(2)/write(2) on a fault queue fd, as shim/file.c passes them on.
void fault_rw(State &s, uint8_t sel, uint8_t count_byte, uint32_t which)
{
	int fd = pick(s.fault_fds, which);
	void *ref;
	void *priv = kapi_fd_get(fd, KAPI_FD_FAULT, &ref);
	if (!priv)
		return; // EBADF from the VFS
	const bool write = sel & 1;
	size_t unit = write ? sizeof(iommu_hwpt_page_response) : sizeof(iommu_hwpt_pgfault);
	size_t count = (count_byte % 8) * unit + (count_byte & 0x80 ? 1 : 0);
	uint64_t ubuf = reinterpret_cast<uint64_t>(s.array) + (count_byte & 0x40 ? 8 : 0);
	if (write)
		iommufd_cxx_fault_write(priv, ubuf, count);
	else
		iommufd_cxx_fault_read(priv, ubuf, count);
	iommufd_cxx_fault_readable(priv);
	kapi_fd_put(ref);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	// The module-lifetime state (the software SMMUv3), made once as at load.
	static const bool loaded = iommufd_cxx_init() == 0;
	if (!loaded)
		__builtin_trap();
	long allocs = iommufd_cxx_live_allocs();
	long file_refs = fake_kapi::file_refs_held();

	// The same starting state for every input.
	fake_kapi::pin_reset();
	fake_kapi::set_test_abi(true);
	fake_kapi::set_cap_ipc_lock(false);
	fake_kapi::set_cap_sys_resource(false);
	fake_kapi::iommu_reset();
	iommufd::iopt::set_pin_batch_bytes(65536);
	fake_kapi::map_user(kSimVa, kSimPages / 2, fake_kapi::alloc_pfns(kSimPages / 2, 512));
	for (uint64_t i = kSimPages / 2; i < kSimPages; i++)
		fake_kapi::map_user(kSimVa + i * kPage, 1, fake_kapi::alloc_pfns(1));
	const uint64_t sim_end = kSimVa + kSimPages * kPage;
	int other = fake_kapi::new_process();
	fake_kapi::set_rlimit_memlock(other, 16 * kPage);

	State s;
	s.memfds[0] = fake_kapi::memfd_create(64, 1);
	s.memfds[1] = fake_kapi::memfd_create(1024, 512);
	s.memfds[2] = fake_kapi::plain_fd();
	if (iommufd_cxx_open(&s.ctx, nullptr))
		abort();
	if (len >= 2) {
		prelude(s, uint16_t(data[0] | data[1] << 8));
		data += 2;
		len -= 2;
	}

	while (len >= 6) {
		// Op: 1 byte selector, 1 byte struct length, 4 bytes size.
		uint8_t sel = data[0];
		uint32_t size;
		memcpy(&size, data + 2, 4);
		if (sel >= 0xf0) {
			// fds and the process: no struct follows.
			switch (sel & 0x0f) {
			case 0 ... 3:
				break; // below, once the array is set up
			case 4 ... 5:
				close_fd(s.access_fds, size);
				break;
			case 6 ... 7:
				close_fd(s.fault_fds, size);
				break;
			case 8:
				fake_kapi::set_current_process(size % 2 ? other : 0);
				break;
			case 9:
				fake_kapi::set_cap_sys_resource(size & 1);
				break;
			case 10:
				fake_kapi::set_noiommu_enabled(size & 1);
				fake_kapi::set_cap_sys_rawio(size & 2);
				break;
			case 11:
				smmu_chain(s, size);
				break;
			case 12:
				smmu_dma(s, size);
				break;
			default:
				break; // 13: below, with the array
			}
			if ((sel & 0x0f) > 3 && (sel & 0x0f) != 13) {
				data += 6;
				len -= 6;
				continue;
			}
		}
		// 0x00-0x7f: a served command (the test command weighted up);
		// 0x80-0xbf: any number around them; 0xc0-0xdf: other types;
		// 0xe0-0xef: the VFIO container numbers (VFIO_BASE + 0..15).
		unsigned int cmd;
		if (sel < 0x80)
			cmd = _IO(IOMMUFD_TYPE, sel % 28 < 21 ? IOMMUFD_CMD_BASE + sel % 28
							      : _IOC_NR(IOMMU_TEST_CMD));
		else if (sel < 0xc0)
			cmd = _IO(IOMMUFD_TYPE, 0x78 + sel % 0x30);
		else if (sel < 0xe0)
			cmd = 0xc0000000u | sel;
		else
			cmd = _IO(VFIO_TYPE, VFIO_BASE + (sel & 0x0f));
		size_t n = data[1] % 80;
		// Mostly the command's own size; sometimes a plausible one, or
		// anything.
		uint32_t exact = struct_size(cmd);
		if ((size >> 24) < 0xc0 && exact)
			size = exact;
		else if ((size >> 24) < 0xe0)
			size %= 96;
		uint8_t count_byte = data[1];
		data += 6;
		len -= 6;
		n = n < len ? n : len;

		// The struct in a buffer exactly as long as the bytes given, so
		// reading past it is caught by ASan unless the size says stop.
		uint8_t *buf = static_cast<uint8_t *>(calloc(1, 96));
		memcpy(buf, data, n);
		memcpy(buf, &size, 4);

		// The user array (its contents: the next input bytes).
		s.array = static_cast<uint8_t *>(calloc(1, kArrayBytes));
		memcpy(s.array, data + n, len - n < kArrayBytes ? len - n : kArrayBytes);

		fake_kapi::clear_fault_ranges();
		fake_kapi::add_fault_range(reinterpret_cast<uint64_t>(buf) + 96, 1 << 20);
		fake_kapi::add_fault_range(reinterpret_cast<uint64_t>(s.array) + kArrayBytes, 1 << 20);
		// Everything above the simulated memory faults.
		fake_kapi::add_fault_range(sim_end, UINT64_MAX - sim_end);

		if (sel >= 0xf0 && (sel & 0x0f) == 13) {
			smmu_invalidate(s, size);
		} else if (sel >= 0xf0) {
			fault_rw(s, sel, count_byte, size);
		} else {
			redirect(cmd, buf, s);
			// Two VFIO commands take an integer, not a pointer.
			unsigned long arg = reinterpret_cast<unsigned long>(buf);
			if (cmd == VFIO_CHECK_EXTENSION || cmd == VFIO_SET_IOMMU)
				arg = size % 12;
			if (iommufd_cxx_ioctl(s.ctx, cmd, arg) == 0)
				record_fds(cmd, buf, s);
		}
		free(s.array);
		s.array = nullptr;
		free(buf);
		data += n;
		len -= n;
	}

	// Close what user space still holds; the file goes last, as in the
	// kernel (each access and fault fd holds a reference on it).
	fake_kapi::clear_fault_ranges();
	for (int fd : s.access_fds)
		if (!fake_kapi::close_fd(fd))
			abort();
	for (int fd : s.fault_fds)
		if (!fake_kapi::close_fd(fd))
			abort();
	if (fake_kapi::file_refs_held() != file_refs)
		abort(); // an fd we do not know of still holds the file
	iommufd_cxx_release(s.ctx);

	if (iommufd_cxx_live_objects() != 0 || iommufd_cxx_live_allocs() != allocs ||
	    fake_kapi::mutexes_held() != 0 || fake_kapi::total_pins() != 0 ||
	    fake_kapi::owners_alive() != 0 || fake_kapi::memfd_refs() != 0)
		abort();
	for (int p : { 0, other })
		if (fake_kapi::user_locked_vm(p) || fake_kapi::mm_locked_vm(p) ||
		    fake_kapi::mm_pinned_vm(p))
			abort();
	iommufd::iopt::set_pin_batch_bytes(65536);
	return 0;
}
