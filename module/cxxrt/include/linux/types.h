/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The UAPI scalar types our uapi/ headers use, for the module's C++ objects,
 * which must not see the kernel's own headers.  Same widths and alignments
 * as <linux/types.h> of the user API; tests/abi checks the structs built on
 * them against the kernel's header.
 */
#ifndef IOMMUFD_CXX_LINUX_TYPES_H
#define IOMMUFD_CXX_LINUX_TYPES_H
#include <stdint.h>
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int8_t __s8;
typedef int16_t __s16;
typedef int32_t __s32;
typedef int64_t __s64;
typedef uint16_t __le16;
typedef uint32_t __le32;
typedef uint64_t __le64;
typedef uint64_t __aligned_u64 __attribute__((aligned(8)));
typedef uint64_t __aligned_le64 __attribute__((aligned(8)));
#endif
