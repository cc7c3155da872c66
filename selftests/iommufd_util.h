/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iommufd_util.h - the ioctl helpers every selftest binary shares.  Each
 * returns 0 or the errno, so ASSERT_EQ(EINVAL, ...) reads well.
 */
#ifndef IOMMUFD_CXX_SELFTEST_UTIL_H
#define IOMMUFD_CXX_SELFTEST_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include "iommufd.h"
#include "iommufd_test.h"

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

/* A "Vm...:" field of /proc/<pid>/status in kB (pid 0: this process);
 * -1 if missing. */
static inline long vm_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Drop @cap from this thread's effective and permitted sets (threads
 * created afterwards inherit the result); 0 or an errno. */
static inline int drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return errno;
	data[cap / 32].effective &= ~(1U << (cap % 32));
	data[cap / 32].permitted &= ~(1U << (cap % 32));
	return syscall(SYS_capset, &hdr, data) ? errno : 0;
}

/* ---- the test ABI (module loaded with test_abi=1) ---------------------- */

static inline int mock_domain(int fd, uint32_t ioas, uint32_t *stdev, uint32_t *hwpt)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = ioas,
	};
	int ret = ioctl_err(fd, IOMMU_TEST_CMD, &cmd);

	if (!ret && stdev)
		*stdev = cmd.mock_domain.out_stdev_id;
	if (!ret && hwpt)
		*hwpt = cmd.mock_domain.out_hwpt_id;
	return ret;
}

static inline int check_refs(int fd, const void *p, uint64_t len, uint32_t refs)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = len, .uptr = (uintptr_t)p, .refs = refs },
	};

	return ioctl_err(fd, IOMMU_TEST_CMD, &cmd);
}

static inline int check_map(int fd, uint32_t hwpt, uint64_t iova, uint64_t len, const void *p)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = hwpt,
		.check_map = { .iova = iova, .length = len, .uptr = (uintptr_t)p },
	};

	return ioctl_err(fd, IOMMU_TEST_CMD, &cmd);
}

static inline int add_reserved(int fd, uint32_t ioas, uint64_t start, uint64_t len)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ADD_RESERVED,
		.id = ioas,
		.add_reserved = { .start = start, .length = len },
	};

	return ioctl_err(fd, IOMMU_TEST_CMD, &cmd);
}

static inline int create_access(int fd, uint32_t ioas, int *access_fd)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = ioas,
		.create_access = { .flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES },
	};
	int ret = ioctl_err(fd, IOMMU_TEST_CMD, &cmd);

	*access_fd = ret ? -1 : (int)cmd.create_access.out_access_fd;
	return ret;
}

static inline int access_pages(int fd, int access_fd, uint64_t iova, uint64_t len,
			const void *p, uint32_t *item)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = access_fd,
		.access_pages = { .flags = MOCK_FLAGS_ACCESS_WRITE, .iova = iova,
				  .length = len, .uptr = (uintptr_t)p },
	};
	int ret = ioctl_err(fd, IOMMU_TEST_CMD, &cmd);

	if (!ret)
		*item = cmd.access_pages.out_access_pages_id;
	return ret;
}

#endif
