// SPDX-License-Identifier: GPL-2.0
//
// ioas.hpp - the IO address space object (IOMMU_IOAS_*): an object-table
// entry that owns one io_pagetable, which holds the IOVA space's areas,
// reserved and allowed ranges.  The ioctl handlers here translate user
// structs and call into iopt::IoPagetable, which does the work under its
// own lock.
#pragma once

#include "object.hpp"
#include "iopt/io_pagetable.hpp"

namespace iommufd {

class Ucmd;

class Ioas final : public Object {
public:
	static constexpr ObjType kType = ObjType::Ioas;
	static Result<cxx::UniquePtr<Ioas>> create();
	Ioas() : Object(kType) {} // use create(): the io_pagetable needs its lock

	iopt::IoPagetable &iopt() { return iopt_; }

private:
	iopt::IoPagetable iopt_;
};

Status ioas_alloc_ioctl(Ucmd &ucmd);
Status ioas_iova_ranges_ioctl(Ucmd &ucmd);
Status ioas_allow_iovas_ioctl(Ucmd &ucmd);

} // namespace iommufd
