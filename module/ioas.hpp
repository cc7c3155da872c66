// SPDX-License-Identifier: GPL-2.0
//
// ioas.hpp - the IO address space object (IOMMU_IOAS_*).
#pragma once

#include "object.hpp"

namespace iommufd {

class Ucmd;

class Ioas final : public Object {
public:
	static constexpr ObjType kType = ObjType::Ioas;
	Ioas() : Object(kType) {}
};

Status ioas_alloc_ioctl(Ucmd &ucmd);

} // namespace iommufd
