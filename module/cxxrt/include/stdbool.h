/* SPDX-License-Identifier: GPL-2.0 */
/* Freestanding <stdbool.h>: C++ has bool built in. */
#ifndef IOMMUFD_CXX_STDBOOL_H
#define IOMMUFD_CXX_STDBOOL_H
#endif
