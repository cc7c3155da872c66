// SPDX-License-Identifier: GPL-2.0
//
// interval_tree.cpp - the augmented AVL tree behind IntervalTree (see
// interval_tree.hpp).  Every structural change ends in fixup_upwards(),
// which walks from the lowest changed node to the root recomputing height
// and subtree_last and rotating where the balance factor reached 2; a path
// is O(log n) long, so insert and erase stay O(log n) and never allocate.
#include "interval_tree.hpp"

#include "cxxrt/assert.hpp"

namespace iommufd::iopt {

int32_t IntervalTreeBase::height(const IovaNode *n) { return n ? n->height_ : 0; }

void IntervalTreeBase::update(IovaNode *n)
{
	int32_t hl = n->left_ ? n->left_->height_ : 0;
	int32_t hr = n->right_ ? n->right_->height_ : 0;
	n->height_ = 1 + cxx::max(hl, hr);
	uint64_t sl = n->last;
	if (n->left_)
		sl = cxx::max(sl, n->left_->subtree_last_);
	if (n->right_)
		sl = cxx::max(sl, n->right_->subtree_last_);
	n->subtree_last_ = sl;
}

void IntervalTreeBase::replace_child(IovaNode *parent, IovaNode *old_child,
				     IovaNode *new_child)
{
	if (!parent)
		root_ = new_child;
	else if (parent->left_ == old_child)
		parent->left_ = new_child;
	else
		parent->right_ = new_child;
}

// x's right child y becomes the subtree root; y's left subtree moves
// across to become x's right subtree.  In-order sequence is unchanged.
IovaNode *IntervalTreeBase::rotate_left(IovaNode *x)
{
	IovaNode *y = x->right_;
	x->right_ = y->left_;
	if (y->left_)
		y->left_->parent_ = x;
	y->parent_ = x->parent_;
	replace_child(x->parent_, x, y);
	y->left_ = x;
	x->parent_ = y;
	update(x);
	update(y);
	return y;
}

IovaNode *IntervalTreeBase::rotate_right(IovaNode *x)
{
	IovaNode *y = x->left_;
	x->left_ = y->right_;
	if (y->right_)
		y->right_->parent_ = x;
	y->parent_ = x->parent_;
	replace_child(x->parent_, x, y);
	y->right_ = x;
	x->parent_ = y;
	update(x);
	update(y);
	return y;
}

// Restore balance at n, whose subtrees are balanced and up to date; returns
// the node now at n's position.
IovaNode *IntervalTreeBase::rebalance(IovaNode *n)
{
	int32_t bf = height(n->left_) - height(n->right_);
	if (bf > 1) {
		if (height(n->left_->left_) < height(n->left_->right_))
			rotate_left(n->left_);
		return rotate_right(n);
	}
	if (bf < -1) {
		if (height(n->right_->right_) < height(n->right_->left_))
			rotate_right(n->right_);
		return rotate_left(n);
	}
	update(n);
	return n;
}

// Heights and subtree_last of every ancestor may have changed, so the walk
// always reaches the root (an early stop would leave subtree_last stale).
void IntervalTreeBase::fixup_upwards(IovaNode *n)
{
	while (n)
		n = rebalance(n)->parent_;
}

void IntervalTreeBase::insert(IovaNode *n)
{
	CXX_ASSERT(!n->linked() && n->start <= n->last);
	IovaNode *parent = nullptr;
	IovaNode **link = &root_;
	while (*link) {
		parent = *link;
		link = n->start < parent->start ? &parent->left_ : &parent->right_;
	}
	n->left_ = n->right_ = nullptr;
	n->parent_ = parent;
	n->height_ = 1;
	n->subtree_last_ = n->last;
	*link = n;
	size_++;
	fixup_upwards(parent);
}

void IntervalTreeBase::erase(IovaNode *n)
{
	CXX_ASSERT(n->linked() && size_ > 0);
	IovaNode *fix_from;
	if (n->left_ && n->right_) {
		// Two children: the in-order successor s (leftmost of the right
		// subtree, so it has no left child) takes n's place.  Nodes are
		// intrusive, so it is relinked rather than having keys copied.
		IovaNode *s = leftmost(n->right_);
		if (s->parent_ == n) {
			fix_from = s;
		} else {
			fix_from = s->parent_;
			fix_from->left_ = s->right_;
			if (s->right_)
				s->right_->parent_ = fix_from;
			s->right_ = n->right_;
			s->right_->parent_ = s;
		}
		s->left_ = n->left_;
		s->left_->parent_ = s;
		s->parent_ = n->parent_;
		replace_child(n->parent_, n, s);
	} else {
		IovaNode *child = n->left_ ? n->left_ : n->right_;
		if (child)
			child->parent_ = n->parent_;
		replace_child(n->parent_, n, child);
		fix_from = n->parent_;
	}
	n->left_ = n->right_ = n->parent_ = nullptr;
	n->height_ = 0;
	size_--;
	fixup_upwards(fix_from);
}

IovaNode *IntervalTreeBase::leftmost(IovaNode *n)
{
	while (n && n->left_)
		n = n->left_;
	return n;
}

IovaNode *IntervalTreeBase::first() const { return leftmost(root_); }

IovaNode *IntervalTreeBase::next(const IovaNode *cn)
{
	IovaNode *n = const_cast<IovaNode *>(cn);
	if (n->right_)
		return leftmost(n->right_);
	IovaNode *p = n->parent_;
	while (p && n == p->right_) {
		n = p;
		p = p->parent_;
	}
	return p;
}

// Within the subtree at n, the lowest-start node meeting [start, last].
// Descending left is right whenever the left subtree reaches `start`: some
// node x there ends at or after start, and either x begins by `last` (so
// the answer is on the left) or x and everything after it begin too late.
IovaNode *IntervalTreeBase::subtree_first_overlap(IovaNode *n, uint64_t start, uint64_t last)
{
	for (;;) {
		if (n->left_ && n->left_->subtree_last_ >= start) {
			n = n->left_;
			continue;
		}
		if (n->start > last)
			return nullptr;
		if (n->last >= start)
			return n;
		if (n->right_ && n->right_->subtree_last_ >= start) {
			n = n->right_;
			continue;
		}
		return nullptr;
	}
}

IovaNode *IntervalTreeBase::first_overlap(uint64_t start, uint64_t last) const
{
	if (!root_ || root_->subtree_last_ < start)
		return nullptr;
	return subtree_first_overlap(root_, start, last);
}

IovaNode *IntervalTreeBase::next_overlap(const IovaNode *cn, uint64_t start, uint64_t last)
{
	IovaNode *n = const_cast<IovaNode *>(cn);
	for (;;) {
		// Everything in n's right subtree comes before n's later
		// ancestors, and those begin no earlier: if the right subtree
		// reaches `start`, its answer (or its absence) is final.
		if (n->right_ && n->right_->subtree_last_ >= start)
			return subtree_first_overlap(n->right_, start, last);
		// Climb to the first ancestor we reach from its left side:
		// the next node in order.
		IovaNode *prev;
		do {
			prev = n;
			n = n->parent_;
			if (!n)
				return nullptr;
		} while (prev == n->right_);
		if (n->start > last)
			return nullptr;
		if (n->last >= start)
			return n;
	}
}

int32_t IntervalTreeBase::validate_subtree(const IovaNode *n, const IovaNode *parent,
					   size_t *count, bool *ok)
{
	if (!n)
		return 0;
	(*count)++;
	if (n->parent_ != parent || n->start > n->last)
		*ok = false;
	if (n->left_ && n->left_->start > n->start)
		*ok = false;
	if (n->right_ && n->right_->start < n->start)
		*ok = false;
	int32_t hl = validate_subtree(n->left_, n, count, ok);
	int32_t hr = validate_subtree(n->right_, n, count, ok);
	if (hl - hr > 1 || hr - hl > 1 || n->height_ != 1 + cxx::max(hl, hr))
		*ok = false;
	uint64_t sl = n->last;
	if (n->left_)
		sl = cxx::max(sl, n->left_->subtree_last_);
	if (n->right_)
		sl = cxx::max(sl, n->right_->subtree_last_);
	if (n->subtree_last_ != sl)
		*ok = false;
	return n->height_;
}

bool IntervalTreeBase::validate() const
{
	size_t count = 0;
	bool ok = true;
	validate_subtree(root_, nullptr, &count, &ok);
	if (count != size_)
		return false;
	// In-order walk through next() must be sorted by start and complete.
	size_t walked = 0;
	for (const IovaNode *n = first(), *prev = nullptr; n; prev = n, n = next(n)) {
		if (prev && prev->start > n->start)
			return false;
		walked++;
	}
	return ok && walked == size_;
}

} // namespace iommufd::iopt
