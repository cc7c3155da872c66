// SPDX-License-Identifier: GPL-2.0
/*
 * Compile-time ABI test: uapi/iommufd_test.h against Debian's Linux 6.12
 * drivers/iommu/iommufd/iommufd_test.h (the test ABI the kernel's own
 * iommufd selftests use; path in ABI_K612_TEST_HEADER, passed by
 * tests/abi/abi.mk from the linux-source-6.12 tree of scripts/ksrc.sh).
 *
 * Same scheme as abi_6_12.cpp: our uapi/iommufd.h is included first (the
 * base ABI, checked by abi_6_12.cpp), so the 6.12 test header's own
 * #include <linux/iommufd.h> is a guarded no-op; the 6.12 test header is
 * included inside namespace k612, its macros are captured and #undef'd, our
 * test header is included at global scope, and every struct, field (members
 * of the unnamed per-op structs by path, "add_reserved.start"), enumerator
 * and macro is compared with static_assert. k612_coverage.py (lists prefix
 * K612T) fails the check if the 6.12 header has anything these lists miss.
 * A last block checks the two names ours adds beyond the 6.12 file.
 */

#include <linux/types.h>
#include <linux/ioctl.h>

#include "iommufd.h"

#ifndef ABI_K612_TEST_HEADER
#error "define ABI_K612_TEST_HEADER as the quoted path of Debian's 6.12 iommufd_test.h"
#endif

namespace k612 {
#include ABI_K612_TEST_HEADER
} // namespace k612

#ifndef _UAPI_IOMMUFD_TEST_H
#error "ABI_K612_TEST_HEADER did not look like drivers/iommu/iommufd/iommufd_test.h"
#endif

/* ---------------------------------------------------------------------- */
/* The 6.12 test header's contents, as X-macro lists.                      */

#define K612T_GUARDS(G) \
	G(_UAPI_IOMMUFD_TEST_H)

#define K612T_MACROS(M) \
	M(IOMMU_TEST_CMD) \
	M(IOMMU_HW_INFO_TYPE_SELFTEST) \
	M(IOMMU_HW_INFO_SELFTEST_REGVAL) \
	M(IOMMU_HWPT_DATA_SELFTEST) \
	M(IOMMU_TEST_IOTLB_DEFAULT) \
	M(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST) \
	M(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID) \
	M(IOMMU_TEST_INVALIDATE_FLAG_ALL)

#define K612T_STRUCTS(S) \
	S(iommu_test_cmd) \
	S(iommu_test_hw_info) \
	S(iommu_hwpt_selftest) \
	S(iommu_hwpt_invalidate_selftest)

/* F(struct, field or member path); SPAN(struct, m, m, m): see abi_check.h. */
#define K612T_FIELDS(F, SPAN) \
	F(iommu_test_cmd, size) \
	F(iommu_test_cmd, op) \
	F(iommu_test_cmd, id) \
	F(iommu_test_cmd, __reserved) \
	SPAN(iommu_test_cmd, add_reserved, add_reserved, add_reserved) \
	F(iommu_test_cmd, add_reserved.start) \
	F(iommu_test_cmd, add_reserved.length) \
	SPAN(iommu_test_cmd, mock_domain, mock_domain, mock_domain) \
	F(iommu_test_cmd, mock_domain.out_stdev_id) \
	F(iommu_test_cmd, mock_domain.out_hwpt_id) \
	F(iommu_test_cmd, mock_domain.out_idev_id) \
	SPAN(iommu_test_cmd, mock_domain_flags, mock_domain_flags, mock_domain_flags) \
	F(iommu_test_cmd, mock_domain_flags.out_stdev_id) \
	F(iommu_test_cmd, mock_domain_flags.out_hwpt_id) \
	F(iommu_test_cmd, mock_domain_flags.out_idev_id) \
	F(iommu_test_cmd, mock_domain_flags.dev_flags) \
	SPAN(iommu_test_cmd, mock_domain_replace, mock_domain_replace, mock_domain_replace) \
	F(iommu_test_cmd, mock_domain_replace.pt_id) \
	SPAN(iommu_test_cmd, check_map, check_map, check_map) \
	F(iommu_test_cmd, check_map.iova) \
	F(iommu_test_cmd, check_map.length) \
	F(iommu_test_cmd, check_map.uptr) \
	SPAN(iommu_test_cmd, check_refs, check_refs, check_refs) \
	F(iommu_test_cmd, check_refs.length) \
	F(iommu_test_cmd, check_refs.uptr) \
	F(iommu_test_cmd, check_refs.refs) \
	SPAN(iommu_test_cmd, create_access, create_access, create_access) \
	F(iommu_test_cmd, create_access.out_access_fd) \
	F(iommu_test_cmd, create_access.flags) \
	SPAN(iommu_test_cmd, destroy_access_pages, destroy_access_pages, destroy_access_pages) \
	F(iommu_test_cmd, destroy_access_pages.access_pages_id) \
	SPAN(iommu_test_cmd, access_pages, access_pages, access_pages) \
	F(iommu_test_cmd, access_pages.flags) \
	F(iommu_test_cmd, access_pages.out_access_pages_id) \
	F(iommu_test_cmd, access_pages.iova) \
	F(iommu_test_cmd, access_pages.length) \
	F(iommu_test_cmd, access_pages.uptr) \
	SPAN(iommu_test_cmd, access_rw, access_rw, access_rw) \
	F(iommu_test_cmd, access_rw.iova) \
	F(iommu_test_cmd, access_rw.length) \
	F(iommu_test_cmd, access_rw.uptr) \
	F(iommu_test_cmd, access_rw.flags) \
	SPAN(iommu_test_cmd, memory_limit, memory_limit, memory_limit) \
	F(iommu_test_cmd, memory_limit.limit) \
	SPAN(iommu_test_cmd, access_replace_ioas, access_replace_ioas, access_replace_ioas) \
	F(iommu_test_cmd, access_replace_ioas.ioas_id) \
	SPAN(iommu_test_cmd, dirty, dirty, dirty) \
	F(iommu_test_cmd, dirty.flags) \
	F(iommu_test_cmd, dirty.iova) \
	F(iommu_test_cmd, dirty.length) \
	F(iommu_test_cmd, dirty.page_size) \
	F(iommu_test_cmd, dirty.uptr) \
	F(iommu_test_cmd, dirty.out_nr_dirty) \
	SPAN(iommu_test_cmd, check_iotlb, check_iotlb, check_iotlb) \
	F(iommu_test_cmd, check_iotlb.id) \
	F(iommu_test_cmd, check_iotlb.iotlb) \
	SPAN(iommu_test_cmd, trigger_iopf, trigger_iopf, trigger_iopf) \
	F(iommu_test_cmd, trigger_iopf.dev_id) \
	F(iommu_test_cmd, trigger_iopf.pasid) \
	F(iommu_test_cmd, trigger_iopf.grpid) \
	F(iommu_test_cmd, trigger_iopf.perm) \
	F(iommu_test_cmd, trigger_iopf.addr) \
	F(iommu_test_cmd, last) \
	F(iommu_test_hw_info, flags) \
	F(iommu_test_hw_info, test_reg) \
	F(iommu_hwpt_selftest, iotlb) \
	F(iommu_hwpt_invalidate_selftest, flags) \
	F(iommu_hwpt_invalidate_selftest, iotlb_id)

/* Every enumerator; all of the 6.12 test header's enums are anonymous. */
#define K612T_ENUMS(E, A) \
	A(IOMMU_TEST_OP_ADD_RESERVED) \
	A(IOMMU_TEST_OP_MOCK_DOMAIN) \
	A(IOMMU_TEST_OP_MD_CHECK_MAP) \
	A(IOMMU_TEST_OP_MD_CHECK_REFS) \
	A(IOMMU_TEST_OP_CREATE_ACCESS) \
	A(IOMMU_TEST_OP_DESTROY_ACCESS_PAGES) \
	A(IOMMU_TEST_OP_ACCESS_PAGES) \
	A(IOMMU_TEST_OP_ACCESS_RW) \
	A(IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT) \
	A(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE) \
	A(IOMMU_TEST_OP_ACCESS_REPLACE_IOAS) \
	A(IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS) \
	A(IOMMU_TEST_OP_DIRTY) \
	A(IOMMU_TEST_OP_MD_CHECK_IOTLB) \
	A(IOMMU_TEST_OP_TRIGGER_IOPF) \
	A(MOCK_APERTURE_START) \
	A(MOCK_APERTURE_LAST) \
	A(MOCK_FLAGS_ACCESS_WRITE) \
	A(MOCK_FLAGS_ACCESS_SYZ) \
	A(MOCK_ACCESS_RW_WRITE) \
	A(MOCK_ACCESS_RW_SLOW_PATH) \
	A(MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) \
	A(MOCK_FLAGS_DEVICE_NO_DIRTY) \
	A(MOCK_FLAGS_DEVICE_HUGE_IOVA) \
	A(MOCK_NESTED_DOMAIN_IOTLB_ID_MAX) \
	A(MOCK_NESTED_DOMAIN_IOTLB_NUM)

/* ---------------------------------------------------------------------- */
/* Capture the 6.12 macro values.                                          */

namespace k612 {
namespace macro {
#define ABI_CAPTURE(name) constexpr auto name##_value = name;
K612T_MACROS(ABI_CAPTURE)
#undef ABI_CAPTURE
} // namespace macro
} // namespace k612

/* k612_coverage.py checks that this block names every macro listed above. */
#undef _UAPI_IOMMUFD_TEST_H
#undef IOMMU_TEST_CMD
#undef IOMMU_HW_INFO_TYPE_SELFTEST
#undef IOMMU_HW_INFO_SELFTEST_REGVAL
#undef IOMMU_HWPT_DATA_SELFTEST
#undef IOMMU_TEST_IOTLB_DEFAULT
#undef IOMMU_HWPT_INVALIDATE_DATA_SELFTEST
#undef IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID
#undef IOMMU_TEST_INVALIDATE_FLAG_ALL

/* ---------------------------------------------------------------------- */
/* Our header, at global scope.                                            */

#include "iommufd_test.h"

#ifndef IOMMUFD_CXX_UAPI_IOMMUFD_TEST_H
#error "uapi/iommufd_test.h was not included (include path?)"
#endif
#ifndef _UAPI_IOMMUFD_TEST_H
#error "uapi/iommufd_test.h must also claim upstream's guard _UAPI_IOMMUFD_TEST_H"
#endif

/* ---------------------------------------------------------------------- */
/* The checks.                                                             */

#include "abi_check.h"

namespace abi {

K612T_STRUCTS(ABI_CHECK_STRUCT)
K612T_FIELDS(ABI_CHECK_FIELD, ABI_CHECK_SPAN)
K612T_ENUMS(ABI_CHECK_ENUM, ABI_CHECK_ANON_ENUM)
K612T_MACROS(ABI_CHECK_MACRO)

/*
 * The 6.12 IOMMU_TEST_CMD above was expanded with our IOMMUFD_TYPE and
 * IOMMUFD_CMD_BASE; pin the number itself too: _IO(';', 0xa0).
 */
static_assert(IOMMU_TEST_CMD == 0x3ba0, "IOMMU_TEST_CMD is _IO(';', 0xa0)");
static_assert(sizeof(iommu_test_cmd) == 72 && offsetof(iommu_test_cmd, last) == 64,
	      "iommu_test_cmd: the 48-byte dirty member is the largest");

/*
 * Beyond the 6.12 file: names its selftests use, with the values of
 * upstream torvalds/linux 80478a2b drivers/iommu/iommufd/iommufd_test.h.
 */
static_assert(MOCK_FLAGS_DEVICE_PASID == 1 << 2, "MOCK_FLAGS_DEVICE_PASID");
static_assert((MOCK_FLAGS_DEVICE_PASID & (MOCK_FLAGS_DEVICE_NO_DIRTY |
					  MOCK_FLAGS_DEVICE_HUGE_IOVA)) == 0,
	      "device flags are distinct bits");
static_assert(MOCK_PASID_WIDTH == 20, "MOCK_PASID_WIDTH");

} // namespace abi
