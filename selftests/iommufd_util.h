/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iommufd_util.h - the ioctl helpers every selftest binary shares.  Each
 * returns 0 or the errno, so ASSERT_EQ(EINVAL, ...) reads well.
 */
#ifndef IOMMUFD_CXX_SELFTEST_UTIL_H
#define IOMMUFD_CXX_SELFTEST_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "iommufd.h"

static inline int ioctl_err(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

static inline int ioas_alloc(int fd, uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int ret = ioctl_err(fd, IOMMU_IOAS_ALLOC, &cmd);

	if (!ret)
		*id = cmd.out_ioas_id;
	return ret;
}

static inline int destroy(int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl_err(fd, IOMMU_DESTROY, &cmd);
}

#endif
