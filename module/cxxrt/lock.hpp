// SPDX-License-Identifier: GPL-2.0
//
// lock.hpp - Mutex and its RAII guard.
//
// The kernel's struct mutex is opaque to C++, so the shim allocates it;
// creating a Mutex can therefore fail and is done through Mutex::create().
// Each Mutex names its lockdep class (enum kapi_lock_class), one per lock
// site.  A Guard holds the lock for exactly its scope.
#pragma once

#include "result.hpp"
#include "../kapi.h"

namespace cxx {

class Mutex : NoCopy {
public:
	Mutex() : m_(nullptr) {}
	Mutex(Mutex &&o) : m_(exchange(o.m_, nullptr)) {}
	Mutex &operator=(Mutex &&o)
	{
		if (m_)
			kapi_mutex_destroy(m_);
		m_ = exchange(o.m_, nullptr);
		return *this;
	}
	~Mutex()
	{
		if (m_)
			kapi_mutex_destroy(m_);
	}

	static Result<Mutex> create(kapi_lock_class cls)
	{
		Mutex m;
		m.m_ = kapi_mutex_create(cls);
		if (!m.m_)
			return Err(ENOMEM);
		return m;
	}

	bool valid() const { return m_ != nullptr; }
	void lock() { kapi_mutex_lock(m_); }
	void unlock() { kapi_mutex_unlock(m_); }

private:
	kapi_mutex *m_;
};

template <typename L> class [[nodiscard]] Guard : NoCopyNoMove {
public:
	explicit Guard(L &l) : l_(l) { l_.lock(); }
	~Guard() { l_.unlock(); }

private:
	L &l_;
};

} // namespace cxx
