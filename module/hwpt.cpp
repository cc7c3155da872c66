// SPDX-License-Identifier: GPL-2.0
//
// hwpt.cpp - IOMMU_HWPT_ALLOC, _SET_DIRTY_TRACKING, _GET_DIRTY_BITMAP and
// _INVALIDATE, and the lifetime of HWPT objects (see hwpt.hpp).
//
// Errnos and their order follow upstream's hw_pagetable.c and
// io_pagetable.c (Debian 6.12): the selftests probe them one by one.
#include "hwpt.hpp"

#include "context.hpp"
#include "device.hpp"
#include "fault.hpp"
#include "ucmd.hpp"
#include "viommu.hpp"

#include "cxxrt/checked.hpp"
#include "cxxrt/log.hpp"
#include "domain/dirty_bitmap.hpp"
#include "uapi/iommufd.h"
#include "uapi/iommufd_test.h"

namespace iommufd {

Result<cxx::UniquePtr<HwptPaging>> HwptPaging::create(ObjRef<Ioas> ioas,
						      cxx::UniquePtr<Domain> domain,
						      DomainDriver driver, bool auto_domain,
						      bool nest_parent)
{
	auto hwpt = TRY(cxx::make_unique<HwptPaging>());
	hwpt->ioas_ = cxx::move(ioas);
	hwpt->domain_ = cxx::move(domain);
	hwpt->driver_ = driver;
	hwpt->auto_domain_ = auto_domain;
	hwpt->nest_parent_ = nest_parent;
	TRY(hwpt->ioas_->iopt().add_domain(hwpt->domain_.get()));
	hwpt->attached_ = true;
	return hwpt;
}

HwptPaging::~HwptPaging()
{
	// Only a committed automatic HWPT is linked; one that failed while
	// being made (under hwpt_lock) never was, and must not take the lock.
	if (linked_)
		ioas_->unlink_auto_hwpt(this);
	if (attached_)
		ioas_->iopt().remove_domain(domain_.get());
	domain_.reset(); // before the IOAS reference goes
}

MockDomain *HwptPaging::mock()
{
	bool mock = driver_ == DomainDriver::Mock || driver_ == DomainDriver::SoftSmmuV3;
	return mock ? static_cast<MockDomain *>(domain_.get()) : nullptr;
}

HwptNested::HwptNested() : Object(kType) {}

HwptNested::~HwptNested() = default;

namespace {

constexpr uint32_t kPagingFlags = IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING;

Result<cxx::UniquePtr<Object>> alloc_paging(Device &dev, ObjRef<Ioas> ioas,
					     const iommu_hwpt_alloc &cmd)
{
	if (cmd.flags & ~kPagingFlags) {
		log_user("hwpt_alloc: flags 0x%x not valid for a paging HWPT", cmd.flags);
		return cxx::Err(EOPNOTSUPP);
	}
	DeviceBackend &be = dev.backend();
	if ((cmd.flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !be.dirty_tracking()) {
		log_user("hwpt_alloc: device %u cannot track dirty pages", dev.id());
		return cxx::Err(EOPNOTSUPP);
	}
	if (cmd.data_type != IOMMU_HWPT_DATA_NONE) {
		log_user("hwpt_alloc: %s takes no data for a paging HWPT", be.name());
		return cxx::Err(EOPNOTSUPP);
	}
	auto domain = TRY(be.alloc_paging(cmd.flags));
	auto hwpt = TRY(HwptPaging::create(cxx::move(ioas), cxx::move(domain), be.driver(), false,
					   cmd.flags & IOMMU_HWPT_ALLOC_NEST_PARENT));
	return cxx::UniquePtr<Object>(hwpt.release());
}

Result<cxx::UniquePtr<Object>> alloc_nested(Device &dev, ObjRef<HwptPaging> parent,
					     const iommu_hwpt_alloc &cmd)
{
	if (cmd.flags & ~IOMMU_HWPT_FAULT_ID_VALID) {
		log_user("hwpt_alloc: flags 0x%x not valid for a nested HWPT", cmd.flags);
		return cxx::Err(EOPNOTSUPP);
	}
	if (parent->auto_domain() || !parent->nest_parent()) {
		log_user("hwpt_alloc: HWPT %u was not allocated with NEST_PARENT", parent->id());
		return cxx::Err(EINVAL);
	}
	if (parent->driver() != dev.backend().driver() || !parent->mock()) {
		log_user("hwpt_alloc: parent HWPT %u belongs to another driver", parent->id());
		return cxx::Err(EINVAL);
	}
	// Only the mock driver makes nested domains on a paging parent; the
	// software SMMUv3 makes them on a vIOMMU, as upstream's SMMUv3 does.
	if (dev.backend().driver() != DomainDriver::Mock ||
	    cmd.data_type != IOMMU_HWPT_DATA_SELFTEST) {
		log_user("hwpt_alloc: %s serves no nested data type %u on a paging HWPT",
			 dev.backend().name(), cmd.data_type);
		return cxx::Err(EOPNOTSUPP);
	}
	// The driver's struct, as 6.12's iommu_copy_struct_from_user takes
	// it: shorter than its last field or longer than what we know is
	// EINVAL (even with a zero tail).
	iommu_hwpt_selftest data = {};
	constexpr uint32_t kMin = offsetof(iommu_hwpt_selftest, iotlb) + sizeof(data.iotlb);
	if (cmd.data_len < kMin || cmd.data_len > sizeof(data))
		return cxx::Err(EINVAL);
	if (kapi_copy_from_user(&data, cmd.data_uptr, cmd.data_len))
		return cxx::Err(EFAULT);
	auto hwpt = TRY(cxx::make_unique<HwptNested>());
	hwpt->domain = TRY(MockNestedDomain::create(data.iotlb));
	hwpt->parent = cxx::move(parent);
	return cxx::UniquePtr<Object>(hwpt.release());
}

// A nested HWPT on a vIOMMU: the vIOMMU's driver turns the user's data
// into its nested configuration; stage 2 is the vIOMMU's parent.
Result<cxx::UniquePtr<Object>> alloc_on_viommu(Device &dev, ObjRef<Viommu> viommu,
						const iommu_hwpt_alloc &cmd)
{
	if (cmd.flags & ~IOMMU_HWPT_FAULT_ID_VALID) {
		log_user("hwpt_alloc: flags 0x%x not valid for a nested HWPT", cmd.flags);
		return cxx::Err(EOPNOTSUPP);
	}
	auto hwpt = TRY(cxx::make_unique<HwptNested>());
	hwpt->config = TRY(viommu->driver().alloc_nested(*viommu, dev, cmd.data_type,
							  cmd.data_len, cmd.data_uptr));
	hwpt->parent = viommu->parent_ref();
	hwpt->viommu = cxx::move(viommu);
	return cxx::UniquePtr<Object>(hwpt.release());
}

} // namespace

Status hwpt_alloc_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_hwpt_alloc>();
	if (cmd.__reserved || cmd.__reserved2) {
		log_user("hwpt_alloc: __reserved is not zero");
		return cxx::Err(EOPNOTSUPP);
	}
	if ((cmd.data_type == IOMMU_HWPT_DATA_NONE) != (cmd.data_len == 0)) {
		log_user("hwpt_alloc: data_type %u does not match data_len %u", cmd.data_type,
			 cmd.data_len);
		return cxx::Err(EINVAL);
	}
	auto dev = ucmd.ctx.objects().get<Device>(cmd.dev_id);
	if (!dev.ok()) {
		log_user("hwpt_alloc: no device %u", cmd.dev_id);
		return dev.error();
	}
	auto pt = ucmd.ctx.objects().get_any(cmd.pt_id);
	if (!pt.ok()) {
		// Upstream turns any failed lookup of pt_id into EINVAL.
		log_user("hwpt_alloc: no object %u", cmd.pt_id);
		return cxx::Err(EINVAL);
	}
	cxx::UniquePtr<Object> hwpt;
	switch (pt.value()->type()) {
	case ObjType::Ioas:
		hwpt = TRY(alloc_paging(*dev.value(), pt.take().cast<Ioas>(), cmd));
		break;
	case ObjType::HwptPaging:
		hwpt = TRY(alloc_nested(*dev.value(), pt.take().cast<HwptPaging>(), cmd));
		break;
	case ObjType::Viommu:
		hwpt = TRY(alloc_on_viommu(*dev.value(), pt.take().cast<Viommu>(), cmd));
		break;
	default:
		log_user("hwpt_alloc: object %u is not an IOAS, a paging HWPT or a vIOMMU",
			 cmd.pt_id);
		return cxx::Err(EINVAL);
	}
	if (cmd.flags & IOMMU_HWPT_FAULT_ID_VALID) {
		auto fault = ucmd.ctx.objects().get<Fault>(cmd.fault_id);
		if (!fault.ok()) {
			log_user("hwpt_alloc: no fault queue %u", cmd.fault_id);
			return fault.error();
		}
		static_cast<HwptNested *>(hwpt.get())->fault = fault.take();
	}
	auto pending = TRY(ucmd.ctx.objects().add(cxx::move(hwpt)));
	cmd.out_hwpt_id = pending.id();
	TRY(ucmd.respond());
	pending.commit();
	return {};
}

namespace {

Result<ObjRef<HwptPaging>> get_paging(Ucmd &ucmd, uint32_t id, const char *what)
{
	auto hwpt = ucmd.ctx.objects().get<HwptPaging>(id);
	if (!hwpt.ok())
		log_user("%s: no paging HWPT %u", what, id);
	return hwpt;
}

} // namespace

Status hwpt_set_dirty_tracking_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_hwpt_set_dirty_tracking>();
	if ((cmd.flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE) || cmd.__reserved) {
		log_user("set_dirty_tracking: unknown flags 0x%x or __reserved set", cmd.flags);
		return cxx::Err(EOPNOTSUPP);
	}
	auto hwpt = TRY(get_paging(ucmd, cmd.hwpt_id, "set_dirty_tracking"));
	Domain &domain = hwpt->domain();
	if (!domain.dirty_tracking_supported()) {
		log_user("set_dirty_tracking: HWPT %u was not allocated with DIRTY_TRACKING",
			 cmd.hwpt_id);
		return cxx::Err(EOPNOTSUPP);
	}
	const bool enable = cmd.flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	// Bits left from before tracking was on would be reported as new.
	if (enable)
		TRY(hwpt->ioas().iopt().for_each_area(0, UINT64_MAX, [&](uint64_t iova, uint64_t n) {
			return domain.clear_dirty(iova, n);
		}));
	return domain.set_dirty_tracking(enable);
}

// The bitmap covers [iova, iova + length) at page_size per bit; both ends
// must be aligned to page_size and to the IOAS's IOVA alignment.  Upstream's
// order: flags, the HWPT, the range (iommufd_check_iova_range), and only
// then whether the HWPT tracks dirty pages at all.
Status hwpt_get_dirty_bitmap_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_hwpt_get_dirty_bitmap>();
	if ((cmd.flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) || cmd.__reserved) {
		log_user("get_dirty_bitmap: unknown flags 0x%x or __reserved set", cmd.flags);
		return cxx::Err(EOPNOTSUPP);
	}
	auto hwpt = TRY(get_paging(ucmd, cmd.hwpt_id, "get_dirty_bitmap"));
	Domain &domain = hwpt->domain();
	uint64_t last = TRY(cxx::checked_last(cmd.iova, cmd.length));
	uint64_t align = hwpt->ioas().iopt().iova_alignment();
	uint64_t end = last + 1; // may wrap to 0 for a range ending at 2^64 - 1
	uint64_t ps = cmd.page_size;
	if (((cmd.iova | end) & (align - 1)) || !ps || (ps & (ps - 1)) ||
	    ((cmd.iova | end) & (ps - 1))) {
		log_user("get_dirty_bitmap: [0x%llx, +0x%llx) or page size 0x%llx misaligned",
			 (unsigned long long)cmd.iova, (unsigned long long)cmd.length,
			 (unsigned long long)ps);
		return cxx::Err(EINVAL);
	}
	if (!domain.dirty_tracking_supported()) {
		log_user("get_dirty_bitmap: HWPT %u does not track dirty pages", cmd.hwpt_id);
		return cxx::Err(EOPNOTSUPP);
	}
	auto bitmap = TRY(DirtyBitmap::create(cmd.iova, cmd.length, ps, cmd.data));
	const bool no_clear = cmd.flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR;
	TRY(hwpt->ioas().iopt().for_each_area(cmd.iova, last, [&](uint64_t iova, uint64_t n) {
		return domain.read_and_clear_dirty(iova, n, no_clear, *bitmap);
	}));
	return bitmap->flush();
}

// IOMMU_HWPT_INVALIDATE_ENTRY_NUM_MAX of upstream's hw_pagetable.c.
constexpr uint32_t kInvalidateEntryNumMax = 1u << 19;

namespace {

// The target of IOMMU_HWPT_INVALIDATE: a mock nested HWPT (the test ABI's
// fake IOTLB) or a vIOMMU (its driver's commands).  Anything else is
// ENOENT, as 6.12's lookup of a nested HWPT gives for a paging one; a
// nested HWPT made on a vIOMMU is invalidated through the vIOMMU
// (EOPNOTSUPP, as upstream's SMMUv3 nested domain has no invalidation).
Status invalidate_object(Ucmd &ucmd, const iommu_hwpt_invalidate &cmd, uint32_t *done)
{
	auto obj = ucmd.ctx.objects().get_any(cmd.hwpt_id);
	if (obj.ok() && obj.value()->type() == ObjType::Viommu) {
		Viommu &v = *static_cast<Viommu *>(obj.value().get());
		if (cmd.data_type != v.driver().invalidate_type()) {
			log_user("hwpt_invalidate: vIOMMU %u takes no data type %u", cmd.hwpt_id,
				 cmd.data_type);
			return cxx::Err(EINVAL);
		}
		if (!cmd.entry_num)
			return {}; // a probe of the data type
		return v.driver().cache_invalidate(v, cmd.data_uptr, cmd.entry_len, cmd.entry_num,
						   done);
	}
	if (!obj.ok() || obj.value()->type() != ObjType::HwptNested) {
		log_user("hwpt_invalidate: no nested HWPT or vIOMMU %u", cmd.hwpt_id);
		return cxx::Err(ENOENT);
	}
	auto &hwpt = *static_cast<HwptNested *>(obj.value().get());
	if (!hwpt.domain) {
		log_user("hwpt_invalidate: HWPT %u is invalidated through its vIOMMU", cmd.hwpt_id);
		return cxx::Err(EOPNOTSUPP);
	}
	if (cmd.data_type != IOMMU_HWPT_INVALIDATE_DATA_SELFTEST) {
		log_user("hwpt_invalidate: data type %u is not served", cmd.data_type);
		return cxx::Err(EINVAL);
	}
	return hwpt.domain->invalidate(cmd.data_uptr, cmd.entry_len, cmd.entry_num, done);
}

} // namespace

Status hwpt_invalidate_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_hwpt_invalidate>();
	uint32_t done = 0;
	Status st;
	if (cmd.__reserved) {
		log_user("hwpt_invalidate: __reserved is not zero");
		st = cxx::Err(EOPNOTSUPP);
	} else if (cmd.entry_num && (!cmd.data_uptr || !cmd.entry_len ||
				     cmd.entry_len > iopt::kPageSize ||
				     cmd.entry_num > kInvalidateEntryNumMax)) {
		// Bounded as upstream, so that one call cannot keep a CPU busy.
		log_user("hwpt_invalidate: %u entries of %u bytes at 0x%llx", cmd.entry_num,
			 cmd.entry_len, (unsigned long long)cmd.data_uptr);
		st = cxx::Err(EINVAL);
	} else {
		st = invalidate_object(ucmd, cmd, &done);
	}
	// The count of handled entries goes back even on failure.
	cmd.entry_num = done;
	TRY(ucmd.respond());
	return st;
}

} // namespace iommufd
