// SPDX-License-Identifier: GPL-2.0
//
// function_ref.hpp - a non-owning reference to something callable, so that a
// function can take a visitor without being a template (and without the
// heap): FunctionRef<Status(uint64_t)> f = [&](uint64_t x) { ... };
// The callable must outlive the FunctionRef; pass it down, never store it.
#pragma once

#include "base.hpp"

namespace cxx {

template <typename Sig> class FunctionRef;

template <typename R, typename... Args> class FunctionRef<R(Args...)> {
public:
	template <typename F>
	FunctionRef(F &&f) // NOLINT: implicit by design, like a function pointer
		: obj_(const_cast<void *>(static_cast<const void *>(&f))),
		  call_([](void *o, Args... args) -> R {
			  return (*static_cast<remove_reference_t<F> *>(o))(
				  cxx::forward<Args>(args)...);
		  })
	{
	}
	R operator()(Args... args) const { return call_(obj_, cxx::forward<Args>(args)...); }

private:
	void *obj_;
	R (*call_)(void *, Args...);
};

} // namespace cxx
