// SPDX-License-Identifier: GPL-2.0
//
// fault.cpp - the fault queue object and its fd (see fault.hpp).
#include "fault.hpp"

#include "context.hpp"
#include "ucmd.hpp"

#include "cxxrt/log.hpp"
#include "uapi/iommufd.h"

namespace iommufd {

Result<cxx::UniquePtr<Fault>> Fault::create(Context &ctx)
{
	auto f = TRY(cxx::make_unique<Fault>(ctx));
	f->lock_ = TRY(cxx::Mutex::create(KAPI_LOCK_FAULT));
	f->waitq_ = kapi_waitq_create();
	if (!f->waitq_)
		return cxx::Err(ENOMEM);
	return f;
}

void Fault::free_list(Record *r)
{
	while (r) {
		Record *next = r->next;
		cxx::UniquePtr<Record> gone(r);
		r = next;
	}
}

Fault::~Fault()
{
	free_list(queued_);
	free_list(responding_);
	if (waitq_)
		kapi_waitq_destroy(waitq_);
}

Status Fault::report(uint32_t dev_id, uint32_t flags, uint32_t pasid, uint32_t grpid,
		     uint32_t perm, uint64_t addr)
{
	auto r = TRY(cxx::make_unique<Record>());
	*r = Record{ dev_id, flags, pasid, grpid, perm, 0, addr, nullptr };
	{
		cxx::Guard g(lock_);
		*queued_tail_ = r.release();
		queued_tail_ = &(*queued_tail_)->next;
	}
	kapi_waitq_wake(waitq_);
	return {};
}

void Fault::device_detached(uint32_t dev_id)
{
	Record *drop = nullptr;
	{
		cxx::Guard g(lock_);
		Record **lists[] = { &queued_, &responding_ };
		for (Record **list : lists) {
			for (Record **pp = list; *pp;) {
				Record *r = *pp;
				if (r->dev_id != dev_id) {
					pp = &r->next;
					continue;
				}
				*pp = r->next;
				r->next = drop;
				drop = r;
			}
		}
		queued_tail_ = &queued_;
		while (*queued_tail_)
			queued_tail_ = &(*queued_tail_)->next;
	}
	free_list(drop);
}

bool Fault::readable()
{
	cxx::Guard g(lock_);
	return queued_ != nullptr;
}

// Whole records only: a count that is not a multiple of the record size is
// ESPIPE, as upstream.  Never blocks; 0 when nothing is queued, EINVAL when
// a fault is queued but the buffer cannot hold it (count 0), as upstream.
long Fault::read(uint64_t ubuf, size_t count)
{
	constexpr size_t kSize = sizeof(iommu_hwpt_pgfault);
	if (count % kSize)
		return -ESPIPE;
	cxx::Guard g(lock_);
	if (!count && queued_)
		return -EINVAL;
	size_t done = 0;
	while (queued_ && count - done >= kSize) {
		Record *r = queued_;
		iommu_hwpt_pgfault msg = {};
		msg.flags = r->flags;
		msg.dev_id = r->dev_id;
		msg.pasid = r->pasid;
		msg.grpid = r->grpid;
		msg.perm = r->perm;
		msg.addr = r->addr;
		msg.cookie = next_cookie_;
		if (kapi_copy_to_user(ubuf + done, &msg, kSize))
			return done ? long(done) : -EFAULT;
		r->cookie = next_cookie_++;
		if (!next_cookie_)
			next_cookie_ = 1;
		queued_ = r->next;
		if (!queued_)
			queued_tail_ = &queued_;
		r->next = responding_;
		responding_ = r;
		done += kSize;
	}
	return long(done);
}

// Each response answers the fault with its cookie; an unknown cookie is
// EINVAL (after the ones before it were taken).
long Fault::write(uint64_t ubuf, size_t count)
{
	constexpr size_t kSize = sizeof(iommu_hwpt_page_response);
	if (count % kSize)
		return -ESPIPE;
	size_t done = 0;
	long rc = 0;
	while (done < count) {
		iommu_hwpt_page_response resp;
		if (kapi_copy_from_user(&resp, ubuf + done, kSize)) {
			rc = -EFAULT;
			break;
		}
		if (resp.code != IOMMUFD_PAGE_RESP_SUCCESS && resp.code != IOMMUFD_PAGE_RESP_INVALID) {
			log_user("fault: unknown response code %u", resp.code);
			rc = -EINVAL;
			break;
		}
		Record *found = nullptr;
		{
			cxx::Guard g(lock_);
			for (Record **pp = &responding_; *pp; pp = &(*pp)->next) {
				if ((*pp)->cookie == resp.cookie) {
					found = *pp;
					*pp = found->next;
					break;
				}
			}
		}
		if (!found) {
			log_user("fault: no fault awaits cookie %u", resp.cookie);
			rc = -EINVAL;
			break;
		}
		cxx::UniquePtr<Record> gone(found);
		done += kSize;
	}
	return done ? long(done) : rc;
}

Status fault_queue_alloc_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_fault_alloc>();
	if (cmd.flags) {
		log_user("fault_queue_alloc: unknown flags 0x%x", cmd.flags);
		return cxx::Err(EOPNOTSUPP);
	}
	auto fault = TRY(Fault::create(ucmd.ctx));
	Fault *raw = fault.get();
	auto pending = TRY(ucmd.ctx.objects().add(cxx::move(fault)));
	kapi_fd *fd;
	int fdno = kapi_fd_reserve(KAPI_FD_FAULT, raw, &fd);
	if (fdno < 0)
		return cxx::Error(fdno);
	cmd.out_fault_id = pending.id();
	cmd.out_fault_fd = fdno;
	Status st = ucmd.respond();
	if (!st.ok()) {
		kapi_fd_abort(fd);
		return st;
	}
	raw->fd_installed(pending.commit_and_hold());
	kapi_fd_install(fd);
	return {};
}

} // namespace iommufd
