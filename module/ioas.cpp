// SPDX-License-Identifier: GPL-2.0
//
// ioas.cpp - IOMMU_IOAS_* ioctls.
#include "ioas.hpp"
#include "ucmd.hpp"

#include "cxxrt/log.hpp"
#include "uapi/iommufd.h"

namespace iommufd {

Status ioas_alloc_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_ioas_alloc>();
	if (cmd.flags) {
		log_user("ioas_alloc: unknown flags 0x%x", cmd.flags);
		return cxx::Err(EOPNOTSUPP);
	}
	auto pending = TRY(ucmd.ctx.objects().add(TRY(cxx::make_unique<Ioas>())));
	cmd.out_ioas_id = pending.id();
	TRY(ucmd.respond());
	pending.commit();
	return {};
}

} // namespace iommufd
