// SPDX-License-Identifier: GPL-2.0
/*
 * Compile-time ABI test: uapi/vfio_compat.h (the VFIO type1 container subset
 * this module serves) against a real <linux/vfio.h>: Debian's Linux 6.12
 * uapi copy, and the 6.1 one linux-libc-dev installs as
 * /usr/include/linux/vfio.h (tests/abi/abi.mk compiles this file once per
 * header, path in ABI_VFIO_HEADER).
 *
 * The other header is included inside namespace k612, its values of our
 * macros are captured as constexpr values, those macros are #undef'd, and
 * then our header is included at global scope.  Every #define, struct and
 * field of our header is then compared: macro values and types; struct
 * sizes and alignments; each field's offset, size, alignment and type
 * (struct-typed members by offset, size and alignment, flexible arrays by
 * offset and element type).  tests/abi/vfio_coverage.py fails when our
 * header declares something the lists below do not name.
 *
 * Where 6.1 and 6.12 differ: 6.12 added vfio_iommu_type1_info::pad (the
 * struct was already 24 bytes; pad names its tail padding) and made
 * iova_pgsizes __aligned_u64.  Against 6.1, pad is checked to be exactly
 * the old struct's tail padding.
 *
 * Nothing here runs: g++ -fsyntax-only is the whole test.
 */

#include <linux/types.h>
#include <linux/ioctl.h>

#include <cstddef>
#include <type_traits>
#include <utility>

#include "abi_check.h"

#ifndef ABI_VFIO_HEADER
#error "define ABI_VFIO_HEADER as the quoted path of a uapi linux/vfio.h"
#endif

/* The kernel tree's uapi copy is not sanitized for user space. */
#define __user
namespace k612 {
#include ABI_VFIO_HEADER
} // namespace k612
#undef __user

#if defined(_UAPIVFIO_H)
#define VFIO_ABI_HAS_PAD 1 /* 6.12 */
#elif defined(VFIO_H)
#define VFIO_ABI_HAS_PAD 0 /* 6.1, as sanitized by headers_install */
#else
#error "ABI_VFIO_HEADER did not look like include/uapi/linux/vfio.h"
#endif

/* ---------------------------------------------------------------------- */
/* Everything uapi/vfio_compat.h declares, as X-macro lists.              */

/* Include guards (theirs, both spellings, and ours): #undef'd, not compared. */
#define VFIO_GUARDS(G) \
	G(_UAPIVFIO_H) \
	G(VFIO_H) \
	G(IOMMUFD_CXX_UAPI_VFIO_COMPAT_H)

#define VFIO_MACROS(M) \
	M(VFIO_API_VERSION) \
	M(VFIO_TYPE1_IOMMU) \
	M(VFIO_SPAPR_TCE_IOMMU) \
	M(VFIO_TYPE1v2_IOMMU) \
	M(VFIO_DMA_CC_IOMMU) \
	M(VFIO_EEH) \
	M(VFIO_TYPE1_NESTING_IOMMU) \
	M(VFIO_SPAPR_TCE_v2_IOMMU) \
	M(VFIO_NOIOMMU_IOMMU) \
	M(VFIO_UNMAP_ALL) \
	M(VFIO_UPDATE_VADDR) \
	M(VFIO_TYPE) \
	M(VFIO_BASE) \
	M(VFIO_GET_API_VERSION) \
	M(VFIO_CHECK_EXTENSION) \
	M(VFIO_SET_IOMMU) \
	M(VFIO_IOMMU_INFO_PGSIZES) \
	M(VFIO_IOMMU_INFO_CAPS) \
	M(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) \
	M(VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION) \
	M(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) \
	M(VFIO_IOMMU_GET_INFO) \
	M(VFIO_DMA_MAP_FLAG_READ) \
	M(VFIO_DMA_MAP_FLAG_WRITE) \
	M(VFIO_DMA_MAP_FLAG_VADDR) \
	M(VFIO_IOMMU_MAP_DMA) \
	M(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) \
	M(VFIO_DMA_UNMAP_FLAG_ALL) \
	M(VFIO_DMA_UNMAP_FLAG_VADDR) \
	M(VFIO_IOMMU_UNMAP_DMA) \
	M(VFIO_IOMMU_DIRTY_PAGES)

#define VFIO_STRUCTS(S) \
	S(vfio_info_cap_header) \
	S(vfio_iommu_type1_info) \
	S(vfio_iova_range) \
	S(vfio_iommu_type1_info_cap_iova_range) \
	S(vfio_iommu_type1_info_dma_avail) \
	S(vfio_iommu_type1_dma_map) \
	S(vfio_bitmap) \
	S(vfio_iommu_type1_dma_unmap)

/*
 * Fields.  F: same offset, size, alignment and type.  STRUCT(s, f, type): a
 * member of struct type (the two structs are distinct C++ types; compared
 * by offset, size and alignment, the type itself by its own S entry).
 * FLEX(s, f, their_elem, our_elem): a flexible array (offset, element
 * type, and that it ends the struct).  PAD(s, f):
 * present in 6.12 only (see the top).
 */
#define VFIO_FIELDS(F, STRUCT, FLEX, PAD) \
	F(vfio_info_cap_header, id) \
	F(vfio_info_cap_header, version) \
	F(vfio_info_cap_header, next) \
	F(vfio_iommu_type1_info, argsz) \
	F(vfio_iommu_type1_info, flags) \
	F(vfio_iommu_type1_info, iova_pgsizes) \
	F(vfio_iommu_type1_info, cap_offset) \
	PAD(vfio_iommu_type1_info, pad) \
	F(vfio_iova_range, start) \
	F(vfio_iova_range, end) \
	STRUCT(vfio_iommu_type1_info_cap_iova_range, header, vfio_info_cap_header) \
	F(vfio_iommu_type1_info_cap_iova_range, nr_iovas) \
	F(vfio_iommu_type1_info_cap_iova_range, reserved) \
	FLEX(vfio_iommu_type1_info_cap_iova_range, iova_ranges, k612::vfio_iova_range, ::vfio_iova_range) \
	STRUCT(vfio_iommu_type1_info_dma_avail, header, vfio_info_cap_header) \
	F(vfio_iommu_type1_info_dma_avail, avail) \
	F(vfio_iommu_type1_dma_map, argsz) \
	F(vfio_iommu_type1_dma_map, flags) \
	F(vfio_iommu_type1_dma_map, vaddr) \
	F(vfio_iommu_type1_dma_map, iova) \
	F(vfio_iommu_type1_dma_map, size) \
	F(vfio_bitmap, pgsize) \
	F(vfio_bitmap, size) \
	F(vfio_bitmap, data) \
	F(vfio_iommu_type1_dma_unmap, argsz) \
	F(vfio_iommu_type1_dma_unmap, flags) \
	F(vfio_iommu_type1_dma_unmap, iova) \
	F(vfio_iommu_type1_dma_unmap, size) \
	FLEX(vfio_iommu_type1_dma_unmap, data, __u8, __u8)

/* ---------------------------------------------------------------------- */

namespace k612 {
namespace macro {
#define ABI_CAPTURE(name) constexpr auto name##_value = name;
VFIO_MACROS(ABI_CAPTURE)
#undef ABI_CAPTURE
} // namespace macro
} // namespace k612

/* #undef everything of theirs that ours defines (vfio_coverage.py checks
 * this block names every entry of the lists). */
#undef _UAPIVFIO_H
#undef VFIO_H
#undef IOMMUFD_CXX_UAPI_VFIO_COMPAT_H
#undef VFIO_API_VERSION
#undef VFIO_TYPE1_IOMMU
#undef VFIO_SPAPR_TCE_IOMMU
#undef VFIO_TYPE1v2_IOMMU
#undef VFIO_DMA_CC_IOMMU
#undef VFIO_EEH
#undef VFIO_TYPE1_NESTING_IOMMU
#undef VFIO_SPAPR_TCE_v2_IOMMU
#undef VFIO_NOIOMMU_IOMMU
#undef VFIO_UNMAP_ALL
#undef VFIO_UPDATE_VADDR
#undef VFIO_TYPE
#undef VFIO_BASE
#undef VFIO_GET_API_VERSION
#undef VFIO_CHECK_EXTENSION
#undef VFIO_SET_IOMMU
#undef VFIO_IOMMU_INFO_PGSIZES
#undef VFIO_IOMMU_INFO_CAPS
#undef VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE
#undef VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION
#undef VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL
#undef VFIO_IOMMU_GET_INFO
#undef VFIO_DMA_MAP_FLAG_READ
#undef VFIO_DMA_MAP_FLAG_WRITE
#undef VFIO_DMA_MAP_FLAG_VADDR
#undef VFIO_IOMMU_MAP_DMA
#undef VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP
#undef VFIO_DMA_UNMAP_FLAG_ALL
#undef VFIO_DMA_UNMAP_FLAG_VADDR
#undef VFIO_IOMMU_UNMAP_DMA
#undef VFIO_IOMMU_DIRTY_PAGES

#include "vfio_compat.h"

#ifndef IOMMUFD_CXX_UAPI_VFIO_COMPAT_H
#error "uapi/vfio_compat.h was not included"
#endif

/* ---------------------------------------------------------------------- */

VFIO_MACROS(ABI_CHECK_MACRO)
VFIO_STRUCTS(ABI_CHECK_STRUCT)

#define VFIO_CHECK_STRUCT_MEMBER(s, f, type) \
	static_assert(offsetof(k612::s, f) == offsetof(::s, f), "offsetof(" #s ", " #f ")"); \
	static_assert(sizeof(k612::s::f) == sizeof(::s::f), "sizeof(" #s "::" #f ")"); \
	static_assert(ABI_MEMBER_ALIGN(k612::s, f) == ABI_MEMBER_ALIGN(::s, f), \
		      "alignment of " #s "::" #f); \
	static_assert(std::is_same_v<decltype(k612::s::f), k612::type> && \
			      std::is_same_v<decltype(::s::f), ::type>, \
		      "type of " #s "::" #f);

#define VFIO_CHECK_FLEX(s, f, their_elem, our_elem) \
	static_assert(offsetof(k612::s, f) == offsetof(::s, f), "offsetof(" #s ", " #f ")"); \
	static_assert(std::is_same_v<std::remove_extent_t<decltype(k612::s::f)>, their_elem>, \
		      "their element type of " #s "::" #f); \
	static_assert(std::is_same_v<std::remove_extent_t<decltype(::s::f)>, our_elem>, \
		      "our element type of " #s "::" #f); \
	static_assert(sizeof(::s) == offsetof(::s, f), #s "::" #f " does not end the struct");

#if VFIO_ABI_HAS_PAD
#define VFIO_CHECK_PAD(s, f) ABI_CHECK_FIELD(s, f)
#else
/* 6.1: our pad is exactly the old struct's tail padding. */
#define VFIO_CHECK_PAD(s, f) \
	static_assert(offsetof(::s, f) == ABI_OFFSETOFEND(k612::s, cap_offset), "offsetof(" #s ", " #f ")"); \
	static_assert(ABI_OFFSETOFEND(::s, f) == sizeof(k612::s), "end of " #s "::" #f);
#endif

VFIO_FIELDS(ABI_CHECK_FIELD, VFIO_CHECK_STRUCT_MEMBER, VFIO_CHECK_FLEX, VFIO_CHECK_PAD)

/* The sizes user space has always relied on (x86_64). */
static_assert(sizeof(vfio_iommu_type1_info) == 24);
static_assert(offsetof(vfio_iommu_type1_info, cap_offset) == 16);
static_assert(sizeof(vfio_iommu_type1_info_dma_avail) == 12);
static_assert(sizeof(vfio_iommu_type1_info_cap_iova_range) == 16);
static_assert(sizeof(vfio_iommu_type1_dma_map) == 32);
static_assert(sizeof(vfio_iommu_type1_dma_unmap) == 24);
