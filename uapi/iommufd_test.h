/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * iommufd-cxx: the iommufd test ABI (IOMMU_TEST_CMD and the mock driver).
 *
 * Availability: this ABI is served only when the module is loaded with the
 * module parameter test_abi=1 (off by default). Without it IOMMU_TEST_CMD is
 * an unknown ioctl (ENOTTY), and the selftest hw_info/HWPT/invalidation data
 * types below are unknown types (EOPNOTSUPP), exactly as on a kernel built
 * without CONFIG_IOMMUFD_TEST. It exists for testing only: it lets user space
 * create mock devices and domains and look inside the kernel's page tables,
 * so it must never be turned on for production use.
 *
 * Compatibility: ABI-identical to drivers/iommu/iommufd/iommufd_test.h of
 * Debian's linux-source-6.12 (6.12.117), so the kernel's own
 * tools/testing/selftests/iommu programs of that tree build against it
 * unchanged (scripts/upstream-selftests.sh). Two names that the tree's
 * selftests use but its own test header lacks (stable backports moved the
 * tests ahead of the header) are added with upstream's values:
 * MOCK_FLAGS_DEVICE_PASID and MOCK_PASID_WIDTH (torvalds/linux 80478a2b).
 * tests/abi/abi_test_6_12.cpp checks every layout and value against the 6.12
 * file at compile time. The comments are ours.
 *
 * The header compiles as C and as C++, and pulls in this project's
 * uapi/iommufd.h (the newest upstream /dev/iommu ABI), which it sits next to.
 */
#ifndef IOMMUFD_CXX_UAPI_IOMMUFD_TEST_H
#define IOMMUFD_CXX_UAPI_IOMMUFD_TEST_H

/* Also claim upstream's guard, as uapi/iommufd.h does for its own. */
#ifndef _UAPI_IOMMUFD_TEST_H
#define _UAPI_IOMMUFD_TEST_H
#endif

#include <linux/types.h>
#include "iommufd.h"

/*
 * IOMMU_TEST_CMD operations (struct iommu_test_cmd @op). Numbered from 1 in
 * this order; @id is the object the op works on (an IOAS, a mock device, an
 * access, ...), as each op's union member describes.
 */
enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,       /* reserve IOVA in IOAS @id */
	IOMMU_TEST_OP_MOCK_DOMAIN,            /* new mock device, attached to @id */
	IOMMU_TEST_OP_MD_CHECK_MAP,           /* mock page table maps iova→uptr? */
	IOMMU_TEST_OP_MD_CHECK_REFS,          /* pin counts of the pages at uptr */
	IOMMU_TEST_OP_CREATE_ACCESS,          /* emulated in-kernel user; an fd */
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,   /* unpin an ACCESS_PAGES item */
	IOMMU_TEST_OP_ACCESS_PAGES,           /* pin through an access */
	IOMMU_TEST_OP_ACCESS_RW,              /* read/write through an access */
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,  /* shrink the pin batch buffer */
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,    /* move a mock device to pt_id */
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,    /* move an access to ioas_id */
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,      /* MOCK_DOMAIN with device flags */
	IOMMU_TEST_OP_DIRTY,                  /* mark mock PTEs dirty */
	IOMMU_TEST_OP_MD_CHECK_IOTLB,         /* read a nested domain's iotlb[] */
	IOMMU_TEST_OP_TRIGGER_IOPF,           /* inject a page fault */
};

/*
 * iommufd-cxx extension (not upstream): the software SMMUv3. Numbered far
 * above upstream's ops so that ops upstream adds later never collide.
 *
 * MOCK_SMMUV3: like MOCK_DOMAIN (@id is the IOAS or paging HWPT to attach
 *   to), but the device sits behind the module's software SMMUv3 model:
 *   IOMMU_GET_HW_INFO reports IOMMU_HW_INFO_TYPE_ARM_SMMUV3, it can back an
 *   IOMMU_VIOMMU_TYPE_ARM_SMMUV3 vIOMMU, and it attaches to nested HWPTs
 *   made from a guest STE (IOMMU_HWPT_DATA_ARM_SMMUV3). out_sid is the
 *   physical StreamID the model gave it (events carry the vSID instead).
 *   Destroying @out_stdev_id unbinds it. EINVAL unknown @dev_flags (none are
 *   defined yet).
 * SMMU_DMA: the device @id (its stdev ID) performs a DMA of @length bytes
 *   at @iova (SMMU_DMA_WRITE: from @uptr into memory; otherwise from memory
 *   into @uptr), with SubstreamID @ssid when SMMU_DMA_SSID is set. The
 *   transaction is translated as the model's hardware would: the attached
 *   HWPT (a paging HWPT translates @iova as an IPA through its IOAS; a
 *   nested HWPT walks the guest STE, the CD and the stage-1 tables, every
 *   table address through stage 2), with the model's TLB and configuration
 *   cache. The op succeeds whenever the DMA was attempted: out_done bytes
 *   were transferred (in 4 KiB-or-smaller pieces, in order) before the
 *   first fault, and out_event is 0 if all of it completed, else the SMMUv3
 *   event number (0x04 C_BAD_STE, 0x06 F_STREAM_DISABLED,
 *   0x08 C_BAD_SUBSTREAMID, 0x0a C_BAD_CD, 0x10 F_TRANSLATION,
 *   0x11 F_ADDR_SIZE, 0x12 F_ACCESS, 0x13 F_PERMISSION) that terminated it,
 *   or SMMU_DMA_ABORTED for a stream configured to abort silently. Events
 *   are also delivered, with the vSID, to the vIOMMU's ARM_SMMUV3 vEVENTQ.
 *   EINVAL bad flags, a non-zero @ssid without SMMU_DMA_SSID, @length 0 or
 *   above 1 MiB, or a device that is not a MOCK_SMMUV3 device; EOVERFLOW
 *   @iova + @length wraps; ENOENT unknown @id; EFAULT @uptr.
 */
enum {
	IOMMU_TEST_OP_CXX_MOCK_SMMUV3 = 0x100,
	IOMMU_TEST_OP_CXX_SMMU_DMA,
};

enum {
	SMMU_DMA_WRITE = 1 << 0,
	SMMU_DMA_SSID = 1 << 1,
};

/* smmu_dma.out_event of a DMA aborted by an abort STE (no event). */
#define SMMU_DMA_ABORTED 0x100

/* The IOVA window a mock domain can translate (inclusive bounds). */
enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

/* access_pages.flags. SYZ: @iova is {nth area, offset} (fuzzer mode). */
enum {
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16,
};

/* access_rw.flags. SLOW_PATH forces the page-by-page copy. */
enum {
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
};

/* create_access.flags: the access pins pages (needs an unmap callback). */
enum {
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

/*
 * mock_domain_flags.dev_flags. NO_DIRTY: the device cannot track dirty
 * pages; HUGE_IOVA: its domain uses huge IOPTEs; PASID: the device is PASID
 * capable (MOCK_PASID_WIDTH bits). PASID is not in the 6.12 test header; its
 * value is upstream's.
 *
 * iommufd-cxx extension (not upstream): CXX_NOT_COHERENT makes a mock device
 * whose IOMMU does not report IOMMU_CAP_CACHE_COHERENCY, to exercise the
 * positive capability rule: binding it fails with EINVAL (and a log line
 * naming the missing capability). Upstream's mock rejects the bit (EINVAL
 * as an unknown flag), so a test using it gets the same errno either way.
 */
enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
	MOCK_FLAGS_DEVICE_PASID = 1 << 2,
	MOCK_FLAGS_DEVICE_CXX_NOT_COHERENT = 1 << 16,
};

/* A nested mock domain keeps a small fake IOTLB: entries 0..ID_MAX. */
enum {
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
};

/*
 * The argument of IOMMU_TEST_CMD. @size is the usual versioned size (at
 * least up to @last); @op selects the union member; @__reserved must be 0.
 * Fields named out_* are written back.
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		/* ADD_RESERVED: [start, start + length - 1] in IOAS @id. */
		struct {
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		/*
		 * MOCK_DOMAIN: @id is the IOAS or HWPT to attach to. Returns
		 * the selftest device object (destroying it unbinds), the HWPT
		 * it got attached to and the bound device object.
		 */
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
		} mock_domain;
		/* MOCK_DOMAIN_FLAGS: MOCK_DOMAIN plus MOCK_FLAGS_DEVICE_*. */
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags;
		} mock_domain_flags;
		/* MOCK_DOMAIN_REPLACE: @id is the selftest device. */
		struct {
			__u32 pt_id;
		} mock_domain_replace;
		/* MD_CHECK_MAP: @id is the mock domain's HWPT. */
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} check_map;
		/* MD_CHECK_REFS: expected pin count of each page. */
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		/* CREATE_ACCESS: @id is the IOAS; returns a file descriptor. */
		struct {
			__u32 out_access_fd;
			__u32 flags;
		} create_access;
		/* DESTROY_ACCESS_PAGES: @id is the access fd. */
		struct {
			__u32 access_pages_id;
		} destroy_access_pages;
		/* ACCESS_PAGES: @id is the access fd. */
		struct {
			__u32 flags;
			__u32 out_access_pages_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} access_pages;
		/* ACCESS_RW: @id is the access fd. */
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
		} access_rw;
		/* SET_TEMP_MEMORY_LIMIT: size in bytes of the pin batch buffer. */
		struct {
			__u32 limit;
		} memory_limit;
		/* ACCESS_REPLACE_IOAS: @id is the access fd. */
		struct {
			__u32 ioas_id;
		} access_replace_ioas;
		/* DIRTY: @id is the HWPT; bitmap at uptr, one bit a page_size. */
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		/* MD_CHECK_IOTLB: @id is the nested HWPT; entry id holds iotlb? */
		struct {
			__u32 id;
			__u32 iotlb;
		} check_iotlb;
		/* TRIGGER_IOPF: a fault report as a device would raise it. */
		struct {
			__u32 dev_id;
			__u32 pasid;
			__u32 grpid;
			__u32 perm;
			__u64 addr;
		} trigger_iopf;
		/* CXX_MOCK_SMMUV3 (extension): @id is the IOAS or HWPT. */
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags;
			__u32 out_sid;
		} mock_smmuv3;
		/* CXX_SMMU_DMA (extension): @id is the MOCK_SMMUV3 stdev. */
		struct {
			__u32 flags;
			__u32 ssid;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 out_event;
			__u32 out_done;
		} smmu_dma;
	};
	__u32 last;
};

/* Number 0xa0: past every iommufd command, so it never collides with one. */
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

/*
 * PASID width, in bits, of a MOCK_FLAGS_DEVICE_PASID device; GET_HW_INFO
 * reports it in out_max_pasid_log2. Not in the 6.12 test header; upstream's
 * value.
 */
#define MOCK_PASID_WIDTH 20

/* IOMMU_GET_HW_INFO of a mock device: out_data_type and its data. */
#define IOMMU_HW_INFO_TYPE_SELFTEST 0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL 0xdeadbeef

struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg; /* always IOMMU_HW_INFO_SELFTEST_REGVAL */
};

/*
 * IOMMU_HWPT_ALLOC data_type of a nested mock domain; chosen far from every
 * real enum iommu_hwpt_data_type value.
 */
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef

/* @iotlb: the value every fake IOTLB entry starts with. */
struct iommu_hwpt_selftest {
	__u32 iotlb;
};

/*
 * IOMMU_HWPT_INVALIDATE data_type for a nested mock domain, and a value the
 * mock driver rejects (to test the error path). Far from every real enum
 * iommu_hwpt_invalidate_data_type value.
 */
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

/*
 * One invalidation entry: reset fake IOTLB entry @iotlb_id, or every entry
 * when @flags has IOMMU_TEST_INVALIDATE_FLAG_ALL (then @iotlb_id is ignored).
 * An @iotlb_id above MOCK_NESTED_DOMAIN_IOTLB_ID_MAX is EINVAL; other flags
 * are EOPNOTSUPP.
 */
#define IOMMU_TEST_INVALIDATE_FLAG_ALL (1 << 0)
struct iommu_hwpt_invalidate_selftest {
	__u32 flags;
	__u32 iotlb_id;
};

#endif /* IOMMUFD_CXX_UAPI_IOMMUFD_TEST_H */
