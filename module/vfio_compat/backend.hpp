// SPDX-License-Identifier: GPL-2.0
//
// backend.hpp - this module as an IOMMU backend of the kernel's vfio.ko.
//
// When vfio.ko's container (/dev/vfio/vfio) gets VFIO_SET_IOMMU(TYPE1 or
// TYPE1v2) and picks this module, it opens a BackendContainer and attaches
// each of its groups; the container ioctls that vfio.ko does not answer
// itself (GET_INFO, MAP_DMA, UNMAP_DMA, CHECK_EXTENSION) come to ioctl().
//
// A BackendContainer is an internal Context (no file; mm accounting, as
// VFIO charges) with one IOAS as its VFIO IOAS, so every container ioctl
// runs the same code as on /dev/iommu (container.cpp).  Each group gets a
// KernelDomain of its IOMMU driver, shared with the container's other
// groups when the driver accepts the attach (as type1 shares domains), and
// the IOAS keeps every domain filled.  A group's reserved regions (MSI
// window, RMRRs) become reserved IOVA ranges owned by that group, so MAP_DMA
// cannot land on them and GET_INFO's IOVA ranges leave them out.
//
// Locking: vfio.ko calls attach/detach/release under its container's
// group_lock held for writing and ioctl() under it held for reading; lock_
// additionally guards the group and domain lists.  Lock order: lock_ ->
// IoPagetable lock (add_domain/remove_domain/reserve).
#pragma once

#include "context.hpp"
#include "ioas.hpp"
#include "domain/kernel_domain.hpp"

namespace iommufd::vfio {

class BackendContainer : cxx::NoCopyNoMove {
public:
	// TYPE1v2 or TYPE1, with vfio_iommu_type1's MAP/UNMAP rules.
	static Result<cxx::UniquePtr<BackendContainer>> create(bool type1v2);
	BackendContainer() = default; // use create()
	~BackendContainer();

	long ioctl(unsigned int cmd, uint64_t arg);
	// EPERM: no MSI isolation (interrupt remapping) and
	// allow_unsafe_interrupts is off; EADDRINUSE: a reserved region of the
	// group meets an existing mapping; EEXIST: already attached; the IOMMU
	// driver's errors.  On failure nothing of the group remains.
	Status attach_group(kapi_iommu_group *group);
	void detach_group(kapi_iommu_group *group);

	// Containers open now, module-wide.
	static long live_count();

private:
	struct DomainEntry {
		cxx::UniquePtr<KernelDomain> domain;
		uint32_t groups = 0;
		uint64_t sw_msi = UINT64_MAX; // the MSI cookie's base, if any
		DomainEntry *next = nullptr;
	};
	struct GroupEntry {
		kapi_iommu_group *group = nullptr;
		DomainEntry *domain = nullptr;
		GroupEntry *next = nullptr;
	};

	Status attach_to_new_domain(GroupEntry &g, bool coherent, uint64_t sw_msi);
	void put_domain(DomainEntry *d);

	cxx::UniquePtr<Context> ctx_;
	ObjRef<Ioas> ioas_; // the VFIO IOAS, held for the container's life
	cxx::Mutex lock_;
	DomainEntry *domains_ = nullptr;
	GroupEntry *groups_ = nullptr;
	bool counted_ = false; // in live_count()
};

} // namespace iommufd::vfio
