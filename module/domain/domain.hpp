// SPDX-License-Identifier: GPL-2.0
//
// domain.hpp - the one C++ interface every IO page table backend implements:
// the mock domain of the test ABI (mock_domain.hpp), and later the kernel's
// iommu_domain for real devices and the software SMMUv3 model.  The
// io_pagetable fills and unfills domains through map()/unmap() only, and
// HWPT dirty tracking goes through the three dirty-tracking calls, so the
// core never needs to know which backend sits behind a HWPT.
//
// Contract shared by all backends (the core relies on it):
//   - map() is all-or-nothing: on failure nothing of that call is mapped;
//   - unmap() covers whole earlier map() calls, never fails and never
//     allocates, so destroy and unmap paths stay infallible;
//   - dirty reports go to a DirtyBitmap (dirty_bitmap.hpp), which writes
//     the user's bitmap.
#pragma once

#include <stdint.h>

#include "cxxrt/base.hpp"
#include "cxxrt/result.hpp"

namespace iommufd {

// IOMMU_READ / IOMMU_WRITE, for map().
enum DomainProt : uint32_t {
	kProtRead = 1,
	kProtWrite = 2,
};

class DirtyBitmap;

class Domain : cxx::NoCopyNoMove {
public:
	virtual ~Domain();

	// Supported page sizes: bit n set means 2^n bytes.
	uint64_t pgsize_bitmap() const { return pgsize_bitmap_; }
	// The IOVA granule: the lowest supported page size.
	uint64_t min_page_size() const { return pgsize_bitmap_ & (~pgsize_bitmap_ + 1); }
	// The translatable IOVA window, inclusive at both ends.
	uint64_t aperture_start() const { return aperture_start_; }
	uint64_t aperture_last() const { return aperture_last_; }

	// Map [iova, iova + length) to [paddr, paddr + length).  iova, paddr and
	// length are multiples of min_page_size() and the range lies in the
	// aperture.  At each step the backend uses the largest supported page
	// size that the alignment of iova and paddr and the remaining length
	// allow (as the kernel's iommu_map does).  On failure nothing of this
	// call stays mapped.  -ENOMEM.
	virtual cxx::Status map(uint64_t iova, uint64_t paddr, uint64_t length,
				uint32_t prot) = 0;
	// Unmap [iova, iova + length), a union of whole earlier map() calls.
	// Never fails, never allocates.
	virtual void unmap(uint64_t iova, uint64_t length) = 0;

	// Are DMA writes through this domain always snooped by the CPU caches
	// (the kernel's enforce_cache_coherency)?  VFIO_DMA_CC_IOMMU reports
	// whether every domain of the container does.  The mock domain does,
	// as upstream's mock reports.
	virtual bool enforces_cache_coherency() const { return true; }

	// Dirty tracking: IOMMU_HWPT_ALLOC_DIRTY_TRACKING asks for a domain
	// where this is true.
	virtual bool dirty_tracking_supported() const;
	// IOMMU_HWPT_SET_DIRTY_TRACKING.  -EOPNOTSUPP without support.
	virtual cxx::Status set_dirty_tracking(bool enable);
	// IOMMU_HWPT_GET_DIRTY_BITMAP: record in `out` every dirty page in
	// [iova, iova + length) and clear its dirty bit unless no_clear.  A
	// backend whose pages are larger than the bitmap's page_size records
	// the whole page.  -EINVAL while tracking is off; -EFAULT from `out`.
	virtual cxx::Status read_and_clear_dirty(uint64_t iova, uint64_t length,
						 bool no_clear, DirtyBitmap &out);
	// Forget every dirty bit in [iova, iova + length) without reporting
	// it, even while tracking is off: enabling tracking calls this on every
	// mapped area first, so that stale bits from before are not reported
	// (upstream does the same with a NULL bitmap).  -EOPNOTSUPP without
	// support.
	virtual cxx::Status clear_dirty(uint64_t iova, uint64_t length);

protected:
	Domain(uint64_t pgsize_bitmap, uint64_t aperture_start, uint64_t aperture_last);

private:
	const uint64_t pgsize_bitmap_;
	const uint64_t aperture_start_;
	const uint64_t aperture_last_;
};

} // namespace iommufd
