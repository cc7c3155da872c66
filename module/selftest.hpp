// SPDX-License-Identifier: GPL-2.0
//
// selftest.hpp - the test ABI (IOMMU_TEST_CMD, uapi/iommufd_test.h), served
// only when the module is loaded with test_abi=1.  It lets the kernel's own
// iommufd selftests drive this module: reserved IOVA, pin-count checks, the
// pin batch size, and (later) mock devices and domains.
#pragma once

#include <stddef.h>

#include "cxxrt/result.hpp"

namespace iommufd {

class Ucmd;

cxx::Status test_cmd_ioctl(Ucmd &ucmd);

// Bytes the pin path may use for one batch of PFNs; the test ABI shrinks it
// to force tiny batches (SET_TEMP_MEMORY_LIMIT).
size_t temp_memory_limit();

} // namespace iommufd
