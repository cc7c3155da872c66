// SPDX-License-Identifier: GPL-2.0
//
// viommu.hpp - the virtual IOMMU objects (IOMMU_VIOMMU_ALLOC,
// IOMMU_VDEVICE_ALLOC, IOMMU_VEVENTQ_ALLOC): the per-VM slice of a physical
// IOMMU that a VMM drives on behalf of its guest.
//
// A Viommu sits on a NEST_PARENT paging HWPT (stage 2) and belongs to the
// IOMMU driver of the device it was allocated with; what is specific to
// that IOMMU (its cache tag, how guest commands are checked and run, what
// a nested HWPT made on it holds) is the driver's ViommuDriver.  The core
// here owns what every vIOMMU has: the vDEVICE table (a guest-visible ID
// per bound device; virt_id -> physical ID, used to translate guest
// commands and events), and the event queues that carry the IOMMU's events
// to user space with the guest's IDs in them.
//
// References: a Viommu holds its parent HWPT; a Vdevice holds its Viommu
// and its Device; a Veventq holds its Viommu; a nested HWPT made on a
// vIOMMU holds it.  So the vIOMMU cannot be destroyed while any of them
// exists (EBUSY), nor the parent HWPT while the vIOMMU does.
//
// Lock order: Viommu::lock_ -> Veventq::lock_.  Drivers call into the
// Viommu (lookups, report_event) without holding locks of their own.
#pragma once

#include "device.hpp"
#include "hwpt.hpp"
#include "object.hpp"

namespace iommufd {

class Device;
class Ucmd;
class Viommu;
class Veventq;
class Vdevice;

// What an IOMMU driver adds to a vIOMMU.
class ViommuDriver {
public:
	virtual ~ViommuDriver() = default;
	// The vEVENTQ type this driver reports (one per vIOMMU), and the
	// IOMMU_HWPT_INVALIDATE data type it takes.
	virtual uint32_t veventq_type() const = 0;
	virtual uint32_t invalidate_type() const = 0;
	// The physical ID a vDEVICE of `dev` with virt_id stands for.  EINVAL:
	// the device is behind another IOMMU, or virt_id is out of range.
	virtual Result<uint32_t> vdevice_phys_id(Device &dev, uint64_t virt_id) = 0;
	// IOMMU_HWPT_INVALIDATE on the vIOMMU (type and bounds checked by the
	// caller): *done entries handled, also on error.
	virtual Status cache_invalidate(Viommu &viommu, uint64_t uptr, uint32_t entry_len,
					uint32_t entry_num, uint32_t *done) = 0;
	// IOMMU_HWPT_ALLOC with pt_id = the vIOMMU: the driver's nested
	// configuration from the user's data (flags were checked).
	virtual Result<cxx::UniquePtr<NestedConfig>> alloc_nested(Viommu &viommu, Device &dev,
								   uint32_t data_type,
								   uint32_t data_len,
								   uint64_t data_uptr) = 0;
};

class Viommu final : public Object {
public:
	static constexpr ObjType kType = ObjType::Viommu;
	Viommu() : Object(kType) {}
	~Viommu() override;

	HwptPaging &parent() { return *parent_; }
	ObjRef<HwptPaging> parent_ref() { return parent_.dup(); }
	ViommuDriver &driver() { return *driver_; }
	uint32_t viommu_type() const { return type_; }

	// The physical ID of the vDEVICE with virt_id; ENOENT if none.
	Result<uint32_t> phys_id(uint64_t virt_id);
	// The virt_id of dev's vDEVICE; ENOENT if none.
	Result<uint64_t> virt_id_of(const Device &dev);
	// Queue an event on the vEVENTQ of `type`; dropped (false) when there
	// is none, as upstream.
	bool report_event(uint32_t type, const void *data, uint32_t len);

private:
	friend class Vdevice;
	friend class Veventq;
	friend Status viommu_alloc_ioctl(Ucmd &ucmd);
	friend Status vdevice_alloc_ioctl(Ucmd &ucmd);
	friend Status veventq_alloc_ioctl(Ucmd &ucmd);

	ObjRef<HwptPaging> parent_;
	cxx::UniquePtr<ViommuDriver> driver_;
	uint32_t type_ = 0;
	cxx::Mutex lock_;		   // KAPI_LOCK_VIOMMU: the two below
	Vdevice *vdevices_ = nullptr;	   // singly linked through Vdevice::next_
	Veventq *veventq_ = nullptr;	   // the one queue (driver's type)
};

class Vdevice final : public Object {
public:
	static constexpr ObjType kType = ObjType::Vdevice;
	Vdevice() : Object(kType) {}
	~Vdevice() override;

	uint64_t virt_id() const { return virt_id_; }
	uint32_t phys_id() const { return phys_id_; }

private:
	friend class Viommu;
	friend Status vdevice_alloc_ioctl(Ucmd &ucmd);
	ObjRef<Viommu> viommu_;
	ObjRef<Device> dev_;
	uint64_t virt_id_ = 0;
	uint32_t phys_id_ = 0;
	Vdevice *next_ = nullptr;
};

Status viommu_alloc_ioctl(Ucmd &ucmd);
Status vdevice_alloc_ioctl(Ucmd &ucmd);

} // namespace iommufd
