// SPDX-License-Identifier: GPL-2.0
//
// veventq.hpp - a vIOMMU event queue (IOMMU_VEVENTQ_ALLOC): events the
// IOMMU raised for a vIOMMU's devices, already in the guest's terms (an
// SMMUv3 event record carrying the vSID), read() from the queue's fd as
// struct iommufd_vevent_header + record pairs.
//
// At most `depth` events wait.  An event that finds the queue full (or no
// memory) is lost: the queue then ends with one header flagged
// IOMMU_VEVENTQ_FLAG_LOST_EVENTS and no record, carrying the lost event's
// sequence number.  Every event, delivered or lost, takes the next
// sequence number (0..INT_MAX, then 0 again), so a reader sees a gap where
// events were lost.  A new event that arrives after room was made replaces
// a trailing lost-events header, as upstream: the gap still tells.
//
// Lifetime: as a fault queue's, the fd holds the object and the /dev/iommu
// file; the object holds its vIOMMU and is the vIOMMU's queue of its type
// until destroyed.
#pragma once

#include "context.hpp"
#include "object.hpp"

namespace iommufd {

class Context;
class Ucmd;
class Viommu;

class Veventq final : public Object {
public:
	static constexpr ObjType kType = ObjType::Veventq;
	Veventq(Context &ctx) : Object(kType), fd_hold_(ctx) {}
	~Veventq() override;

	uint32_t queue_type() const { return type_; }

	// Called by the vIOMMU with its lock held.  Never fails: an event that
	// cannot be kept is counted as lost.
	void report(const void *data, uint32_t len);

	long read(uint64_t ubuf, size_t count);
	bool readable();
	kapi_waitq *waitq() { return waitq_; }
	// The fd's references (FdHold), as a fault queue's.
	void fd_installed(ObjRef<Object> self) { fd_hold_.installed(cxx::move(self)); }
	void fd_released() { fd_hold_.released(); }

	// The largest record of any type (struct iommu_vevent_arm_smmuv3).
	static constexpr uint32_t kMaxRecord = 32;

private:
	friend Status veventq_alloc_ioctl(Ucmd &ucmd);
	struct Event {
		Event *next;
		uint32_t sequence;
		uint32_t len;
		uint64_t data[kMaxRecord / 8];
	};

	ObjRef<Viommu> viommu_;
	uint32_t type_ = 0;
	uint32_t depth_ = 0;
	cxx::Mutex lock_; // KAPI_LOCK_VEVENTQ: everything below
	kapi_waitq *waitq_ = nullptr;
	Event *head_ = nullptr;
	Event **tail_ = &head_;
	uint32_t count_ = 0;	   // events on the list
	uint32_t sequence_ = 0;	   // the next event's
	bool lost_ = false;	   // a lost-events header ends the queue
	uint32_t lost_sequence_ = 0;
	FdHold fd_hold_;
};

Status veventq_alloc_ioctl(Ucmd &ucmd);

} // namespace iommufd
