// SPDX-License-Identifier: GPL-2.0
//
// result.hpp - Result<T>: a value or a negative errno, never both.
//
// Every fallible function returns one; [[nodiscard]] makes ignoring it a
// warning.  TRY(expr) returns early with the error or yields the value,
// which keeps error paths as short as the success path:
//
//     auto obj = TRY(make_unique<Ioas>(ctx));
//     TRY(table.reserve());
//
// Err(EINVAL) builds the error from a positive errno name.
#pragma once

#include "assert.hpp"
#include "errno.hpp"
#include "base.hpp"

namespace cxx {

class Error {
public:
	explicit constexpr Error(int neg_errno) : code_(neg_errno) {}
	constexpr int code() const { return code_; }

private:
	int code_;
};

constexpr Error Err(int errno_value) { return Error(-errno_value); }

template <typename T> class [[nodiscard]] Result {
public:
	Result(Error e) : err_(e.code()) { CXX_ASSERT(err_ < 0); }
	Result(T &&v) : err_(0) { new (&val_) T(cxx::move(v)); }
	Result(const T &v) : err_(0) { new (&val_) T(v); }
	template <typename U>
	Result(U &&v) requires(!is_same_v<remove_reference_t<U>, Error> &&
			       !is_same_v<remove_reference_t<U>, Result>)
		: err_(0)
	{
		new (&val_) T(cxx::forward<U>(v));
	}
	Result(Result &&o) : err_(o.err_)
	{
		if (ok())
			new (&val_) T(cxx::move(o.val_));
	}
	Result(const Result &) = delete;
	Result &operator=(const Result &) = delete;
	Result &operator=(Result &&) = delete;
	~Result()
	{
		if (ok())
			val_.~T();
	}

	bool ok() const { return err_ == 0; }
	Error error() const
	{
		CXX_ASSERT(!ok());
		return Error(err_);
	}
	T &value() &
	{
		CXX_ASSERT(ok());
		return val_;
	}
	const T &value() const &
	{
		CXX_ASSERT(ok());
		return val_;
	}
	// Moves the value out; the Result is spent afterwards.
	T take()
	{
		CXX_ASSERT(ok());
		return cxx::move(val_);
	}

private:
	union {
		T val_;
	};
	int err_;
};

template <> class [[nodiscard]] Result<void> {
public:
	Result() : err_(0) {}
	Result(Error e) : err_(e.code()) { CXX_ASSERT(err_ < 0); }

	bool ok() const { return err_ == 0; }
	Error error() const
	{
		CXX_ASSERT(!ok());
		return Error(err_);
	}
	void take() const { CXX_ASSERT(ok()); }
	// The errno a C caller wants: 0 or negative.
	int code() const { return err_; }

private:
	int err_;
};

using Status = Result<void>;

} // namespace cxx

// Evaluate a Result; on error return it from the enclosing function,
// otherwise produce its value (or nothing, for Result<void>).
#define TRY(expr)                                                             \
	({                                                                    \
		auto &&try_result_ = (expr);                                  \
		if (__builtin_expect(!try_result_.ok(), 0))                   \
			return try_result_.error();                           \
		try_result_.take();                                           \
	})
