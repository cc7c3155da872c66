// SPDX-License-Identifier: GPL-2.0
//
// interval_tree_test.cpp - the intrusive augmented AVL tree against a plain
// reference model (a vector scanned linearly): many random inserts, erases
// and overlap queries, with every structural invariant checked as it goes,
// plus the hole walk against a bitmap.  Runs under ASan/UBSan, so a stale
// link or a use after erase shows up as well as a wrong answer.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "iopt/interval_tree.hpp"

using namespace iommufd::iopt;

namespace {

struct TNode : IovaNode {
	int id = 0;
};

// The reference: the nodes currently in the tree.
struct Model {
	std::vector<TNode *> nodes;

	TNode *first_overlap(uint64_t s, uint64_t l) const
	{
		TNode *best = nullptr;
		for (TNode *n : nodes)
			if (n->start <= l && n->last >= s && (!best || n->start < best->start))
				best = n;
		return best;
	}
	std::vector<int> overlaps(uint64_t s, uint64_t l) const
	{
		std::vector<int> ids;
		for (TNode *n : nodes)
			if (n->start <= l && n->last >= s)
				ids.push_back(n->id);
		std::sort(ids.begin(), ids.end());
		return ids;
	}
};

// Every node meeting [s, l] via first_overlap/next_overlap: each one once,
// in non-decreasing start order.
std::vector<int> tree_overlaps(const IntervalTree<TNode> &t, uint64_t s, uint64_t l)
{
	std::vector<int> ids;
	uint64_t prev_start = 0;
	for (TNode *n = t.first_overlap(s, l); n; n = t.next_overlap(n, s, l)) {
		EXPECT_TRUE(n->start <= l && n->last >= s);
		EXPECT_LE(prev_start, n->start);
		prev_start = n->start;
		ids.push_back(n->id);
	}
	std::sort(ids.begin(), ids.end());
	return ids;
}

TEST(IntervalTree, EmptyTree)
{
	IntervalTree<TNode> t;
	EXPECT_TRUE(t.empty());
	EXPECT_EQ(nullptr, t.first());
	EXPECT_EQ(nullptr, t.first_overlap(0, UINT64_MAX));
	EXPECT_TRUE(t.validate());
}

TEST(IntervalTree, SequentialInsertStaysBalanced)
{
	constexpr int kN = 4096;
	std::vector<TNode> nodes(kN);
	IntervalTree<TNode> t;
	for (int i = 0; i < kN; i++) {
		nodes[i].start = uint64_t(i) * 10;
		nodes[i].last = nodes[i].start + 4;
		nodes[i].id = i;
		t.insert(&nodes[i]);
	}
	ASSERT_TRUE(t.validate());
	EXPECT_EQ(size_t(kN), t.size());
	// In order, and first_overlap finds exactly the right node.
	int i = 0;
	for (TNode *n = t.first(); n; n = t.next(n))
		EXPECT_EQ(i++, n->id);
	EXPECT_EQ(kN, i);
	EXPECT_EQ(1234, t.first_overlap(12343, 12343)->id);
	EXPECT_EQ(nullptr, t.first_overlap(12345, 12349));
	// Erase from the front (the other rotation direction).
	for (int j = 0; j < kN; j++) {
		t.erase(&nodes[j]);
		EXPECT_FALSE(nodes[j].linked());
		if (j % 97 == 0) {
			ASSERT_TRUE(t.validate());
		}
	}
	EXPECT_TRUE(t.empty());
}

TEST(IntervalTree, ExtremeBounds)
{
	TNode all, top, bottom;
	all.start = 0;
	all.last = UINT64_MAX;
	top.start = top.last = UINT64_MAX;
	bottom.start = bottom.last = 0;
	IntervalTree<TNode> t;
	t.insert(&top);
	t.insert(&bottom);
	EXPECT_EQ(&top, t.first_overlap(UINT64_MAX, UINT64_MAX));
	EXPECT_EQ(&bottom, t.first_overlap(0, UINT64_MAX));
	EXPECT_EQ(nullptr, t.first_overlap(1, UINT64_MAX - 1));
	t.insert(&all);
	EXPECT_EQ(&all, t.first_overlap(1, UINT64_MAX - 1));
	EXPECT_TRUE(t.validate());
}

// The main property test: random operations on up to a few hundred nodes
// over a small coordinate range (so intervals overlap and starts repeat),
// checked against the model after every step.
TEST(IntervalTree, RandomAgainstModel)
{
	constexpr int kPool = 600;
	constexpr int kOps = 60000;
	std::mt19937_64 rng(12345);
	std::vector<TNode> pool(kPool);
	for (int i = 0; i < kPool; i++)
		pool[i].id = i;
	std::vector<int> free_ids;
	for (int i = 0; i < kPool; i++)
		free_ids.push_back(i);

	IntervalTree<TNode> t;
	Model m;
	auto coord = [&]() -> uint64_t {
		// Mostly small numbers, sometimes near the top of the space.
		uint64_t v = rng() % 2000;
		return rng() % 16 == 0 ? UINT64_MAX - v : v;
	};

	for (int op = 0; op < kOps; op++) {
		unsigned what = rng() % 10;
		if (what < 4 && !free_ids.empty()) {
			size_t k = rng() % free_ids.size();
			TNode *n = &pool[free_ids[k]];
			free_ids.erase(free_ids.begin() + k);
			// Mostly short intervals, so that a subtree's reach
			// (subtree_last) differs from its root's; some long.
			n->start = coord();
			n->last = n->start + (rng() % 8 ? rng() % 16 : rng() % 1000);
			if (n->last < n->start)
				n->last = UINT64_MAX;
			t.insert(n);
			m.nodes.push_back(n);
		} else if (what < 7 && !m.nodes.empty()) {
			size_t k = rng() % m.nodes.size();
			TNode *n = m.nodes[k];
			m.nodes.erase(m.nodes.begin() + k);
			t.erase(n);
			free_ids.push_back(n->id);
		} else {
			uint64_t s = coord();
			uint64_t l = s + (rng() % 4 ? rng() % 32 : rng() % 2000);
			if (l < s)
				l = UINT64_MAX;
			TNode *want = m.first_overlap(s, l);
			TNode *got = t.first_overlap(s, l);
			ASSERT_EQ(want == nullptr, got == nullptr) << "op " << op;
			if (want) {
				// Ties on start may pick either node.
				ASSERT_EQ(want->start, got->start) << "op " << op;
				ASSERT_TRUE(got->start <= l && got->last >= s);
			}
			ASSERT_EQ(m.overlaps(s, l), tree_overlaps(t, s, l)) << "op " << op;
		}
		ASSERT_EQ(m.nodes.size(), t.size());
		if (op % 64 == 0) {
			ASSERT_TRUE(t.validate()) << "op " << op;
		}
	}
	ASSERT_TRUE(t.validate());
	while (TNode *n = t.first())
		t.erase(n);
	EXPECT_TRUE(t.empty());
}

// for_each_hole over two trees against a bitmap of covered points.
TEST(IntervalTree, HolesAgainstBitmap)
{
	constexpr uint64_t kSpan = 512;
	std::mt19937_64 rng(777);
	for (int round = 0; round < 300; round++) {
		std::vector<TNode> a_nodes(rng() % 12), b_nodes(rng() % 12);
		IntervalTree<TNode> a, b;
		std::vector<bool> covered(kSpan, false);
		auto fill = [&](std::vector<TNode> &nodes, IntervalTree<TNode> &t) {
			for (TNode &n : nodes) {
				n.start = rng() % kSpan;
				n.last = std::min<uint64_t>(kSpan - 1, n.start + rng() % 40);
				t.insert(&n);
				for (uint64_t x = n.start; x <= n.last; x++)
					covered[x] = true;
			}
		};
		fill(a_nodes, a);
		fill(b_nodes, b);
		uint64_t s = rng() % kSpan, l = rng() % kSpan;
		if (s > l)
			std::swap(s, l);

		std::vector<std::pair<uint64_t, uint64_t>> want, got;
		for (uint64_t x = s; x <= l; x++) {
			if (covered[x])
				continue;
			if (!want.empty() && want.back().second == x - 1)
				want.back().second = x;
			else
				want.push_back({ x, x });
		}
		for_each_hole(a, &b, s, l, [&](uint64_t hs, uint64_t hl) {
			got.push_back({ hs, hl });
			return true;
		});
		ASSERT_EQ(want, got) << "round " << round;

		// Stopping early stops.
		int calls = 0;
		bool done = for_each_hole(a, &b, s, l, [&](uint64_t, uint64_t) {
			calls++;
			return false;
		});
		EXPECT_EQ(want.empty() ? 0 : 1, calls);
		EXPECT_EQ(want.empty(), done);

		for (TNode &n : a_nodes)
			a.erase(&n);
		for (TNode &n : b_nodes)
			b.erase(&n);
	}
}

TEST(IntervalTree, HolesOfTheWholeSpace)
{
	IntervalTree<TNode> t;
	std::vector<std::pair<uint64_t, uint64_t>> got;
	auto collect = [&](uint64_t s, uint64_t l) {
		got.push_back({ s, l });
		return true;
	};
	for_each_hole(t, nullptr, 0, UINT64_MAX, collect);
	ASSERT_EQ(1u, got.size());
	EXPECT_EQ(0u, got[0].first);
	EXPECT_EQ(UINT64_MAX, got[0].second);

	TNode lo, hi;
	lo.start = 0;
	lo.last = 4095;
	hi.start = UINT64_MAX - 4095;
	hi.last = UINT64_MAX;
	t.insert(&lo);
	t.insert(&hi);
	got.clear();
	for_each_hole(t, nullptr, 0, UINT64_MAX, collect);
	ASSERT_EQ(1u, got.size());
	EXPECT_EQ(4096u, got[0].first);
	EXPECT_EQ(UINT64_MAX - 4096, got[0].second);
	t.erase(&lo);
	t.erase(&hi);
}

} // namespace
