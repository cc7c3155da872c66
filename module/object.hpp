// SPDX-License-Identifier: GPL-2.0
//
// object.hpp - the objects a /dev/iommu file holds, and the table that names
// them.
//
// Every object (IOAS, HWPT, device, ...) derives from Object and lives in its
// context's ObjectTable under a user-visible ID, allocated lowest-free from 1
// upwards and below 2^31.  `users` counts who holds the object: 1 for the
// table itself, +1 for each ObjRef (an ioctl using it for a moment, or
// another object depending on it).  IOMMU_DESTROY succeeds only when the
// table is the sole user; otherwise EBUSY.  Closing the file destroys
// objects whose only user is the table, repeatedly, so dependents go first.
//
// New objects are added in two steps: add() reserves the ID and takes
// ownership but keeps the object invisible to lookups; the ioctl then writes
// its response and commits.  If the response cannot be written, the
// reservation is aborted and the object destroyed, never having been seen.
//
// Lock order: ObjectTable::lock_ is a leaf; no other lock is taken under it,
// and objects are destroyed after it is dropped.
#pragma once

#include "cxxrt/atomic.hpp"
#include "cxxrt/lock.hpp"
#include "cxxrt/memory.hpp"

namespace iommufd {

using cxx::Result;
using cxx::Status;

enum class ObjType : uint8_t {
	Ioas = 1,
	HwptPaging,
	HwptNested,
	Device,
	Fault,
	Selftest, // a mock device of the test ABI (its "stdev" ID)
	Viommu,
	Vdevice,
	Veventq,
};

const char *obj_type_name(ObjType t);

class Object : cxx::NoCopyNoMove {
public:
	virtual ~Object();
	ObjType type() const { return type_; }
	uint32_t id() const { return id_; }

	// Objects alive in every context of the module, for tests and rmmod.
	static long live_count();

protected:
	explicit Object(ObjType t);

private:
	friend class ObjectTable;
	template <typename T> friend class ObjRef;
	ObjType type_;
	bool committed_ = false; // visible to lookups
	uint32_t id_ = 0;
	cxx::Atomic<uint32_t> users_{1};
};

// A counted reference to an object of type T, taken from the table.  While it
// lives, the object cannot be destroyed.
template <typename T> class ObjRef : cxx::NoCopy {
public:
	ObjRef() = default;
	explicit ObjRef(T *o) : o_(o) {}
	ObjRef(ObjRef &&r) : o_(cxx::exchange(r.o_, nullptr)) {}
	ObjRef &operator=(ObjRef &&r)
	{
		put();
		o_ = cxx::exchange(r.o_, nullptr);
		return *this;
	}
	~ObjRef() { put(); }

	T *operator->() const { return o_; }
	T &operator*() const { return *o_; }
	T *get() const { return o_; }
	explicit operator bool() const { return o_ != nullptr; }

	// Hand the reference over as another type (after checking type()).
	template <typename U> ObjRef<U> cast() &&
	{
		return ObjRef<U>(static_cast<U *>(cxx::exchange(o_, nullptr)));
	}
	// Another reference to the same object.
	ObjRef dup() const
	{
		if (o_)
			static_cast<Object *>(o_)->users_.add_return(1);
		return ObjRef(o_);
	}

private:
	void put()
	{
		if (o_) {
			uint32_t n = static_cast<Object *>(o_)->users_.sub_return(1);
			CXX_ASSERT(n >= 1); // the table's own reference remains
			o_ = nullptr;
		}
	}
	T *o_ = nullptr;
};

class ObjectTable;

// A reserved ID holding a not yet visible object; aborts unless committed.
class PendingObject : cxx::NoCopy {
public:
	PendingObject(ObjectTable &t, Object *o) : table_(&t), obj_(o) {}
	PendingObject(PendingObject &&p)
		: table_(p.table_), obj_(cxx::exchange(p.obj_, nullptr))
	{
	}
	~PendingObject();

	uint32_t id() const { return obj_->id(); }
	void commit();
	// Commit, and keep a reference for the caller (taken atomically, so
	// the object cannot be destroyed in between).
	ObjRef<Object> commit_and_hold();

private:
	ObjectTable *table_;
	Object *obj_;
};

class ObjectTable : cxx::NoCopyNoMove {
public:
	static constexpr uint32_t kMaxId = 0x7fffffff;

	ObjectTable() = default;
	~ObjectTable();
	Status init();

	// Reserve an ID for `obj` (ENOSPC when all IDs are taken).
	Result<PendingObject> add(cxx::UniquePtr<Object> obj);

	// Look up a committed object of type T: ENOENT if there is none.
	template <typename T> Result<ObjRef<T>> get(uint32_t id)
	{
		Object *o = find_and_hold(id, T::kType);
		if (!o)
			return cxx::Err(ENOENT);
		return ObjRef<T>(static_cast<T *>(o));
	}

	bool empty()
	{
		cxx::Guard g(lock_);
		return count_ == 0;
	}

	// Any committed object (callers switch on type()): ENOENT if none.
	Result<ObjRef<Object>> get_any(uint32_t id)
	{
		Object *o = find_and_hold(id, ObjType(0));
		if (!o)
			return cxx::Err(ENOENT);
		return ObjRef<Object>(o);
	}

	// Visit every committed object of type T in ID order, each held for
	// the call (the table lock is not held); stops at the first error.
	template <typename T, typename F> Status for_each(F &&visit)
	{
		for (uint32_t id = 1;; id++) {
			Object *o = find_next_and_hold(&id, T::kType);
			if (!o)
				return {};
			ObjRef<T> ref(static_cast<T *>(o));
			TRY(visit(ref));
		}
	}

	// IOMMU_DESTROY: ENOENT for an unknown ID, EBUSY while in use.
	Status destroy(uint32_t id);

	// Kernel-initiated destruction of an object the caller holds through
	// `ref` (an auto domain whose last device left, a device whose mock
	// owner is destroyed): drops the reference, and destroys the object
	// if nobody else uses it.  Returns whether it was destroyed.
	template <typename T> bool put_and_try_destroy(ObjRef<T> &ref)
	{
		Object *o = static_cast<Object *>(ref.get());
		if (!o)
			return false;
		return try_destroy_held(o, ref);
	}

	// File release: destroy everything, dependents first.
	void destroy_all();

private:
	friend class PendingObject;
	template <typename T> bool try_destroy_held(Object *o, ObjRef<T> &ref)
	{
		bool gone;
		{
			cxx::Guard g(lock_);
			// Our reference plus the table's: nobody else.
			gone = o->committed_ && slots_[o->id_] == o &&
			       o->users_.load_acquire() == 2;
			if (gone)
				take_slot(o->id_);
			ref = ObjRef<T>();
		}
		if (gone)
			cxx::UniquePtr<Object> destroy(o);
		return gone;
	}
	// ObjType(0) matches any type.
	Object *find_and_hold(uint32_t id, ObjType type);
	// The first committed object of `type` with ID >= *id, held; *id
	// becomes its ID.  Null when there is none.
	Object *find_next_and_hold(uint32_t *id, ObjType type);
	Status grow();
	void commit(Object *o, bool hold = false);
	void abort(Object *o);
	Object *take_slot(uint32_t id);

	cxx::Mutex lock_;
	cxx::UniqueArray<Object *> slots_; // index == ID; slot 0 unused
	uint32_t free_hint_ = 1;	   // no free ID below this
	uint32_t count_ = 0;
};

} // namespace iommufd
