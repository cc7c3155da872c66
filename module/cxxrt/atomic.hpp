// SPDX-License-Identifier: GPL-2.0
//
// atomic.hpp - a minimal atomic integer on the compiler's __atomic builtins.
// On x86 these are the same lock-prefixed instructions the kernel's atomic_t
// uses; arm64 builds need -mno-outline-atomics (the kernel has no libgcc).
// Orderings are explicit at every call site that is not a plain counter.
#pragma once

#include "base.hpp"

namespace cxx {

template <typename T> class Atomic : NoCopyNoMove {
public:
	constexpr Atomic() : v_(0) {}
	constexpr explicit Atomic(T v) : v_(v) {}

	T load_relaxed() const { return __atomic_load_n(&v_, __ATOMIC_RELAXED); }
	T load_acquire() const { return __atomic_load_n(&v_, __ATOMIC_ACQUIRE); }
	void store_relaxed(T v) { __atomic_store_n(&v_, v, __ATOMIC_RELAXED); }
	void store_release(T v) { __atomic_store_n(&v_, v, __ATOMIC_RELEASE); }
	// Fully ordered read-modify-write, like the kernel's atomic_*_return().
	T add_return(T d) { return __atomic_add_fetch(&v_, d, __ATOMIC_SEQ_CST); }
	T sub_return(T d) { return __atomic_sub_fetch(&v_, d, __ATOMIC_SEQ_CST); }
	void inc_relaxed() { __atomic_add_fetch(&v_, 1, __ATOMIC_RELAXED); }
	void dec_relaxed() { __atomic_sub_fetch(&v_, 1, __ATOMIC_RELAXED); }
	bool compare_exchange(T &expected, T desired)
	{
		return __atomic_compare_exchange_n(&v_, &expected, desired, false,
						   __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
	}

private:
	T v_;
};

} // namespace cxx
