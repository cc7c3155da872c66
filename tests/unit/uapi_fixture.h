// SPDX-License-Identifier: GPL-2.0
//
// uapi_fixture.h - a GoogleTest fixture that drives the core the way user
// space drives /dev/iommu: every call goes through iommufd_cxx_ioctl (or,
// for the fds of test accesses and fault queues, through the fake fd table
// and the read/write entry points glue.c's file_operations use), with the
// test ABI on.  Shared by map_ioctl_test.cpp and hwpt_ioctl_test.cpp.
//
// The /dev/iommu file is modelled as the kernel keeps it: an access or a
// fault queue fd holds a reference on it, so closing the iommufd fd only
// releases the context once no such fd is open (close_iommufd() and
// close_fd() take care of the order).  TearDown closes whatever the test
// left open, releases, and checks that every counter the fake keeps is back
// where it started: objects, heap blocks, held mutexes, file references,
// pins, pin owners, memfd references and the locked/pinned page counts.
//
// User memory: kVa is a simulated range; map_user() gives it PFNs of the
// fake's simulated physical memory, so pinning, the mock domains'
// translations and MD_CHECK_MAP all see those PFNs.  Buffers the core copies
// to or from (bitmaps, invalidation arrays, fault records) are ordinary
// host memory.
#pragma once

#include <gtest/gtest.h>
#include <string.h>

#include <set>
#include <vector>

#include "context.hpp"
#include "fake_kapi.h"
#include "hwpt.hpp"
#include "iopt/pages.hpp"
#include "kapi.h"
#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

namespace uapi_test {

constexpr uint64_t P = 4096;
constexpr uint64_t kVa = 0x7f0000000000ull;	// simulated user memory
constexpr uint64_t kMockPage = 2048;		// MOCK_IO_PAGE_SIZE
constexpr uint64_t kAperture = MOCK_APERTURE_START;
constexpr uint32_t kRW = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
constexpr uint32_t kFixed = IOMMU_IOAS_MAP_FIXED_IOVA;

inline uint64_t uptr(const void *p) { return reinterpret_cast<uint64_t>(p); }

// One step of an allocation-failure sweep, inside a lambda returning long
// with `long e` and an outer `int step`: counts the step and returns the
// step's error, so a failure names the step that saw it.
#define SWEEP_STEP(expr)           \
	do {                       \
		step++;            \
		if ((e = (expr)))  \
			return e;  \
	} while (0)

struct MockDev {
	uint32_t stdev = 0, hwpt = 0, idev = 0;
};

class UapiTest : public ::testing::Test {
protected:
	void SetUp() override
	{
		fake_kapi::pin_reset();
		fake_kapi::set_test_abi(true);
		iommufd::iopt::set_pin_batch_bytes(65536);
		allocs_before_ = iommufd_cxx_live_allocs();
		file_refs_before_ = fake_kapi::file_refs_held();
		ASSERT_EQ(0, iommufd_cxx_open(&ctx_, nullptr));
	}

	void TearDown() override
	{
		fake_kapi::fail_alloc_after(-1);
		fake_kapi::clear_fault_ranges();
		while (!fds_.empty())
			close_fd(*fds_.begin());
		if (!closed_)
			close_iommufd();
		EXPECT_TRUE(released_);
		EXPECT_EQ(0, iommufd_cxx_live_objects());
		EXPECT_EQ(allocs_before_, iommufd_cxx_live_allocs());
		EXPECT_EQ(0, fake_kapi::mutexes_held());
		EXPECT_EQ(file_refs_before_, fake_kapi::file_refs_held());
		EXPECT_EQ(0u, fake_kapi::total_pins());
		EXPECT_EQ(0, fake_kapi::owners_alive());
		EXPECT_EQ(0, fake_kapi::memfd_refs());
		EXPECT_EQ(0u, fake_kapi::user_locked_vm(0));
		EXPECT_EQ(0u, fake_kapi::mm_locked_vm(0));
		EXPECT_EQ(0u, fake_kapi::mm_pinned_vm(0));
		fake_kapi::set_test_abi(false);
		fake_kapi::set_cap_ipc_lock(false);
		fake_kapi::set_cap_sys_resource(false);
		iommufd::iopt::set_pin_batch_bytes(65536);
		fake_kapi::pin_reset();
	}

	// ---- the files --------------------------------------------------------

	// User space closes its /dev/iommu fd; the context goes when the last
	// reference on the file does.
	void close_iommufd()
	{
		closed_ = true;
		maybe_release();
	}
	void close_fd(int fd)
	{
		fds_.erase(fd);
		EXPECT_TRUE(fake_kapi::close_fd(fd)) << fd;
		maybe_release();
	}
	void maybe_release()
	{
		if (closed_ && !released_ && fake_kapi::file_refs_held() == file_refs_before_) {
			iommufd_cxx_release(ctx_);
			released_ = true;
		}
	}

	// ---- plain ioctls -------------------------------------------------------

	long ioctl(unsigned int cmd, void *arg) { return iommufd_cxx_ioctl(ctx_, cmd, uptr(arg)); }

	uint32_t new_ioas()
	{
		iommu_ioas_alloc c = { .size = sizeof(c) };
		EXPECT_EQ(0, ioctl(IOMMU_IOAS_ALLOC, &c));
		return c.out_ioas_id;
	}

	long destroy(uint32_t id)
	{
		iommu_destroy c = { .size = sizeof(c), .id = id };
		return ioctl(IOMMU_DESTROY, &c);
	}

	// *iova in (FIXED) and out.
	long map(uint32_t ioas, uint64_t va, uint64_t len, uint64_t *iova, uint32_t flags = kRW)
	{
		iommu_ioas_map c = { .size = sizeof(c), .flags = flags, .ioas_id = ioas,
				     .user_va = va, .length = len, .iova = iova ? *iova : 0 };
		long r = ioctl(IOMMU_IOAS_MAP, &c);
		if (iova)
			*iova = c.iova;
		return r;
	}
	long map_fixed(uint32_t ioas, uint64_t va, uint64_t len, uint64_t iova, uint32_t flags = kRW)
	{
		return map(ioas, va, len, &iova, flags | kFixed);
	}

	long map_file(uint32_t ioas, int fd, uint64_t start, uint64_t len, uint64_t *iova,
		      uint32_t flags = kRW)
	{
		iommu_ioas_map_file c = { .size = sizeof(c), .flags = flags, .ioas_id = ioas,
					  .fd = fd, .start = start, .length = len,
					  .iova = iova ? *iova : 0 };
		long r = ioctl(IOMMU_IOAS_MAP_FILE, &c);
		if (iova)
			*iova = c.iova;
		return r;
	}

	long copy(uint32_t dst, uint32_t src, uint64_t src_iova, uint64_t len, uint64_t *dst_iova,
		  uint32_t flags = kRW)
	{
		iommu_ioas_copy c = { .size = sizeof(c), .flags = flags, .dst_ioas_id = dst,
				      .src_ioas_id = src, .length = len,
				      .dst_iova = dst_iova ? *dst_iova : 0, .src_iova = src_iova };
		long r = ioctl(IOMMU_IOAS_COPY, &c);
		if (dst_iova)
			*dst_iova = c.dst_iova;
		return r;
	}

	long unmap(uint32_t ioas, uint64_t iova, uint64_t len, uint64_t *unmapped = nullptr)
	{
		iommu_ioas_unmap c = { .size = sizeof(c), .ioas_id = ioas, .iova = iova,
				       .length = len };
		long r = ioctl(IOMMU_IOAS_UNMAP, &c);
		if (unmapped)
			*unmapped = c.length;
		return r;
	}

	long option(uint32_t option_id, uint16_t op, uint32_t object_id, uint64_t *val)
	{
		iommu_option c = { .size = sizeof(c), .option_id = option_id, .op = op,
				   .object_id = object_id, .val64 = *val };
		long r = ioctl(IOMMU_OPTION, &c);
		*val = c.val64;
		return r;
	}

	long vfio_ioas(uint16_t op, uint32_t *id)
	{
		iommu_vfio_ioas c = { .size = sizeof(c), .ioas_id = *id, .op = op };
		long r = ioctl(IOMMU_VFIO_IOAS, &c);
		*id = c.ioas_id;
		return r;
	}

	long change_process()
	{
		iommu_ioas_change_process c = { .size = sizeof(c) };
		return ioctl(IOMMU_IOAS_CHANGE_PROCESS, &c);
	}

	size_t area_count(uint32_t ioas)
	{
		auto ref = ctx().objects().get<iommufd::Ioas>(ioas);
		return ref.ok() ? ref.value()->iopt().area_count() : 0;
	}

	// ---- HWPT ioctls ------------------------------------------------------------

	long hwpt_alloc(uint32_t dev, uint32_t pt, uint32_t flags, uint32_t *out,
			uint32_t data_type = IOMMU_HWPT_DATA_NONE, const void *data = nullptr,
			uint32_t data_len = 0, uint32_t fault_id = 0)
	{
		iommu_hwpt_alloc c = { .size = sizeof(c), .flags = flags, .dev_id = dev,
				       .pt_id = pt, .data_type = data_type, .data_len = data_len,
				       .data_uptr = uptr(data), .fault_id = fault_id };
		long r = ioctl(IOMMU_HWPT_ALLOC, &c);
		if (out)
			*out = c.out_hwpt_id;
		return r;
	}
	long hwpt_alloc_nested(uint32_t dev, uint32_t parent, uint32_t *out, uint32_t flags = 0,
			       uint32_t fault_id = 0, uint32_t iotlb = IOMMU_TEST_IOTLB_DEFAULT)
	{
		iommu_hwpt_selftest data = { .iotlb = iotlb };
		return hwpt_alloc(dev, parent, flags, out, IOMMU_HWPT_DATA_SELFTEST, &data,
				  sizeof(data), fault_id);
	}

	long set_dirty_tracking(uint32_t hwpt, bool enable)
	{
		iommu_hwpt_set_dirty_tracking c = {
			.size = sizeof(c),
			.flags = enable ? uint32_t(IOMMU_HWPT_DIRTY_TRACKING_ENABLE) : 0,
			.hwpt_id = hwpt,
		};
		return ioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, &c);
	}

	long get_dirty_bitmap(uint32_t hwpt, uint64_t iova, uint64_t len, uint64_t page_size,
			      void *bitmap, uint32_t flags = 0)
	{
		iommu_hwpt_get_dirty_bitmap c = { .size = sizeof(c), .hwpt_id = hwpt,
						  .flags = flags, .iova = iova, .length = len,
						  .page_size = page_size, .data = uptr(bitmap) };
		return ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP, &c);
	}

	long invalidate(uint32_t hwpt, const void *data, uint32_t entry_len, uint32_t *num,
			uint32_t type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST)
	{
		iommu_hwpt_invalidate c = { .size = sizeof(c), .hwpt_id = hwpt,
					    .data_uptr = uptr(data), .data_type = type,
					    .entry_len = entry_len, .entry_num = *num };
		long r = ioctl(IOMMU_HWPT_INVALIDATE, &c);
		*num = c.entry_num;
		return r;
	}

	long hw_info(uint32_t dev, void *data, uint32_t *len, uint32_t *type = nullptr,
		     uint64_t *caps = nullptr, uint8_t *pasid_log2 = nullptr, uint32_t flags = 0)
	{
		iommu_hw_info c = { .size = sizeof(c), .flags = flags, .dev_id = dev,
				    .data_len = *len, .data_uptr = uptr(data) };
		if (type)
			c.in_data_type = *type;
		long r = ioctl(IOMMU_GET_HW_INFO, &c);
		*len = c.data_len;
		if (type)
			*type = c.out_data_type;
		if (caps)
			*caps = c.out_capabilities;
		if (pasid_log2)
			*pasid_log2 = c.out_max_pasid_log2;
		return r;
	}

	long fault_alloc(uint32_t *id, int *fd, uint32_t flags = 0)
	{
		iommu_fault_alloc c = { .size = sizeof(c), .flags = flags };
		long r = ioctl(IOMMU_FAULT_QUEUE_ALLOC, &c);
		if (r == 0) {
			*id = c.out_fault_id;
			*fd = int(c.out_fault_fd);
			fds_.insert(*fd);
		}
		return r;
	}

	// read(2)/write(2) on a fault queue fd, as shim/file.c passes them on.
	long fault_read(int fd, void *buf, size_t count)
	{
		void *ref;
		void *priv = kapi_fd_get(fd, KAPI_FD_FAULT, &ref);
		if (!priv)
			return -EBADF;
		long r = iommufd_cxx_fault_read(priv, uptr(buf), count);
		kapi_fd_put(ref);
		return r;
	}
	long fault_write(int fd, const void *buf, size_t count)
	{
		void *ref;
		void *priv = kapi_fd_get(fd, KAPI_FD_FAULT, &ref);
		if (!priv)
			return -EBADF;
		long r = iommufd_cxx_fault_write(priv, uptr(buf), count);
		kapi_fd_put(ref);
		return r;
	}
	bool fault_readable(int fd)
	{
		void *ref;
		void *priv = kapi_fd_get(fd, KAPI_FD_FAULT, &ref);
		EXPECT_NE(nullptr, priv);
		if (!priv)
			return false;
		bool r = iommufd_cxx_fault_readable(priv);
		kapi_fd_put(ref);
		return r;
	}

	// ---- the test ABI ----------------------------------------------------------------

	long test_cmd(iommu_test_cmd &c)
	{
		c.size = sizeof(c);
		return ioctl(IOMMU_TEST_CMD, &c);
	}

	long mock_domain(uint32_t pt, MockDev *out, uint32_t dev_flags = 0, bool with_flags = false)
	{
		iommu_test_cmd c = { .op = (with_flags || dev_flags) ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS
								      : IOMMU_TEST_OP_MOCK_DOMAIN,
				     .id = pt };
		c.mock_domain_flags.dev_flags = dev_flags;
		long r = test_cmd(c);
		if (out && r == 0)
			*out = MockDev{ c.mock_domain.out_stdev_id, c.mock_domain.out_hwpt_id,
					c.mock_domain.out_idev_id };
		return r;
	}
	MockDev new_mock(uint32_t pt, uint32_t dev_flags = 0)
	{
		MockDev d;
		EXPECT_EQ(0, mock_domain(pt, &d, dev_flags));
		return d;
	}

	long mock_replace(uint32_t stdev, uint32_t *pt)
	{
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev };
		c.mock_domain_replace.pt_id = *pt;
		long r = test_cmd(c);
		*pt = c.mock_domain_replace.pt_id;
		return r;
	}

	long check_map(uint32_t hwpt, uint64_t iova, uint64_t len, uint64_t va)
	{
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_MD_CHECK_MAP, .id = hwpt };
		c.check_map = { .iova = iova, .length = len, .uptr = va };
		return test_cmd(c);
	}

	long check_refs(uint64_t va, uint64_t len, uint32_t refs)
	{
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_MD_CHECK_REFS };
		c.check_refs = { .length = len, .uptr = va, .refs = refs };
		return test_cmd(c);
	}

	long check_iotlb(uint32_t hwpt, uint32_t id, uint32_t val)
	{
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_MD_CHECK_IOTLB, .id = hwpt };
		c.check_iotlb = { .id = id, .iotlb = val };
		return test_cmd(c);
	}

	long add_reserved(uint32_t ioas, uint64_t start, uint64_t len)
	{
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_ADD_RESERVED, .id = ioas };
		c.add_reserved = { .start = start, .length = len };
		return test_cmd(c);
	}

	long create_access(uint32_t ioas, int *fd, uint32_t flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
	{
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = ioas };
		c.create_access.flags = flags;
		long r = test_cmd(c);
		if (r == 0) {
			*fd = int(c.create_access.out_access_fd);
			fds_.insert(*fd);
		}
		return r;
	}

	long access_pages(int fd, uint64_t iova, uint64_t len, uint64_t va, uint32_t *item,
			  uint32_t flags = MOCK_FLAGS_ACCESS_WRITE)
	{
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_ACCESS_PAGES, .id = uint32_t(fd) };
		c.access_pages.flags = flags;
		c.access_pages.iova = iova;
		c.access_pages.length = len;
		c.access_pages.uptr = va;
		long r = test_cmd(c);
		if (item)
			*item = c.access_pages.out_access_pages_id;
		return r;
	}

	long destroy_access_pages(int fd, uint32_t item)
	{
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, .id = uint32_t(fd) };
		c.destroy_access_pages.access_pages_id = item;
		return test_cmd(c);
	}

	long access_rw(int fd, uint64_t iova, void *buf, uint64_t len, uint32_t flags)
	{
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_ACCESS_RW, .id = uint32_t(fd) };
		c.access_rw = { .iova = iova, .length = len, .uptr = uptr(buf), .flags = flags };
		return test_cmd(c);
	}

	long access_replace(int fd, uint32_t ioas)
	{
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, .id = uint32_t(fd) };
		c.access_replace_ioas.ioas_id = ioas;
		return test_cmd(c);
	}

	long set_dirty(uint32_t hwpt, uint64_t iova, uint64_t len, uint64_t page_size,
		       const void *bits, uint64_t *nr = nullptr)
	{
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_DIRTY, .id = hwpt };
		c.dirty.iova = iova;
		c.dirty.length = len;
		c.dirty.page_size = page_size;
		c.dirty.uptr = uptr(bits);
		long r = test_cmd(c);
		if (nr)
			*nr = c.dirty.out_nr_dirty;
		return r;
	}

	long trigger_iopf(uint32_t dev, uint32_t pasid, uint32_t grpid, uint32_t perm,
			  uint64_t addr)
	{
		iommu_test_cmd c = { .op = IOMMU_TEST_OP_TRIGGER_IOPF };
		c.trigger_iopf = { .dev_id = dev, .pasid = pasid, .grpid = grpid, .perm = perm,
				   .addr = addr };
		return test_cmd(c);
	}

	// ---- internals, for what no ioctl reports -----------------------------------------

	iommufd::Context &ctx() { return *static_cast<iommufd::Context *>(ctx_); }

	// The mock domain of a paging HWPT (the table's reference keeps it).
	iommufd::MockDomain *mock_of(uint32_t hwpt)
	{
		auto ref = ctx().objects().get<iommufd::HwptPaging>(hwpt);
		return ref.ok() ? ref.value()->mock() : nullptr;
	}
	bool exists(uint32_t id) { return ctx().objects().get_any(id).ok(); }

	// ---- user memory -------------------------------------------------------------------

	// Map n pages at va onto one contiguous (and huge-page aligned) PFN run.
	static uint64_t map_contig(uint64_t va, uint64_t n)
	{
		uint64_t pfn = fake_kapi::alloc_pfns(n, 512);
		fake_kapi::map_user(va, n, pfn);
		return pfn;
	}

	void *ctx_ = nullptr;
	std::set<int> fds_;
	bool closed_ = false;
	bool released_ = false;
	long allocs_before_ = 0;
	long file_refs_before_ = 0;
};

} // namespace uapi_test
