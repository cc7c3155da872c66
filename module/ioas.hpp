// SPDX-License-Identifier: GPL-2.0
//
// ioas.hpp - the IO address space object (IOMMU_IOAS_*): an object-table
// entry that owns one io_pagetable, which holds the IOVA space's areas,
// reserved and allowed ranges and keeps the attached domains filled.  The
// ioctl handlers here translate user structs and call into
// iopt::IoPagetable, which does the work under its own lock.
//
// An Ioas also lists its automatic HWPTs (made when a device attaches to
// the IOAS itself), so the next device can share one.  Lock order:
// Device lock -> Ioas::hwpt_lock_ -> ObjectTable lock / io_pagetable lock.
#pragma once

#include "object.hpp"
#include "iopt/io_pagetable.hpp"

namespace iommufd {

class Ucmd;
class HwptPaging;

class Ioas final : public Object {
public:
	static constexpr ObjType kType = ObjType::Ioas;
	static Result<cxx::UniquePtr<Ioas>> create();
	Ioas() : Object(kType) {} // use create(): the io_pagetable needs its lock
	~Ioas() override;

	iopt::IoPagetable &iopt() { return iopt_; }

	// The automatic HWPTs, for Device::attach.  Walk them only with
	// hwpt_lock() held: an entry then stays valid (its destructor
	// unlinks it under the same lock).
	cxx::Mutex &hwpt_lock() { return hwpt_lock_; }
	HwptPaging *first_auto_hwpt() const { return auto_hwpts_; }
	static HwptPaging *next_auto_hwpt(HwptPaging *h);
	void link_auto_hwpt(HwptPaging *h);   // hwpt_lock held
	void unlink_auto_hwpt(HwptPaging *h); // takes hwpt_lock

private:
	iopt::IoPagetable iopt_;
	cxx::Mutex hwpt_lock_;
	HwptPaging *auto_hwpts_ = nullptr;
};

Status ioas_alloc_ioctl(Ucmd &ucmd);
Status ioas_iova_ranges_ioctl(Ucmd &ucmd);
Status ioas_allow_iovas_ioctl(Ucmd &ucmd);
Status ioas_map_ioctl(Ucmd &ucmd);
Status ioas_map_file_ioctl(Ucmd &ucmd);
Status ioas_copy_ioctl(Ucmd &ucmd);
Status ioas_unmap_ioctl(Ucmd &ucmd);
Status ioas_change_process_ioctl(Ucmd &ucmd);
Status option_ioctl(Ucmd &ucmd);
Status vfio_ioas_ioctl(Ucmd &ucmd);

} // namespace iommufd
