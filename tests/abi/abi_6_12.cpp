// SPDX-License-Identifier: GPL-2.0
/*
 * Compile-time ABI test: uapi/iommufd.h against Debian's Linux 6.12 copy of
 * the upstream <linux/iommufd.h>.
 *
 * Debian's header (path in ABI_K612_HEADER, passed by tests/abi/abi.mk) is
 * included inside namespace k612, its macro values are captured as
 * constexpr values, its macros are #undef'd, and then our header is included
 * at global scope. Every struct (sizeof, alignof), every field (offset, size,
 * alignment, type), every enumerator (value and the enum it belongs to) and
 * every ioctl macro of the 6.12 header is then compared with static_assert.
 * The lists below are X-macros; tests/abi/k612_coverage.py fails the check
 * when the 6.12 header has a struct, field, enumerator or #define that is
 * missing from them, so this file cannot silently fall behind the header.
 *
 * A final block checks post-6.12 structs (vIOMMU, vDEVICE, MAP_FILE, vEVENTQ,
 * HW queue, grown hw_info/hwpt_alloc) against sizes and offsets taken from
 * upstream torvalds/linux b4d90dbc4c1b include/uapi/linux/iommufd.h.
 *
 * Nothing here runs: g++ -fsyntax-only is the whole test.
 */

#include <linux/types.h>
#include <linux/ioctl.h>

#include <cstddef>
#include <type_traits>
#include <utility>

#ifndef ABI_K612_HEADER
#error "define ABI_K612_HEADER as the quoted path of Debian's 6.12 uapi/linux/iommufd.h"
#endif

namespace k612 {
#include ABI_K612_HEADER
} // namespace k612

#ifndef _UAPI_IOMMUFD_H
#error "ABI_K612_HEADER did not look like include/uapi/linux/iommufd.h"
#endif

/* ---------------------------------------------------------------------- */
/* The 6.12 header's contents, as X-macro lists.                           */

/* Include guards of the 6.12 header: #undef'd, not compared. */
#define K612_GUARDS(G) \
	G(_UAPI_IOMMUFD_H)

/* Every other #define of the 6.12 header. */
#define K612_MACROS(M) \
	M(IOMMUFD_TYPE) \
	M(IOMMU_DESTROY) \
	M(IOMMU_IOAS_ALLOC) \
	M(IOMMU_IOAS_IOVA_RANGES) \
	M(IOMMU_IOAS_ALLOW_IOVAS) \
	M(IOMMU_IOAS_MAP) \
	M(IOMMU_IOAS_COPY) \
	M(IOMMU_IOAS_UNMAP) \
	M(IOMMU_OPTION) \
	M(IOMMU_VFIO_IOAS) \
	M(IOMMU_HWPT_ALLOC) \
	M(IOMMU_GET_HW_INFO) \
	M(IOMMU_HWPT_SET_DIRTY_TRACKING) \
	M(IOMMU_HWPT_GET_DIRTY_BITMAP) \
	M(IOMMU_HWPT_INVALIDATE) \
	M(IOMMU_FAULT_QUEUE_ALLOC)

/* Every struct of the 6.12 header. */
#define K612_STRUCTS(S) \
	S(iommu_destroy) \
	S(iommu_ioas_alloc) \
	S(iommu_iova_range) \
	S(iommu_ioas_iova_ranges) \
	S(iommu_ioas_allow_iovas) \
	S(iommu_ioas_map) \
	S(iommu_ioas_copy) \
	S(iommu_ioas_unmap) \
	S(iommu_option) \
	S(iommu_vfio_ioas) \
	S(iommu_hwpt_vtd_s1) \
	S(iommu_hwpt_alloc) \
	S(iommu_hw_info_vtd) \
	S(iommu_hw_info) \
	S(iommu_hwpt_set_dirty_tracking) \
	S(iommu_hwpt_get_dirty_bitmap) \
	S(iommu_hwpt_vtd_s1_invalidate) \
	S(iommu_hwpt_invalidate) \
	S(iommu_hwpt_pgfault) \
	S(iommu_hwpt_page_response) \
	S(iommu_fault_alloc)

/*
 * Every field of every struct of the 6.12 header.
 *  F(struct, field): same name, offset, size, alignment and type.
 *  SPAN(struct, field, first, last): the 6.12 field's bytes are exactly the
 *    bytes of our fields first..last (for a field whose type or split
 *    changed without moving any byte; use first == last for a pure type
 *    change). None is needed for Debian's 6.12.117 header; kept so that a
 *    later Debian update that differs only in such a way stays expressible.
 */
#define K612_FIELDS(F, SPAN) \
	F(iommu_destroy, size) \
	F(iommu_destroy, id) \
	F(iommu_ioas_alloc, size) \
	F(iommu_ioas_alloc, flags) \
	F(iommu_ioas_alloc, out_ioas_id) \
	F(iommu_iova_range, start) \
	F(iommu_iova_range, last) \
	F(iommu_ioas_iova_ranges, size) \
	F(iommu_ioas_iova_ranges, ioas_id) \
	F(iommu_ioas_iova_ranges, num_iovas) \
	F(iommu_ioas_iova_ranges, __reserved) \
	F(iommu_ioas_iova_ranges, allowed_iovas) \
	F(iommu_ioas_iova_ranges, out_iova_alignment) \
	F(iommu_ioas_allow_iovas, size) \
	F(iommu_ioas_allow_iovas, ioas_id) \
	F(iommu_ioas_allow_iovas, num_iovas) \
	F(iommu_ioas_allow_iovas, __reserved) \
	F(iommu_ioas_allow_iovas, allowed_iovas) \
	F(iommu_ioas_map, size) \
	F(iommu_ioas_map, flags) \
	F(iommu_ioas_map, ioas_id) \
	F(iommu_ioas_map, __reserved) \
	F(iommu_ioas_map, user_va) \
	F(iommu_ioas_map, length) \
	F(iommu_ioas_map, iova) \
	F(iommu_ioas_copy, size) \
	F(iommu_ioas_copy, flags) \
	F(iommu_ioas_copy, dst_ioas_id) \
	F(iommu_ioas_copy, src_ioas_id) \
	F(iommu_ioas_copy, length) \
	F(iommu_ioas_copy, dst_iova) \
	F(iommu_ioas_copy, src_iova) \
	F(iommu_ioas_unmap, size) \
	F(iommu_ioas_unmap, ioas_id) \
	F(iommu_ioas_unmap, iova) \
	F(iommu_ioas_unmap, length) \
	F(iommu_option, size) \
	F(iommu_option, option_id) \
	F(iommu_option, op) \
	F(iommu_option, __reserved) \
	F(iommu_option, object_id) \
	F(iommu_option, val64) \
	F(iommu_vfio_ioas, size) \
	F(iommu_vfio_ioas, ioas_id) \
	F(iommu_vfio_ioas, op) \
	F(iommu_vfio_ioas, __reserved) \
	F(iommu_hwpt_vtd_s1, flags) \
	F(iommu_hwpt_vtd_s1, pgtbl_addr) \
	F(iommu_hwpt_vtd_s1, addr_width) \
	F(iommu_hwpt_vtd_s1, __reserved) \
	F(iommu_hwpt_alloc, size) \
	F(iommu_hwpt_alloc, flags) \
	F(iommu_hwpt_alloc, dev_id) \
	F(iommu_hwpt_alloc, pt_id) \
	F(iommu_hwpt_alloc, out_hwpt_id) \
	F(iommu_hwpt_alloc, __reserved) \
	F(iommu_hwpt_alloc, data_type) \
	F(iommu_hwpt_alloc, data_len) \
	F(iommu_hwpt_alloc, data_uptr) \
	F(iommu_hwpt_alloc, fault_id) \
	F(iommu_hwpt_alloc, __reserved2) \
	F(iommu_hw_info_vtd, flags) \
	F(iommu_hw_info_vtd, __reserved) \
	F(iommu_hw_info_vtd, cap_reg) \
	F(iommu_hw_info_vtd, ecap_reg) \
	F(iommu_hw_info, size) \
	F(iommu_hw_info, flags) \
	F(iommu_hw_info, dev_id) \
	F(iommu_hw_info, data_len) \
	F(iommu_hw_info, data_uptr) \
	F(iommu_hw_info, out_data_type) \
	F(iommu_hw_info, out_max_pasid_log2) \
	F(iommu_hw_info, __reserved) \
	F(iommu_hw_info, out_capabilities) \
	F(iommu_hwpt_set_dirty_tracking, size) \
	F(iommu_hwpt_set_dirty_tracking, flags) \
	F(iommu_hwpt_set_dirty_tracking, hwpt_id) \
	F(iommu_hwpt_set_dirty_tracking, __reserved) \
	F(iommu_hwpt_get_dirty_bitmap, size) \
	F(iommu_hwpt_get_dirty_bitmap, hwpt_id) \
	F(iommu_hwpt_get_dirty_bitmap, flags) \
	F(iommu_hwpt_get_dirty_bitmap, __reserved) \
	F(iommu_hwpt_get_dirty_bitmap, iova) \
	F(iommu_hwpt_get_dirty_bitmap, length) \
	F(iommu_hwpt_get_dirty_bitmap, page_size) \
	F(iommu_hwpt_get_dirty_bitmap, data) \
	F(iommu_hwpt_vtd_s1_invalidate, addr) \
	F(iommu_hwpt_vtd_s1_invalidate, npages) \
	F(iommu_hwpt_vtd_s1_invalidate, flags) \
	F(iommu_hwpt_vtd_s1_invalidate, __reserved) \
	F(iommu_hwpt_invalidate, size) \
	F(iommu_hwpt_invalidate, hwpt_id) \
	F(iommu_hwpt_invalidate, data_uptr) \
	F(iommu_hwpt_invalidate, data_type) \
	F(iommu_hwpt_invalidate, entry_len) \
	F(iommu_hwpt_invalidate, entry_num) \
	F(iommu_hwpt_invalidate, __reserved) \
	F(iommu_hwpt_pgfault, flags) \
	F(iommu_hwpt_pgfault, dev_id) \
	F(iommu_hwpt_pgfault, pasid) \
	F(iommu_hwpt_pgfault, grpid) \
	F(iommu_hwpt_pgfault, perm) \
	F(iommu_hwpt_pgfault, __reserved) \
	F(iommu_hwpt_pgfault, addr) \
	F(iommu_hwpt_pgfault, length) \
	F(iommu_hwpt_pgfault, cookie) \
	F(iommu_hwpt_page_response, cookie) \
	F(iommu_hwpt_page_response, code) \
	F(iommu_fault_alloc, size) \
	F(iommu_fault_alloc, flags) \
	F(iommu_fault_alloc, out_fault_id) \
	F(iommu_fault_alloc, out_fault_fd)

/*
 * Every enumerator of the 6.12 header.
 *  E(enum, name): same value, and a member of the same-named enum.
 *  A(name): member of an anonymous enum; same value.
 */
#define K612_ENUMS(E, A) \
	A(IOMMUFD_CMD_BASE) \
	A(IOMMUFD_CMD_DESTROY) \
	A(IOMMUFD_CMD_IOAS_ALLOC) \
	A(IOMMUFD_CMD_IOAS_ALLOW_IOVAS) \
	A(IOMMUFD_CMD_IOAS_COPY) \
	A(IOMMUFD_CMD_IOAS_IOVA_RANGES) \
	A(IOMMUFD_CMD_IOAS_MAP) \
	A(IOMMUFD_CMD_IOAS_UNMAP) \
	A(IOMMUFD_CMD_OPTION) \
	A(IOMMUFD_CMD_VFIO_IOAS) \
	A(IOMMUFD_CMD_HWPT_ALLOC) \
	A(IOMMUFD_CMD_GET_HW_INFO) \
	A(IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING) \
	A(IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP) \
	A(IOMMUFD_CMD_HWPT_INVALIDATE) \
	A(IOMMUFD_CMD_FAULT_QUEUE_ALLOC) \
	E(iommufd_ioas_map_flags, IOMMU_IOAS_MAP_FIXED_IOVA) \
	E(iommufd_ioas_map_flags, IOMMU_IOAS_MAP_WRITEABLE) \
	E(iommufd_ioas_map_flags, IOMMU_IOAS_MAP_READABLE) \
	E(iommufd_option, IOMMU_OPTION_RLIMIT_MODE) \
	E(iommufd_option, IOMMU_OPTION_HUGE_PAGES) \
	E(iommufd_option_ops, IOMMU_OPTION_OP_SET) \
	E(iommufd_option_ops, IOMMU_OPTION_OP_GET) \
	E(iommufd_vfio_ioas_op, IOMMU_VFIO_IOAS_GET) \
	E(iommufd_vfio_ioas_op, IOMMU_VFIO_IOAS_SET) \
	E(iommufd_vfio_ioas_op, IOMMU_VFIO_IOAS_CLEAR) \
	E(iommufd_hwpt_alloc_flags, IOMMU_HWPT_ALLOC_NEST_PARENT) \
	E(iommufd_hwpt_alloc_flags, IOMMU_HWPT_ALLOC_DIRTY_TRACKING) \
	E(iommufd_hwpt_alloc_flags, IOMMU_HWPT_FAULT_ID_VALID) \
	E(iommu_hwpt_vtd_s1_flags, IOMMU_VTD_S1_SRE) \
	E(iommu_hwpt_vtd_s1_flags, IOMMU_VTD_S1_EAFE) \
	E(iommu_hwpt_vtd_s1_flags, IOMMU_VTD_S1_WPE) \
	E(iommu_hwpt_data_type, IOMMU_HWPT_DATA_NONE) \
	E(iommu_hwpt_data_type, IOMMU_HWPT_DATA_VTD_S1) \
	E(iommu_hw_info_vtd_flags, IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17) \
	E(iommu_hw_info_type, IOMMU_HW_INFO_TYPE_NONE) \
	E(iommu_hw_info_type, IOMMU_HW_INFO_TYPE_INTEL_VTD) \
	E(iommufd_hw_capabilities, IOMMU_HW_CAP_DIRTY_TRACKING) \
	E(iommufd_hw_capabilities, IOMMU_HW_CAP_PCI_PASID_EXEC) \
	E(iommufd_hw_capabilities, IOMMU_HW_CAP_PCI_PASID_PRIV) \
	E(iommufd_hwpt_set_dirty_tracking_flags, IOMMU_HWPT_DIRTY_TRACKING_ENABLE) \
	E(iommufd_hwpt_get_dirty_bitmap_flags, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) \
	E(iommu_hwpt_invalidate_data_type, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1) \
	E(iommu_hwpt_vtd_s1_invalidate_flags, IOMMU_VTD_INV_FLAGS_LEAF) \
	E(iommu_hwpt_pgfault_flags, IOMMU_PGFAULT_FLAGS_PASID_VALID) \
	E(iommu_hwpt_pgfault_flags, IOMMU_PGFAULT_FLAGS_LAST_PAGE) \
	E(iommu_hwpt_pgfault_perm, IOMMU_PGFAULT_PERM_READ) \
	E(iommu_hwpt_pgfault_perm, IOMMU_PGFAULT_PERM_WRITE) \
	E(iommu_hwpt_pgfault_perm, IOMMU_PGFAULT_PERM_EXEC) \
	E(iommu_hwpt_pgfault_perm, IOMMU_PGFAULT_PERM_PRIV) \
	E(iommufd_page_response_code, IOMMUFD_PAGE_RESP_SUCCESS) \
	E(iommufd_page_response_code, IOMMUFD_PAGE_RESP_INVALID)

/* ---------------------------------------------------------------------- */
/* Capture the 6.12 macro values while its enumerators are in scope.       */

namespace k612 {
namespace macro {
#define ABI_CAPTURE(name) constexpr auto name##_value = name;
K612_MACROS(ABI_CAPTURE)
#undef ABI_CAPTURE
} // namespace macro
} // namespace k612

/*
 * #undef everything the 6.12 header defined; k612_coverage.py checks that
 * this block names every entry of K612_MACROS and K612_GUARDS.
 */
#undef _UAPI_IOMMUFD_H
#undef IOMMUFD_TYPE
#undef IOMMU_DESTROY
#undef IOMMU_IOAS_ALLOC
#undef IOMMU_IOAS_IOVA_RANGES
#undef IOMMU_IOAS_ALLOW_IOVAS
#undef IOMMU_IOAS_MAP
#undef IOMMU_IOAS_COPY
#undef IOMMU_IOAS_UNMAP
#undef IOMMU_OPTION
#undef IOMMU_VFIO_IOAS
#undef IOMMU_HWPT_ALLOC
#undef IOMMU_GET_HW_INFO
#undef IOMMU_HWPT_SET_DIRTY_TRACKING
#undef IOMMU_HWPT_GET_DIRTY_BITMAP
#undef IOMMU_HWPT_INVALIDATE
#undef IOMMU_FAULT_QUEUE_ALLOC

/* ---------------------------------------------------------------------- */
/* Our header, at global scope.                                            */

#include "iommufd.h"

#ifndef IOMMUFD_CXX_UAPI_IOMMUFD_H
#error "uapi/iommufd.h was not included (include path?)"
#endif
#ifndef _UAPI_IOMMUFD_H
#error "uapi/iommufd.h must also claim upstream's guard _UAPI_IOMMUFD_H"
#endif

/* ---------------------------------------------------------------------- */
/* The checks.                                                             */

#include "abi_check.h"

namespace abi {

K612_STRUCTS(ABI_CHECK_STRUCT)
K612_FIELDS(ABI_CHECK_FIELD, ABI_CHECK_SPAN)
K612_ENUMS(ABI_CHECK_ENUM, ABI_CHECK_ANON_ENUM)
K612_MACROS(ABI_CHECK_MACRO)

/* ---------------------------------------------------------------------- */
/*
 * After 6.12: layouts from upstream torvalds/linux b4d90dbc4c1b
 * include/uapi/linux/iommufd.h (sizes as in the project's reference table),
 * plus the additive AMD / ATS commits named in uapi/iommufd.h.
 */

static_assert(IOMMUFD_TYPE == ';' && (IOMMU_DESTROY & 0xffff) == 0x3b80, "ioctl numbering");

static_assert(IOMMUFD_CMD_IOAS_MAP_FILE == 0x8f);
static_assert(IOMMUFD_CMD_VIOMMU_ALLOC == 0x90);
static_assert(IOMMUFD_CMD_VDEVICE_ALLOC == 0x91);
static_assert(IOMMUFD_CMD_IOAS_CHANGE_PROCESS == 0x92);
static_assert(IOMMUFD_CMD_VEVENTQ_ALLOC == 0x93);
static_assert(IOMMUFD_CMD_HW_QUEUE_ALLOC == 0x94);
static_assert(IOMMU_IOAS_MAP_FILE == 0x3b8f && IOMMU_VIOMMU_ALLOC == 0x3b90 &&
	      IOMMU_VDEVICE_ALLOC == 0x3b91 && IOMMU_IOAS_CHANGE_PROCESS == 0x3b92 &&
	      IOMMU_VEVENTQ_ALLOC == 0x3b93 && IOMMU_HW_QUEUE_ALLOC == 0x3b94,
	      "post-6.12 ioctl numbers");

/* Grown structs: the 6.12 prefix is checked above, the full size here. */
static_assert(sizeof(iommu_hwpt_alloc) == 48);
static_assert(sizeof(iommu_hw_info) == 40);
static_assert(offsetof(iommu_hw_info, in_data_type) == offsetof(iommu_hw_info, out_data_type));
static_assert(offsetof(iommu_hw_info, in_data_type) == 24 && sizeof(iommu_hw_info::in_data_type) == 4);

/* New structs. */
static_assert(sizeof(iommu_ioas_map_file) == 40);
static_assert(offsetof(iommu_ioas_map_file, fd) == 12 && std::is_same_v<decltype(iommu_ioas_map_file::fd), __s32>);
static_assert(offsetof(iommu_ioas_map_file, start) == 16);
static_assert(offsetof(iommu_ioas_map_file, length) == 24);
static_assert(offsetof(iommu_ioas_map_file, iova) == 32);

static_assert(sizeof(iommu_viommu_alloc) == 40);
static_assert(offsetof(iommu_viommu_alloc, out_viommu_id) == 20);
static_assert(offsetof(iommu_viommu_alloc, data_len) == 24);
static_assert(offsetof(iommu_viommu_alloc, data_uptr) == 32);

static_assert(sizeof(iommu_vdevice_alloc) == 24);
static_assert(offsetof(iommu_vdevice_alloc, out_vdevice_id) == 12);
static_assert(offsetof(iommu_vdevice_alloc, virt_id) == 16);

static_assert(sizeof(iommu_ioas_change_process) == 8);

static_assert(sizeof(iommu_veventq_alloc) == 32);
static_assert(offsetof(iommu_veventq_alloc, veventq_depth) == 16);
static_assert(offsetof(iommu_veventq_alloc, out_veventq_fd) == 24);
static_assert(sizeof(iommufd_vevent_header) == 8);
static_assert(sizeof(iommu_vevent_arm_smmuv3) == 32 && alignof(iommu_vevent_arm_smmuv3) == 8);
static_assert(sizeof(iommu_vevent_tegra241_cmdqv) == 16);

static_assert(sizeof(iommu_hw_queue_alloc) == 40);
static_assert(offsetof(iommu_hw_queue_alloc, index) == 16);
static_assert(offsetof(iommu_hw_queue_alloc, out_hw_queue_id) == 20);
static_assert(offsetof(iommu_hw_queue_alloc, nesting_parent_iova) == 24);
static_assert(offsetof(iommu_hw_queue_alloc, length) == 32);

/* Driver data. */
static_assert(sizeof(iommu_hwpt_arm_smmuv3) == 16 && alignof(iommu_hwpt_arm_smmuv3) == 8);
static_assert(sizeof(iommu_viommu_arm_smmuv3_invalidate) == 16);
static_assert(sizeof(iommu_hw_info_arm_smmuv3) == 40);
static_assert(offsetof(iommu_hw_info_arm_smmuv3, idr) == 8);
static_assert(offsetof(iommu_hw_info_arm_smmuv3, aidr) == 36);
static_assert(sizeof(iommu_hw_info_tegra241_cmdqv) == 8);
static_assert(sizeof(iommu_viommu_tegra241_cmdqv) == 16);
static_assert(sizeof(iommu_hw_info_amd) == 16);
static_assert(sizeof(iommu_hwpt_amd_guest) == 32);

/* Enumerators added after 6.12. */
static_assert(IOMMU_HWPT_ALLOC_PASID == 1 << 3);
static_assert(IOMMU_HWPT_DATA_ARM_SMMUV3 == 2 && IOMMU_HWPT_DATA_AMD_GUEST == 3);
static_assert(IOMMU_HW_INFO_TYPE_DEFAULT == 0 && IOMMU_HW_INFO_TYPE_ARM_SMMUV3 == 2 &&
	      IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV == 3 && IOMMU_HW_INFO_TYPE_AMD == 4);
static_assert(IOMMU_HW_INFO_FLAG_INPUT_TYPE == 1);
static_assert(IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED == 1 << 3);
static_assert(IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 == 1);
static_assert(IOMMU_VIOMMU_TYPE_DEFAULT == 0 && IOMMU_VIOMMU_TYPE_ARM_SMMUV3 == 1 &&
	      IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV == 2);
static_assert(IOMMU_VEVENTQ_FLAG_LOST_EVENTS == 1U);
static_assert(IOMMU_VEVENTQ_TYPE_DEFAULT == 0 && IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 == 1 &&
	      IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV == 2);
static_assert(IOMMU_HW_QUEUE_TYPE_DEFAULT == 0 && IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV == 1);

/*
 * Minimum accepted @size of the commands whose struct grew (offsetofend of
 * the last field the kernel requires; upstream main.c IOCTL_OP table). A
 * 6.12-era binary passes exactly these sizes.
 */
static_assert(ABI_OFFSETOFEND(iommu_hwpt_alloc, __reserved) == 24);
static_assert(ABI_OFFSETOFEND(iommu_hw_info, __reserved) == 32);
static_assert(ABI_OFFSETOFEND(iommu_viommu_alloc, out_viommu_id) == 24);
static_assert(ABI_OFFSETOFEND(iommu_veventq_alloc, out_veventq_fd) == 28);

} // namespace abi
