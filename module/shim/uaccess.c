// SPDX-License-Identifier: GPL-2.0
/* uaccess.c - copying to and from user memory for the C++ core. */
#include "shim.h"

#include <linux/uaccess.h>

#include "../kapi.h"

int kapi_copy_from_user(void *dst, uint64_t uptr, size_t len)
{
	return copy_from_user(dst, u64_to_user_ptr(uptr), len) ? -EFAULT : 0;
}

int kapi_copy_to_user(uint64_t uptr, const void *src, size_t len)
{
	return copy_to_user(u64_to_user_ptr(uptr), src, len) ? -EFAULT : 0;
}

int kapi_check_zeroed_user(uint64_t uptr, size_t len)
{
	return check_zeroed_user(u64_to_user_ptr(uptr), len);
}
