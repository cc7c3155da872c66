// SPDX-License-Identifier: GPL-2.0
//
// base.hpp - the handful of language utilities every C++ file here needs:
// move/forward, a few type traits, placement new, min/max.  In the kernel
// there is no standard library (Debian's libstdc++ is hosted and pulls in
// glibc), so these are ours; on the host build they forward to <utility>
// where the two would otherwise collide (placement new).
#pragma once

#include <stddef.h>
#include <stdint.h>

// The byte just past `field` of `type` (the kernel's offsetofend): how much
// of a user struct a command must be given at least.
#define offsetofend(type, field) uint32_t(offsetof(type, field) + sizeof(type::field))

#ifdef IOMMUFD_CXX_KERNEL
// The kernel build has no <new>; declare the placement forms ourselves.
inline void *operator new(size_t, void *where) noexcept { return where; }
inline void *operator new[](size_t, void *where) noexcept { return where; }
inline void operator delete(void *, void *) noexcept {}
inline void operator delete[](void *, void *) noexcept {}
namespace std {
// The compiler looks these up by name for nothrow/aligned allocation.
struct nothrow_t {
	explicit nothrow_t() = default;
};
extern const nothrow_t nothrow;
enum class align_val_t : size_t {};
} // namespace std
// Defined in runtime.cpp; the core allocates through make_unique only.
void *operator new(size_t, const std::nothrow_t &) noexcept;
void *operator new[](size_t, const std::nothrow_t &) noexcept;
void *operator new(size_t, std::align_val_t, const std::nothrow_t &) noexcept;
void *operator new[](size_t, std::align_val_t, const std::nothrow_t &) noexcept;
void operator delete(void *, const std::nothrow_t &) noexcept;
void operator delete[](void *, const std::nothrow_t &) noexcept;
void operator delete(void *, std::align_val_t, const std::nothrow_t &) noexcept;
void operator delete[](void *, std::align_val_t, const std::nothrow_t &) noexcept;
#else
#include <new>
#endif

namespace cxx {

template <typename T> struct remove_reference { using type = T; };
template <typename T> struct remove_reference<T &> { using type = T; };
template <typename T> struct remove_reference<T &&> { using type = T; };
template <typename T> using remove_reference_t = typename remove_reference<T>::type;

template <typename T> constexpr remove_reference_t<T> &&move(T &&t) noexcept
{
	return static_cast<remove_reference_t<T> &&>(t);
}

template <typename T> constexpr T &&forward(remove_reference_t<T> &t) noexcept
{
	return static_cast<T &&>(t);
}

template <typename T> constexpr T &&forward(remove_reference_t<T> &&t) noexcept
{
	return static_cast<T &&>(t);
}

template <typename T, typename U = T> constexpr T exchange(T &obj, U &&v)
{
	T old = move(obj);
	obj = forward<U>(v);
	return old;
}

template <typename A, typename B> struct is_same { static constexpr bool value = false; };
template <typename A> struct is_same<A, A> { static constexpr bool value = true; };
template <typename A, typename B> inline constexpr bool is_same_v = is_same<A, B>::value;

template <typename T> constexpr const T &min(const T &a, const T &b) { return b < a ? b : a; }
template <typename T> constexpr const T &max(const T &a, const T &b) { return a < b ? b : a; }

// Copying and moving are opt-in: most kernel objects have an identity.
class NoCopy {
protected:
	NoCopy() = default;
	~NoCopy() = default;
	NoCopy(const NoCopy &) = delete;
	NoCopy &operator=(const NoCopy &) = delete;
};

class NoCopyNoMove {
protected:
	NoCopyNoMove() = default;
	~NoCopyNoMove() = default;
	NoCopyNoMove(const NoCopyNoMove &) = delete;
	NoCopyNoMove &operator=(const NoCopyNoMove &) = delete;
	NoCopyNoMove(NoCopyNoMove &&) = delete;
	NoCopyNoMove &operator=(NoCopyNoMove &&) = delete;
};

} // namespace cxx
