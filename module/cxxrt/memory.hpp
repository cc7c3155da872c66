// SPDX-License-Identifier: GPL-2.0
//
// memory.hpp - owning pointers.  The only way to create a heap object in this
// module is make_unique<T>(...), which uses the nothrow allocator and turns
// failure into -ENOMEM; nothing outside cxxrt says `new` or `delete`.
#pragma once

#include "result.hpp"
#include "../kapi.h"

namespace cxx {

template <typename T> class UniquePtr : NoCopy {
public:
	constexpr UniquePtr() : p_(nullptr) {}
	constexpr UniquePtr(decltype(nullptr)) : p_(nullptr) {}
	// Adopt a pointer that came from make_unique (or release()).
	explicit UniquePtr(T *p) : p_(p) {}
	UniquePtr(UniquePtr &&o) : p_(o.release()) {}
	template <typename U> UniquePtr(UniquePtr<U> &&o) : p_(o.release()) {}
	UniquePtr &operator=(UniquePtr &&o)
	{
		reset(o.release());
		return *this;
	}
	~UniquePtr() { reset(); }

	T *get() const { return p_; }
	T *operator->() const { return p_; }
	T &operator*() const { return *p_; }
	explicit operator bool() const { return p_ != nullptr; }
	T *release() { return exchange(p_, nullptr); }
	void reset(T *p = nullptr)
	{
		T *old = exchange(p_, p);
		if (old)
			delete old;
	}

private:
	T *p_;
};

template <typename T, typename... Args> Result<UniquePtr<T>> make_unique(Args &&...args)
{
	T *p = new (std::nothrow) T(cxx::forward<Args>(args)...);
	if (!p)
		return Err(ENOMEM);
	return UniquePtr<T>(p);
}

// A fixed-size array of trivially constructible T, zeroed.
template <typename T> class UniqueArray : NoCopy {
public:
	UniqueArray() : p_(nullptr), n_(0) {}
	UniqueArray(UniqueArray &&o) : p_(exchange(o.p_, nullptr)), n_(exchange(o.n_, 0)) {}
	UniqueArray &operator=(UniqueArray &&o)
	{
		kapi_free(p_);
		p_ = exchange(o.p_, nullptr);
		n_ = exchange(o.n_, 0);
		return *this;
	}
	~UniqueArray() { kapi_free(p_); }

	static Result<UniqueArray> zeroed(size_t n)
	{
		static_assert(__is_trivially_constructible(T) && __has_trivial_destructor(T));
		static_assert(alignof(T) <= KAPI_MIN_ALIGN);
		size_t bytes;
		if (__builtin_mul_overflow(n, sizeof(T), &bytes))
			return Err(EOVERFLOW);
		UniqueArray a;
		a.p_ = static_cast<T *>(kapi_alloc(bytes ? bytes : 1, KAPI_ALLOC_ZERO));
		if (!a.p_)
			return Err(ENOMEM);
		a.n_ = n;
		return a;
	}

	T &operator[](size_t i) const
	{
		CXX_ASSERT(i < n_);
		return p_[i];
	}
	size_t size() const { return n_; }
	T *data() const { return p_; }

private:
	T *p_;
	size_t n_;
};

} // namespace cxx
