// SPDX-License-Identifier: GPL-2.0
//
// mock_domain.hpp - the mock IOMMU of the test ABI (uapi/iommufd_test.h):
// the page tables that IOMMU_TEST_OP_MOCK_DOMAIN devices attach to, with the
// semantics the kernel's selftests expect of upstream's mock driver.
//
// MockDomain is a paging domain over the aperture MOCK_APERTURE_START..
// MOCK_APERTURE_LAST with 2 KiB IO pages (half a CPU page, so that the core
// must cope with an IOMMU page smaller than PAGE_SIZE) and, for
// MOCK_FLAGS_DEVICE_HUGE_IOVA devices, 1 MiB huge pages.  Its table keeps one
// entry per 2 KiB IO page: the physical address and the flags START (first
// entry of a map() call), LAST (last entry), HUGE (mapped with the 1 MiB
// size) and DIRTY, which the test ops read and set (lookup(), entry(),
// set_dirty()).  Broken caller contracts (double map, an unmap that does not
// begin at START or end at LAST, misalignment) are reported as kernel WARNs,
// as upstream's mock does, and never crash.
//
// MockNestedDomain is the IOMMU_HWPT_DATA_SELFTEST nested domain: no page
// table, just a four-entry fake IOTLB that IOMMU_HWPT_INVALIDATE resets and
// IOMMU_TEST_OP_MD_CHECK_IOTLB reads.
#pragma once

#include <stdint.h>

#include "cxxrt/atomic.hpp"
#include "cxxrt/lock.hpp"
#include "cxxrt/memory.hpp"
#include "domain/domain.hpp"
#include "iopt/page.hpp"

namespace iommufd {

// mock_domain_flags.dev_flags (MOCK_FLAGS_DEVICE_* of uapi/iommufd_test.h).
enum MockDevFlags : uint32_t {
	kMockDevNoDirty = 1u << 0,   // MOCK_FLAGS_DEVICE_NO_DIRTY
	kMockDevHugeIova = 1u << 1,  // MOCK_FLAGS_DEVICE_HUGE_IOVA
	kMockDevPasid = 1u << 2,     // MOCK_FLAGS_DEVICE_PASID
};

// MOCK_IO_PAGE_SIZE and MOCK_HUGE_PAGE_SIZE of upstream's mock driver.
inline constexpr uint64_t kMockIoPageSize = iopt::kPageSize / 2;
inline constexpr uint64_t kMockHugePageSize = 512 * kMockIoPageSize;
// MOCK_APERTURE_START / MOCK_APERTURE_LAST.
inline constexpr uint64_t kMockApertureStart = 1ull << 24;
inline constexpr uint64_t kMockApertureLast = (1ull << 31) - 1;

// What the table holds for one 2 KiB IO page (entry()).  Plain constants
// rather than an enum, since they are only ever combined.
inline constexpr uint32_t kMockEntryStart = 1u << 0; // first page of a map() call
inline constexpr uint32_t kMockEntryLast = 1u << 1;  // last page of a map() call
inline constexpr uint32_t kMockEntryHuge = 1u << 2;  // part of a 1 MiB page
inline constexpr uint32_t kMockEntryDirty = 1u << 3;
struct MockEntry {
	uint64_t paddr; // of this 2 KiB page
	uint32_t flags; // kMockEntry*
};

class MockDomain final : public Domain {
	struct Token {
		explicit Token() = default;
	};

public:
	// A paging domain for a mock device with dev_flags (MockDevFlags):
	// 2 KiB pages, plus 1 MiB ones with kMockDevHugeIova.  With `dirty` it
	// has dirty tracking (the caller refuses dirty for kMockDevNoDirty
	// devices).  -ENOMEM.
	static cxx::Result<cxx::UniquePtr<MockDomain>> create(uint32_t dev_flags, bool dirty);
	// Unmapped already (a WARN otherwise, as upstream's mock_domain_free).
	~MockDomain() override;

	cxx::Status map(uint64_t iova, uint64_t paddr, uint64_t length, uint32_t prot) override;
	void unmap(uint64_t iova, uint64_t length) override;

	bool dirty_tracking_supported() const override { return dirty_ops_; }
	cxx::Status set_dirty_tracking(bool enable) override;
	cxx::Status read_and_clear_dirty(uint64_t iova, uint64_t length, bool no_clear,
					 DirtyBitmap &out) override;
	cxx::Status clear_dirty(uint64_t iova, uint64_t length) override;
	bool dirty_tracking_enabled() const;

	// IOMMU_TEST_OP_MD_CHECK_MAP: the physical address iova translates to
	// (the stored address of its 2 KiB page plus the offset in it), or
	// -ENOENT if that page is not mapped.
	cxx::Result<uint64_t> lookup(uint64_t iova) const;
	// The table entry of the 2 KiB page holding iova; -ENOENT if unmapped.
	cxx::Result<MockEntry> entry(uint64_t iova) const;
	// IOMMU_TEST_OP_DIRTY: mark dirty the page at iova + i * page_size for
	// each bit i set in the kernel bitmap `bits` (nbits bits).  Returns how
	// many of those pages were mapped (and so marked).  Tracking need not
	// be on: the caller checks dirty_tracking_enabled() as upstream does.
	uint64_t set_dirty(uint64_t iova, uint64_t page_size, const unsigned long *bits,
			   uint64_t nbits);

	// For tests: mapped 2 KiB pages, and table leaves allocated.
	uint64_t mapped_pages() const;
	uint64_t leaf_count() const;

	// The table: the aperture in leaves of one huge page each, so that a
	// 1 MiB page is exactly one leaf.
	static constexpr uint64_t kLeafEntries = kMockHugePageSize / kMockIoPageSize;
	static constexpr uint64_t kLeaves =
		(kMockApertureLast - kMockApertureStart + 1) / kMockHugePageSize;

	MockDomain(Token, uint64_t pgsize_bitmap, bool dirty, cxx::Mutex lock,
		   cxx::UniqueArray<uint64_t *> leaves, cxx::UniqueArray<uint16_t> used);

private:
	uint64_t *slot(uint64_t index) const
	{
		return leaves_[index / kLeafEntries] + index % kLeafEntries;
	}
	void free_empty_leaves(uint64_t first_leaf, uint64_t last_leaf);
	void erase_range(uint64_t first, uint64_t last);
	cxx::Status walk_dirty(uint64_t iova, uint64_t length, bool clear, DirtyBitmap *out);

	mutable cxx::Mutex lock_;               // KAPI_LOCK_DOMAIN: everything below
	cxx::UniqueArray<uint64_t *> leaves_;   // kLeaves, each null or kLeafEntries entries
	cxx::UniqueArray<uint16_t> used_;       // present entries in each leaf
	uint64_t nr_leaves_ = 0;
	uint64_t nr_mapped_ = 0;
	const bool dirty_ops_;
	bool tracking_ = false;
};

// The IOMMU_HWPT_DATA_SELFTEST nested domain and its fake IOTLB.
class MockNestedDomain final : cxx::NoCopyNoMove {
	struct Token {
		explicit Token() = default;
	};

public:
	// Every IOTLB entry starts as `iotlb` (iommu_hwpt_selftest.iotlb).
	static cxx::Result<cxx::UniquePtr<MockNestedDomain>> create(uint32_t iotlb);

	// IOMMU_TEST_OP_MD_CHECK_IOTLB; id <= MOCK_NESTED_DOMAIN_IOTLB_ID_MAX
	// (the caller checks: a larger id WARNs and reads 0).
	uint32_t iotlb(unsigned int id) const;

	// IOMMU_HWPT_INVALIDATE, data_type IOMMU_HWPT_INVALIDATE_DATA_SELFTEST
	// (the caller checks the type and the command's entry_num/entry_len
	// bounds): walk entry_num entries of entry_len bytes at user address
	// uptr, each a struct iommu_hwpt_invalidate_selftest.  Per entry, as
	// 6.12's iommu_copy_struct_from_user_array: -EINVAL if entry_len is
	// not exactly the struct's size (shorter than its initial version or
	// longer than what we know; in 6.12 a longer entry is EINVAL even with
	// a zero tail, so its E2BIG path is unreachable), -EFAULT; then
	// -EOPNOTSUPP for unknown flags, -EINVAL for iotlb_id > ID_MAX.
	// *done is the number of entries applied before any error.
	cxx::Status invalidate(uint64_t uptr, uint32_t entry_len, uint32_t entry_num,
			       uint32_t *done);

	explicit MockNestedDomain(Token, uint32_t iotlb);

	static constexpr unsigned int kIotlbNum = 4; // MOCK_NESTED_DOMAIN_IOTLB_NUM

private:
	// Atomic: MD_CHECK_IOTLB may read while another thread invalidates.
	cxx::Atomic<uint32_t> iotlb_[kIotlbNum];
};

} // namespace iommufd
