// SPDX-License-Identifier: GPL-2.0
//
// device.cpp - binding, attaching and replacing devices, and
// IOMMU_GET_HW_INFO (see device.hpp for the rules and the lock order).
#include "device.hpp"

#include "context.hpp"
#include "hwpt.hpp"
#include "ioas.hpp"
#include "ucmd.hpp"
#include "viommu.hpp"

#include "cxxrt/log.hpp"
#include "uapi/iommufd.h"

namespace iommufd {

Result<cxx::UniquePtr<ViommuDriver>> DeviceBackend::viommu_alloc(uint32_t type, HwptPaging &)
{
	log_user("viommu_alloc: %s serves no vIOMMU type %u", name(), type);
	return cxx::Err(EOPNOTSUPP);
}

Result<cxx::UniquePtr<Device>> Device::create(Context &ctx, cxx::UniquePtr<DeviceBackend> backend)
{
	// Positive gating: only an IOMMU that says it keeps DMA coherent
	// through a paging domain can give iommufd's guarantees.
	if (!backend->cache_coherent()) {
		log_user("bind: %s: the IOMMU does not enforce cache coherency "
			 "(IOMMU_CAP_CACHE_COHERENCY missing)", backend->name());
		return cxx::Err(EINVAL);
	}
	auto dev = TRY(cxx::make_unique<Device>(ctx));
	dev->lock_ = TRY(cxx::Mutex::create(KAPI_LOCK_DEVICE));
	dev->backend_ = cxx::move(backend);
	return dev;
}

Device::~Device() { CXX_ASSERT(!hwpt_); }

ObjRef<Object> Device::attached()
{
	cxx::Guard g(lock_);
	return hwpt_.dup();
}

// Share an automatic HWPT of the IOAS that accepts this device, or make
// one.  A candidate that refuses with EINVAL is incompatible (another
// driver, dirty tracking this device lacks): try the next; any other error
// is the user's.
Result<ObjRef<Object>> Device::auto_hwpt(Ioas &ioas, const ObjRef<Object> &ioas_ref)
{
	cxx::Guard g(ioas.hwpt_lock());
	for (HwptPaging *h = ioas.first_auto_hwpt(); h; h = Ioas::next_auto_hwpt(h)) {
		// A HWPT being destroyed has left the table but is still on
		// this list until its destructor takes hwpt_lock; by then its
		// ID may already name another object, even another HWPT (of
		// another IOAS, or a user one): only `h` itself will do.
		auto ref = ctx_.objects().get<HwptPaging>(h->id());
		if (!ref.ok() || ref.value().get() != h)
			continue; // being destroyed
		auto hwpt = ref.take();
		if (hwpt->driver() != backend_->driver())
			continue;
		Status st = backend_->can_attach(hwpt->domain());
		if (st.ok())
			return cxx::move(hwpt).cast<Object>();
		if (st.code() != -EINVAL)
			return st.error();
	}

	auto domain = TRY(backend_->alloc_paging(0));
	auto hwpt = TRY(HwptPaging::create(ioas_ref.dup().cast<Ioas>(), cxx::move(domain),
					   backend_->driver(), true, false));
	TRY(backend_->can_attach(hwpt->domain()));
	HwptPaging *raw = hwpt.get();
	auto pending = TRY(ctx_.objects().add(cxx::move(hwpt)));
	ioas.link_auto_hwpt(raw);
	return pending.commit_and_hold();
}

// The HWPT that pt_id names, checked for this device, with a reference.
Result<ObjRef<Object>> Device::resolve(uint32_t pt_id)
{
	auto obj = TRY(ctx_.objects().get_any(pt_id));
	switch (obj->type()) {
	case ObjType::Ioas:
		return auto_hwpt(*static_cast<Ioas *>(obj.get()), obj);
	case ObjType::HwptPaging: {
		auto *h = static_cast<HwptPaging *>(obj.get());
		if (h->driver() != backend_->driver()) {
			log_user("attach: HWPT %u belongs to another IOMMU driver", pt_id);
			return cxx::Err(EINVAL);
		}
		TRY(backend_->can_attach(h->domain()));
		return obj;
	}
	case ObjType::HwptNested: {
		auto *h = static_cast<HwptNested *>(obj.get());
		if (h->parent->driver() != backend_->driver()) {
			log_user("attach: HWPT %u belongs to another IOMMU driver", pt_id);
			return cxx::Err(EINVAL);
		}
		TRY(backend_->can_attach(h->parent->domain()));
		TRY(backend_->can_attach_nested(*this, *h));
		return obj;
	}
	default:
		log_user("attach: object %u is not an IOAS or a HWPT", pt_id);
		return cxx::Err(EINVAL);
	}
}

// Let go of a HWPT; an automatic one goes with its last device.
void Device::drop_hwpt(ObjRef<Object> old)
{
	if (old->type() == ObjType::HwptNested) {
		auto *nested = static_cast<HwptNested *>(old.get());
		if (nested->fault)
			nested->fault->device_detached(id());
	}
	if (old->type() == ObjType::HwptPaging && static_cast<HwptPaging *>(old.get())->auto_domain())
		ctx_.objects().put_and_try_destroy(old);
}

Status Device::attach(uint32_t *pt_id)
{
	cxx::Guard g(lock_);
	if (hwpt_) {
		log_user("attach: device %u is already attached", id());
		return cxx::Err(EINVAL);
	}
	hwpt_ = TRY(resolve(*pt_id));
	*pt_id = hwpt_->id();
	backend_->hwpt_changed();
	return {};
}

Status Device::replace(uint32_t *pt_id)
{
	cxx::Guard g(lock_);
	if (!hwpt_) {
		log_user("replace: device %u is not attached", id());
		return cxx::Err(EINVAL);
	}
	auto next = TRY(resolve(*pt_id));
	*pt_id = next->id();
	if (next.get() == hwpt_.get())
		return {};
	ObjRef<Object> old = cxx::exchange(hwpt_, cxx::move(next));
	backend_->hwpt_changed();
	drop_hwpt(cxx::move(old));
	return {};
}

void Device::detach()
{
	cxx::Guard g(lock_);
	if (hwpt_) {
		ObjRef<Object> old = cxx::exchange(hwpt_, ObjRef<Object>());
		backend_->hwpt_changed();
		drop_hwpt(cxx::move(old));
	}
}

// Copies as much of the driver's data as the user's buffer holds and zeroes
// the rest of the buffer; data_len comes back as the full length.
Status get_hw_info_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_hw_info>();
	if ((cmd.flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE) || cmd.__reserved[0] || cmd.__reserved[1] ||
	    cmd.__reserved[2]) {
		log_user("get_hw_info: unknown flags 0x%x or __reserved set", cmd.flags);
		return cxx::Err(EOPNOTSUPP);
	}
	auto dev = ucmd.ctx.objects().get<Device>(cmd.dev_id);
	if (!dev.ok()) {
		log_user("get_hw_info: no device %u", cmd.dev_id);
		return dev.error();
	}
	DeviceBackend &be = dev.value()->backend();
	uint32_t type = IOMMU_HW_INFO_TYPE_DEFAULT;
	if (cmd.flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		type = cmd.in_data_type;
	uint8_t data[64];
	uint32_t len = TRY(be.hw_info(&type, data, sizeof(data)));
	CXX_ASSERT(len <= sizeof(data));

	if (cmd.data_len) {
		uint32_t n = cxx::min(cmd.data_len, len);
		if (kapi_copy_to_user(cmd.data_uptr, data, n))
			return cxx::Err(EFAULT);
		static const uint8_t zeros[64] = {};
		for (uint64_t off = n; off < cmd.data_len;) {
			uint64_t chunk = cxx::min<uint64_t>(cmd.data_len - off, sizeof(zeros));
			if (kapi_copy_to_user(cmd.data_uptr + off, zeros, chunk))
				return cxx::Err(EFAULT);
			off += chunk;
		}
	}
	cmd.data_len = len;
	cmd.out_data_type = type;
	cmd.out_capabilities = be.dirty_tracking() ? uint64_t(IOMMU_HW_CAP_DIRTY_TRACKING) : 0;
	cmd.out_max_pasid_log2 = be.max_pasid_log2();
	return ucmd.respond();
}

} // namespace iommufd
