// SPDX-License-Identifier: GPL-2.0
//
// assert.hpp - CXX_ASSERT for invariants the code relies on.  A failure is a
// bug in this module, never bad user input: the kernel build WARNs (with a
// backtrace) and then traps, the host build aborts so tests see it.
#pragma once

#include "../kapi.h"

#define CXX_ASSERT(cond)                                                      \
	do {                                                                  \
		if (__builtin_expect(!(cond), 0)) {                           \
			kapi_assert_failed(#cond, __FILE__, __LINE__);        \
			__builtin_trap();                                     \
		}                                                             \
	} while (0)
