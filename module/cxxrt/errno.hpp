// SPDX-License-Identifier: GPL-2.0
//
// errno.hpp - errno numbers for the C++ core.  These are user ABI (the
// values ioctl(2) callers see), identical on x86 and arm64.  The kernel build
// has no libc, so they are spelled out here; the host build takes <errno.h>
// and checks that the two agree.
#pragma once

#ifdef IOMMUFD_CXX_KERNEL
#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EIO 5
#define ENXIO 6
#define E2BIG 7
#define EBADF 9
#define EBADE 52
#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define ENOTTY 25
#define ENOSPC 28
#define ESPIPE 29
#define ERANGE 34
#define EDEADLK 35
#define ENOSYS 38
#define EOVERFLOW 75
#define EBADFD 77
#define EMSGSIZE 90
#define EOPNOTSUPP 95
#define EADDRINUSE 98
#define ENOIOCTLCMD 515 // kernel-internal: the VFS turns it into ENOTTY
#else
#include <errno.h>
#define ENOIOCTLCMD 515
static_assert(EPERM == 1 && ENOENT == 2 && E2BIG == 7 && ENOMEM == 12 && EFAULT == 14 &&
		      EBUSY == 16 && EEXIST == 17 && EINVAL == 22 && ENOTTY == 25 &&
		      ENOSPC == 28 && EOVERFLOW == 75 && EMSGSIZE == 90 && EOPNOTSUPP == 95 &&
		      EBADFD == 77 &&
		      EADDRINUSE == 98,
	      "host errno values must match the kernel's");
#endif
