// SPDX-License-Identifier: GPL-2.0
//
// smmuv3_walk_test.cpp - the software SMMUv3 model's stage-1 walker and
// TLB (module/smmuv3/walk.hpp) over real AArch64 4 KiB-granule tables
// built in a byte array: pages, 2 MiB and 1 GiB blocks through 4-level and
// 3-level walks, the start level each T0SZ gives, TTB1 and out-of-range
// IOVAs, every fault kind with its level and SMMUv3 event number,
// AP[2:1] and APTable permissions, stage-2 faults on table and output
// IPAs, configurations the walker rejects, and a TLB whose entries stay
// stale until the matching invalidation.
#include <gtest/gtest.h>
#include <string.h>

#include <vector>

#include "smmuv3/walk.hpp"

#include "smmuv3_desc.h"

using namespace iommufd::smmuv3;

namespace {

using namespace smmuv3_desc;
constexpr uint64_t K4 = 1ull << 12, M2 = 1ull << 21, G1 = 1ull << 30;

// Guest memory: IPAs [kIpaBase, kIpaBase + size) hold the tables; stage 2
// moves them to PA + kPaOffset so the test sees both stages applied.
constexpr uint64_t kIpaBase = 0x8000'0000;
constexpr uint64_t kPaOffset = 0x10'0000'0000;

class Mem {
public:
	explicit Mem(unsigned pages = 32) : bytes_(pages * K4, 0) {}

	uint64_t alloc()
	{
		uint64_t ipa = kIpaBase + next_ * K4;
		next_++;
		EXPECT_LE(next_ * K4, bytes_.size());
		return ipa;
	}
	void set(uint64_t table_ipa, uint64_t index, uint64_t desc)
	{
		memcpy(&bytes_[table_ipa - kIpaBase + index * 8], &desc, 8);
	}
	uint64_t get(uint64_t table_ipa, uint64_t index) const
	{
		uint64_t d;
		memcpy(&d, &bytes_[table_ipa - kIpaBase + index * 8], 8);
		return d;
	}

	// Map iova to oa with a leaf at leaf_level (attrs ORed in), creating
	// tables from the start level the input size gives.
	void map(uint64_t ttb, unsigned ia_bits, uint64_t iova, uint64_t oa, unsigned leaf_level,
		 uint64_t attrs)
	{
		unsigned start = 4 - (ia_bits - 12 + 8) / 9;
		uint64_t table = ttb;
		for (unsigned level = start;; level++) {
			unsigned shift = 12 + 9 * (3 - level);
			unsigned bits = level == start ? ia_bits - shift : 9;
			uint64_t index = (iova >> shift) & ((1ull << bits) - 1);
			if (level == leaf_level) {
				set(table, index, oa | attrs);
				return;
			}
			uint64_t d = get(table, index);
			if (!(d & kValid)) {
				d = alloc() | kTable;
				set(table, index, d);
			}
			table = d & 0x0000'ffff'ffff'f000;
		}
	}

	uint64_t pa_to_index(uint64_t pa) const { return pa - kPaOffset - kIpaBase; }

	cxx::Result<uint64_t> stage2(uint64_t ipa, bool write)
	{
		s2_calls++;
		if (ipa >= kIpaBase && ipa - kIpaBase < bytes_.size() && !refuse_table)
			return ipa + kPaOffset;
		// Outside the table memory: an output page, mapped 1:1 plus the
		// offset unless the test refuses it.
		if (ipa < kIpaBase || ipa - kIpaBase >= bytes_.size()) {
			if (refuse_output)
				return cxx::Error(refuse_output);
			return ipa + kPaOffset;
		}
		return cxx::Err(ENOENT);
	}
	cxx::Result<uint64_t> read(uint64_t pa)
	{
		reads++;
		if (fail_reads)
			return cxx::Err(EIO);
		uint64_t i = pa_to_index(pa);
		EXPECT_EQ(0u, i % 8);
		EXPECT_LT(i, bytes_.size());
		uint64_t d;
		memcpy(&d, &bytes_[i], 8);
		return d;
	}

	int refuse_output = 0;
	bool refuse_table = false;
	bool fail_reads = false;
	unsigned reads = 0;
	unsigned s2_calls = 0;

private:
	std::vector<uint8_t> bytes_;
	uint64_t next_ = 0;
};

Stage1Config config(uint64_t ttb, unsigned t0sz = 16)
{
	Stage1Config c;
	c.r0.ttb = ttb;
	c.r0.tsz = t0sz;
	return c;
}

WalkResult walk(Mem &m, const Stage1Config &c, uint64_t iova, bool write = false,
		bool privileged = false)
{
	Access a;
	a.write = write;
	a.privileged = privileged;
	auto r = walk_stage1(
		c, iova, a, [&](uint64_t ipa, bool w) { return m.stage2(ipa, w); },
		[&](uint64_t pa) { return m.read(pa); });
	EXPECT_TRUE(r.ok());
	return r.ok() ? r.value() : WalkResult{};
}

int walk_errno(Mem &m, const Stage1Config &c, uint64_t iova)
{
	auto r = walk_stage1(
		c, iova, Access{}, [&](uint64_t ipa, bool w) { return m.stage2(ipa, w); },
		[&](uint64_t pa) { return m.read(pa); });
	return r.ok() ? 0 : r.error().code();
}

void expect_fault(const WalkResult &r, FaultKind kind, unsigned level)
{
	EXPECT_EQ(kind, r.fault.kind);
	EXPECT_EQ(level, r.fault.level);
	EXPECT_FALSE(r.fault.stage2);
}

} // namespace

TEST(Smmuv3Walk, PageThroughFourLevels)
{
	Mem m;
	uint64_t ttb = m.alloc();
	uint64_t iova = 0x0000'1234'5678'9000;
	m.map(ttb, 48, iova, 0x4000'3000, 3, kPage);
	WalkResult r = walk(m, config(ttb), iova + 0x123);
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(0x4000'3123u, r.ipa);
	EXPECT_EQ(0x4000'3123u + kPaOffset, r.pa);
	EXPECT_EQ(K4, r.size);
	EXPECT_EQ(iova, r.va_base);
	EXPECT_EQ(3, r.level);
	EXPECT_TRUE(r.perm.write);
	EXPECT_TRUE(r.perm.unpriv);
	EXPECT_TRUE(r.global);
	EXPECT_EQ(4u, m.reads);
	EXPECT_EQ(5u, m.s2_calls); // four table reads and the output
	EXPECT_EQ(0, smmu_event_id(r.fault));
}

TEST(Smmuv3Walk, BlocksAtLevelsOneAndTwo)
{
	Mem m;
	uint64_t ttb = m.alloc();
	m.map(ttb, 48, 0x40'0000'0000, 0x1'4000'0000, 1, kBlock);   // 1 GiB
	m.map(ttb, 48, 0x80'0020'0000, 0x3460'0000, 2, kBlock);     // 2 MiB

	WalkResult g = walk(m, config(ttb), 0x40'0000'0000 + 0x1234'5678);
	ASSERT_TRUE(g.ok());
	EXPECT_EQ(G1, g.size);
	EXPECT_EQ(1, g.level);
	EXPECT_EQ(0x40'0000'0000u, g.va_base);
	EXPECT_EQ(0x1'4000'0000u + 0x1234'5678, g.ipa);

	WalkResult b = walk(m, config(ttb), 0x80'0020'0000 + 0x1f'fff8);
	ASSERT_TRUE(b.ok());
	EXPECT_EQ(M2, b.size);
	EXPECT_EQ(2, b.level);
	EXPECT_EQ(0x3460'0000u + 0x1f'fff8, b.ipa);
}

TEST(Smmuv3Walk, BlockIgnoresOutputBitsBelowItsSize)
{
	Mem m;
	uint64_t ttb = m.alloc();
	// OA bits [20:12] of a 2 MiB block are RES0: not part of the address.
	m.map(ttb, 48, 0x20'0000, 0x4000'0000 | 0x5000, 2, kBlock);
	WalkResult r = walk(m, config(ttb), 0x20'0010);
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(0x4000'0010u, r.ipa);
}

TEST(Smmuv3Walk, ThreeLevelsFrom39BitInput)
{
	Mem m;
	uint64_t ttb = m.alloc();
	m.map(ttb, 39, 0x7f'ffff'f000, 0x9000, 3, kPage);
	m.map(ttb, 39, 0x40'0000'0000, 0xc000'0000, 1, kBlock);
	WalkResult r = walk(m, config(ttb, 25), 0x7f'ffff'fff8);
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(0x9ff8u, r.ipa);
	EXPECT_EQ(3u, m.reads);
	WalkResult g = walk(m, config(ttb, 25), 0x40'0000'0001);
	ASSERT_TRUE(g.ok());
	EXPECT_EQ(G1, g.size);
	EXPECT_EQ(0xc000'0001u, g.ipa);
}

// Each T0SZ gives a start level and a start-table size; the highest IOVA
// of the range uses the last entry of the start table.
TEST(Smmuv3Walk, T0szPicksStartLevel)
{
	struct {
		unsigned t0sz;
		unsigned reads;
	} cases[] = {{16, 4}, {20, 4}, {24, 4}, {25, 3}, {30, 3}, {33, 3}, {34, 2}, {39, 2}};
	for (auto c : cases) {
		SCOPED_TRACE(c.t0sz);
		Mem m;
		uint64_t ttb = m.alloc();
		unsigned ia_bits = 64 - c.t0sz;
		uint64_t last = (1ull << ia_bits) - 1;
		m.map(ttb, ia_bits, last & ~(K4 - 1), 0x7000, 3, kPage);
		WalkResult r = walk(m, config(ttb, c.t0sz), last);
		ASSERT_TRUE(r.ok());
		EXPECT_EQ(0x7fffu, r.ipa);
		EXPECT_EQ(c.reads, m.reads);
		// One past the range is out of range, before any read.
		if (ia_bits < 64) {
			Mem m2;
			WalkResult o = walk(m2, config(m2.alloc(), c.t0sz), last + 1);
			expect_fault(o, FaultKind::Translation, 0);
			EXPECT_EQ(0u, m2.reads);
		}
	}
}

TEST(Smmuv3Walk, UpperRangeUsesTtb1)
{
	Mem m;
	uint64_t ttb0 = m.alloc(), ttb1 = m.alloc();
	uint64_t iova = 0xffff'ff80'0000'0000; // 39-bit upper range, first page
	m.map(ttb1, 39, iova, 0xa000, 3, kPage);
	Stage1Config c = config(ttb0);
	// Without TTB1 an upper IOVA is out of range.
	expect_fault(walk(m, c, iova), FaultKind::Translation, 0);
	c.r1_enabled = true;
	c.r1.ttb = ttb1;
	c.r1.tsz = 25;
	WalkResult r = walk(m, c, iova + 8);
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(0xa008u, r.ipa);
	// Below the 39-bit upper range: neither half.
	expect_fault(walk(m, c, 0xffff'ff7f'ffff'f000), FaultKind::Translation, 0);
	c.r1.epd = true;
	expect_fault(walk(m, c, iova), FaultKind::Translation, 0);
}

TEST(Smmuv3Walk, UnsupportedConfigurations)
{
	Mem m;
	uint64_t ttb = m.alloc();
	EXPECT_EQ(-EINVAL, walk_errno(m, config(ttb, 15), 0));
	EXPECT_EQ(-EINVAL, walk_errno(m, config(ttb, 40), 0));
	Stage1Config c = config(ttb);
	c.r0.granule = Granule::k16K;
	EXPECT_EQ(-EINVAL, walk_errno(m, c, 0));
	c.r0.granule = Granule::k64K;
	EXPECT_EQ(-EINVAL, walk_errno(m, c, 0));
	c = config(ttb);
	c.ips = 47;
	EXPECT_EQ(-EINVAL, walk_errno(m, c, 0));
	c = config(ttb);
	c.r1_enabled = true;
	c.r1.tsz = 0;
	EXPECT_EQ(-EINVAL, walk_errno(m, c, 0));
	EXPECT_EQ(0u, m.reads);
}

TEST(Smmuv3Walk, TranslationFaultAtEachLevel)
{
	Mem m;
	uint64_t ttb = m.alloc();
	uint64_t iova = 0x0000'0080'4020'1000;
	Stage1Config c = config(ttb);
	expect_fault(walk(m, c, iova), FaultKind::Translation, 0);
	m.map(ttb, 48, iova, 0x5000, 3, kPage);
	ASSERT_TRUE(walk(m, c, iova).ok());
	// Knock out each level's entry in turn, deepest first.
	uint64_t tables[4] = {ttb};
	for (unsigned l = 1; l < 4; l++)
		tables[l] = m.get(tables[l - 1], (iova >> (12 + 9 * (4 - l))) & 511) &
			    0x0000'ffff'ffff'f000;
	for (int l = 3; l >= 0; l--) {
		uint64_t index = (iova >> (12 + 9 * (3 - l))) & 511;
		m.set(tables[l], index, m.get(tables[l], index) & ~kValid);
		WalkResult r = walk(m, c, iova);
		expect_fault(r, FaultKind::Translation, l);
		EXPECT_EQ(kEvtFTranslation, smmu_event_id(r.fault));
	}
}

TEST(Smmuv3Walk, ReservedEncodingsFault)
{
	Mem m;
	uint64_t ttb = m.alloc();
	// A block descriptor at level 0.
	m.map(ttb, 48, 0, 0, 0, kBlock);
	expect_fault(walk(m, config(ttb), 0x1000), FaultKind::Translation, 0);
	// The block encoding (bit 1 clear) at level 3.
	Mem m3;
	ttb = m3.alloc();
	m3.map(ttb, 48, 0x1000, 0x2000, 3, kBlock);
	expect_fault(walk(m3, config(ttb), 0x1000), FaultKind::Translation, 3);
}

TEST(Smmuv3Walk, AccessFlag)
{
	Mem m;
	uint64_t ttb = m.alloc();
	m.map(ttb, 48, 0x1000, 0x2000, 3, kPage & ~kAF);
	m.map(ttb, 48, 0x40'0000'0000, 0x4000'0000, 1, kBlock & ~kAF);
	Stage1Config c = config(ttb);
	WalkResult r = walk(m, c, 0x1000);
	expect_fault(r, FaultKind::AccessFlag, 3);
	EXPECT_EQ(kEvtFAccess, smmu_event_id(r.fault));
	expect_fault(walk(m, c, 0x40'0000'0000), FaultKind::AccessFlag, 1);
	c.affd = true;
	EXPECT_TRUE(walk(m, c, 0x1000).ok());
	EXPECT_TRUE(walk(m, c, 0x40'0000'0000).ok());
}

TEST(Smmuv3Walk, AddressSize)
{
	Mem m;
	uint64_t ttb = m.alloc();
	m.map(ttb, 48, 0x1000, 0x1'0000'0000, 3, kPage);      // needs 33 bits
	m.map(ttb, 48, 0x20'0000, 0xffff'f000, 3, kPage);     // fits 32 bits
	Stage1Config c = config(ttb);
	c.ips = 32;
	WalkResult r = walk(m, c, 0x1000);
	expect_fault(r, FaultKind::AddressSize, 3);
	EXPECT_EQ(kEvtFAddrSize, smmu_event_id(r.fault));
	EXPECT_TRUE(walk(m, c, 0x20'0000).ok());
	c.ips = 40;
	EXPECT_TRUE(walk(m, c, 0x1000).ok());

	// A table address beyond the output size, at level 1.
	Mem m2;
	ttb = m2.alloc();
	m2.map(ttb, 48, 0x1000, 0x2000, 3, kPage);
	uint64_t l1 = m2.get(ttb, 0) & 0x0000'ffff'ffff'f000;
	m2.set(l1, 0, (1ull << 40) | kTable);
	c = config(ttb);
	c.ips = 40;
	expect_fault(walk(m2, c, 0x1000), FaultKind::AddressSize, 1);

	// TTB itself beyond the output size: no read at all.
	c = config(1ull << 44);
	c.ips = 44;
	Mem m3;
	expect_fault(walk(m3, c, 0), FaultKind::AddressSize, 0);
	EXPECT_EQ(0u, m3.reads);
}

TEST(Smmuv3Walk, Permissions)
{
	Mem m;
	uint64_t ttb = m.alloc();
	m.map(ttb, 48, 0x1000, 0xa000, 3, kPage | kAP2);          // read-only
	m.map(ttb, 48, 0x2000, 0xb000, 3, kPage & ~kAP1);         // privileged only
	m.map(ttb, 48, 0x3000, 0xc000, 3, (kPage & ~kAP1) | kAP2); // privileged read-only
	Stage1Config c = config(ttb);

	WalkResult ro = walk(m, c, 0x1000);
	ASSERT_TRUE(ro.ok());
	EXPECT_FALSE(ro.perm.write);
	EXPECT_TRUE(ro.perm.unpriv);
	WalkResult w = walk(m, c, 0x1000, true);
	expect_fault(w, FaultKind::Permission, 3);
	EXPECT_EQ(kEvtFPermission, smmu_event_id(w.fault));
	expect_fault(walk(m, c, 0x1000, true, true), FaultKind::Permission, 3);

	expect_fault(walk(m, c, 0x2000), FaultKind::Permission, 3);
	expect_fault(walk(m, c, 0x2000, true), FaultKind::Permission, 3);
	EXPECT_TRUE(walk(m, c, 0x2000, true, true).ok());

	EXPECT_TRUE(walk(m, c, 0x3000, false, true).ok());
	expect_fault(walk(m, c, 0x3000, true, true), FaultKind::Permission, 3);
}

TEST(Smmuv3Walk, APTableLimitsLowerLevels)
{
	Mem m;
	uint64_t ttb = m.alloc();
	m.map(ttb, 48, 0x1000, 0xa000, 3, kPage);
	Stage1Config c = config(ttb);
	// Read-only and privileged-only from the level-1 table entry down.
	uint64_t l1 = m.get(ttb, 0) & 0x0000'ffff'ffff'f000;
	m.set(l1, 0, m.get(l1, 0) | kAPTableRdonly);
	WalkResult r = walk(m, c, 0x1000);
	ASSERT_TRUE(r.ok());
	EXPECT_FALSE(r.perm.write);
	expect_fault(walk(m, c, 0x1000, true), FaultKind::Permission, 3);
	m.set(l1, 0, m.get(l1, 0) | kAPTableUnpriv);
	expect_fault(walk(m, c, 0x1000), FaultKind::Permission, 3);
	EXPECT_TRUE(walk(m, c, 0x1000, false, true).ok());
	// HAD: the table bits are ignored.
	c.r0.had = true;
	EXPECT_TRUE(walk(m, c, 0x1000, true).ok());
}

TEST(Smmuv3Walk, ExternalAbortOnDescriptorRead)
{
	Mem m;
	uint64_t ttb = m.alloc();
	m.fail_reads = true;
	WalkResult r = walk(m, config(ttb), 0x1000);
	expect_fault(r, FaultKind::ExternalAbort, 0);
	EXPECT_EQ(kEvtFWalkEabt, smmu_event_id(r.fault));
	EXPECT_EQ(1u, m.reads);
}

TEST(Smmuv3Walk, Stage2Faults)
{
	Mem m;
	uint64_t ttb = m.alloc();
	m.map(ttb, 48, 0x1000, 0x2'0000'0000, 3, kPage);
	Stage1Config c = config(ttb);

	// The table walk's first IPA.
	m.refuse_table = true;
	WalkResult t = walk(m, c, 0x1000);
	EXPECT_EQ(FaultKind::Translation, t.fault.kind);
	EXPECT_TRUE(t.fault.stage2);
	EXPECT_EQ(FaultClass::TT, t.fault.cls);
	EXPECT_EQ(ttb, t.fault.ipa);
	EXPECT_EQ(0u, m.reads);
	m.refuse_table = false;

	// The output IPA: translation or, for EPERM, permission.
	m.refuse_output = -ENOENT;
	WalkResult o = walk(m, c, 0x1008, true);
	EXPECT_EQ(FaultKind::Translation, o.fault.kind);
	EXPECT_TRUE(o.fault.stage2);
	EXPECT_EQ(FaultClass::IN, o.fault.cls);
	EXPECT_EQ(0x2'0000'0008u, o.fault.ipa);
	EXPECT_EQ(3, o.fault.level);
	m.refuse_output = -EPERM;
	WalkResult p = walk(m, c, 0x1008, true);
	EXPECT_EQ(FaultKind::Permission, p.fault.kind);
	EXPECT_TRUE(p.fault.stage2);
	EXPECT_EQ(kEvtFPermission, smmu_event_id(p.fault));
}

// ---- TLB ----

namespace {

WalkResult leaf(uint64_t va_base, uint64_t size, uint64_t ipa_base, bool global = false)
{
	WalkResult r;
	r.va_base = va_base;
	r.size = size;
	r.ipa = ipa_base;
	r.global = global;
	r.level = size == K4 ? 3 : size == M2 ? 2 : 1;
	r.perm.write = true;
	return r;
}

} // namespace

// The walker and the TLB together: a PTE change is invisible through the
// TLB until the matching by-VA invalidation, as the selftest will
// show end to end.
TEST(Smmuv3Tlb, StaleUntilInvalidateVa)
{
	Mem m;
	uint64_t ttb = m.alloc();
	m.map(ttb, 48, 0x1000, 0xa000, 3, kPage | kNG);
	m.map(ttb, 48, 0x2000, 0xb000, 3, kPage | kNG);
	Stage1Config c = config(ttb);
	Tlb tlb;
	auto translate = [&](uint64_t iova) -> uint64_t {
		if (const Tlb::Entry *e = tlb.lookup(1, 7, iova))
			return e->ipa_base + (iova - e->va_base);
		WalkResult r = walk(m, c, iova);
		if (!r.ok())
			return ~0ull;
		tlb.insert(1, 7, r);
		return r.ipa;
	};
	EXPECT_EQ(0xa010u, translate(0x1010));
	EXPECT_EQ(0xb010u, translate(0x2010));
	EXPECT_EQ(2u, tlb.count());
	// Change the PTE for 0x1000: the cached translation survives...
	m.map(ttb, 48, 0x1000, 0xe000, 3, kPage | kNG);
	EXPECT_EQ(0xa010u, translate(0x1010));
	// ...other invalidations leave it...
	tlb.invalidate_va(1, 7, 0x3000);
	tlb.invalidate_va(1, 8, 0x1000);
	tlb.invalidate_va(2, 7, 0x1000);
	tlb.invalidate_asid(1, 8);
	tlb.invalidate_vmid(2);
	EXPECT_EQ(0xa010u, translate(0x1010));
	// ...until the matching one.
	tlb.invalidate_va(1, 7, 0x1ff8);
	EXPECT_EQ(0xe010u, translate(0x1010));
	// And an unmapped PTE stays reachable through the TLB until NH_ASID.
	m.map(ttb, 48, 0x2000, 0, 3, 0);
	EXPECT_EQ(0xb010u, translate(0x2010));
	tlb.invalidate_asid(1, 7);
	EXPECT_EQ(~0ull, translate(0x2010));
}

TEST(Smmuv3Tlb, AsidVmidAndGlobal)
{
	Tlb tlb;
	tlb.insert(1, 5, leaf(0x1000, K4, 0xa000));
	tlb.insert(1, 5, leaf(0x2000, K4, 0xb000, true));
	tlb.insert(2, 5, leaf(0x1000, K4, 0xc000));
	EXPECT_EQ(nullptr, tlb.lookup(1, 6, 0x1000));
	ASSERT_NE(nullptr, tlb.lookup(1, 6, 0x2000)); // global: any ASID
	ASSERT_NE(nullptr, tlb.lookup(2, 5, 0x1000));
	EXPECT_EQ(0xc000u, tlb.lookup(2, 5, 0x1000)->ipa_base);
	EXPECT_EQ(nullptr, tlb.lookup(3, 5, 0x2000));  // globals stay in their VMID

	tlb.invalidate_asid(1, 5);  // keeps the global entry
	EXPECT_EQ(nullptr, tlb.lookup(1, 5, 0x1000));
	EXPECT_NE(nullptr, tlb.lookup(1, 5, 0x2000));
	tlb.invalidate_va(1, 9, 0x2000);  // by VA reaches globals of any ASID
	EXPECT_EQ(nullptr, tlb.lookup(1, 5, 0x2000));
	EXPECT_EQ(1u, tlb.count());
	tlb.invalidate_vmid(2);
	EXPECT_EQ(0u, tlb.count());
}

TEST(Smmuv3Tlb, VaaAndAll)
{
	Tlb tlb;
	tlb.insert(1, 1, leaf(0x1000, K4, 0xa000));
	tlb.insert(1, 2, leaf(0x1000, K4, 0xb000));
	tlb.insert(1, 2, leaf(0x3000, K4, 0xb000));
	tlb.insert(2, 1, leaf(0x1000, K4, 0xc000));
	tlb.invalidate_vaa(1, 0x1fff);
	EXPECT_EQ(nullptr, tlb.lookup(1, 1, 0x1000));
	EXPECT_EQ(nullptr, tlb.lookup(1, 2, 0x1000));
	EXPECT_NE(nullptr, tlb.lookup(1, 2, 0x3000));
	EXPECT_NE(nullptr, tlb.lookup(2, 1, 0x1000));
	tlb.invalidate_all();
	EXPECT_EQ(0u, tlb.count());
}

TEST(Smmuv3Tlb, BlockEntryCoversItsRange)
{
	Tlb tlb;
	tlb.insert(1, 1, leaf(0x4000'0000, G1, 0x8000'0000));
	const Tlb::Entry *e = tlb.lookup(1, 1, 0x7fff'fff0);
	ASSERT_NE(nullptr, e);
	EXPECT_EQ(G1, e->size);
	EXPECT_EQ(nullptr, tlb.lookup(1, 1, 0x8000'0000));
	EXPECT_EQ(nullptr, tlb.lookup(1, 1, 0x3fff'ffff));
	// Any VA inside the block invalidates the whole entry.
	tlb.invalidate_va(1, 1, 0x5000'0000);
	EXPECT_EQ(0u, tlb.count());
	// A new leaf replaces the overlapping one rather than sitting beside it.
	tlb.insert(1, 1, leaf(0x20'0000, M2, 0x40'0000));
	tlb.insert(1, 1, leaf(0x21'0000, K4, 0x9000));
	EXPECT_EQ(1u, tlb.count());
	EXPECT_EQ(0x9000u, tlb.lookup(1, 1, 0x21'0000)->ipa_base);
	// Faulted walks are never cached.
	WalkResult f;
	f.fault.kind = FaultKind::Translation;
	tlb.insert(1, 1, f);
	EXPECT_EQ(1u, tlb.count());
}

TEST(Smmuv3Tlb, RoundRobinReplacement)
{
	Tlb tlb;
	for (uint64_t i = 0; i < Tlb::kEntries; i++)
		tlb.insert(1, 1, leaf(i * K4, K4, i * K4));
	EXPECT_EQ(Tlb::kEntries, tlb.count());
	// Full: the next two inserts evict the two oldest slots, in order.
	tlb.insert(1, 1, leaf(0x100'0000, K4, 0));
	EXPECT_EQ(nullptr, tlb.lookup(1, 1, 0));
	EXPECT_NE(nullptr, tlb.lookup(1, 1, K4));
	tlb.insert(1, 1, leaf(0x100'1000, K4, 0));
	EXPECT_EQ(nullptr, tlb.lookup(1, 1, K4));
	EXPECT_NE(nullptr, tlb.lookup(1, 1, 2 * K4));
	EXPECT_NE(nullptr, tlb.lookup(1, 1, 0x100'0000));
	EXPECT_EQ(Tlb::kEntries, tlb.count());
	// A freed slot is reused before any eviction.
	tlb.invalidate_va(1, 1, 5 * K4);
	tlb.insert(1, 1, leaf(0x200'0000, K4, 0));
	EXPECT_NE(nullptr, tlb.lookup(1, 1, 2 * K4));
	EXPECT_EQ(Tlb::kEntries, tlb.count());
}
