// SPDX-License-Identifier: GPL-2.0
//
// container.hpp - the VFIO type1 container ioctls (uapi/vfio_compat.h),
// served by a context's VFIO IOAS (IOMMU_VFIO_IOAS).
//
// Three kinds of file reach this code, all through one Context:
//   - every /dev/iommu file (as upstream iommufd: a program may issue the
//     container ioctls on it once it named an IOAS with IOMMU_VFIO_IOAS);
//   - this module's own /dev/vfio/vfio node, when the kernel's vfio.ko is
//     not loaded (a /dev/iommu file with mm accounting);
//   - a container of the kernel's vfio.ko whose SET_IOMMU picked this
//     module as its IOMMU backend (backend.hpp): an internal Context whose
//     VFIO IOAS is made when the first group attaches.
// The rules are upstream iommufd's vfio_compat (see the uapi header for the
// errnos).  Portable C++: the hosted tests run it as is.
#pragma once

#include <stdint.h>

namespace iommufd {
class Context;
}

namespace iommufd::vfio {

// One container ioctl on `ctx`; -ENOIOCTLCMD for a command that is not one
// (the kernel then answers ENOTTY).
long container_ioctl(Context &ctx, unsigned int cmd, uint64_t arg);

// VFIO_CHECK_EXTENSION without a container (vfio.ko asks each backend
// before SET_IOMMU): which types and extensions this module offers at all.
long check_extension_static(uint64_t ext);

} // namespace iommufd::vfio
