// SPDX-License-Identifier: GPL-2.0
//
// selftest.cpp - IOMMU_TEST_CMD: the test ABI of uapi/iommufd_test.h.
//
// Upstream compiles its test ABI in only for CONFIG_IOMMUFD_TEST kernels; we
// compile it in always and serve it only when the module parameter
// test_abi=1 was given at load, so a production load never exposes it
// (ENOTTY, as if the command did not exist).  Ops not implemented yet
// answer EOPNOTSUPP, as upstream does for an unknown op.
#include "selftest.hpp"

#include "ioas.hpp"
#include "ucmd.hpp"

#include "cxxrt/atomic.hpp"
#include "cxxrt/checked.hpp"
#include "cxxrt/log.hpp"
#include "iopt/page.hpp"
#include "uapi/iommufd_test.h"

namespace iommufd {

namespace {

constexpr size_t kDefaultTempMemoryLimit = 65536;
constinit cxx::Atomic<size_t> memory_limit{kDefaultTempMemoryLimit};

cxx::Status add_reserved(Ucmd &ucmd, const iommu_test_cmd &cmd)
{
	uint64_t last = TRY(cxx::checked_last(cmd.add_reserved.start, cmd.add_reserved.length));
	auto ioas = TRY(ucmd.ctx.objects().get<Ioas>(cmd.id));
	return ioas->iopt().reserve(cmd.add_reserved.start, last, nullptr);
}

// Every page of [uptr, uptr + length) must be pinned exactly `refs` times
// (compound pages are not checked: their counts are shared).  EIO if not.
cxx::Status check_refs(const iommu_test_cmd &cmd)
{
	uint64_t uptr = cmd.check_refs.uptr;
	uint64_t length = cmd.check_refs.length;
	if (length % iopt::kPageSize || uptr % iopt::kPageSize)
		return cxx::Err(EINVAL);
	TRY(cxx::checked_add(uptr, length));
	for (; length; length -= iopt::kPageSize, uptr += iopt::kPageSize) {
		unsigned int pins;
		int r = kapi_test_page_pins(uptr, &pins);
		if (r < 0)
			return cxx::Error(r);
		if (r == 0 && pins != cmd.check_refs.refs)
			return cxx::Err(EIO);
	}
	return {};
}

cxx::Status set_temp_memory_limit(const iommu_test_cmd &cmd)
{
	// A batch must hold at least one (pfn, count) entry.
	if (cmd.memory_limit.limit < sizeof(unsigned long) + sizeof(uint32_t))
		return cxx::Err(EINVAL);
	memory_limit.store_relaxed(cmd.memory_limit.limit);
	return {};
}

} // namespace

size_t temp_memory_limit() { return memory_limit.load_relaxed(); }

cxx::Status test_cmd_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_test_cmd>();
	switch (cmd.op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return add_reserved(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return check_refs(cmd);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		return set_temp_memory_limit(cmd);
	default:
		log_user("test cmd: op %u not implemented", cmd.op);
		return cxx::Err(EOPNOTSUPP);
	}
}

} // namespace iommufd
