// SPDX-License-Identifier: GPL-2.0
//
// pages.cpp - Pages (see pages.hpp): pinning holes in batches into blocks of
// PFN runs, splitting and merging span views at pin boundaries, releasing
// whole spans when their last pin goes, charging, and copying through the
// pins.
//
// Memfd pages are pinned a folio at a time (memfd_pin_folios takes one pin
// per folio, and 6.12 exports no way to add a pin per page), so for files
// the rule is: each run block holds exactly one pin on every folio it has
// pages of.  A block is only ever cut where a new run starts, which for a
// file is a folio boundary, so a folio never straddles two blocks of one
// fill; views of one block that share a folio (after a split) leave the pin
// to the last of them to go.  Page cache changes (a hole punched and
// refilled while pinned) stay correct because folios are compared by PFN,
// never by file index.
#include "pages.hpp"

#include "page.hpp"

#include "cxxrt/atomic.hpp"
#include "cxxrt/checked.hpp"
#include "cxxrt/log.hpp"

namespace iommufd::iopt {

namespace {

constexpr size_t kDefaultPinBatchBytes = 65536;
constinit cxx::Atomic<size_t> pin_batch_bytes_{kDefaultPinBatchBytes};

// Runs per block.  A block is one kmalloc, so capping it keeps every
// allocation at 32 KiB (order 3, the largest the page allocator treats as
// cheap) however fragmented the memory; a fill simply starts a new block.
constexpr size_t kMaxRunsPerBlock = 2048;
constexpr size_t kFirstRunsPerBlock = 4;
constexpr size_t kShrinkAbove = 64;

// Report a bug in the callers (a WARN with a backtrace in the kernel) and
// carry on: these paths must not trap.
#define PAGES_BUG(cond)                                                        \
	({                                                                     \
		bool bug_ = (cond);                                            \
		if (__builtin_expect(bug_, 0))                                 \
			kapi_assert_failed(#cond, __FILE__, __LINE__);         \
		bug_;                                                          \
	})

// Entries of `entry` bytes in one batch, for at most `pages` pages.
size_t batch_entries(size_t entry, uint64_t pages)
{
	size_t n = pin_batch_bytes_.load_relaxed() / entry;
	n = cxx::max<size_t>(n, 1);
	n = cxx::min<size_t>(n, KAPI_PIN_BATCH_MAX);
	return pages < n ? size_t(pages) : n;
}

} // namespace

void set_pin_batch_bytes(size_t bytes) { pin_batch_bytes_.store_relaxed(bytes); }
size_t pin_batch_bytes() { return pin_batch_bytes_.load_relaxed(); }

// ---- run blocks and span views ---------------------------------------------

// An array of runs, built once by appending pages in index order, then
// shared read-only by every span that views part of it.  Its memory is
// charged to the caller's memcg: a user who pins fragmented memory makes
// the kernel keep 16 bytes per page.
class Pages::RunBlock : public cxx::RefCounted<RunBlock> {
public:
	RunBlock() = default;
	~RunBlock() { kapi_free(runs_); }

	const Run *runs() const { return runs_; }
	size_t size() const { return n_; }

	// Does page (index, pfn), which follows the last page appended,
	// extend the last run?  Then appending it needs no new entry.
	bool continues(uint64_t index, uint64_t pfn) const
	{
		if (!n_)
			return false;
		const Run &r = runs_[n_ - 1];
		return r.pfn + (index - r.index) == pfn;
	}
	bool full() const { return n_ == kMaxRunsPerBlock; }

	// Start a new run at (index, pfn).  Not when full().
	cxx::Status push(uint64_t index, uint64_t pfn)
	{
		CXX_ASSERT(!full());
		if (n_ == cap_)
			TRY(resize(n_ ? cxx::min(n_ * 2, kMaxRunsPerBlock) : kFirstRunsPerBlock));
		runs_[n_++] = Run{ index, pfn };
		return {};
	}

	// Give back a large block's growth slack once it is complete (small
	// ones are not worth another allocation); on failure the block just
	// stays larger.
	void shrink_to_fit()
	{
		if (cap_ > kShrinkAbove && cap_ - n_ > n_ / 4)
			(void)resize(n_).ok();
	}

private:
	cxx::Status resize(size_t cap)
	{
		static_assert(kMaxRunsPerBlock * sizeof(Run) <= 32768);
		auto *fresh = static_cast<Run *>(kapi_alloc(cap * sizeof(Run), KAPI_ALLOC_ACCOUNT));
		if (!fresh)
			return cxx::Err(ENOMEM);
		for (size_t i = 0; i < n_; i++)
			fresh[i] = runs_[i];
		kapi_free(runs_);
		runs_ = fresh;
		cap_ = cap;
		return {};
	}

	Run *runs_ = nullptr;
	size_t n_ = 0;
	size_t cap_ = 0;
};

// Pinned page indexes [start, last]: runs [begin, end) of `block`, the
// first clipped at start and the last at last.
struct Pages::Span : IovaNode {
	cxx::RefPtr<RunBlock> block;
	size_t begin = 0;
	size_t end = 0;
	uint64_t users = 0;  // pins covering the span (all of it, see pages.hpp)
	uint64_t starts = 0; // of those, pins whose first index is start
	uint64_t ends = 0;   // and pins whose last index is last
	Span *link = nullptr; // list of spans outside the tree (being added or released)

	uint64_t npages() const { return last - start + 1; }

	// The run holding index (start <= index <= last): binary search.
	size_t find(uint64_t index) const
	{
		const Run *r = block->runs();
		size_t lo = begin, hi = end; // answer in [lo, hi)
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (r[mid].index <= index)
				lo = mid;
			else
				hi = mid;
		}
		return lo;
	}

	// visit(index, pfn, count) for each run piece within [lo, hi] (which
	// must overlap the span), in order; stops at the first error.
	template <typename Visit> cxx::Status each_run(uint64_t lo, uint64_t hi, Visit &&visit) const
	{
		lo = cxx::max(lo, start);
		hi = cxx::min(hi, last);
		const Run *r = block->runs();
		for (size_t i = find(lo); i < end; i++) {
			uint64_t run_last = i + 1 < end ? r[i + 1].index - 1 : last;
			uint64_t from = cxx::max(r[i].index, lo);
			uint64_t to = cxx::min(run_last, hi);
			TRY(visit(from, r[i].pfn + (from - r[i].index), to - from + 1));
			if (to == hi)
				break;
		}
		return {};
	}

	uint64_t pfn_at(uint64_t index) const
	{
		const Run &r = block->runs()[find(index)];
		return r.pfn + (index - r.index);
	}

	// Does any page of [lo, hi] sit in the PFN range [pfn, pfn + n)?
	bool holds(uint64_t lo, uint64_t hi, uint64_t pfn, uint64_t n) const
	{
		if (hi < start || lo > last)
			return false;
		bool found = false;
		(void)each_run(lo, hi, [&](uint64_t, uint64_t p, uint64_t count) -> cxx::Status {
			if (p < pfn + n && pfn < p + count) {
				found = true;
				return cxx::Err(EEXIST); // stop the walk
			}
			return {};
		}).ok();
		return found;
	}
};

// One pin() call: [first, last].  The tree key is the degenerate interval
// [first, first], so an exact lookup visits only pins that start there.
struct Pages::PinNode : IovaNode {
	PinNode(uint64_t first, uint64_t last) : IovaNode(first, first), last_index(last) {}
	uint64_t last_index;
};

// Spans outside the tree, owned, chained through Span::link with the most
// recently added first.
class Pages::SpanList : cxx::NoCopyNoMove {
public:
	SpanList() = default;
	~SpanList()
	{
		while (head_) {
			cxx::UniquePtr<Span> drop(pop());
		}
	}
	Span *head() const { return head_; }
	void push(Span *s)
	{
		s->link = head_;
		head_ = s;
	}
	Span *pop()
	{
		Span *s = head_;
		if (s) {
			head_ = s->link;
			s->link = nullptr;
		}
		return s;
	}

private:
	Span *head_ = nullptr;
};

// ---- filling holes ---------------------------------------------------------

// Builds the spans of one pin() call: pages are appended in index order
// into the current span's block; a new span and block start where a hole
// starts or the block is full.  The fill owns everything until commit.
class Pages::Filler : cxx::NoCopyNoMove {
public:
	explicit Filler(Pages &pages) : pages_(pages) {}
	~Filler() { CXX_ASSERT(!cur_); }

	// A new span (and block) from `index`.
	cxx::Status start(uint64_t index)
	{
		auto span = TRY(cxx::make_unique<Span>());
		span->block = TRY(cxx::make_ref<RunBlock>());
		span->start = index;
		cur_ = cxx::move(span);
		next_ = index;
		last_folio_ = kNoFolio;
		return {};
	}

	// Record `count` pages from `index`, just pinned and physically
	// contiguous from pfn; index is where the previous append ended.
	cxx::Status append(uint64_t index, uint64_t pfn, uint64_t count)
	{
		CXX_ASSERT(cur_ && index == next_);
		if (!cur_->block->continues(index, pfn)) {
			if (cur_->block->full()) {
				finish();
				TRY(start(index));
			}
			TRY(cur_->block->push(index, pfn));
		}
		next_ = index + count;
		return {};
	}

	// The current span ends with the last page appended.
	void finish()
	{
		cur_->last = next_ - 1;
		cur_->end = cur_->block->size();
		cur_->block->shrink_to_fit();
		done_.push(cur_.release());
	}

	// Undo everything: release the pages of every span built, including
	// what the current one recorded so far.
	void abort()
	{
		if (cur_ && next_ > cur_->start) {
			cur_->last = next_ - 1;
			cur_->end = cur_->block->size();
			pages_.release_span_pages(cur_.get(), nullptr);
		}
		cur_.reset();
		for (Span *s = done_.head(); s; s = s->link)
			pages_.release_span_pages(s, nullptr); // ~SpanList frees them
	}

	SpanList &done() { return done_; }

	// Memfd folios: the current block keeps one pin per folio, so a
	// folio that continued from the previous batch would give its new
	// pin back.  memfd_pin_folios() batches start on a folio boundary
	// today, so this is defence against that ever changing.
	bool same_folio_as_last(uint64_t folio_pfn) const { return folio_pfn == last_folio_; }
	void set_last_folio(uint64_t folio_pfn) { last_folio_ = folio_pfn; }

private:
	static constexpr uint64_t kNoFolio = ~0ull;
	Pages &pages_;
	cxx::UniquePtr<Span> cur_;
	SpanList done_;
	uint64_t next_ = 0;
	uint64_t last_folio_ = kNoFolio;
};

// Pin up to `count` user pages from `index` and append them; *pinned says
// how many (fewer when GUP stops short).
cxx::Status Pages::pin_user_batch(Filler &fill, uint64_t *pfns, size_t cap, uint64_t index,
				  uint64_t count, uint64_t *pinned)
{
	unsigned int n = unsigned(cxx::min<uint64_t>(count, cap));
	// Fault injection (fail_iommufd_cxx): a pin that fails outright, and
	// one that stops short as GUP may, so the caller's next batch starts in
	// the middle of a block (and can then fail there).
	if (kapi_should_fail())
		return cxx::Err(EFAULT);
	if (n > 1 && kapi_should_fail())
		n /= 2;
	long got = kapi_pin_user_pages(owner_, base_ + index * kPageSize, n, writable_, pfns);
	if (got < 0)
		return cxx::Error(int(got));
	if (got == 0 || PAGES_BUG(got > long(n)))
		return cxx::Err(EFAULT);
	for (long i = 0; i < got; i++) {
		cxx::Status st = fill.append(index + i, pfns[i], 1);
		if (!st.ok()) {
			// Not recorded anywhere: give these back one by one.
			for (long j = i; j < got; j++)
				kapi_unpin_user_pages(pfns[j], 1, false);
			return st;
		}
	}
	*pinned = uint64_t(got);
	return {};
}

// Pin the memfd folios backing up to `count` pages from `index` and append
// their pages; *pinned says how many pages that covered.
cxx::Status Pages::pin_file_batch(Filler &fill, kapi_folio *folios, size_t cap, uint64_t index,
				  uint64_t count, uint64_t *pinned)
{
	uint64_t start = base_ + index * kPageSize;
	uint64_t last = start + count * kPageSize - 1;
	uint64_t offset = 0;
	if (kapi_should_fail()) // fault injection, as for user pages
		return cxx::Err(EFAULT);
	long got = kapi_pin_file_folios(file_, start, last, folios, unsigned(cap), &offset);
	if (got < 0)
		return cxx::Error(int(got));
	if (got == 0)
		return cxx::Err(EFAULT);

	uint64_t done = 0;
	long i = 0;
	cxx::Status st;
	for (; i < got; i++, offset = 0) {
		const kapi_folio &f = folios[i];
		if (PAGES_BUG(offset >= f.npages || done == count)) {
			st = cxx::Err(EFAULT);
			break;
		}
		uint64_t take = cxx::min(f.npages - offset, count - done);
		if (fill.same_folio_as_last(f.pfn)) {
			// Already held by this block: keep one pin only.
			kapi_unpin_folios(f.pfn, 1, false, false, false);
			st = fill.append(index + done, f.pfn + offset, take);
			if (!st.ok()) {
				i++; // its pin is already given back
				break;
			}
		} else {
			st = fill.append(index + done, f.pfn + offset, take);
			if (!st.ok())
				break;
			fill.set_last_folio(f.pfn);
		}
		done += take;
	}
	if (!st.ok()) {
		// These folios hold pins that nothing records.
		for (; i < got; i++)
			kapi_unpin_folios(folios[i].pfn, 1, false, false, false);
		return st;
	}
	*pinned = done;
	return {};
}

cxx::Status Pages::fill_holes(Filler &fill, uint64_t first, uint64_t last, uint64_t holes)
{
	cxx::UniqueArray<uint64_t> pfns;
	cxx::UniqueArray<kapi_folio> folios;
	size_t cap;
	if (file_) {
		cap = batch_entries(sizeof(kapi_folio), holes);
		folios = TRY(cxx::UniqueArray<kapi_folio>::zeroed(cap));
	} else {
		cap = batch_entries(sizeof(uint64_t), holes);
		pfns = TRY(cxx::UniqueArray<uint64_t>::zeroed(cap));
	}

	cxx::Status st;
	for_each_hole(spans_, nullptr, first, last, [&](uint64_t hole, uint64_t hole_last) {
		st = fill.start(hole);
		if (!st.ok())
			return false;
		for (uint64_t next = hole; next <= hole_last;) {
			uint64_t n = 0;
			st = file_ ? pin_file_batch(fill, folios.data(), cap, next,
						    hole_last - next + 1, &n)
				   : pin_user_batch(fill, pfns.data(), cap, next,
						    hole_last - next + 1, &n);
			if (!st.ok())
				return false;
			next += n; // GUP may stop short: go on from there
		}
		fill.finish();
		return true;
	});
	if (!st.ok())
		fill.abort();
	return st;
}

uint64_t Pages::hole_pages(uint64_t first, uint64_t last)
{
	uint64_t n = 0;
	for_each_hole(spans_, nullptr, first, last, [&](uint64_t a, uint64_t b) {
		n += b - a + 1;
		return true;
	});
	return n;
}

// ---- releasing -------------------------------------------------------------

// The page index range of folio f, given that page `index` of this Pages
// has PFN pfn in it; clipped to [0, npages - 1].
void Pages::folio_span(const kapi_folio &f, uint64_t index, uint64_t pfn, uint64_t *lo,
		       uint64_t *hi) const
{
	uint64_t before = pfn - f.pfn; // pages of f before `index`
	uint64_t after = f.npages - 1 - before;
	*lo = index >= before ? index - before : 0;
	*hi = npages_ - 1 - index >= after ? index + after : npages_ - 1;
}

// Is folio f (pages [lo, hi] of this Pages) still held by s's block through
// a span other than s: one in the tree, or one released with s that comes
// before it (`left` chains those, nearest first)?
bool Pages::block_keeps_folio(const Span *s, const Span *left, const kapi_folio &f, uint64_t lo,
			      uint64_t hi) const
{
	for (Span *t = spans_.first_overlap(lo, hi); t;
	     t = IntervalTree<Span>::next_overlap(t, lo, hi))
		if (t != s && t->block.get() == s->block.get() && t->holds(lo, hi, f.pfn, f.npages))
			return true;
	for (; left && left->last >= lo; left = left->link)
		if (left->block.get() == s->block.get() && left->holds(lo, hi, f.pfn, f.npages))
			return true;
	return false;
}

// Unpin the pages of s, which no pin uses any more and which is out of the
// tree.  For memfd pages, a folio at either end of s may still be needed by
// another view of the same block (see the top of this file).
void Pages::release_span_pages(const Span *s, const Span *left)
{
	if (!file_) {
		(void)s->each_run(s->start, s->last, [&](uint64_t, uint64_t pfn, uint64_t n) {
			kapi_unpin_user_pages(pfn, n, writable_);
			return cxx::Status();
		}).ok();
		return;
	}
	bool keep_first = false;
	bool keep_last = false;
	for (int edge = 0; edge < 2; edge++) {
		uint64_t index = edge ? s->last : s->start;
		uint64_t pfn = s->pfn_at(index);
		kapi_folio f;
		kapi_folio_of(pfn, &f);
		uint64_t lo, hi;
		folio_span(f, index, pfn, &lo, &hi);
		bool keep = (lo < s->start || hi > s->last) && block_keeps_folio(s, left, f, lo, hi);
		(edge ? keep_last : keep_first) = keep;
	}
	(void)s->each_run(s->start, s->last, [&](uint64_t index, uint64_t pfn, uint64_t n) {
		bool first_run = index == s->start;
		bool is_last = index + n - 1 == s->last;
		kapi_unpin_folios(pfn, n, writable_, first_run && keep_first, is_last && keep_last);
		return cxx::Status();
	}).ok();
}

// ---- splitting and merging -------------------------------------------------

// Split s at `at` (s->start < at <= s->last): s keeps [start, at - 1] and
// `right` (fresh) takes [at, last], viewing the same block.
void Pages::split(Span *s, uint64_t at, Span *right)
{
	size_t i = s->find(at);
	spans_.erase(s);
	right->block = s->block;
	right->begin = i;
	right->end = s->end;
	right->start = at;
	right->last = s->last;
	right->users = s->users;
	right->starts = 0;
	right->ends = s->ends;
	s->end = s->block->runs()[i].index < at ? i + 1 : i;
	s->last = at - 1;
	s->ends = 0;
	spans_.insert(s);
	spans_.insert(right);
}

// If no pin starts or ends at the boundary before `at` any more and the
// spans on both sides are adjacent views of one block, make them one span
// again.  Never allocates (unpin calls it).
void Pages::try_merge(uint64_t at)
{
	if (at == 0 || at >= npages_)
		return;
	Span *l = spans_.first_overlap(at - 1, at - 1);
	Span *r = spans_.first_overlap(at, at);
	if (!l || !r || l == r || l->ends || r->starts || l->block.get() != r->block.get())
		return;
	bool shared_run = r->block->runs()[r->begin].index < at;
	if (l->end != r->begin + (shared_run ? 1 : 0))
		return;
	PAGES_BUG(l->users != r->users);
	spans_.erase(l);
	spans_.erase(r);
	l->last = r->last;
	l->end = r->end;
	l->ends = r->ends;
	spans_.insert(l);
	cxx::UniquePtr<Span> drop(r);
}

// ---- pin and unpin ---------------------------------------------------------

cxx::Status Pages::charge(uint64_t n)
{
	int rc = kapi_pin_charge(owner_, kapi_mode(), n);
	if (rc)
		return cxx::Error(rc);
	// Mid-CHANGE_PROCESS both owners carry the pages (see commit).
	if (pending_owner_) {
		rc = kapi_pin_charge(pending_owner_, kapi_mode(), n);
		if (rc) {
			kapi_pin_uncharge(owner_, kapi_mode(), n);
			return cxx::Error(rc);
		}
	}
	return {};
}

void Pages::uncharge(uint64_t n)
{
	kapi_pin_uncharge(owner_, kapi_mode(), n);
	if (pending_owner_)
		kapi_pin_uncharge(pending_owner_, kapi_mode(), n);
}

kapi_pin_account Pages::kapi_mode() const
{
	switch (mode_) {
	case AccountMode::User:
		return KAPI_PIN_ACCOUNT_USER;
	case AccountMode::Mm:
		return KAPI_PIN_ACCOUNT_MM;
	case AccountMode::None:
		break;
	}
	return KAPI_PIN_ACCOUNT_NONE;
}

// charge=false is for rw()'s pins, which live only while the mutex is held:
// a copy is not locked memory, so it must not fail on RLIMIT_MEMLOCK.
cxx::Status Pages::pin_locked(PinNode *node, bool charge_pages)
{
	const uint64_t first = node->start;
	const uint64_t last = node->last_index;

	// Everything that can fail comes first: the spare spans for splitting
	// at the new pin's edges, the charge, then pinning the holes.
	cxx::UniquePtr<Span> spare_lo, spare_hi;
	Span *s = spans_.first_overlap(first, first);
	if (s && s->start < first)
		spare_lo = TRY(cxx::make_unique<Span>());
	s = spans_.first_overlap(last, last);
	if (s && s->last > last)
		spare_hi = TRY(cxx::make_unique<Span>());

	Filler fill(*this);
	uint64_t holes = hole_pages(first, last);
	if (holes) {
		if (charge_pages)
			TRY(charge(holes));
		cxx::Status st = fill_holes(fill, first, last, holes);
		if (!st.ok()) {
			if (charge_pages)
				uncharge(holes);
			return st;
		}
	}

	// Commit; nothing below fails.
	if (spare_lo)
		split(spans_.first_overlap(first, first), first, spare_lo.release());
	if (spare_hi)
		split(spans_.first_overlap(last, last), last + 1, spare_hi.release());
	while (Span *n = fill.done().pop())
		spans_.insert(n);
	for (s = spans_.first_overlap(first, last); s;
	     s = IntervalTree<Span>::next_overlap(s, first, last)) {
		s->users++;
		s->starts += s->start == first;
		s->ends += s->last == last;
	}
	pins_.insert(node);
	npinned_ += holes;
	return {};
}

// charge=false undoes a pin_locked(node, false) made under the same hold
// of the mutex: what it releases is then exactly what that pin added.
void Pages::unpin_locked(PinNode *node, bool charged)
{
	const uint64_t first = node->start;
	const uint64_t last = node->last_index;
	pins_.erase(node);

	// Spans whose last user this was leave the tree into `gone`, in index
	// order (gone.head() is the rightmost).
	SpanList gone;
	uint64_t freed = 0;
	Span *next;
	for (Span *s = spans_.first_overlap(first, last); s; s = next) {
		next = IntervalTree<Span>::next_overlap(s, first, last);
		if (PAGES_BUG(s->start < first || s->last > last || !s->users))
			continue;
		s->starts -= s->start == first;
		s->ends -= s->last == last;
		if (--s->users)
			continue;
		spans_.erase(s);
		gone.push(s);
		freed += s->npages();
	}
	for (Span *s = gone.head(); s; s = s->link)
		release_span_pages(s, s->link);
	npinned_ -= freed;
	if (charged)
		uncharge(freed);
	try_merge(first);
	try_merge(last + 1);
}

Pages::PinNode *Pages::find_pin(uint64_t first, uint64_t last)
{
	for (PinNode *n = pins_.first_overlap(first, first); n;
	     n = IntervalTree<PinNode>::next_overlap(n, first, first))
		if (n->last_index == last)
			return n;
	return nullptr;
}

cxx::Status Pages::pin(uint64_t first, uint64_t last)
{
	if (first > last || last >= npages_)
		return cxx::Err(EINVAL);
	auto node = TRY(cxx::make_unique<PinNode>(first, last));
	cxx::Guard g(mutex_);
	TRY(pin_locked(node.get(), true));
	node.release(); // pins_ owns it until unpin()
	return {};
}

void Pages::unpin(uint64_t first, uint64_t last)
{
	cxx::Guard g(mutex_);
	PinNode *n = find_pin(first, last);
	if (PAGES_BUG(!n))
		return;
	unpin_locked(n, true);
	cxx::UniquePtr<PinNode> drop(n);
}

// ---- reading the runs ------------------------------------------------------

cxx::Status Pages::for_each_run_locked(
	uint64_t first, uint64_t last,
	cxx::FunctionRef<cxx::Status(uint64_t, uint64_t, uint64_t)> visit)
{
	if (first > last || last >= npages_)
		return cxx::Err(EINVAL);
	// Runs that continue physically across a span boundary are reported
	// as one: spans are bookkeeping, the visitor wants the largest runs.
	uint64_t run_index = 0, run_pfn = 0, run_count = 0;
	uint64_t expect = first;
	for (Span *s = spans_.first_overlap(first, last); s;
	     s = IntervalTree<Span>::next_overlap(s, first, last)) {
		if (PAGES_BUG(s->start > expect))
			return cxx::Err(EINVAL); // the caller did not pin it
		TRY(s->each_run(first, last, [&](uint64_t index, uint64_t pfn,
						 uint64_t n) -> cxx::Status {
			if (run_count && run_pfn + run_count == pfn) {
				run_count += n;
				return {};
			}
			if (run_count)
				TRY(visit(run_index, run_pfn, run_count));
			run_index = index;
			run_pfn = pfn;
			run_count = n;
			return {};
		}));
		expect = s->last + 1;
	}
	if (PAGES_BUG(expect <= last))
		return cxx::Err(EINVAL);
	return visit(run_index, run_pfn, run_count);
}

cxx::Status Pages::for_each_run(
	uint64_t first, uint64_t last,
	cxx::FunctionRef<cxx::Status(uint64_t index, uint64_t pfn, uint64_t count)> visit)
{
	cxx::Guard g(mutex_);
	return for_each_run_locked(first, last, visit);
}

cxx::Status Pages::rw(uint64_t offset, void *buf, size_t len, bool write)
{
	if (write && !writable_)
		return cxx::Err(EPERM);
	if (!len)
		return {};
	uint64_t end = TRY(cxx::checked_add<uint64_t>(offset, len));
	if (end > length_)
		return cxx::Err(EINVAL);
	const uint64_t byte = first_offset_ + offset; // from base_
	const uint64_t byte_last = byte + len - 1;
	const uint64_t first = byte / kPageSize;
	const uint64_t last = byte_last / kPageSize;
	auto *data = static_cast<uint8_t *>(buf);

	// Upstream's fast path: a caller running in the process the memory
	// belongs to copies through the user address itself, no pin and no
	// lock held across a fault.  (A page pinned for a domain is the page
	// mapped there unless user space remapped the range since; upstream
	// ignores that case too.)  Anyone else (another process, a kthread)
	// pins the pages for the copy.
	if (!file_) {
		bool own;
		{
			cxx::Guard g(mutex_);
			own = kapi_pin_owner_is_current(owner_);
		}
		if (own) {
			uint64_t uptr = base_ + byte;
			int rc = write ? kapi_copy_to_user(uptr, buf, len)
				       : kapi_copy_from_user(buf, uptr, len);
			return rc ? cxx::Error(rc) : cxx::Status();
		}
	}

	cxx::Guard g(mutex_);
	// Pinned only for this call, uncharged (see pin_locked); the node
	// lives on the stack.
	PinNode node(first, last);
	TRY(pin_locked(&node, false));
	cxx::Status st = for_each_run_locked(first, last, [&](uint64_t index, uint64_t pfn,
								 uint64_t n) {
		for (uint64_t i = 0; i < n; i++) {
			uint64_t page_byte = (index + i) * kPageSize;
			uint64_t from = cxx::max(page_byte, byte);
			uint64_t to = cxx::min(page_byte + kPageSize - 1, byte_last);
			kapi_copy_page(pfn + i, from - page_byte, data + (from - byte), to - from + 1,
				       write);
		}
		return cxx::Status();
	});
	unpin_locked(&node, false);
	return st;
}

uint64_t Pages::npinned()
{
	cxx::Guard g(mutex_);
	return npinned_;
}

// ---- creation, ownership, teardown -----------------------------------------

Pages::Pages(Key, uint64_t base, uint64_t offset, uint64_t length, bool writable)
	: base_(base), first_offset_(offset), length_(length),
	  npages_((offset + length - 1) / kPageSize + 1), writable_(writable)
{
}

namespace {

// Shared by both constructors: the checks on the range.
cxx::Status check_range(uint64_t start, uint64_t length)
{
	// Lengths near 2^64 would overflow the page count (and the iommu
	// API's size_t); upstream refuses them the same way.
	if (length == 0 || length > SIZE_MAX - kPageSize)
		return cxx::Err(EINVAL);
	TRY(cxx::checked_add(start, length));
	return {};
}

} // namespace

cxx::Result<cxx::RefPtr<Pages>> Pages::create_user(uint64_t uptr, uint64_t length, bool writable,
						   AccountMode mode)
{
	TRY(check_range(uptr, length));
	uint64_t base = uptr & ~(kPageSize - 1);
	auto pages = TRY(cxx::make_ref<Pages>(Key(), base, uptr - base, length, writable));
	pages->mutex_ = TRY(cxx::Mutex::create(KAPI_LOCK_PAGES));
	pages->owner_ = kapi_pin_owner_current();
	if (!pages->owner_)
		return cxx::Err(ENOMEM);
	pages->mode_ = kapi_capable_ipc_lock() ? AccountMode::None : mode;
	return pages;
}

cxx::Result<cxx::RefPtr<Pages>> Pages::create_file(int fd, uint64_t start, uint64_t length,
						   bool writable, AccountMode mode)
{
	TRY(check_range(start, length));
	uint64_t base = start & ~(kPageSize - 1);
	auto pages = TRY(cxx::make_ref<Pages>(Key(), base, start - base, length, writable));
	int rc = kapi_pin_file_get(fd, writable, &pages->file_);
	if (rc)
		return cxx::Error(rc);
	// memfd_pin_folios() would refuse it anyway, but only once pinned;
	// say so at map time.  A file grown later can be mapped then.
	if (start + length > kapi_pin_file_size(pages->file_))
		return cxx::Err(EINVAL);
	pages->mutex_ = TRY(cxx::Mutex::create(KAPI_LOCK_PAGES));
	pages->owner_ = kapi_pin_owner_current();
	if (!pages->owner_)
		return cxx::Err(ENOMEM);
	pages->mode_ = kapi_capable_ipc_lock() ? AccountMode::None : mode;
	return pages;
}

// Drop every pin (only reached through a bug in a user: each pin should
// have been undone) so that no page stays pinned forever.
void Pages::release_all()
{
	while (PinNode *n = pins_.first()) {
		pins_.erase(n);
		cxx::UniquePtr<PinNode> drop(n);
	}
	SpanList gone;
	while (Span *s = spans_.first()) {
		spans_.erase(s);
		gone.push(s);
	}
	for (Span *s = gone.head(); s; s = s->link)
		release_span_pages(s, s->link);
	uncharge(npinned_);
	npinned_ = 0;
}

Pages::~Pages()
{
	if (PAGES_BUG(!pins_.empty() || !spans_.empty()))
		release_all();
	if (pending_owner_)
		change_process_abort_locked();
	kapi_pin_owner_put(owner_);
	kapi_pin_file_put(file_);
}

cxx::Status Pages::change_process_prepare()
{
	if (!file_)
		return cxx::Err(EINVAL);
	kapi_pin_owner *o = kapi_pin_owner_current();
	if (!o)
		return cxx::Err(ENOMEM);
	cxx::Guard g(mutex_);
	if (PAGES_BUG(pending_owner_ != nullptr)) {
		kapi_pin_owner_put(o);
		return cxx::Err(EBUSY);
	}
	int rc = kapi_pin_charge(o, kapi_mode(), npinned_);
	if (rc) {
		kapi_pin_owner_put(o);
		return cxx::Error(rc);
	}
	pending_owner_ = o;
	return {};
}

void Pages::change_process_commit()
{
	cxx::Guard g(mutex_);
	if (PAGES_BUG(!pending_owner_))
		return;
	kapi_pin_uncharge(owner_, kapi_mode(), npinned_);
	kapi_pin_owner_put(owner_);
	owner_ = cxx::exchange(pending_owner_, nullptr);
}

void Pages::change_process_abort_locked()
{
	kapi_pin_uncharge(pending_owner_, kapi_mode(), npinned_);
	kapi_pin_owner_put(cxx::exchange(pending_owner_, nullptr));
}

void Pages::change_process_abort()
{
	cxx::Guard g(mutex_);
	if (PAGES_BUG(!pending_owner_))
		return;
	change_process_abort_locked();
}

// ---- checks for tests ------------------------------------------------------

bool Pages::validate()
{
	cxx::Guard g(mutex_);
	if (!spans_.validate() || !pins_.validate())
		return false;
	uint64_t total = 0;
	const Span *prev = nullptr;
	for (const Span *s = spans_.first(); s; s = IntervalTree<Span>::next(s)) {
		if (s->start > s->last || s->last >= npages_)
			return false;
		if (prev && prev->last >= s->start)
			return false;
		const RunBlock *b = s->block.get();
		if (!b || s->begin >= s->end || s->end > b->size())
			return false;
		const Run *r = b->runs();
		if (r[s->begin].index > s->start || r[s->end - 1].index > s->last)
			return false;
		if (s->end < b->size() && r[s->end].index <= s->last)
			return false;
		if (s->begin + 1 < s->end && r[s->begin + 1].index <= s->start)
			return false;
		uint64_t users = 0, starts = 0, ends = 0;
		for (const PinNode *p = pins_.first(); p; p = IntervalTree<PinNode>::next(p)) {
			bool covers = p->start <= s->start && s->last <= p->last_index;
			bool apart = p->last_index < s->start || s->last < p->start;
			if (!covers && !apart)
				return false; // spans must be split at pin edges
			users += covers;
			starts += p->start == s->start;
			ends += p->last_index == s->last;
		}
		if (!users || users != s->users || starts != s->starts || ends != s->ends)
			return false;
		total += s->npages();
		prev = s;
	}
	return total == npinned_;
}

size_t Pages::nspans()
{
	cxx::Guard g(mutex_);
	return spans_.size();
}

size_t Pages::nruns()
{
	cxx::Guard g(mutex_);
	size_t n = 0;
	for (const Span *s = spans_.first(); s; s = IntervalTree<Span>::next(s))
		n += s->end - s->begin;
	return n;
}

} // namespace iommufd::iopt
