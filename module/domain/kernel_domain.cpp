// SPDX-License-Identifier: GPL-2.0
//
// kernel_domain.cpp - the kernel iommu_domain behind the Domain interface.
#include "domain/kernel_domain.hpp"

#include "cxxrt/log.hpp"

namespace iommufd {

cxx::Result<cxx::UniquePtr<KernelDomain>> KernelDomain::create_attached(kapi_iommu_group *group,
									bool coherent,
									uint64_t sw_msi)
{
	int err = -ENOMEM;
	kapi_iommu_domain *d = kapi_iommu_domain_alloc(group, &err);
	if (!d)
		return cxx::Error(err);
	if (sw_msi != UINT64_MAX) {
		err = kapi_iommu_get_msi_cookie(d, sw_msi);
		if (err) {
			kapi_iommu_domain_free(d);
			return cxx::Error(err);
		}
	}
	err = kapi_iommu_attach_group(d, group);
	if (err) {
		kapi_iommu_domain_free(d);
		return cxx::Error(err);
	}
	uint64_t pgsizes, start, last;
	kapi_iommu_domain_info(d, &pgsizes, &start, &last);
	if (!pgsizes)
		log_err("group %d: the IOMMU driver's domain has no page sizes",
			kapi_iommu_group_id(group));
	auto kd = pgsizes ? cxx::make_unique<KernelDomain>(d, pgsizes, start, last, coherent)
			  : cxx::Err(ENODEV);
	if (!kd.ok()) {
		kapi_iommu_detach_group(d, group);
		kapi_iommu_domain_free(d);
	}
	return kd;
}

KernelDomain::~KernelDomain() { kapi_iommu_domain_free(d_); }

cxx::Status KernelDomain::map(uint64_t iova, uint64_t paddr, uint64_t length, uint32_t prot)
{
	int rc = kapi_iommu_map(d_, iova, paddr, length, prot, coherent_);
	if (rc)
		return cxx::Error(rc);
	return {};
}

void KernelDomain::unmap(uint64_t iova, uint64_t length) { kapi_iommu_unmap(d_, iova, length); }

} // namespace iommufd
