// SPDX-License-Identifier: GPL-2.0
//
// pages.hpp - Pages: one range of user (or memfd) memory that IOAS areas map,
// pinned at most once however many users need it, held as runs of
// physically contiguous PFNs, and charged to the process that mapped it.
//
// Users of a Pages (an area filling its domains, an access pinning for an
// emulated device, rw()) each pin() the page indexes they need and unpin()
// exactly that range later.  A page is pinned from the kernel when its first
// user arrives and unpinned when its last one leaves; in between, lookups
// answer from memory without touching the mm.
//
// State, all under one mutex per Pages:
//   spans_  disjoint "pinned spans" covering exactly the pinned indexes, in
//           an interval tree.  A span is a view [begin, end) on a shared,
//           immutable block of runs (first index, first PFN): a new range is
//           pinned into a fresh block, coalescing contiguous PFNs as it goes,
//           and later splits only make new views, never copy runs.  Finding
//           the PFN of an index is a tree lookup and a binary search.
//   pins_   the multiset of pin() ranges, one node per call, so that unpin()
//           can check it undoes a real pin.
// Spans are split at every pin's first and last+1, so each span is either
// inside a pin or disjoint from it: a span's `users` count says how many
// pins cover it, and when an unpin leaves a range uncovered that range is a
// union of whole spans, released without allocating.  Boundaries no pin uses
// any more are merged away again when both sides share a block.
//
// Lock order: the Pages mutex is taken after the io_pagetable's and an
// access's locks and before a domain's (for_each_run's visitor maps into
// domains with it held); inside it, the shim takes the mm's mmap lock.
#pragma once

#include "cxxrt/function_ref.hpp"
#include "cxxrt/lock.hpp"
#include "cxxrt/refcount.hpp"
#include "cxxrt/result.hpp"
#include "iopt/interval_tree.hpp"
#include "kapi.h"

namespace iommufd::iopt {

// How pinned pages are charged (IOMMU_OPTION_RLIMIT_MODE picks User or Mm;
// None is what a CAP_IPC_LOCK caller gets).  pinned_vm is charged always.
enum class AccountMode : uint8_t { None, User, Mm };

// Bytes of one temporary pin batch array (the test ABI's
// IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT; default 65536).  A batch always holds
// at least one entry and at most KAPI_PIN_BATCH_MAX.  Global, atomic.
void set_pin_batch_bytes(size_t bytes);
size_t pin_batch_bytes();

class Pages : public cxx::RefCounted<Pages> {
	struct Key {
		explicit Key() = default;
	};

public:
	// [uptr, uptr + length) of the calling process.  EINVAL: length 0 or
	// huge; EOVERFLOW: the range wraps; ENOMEM.  Pins nothing.
	static cxx::Result<cxx::RefPtr<Pages>> create_user(uint64_t uptr, uint64_t length,
							   bool writable, AccountMode mode);
	// Bytes [start, start + length) of the memfd `fd`.  EBADF: no such fd;
	// EINVAL: not shmem/hugetlbfs, length 0, or beyond the file's size;
	// EPERM: writable but the fd is not open for writing; EOVERFLOW.
	static cxx::Result<cxx::RefPtr<Pages>> create_file(int fd, uint64_t start, uint64_t length,
							   bool writable, AccountMode mode);

	Pages(Key, uint64_t base, uint64_t offset, uint64_t length, bool writable);
	~Pages();

	uint64_t npages() const { return npages_; }
	uint64_t first_offset() const { return first_offset_; }
	uint64_t length() const { return length_; }
	bool writable() const { return writable_; }
	bool is_file() const { return file_ != nullptr; }
	AccountMode account_mode() const { return mode_; }

	// Pin the page indexes [first, last] (within [0, npages - 1]) for one
	// more user: the pages no other pin holds are pinned now, charged and
	// recorded.  EFAULT: not mapped, or the process is gone; ENOMEM: over
	// RLIMIT_MEMLOCK or out of memory; EINVAL: bad indexes.  On failure
	// nothing has changed.
	cxx::Status pin(uint64_t first, uint64_t last);
	// Undo one earlier pin(first, last).  Never fails, never allocates.
	void unpin(uint64_t first, uint64_t last);
	// With [first, last] pinned by the caller, visit the maximal physically
	// contiguous runs covering it in index order, clipped to it.  The
	// mutex is held across the visits.  Returns the first error.
	cxx::Status for_each_run(uint64_t first, uint64_t last,
				 cxx::FunctionRef<cxx::Status(uint64_t index, uint64_t pfn,
							      uint64_t count)>
					 visit);
	// Copy between buf and the bytes [offset, offset + len) of the range
	// (offset 0 is uptr/start).  write copies buf into the pages: EPERM if
	// not writable; EINVAL beyond the range.  Pins what is not pinned yet
	// for the duration (EFAULT if it cannot), without charging it.
	cxx::Status rw(uint64_t offset, void *buf, size_t len, bool write);
	// Pages pinned now.
	uint64_t npinned();

	// IOMMU_IOAS_CHANGE_PROCESS, file-backed only (EINVAL otherwise):
	// prepare charges the calling process for the pinned pages (ENOMEM
	// over its limit) and keeps the old charge; commit drops the old
	// charge and makes the caller the owner; abort drops the new charge.
	// The caller keeps pin() and unpin() out from prepare to commit/abort.
	cxx::Status change_process_prepare();
	void change_process_commit();
	void change_process_abort();

	// Check the span tree's invariants (tests): sorted, disjoint, views in
	// range, users matching the pins.
	bool validate();
	// Spans and run entries held now (tests: coalescing).
	size_t nspans();
	size_t nruns();

private:
	struct Run {
		uint64_t index; // first page index of the run
		uint64_t pfn;	// its PFN; the run lasts until the next run's index
	};
	class RunBlock;
	struct Span;
	struct PinNode;
	class SpanList;
	class Filler;

	cxx::Status pin_locked(PinNode *node, bool charge_pages);
	void unpin_locked(PinNode *node, bool charged);
	PinNode *find_pin(uint64_t first, uint64_t last);
	cxx::Status for_each_run_locked(
		uint64_t first, uint64_t last,
		cxx::FunctionRef<cxx::Status(uint64_t, uint64_t, uint64_t)> visit);
	uint64_t hole_pages(uint64_t first, uint64_t last);
	cxx::Status fill_holes(Filler &fill, uint64_t first, uint64_t last, uint64_t holes);
	cxx::Status pin_user_batch(Filler &fill, uint64_t *pfns, size_t cap, uint64_t index,
				   uint64_t count, uint64_t *pinned);
	cxx::Status pin_file_batch(Filler &fill, kapi_folio *folios, size_t cap, uint64_t index,
				   uint64_t count, uint64_t *pinned);
	void folio_span(const kapi_folio &f, uint64_t index, uint64_t pfn, uint64_t *lo,
			uint64_t *hi) const;
	bool block_keeps_folio(const Span *s, const Span *left, const kapi_folio &f, uint64_t lo,
			       uint64_t hi) const;
	void release_span_pages(const Span *s, const Span *left);
	void split(Span *s, uint64_t at, Span *right);
	void try_merge(uint64_t at);
	void release_all();
	cxx::Status charge(uint64_t n);
	void uncharge(uint64_t n);
	kapi_pin_account kapi_mode() const;
	void change_process_abort_locked();

	uint64_t base_;		// page-aligned uptr, or page-aligned file offset
	uint64_t first_offset_;
	uint64_t length_;
	uint64_t npages_;
	bool writable_;
	AccountMode mode_ = AccountMode::None;
	kapi_pin_owner *owner_ = nullptr;
	// Between change_process_prepare and commit/abort: the new owner,
	// charged for every pinned page as the old one is.
	kapi_pin_owner *pending_owner_ = nullptr;
	kapi_pin_file *file_ = nullptr;

	cxx::Mutex mutex_;
	IntervalTree<Span> spans_;
	IntervalTree<PinNode> pins_;
	uint64_t npinned_ = 0;
};

} // namespace iommufd::iopt
