// SPDX-License-Identifier: GPL-2.0
//
// page.hpp - the page sizes the io_pagetable reasons about.  The portable
// core cannot see PAGE_SIZE or HPAGE_SIZE, so they are constants here, for
// x86_64 only (4 KiB base pages, 2 MiB transparent huge pages).  An arm64
// build with 16K/64K pages will have to take them from the kernel through
// kapi instead; everything that depends on them reads them from this file.
#pragma once

#include <stdint.h>

namespace iommufd::iopt {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kHugePageSize = 2ull << 20;

static_assert((kPageSize & (kPageSize - 1)) == 0 && (kHugePageSize & (kHugePageSize - 1)) == 0);

} // namespace iommufd::iopt
