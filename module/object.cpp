// SPDX-License-Identifier: GPL-2.0
//
// object.cpp - object lifetime and the per-context ID table (see object.hpp).
#include "object.hpp"

#include "cxxrt/log.hpp"

namespace iommufd {

namespace {
constinit cxx::Atomic<long> live_objects;
constexpr uint32_t kInitialSlots = 16;
} // namespace

const char *obj_type_name(ObjType t)
{
	switch (t) {
	case ObjType::Ioas:
		return "ioas";
	case ObjType::HwptPaging:
		return "hwpt_paging";
	case ObjType::HwptNested:
		return "hwpt_nested";
	case ObjType::Device:
		return "device";
	case ObjType::Fault:
		return "fault";
	case ObjType::Selftest:
		return "selftest";
	case ObjType::Viommu:
		return "viommu";
	case ObjType::Vdevice:
		return "vdevice";
	case ObjType::Veventq:
		return "veventq";
	}
	return "?";
}

Object::Object(ObjType t) : type_(t) { live_objects.inc_relaxed(); }

Object::~Object() { live_objects.dec_relaxed(); }

long Object::live_count() { return live_objects.load_relaxed(); }

PendingObject::~PendingObject()
{
	if (obj_)
		table_->abort(obj_);
}

void PendingObject::commit()
{
	table_->commit(cxx::exchange(obj_, nullptr));
}

ObjRef<Object> PendingObject::commit_and_hold()
{
	Object *o = cxx::exchange(obj_, nullptr);
	table_->commit(o, true);
	return ObjRef<Object>(o);
}

Status ObjectTable::init()
{
	lock_ = TRY(cxx::Mutex::create(KAPI_LOCK_OBJECTS));
	slots_ = TRY(cxx::UniqueArray<Object *>::zeroed(kInitialSlots));
	return {};
}

ObjectTable::~ObjectTable()
{
	// destroy_all() ran on release; anything left here is a reference leak.
	CXX_ASSERT(count_ == 0);
}

// Double the slot array, keeping IDs where they are.  Called with lock_ held.
Status ObjectTable::grow()
{
	size_t old_n = slots_.size();
	if (old_n > kMaxId)
		return cxx::Err(ENOSPC);
	size_t new_n = cxx::min<size_t>(old_n * 2, size_t(kMaxId) + 1);
	auto bigger = TRY(cxx::UniqueArray<Object *>::zeroed(new_n));
	for (size_t i = 0; i < old_n; i++)
		bigger[i] = slots_[i];
	slots_ = cxx::move(bigger);
	return {};
}

Result<PendingObject> ObjectTable::add(cxx::UniquePtr<Object> obj)
{
	cxx::Guard g(lock_);
	uint32_t id = free_hint_;
	while (id < slots_.size() && slots_[id])
		id++;
	if (id > kMaxId) {
		log_user("object table full");
		return cxx::Err(ENOSPC);
	}
	if (id >= slots_.size())
		TRY(grow());
	Object *o = obj.release();
	o->id_ = id;
	slots_[id] = o;
	free_hint_ = id + 1;
	count_++;
	return PendingObject(*this, o);
}

void ObjectTable::commit(Object *o, bool hold)
{
	cxx::Guard g(lock_);
	o->committed_ = true;
	if (hold)
		o->users_.add_return(1);
}

// Remove the slot of `id` and return what was there.  Called with lock_ held.
Object *ObjectTable::take_slot(uint32_t id)
{
	Object *o = cxx::exchange(slots_[id], nullptr);
	free_hint_ = cxx::min(free_hint_, id);
	count_--;
	return o;
}

void ObjectTable::abort(Object *o)
{
	{
		cxx::Guard g(lock_);
		CXX_ASSERT(!o->committed_ && slots_[o->id_] == o);
		take_slot(o->id_);
	}
	cxx::UniquePtr<Object> gone(o);
}

Object *ObjectTable::find_and_hold(uint32_t id, ObjType type)
{
	cxx::Guard g(lock_);
	if (id == 0 || id >= slots_.size())
		return nullptr;
	Object *o = slots_[id];
	if (!o || !o->committed_ || (type != ObjType(0) && o->type_ != type))
		return nullptr;
	o->users_.add_return(1);
	return o;
}

Object *ObjectTable::find_next_and_hold(uint32_t *id, ObjType type)
{
	cxx::Guard g(lock_);
	for (size_t i = *id; i < slots_.size(); i++) {
		Object *o = slots_[i];
		if (o && o->committed_ && o->type_ == type) {
			o->users_.add_return(1);
			*id = uint32_t(i);
			return o;
		}
	}
	return nullptr;
}

Status ObjectTable::destroy(uint32_t id)
{
	Object *o;
	{
		cxx::Guard g(lock_);
		o = id < slots_.size() ? slots_[id] : nullptr;
		if (!o || !o->committed_) {
			log_user("destroy: no object %u", id);
			return cxx::Err(ENOENT);
		}
		if (o->users_.load_acquire() != 1) {
			log_user("destroy: %s %u is in use", obj_type_name(o->type_), id);
			return cxx::Err(EBUSY);
		}
		take_slot(id);
	}
	cxx::UniquePtr<Object> gone(o);
	return {};
}

void ObjectTable::destroy_all()
{
	// Each pass destroys the objects nobody else depends on; their
	// destruction releases what they held, which frees the next layer.
	// No ioctl can run any more, so nothing is pending and IDs stay put.
	if (!lock_.valid())
		return; // init() failed: nothing was ever added
	for (;;) {
		bool progress = false;
		for (size_t id = 1;; id++) {
			Object *o;
			{
				cxx::Guard g(lock_);
				if (count_ == 0)
					return;
				if (id >= slots_.size())
					break;
				o = slots_[id];
				if (!o || o->users_.load_acquire() != 1)
					continue;
				take_slot(uint32_t(id));
			}
			cxx::UniquePtr<Object> gone(o);
			progress = true;
		}
		if (!progress) {
			log_err("release: %u objects still referenced", count_);
			CXX_ASSERT(progress);
		}
	}
}

} // namespace iommufd
