// SPDX-License-Identifier: GPL-2.0
//
// interval_tree.hpp - an intrusive tree of closed intervals [start, last].
//
// The io_pagetable keeps three sets of IOVA intervals (areas, reserved and
// allowed ranges) and needs, for each, "the lowest interval that meets
// [a, b]" in O(log n), ordered iteration, and insert/erase that never
// allocate (erase runs on unmap and destroy paths, which must not fail).
// So the nodes live inside the objects they describe (an Area *is* an
// IovaNode) and the tree only links them.
//
// The tree is an AVL tree ordered by start (equal starts go right, so
// iteration is stable), with parent links for O(1)-amortised in-order
// stepping, and augmented: each node also records the largest `last` in its
// subtree, which lets an overlap search skip every subtree that ends before
// the query begins.  Heights rather than colours keep the rebalancing code
// short enough to check by reading; the invariants are verified by
// IntervalTreeBase::validate() in the hosted tests.
//
// Not thread safe: the owner serialises access (IoPagetable's lock).
#pragma once

#include "cxxrt/base.hpp"

namespace iommufd::iopt {

class IntervalTreeBase;

// Embed (inherit) this in anything kept in an IntervalTree.  start and last
// may be changed only while the node is not in a tree.
class IovaNode {
public:
	IovaNode() = default;
	IovaNode(uint64_t start, uint64_t last) : start(start), last(last) {}
	IovaNode(const IovaNode &) = delete;
	IovaNode &operator=(const IovaNode &) = delete;

	bool linked() const { return height_ != 0; }

	uint64_t start = 0;
	uint64_t last = 0;

private:
	friend class IntervalTreeBase;
	IovaNode *left_ = nullptr;
	IovaNode *right_ = nullptr;
	IovaNode *parent_ = nullptr;
	uint64_t subtree_last_ = 0;
	int32_t height_ = 0; // 0: not in a tree; a leaf has height 1
};

class IntervalTreeBase : cxx::NoCopyNoMove {
public:
	bool empty() const { return root_ == nullptr; }
	size_t size() const { return size_; }

	void insert(IovaNode *n);
	void erase(IovaNode *n);

	// Lowest-start node, and in-order successor (nullptr at the end).
	IovaNode *first() const;
	static IovaNode *next(const IovaNode *n);

	// The lowest-start node intersecting [start, last], and the next one
	// after `n` (in order) that does; nullptr if none.  O(log n) each.
	IovaNode *first_overlap(uint64_t start, uint64_t last) const;
	static IovaNode *next_overlap(const IovaNode *n, uint64_t start, uint64_t last);

	// Exchange the contents of two trees (the nodes stay where they are).
	void swap(IntervalTreeBase &o)
	{
		o.root_ = cxx::exchange(root_, o.root_);
		o.size_ = cxx::exchange(size_, o.size_);
	}

	// Check every structural invariant (order, parent links, heights and
	// AVL balance, subtree_last, size).  For tests; O(n).
	bool validate() const;

protected:
	IntervalTreeBase() = default;
	~IntervalTreeBase() = default;

private:
	static IovaNode *leftmost(IovaNode *n);
	static IovaNode *subtree_first_overlap(IovaNode *n, uint64_t start, uint64_t last);
	static int32_t height(const IovaNode *n);
	static void update(IovaNode *n);
	void replace_child(IovaNode *parent, IovaNode *old_child, IovaNode *new_child);
	IovaNode *rotate_left(IovaNode *x);
	IovaNode *rotate_right(IovaNode *x);
	IovaNode *rebalance(IovaNode *n);
	void fixup_upwards(IovaNode *n);
	static int32_t validate_subtree(const IovaNode *n, const IovaNode *parent,
					size_t *count, bool *ok);

	IovaNode *root_ = nullptr;
	size_t size_ = 0;
};

// The typed face: T must derive from IovaNode.
template <typename T> class IntervalTree : public IntervalTreeBase {
public:
	IntervalTree() = default;

	void insert(T *n) { IntervalTreeBase::insert(n); }
	void erase(T *n) { IntervalTreeBase::erase(n); }
	T *first() const { return cast(IntervalTreeBase::first()); }
	static T *next(const T *n) { return cast(IntervalTreeBase::next(n)); }
	T *first_overlap(uint64_t start, uint64_t last) const
	{
		return cast(IntervalTreeBase::first_overlap(start, last));
	}
	static T *next_overlap(const T *n, uint64_t start, uint64_t last)
	{
		return cast(IntervalTreeBase::next_overlap(n, start, last));
	}
	void swap(IntervalTree &o) { IntervalTreeBase::swap(o); }

private:
	static T *cast(IovaNode *n) { return static_cast<T *>(n); }
};

// Walk the gaps of [start, last] that no node of `a` (nor of `b`, when
// given) covers, in increasing order: visit(hole_start, hole_last) returns
// false to stop early.  Overlapping nodes are fine: covered stretches are
// merged.  Each step is one overlap query per tree, so the walk costs
// O(k log n) for k holes.  Returns false if visit stopped it.
template <typename Visit>
bool for_each_hole(const IntervalTreeBase &a, const IntervalTreeBase *b, uint64_t start,
		   uint64_t last, Visit &&visit)
{
	uint64_t cur = start;
	for (;;) {
		// The covered stretch that comes first: lowest start of either.
		const IovaNode *n = a.first_overlap(cur, last);
		if (b) {
			const IovaNode *m = b->first_overlap(cur, last);
			if (m && (!n || m->start < n->start))
				n = m;
		}
		if (!n)
			return visit(cur, last);
		if (n->start > cur && !visit(cur, n->start - 1))
			return false;
		if (n->last >= last)
			return true;
		cur = n->last + 1;
	}
}

} // namespace iommufd::iopt
