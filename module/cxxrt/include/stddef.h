/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Freestanding <stddef.h> for the module's C++ objects.  The kernel build
 * compiles C++ with -nostdinc and this directory first on the include path,
 * so neither libc nor libstdc++ (both hosted on Debian) can leak in.  Types
 * come from the compiler's predefined macros.
 */
#ifndef IOMMUFD_CXX_STDDEF_H
#define IOMMUFD_CXX_STDDEF_H
typedef __SIZE_TYPE__ size_t;
typedef __PTRDIFF_TYPE__ ptrdiff_t;
#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif
#ifndef NULL
#define NULL nullptr
#endif
#endif
