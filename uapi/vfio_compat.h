/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * iommufd-cxx: the part of the VFIO user ABI (<linux/vfio.h>) that a VFIO
 * type1 container serves, as this module serves it on /dev/iommu, on its own
 * /dev/vfio/vfio node and as a backend of the kernel's vfio.ko.
 *
 * Numbers and layouts are those of upstream include/uapi/linux/vfio.h (Linux
 * 6.12); tests/abi checks them against Debian's copy.  Only the container
 * subset is declared; the names are upstream's, so a program may include
 * either header (both claim the same guard).  Comments are ours and state the
 * errnos this module returns.
 *
 * Two rule sets.  On /dev/iommu and this module's own /dev/vfio/vfio node,
 * upstream iommufd's compat rules (below).  On a container of the kernel's
 * vfio.ko that this module serves as backend (standing in for
 * vfio_iommu_type1 under programs that never chose iommufd), MAP_DMA and
 * UNMAP_DMA follow vfio_iommu_type1: size, iova and vaddr must be multiples
 * of the smallest IOMMU page and must not wrap (EINVAL, not EOVERFLOW);
 * TYPE1v2 refuses to cut a mapping with EINVAL (not ENOENT); TYPE1 (v1)
 * keeps large IOPTEs and never cuts: an unmap whose range starts inside a
 * mapping removes nothing (size 0), one that covers a mapping's start
 * removes the whole mapping; @size is written back only on success.
 *
 * Every container ioctl is _IO(VFIO_TYPE, VFIO_BASE + n).  Struct arguments
 * start with @argsz, the bytes the caller provides; the kernel reads the
 * fields up to the last one the command has always had (less is EINVAL) and
 * ignores the rest.
 */
#ifndef IOMMUFD_CXX_UAPI_VFIO_COMPAT_H
#define IOMMUFD_CXX_UAPI_VFIO_COMPAT_H

#ifndef _UAPIVFIO_H
#define _UAPIVFIO_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VFIO_API_VERSION 0

/* Container types and extensions (VFIO_CHECK_EXTENSION / VFIO_SET_IOMMU). */
#define VFIO_TYPE1_IOMMU 1	   /* 1: served; v1 unmaps may split mappings */
#define VFIO_SPAPR_TCE_IOMMU 2	   /* 0: not served */
#define VFIO_TYPE1v2_IOMMU 3	   /* 1: served */
#define VFIO_DMA_CC_IOMMU 4	   /* 1 if every domain enforces coherency */
#define VFIO_EEH 5		   /* 0 */
#define VFIO_TYPE1_NESTING_IOMMU 6 /* 0: removed upstream; SET_IOMMU EINVAL */
#define VFIO_SPAPR_TCE_v2_IOMMU 7  /* 0 */
#define VFIO_NOIOMMU_IOMMU 8	   /* 1 with enable_unsafe_noiommu_mode=1 */
#define VFIO_UNMAP_ALL 9	   /* 1: VFIO_DMA_UNMAP_FLAG_ALL */
#define VFIO_UPDATE_VADDR 10	   /* 0: VFIO_DMA_*_FLAG_VADDR refused */

#define VFIO_TYPE (';')
#define VFIO_BASE 100

/* Returns VFIO_API_VERSION. */
#define VFIO_GET_API_VERSION _IO(VFIO_TYPE, VFIO_BASE + 0)
/* The argument is an extension number (above); returns 0 or 1. */
#define VFIO_CHECK_EXTENSION _IO(VFIO_TYPE, VFIO_BASE + 1)
/*
 * The argument is a container type.  EINVAL: not TYPE1/TYPE1v2 (or
 * NOIOMMU in no-IOMMU mode); ENODEV: no IOAS (no group attached, or
 * IOMMU_VFIO_IOAS never set); EPERM: NOIOMMU without CAP_SYS_RAWIO;
 * TYPE1 (v1), which turns large IOPTEs off: EINVAL if domains already hold
 * mappings, EADDRINUSE if a mapping made without a domain is not aligned to
 * a CPU page (as upstream).
 */
#define VFIO_SET_IOMMU _IO(VFIO_TYPE, VFIO_BASE + 2)

struct vfio_info_cap_header {
	__u16 id;      /* which capability */
	__u16 version;
	__u32 next;    /* offset of the next one from the struct's start; 0 ends */
};

/*
 * VFIO_IOMMU_GET_INFO.  @argsz below the end of @iova_pgsizes is EINVAL.
 * Returns the page sizes (the sizes every domain supports, at least the CPU
 * page) and, when @argsz is large enough for the whole chain, the
 * capabilities from @cap_offset; otherwise @argsz comes back as the size
 * needed and @cap_offset as 0.  Nothing is written past the caller's @argsz.
 */
struct vfio_iommu_type1_info {
	__u32 argsz;
	__u32 flags;
#define VFIO_IOMMU_INFO_PGSIZES (1 << 0)
#define VFIO_IOMMU_INFO_CAPS (1 << 1)
	__aligned_u64 iova_pgsizes;
	__u32 cap_offset;
	__u32 pad;
};

/* The usable IOVA windows (the gaps between reserved ranges). */
#define VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE 1
struct vfio_iova_range {
	__u64 start;
	__u64 end; /* inclusive */
};
struct vfio_iommu_type1_info_cap_iova_range {
	struct vfio_info_cap_header header;
	__u32 nr_iovas;
	__u32 reserved;
	struct vfio_iova_range iova_ranges[];
};

/* Not reported: there is no VFIO dirty-page tracking here. */
#define VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION 2

/* How many more mappings may be made (reported as U32_MAX). */
#define VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL 3
struct vfio_iommu_type1_info_dma_avail {
	struct vfio_info_cap_header header;
	__u32 avail;
};

#define VFIO_IOMMU_GET_INFO _IO(VFIO_TYPE, VFIO_BASE + 12)

/*
 * VFIO_IOMMU_MAP_DMA: map @size bytes of the caller's memory at @vaddr to
 * the fixed IOVA @iova.  EINVAL: @argsz short, a flag other than READ/WRITE
 * (VADDR included), neither READ nor WRITE, zero size, IOVA not aligned to
 * the IOAS alignment or inside a reserved range; EEXIST: overlaps a mapping;
 * EOVERFLOW: @iova + @size or @vaddr + @size wraps; ENODEV: no IOAS; EFAULT:
 * memory not mapped; ENOMEM: over RLIMIT_MEMLOCK.
 */
struct vfio_iommu_type1_dma_map {
	__u32 argsz;
	__u32 flags;
#define VFIO_DMA_MAP_FLAG_READ (1 << 0)
#define VFIO_DMA_MAP_FLAG_WRITE (1 << 1)
#define VFIO_DMA_MAP_FLAG_VADDR (1 << 2)
	__u64 vaddr;
	__u64 iova;
	__u64 size;
};

#define VFIO_IOMMU_MAP_DMA _IO(VFIO_TYPE, VFIO_BASE + 13)

/* Unused here; declared because the dirty-bitmap unmap flag refers to it. */
struct vfio_bitmap {
	__u64 pgsize;
	__u64 size;
	__u64 *data;
};

/*
 * VFIO_IOMMU_UNMAP_DMA: unmap the mappings inside [@iova, @iova + @size);
 * @size comes back as the bytes unmapped (also on ENOENT: the whole mappings
 * before the one that stopped it).  A range with nothing mapped is success
 * with @size 0.  TYPE1v2: a mapping crossing either end is ENOENT.  TYPE1
 * (v1): mappings are first split at both ends, so any page-aligned range
 * can be unmapped.  FLAG_ALL unmaps everything and needs @iova = @size = 0
 * (EINVAL otherwise).  EINVAL: @argsz short, an unknown flag, GET_DIRTY_BITMAP
 * or VADDR, @size 0; EOVERFLOW: the range wraps; ENODEV: no IOAS.
 */
struct vfio_iommu_type1_dma_unmap {
	__u32 argsz;
	__u32 flags;
#define VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP (1 << 0)
#define VFIO_DMA_UNMAP_FLAG_ALL (1 << 1)
#define VFIO_DMA_UNMAP_FLAG_VADDR (1 << 2)
	__u64 iova;
	__u64 size;
	__u8 data[];
};

#define VFIO_IOMMU_UNMAP_DMA _IO(VFIO_TYPE, VFIO_BASE + 14)

/* Not served (ENOTTY): VFIO dirty tracking is replaced by iommufd's HWPT one. */
#define VFIO_IOMMU_DIRTY_PAGES _IO(VFIO_TYPE, VFIO_BASE + 17)

#endif /* _UAPIVFIO_H */
#endif /* IOMMUFD_CXX_UAPI_VFIO_COMPAT_H */
