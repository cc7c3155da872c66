// SPDX-License-Identifier: GPL-2.0
//
// checked.hpp - arithmetic on user-supplied numbers.  Every IOVA, length and
// count that comes from an ioctl goes through these, so an overflow becomes
// -EOVERFLOW instead of a wrapped value.
#pragma once

#include "result.hpp"

namespace cxx {

template <typename T> Result<T> checked_add(T a, T b)
{
	T r;
	if (__builtin_add_overflow(a, b, &r))
		return Err(EOVERFLOW);
	return r;
}

template <typename T> Result<T> checked_mul(T a, T b)
{
	T r;
	if (__builtin_mul_overflow(a, b, &r))
		return Err(EOVERFLOW);
	return r;
}

// The last byte of [start, start + length): length must be non-zero.
inline Result<uint64_t> checked_last(uint64_t start, uint64_t length)
{
	if (length == 0)
		return Err(EINVAL);
	uint64_t last;
	if (__builtin_add_overflow(start, length - 1, &last))
		return Err(EOVERFLOW);
	return last;
}

// Narrow a value to T, or -EOVERFLOW if it does not fit.
template <typename T, typename U> Result<T> checked_cast(U v)
{
	T r = static_cast<T>(v);
	if (static_cast<U>(r) != v || ((r < T(0)) != (v < U(0))))
		return Err(EOVERFLOW);
	return r;
}

} // namespace cxx
