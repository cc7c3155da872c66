// SPDX-License-Identifier: GPL-2.0
//
// context.cpp - creating and tearing down a /dev/iommu file's state.
#include "context.hpp"

namespace iommufd {

Result<cxx::UniquePtr<Context>> Context::create()
{
	auto ctx = TRY(cxx::make_unique<Context>());
	TRY(ctx->objects_.init());
	return ctx;
}

Context::~Context() { objects_.destroy_all(); }

} // namespace iommufd
