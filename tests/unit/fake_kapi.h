// SPDX-License-Identifier: GPL-2.0
//
// fake_kapi.h - controls for the hosted kapi (fake_kapi.cpp): the kernel
// services the C++ core uses, implemented on libc so the core runs under
// ASan/UBSan and libFuzzer.  "User memory" is this process's memory;
// tests can mark ranges as unmapped and make the nth allocation fail.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace fake_kapi {

// Make the allocation `n` from now fail (0 = the next one); -1 disables.
void fail_alloc_after(long n);
// Did an injected failure happen since the last fail_alloc_after()?
bool injected();

// Accesses overlapping [addr, addr + len) fault with -EFAULT.
void add_fault_range(uint64_t addr, size_t len);
void clear_fault_ranges();

// Mutexes currently locked (must be 0 whenever no core call is running).
long mutexes_held();
// Log lines written, for tests that check bad input is reported.
long log_lines();

// The test_abi module parameter (off unless a test turns it on).
void set_test_abi(bool on);

// Fake fds of test accesses and fault queues (fake_kapi_file.cpp): close
// one as user space would (false if there is no such fd), and the balance
// of references taken on the /dev/iommu file.
bool close_fd(int fd);
long file_refs_held();

} // namespace fake_kapi
