// SPDX-License-Identifier: GPL-2.0
//
// context.cpp - creating and tearing down a /dev/iommu file's state.
#include "context.hpp"

namespace iommufd {

Result<cxx::UniquePtr<Context>> Context::create(void *file)
{
	auto ctx = TRY(cxx::make_unique<Context>());
	TRY(ctx->objects_.init());
	ctx->file_ = file;
	return ctx;
}

Context::~Context() { objects_.destroy_all(); }

Status Context::set_account_mode(iopt::AccountMode mode)
{
	// Upstream checks under the object table's lock; a racing add is
	// harmless here too: its pages took the mode when they were made.
	if (!objects_.empty())
		return cxx::Err(EBUSY);
	mm_accounting_.store_relaxed(mode == iopt::AccountMode::Mm);
	return {};
}

void Context::hold_file() { kapi_file_get(file_); }

void Context::put_file() { kapi_file_put(file_); }

} // namespace iommufd
