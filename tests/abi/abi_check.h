/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The static_assert building blocks shared by the compile-time ABI tests
 * (abi_6_12.cpp, abi_test_6_12.cpp). Each test includes Debian's 6.12 header
 * inside namespace k612, captures its macro values as
 * k612::macro::NAME_value, #undef's them, includes our header at global
 * scope, and then expands its X-macro lists with these checks. A field name
 * may be a member path ("add_reserved.start") for members of unnamed struct
 * types; compare such a member itself with ABI_CHECK_SPAN(s, m, m, m), as
 * its two unnamed types are never the same type.
 */
#ifndef IOMMUFD_CXX_TESTS_ABI_CHECK_H
#define IOMMUFD_CXX_TESTS_ABI_CHECK_H

#include <cstddef>
#include <type_traits>
#include <utility>

/* Declared alignment of a member (sees __aligned_u64's attribute). */
#define ABI_MEMBER_ALIGN(T, f) __alignof__(std::declval<T &>().f)
#define ABI_OFFSETOFEND(T, f) (offsetof(T, f) + sizeof(T::f))

#define ABI_CHECK_STRUCT(s) \
	static_assert(sizeof(k612::s) == sizeof(::s), "sizeof(struct " #s ")"); \
	static_assert(alignof(k612::s) == alignof(::s), "alignof(struct " #s ")"); \
	static_assert(std::is_standard_layout_v<::s>, "struct " #s " is not standard-layout");

#define ABI_CHECK_FIELD(s, f) \
	static_assert(offsetof(k612::s, f) == offsetof(::s, f), "offsetof(" #s ", " #f ")"); \
	static_assert(sizeof(k612::s::f) == sizeof(::s::f), "sizeof(" #s "::" #f ")"); \
	static_assert(ABI_MEMBER_ALIGN(k612::s, f) == ABI_MEMBER_ALIGN(::s, f), \
		      "alignment of " #s "::" #f); \
	static_assert(std::is_same_v<decltype(k612::s::f), decltype(::s::f)>, \
		      "type of " #s "::" #f);

#define ABI_CHECK_SPAN(s, f, first, last) \
	static_assert(offsetof(k612::s, f) == offsetof(::s, first), \
		      "start of " #s "::" #f " vs " #first); \
	static_assert(ABI_OFFSETOFEND(k612::s, f) == ABI_OFFSETOFEND(::s, last), \
		      "end of " #s "::" #f " vs " #last);

/* Enumerators of different enums must be compared as plain integers. */
#define ABI_CHECK_ENUM(e, name) \
	static_assert(static_cast<long long>(k612::name) == static_cast<long long>(::name), \
		      "value of " #name); \
	static_assert(std::is_same_v<decltype(k612::name), k612::e>, \
		      #name " is not in 6.12 enum " #e " (list is wrong)"); \
	static_assert(std::is_same_v<decltype(::name), ::e>, #name " is not in our enum " #e);

#define ABI_CHECK_ANON_ENUM(name) \
	static_assert(static_cast<long long>(k612::name) == static_cast<long long>(::name), \
		      "value of " #name);

#define ABI_CHECK_MACRO(name) \
	static_assert(k612::macro::name##_value == (name), "value of " #name); \
	static_assert(std::is_same_v<decltype(k612::macro::name##_value), \
				     const decltype(name)>, \
		      "type of " #name);

#endif /* IOMMUFD_CXX_TESTS_ABI_CHECK_H */
