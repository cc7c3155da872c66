// SPDX-License-Identifier: GPL-2.0
//
// veventq.cpp - the vIOMMU event queue and its fd (see veventq.hpp).
#include "veventq.hpp"

#include "context.hpp"
#include "ucmd.hpp"
#include "viommu.hpp"

#include "cxxrt/log.hpp"
#include "uapi/iommufd.h"

namespace iommufd {

namespace {
constexpr uint32_t kSequenceMask = 0x7fffffff; // INT_MAX, then 0
} // namespace

Veventq::~Veventq()
{
	// The vIOMMU's queue unless the allocation found another there.
	if (viommu_) {
		cxx::Guard g(viommu_->lock_);
		if (viommu_->veventq_ == this)
			viommu_->veventq_ = nullptr;
	}
	while (head_) {
		Event *e = head_;
		head_ = e->next;
		cxx::UniquePtr<Event> gone(e);
	}
	if (waitq_)
		kapi_waitq_destroy(waitq_);
}

void Veventq::report(const void *data, uint32_t len)
{
	CXX_ASSERT(len <= kMaxRecord);
	// Allocated before the lock; freed again if the queue is full.
	auto e = cxx::make_unique<Event>();
	{
		cxx::Guard g(lock_);
		uint32_t seq = sequence_;
		sequence_ = (sequence_ + 1) & kSequenceMask;
		if (!e.ok() || count_ >= depth_) {
			lost_ = true;
			lost_sequence_ = seq;
		} else {
			Event *ev = e.take().release();
			ev->next = nullptr;
			ev->sequence = seq;
			ev->len = len;
			__builtin_memcpy(ev->data, data, len);
			*tail_ = ev;
			tail_ = &ev->next;
			count_++;
			lost_ = false; // this event now ends the queue
		}
	}
	kapi_waitq_wake(waitq_);
}

bool Veventq::readable()
{
	cxx::Guard g(lock_);
	return head_ || lost_;
}

// Whole records only, oldest first; 0 when nothing is queued or the buffer
// cannot hold the next record; EFAULT only if nothing was copied.
long Veventq::read(uint64_t ubuf, size_t count)
{
	cxx::Guard g(lock_);
	size_t done = 0;
	while (head_) {
		Event *e = head_;
		iommufd_vevent_header hdr = { 0, e->sequence };
		if (count - done < sizeof(hdr) + e->len)
			return long(done);
		if (kapi_copy_to_user(ubuf + done, &hdr, sizeof(hdr)) ||
		    kapi_copy_to_user(ubuf + done + sizeof(hdr), e->data, e->len))
			return done ? long(done) : -EFAULT;
		done += sizeof(hdr) + e->len;
		head_ = e->next;
		if (!head_)
			tail_ = &head_;
		count_--;
		cxx::UniquePtr<Event> gone(e);
	}
	if (lost_ && count - done >= sizeof(iommufd_vevent_header)) {
		iommufd_vevent_header hdr = { IOMMU_VEVENTQ_FLAG_LOST_EVENTS, lost_sequence_ };
		if (kapi_copy_to_user(ubuf + done, &hdr, sizeof(hdr)))
			return done ? long(done) : -EFAULT;
		done += sizeof(hdr);
		lost_ = false;
	}
	return long(done);
}

// Upstream's order: flags and type, the depth, the vIOMMU, then one queue
// per type.
Status veventq_alloc_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_veventq_alloc>();
	if (cmd.flags || cmd.__reserved || cmd.type == IOMMU_VEVENTQ_TYPE_DEFAULT) {
		log_user("veventq_alloc: flags 0x%x, __reserved or type %u not supported",
			 cmd.flags, cmd.type);
		return cxx::Err(EOPNOTSUPP);
	}
	if (!cmd.veventq_depth) {
		log_user("veventq_alloc: veventq_depth is 0");
		return cxx::Err(EINVAL);
	}
	auto viommu = ucmd.ctx.objects().get<Viommu>(cmd.viommu_id);
	if (!viommu.ok()) {
		log_user("veventq_alloc: no vIOMMU %u", cmd.viommu_id);
		return viommu.error();
	}
	if (cmd.type != viommu.value()->driver().veventq_type()) {
		log_user("veventq_alloc: vIOMMU %u reports no events of type %u", cmd.viommu_id,
			 cmd.type);
		return cxx::Err(EOPNOTSUPP);
	}
	auto q = TRY(cxx::make_unique<Veventq>(ucmd.ctx));
	q->lock_ = TRY(cxx::Mutex::create(KAPI_LOCK_VEVENTQ));
	q->waitq_ = kapi_waitq_create();
	if (!q->waitq_)
		return cxx::Err(ENOMEM);
	q->type_ = cmd.type;
	q->depth_ = cmd.veventq_depth;
	q->viommu_ = viommu.take();
	Viommu &v = *q->viommu_;
	Veventq *raw = q.get();

	auto pending = TRY(ucmd.ctx.objects().add(cxx::move(q)));
	kapi_fd *fd;
	int fdno = kapi_fd_reserve(KAPI_FD_VEVENTQ, raw, &fd);
	if (fdno < 0)
		return cxx::Error(fdno);
	// Checked and claimed in one step, so two racing allocations cannot
	// both become the vIOMMU's queue.
	bool taken;
	{
		cxx::Guard g(v.lock_);
		taken = v.veventq_ != nullptr;
		if (!taken)
			v.veventq_ = raw;
	}
	if (taken) {
		kapi_fd_abort(fd);
		log_user("veventq_alloc: vIOMMU %u already has a queue of type %u", cmd.viommu_id,
			 cmd.type);
		return cxx::Err(EEXIST);
	}
	cmd.out_veventq_id = pending.id();
	cmd.out_veventq_fd = fdno;
	Status st = ucmd.respond();
	if (!st.ok()) {
		kapi_fd_abort(fd);
		return st; // the destructor unlinks it
	}
	raw->fd_installed(pending.commit_and_hold());
	kapi_fd_install(fd);
	return {};
}

} // namespace iommufd
