// SPDX-License-Identifier: GPL-2.0
//
// ioas.cpp - IOMMU_IOAS_* ioctls: ALLOC, IOVA_RANGES and ALLOW_IOVAS.
//
// Errnos and their order follow upstream's ioas.c (Debian 6.12): a non-zero
// __reserved is EOPNOTSUPP before the IOAS is even looked up; an unknown
// IOAS is ENOENT; user arrays are walked element by element, so a fault
// part way is EFAULT at that element.
#include "ioas.hpp"
#include "ucmd.hpp"

#include "cxxrt/checked.hpp"
#include "cxxrt/log.hpp"
#include "uapi/iommufd.h"

namespace iommufd {

namespace {

// The user address of element i of an iommu_iova_range array.  A wrapped
// address cannot be valid user memory, so it is EFAULT, as the access
// would be.
Result<uint64_t> range_addr(uint64_t base, uint32_t i)
{
	uint64_t off = uint64_t(i) * sizeof(iommu_iova_range);
	auto addr = cxx::checked_add(base, off);
	if (!addr.ok())
		return cxx::Err(EFAULT);
	return addr.take();
}

Result<ObjRef<Ioas>> get_ioas(Ucmd &ucmd, uint32_t id, const char *what)
{
	auto ioas = ucmd.ctx.objects().get<Ioas>(id);
	if (!ioas.ok())
		log_user("%s: no IOAS %u", what, id);
	return ioas;
}

} // namespace

Result<cxx::UniquePtr<Ioas>> Ioas::create()
{
	auto ioas = TRY(cxx::make_unique<Ioas>());
	TRY(ioas->iopt_.init());
	return ioas;
}

Status ioas_alloc_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_ioas_alloc>();
	if (cmd.flags) {
		log_user("ioas_alloc: unknown flags 0x%x", cmd.flags);
		return cxx::Err(EOPNOTSUPP);
	}
	auto pending = TRY(ucmd.ctx.objects().add(TRY(Ioas::create())));
	cmd.out_ioas_id = pending.id();
	TRY(ucmd.respond());
	pending.commit();
	return {};
}

// The usable IOVA ranges are the gaps between reserved ranges over the whole
// 64-bit space (allowed ranges do not narrow them).  The array is filled as
// far as it fits while counting every range; the count and alignment are
// written back even when the array was too small, which is then EMSGSIZE,
// so a caller can size its array from the first call.
Status ioas_iova_ranges_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_ioas_iova_ranges>();
	if (cmd.__reserved) {
		log_user("ioas_iova_ranges: __reserved is not zero");
		return cxx::Err(EOPNOTSUPP);
	}
	auto ioas = TRY(get_ioas(ucmd, cmd.ioas_id, "ioas_iova_ranges"));

	const uint32_t capacity = cmd.num_iovas;
	uint32_t count = 0;
	uint64_t alignment;
	TRY(ioas->iopt().iova_ranges(&alignment, [&](uint64_t start, uint64_t last) -> Status {
		if (count < capacity) {
			iommu_iova_range r = { .start = start, .last = last };
			uint64_t to = TRY(range_addr(cmd.allowed_iovas, count));
			if (kapi_copy_to_user(to, &r, sizeof(r)))
				return cxx::Err(EFAULT);
		}
		// Cannot wrap: each range but the last ends at a reserved
		// range, and there are far fewer than 2^32 of those.
		count++;
		return {};
	}));
	cmd.num_iovas = count;
	cmd.out_iova_alignment = alignment;
	TRY(ucmd.respond());
	if (count > capacity)
		return cxx::Err(EMSGSIZE);
	return {};
}

// The new list is built completely (validated against itself) before it
// replaces the old one under the io_pagetable's lock, so a failure at any
// element leaves the IOAS as it was.  There is no cap on num_iovas beyond
// what the user can back with memory, as upstream: each element needs 16
// bytes of readable user memory, and a fault ends the walk.
Status ioas_allow_iovas_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_ioas_allow_iovas>();
	if (cmd.__reserved) {
		log_user("ioas_allow_iovas: __reserved is not zero");
		return cxx::Err(EOPNOTSUPP);
	}
	auto ioas = TRY(get_ioas(ucmd, cmd.ioas_id, "ioas_allow_iovas"));

	iopt::AllowedList list;
	for (uint32_t i = 0; i != cmd.num_iovas; i++) {
		iommu_iova_range r;
		uint64_t from = TRY(range_addr(cmd.allowed_iovas, i));
		if (kapi_copy_from_user(&r, from, sizeof(r)))
			return cxx::Err(EFAULT);
		Status st = list.add(r.start, r.last);
		if (!st.ok()) {
			if (st.code() == -EINVAL)
				log_user("ioas_allow_iovas: range %u [0x%llx, 0x%llx] is empty or overlaps another",
					 i, (unsigned long long)r.start, (unsigned long long)r.last);
			return st;
		}
	}
	Status st = ioas->iopt().set_allowed(list);
	if (st.code() == -EADDRINUSE)
		log_user("ioas_allow_iovas: a range meets a reserved region");
	return st;
}

} // namespace iommufd
