// SPDX-License-Identifier: GPL-2.0
//
// selftest.hpp - the test ABI (IOMMU_TEST_CMD, uapi/iommufd_test.h), served
// only when the module is loaded with test_abi=1.  It lets the kernel's own
// iommufd selftests drive this module: mock devices with mock IOMMU
// domains, page and pin checks, test accesses, dirty bits, I/O page
// faults, reserved IOVA and the pin batch size.
#pragma once

#include <stddef.h>

#include "cxxrt/result.hpp"

namespace iommufd {

class Ucmd;

cxx::Status test_cmd_ioctl(Ucmd &ucmd);

// The release of a test access's fd.
void test_access_fd_released(void *priv);

} // namespace iommufd
