/* SPDX-License-Identifier: GPL-2.0 */
/* Freestanding <stdarg.h> for the module's C++ objects (see stddef.h). */
#ifndef IOMMUFD_CXX_STDARG_H
#define IOMMUFD_CXX_STDARG_H
typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_end(ap) __builtin_va_end(ap)
#define va_arg(ap, type) __builtin_va_arg(ap, type)
#define va_copy(dst, src) __builtin_va_copy(dst, src)
#endif
