// SPDX-License-Identifier: GPL-2.0
//
// access.hpp - an in-kernel user of an IOAS's pages (upstream's
// iommufd_access): a device that is not behind an IOMMU (an emulated or
// mediated device) reaches guest memory by IOVA through it.  It pins
// slices of the IOAS and copies through them; when the IOAS unmaps a
// range it holds, it is told first and lets go.
//
// The test ABI exposes one through its own fd (IOMMU_TEST_OP_CREATE_ACCESS)
// and tracks its pins as numbered items, as a driver would.
//
// Lifetime: reference counted.  Its fd holds one reference; the
// io_pagetable holds one while it calls unmap_notify.  It holds its IOAS
// (IOMMU_DESTROY of the IOAS is EBUSY meanwhile) and the /dev/iommu file.
// Lock order: Access::lock_ -> io_pagetable -> Pages.
#pragma once

#include "ioas.hpp"

#include "cxxrt/refcount.hpp"

namespace iommufd {

class Context;

class Access final : public iopt::AccessUser, public cxx::RefCounted<Access> {
public:
	// needs_pin: the user pins pages (so mappings must be page aligned).
	static Result<cxx::RefPtr<Access>> create(Context &ctx, bool needs_pin);
	Access(Context &ctx) : ctx_(ctx) {}
	~Access();

	bool needs_pin() const { return needs_pin_; }
	// Attach to ioas_id (ENOENT; EADDRINUSE alignment), or move there
	// from the current IOAS, dropping every pin first.
	Status attach(uint32_t ioas_id);
	Status replace(uint32_t ioas_id);
	// Unpin everything and leave the IOAS; the fd is closing.
	void close();

	// Pin [iova, iova + length) and record it as an item: returns the
	// item's ID.  pfns receives one PFN per CPU page (capacity npages).
	// EOPNOTSUPP without needs_pin; ENOENT not attached or not mapped.
	Result<uint32_t> pin_item(uint64_t iova, uint64_t length, bool write, uint64_t *pfns,
				  uint64_t npages);
	// Unpin item `id`: ENOENT if there is none (already unmapped).
	Status unpin_item(uint32_t id);
	// Copy to or from IOVA [iova, iova + length).
	Status rw(uint64_t iova, void *buf, uint64_t length, bool write);

	// iopt::AccessUser
	void unmap_notify(uint64_t iova, uint64_t length) override;
	void hold() override { ref_get(); }
	void release() override;

private:
	struct Item {
		uint64_t iova, length;
		uint32_t id;
		Item *next;
	};
	void unpin_range_locked(uint64_t iova, uint64_t length);
	void detach_locked();

	Context &ctx_;
	cxx::Mutex lock_;
	bool needs_pin_ = false;
	ObjRef<Ioas> ioas_;
	Item *items_ = nullptr;
	uint32_t next_id_ = 0;
};

} // namespace iommufd
