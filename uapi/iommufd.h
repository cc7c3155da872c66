/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * iommufd-cxx: the /dev/iommu user ABI.
 *
 * This header is ABI-identical to upstream Linux include/uapi/linux/iommufd.h
 * (torvalds/linux b4d90dbc4c1b: commands 0x80..0x94, plus the later additive
 * upstream commits 7d8b06ecc45b "iommu/amd: Add support for hw_info",
 * e05698c10d98 "iommufd: Introduce data struct for AMD nested domain
 * allocation" and a11661a58c06 "iommufd: Report ATS not supported status").
 * Every name, number and layout matches upstream so that programs written
 * against <linux/iommufd.h> (including the kernel's own iommufd selftests)
 * build unchanged against it. The comments are ours; where upstream is silent
 * about an errno, the one we return is stated here.
 *
 * tests/abi/abi_6_12.cpp checks every layout and number against Debian's
 * 6.12 copy of the upstream header at compile time.
 *
 * General rules for every ioctl on /dev/iommu:
 *  - The number is _IO(IOMMUFD_TYPE, IOMMUFD_CMD_*): no size or direction is
 *    encoded. The argument points at a struct whose first __u32 is @size,
 *    the number of bytes userspace passes.
 *  - @size smaller than the end of the last field the command needs: EINVAL.
 *    @size larger than the kernel's struct: the extra bytes must be zero
 *    (else E2BIG); a shorter struct is zero-extended. On return, at most
 *    @size bytes are written back.
 *  - Common errnos: ENOTTY unknown ioctl; E2BIG non-zero bytes the kernel
 *    does not understand; EOPNOTSUPP a known field holds a value that is not
 *    supported (unknown flags, unknown types); EINVAL a field is wrong;
 *    ENOENT an object ID or IOVA does not exist; ENOMEM; EOVERFLOW IOVA or
 *    length arithmetic overflows; EFAULT bad user pointer.
 *  - Object IDs start at 1; 0 is never a valid ID.
 *  - Fields named __reserved* must be zero (EOPNOTSUPP or EINVAL otherwise).
 */
#ifndef IOMMUFD_CXX_UAPI_IOMMUFD_H
#define IOMMUFD_CXX_UAPI_IOMMUFD_H

/*
 * Also claim upstream's guard, so that a later #include of the system's
 * <linux/iommufd.h> in the same translation unit is a no-op instead of a wall
 * of redefinition errors.
 */
#ifndef _UAPI_IOMMUFD_H
#define _UAPI_IOMMUFD_H
#endif

#include <linux/ioctl.h>
#include <linux/types.h>

#define IOMMUFD_TYPE (';')

/* Command numbers; the ioctl number is 0x3b00 | nr. */
enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
	IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
	IOMMUFD_CMD_IOAS_COPY = 0x83,
	IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	IOMMUFD_CMD_IOAS_MAP = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	IOMMUFD_CMD_OPTION = 0x87,
	IOMMUFD_CMD_VFIO_IOAS = 0x88,
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
	IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e,
	IOMMUFD_CMD_IOAS_MAP_FILE = 0x8f,
	IOMMUFD_CMD_VIOMMU_ALLOC = 0x90,
	IOMMUFD_CMD_VDEVICE_ALLOC = 0x91,
	IOMMUFD_CMD_IOAS_CHANGE_PROCESS = 0x92,
	IOMMUFD_CMD_VEVENTQ_ALLOC = 0x93,
	IOMMUFD_CMD_HW_QUEUE_ALLOC = 0x94,
};

/*
 * IOMMU_DESTROY: destroy any object by ID.
 *  in:  @id
 * ENOENT unknown ID (including 0); EBUSY the object is still in use by
 * another object or an in-flight operation.
 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/*
 * IOMMU_IOAS_ALLOC: create an empty IO address space (IOVA -> user memory).
 *  in:  @flags (must be 0)
 *  out: @out_ioas_id
 * EOPNOTSUPP non-zero @flags; ENOMEM.
 */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/* One inclusive IOVA interval [start, last]. */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/*
 * IOMMU_IOAS_IOVA_RANGES: list the IOVA ranges that may currently be mapped
 * (the whole space minus reserved regions of attached devices).
 *  in:  @ioas_id; @num_iovas = capacity of the array at @allowed_iovas
 *       (a user pointer to struct iommu_iova_range[])
 *  out: @num_iovas = number of ranges; the array is filled as far as it fits;
 *       @out_iova_alignment = required alignment of MAP/COPY start and length
 *       (1 when no device restricts it, never above PAGE_SIZE)
 * EMSGSIZE the array is too small (@num_iovas then holds the count needed);
 * ENOENT unknown IOAS. The ranges change as devices attach and detach.
 */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/*
 * IOMMU_IOAS_ALLOW_IOVAS: replace the IOAS's list of ranges that must stay
 * usable. Automatic IOVA allocation then only picks addresses inside them,
 * and attaching a device that would reserve part of them fails.
 *  in:  @ioas_id; @num_iovas entries of struct iommu_iova_range at
 *       @allowed_iovas (0 entries clears the list)
 * EINVAL an entry has start >= last or entries overlap; EADDRINUSE a range
 * intersects a region already reserved; ENOENT unknown IOAS.
 */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};
#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

/*
 * Flags for IOAS_MAP, IOAS_MAP_FILE and IOAS_COPY. At least one of READABLE
 * and WRITEABLE is required (EINVAL); other bits give EOPNOTSUPP.
 *  FIXED_IOVA: map at the caller's @iova instead of letting the kernel pick.
 *  WRITEABLE:  devices may write the memory.
 *  READABLE:   devices may read the memory.
 */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/*
 * IOMMU_IOAS_MAP: pin user memory and map it into an IOAS.
 *  in:  @flags (enum iommufd_ioas_map_flags), @ioas_id, @user_va, @length,
 *       @iova (only with IOMMU_IOAS_MAP_FIXED_IOVA)
 *  out: @iova chosen by the kernel (without FIXED_IOVA)
 * EEXIST a FIXED range overlaps an existing mapping; EINVAL misaligned, or
 * intersects a reserved region; ENOSPC no free IOVA hole fits; EOVERFLOW
 * address arithmetic overflows; EFAULT the memory cannot be pinned; ENOMEM
 * includes going over RLIMIT_MEMLOCK; ENOENT unknown IOAS.
 */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/*
 * IOMMU_IOAS_MAP_FILE: like IOMMU_IOAS_MAP, but the memory is the byte range
 * [@start, @start + @length) of the memfd @fd instead of a user address.
 *  in:  @flags, @ioas_id, @fd, @start, @length, @iova (with FIXED_IOVA)
 *  out: @iova chosen by the kernel (without FIXED_IOVA)
 * EBADF bad @fd; other errnos as for IOMMU_IOAS_MAP.
 */
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE)

/*
 * IOMMU_IOAS_COPY: map, in @dst_ioas_id, the pages already mapped at
 * [@src_iova, @src_iova + @length) of @src_ioas_id. The pages are shared,
 * not pinned a second time.
 *  in:  @flags (enum iommufd_ioas_map_flags), @dst_ioas_id, @src_ioas_id,
 *       @length, @src_iova, @dst_iova (with FIXED_IOVA)
 *  out: @dst_iova chosen by the kernel (without FIXED_IOVA)
 * ENOENT the source range does not exactly cover whole existing mappings, or
 * an unknown IOAS; destination errnos as for IOMMU_IOAS_MAP.
 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};
#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/*
 * IOMMU_IOAS_UNMAP: remove every mapping inside [@iova, @iova + @length).
 * @iova = 0, @length = U64_MAX removes everything (also on an empty IOAS).
 *  in:  @ioas_id, @iova, @length
 *  out: @length = number of bytes unmapped
 * ENOENT the range cuts through a mapping (mappings cannot be split) or
 * unknown IOAS; EBUSY part of the range is in use by a HW queue.
 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

/*
 * Options for IOMMU_OPTION.
 *  RLIMIT_MODE: global (object_id 0). 0 = charge pinned pages to the user's
 *    RLIMIT_MEMLOCK (default), 1 = charge them per process (mm), as VFIO
 *    type1 does. Setting needs CAP_SYS_RESOURCE (EPERM) and a context with no
 *    objects yet (EBUSY); other values give EINVAL.
 *  HUGE_PAGES: per IOAS (object_id = IOAS). 1 (default) lets contiguous
 *    pages map as large IOMMU pages; 0 maps everything at PAGE_SIZE.
 *    Turning it off with misaligned mappings present gives EADDRINUSE.
 */
enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};

/* Operation of IOMMU_OPTION: store @val64, or return the value in @val64. */
enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/*
 * IOMMU_OPTION: read or change one option of the context or of an object.
 *  in:  @option_id (enum iommufd_option), @op (enum iommufd_option_ops),
 *       @object_id, @val64 (for SET)
 *  out: @val64 (for GET)
 * EOPNOTSUPP unknown option or op; ENOENT unknown object; EINVAL bad value
 * or object_id given for a global option.
 */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};
#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

/* Operation of IOMMU_VFIO_IOAS. */
enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/*
 * IOMMU_VFIO_IOAS: choose the IOAS that the VFIO container personality
 * (VFIO_IOMMU_MAP_DMA and friends) operates on. CLEAR only forgets the
 * choice; it never destroys an IOAS.
 *  in:  @op; @ioas_id (for SET)
 *  out: @ioas_id (for GET)
 * ENODEV GET with no compat IOAS; ENOENT SET with an unknown IOAS;
 * EOPNOTSUPP unknown op.
 */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};
#define IOMMU_VFIO_IOAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

/*
 * Flags for IOMMU_HWPT_ALLOC.
 *  NEST_PARENT:     the HWPT may later be the stage-2 parent of nested HWPTs
 *                   or of a vIOMMU.
 *  DIRTY_TRACKING:  the HWPT must support dirty tracking; attaching it to a
 *                   device that cannot track dirty pages fails.
 *  FAULT_ID_VALID:  @fault_id names a fault queue for I/O page faults.
 *  ALLOC_PASID:     the HWPT may be attached to PASIDs of the device
 *                   (EOPNOTSUPP if the IOMMU cannot do PASID).
 */
enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,
	IOMMU_HWPT_ALLOC_PASID = 1 << 3,
};

/* Attribute bits of struct iommu_hwpt_vtd_s1::flags (VT-d stage-1 PTEs). */
enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE = 1 << 2,
};

/*
 * HWPT data for IOMMU_HWPT_DATA_VTD_S1: a guest-owned Intel VT-d stage-1
 * page table. @flags from enum iommu_hwpt_vtd_s1_flags, @pgtbl_addr its root
 * (a stage-2 address), @addr_width its input address width.
 */
struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags;
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

/*
 * HWPT data for IOMMU_HWPT_DATA_ARM_SMMUV3: the first two 64-bit words of a
 * guest Stream Table Entry, little-endian. Only these fields may be set:
 * word 0 V, Cfg, S1Fmt, S1ContextPtr, S1CDMax; word 1 EATS, S1DSS, S1CIR,
 * S1COR, S1CSH, S1STALLD. Cfg selects abort, bypass (translate as the
 * nesting parent) or stage-1 through a guest CD table. Any other bit or an
 * illegal value gives EIO.
 */
struct iommu_hwpt_arm_smmuv3 {
	__aligned_le64 ste[2];
};

/*
 * HWPT data for IOMMU_HWPT_DATA_AMD_GUEST: the guest's 256-bit AMD IOMMU
 * Device Table Entry describing its stage-1 (GCR3) table.
 */
struct iommu_hwpt_amd_guest {
	__aligned_u64 dte[4];
};

/* Type of the data at iommu_hwpt_alloc::data_uptr. */
enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
	IOMMU_HWPT_DATA_ARM_SMMUV3 = 2,
	IOMMU_HWPT_DATA_AMD_GUEST = 3,
};

/*
 * IOMMU_HWPT_ALLOC: create a hardware page table for a device.
 * With @pt_id an IOAS and @data_type NONE, the HWPT is kernel-managed and
 * mirrors the IOAS. With @pt_id a NEST_PARENT HWPT or a vIOMMU and a driver
 * @data_type, the HWPT is a user-managed nested stage-1 described by the
 * @data_len bytes at @data_uptr.
 *  in:  @flags (enum iommufd_hwpt_alloc_flags), @dev_id, @pt_id,
 *       @data_type, @data_len, @data_uptr, @fault_id (with FAULT_ID_VALID)
 *  out: @out_hwpt_id
 * EOPNOTSUPP unknown flags or a data type the IOMMU does not support;
 * EINVAL bad combination (e.g. data without a nesting parent); ENOENT unknown
 * device, IOAS, HWPT or fault queue; EIO invalid driver data (SMMUv3 STE).
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};
#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

/*
 * Flags in struct iommu_hw_info_vtd::flags.
 *  ERRATA_772415_SPR17: read-only mappings are not allowed in a nesting
 *  parent on this hardware.
 */
enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/*
 * Hardware info IOMMU_HW_INFO_TYPE_INTEL_VTD: the raw VT-d capability and
 * extended capability registers.
 */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

/*
 * Hardware info IOMMU_HW_INFO_TYPE_ARM_SMMUV3: the raw SMMU IDR0..IDR5, IIDR
 * and AIDR registers. A VMM should only use: IDR0 ST_LEVEL, TERM_MODEL,
 * STALL_MODEL, TTENDIAN, CD2L, ASID16, TTF; IDR1 SIDSIZE, SSIDSIZE; IDR3
 * BBML, RIL; IDR5 VAX, GRAN64K, GRAN16K, GRAN4K. Stage-1 is implied when a
 * nested HWPT can be allocated, and coherent access is assumed.
 */
struct iommu_hw_info_arm_smmuv3 {
	__u32 flags;
	__u32 __reserved;
	__u32 idr[6];
	__u32 iidr;
	__u32 aidr;
};

/*
 * Hardware info IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV: fields of the CMDQ-V
 * PARAM register for the VMM's emulated copy (@version, log2 of the number
 * of VCMDQs and of SID replacements).
 */
struct iommu_hw_info_tegra241_cmdqv {
	__u32 flags;
	__u8 version;
	__u8 log2vcmdqs;
	__u8 log2vsids;
	__u8 __reserved;
};

/*
 * Hardware info IOMMU_HW_INFO_TYPE_AMD: the raw AMD IOMMU Extended Feature
 * registers EFR and EFR2.
 */
struct iommu_hw_info_amd {
	__aligned_u64 efr;
	__aligned_u64 efr2;
};

/*
 * Type of the data returned by IOMMU_GET_HW_INFO. NONE is reported by an
 * IOMMU without type-specific data; DEFAULT (same value) is the input that
 * asks for the driver's default type.
 */
enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_DEFAULT = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
	IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2,
	IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV = 3,
	IOMMU_HW_INFO_TYPE_AMD = 4,
};

/*
 * Bits of iommu_hw_info::out_capabilities.
 *  DIRTY_TRACKING:    HWPT_SET_DIRTY_TRACKING / HWPT_GET_DIRTY_BITMAP work.
 *  PCI_PASID_EXEC:    PASID execute permission (only if out_max_pasid_log2).
 *  PCI_PASID_PRIV:    PASID privileged mode (only if out_max_pasid_log2).
 *  PCI_ATS_NOT_SUPPORTED: ATS cannot be used for this device. Negative on
 *                     purpose: 0 (older kernels) means ATS may be used.
 */
enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
	IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,
	IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
	IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED = 1 << 3,
};

/*
 * Flags of struct iommu_hw_info.
 *  INPUT_TYPE: @in_data_type names the info type wanted; without it the
 *  input value is ignored and treated as IOMMU_HW_INFO_TYPE_DEFAULT.
 */
enum iommufd_hw_info_flags {
	IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0,
};

/*
 * IOMMU_GET_HW_INFO: describe the IOMMU behind a bound device.
 *  in:  @flags (enum iommufd_hw_info_flags), @dev_id, @data_len = size of
 *       the buffer at @data_uptr (0 allowed), @in_data_type (with
 *       INPUT_TYPE)
 *  out: @data_len = size of the kernel's data (may exceed the buffer; the
 *       buffer is filled up to its size and zero-padded past the data),
 *       @out_data_type (enum iommu_hw_info_type), @out_max_pasid_log2
 *       (0 = no PASID), @out_capabilities (enum iommufd_hw_capabilities)
 * ENOENT unknown device; EOPNOTSUPP unknown flags or a type the IOMMU cannot
 * report.
 */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	union {
		__u32 in_data_type;
		__u32 out_data_type;
	};
	__u8 out_max_pasid_log2;
	__u8 __reserved[3];
	__aligned_u64 out_capabilities;
};
#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

/* Flags of IOMMU_HWPT_SET_DIRTY_TRACKING: set to enable, clear to disable. */
enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/*
 * IOMMU_HWPT_SET_DIRTY_TRACKING: start or stop dirty tracking on a HWPT.
 *  in:  @flags (enum iommufd_hwpt_set_dirty_tracking_flags), @hwpt_id
 * EOPNOTSUPP unknown flags or the HWPT cannot track dirty pages (it was not
 * allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING); ENOENT unknown HWPT.
 */
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};
#define IOMMU_HWPT_SET_DIRTY_TRACKING _IO(IOMMUFD_TYPE, \
					  IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

/*
 * Flags of IOMMU_HWPT_GET_DIRTY_BITMAP.
 *  NO_CLEAR: report dirty bits but leave them set in the page table (useful
 *  right before unmapping the same range).
 */
enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/*
 * IOMMU_HWPT_GET_DIRTY_BITMAP: read (and by default clear) dirty bits.
 *  in:  @hwpt_id, @flags, @iova, @length, @page_size (granule of one bit),
 *       @data = user pointer to a __u64 bitmap; bit n stands for the page at
 *       @iova + n * @page_size, i.e. data[n / 64] & (1ULL << (n % 64))
 *  out: the bitmap
 * EINVAL misaligned @iova/@length or a bad @page_size; EOPNOTSUPP unknown
 * flags or no dirty tracking; ENOENT unknown HWPT; EFAULT bad bitmap.
 */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};
#define IOMMU_HWPT_GET_DIRTY_BITMAP _IO(IOMMUFD_TYPE, \
					IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

/* Type of each entry of an IOMMU_HWPT_INVALIDATE request array. */
enum iommu_hwpt_invalidate_data_type {
	IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
	IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 = 1,
};

/*
 * Flags of struct iommu_hwpt_vtd_s1_invalidate.
 *  LEAF: only leaf PTE caches need invalidating, not paging-structure caches.
 */
enum iommu_hwpt_vtd_s1_invalidate_flags {
	IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

/*
 * Entry for IOMMU_HWPT_INVALIDATE_DATA_VTD_S1: invalidate @npages 4 KiB pages
 * from the 4 KiB-aligned @addr of a nested VT-d stage-1. @addr 0 with
 * @npages U64_MAX invalidates everything. The device TLB is flushed too when
 * ATS is on.
 */
struct iommu_hwpt_vtd_s1_invalidate {
	__aligned_u64 addr;
	__aligned_u64 npages;
	__u32 flags;
	__u32 __reserved;
};

/*
 * Entry for IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 (the target must be a
 * vIOMMU): one 128-bit SMMU command, little-endian. Accepted opcodes:
 * TLBI_NSNH_ALL, TLBI_NH_VA, TLBI_NH_VAA, TLBI_NH_ALL, TLBI_NH_ASID, ATC_INV,
 * CFGI_CD, CFGI_CD_ALL; the VMID is supplied by the kernel and StreamIDs are
 * virtual (vDEVICE virt_id). Any other command, or an unknown vSID, gives EIO.
 */
struct iommu_viommu_arm_smmuv3_invalidate {
	__aligned_le64 cmd[2];
};

/*
 * IOMMU_HWPT_INVALIDATE: flush caches of a nested HWPT or a vIOMMU after the
 * guest changed its tables. The request is an array of @entry_num entries of
 * @entry_len bytes each at @data_uptr, all of type @data_type.
 *  in:  @hwpt_id (nested HWPT or vIOMMU), @data_uptr, @data_type,
 *       @entry_len, @entry_num
 *  out: @entry_num = number of entries handled (also on failure)
 * @entry_num == 0 only checks that @data_type is supported. EINVAL bad type,
 * bad @entry_len or NULL @data_uptr; EOPNOTSUPP bad entry flags, or a nested
 * HWPT made on a vIOMMU (invalidate through the vIOMMU); EIO an entry the
 * hardware format rejects; E2BIG an entry longer than the format with
 * non-zero bytes past it; ENOENT unknown object or a paging HWPT (as 6.12).
 */
struct iommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;
	__u32 __reserved;
};
#define IOMMU_HWPT_INVALIDATE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)

/*
 * Flags of struct iommu_hwpt_pgfault.
 *  PASID_VALID: @pasid is meaningful.
 *  LAST_PAGE:   last fault of its group; answer the group with its @cookie.
 */
enum iommu_hwpt_pgfault_flags {
	IOMMU_PGFAULT_FLAGS_PASID_VALID = (1 << 0),
	IOMMU_PGFAULT_FLAGS_LAST_PAGE = (1 << 1),
};

/*
 * Access wanted by a faulting request (struct iommu_hwpt_pgfault::perm).
 * EXEC and PRIV mirror the PCIe PASID prefix Execute / Privileged bits.
 */
enum iommu_hwpt_pgfault_perm {
	IOMMU_PGFAULT_PERM_READ = (1 << 0),
	IOMMU_PGFAULT_PERM_WRITE = (1 << 1),
	IOMMU_PGFAULT_PERM_EXEC = (1 << 2),
	IOMMU_PGFAULT_PERM_PRIV = (1 << 3),
};

/*
 * One I/O page fault, read() from a fault queue fd.
 *  @flags (enum iommu_hwpt_pgfault_flags), @dev_id of the device, @pasid,
 *  @grpid (PRI page request group), @perm (enum iommu_hwpt_pgfault_perm),
 *  @addr faulting address, @length hint of how much the device will touch
 *  (0 if unknown), @cookie to echo in the response.
 */
struct iommu_hwpt_pgfault {
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 grpid;
	__u32 perm;
	__u32 __reserved;
	__aligned_u64 addr;
	__u32 length;
	__u32 cookie;
};

/*
 * Result of handling a fault group (PCIe page response codes).
 *  SUCCESS: tables were fixed, the device retries.
 *  INVALID: the fault could not be handled, the device must not retry.
 */
enum iommufd_page_response_code {
	IOMMUFD_PAGE_RESP_SUCCESS = 0,
	IOMMUFD_PAGE_RESP_INVALID = 1,
};

/*
 * Response to a fault group, write()n to the fault queue fd: @cookie from the
 * group's last fault and @code (enum iommufd_page_response_code).
 */
struct iommu_hwpt_page_response {
	__u32 cookie;
	__u32 code;
};

/*
 * IOMMU_FAULT_QUEUE_ALLOC: create a queue that delivers I/O page faults of
 * HWPTs allocated with IOMMU_HWPT_FAULT_ID_VALID.
 *  in:  @flags (must be 0)
 *  out: @out_fault_id, @out_fault_fd (read faults, write responses)
 * EOPNOTSUPP non-zero @flags; EMFILE/ENFILE no fd available.
 */
struct iommu_fault_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_fault_id;
	__u32 out_fault_fd;
};
#define IOMMU_FAULT_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)

/* Kind of vIOMMU. DEFAULT is reserved and refused (EOPNOTSUPP). */
enum iommu_viommu_type {
	IOMMU_VIOMMU_TYPE_DEFAULT = 0,
	IOMMU_VIOMMU_TYPE_ARM_SMMUV3 = 1,
	IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV = 2,
};

/*
 * vIOMMU data for IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV (output): the mmap()
 * offset and length on /dev/iommu of the VINTF page0 to hand to the guest.
 */
struct iommu_viommu_tegra241_cmdqv {
	__aligned_u64 out_vintf_mmap_offset;
	__aligned_u64 out_vintf_mmap_length;
};

/*
 * IOMMU_VIOMMU_ALLOC: create a virtual IOMMU, the per-VM slice of a physical
 * IOMMU's virtualization features (guest cache tags, virtual device IDs,
 * event delivery, HW queues), on top of a nesting parent HWPT.
 *  in:  @flags (must be 0), @type (enum iommu_viommu_type), @dev_id (selects
 *       the physical IOMMU), @hwpt_id (a NEST_PARENT HWPT), @data_len and
 *       @data_uptr (type-specific data, in and out)
 *  out: @out_viommu_id; type-specific data written back at @data_uptr
 * ENOENT unknown device or HWPT (or @hwpt_id not a paging HWPT); EINVAL the
 * HWPT is not a nesting parent or belongs to another IOMMU; EOPNOTSUPP
 * unknown type or the hardware cannot nest; ENOSPC the IOMMU's cache tags
 * (SMMUv3 VMIDs) are used up. The tag is the kernel's to choose: no field
 * carries it.
 */
struct iommu_viommu_alloc {
	__u32 size;
	__u32 flags;
	__u32 type;
	__u32 dev_id;
	__u32 hwpt_id;
	__u32 out_viommu_id;
	__u32 data_len;
	__u32 __reserved;
	__aligned_u64 data_uptr;
};
#define IOMMU_VIOMMU_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VIOMMU_ALLOC)

/*
 * IOMMU_VDEVICE_ALLOC: give a bound device its guest-visible ID on a vIOMMU
 * (vSID for SMMUv3, vDeviceID for AMD, vRID for VT-d). Destroy it before the
 * device is unbound, else its ID stays allocated until the fd is closed.
 *  in:  @viommu_id, @dev_id, @virt_id
 *  out: @out_vdevice_id
 * EEXIST the device or @virt_id already has a vDEVICE on this vIOMMU;
 * ENOENT unknown vIOMMU or device; EINVAL the device is behind another IOMMU,
 * or @virt_id does not fit the IOMMU's ID (32 bits for an SMMUv3 StreamID;
 * iommufd-cxx's rule).
 */
struct iommu_vdevice_alloc {
	__u32 size;
	__u32 viommu_id;
	__u32 dev_id;
	__u32 out_vdevice_id;
	__aligned_u64 virt_id;
};
#define IOMMU_VDEVICE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VDEVICE_ALLOC)

/*
 * IOMMU_IOAS_CHANGE_PROCESS: move the pinned-memory accounting of every
 * mapping in the context to the calling process (e.g. live update hand-off).
 * All or nothing.
 * EINVAL some mapping was not made with IOMMU_IOAS_MAP_FILE; ENOMEM the new
 * owner's limit would be exceeded.
 */
struct iommu_ioas_change_process {
	__u32 size;
	__u32 __reserved;
};

#define IOMMU_IOAS_CHANGE_PROCESS \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_CHANGE_PROCESS)

/*
 * Flags of struct iommufd_vevent_header.
 *  LOST_EVENTS: the queue overflowed; this header ends the data read and
 *  carries no event data.
 */
enum iommu_veventq_flag {
	IOMMU_VEVENTQ_FLAG_LOST_EVENTS = (1U << 0),
};

/*
 * Header in front of every event read() from a vEVENTQ fd, followed by the
 * type-specific record (none after a LOST_EVENTS header). @sequence counts
 * 0..INT_MAX and wraps to 0; a gap larger than 1 between two headers means
 * events were lost.
 */
struct iommufd_vevent_header {
	__u32 flags;
	__u32 sequence;
};

/* Kind of vEVENTQ; each vIOMMU has at most one queue per type (EEXIST). */
enum iommu_veventq_type {
	IOMMU_VEVENTQ_TYPE_DEFAULT = 0,
	IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 = 1,
	IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV = 2,
};

/*
 * Event record for IOMMU_VEVENTQ_TYPE_ARM_SMMUV3: one 256-bit SMMU event,
 * little-endian, with the StreamID replaced by the vDEVICE's virt_id.
 * Forwarded events: C_BAD_STE (0x04), F_STREAM_DISABLED (0x06),
 * C_BAD_SUBSTREAMID (0x08), C_BAD_CD (0x0a), F_TRANSLATION (0x10),
 * F_ADDR_SIZE (0x11), F_ACCESS (0x12), F_PERMISSION (0x13).
 */
struct iommu_vevent_arm_smmuv3 {
	__aligned_le64 evt[4];
};

/*
 * Event record for IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV: the 128-bit logical
 * VCMDQ error map of the vIOMMU's virtual interface, little-endian.
 */
struct iommu_vevent_tegra241_cmdqv {
	__aligned_le64 lvcmdq_err_map[2];
};

/*
 * IOMMU_VEVENTQ_ALLOC: create a queue that delivers vIOMMU events of one
 * type; read() returns struct iommufd_vevent_header + record pairs.
 *  in:  @flags (must be 0), @viommu_id, @type (enum iommu_veventq_type),
 *       @veventq_depth (events kept before overflow)
 *  out: @out_veventq_id, @out_veventq_fd (close it when done)
 * EEXIST the vIOMMU already has a queue of @type; EOPNOTSUPP unknown type or
 * flags; EINVAL @veventq_depth is 0; ENOENT unknown vIOMMU.
 */
struct iommu_veventq_alloc {
	__u32 size;
	__u32 flags;
	__u32 viommu_id;
	__u32 type;
	__u32 veventq_depth;
	__u32 out_veventq_id;
	__u32 out_veventq_fd;
	__u32 __reserved;
};
#define IOMMU_VEVENTQ_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VEVENTQ_ALLOC)

/*
 * Kind of HW queue. DEFAULT is reserved (EOPNOTSUPP).
 * TEGRA241_CMDQV (a VCMDQ): allocate from @index 0 upward and destroy from
 * the highest index down (EBUSY otherwise); the queue must be a power of two
 * of at least 32 bytes and at most 2^IDR1.CMDQS * 16 bytes, aligned to its
 * length and mapped in the IOAS; physically contiguous backing (e.g. one
 * huge page) is recommended.
 */
enum iommu_hw_queue_type {
	IOMMU_HW_QUEUE_TYPE_DEFAULT = 0,
	IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV = 1,
};

/*
 * IOMMU_HW_QUEUE_ALLOC: hand a guest-owned queue to a vIOMMU's hardware so
 * the guest drives it without exits. The queue memory stays pinned and may
 * not be unmapped while the HW queue exists.
 *  in:  @flags (must be 0), @viommu_id, @type (enum iommu_hw_queue_type),
 *       @index (per-type queue number), @nesting_parent_iova (queue base in
 *       guest physical space), @length
 *  out: @out_hw_queue_id
 * EOPNOTSUPP unknown or DEFAULT type; EINVAL zero or bad @length, or @index
 * out of range; EOVERFLOW @nesting_parent_iova + @length overflows; ENOENT
 * unknown vIOMMU or the range is not mapped; EEXIST @index already in use;
 * EIO index order violated (driver rule).
 */
struct iommu_hw_queue_alloc {
	__u32 size;
	__u32 flags;
	__u32 viommu_id;
	__u32 type;
	__u32 index;
	__u32 out_hw_queue_id;
	__aligned_u64 nesting_parent_iova;
	__aligned_u64 length;
};
#define IOMMU_HW_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HW_QUEUE_ALLOC)

#endif /* IOMMUFD_CXX_UAPI_IOMMUFD_H */
