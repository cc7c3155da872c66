// SPDX-License-Identifier: GPL-2.0
//
// context.cpp - creating and tearing down a /dev/iommu file's state.
#include "context.hpp"

namespace iommufd {

Result<cxx::UniquePtr<Context>> Context::create(void *file)
{
	auto ctx = TRY(cxx::make_unique<Context>());
	TRY(ctx->objects_.init());
	ctx->vfio_lock_ = TRY(cxx::Mutex::create(KAPI_LOCK_VFIO));
	ctx->file_ = file;
	return ctx;
}

Context::~Context()
{
	// The file's release runs only after every hold was put.
	if (file_holds_.load_relaxed() != 0)
		kapi_assert_failed("context released with file holds", __FILE__, __LINE__);
	objects_.destroy_all();
}

Status Context::set_account_mode(iopt::AccountMode mode)
{
	// Upstream checks under the object table's lock; a racing add is
	// harmless here too: its pages took the mode when they were made.
	if (!objects_.empty())
		return cxx::Err(EBUSY);
	mm_accounting_.store_relaxed(mode == iopt::AccountMode::Mm);
	return {};
}

void Context::hold_file()
{
	file_holds_.add_return(1);
	kapi_file_get(file_);
}

void Context::put_file()
{
	if (file_holds_.sub_return(1) < 0) {
		file_holds_.add_return(1);
		kapi_assert_failed("context file put without a hold", __FILE__, __LINE__);
		return;
	}
	kapi_file_put(file_);
}

} // namespace iommufd

namespace iommufd {

Status Context::set_vfio_ioas(uint32_t id)
{
	cxx::Guard g(vfio_lock_);
	if (id && no_iommu_.load_relaxed())
		return cxx::Err(EINVAL);
	vfio_ioas_.store_relaxed(id);
	return {};
}

void Context::forget_vfio_ioas(uint32_t id)
{
	uint32_t expected = id;
	vfio_ioas_.compare_exchange(expected, 0);
}

Status Context::enter_no_iommu()
{
	cxx::Guard g(vfio_lock_);
	if (vfio_ioas_.load_relaxed())
		return cxx::Err(EINVAL);
	no_iommu_.store_relaxed(1);
	return {};
}

} // namespace iommufd
