// SPDX-License-Identifier: GPL-2.0
//
// hwpt.hpp - hardware page tables (IOMMU_HWPT_*).
//
// A HwptPaging owns one IO page table (a Domain) that mirrors its IOAS:
// while it lives, the IOAS's io_pagetable maps every area into it.  It is
// either made by the user (IOMMU_HWPT_ALLOC) or automatically when a device
// attaches straight to an IOAS ("auto domain"); an automatic one is shared
// by every compatible device that attaches to that IOAS and destroyed when
// the last of them leaves.  A HwptNested is a stage-1 table the user owns
// (here the selftest mock), translated through a NEST_PARENT HwptPaging.
//
// References: a HWPT holds its IOAS (or parent HWPT), so those cannot be
// destroyed under it (EBUSY); each attached device holds its HWPT.
#pragma once

#include "fault.hpp"
#include "ioas.hpp"
#include "domain/domain.hpp"
#include "domain/mock_domain.hpp"

namespace iommufd {

// Which driver made a domain, so that test ops can tell a mock domain
// from another kind without RTTI.
// SoftSmmuV3 is the test ABI's software SMMUv3 (smmuv3/vsmmu.hpp); its
// paging domains are MockDomains too, but a device of one driver never
// attaches to another's HWPT.
enum class DomainDriver : uint8_t { Mock, SoftSmmuV3 };

class HwptPaging final : public Object {
public:
	static constexpr ObjType kType = ObjType::HwptPaging;

	// Attach `domain` to `ioas` (filling it with every area).
	static Result<cxx::UniquePtr<HwptPaging>> create(ObjRef<Ioas> ioas,
							 cxx::UniquePtr<Domain> domain,
							 DomainDriver driver, bool auto_domain,
							 bool nest_parent);
	HwptPaging() : Object(kType) {}
	~HwptPaging() override;

	Domain &domain() { return *domain_; }
	DomainDriver driver() const { return driver_; }
	Ioas &ioas() { return *ioas_; }
	bool auto_domain() const { return auto_domain_; }
	bool nest_parent() const { return nest_parent_; }
	// The mock domain (of the mock or the software SMMUv3 driver), or
	// null for another driver's.
	MockDomain *mock();

private:
	friend class Ioas;
	ObjRef<Ioas> ioas_;
	cxx::UniquePtr<Domain> domain_;
	DomainDriver driver_ = DomainDriver::Mock;
	bool auto_domain_ = false;
	bool nest_parent_ = false;
	bool attached_ = false; // the io_pagetable maps into domain_
	HwptPaging *next_auto_ = nullptr; // Ioas::auto_hwpts_ chain
	bool linked_ = false;		  // on that chain (set under hwpt_lock)
};

class Viommu;

// What a nested HWPT made on a vIOMMU holds for its driver (an SMMUv3
// guest STE, ...); the driver downcasts its own.
class NestedConfig {
public:
	virtual ~NestedConfig() = default;
};

// Either the test ABI's mock nested domain (made on a NEST_PARENT HWPT:
// `domain`), or a driver's nested configuration made on a vIOMMU
// (`viommu` and `config`); `parent` is the stage 2 in both cases.
class HwptNested final : public Object {
public:
	static constexpr ObjType kType = ObjType::HwptNested;
	// Out of line: Viommu is complete only in hwpt.cpp.
	HwptNested();
	~HwptNested() override;

	ObjRef<HwptPaging> parent;
	cxx::UniquePtr<MockNestedDomain> domain;
	ObjRef<Viommu> viommu;
	cxx::UniquePtr<NestedConfig> config;
	ObjRef<Fault> fault; // IOMMU_HWPT_FAULT_ID_VALID
};

Status hwpt_alloc_ioctl(Ucmd &ucmd);
Status hwpt_set_dirty_tracking_ioctl(Ucmd &ucmd);
Status hwpt_get_dirty_bitmap_ioctl(Ucmd &ucmd);
Status hwpt_invalidate_ioctl(Ucmd &ucmd);

} // namespace iommufd
