// SPDX-License-Identifier: GPL-2.0
//
// viommu.cpp - IOMMU_VIOMMU_ALLOC and IOMMU_VDEVICE_ALLOC, the vDEVICE
// table, and event delivery (see viommu.hpp).  Errnos and their order
// follow upstream's viommu.c.
#include "viommu.hpp"

#include "context.hpp"
#include "device.hpp"
#include "ucmd.hpp"
#include "veventq.hpp"

#include "cxxrt/log.hpp"
#include "uapi/iommufd.h"

namespace iommufd {

Viommu::~Viommu()
{
	// Every vDEVICE, vEVENTQ and nested HWPT held us: all are gone.
	CXX_ASSERT(!vdevices_ && !veventq_);
	driver_.reset(); // gives its cache tag back before the parent goes
}

Result<uint32_t> Viommu::phys_id(uint64_t virt_id)
{
	cxx::Guard g(lock_);
	for (Vdevice *v = vdevices_; v; v = v->next_)
		if (v->virt_id_ == virt_id)
			return v->phys_id_;
	return cxx::Err(ENOENT);
}

Result<uint64_t> Viommu::virt_id_of(const Device &dev)
{
	cxx::Guard g(lock_);
	for (Vdevice *v = vdevices_; v; v = v->next_)
		if (v->dev_.get() == &dev)
			return v->virt_id_;
	return cxx::Err(ENOENT);
}

bool Viommu::report_event(uint32_t type, const void *data, uint32_t len)
{
	cxx::Guard g(lock_);
	if (!veventq_ || veventq_->queue_type() != type)
		return false;
	veventq_->report(data, len);
	return true;
}

// Unlinks itself if it was linked (not if vdevice_alloc failed first).
Vdevice::~Vdevice()
{
	if (!viommu_)
		return;
	cxx::Guard g(viommu_->lock_);
	for (Vdevice **pp = &viommu_->vdevices_; *pp; pp = &(*pp)->next_) {
		if (*pp == this) {
			*pp = next_;
			break;
		}
	}
}

Status viommu_alloc_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_viommu_alloc>();
	if (cmd.flags || cmd.type == IOMMU_VIOMMU_TYPE_DEFAULT) {
		log_user("viommu_alloc: flags 0x%x or type %u not supported", cmd.flags, cmd.type);
		return cxx::Err(EOPNOTSUPP);
	}
	auto dev = ucmd.ctx.objects().get<Device>(cmd.dev_id);
	if (!dev.ok()) {
		log_user("viommu_alloc: no device %u", cmd.dev_id);
		return dev.error();
	}
	DeviceBackend &be = dev.value()->backend();
	if (!be.viommu_capable()) {
		log_user("viommu_alloc: %s has no vIOMMU support", be.name());
		return cxx::Err(EOPNOTSUPP);
	}
	auto parent = ucmd.ctx.objects().get<HwptPaging>(cmd.hwpt_id);
	if (!parent.ok()) {
		log_user("viommu_alloc: no paging HWPT %u", cmd.hwpt_id);
		return parent.error();
	}
	if (!parent.value()->nest_parent()) {
		log_user("viommu_alloc: HWPT %u was not allocated with NEST_PARENT", cmd.hwpt_id);
		return cxx::Err(EINVAL);
	}
	if (parent.value()->driver() != be.driver()) {
		log_user("viommu_alloc: HWPT %u belongs to another IOMMU", cmd.hwpt_id);
		return cxx::Err(EINVAL);
	}
	auto v = TRY(cxx::make_unique<Viommu>());
	v->lock_ = TRY(cxx::Mutex::create(KAPI_LOCK_VIOMMU));
	v->driver_ = TRY(be.viommu_alloc(cmd.type, *parent.value()));
	v->type_ = cmd.type;
	v->parent_ = parent.take();
	auto pending = TRY(ucmd.ctx.objects().add(cxx::move(v)));
	cmd.out_viommu_id = pending.id();
	TRY(ucmd.respond());
	pending.commit();
	return {};
}

Status vdevice_alloc_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_vdevice_alloc>();
	auto viommu = ucmd.ctx.objects().get<Viommu>(cmd.viommu_id);
	if (!viommu.ok()) {
		log_user("vdevice_alloc: no vIOMMU %u", cmd.viommu_id);
		return viommu.error();
	}
	auto dev = ucmd.ctx.objects().get<Device>(cmd.dev_id);
	if (!dev.ok()) {
		log_user("vdevice_alloc: no device %u", cmd.dev_id);
		return dev.error();
	}
	Viommu &v = *viommu.value();
	uint32_t phys = TRY(v.driver().vdevice_phys_id(*dev.value(), cmd.virt_id));

	auto vdev = TRY(cxx::make_unique<Vdevice>());
	vdev->virt_id_ = cmd.virt_id;
	vdev->phys_id_ = phys;
	vdev->dev_ = dev.take();
	vdev->viommu_ = viommu.take();
	Vdevice *raw = vdev.get();
	auto pending = TRY(ucmd.ctx.objects().add(cxx::move(vdev)));
	bool dup = false;
	{
		// Checked and linked in one step: two racing allocations of
		// the same virt_id cannot both succeed.
		cxx::Guard g(v.lock_);
		for (Vdevice *o = v.vdevices_; o && !dup; o = o->next_)
			dup = o->virt_id_ == raw->virt_id_ || o->dev_.get() == raw->dev_.get();
		if (!dup) {
			raw->next_ = v.vdevices_;
			v.vdevices_ = raw;
		}
	}
	if (dup) {
		log_user("vdevice_alloc: vIOMMU %u already has virt_id 0x%llx or device %u",
			 cmd.viommu_id, (unsigned long long)cmd.virt_id, cmd.dev_id);
		return cxx::Err(EEXIST);
	}
	cmd.out_vdevice_id = pending.id();
	TRY(ucmd.respond());
	pending.commit();
	return {};
}

} // namespace iommufd
