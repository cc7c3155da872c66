/* SPDX-License-Identifier: GPL-2.0 */
/* shim.h - what the kernel-service shims share: the log prefix. */
#ifndef IOMMUFD_CXX_SHIM_H
#define IOMMUFD_CXX_SHIM_H
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#endif
