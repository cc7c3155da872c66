// SPDX-License-Identifier: GPL-2.0
//
// ucmd.hpp - one ioctl in flight: the caller's context, its copy of the
// command struct, and the way back to user space.
#pragma once

#include "context.hpp"

namespace iommufd {

class Ucmd : cxx::NoCopyNoMove {
public:
	Ucmd(Context &ctx, uint64_t ubuffer, uint32_t user_size, void *cmd, uint32_t cmd_size)
		: ctx(ctx), ubuffer_(ubuffer), user_size_(user_size), cmd_(cmd),
		  cmd_size_(cmd_size)
	{
	}

	// The command struct, copied in and zero-extended to our full size.
	template <typename T> T &cmd() { return *static_cast<T *>(cmd_); }

	// Copy the (updated) command back: as many bytes as the caller gave,
	// at most our struct's size.  EFAULT if user memory is gone.
	Status respond();

	uint64_t ubuffer() const { return ubuffer_; }

	Context &ctx;

private:
	uint64_t ubuffer_;
	uint32_t user_size_;
	void *cmd_;
	uint32_t cmd_size_;
};

} // namespace iommufd
