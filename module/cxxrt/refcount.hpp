// SPDX-License-Identifier: GPL-2.0
//
// refcount.hpp - intrusive reference counting.
//
// RefCounted<T> holds the count; RefPtr<T> owns one reference.  A new object
// starts with one reference, adopted by the first RefPtr (make_ref).  The
// count saturates instead of wrapping, like the kernel's refcount_t: an
// overflow or an underflow is a bug and is reported through CXX_ASSERT.
#pragma once

#include "atomic.hpp"
#include "memory.hpp"

namespace cxx {

template <typename T> class RefCounted : NoCopyNoMove {
public:
	void ref_get()
	{
		uint32_t n = refs_.add_return(1);
		CXX_ASSERT(n > 1 && n != UINT32_MAX);
	}
	// True when this was the last reference.
	bool ref_put()
	{
		uint32_t n = refs_.sub_return(1);
		CXX_ASSERT(n != UINT32_MAX);
		return n == 0;
	}
	uint32_t ref_count() const { return refs_.load_relaxed(); }

protected:
	RefCounted() : refs_(1) {}
	~RefCounted() = default;

private:
	Atomic<uint32_t> refs_;
};

template <typename T> class RefPtr {
public:
	constexpr RefPtr() : p_(nullptr) {}
	RefPtr(const RefPtr &o) : p_(o.p_)
	{
		if (p_)
			p_->ref_get();
	}
	RefPtr(RefPtr &&o) : p_(exchange(o.p_, nullptr)) {}
	RefPtr &operator=(RefPtr o)
	{
		T *old = exchange(p_, exchange(o.p_, nullptr));
		drop(old);
		return *this;
	}
	~RefPtr() { drop(p_); }

	// Take over the reference a fresh object starts with.
	static RefPtr adopt(UniquePtr<T> &&u)
	{
		RefPtr r;
		r.p_ = u.release();
		return r;
	}

	// Take a new reference on an object someone else keeps alive now.
	static RefPtr retain(T *p)
	{
		RefPtr r;
		if (p) {
			p->ref_get();
			r.p_ = p;
		}
		return r;
	}

	T *get() const { return p_; }
	T *operator->() const { return p_; }
	T &operator*() const { return *p_; }
	explicit operator bool() const { return p_ != nullptr; }

private:
	static void drop(T *p)
	{
		if (p && p->ref_put()) {
			UniquePtr<T> last(p); // destroyed here, through the owning type
		}
	}
	T *p_;
};

template <typename T, typename... Args> Result<RefPtr<T>> make_ref(Args &&...args)
{
	return RefPtr<T>::adopt(TRY(make_unique<T>(cxx::forward<Args>(args)...)));
}

} // namespace cxx
