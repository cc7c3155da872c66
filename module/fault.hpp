// SPDX-License-Identifier: GPL-2.0
//
// fault.hpp - a fault queue (IOMMU_FAULT_QUEUE_ALLOC): I/O page faults of
// devices attached to HWPTs allocated with IOMMU_HWPT_FAULT_ID_VALID are
// queued here; user space read()s them from the queue's fd as struct
// iommu_hwpt_pgfault records and write()s struct iommu_hwpt_page_response
// answers, matched by cookie.
//
// Lifetime: the fd holds the object (IOMMU_DESTROY is EBUSY until it is
// closed) and the /dev/iommu file.  Faults still queued or unanswered when
// their device detaches are answered for it (dropped); the rest are freed
// with the object.
#pragma once

#include "context.hpp"
#include "object.hpp"

namespace iommufd {

class Context;
class Ucmd;

class Fault final : public Object {
public:
	static constexpr ObjType kType = ObjType::Fault;
	static Result<cxx::UniquePtr<Fault>> create(Context &ctx);
	Fault(Context &ctx) : Object(kType), fd_hold_(ctx) {}
	~Fault() override;

	// A device reported a fault (one fault, the last of its group).
	Status report(uint32_t dev_id, uint32_t flags, uint32_t pasid, uint32_t grpid,
		      uint32_t perm, uint64_t addr);
	// Drop every fault of this device: it left the HWPT.
	void device_detached(uint32_t dev_id);

	long read(uint64_t ubuf, size_t count);
	long write(uint64_t ubuf, size_t count);
	bool readable();
	kapi_waitq *waitq() { return waitq_; }

	// The fd's references (FdHold), taken once the fd is installed and
	// dropped when it is released.
	void fd_installed(ObjRef<Object> self) { fd_hold_.installed(cxx::move(self)); }
	void fd_released() { fd_hold_.released(); }

private:
	struct Record {
		uint32_t dev_id, flags, pasid, grpid, perm, cookie;
		uint64_t addr;
		Record *next;
	};
	static void free_list(Record *r);

	cxx::Mutex lock_;
	kapi_waitq *waitq_ = nullptr;
	Record *queued_ = nullptr;	// not yet read, oldest first
	Record **queued_tail_ = &queued_;
	Record *responding_ = nullptr; // read, awaiting the answer
	uint32_t next_cookie_ = 1;
	FdHold fd_hold_;
};

Status fault_queue_alloc_ioctl(Ucmd &ucmd);

} // namespace iommufd
