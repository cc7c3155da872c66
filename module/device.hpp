// SPDX-License-Identifier: GPL-2.0
//
// device.hpp - a device bound to a context (upstream's iommufd_device):
// what its IOMMU driver offers (DeviceBackend) and which HWPT it is
// attached to.
//
// Binding follows the positive capability rule: a device joins only if its
// IOMMU says it enforces cache coherency for DMA through paging domains;
// otherwise bind fails with EINVAL and a log line naming what is missing.
//
// Attaching to an IOAS picks (or makes) an automatic HWPT; attaching to a
// HWPT uses it.  The device holds its HWPT, so the HWPT cannot be
// destroyed while attached (EBUSY); an automatic HWPT is destroyed when its
// last device leaves.  Lock order: Device::lock_ -> Ioas::hwpt_lock_ ->
// ObjectTable / io_pagetable locks.
#pragma once

#include "object.hpp"
#include "domain/domain.hpp"
#include "domain/mock_domain.hpp"

namespace iommufd {

class Context;
class Ioas;
class Ucmd;
class HwptPaging;
class HwptNested;
class Device;
class ViommuDriver;
enum class DomainDriver : uint8_t;

// What a device's IOMMU driver provides to iommufd.
class DeviceBackend {
public:
	virtual ~DeviceBackend() = default;

	virtual const char *name() const = 0;
	virtual DomainDriver driver() const = 0;
	// DMA through a paging domain is cache coherent (IOMMU_CAP_CACHE_COHERENCY).
	virtual bool cache_coherent() const = 0;
	virtual bool dirty_tracking() const = 0;
	virtual uint8_t max_pasid_log2() const = 0;

	// A paging domain; flags are IOMMU_HWPT_ALLOC_* (NEST_PARENT,
	// DIRTY_TRACKING) and have been validated.
	virtual Result<cxx::UniquePtr<Domain>> alloc_paging(uint32_t flags) = 0;
	// May this device attach to `domain`?  EINVAL if not.
	virtual Status can_attach(Domain &domain) = 0;
	// May `dev` attach to this nested HWPT (whose parent passed
	// can_attach)?  The driver's errno if not.
	virtual Status can_attach_nested(Device &dev, HwptNested &hwpt) = 0;
	// The device's HWPT changed (attach, replace, detach); called under
	// the device's lock, after the change.
	virtual void hwpt_changed() {}

	// IOMMU_VIOMMU_ALLOC: does this IOMMU virtualize at all (EOPNOTSUPP
	// if not), and a vIOMMU of `type` over `parent`, a NEST_PARENT HWPT
	// of this driver (EOPNOTSUPP for a type it does not serve).
	virtual bool viommu_capable() const { return false; }
	virtual Result<cxx::UniquePtr<ViommuDriver>> viommu_alloc(uint32_t type,
								   HwptPaging &parent);

	// IOMMU_GET_HW_INFO: `type` in (DEFAULT or a specific type), out the
	// type served; fills up to `cap` bytes of `buf`, returns the full
	// length.  EOPNOTSUPP for a type it does not serve.
	virtual Result<uint32_t> hw_info(uint32_t *type, void *buf, uint32_t cap) = 0;
};

class Device final : public Object {
public:
	static constexpr ObjType kType = ObjType::Device;

	// Bind: EINVAL if the backend fails the capability rule.
	static Result<cxx::UniquePtr<Device>> create(Context &ctx,
						     cxx::UniquePtr<DeviceBackend> backend);
	Device(Context &ctx) : Object(kType), ctx_(ctx) {}
	~Device() override;

	DeviceBackend &backend() { return *backend_; }

	// Attach to pt_id (IOAS, HWPT_PAGING or HWPT_NESTED); *pt_id becomes
	// the HWPT used.  EINVAL if already attached; ENOENT unknown ID;
	// EINVAL incompatible HWPT; domain allocation and filling errors.
	Status attach(uint32_t *pt_id);
	// Move to another HWPT or IOAS in one step (same errors, but the
	// device must be attached).
	Status replace(uint32_t *pt_id);
	void detach();

	// The attached HWPT (nested or paging), or null.  Caller holds a
	// reference only while it keeps the returned ObjRef.
	ObjRef<Object> attached();

private:
	Result<ObjRef<Object>> resolve(uint32_t pt_id);
	Result<ObjRef<Object>> auto_hwpt(Ioas &ioas_obj, const ObjRef<Object> &ioas_ref);
	void drop_hwpt(ObjRef<Object> old);

	Context &ctx_;
	cxx::UniquePtr<DeviceBackend> backend_;
	cxx::Mutex lock_;
	ObjRef<Object> hwpt_;
};

Status get_hw_info_ioctl(Ucmd &ucmd);

} // namespace iommufd
