// SPDX-License-Identifier: GPL-2.0
//
// fuzz_util.h - the two helpers every SMMUv3 fuzz target uses: a
// little-endian 64-bit load from the input, and a check whose failure
// libFuzzer reports as a crash with the input that caused it.
#pragma once

#include <stdint.h>
#include <string.h>

inline uint64_t le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

inline void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}
