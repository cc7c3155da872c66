/* SPDX-License-Identifier: GPL-2.0 */
/* vfio_glue.h - module init/exit of the VFIO personality (vfio_glue.c). */
#ifndef IOMMUFD_CXX_VFIO_GLUE_H
#define IOMMUFD_CXX_VFIO_GLUE_H

/* Register with vfio.ko, or provide /dev/vfio/vfio; 0 or -errno. */
int iommufd_cxx_vfio_glue_init(void);
void iommufd_cxx_vfio_glue_exit(void);

#endif
