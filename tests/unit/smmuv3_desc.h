// SPDX-License-Identifier: GPL-2.0
//
// smmuv3_desc.h - VMSAv8-64 4 KiB-granule descriptor bits, for the hosted
// tests and fuzz targets that build stage-1 tables by hand (the walker's
// own copies are private to walk.cpp, so the tests spell the architecture
// out independently of the code under test).
#pragma once

#include <stdint.h>

namespace smmuv3_desc {

inline constexpr uint64_t kValid = 1ull << 0;
inline constexpr uint64_t kType = 1ull << 1;   // table (levels 0-2) or page (level 3)
inline constexpr uint64_t kAP1 = 1ull << 6;    // unprivileged access
inline constexpr uint64_t kAP2 = 1ull << 7;    // read-only
inline constexpr uint64_t kAF = 1ull << 10;
inline constexpr uint64_t kNG = 1ull << 11;
inline constexpr uint64_t kAPTableUnpriv = 1ull << 61;
inline constexpr uint64_t kAPTableRdonly = 1ull << 62;
// A read-write page, a block and a table, reachable unprivileged, global.
inline constexpr uint64_t kPage = kValid | kType | kAF | kAP1;
inline constexpr uint64_t kBlock = kValid | kAF | kAP1;
inline constexpr uint64_t kTable = kValid | kType;

} // namespace smmuv3_desc
