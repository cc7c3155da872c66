// SPDX-License-Identifier: GPL-2.0
//
// access.cpp - in-kernel accesses to an IOAS's pages (see access.hpp).
#include "access.hpp"

#include "context.hpp"

#include "cxxrt/log.hpp"

namespace iommufd {

Result<cxx::RefPtr<Access>> Access::create(Context &ctx, bool needs_pin)
{
	auto a = TRY(cxx::make_unique<Access>(ctx));
	// The destructor puts the file: hold it before anything can fail.
	ctx.hold_file();
	a->lock_ = TRY(cxx::Mutex::create(KAPI_LOCK_ACCESS));
	a->needs_pin_ = needs_pin;
	// A pinning user hands out whole pages; a copying one needs nothing.
	a->iova_alignment = needs_pin ? iopt::kPageSize : 1;
	return cxx::RefPtr<Access>::adopt(cxx::move(a));
}

Access::~Access()
{
	CXX_ASSERT(!ioas_ && !items_);
	ctx_.put_file();
}

void Access::release()
{
	if (ref_put())
		cxx::UniquePtr<Access> gone(this);
}

Status Access::attach(uint32_t ioas_id)
{
	auto ioas = ctx_.objects().get<Ioas>(ioas_id);
	if (!ioas.ok()) {
		log_user("access: no IOAS %u", ioas_id);
		return ioas.error();
	}
	cxx::Guard g(lock_);
	if (ioas_)
		return cxx::Err(EINVAL);
	TRY(ioas.value()->iopt().attach_access(this));
	ioas_ = ioas.take();
	return {};
}

void Access::detach_locked()
{
	unpin_range_locked(0, UINT64_MAX);
	if (ioas_) {
		ioas_->iopt().detach_access(this);
		ioas_ = ObjRef<Ioas>();
	}
}

// Upstream's order: the new IOAS is looked up first (ENOENT leaves the old
// one in place); the pins of the old one are dropped, as a driver's
// unmap callback would be told for the whole space.
Status Access::replace(uint32_t ioas_id)
{
	auto ioas = ctx_.objects().get<Ioas>(ioas_id);
	if (!ioas.ok()) {
		log_user("access: no IOAS %u", ioas_id);
		return ioas.error();
	}
	cxx::Guard g(lock_);
	if (ioas_.get() == ioas.value().get())
		return {};
	// A new IOAS that refuses us (its areas do not suit our alignment)
	// must leave everything as it was, pins included, as upstream's
	// change_ioas does.  We can be on one IOAS's list only, so ask first.
	TRY(ioas.value()->iopt().check_access(this));
	unpin_range_locked(0, UINT64_MAX);
	// Should a racing map make the new IOAS refuse us after all, go
	// back to the old one (the pins are gone then).
	if (ioas_)
		ioas_->iopt().detach_access(this);
	Status st = ioas.value()->iopt().attach_access(this);
	if (!st.ok()) {
		if (ioas_) {
			// It fit before, and nothing was mapped that needs more.
			Status back = ioas_->iopt().attach_access(this);
			CXX_ASSERT(back.ok());
		}
		return st;
	}
	ioas_ = ioas.take();
	return {};
}

void Access::close()
{
	cxx::Guard g(lock_);
	detach_locked();
}

Result<uint32_t> Access::pin_item(uint64_t iova, uint64_t length, bool write, uint64_t *pfns,
				  uint64_t npages)
{
	if (!needs_pin_)
		return cxx::Err(EOPNOTSUPP);
	auto item = TRY(cxx::make_unique<Item>());
	cxx::Guard g(lock_);
	if (!ioas_)
		return cxx::Err(ENOENT);
	uint64_t n = 0;
	TRY(ioas_->iopt().access_pin(iova, length, write, [&](uint64_t pfn) -> Status {
		if (n == npages)
			return cxx::Err(EINVAL); // the caller sized the array wrong
		pfns[n++] = pfn;
		return {};
	}));
	*item = Item{ iova, length, next_id_++, items_ };
	items_ = item.release();
	return items_->id;
}

Status Access::unpin_item(uint32_t id)
{
	cxx::Guard g(lock_);
	for (Item **pp = &items_; *pp; pp = &(*pp)->next) {
		Item *it = *pp;
		if (it->id != id)
			continue;
		*pp = it->next;
		ioas_->iopt().access_unpin(it->iova, it->length);
		cxx::UniquePtr<Item> gone(it);
		return {};
	}
	return cxx::Err(ENOENT);
}

// Drop every item that meets [iova, iova + length - 1].
void Access::unpin_range_locked(uint64_t iova, uint64_t length)
{
	uint64_t last = iova + (length - 1);
	for (Item **pp = &items_; *pp;) {
		Item *it = *pp;
		uint64_t it_last = it->iova + (it->length - 1);
		if (it->iova > last || it_last < iova) {
			pp = &it->next;
			continue;
		}
		*pp = it->next;
		ioas_->iopt().access_unpin(it->iova, it->length);
		cxx::UniquePtr<Item> gone(it);
	}
}

void Access::unmap_notify(uint64_t iova, uint64_t length)
{
	cxx::Guard g(lock_);
	if (ioas_)
		unpin_range_locked(iova, length);
}

Status Access::rw(uint64_t iova, void *buf, uint64_t length, bool write)
{
	cxx::Guard g(lock_);
	if (!ioas_)
		return cxx::Err(ENOENT);
	return ioas_->iopt().access_rw(iova, buf, length, write);
}

} // namespace iommufd
