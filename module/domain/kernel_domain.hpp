// SPDX-License-Identifier: GPL-2.0
//
// kernel_domain.hpp - a Domain backed by a paging iommu_domain of the
// kernel's own IOMMU driver (VT-d, SMMUv3, AMD-Vi ...), for real devices:
// the groups a vfio.ko container attaches to this module (vfio_compat/
// backend.hpp).  map() and unmap() are iommu_map() and iommu_unmap(); the
// io_pagetable hands each physically contiguous run to one map() call, so
// the driver picks its largest page sizes.
#pragma once

#include "domain/domain.hpp"
#include "cxxrt/memory.hpp"
#include "kapi.h"

namespace iommufd {

class KernelDomain final : public Domain {
public:
	// A paging domain from the IOMMU driver of `group`'s devices, with
	// `group` attached to it (still empty).  `coherent`: DMA through it is
	// snooped (every device of the group has IOMMU_CAP_CACHE_COHERENCY), so
	// mappings carry IOMMU_CACHE.  `sw_msi`: the base of the group's
	// software MSI window, or UINT64_MAX.
	//
	// The group attaches before the domain is described: drivers settle a
	// domain's page sizes and aperture at the first attach (VT-d adds its
	// superpage sizes and narrows the aperture to the unit's address
	// width then), so reading them earlier would cap every mapping at
	// 4 KiB.  The caller detaches the group before destroying the domain.
	static cxx::Result<cxx::UniquePtr<KernelDomain>> create_attached(kapi_iommu_group *group,
									 bool coherent,
									 uint64_t sw_msi);
	KernelDomain(kapi_iommu_domain *d, uint64_t pgsize_bitmap, uint64_t start, uint64_t last,
		     bool coherent)
		: Domain(pgsize_bitmap, start, last), d_(d), coherent_(coherent)
	{
	}
	~KernelDomain() override;

	cxx::Status map(uint64_t iova, uint64_t paddr, uint64_t length, uint32_t prot) override;
	void unmap(uint64_t iova, uint64_t length) override;
	bool enforces_cache_coherency() const override { return coherent_; }

	kapi_iommu_domain *raw() const { return d_; }

private:
	kapi_iommu_domain *d_;
	bool coherent_;
};

} // namespace iommufd
