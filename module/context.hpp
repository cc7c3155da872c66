// SPDX-License-Identifier: GPL-2.0
//
// context.hpp - one open file of /dev/iommu: its objects and its options
// (IOMMU_OPTION_RLIMIT_MODE, the IOAS the VFIO compatibility ioctls use).
//
// The context lives as long as the kernel file does.  Things outside the
// file that use the context (an access's or a fault queue's own fd) hold
// the file with hold_file()/put_file(), so its release, and with it this
// object's destruction, waits for them.
#pragma once

#include "object.hpp"
#include "iopt/pages.hpp"

namespace iommufd {

class Context : cxx::NoCopyNoMove {
public:
	// `file` is the kernel's struct file of /dev/iommu (opaque here).
	static Result<cxx::UniquePtr<Context>> create(void *file);
	Context() = default; // use create(): the table needs its lock
	~Context();

	ObjectTable &objects() { return objects_; }

	// How new mappings are charged: User (RLIMIT_MEMLOCK against the
	// user's locked_vm, the default) or Mm (the mm's locked_vm, as VFIO).
	iopt::AccountMode account_mode() const
	{
		return mm_accounting_.load_relaxed() ? iopt::AccountMode::Mm
						     : iopt::AccountMode::User;
	}
	// EBUSY once the context holds objects.
	Status set_account_mode(iopt::AccountMode mode);

	// IOMMU_VFIO_IOAS: the IOAS the VFIO container ioctls act on; 0 none.
	uint32_t vfio_ioas() const { return vfio_ioas_.load_relaxed(); }
	// EINVAL in no-IOMMU mode (such a container has no IOAS).
	Status set_vfio_ioas(uint32_t id);
	// IOMMU_DESTROY of `id`: if it was the VFIO IOAS, there is none now.
	void forget_vfio_ioas(uint32_t id);

	// No-IOMMU mode (VFIO_SET_IOMMU(VFIO_NOIOMMU_IOMMU)): the container
	// then serves no IOMMU type and never gets an IOAS.  EINVAL if it
	// already has one.
	bool no_iommu() const { return no_iommu_.load_relaxed(); }

	// A container of vfio.ko served by this module (vfio_compat/
	// backend.hpp) stands in for vfio_iommu_type1, so its MAP_DMA and
	// UNMAP_DMA follow type1's rules rather than iommufd's compat rules
	// (container.cpp says where they differ); `v2` is its type.
	void set_type1_rules(bool v2)
	{
		type1_rules_ = true;
		type1_v2_ = v2;
	}
	bool type1_rules() const { return type1_rules_; }
	bool type1_v2() const { return type1_v2_; }
	Status enter_no_iommu();

	// A reference on the file for something that outlives an ioctl.  The
	// holds are counted: a put without a hold, or a context released while
	// holds remain, is a refcount bug that would free the file under its fd,
	// so it warns (and the put is refused) instead.
	void hold_file();
	void put_file();

private:
	ObjectTable objects_;
	void *file_ = nullptr;
	cxx::Atomic<int32_t> file_holds_{0};
	cxx::Atomic<uint32_t> mm_accounting_{0};
	cxx::Atomic<uint32_t> vfio_ioas_{0};
	cxx::Atomic<uint32_t> no_iommu_{0};
	bool type1_rules_ = false; // set once, before the context is used
	bool type1_v2_ = false;
	// Serialises set_vfio_ioas against enter_no_iommu.
	cxx::Mutex vfio_lock_;
};

// What an object's own fd (a fault queue's, a vEVENTQ's) holds while it is
// open: the object, so that IOMMU_DESTROY of it is EBUSY, and the
// /dev/iommu file, so that the context outlives the fd.
class FdHold : cxx::NoCopyNoMove {
public:
	explicit FdHold(Context &ctx) : ctx_(ctx) {}
	// The fd was installed: take both.
	void installed(ObjRef<Object> self)
	{
		self_ = cxx::move(self);
		ctx_.hold_file();
	}
	// The fd was released: drop both.  The object (and this) may be gone
	// on return: the file's last reference releases the context.
	void released()
	{
		Context &ctx = ctx_;
		self_ = ObjRef<Object>(); // the table's reference keeps us alive
		ctx.put_file();
	}

private:
	Context &ctx_;
	ObjRef<Object> self_;
};

} // namespace iommufd
