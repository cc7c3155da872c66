// SPDX-License-Identifier: GPL-2.0
/*
 * demo.c - a short tour of /dev/iommu for `make demo`: open it, create IO
 * address spaces, destroy one, and show what bad input gets back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "iommufd.h"

static const char *show(int ret)
{
	return ret ? strerror(errno) : "ok";
}

int main(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	int fd = open("/dev/iommu", O_RDWR);
	int i, ret;

	if (fd < 0) {
		perror("open /dev/iommu");
		return 1;
	}
	printf("opened /dev/iommu (fd %d)\n", fd);
	for (i = 0; i < 3; i++) {
		ret = ioctl(fd, IOMMU_IOAS_ALLOC, &alloc);
		printf("IOMMU_IOAS_ALLOC              -> %s, ioas id %u\n", show(ret),
		       alloc.out_ioas_id);
	}
	destroy.id = 2;
	ret = ioctl(fd, IOMMU_DESTROY, &destroy);
	printf("IOMMU_DESTROY id 2            -> %s\n", show(ret));
	ret = ioctl(fd, IOMMU_DESTROY, &destroy);
	printf("IOMMU_DESTROY id 2 again      -> %s\n", show(ret));
	alloc.flags = 1;
	ret = ioctl(fd, IOMMU_IOAS_ALLOC, &alloc);
	printf("IOMMU_IOAS_ALLOC flags=1      -> %s\n", show(ret));
	alloc.flags = 0;
	alloc.size = 4;
	ret = ioctl(fd, IOMMU_IOAS_ALLOC, &alloc);
	printf("IOMMU_IOAS_ALLOC size=4       -> %s\n", show(ret));
	ret = ioctl(fd, _IO(IOMMUFD_TYPE, 0x7f), &alloc);
	printf("unknown ioctl 0x7f            -> %s\n", show(ret));
	close(fd);
	printf("closed: every object of the file is destroyed\n");
	return 0;
}
