// SPDX-License-Identifier: GPL-2.0
//
// smmuv3_model_test.cpp - the software SMMUv3 (module/smmuv3/model.hpp)
// end to end: a guest IPA space in a byte vector (FakeGuestMemory, with
// per-page mapped and read-only flags standing for the stage-2 IOAS)
// holding real CD tables and AArch64 page tables, and DMAs through the
// model checked byte for byte and event word by event word.  Covered: the
// ID registers, the VMID/StreamID allocators, stage-2-only streams, STE
// abort/bypass/invalid, linear and two-level CD tables with SubstreamIDs
// and S1DSS, bad CDs, stale TLB and CD caches until each invalidation
// command, global entries, VMID isolation, CD.R, stage-2 faults of each
// CLASS, permission faults (walked and from the TLB) and partial DMAs.
#include <gtest/gtest.h>
#include <string.h>

#include <vector>

#include "smmuv3/model.hpp"

#include "smmuv3_desc.h"

using namespace iommufd::smmuv3;

namespace {

constexpr uint64_t K4 = 4096;
using namespace smmuv3_desc;

// IPA layout of the fake guest (1 MiB): CD tables low, page tables from
// kTables, data pages from kData.
constexpr uint64_t kPages = 256;
constexpr uint64_t kCdBase = 0x1000;
constexpr uint64_t kTables = 0x40000;
constexpr uint64_t kData = 0x80000;

class FakeGuestMemory : public GuestMemory {
public:
	FakeGuestMemory() : bytes_(kPages * K4, 0), mapped_(kPages, true), ro_(kPages, false) {}

	cxx::Status probe(uint64_t ipa, bool write) override
	{
		probes++;
		uint64_t p = ipa / K4;
		if (p >= kPages || !mapped_[p])
			return cxx::Err(ENOENT);
		if (write && ro_[p])
			return cxx::Err(EPERM);
		return {};
	}
	cxx::Status rw(uint64_t ipa, void *buf, uint64_t length, bool write) override
	{
		for (uint64_t a = ipa & ~(K4 - 1); a < ipa + length; a += K4) {
			auto st = probe(a, write);
			if (!st.ok())
				return st;
		}
		if (write)
			memcpy(&bytes_[ipa], buf, length);
		else
			memcpy(buf, &bytes_[ipa], length);
		return {};
	}

	void w64(uint64_t ipa, uint64_t v) { memcpy(&bytes_[ipa], &v, 8); }
	uint64_t r64(uint64_t ipa) const
	{
		uint64_t v;
		memcpy(&v, &bytes_[ipa], 8);
		return v;
	}
	uint8_t *at(uint64_t ipa) { return &bytes_[ipa]; }
	void unmap(uint64_t ipa) { mapped_[ipa / K4] = false; }
	void map(uint64_t ipa) { mapped_[ipa / K4] = true; }
	void readonly(uint64_t ipa) { ro_[ipa / K4] = true; }

	uint64_t alloc_table()
	{
		uint64_t t = kTables + next_table_ * K4;
		next_table_++;
		EXPECT_LT(t, kData);
		return t;
	}
	// A 48-bit, 4-level mapping of one 4 KiB page.  Returns the IPA of
	// the leaf descriptor so tests can edit it.
	uint64_t map_page(uint64_t ttb, uint64_t iova, uint64_t ipa, uint64_t attrs = kPage)
	{
		uint64_t table = ttb;
		for (unsigned level = 0;; level++) {
			unsigned shift = 12 + 9 * (3 - level);
			uint64_t slot = table + ((iova >> shift) & 511) * 8;
			if (level == 3) {
				w64(slot, ipa | attrs);
				return slot;
			}
			uint64_t d = r64(slot);
			if (!(d & kValid)) {
				d = alloc_table() | kTable;
				w64(slot, d);
			}
			table = d & 0x0000'ffff'ffff'f000;
		}
	}

	unsigned probes = 0;

private:
	std::vector<uint8_t> bytes_;
	std::vector<bool> mapped_;
	std::vector<bool> ro_;
	uint64_t next_table_ = 0;
};

// A valid CD: TTB0 with T0SZ 16 (48-bit VA), 4 KiB granule, TTB1 disabled,
// 48-bit IPS, AArch64, R as asked.
void put_cd(FakeGuestMemory &m, uint64_t ipa, uint64_t ttb, uint16_t asid, bool record = true)
{
	uint64_t w[8] = {};
	w[0] = cd::k0T0SZ.prep(16) | cd::k0EPD1 | cd::k0V | cd::k0IPS.prep(5) | cd::k0AA64 |
	       cd::k0ASID.prep(asid) | (record ? cd::k0R : 0);
	w[1] = ttb;
	w[3] = 0xff;
	for (unsigned i = 0; i < 8; i++)
		m.w64(ipa + 8 * i, w[i]);
}

Vste make_vste(uint64_t ctx, uint8_t cdmax = 0, uint8_t fmt = 0, uint8_t s1dss = 0,
	       uint64_t config = ste::kConfigS1Trans)
{
	uint64_t w[2];
	w[0] = ste::k0V | ste::k0Config.prep(config) | ste::k0S1Fmt.prep(fmt) |
	       (ctx & ste::k0S1ContextPtr.mask()) | ste::k0S1CDMax.prep(cdmax);
	w[1] = ste::k1S1DSS.prep(s1dss);
	auto v = validate_vste(w);
	EXPECT_TRUE(v.ok());
	return v.ok() ? v.value() : Vste{};
}

StreamConfig nested(uint32_t sid, uint16_t vmid, const Vste &v)
{
	StreamConfig c;
	c.sid = sid;
	c.s2_only = false;
	c.vste = v;
	c.vmid = vmid;
	return c;
}

Command tlbi(CmdKind kind, uint16_t vmid, uint16_t asid = 0, uint64_t addr = 0)
{
	Command c = {};
	c.kind = kind;
	c.vmid = vmid;
	c.asid = asid;
	c.addr = addr;
	return c;
}

Command cfgi(CmdKind kind, uint32_t sid, uint32_t ssid = 0)
{
	Command c = {};
	c.kind = kind;
	c.sid = sid;
	c.ssid = ssid;
	return c;
}

class Smmuv3Model : public ::testing::Test {
protected:
	void SetUp() override
	{
		auto s = Smmu::create();
		ASSERT_TRUE(s.ok());
		smmu = s.take();
		ttb = m.alloc_table();
		put_cd(m, kCdBase, ttb, kAsid);
	}

	// Read `len` bytes at iova into out.
	DmaResult read(const StreamConfig &c, uint64_t iova, void *out, uint64_t len,
		       bool ssv = false, uint32_t ssid = 0)
	{
		return smmu->dma(c, m, iova, out, len, false, ssv, ssid);
	}
	uint64_t read64(const StreamConfig &c, uint64_t iova, DmaResult *res = nullptr)
	{
		uint64_t v = 0;
		DmaResult r = read(c, iova, &v, 8);
		EXPECT_EQ(0, r.event);
		if (res)
			*res = r;
		return v;
	}

	static constexpr uint16_t kAsid = 7;
	static constexpr uint16_t kVmid = 3;
	static constexpr uint32_t kSid = 0x42;
	FakeGuestMemory m;
	cxx::UniquePtr<Smmu> smmu;
	uint64_t ttb = 0;
};

// Bits of event word 1.
uint64_t cls(const DmaResult &r) { return evtrec::k1Class.get(r.evt.words[1]); }
bool s2(const DmaResult &r) { return r.evt.words[1] & evtrec::k1S2; }

} // namespace

// ---- registers and ID spaces ------------------------------------------------

TEST(Smmuv3ModelRegs, IdRegisters)
{
	IdRegs r = Smmu::id_regs();
	uint32_t i0 = r.idr[0];
	EXPECT_TRUE(i0 & 1);                       // S2P
	EXPECT_TRUE(i0 & 2);                       // S1P
	EXPECT_EQ(2u, (i0 >> 2) & 3);              // TTF AArch64
	EXPECT_TRUE(i0 & (1u << 4));               // COHACC
	EXPECT_EQ(0u, i0 & (1u << 5));             // no BTM
	EXPECT_EQ(0u, (i0 >> 6) & 3);              // no HTTU
	EXPECT_EQ(0u, i0 & (1u << 9));             // no HYP
	EXPECT_EQ(0u, i0 & (1u << 10));            // no ATS
	EXPECT_TRUE(i0 & (1u << 12));              // ASID16
	EXPECT_EQ(0u, i0 & (1u << 13));            // no MSI
	EXPECT_EQ(0u, i0 & (1u << 16));            // no PRI
	EXPECT_TRUE(i0 & (1u << 18));              // VMID16
	EXPECT_TRUE(i0 & (1u << 19));              // CD2L
	EXPECT_EQ(2u, (i0 >> 21) & 3);             // TTENDIAN LE
	EXPECT_EQ(1u, (i0 >> 24) & 3);             // STALL_MODEL: no stall
	EXPECT_TRUE(i0 & (1u << 26));              // TERM_MODEL
	EXPECT_EQ(0u, (i0 >> 27) & 3);             // ST_LEVEL linear
	EXPECT_EQ(Smmu::kSidBits, r.idr[1] & 0x3f);
	EXPECT_EQ(Smmu::kSsidBits, (r.idr[1] >> 6) & 0x1f);
	EXPECT_EQ(0u, r.idr[2]);
	EXPECT_TRUE(r.idr[3] & (1u << 10));        // RIL
	EXPECT_EQ(0u, r.idr[4]);
	EXPECT_EQ(5u, r.idr[5] & 7);               // OAS 48
	EXPECT_TRUE(r.idr[5] & (1u << 4));         // GRAN4K
	EXPECT_EQ(0u, r.idr[5] & (3u << 5));       // no 16K/64K
	EXPECT_EQ(0u, (r.idr[5] >> 10) & 3);       // VAX 48-bit
	EXPECT_EQ(0u, r.iidr & 0xfff);             // implementer none
	EXPECT_EQ(0x02u, r.aidr);
}

TEST(Smmuv3ModelIds, VmidAllocFreeAndExhaust)
{
	auto s = Smmu::create();
	ASSERT_TRUE(s.ok());
	auto smmu = s.take();
	EXPECT_EQ(1, smmu->alloc_vmid().value());
	EXPECT_EQ(2, smmu->alloc_vmid().value());
	smmu->free_vmid(1);
	EXPECT_EQ(1, smmu->alloc_vmid().value());
	unsigned n = 2;
	for (;;) {
		auto v = smmu->alloc_vmid();
		if (!v.ok()) {
			EXPECT_EQ(-ENOSPC, v.error().code());
			break;
		}
		EXPECT_NE(0, v.value());
		n++;
	}
	EXPECT_EQ(65535u, n);
	smmu->free_vmid(40000);
	EXPECT_EQ(40000, smmu->alloc_vmid().value());
	smmu->free_vmid(0);  // never handed out: no effect
	EXPECT_FALSE(smmu->alloc_vmid().ok());
}

TEST(Smmuv3ModelIds, SidAllocFreeAndExhaust)
{
	auto s = Smmu::create();
	ASSERT_TRUE(s.ok());
	auto smmu = s.take();
	EXPECT_EQ(1u, smmu->alloc_sid().value());
	EXPECT_EQ(2u, smmu->alloc_sid().value());
	smmu->free_sid(1);
	EXPECT_EQ(1u, smmu->alloc_sid().value());
	unsigned n = 2;
	while (smmu->alloc_sid().ok())
		n++;
	EXPECT_EQ((1u << Smmu::kSidBits) - 1, n);
	EXPECT_EQ(-ENOSPC, smmu->alloc_sid().error().code());
	smmu->free_sid(77);
	EXPECT_EQ(77u, smmu->alloc_sid().value());
}

// ---- stage 2 only, STE kinds --------------------------------------------------

TEST_F(Smmuv3Model, S2OnlyReadWriteAndFaults)
{
	StreamConfig c;
	c.sid = 9;
	const char msg[] = "stage two";
	DmaResult r = smmu->dma(c, m, kData + 0x10, const_cast<char *>(msg), sizeof(msg), true,
				false, 0);
	EXPECT_EQ(0, r.event);
	EXPECT_EQ(sizeof(msg), r.done);
	EXPECT_EQ(0, memcmp(m.at(kData + 0x10), msg, sizeof(msg)));
	EXPECT_EQ(0u, smmu->tlb_count());

	m.unmap(kData + K4);
	char buf[16];
	r = read(c, kData + K4 + 8, buf, 8);
	EXPECT_EQ(evt::kTranslation, r.event);
	EXPECT_TRUE(r.record);
	EXPECT_TRUE(s2(r));
	EXPECT_EQ(uint64_t(FaultClass::IN), cls(r));
	EXPECT_EQ(kData + K4, r.evt.words[3]);
	EXPECT_EQ(kData + K4 + 8, r.evt.words[2]);
	EXPECT_EQ(9u, r.evt.sid());

	m.readonly(kData + 2 * K4);
	r = smmu->dma(c, m, kData + 2 * K4, buf, 8, true, false, 0);
	EXPECT_EQ(evt::kPermission, r.event);
	EXPECT_TRUE(s2(r));
	EXPECT_EQ(0u, r.evt.words[1] & evtrec::k1RnW);  // a write
}

TEST_F(Smmuv3Model, SteInvalidAbortBypass)
{
	uint64_t zero[2] = {0, 0};
	Vste invalid = validate_vste(zero).value();
	char buf[8];
	DmaResult r = read(nested(kSid, kVmid, invalid), kData, buf, 8);
	EXPECT_EQ(evt::kBadSte, r.event);
	EXPECT_TRUE(r.record);
	EXPECT_EQ(kSid, r.evt.sid());
	EXPECT_EQ(0u, r.done);

	r = read(nested(kSid, kVmid, make_vste(0, 0, 0, 0, ste::kConfigAbort)), kData, buf, 8);
	EXPECT_TRUE(r.aborted);
	EXPECT_EQ(0, r.event);
	EXPECT_FALSE(r.record);
	EXPECT_EQ(0u, r.done);

	m.w64(kData + 0x20, 0x1122334455667788);
	StreamConfig byp = nested(kSid, kVmid, make_vste(0, 0, 0, 0, ste::kConfigBypass));
	EXPECT_EQ(0x1122334455667788u, read64(byp, kData + 0x20));
	m.unmap(kData);
	r = read(byp, kData + 0x20, buf, 8);
	EXPECT_EQ(evt::kTranslation, r.event);
	EXPECT_TRUE(s2(r));
	EXPECT_EQ(0u, smmu->tlb_count());
}

// ---- single CD translation ----------------------------------------------------

TEST_F(Smmuv3Model, SingleCdTranslates)
{
	uint64_t iova = 0x0000'1234'5678'9000;
	m.map_page(ttb, iova, kData + 3 * K4);
	StreamConfig c = nested(kSid, kVmid, make_vste(kCdBase));
	const char msg[] = "nested!";
	DmaResult r = smmu->dma(c, m, iova + 0x40, const_cast<char *>(msg), sizeof(msg), true,
				false, 0);
	EXPECT_EQ(0, r.event);
	EXPECT_EQ(sizeof(msg), r.done);
	EXPECT_EQ(0, memcmp(m.at(kData + 3 * K4 + 0x40), msg, sizeof(msg)));
	EXPECT_EQ(1u, smmu->tlb_count());
	EXPECT_EQ(1u, smmu->config_cache_count());
	// The same page again: a TLB hit, no walk (no table probes).
	unsigned probes = m.probes;
	char back[sizeof(msg)];
	r = read(c, iova + 0x40, back, sizeof(back));
	EXPECT_EQ(0, r.event);
	EXPECT_EQ(0, memcmp(back, msg, sizeof(msg)));
	EXPECT_EQ(probes + 1, m.probes);  // only the data access
}

TEST_F(Smmuv3Model, CrossPageDmaStopsAtSecondPage)
{
	uint64_t iova = 0x10'0000;
	m.map_page(ttb, iova, kData + K4);
	// iova + 4K is not mapped at stage 1.
	StreamConfig c = nested(kSid, kVmid, make_vste(kCdBase));
	std::vector<uint8_t> buf(0x1800, 0xab);
	DmaResult r = smmu->dma(c, m, iova + 0x800, buf.data(), buf.size(), true, false, 0);
	EXPECT_EQ(evt::kTranslation, r.event);
	EXPECT_EQ(0x800u, r.done);
	EXPECT_EQ(iova + K4, r.evt.words[2]);
	EXPECT_FALSE(s2(r));
	EXPECT_EQ(0xab, *m.at(kData + K4 + 0xfff));

	// Now the second page maps, but its output page is not in stage 2.
	m.map_page(ttb, iova + K4, kData + 5 * K4);
	m.unmap(kData + 5 * K4);
	r = smmu->dma(c, m, iova + 0x800, buf.data(), buf.size(), true, false, 0);
	EXPECT_EQ(evt::kTranslation, r.event);
	EXPECT_EQ(0x800u, r.done);
	EXPECT_TRUE(s2(r));
	EXPECT_EQ(uint64_t(FaultClass::IN), cls(r));
	EXPECT_EQ(kData + 5 * K4, r.evt.words[3]);
}

TEST_F(Smmuv3Model, EventRecordLayout)
{
	// Linear table of 4 CDs; CD 2 valid, its IOVA unmapped: a stage-1
	// translation fault on a read with a SubstreamID.
	put_cd(m, kCdBase + 2 * 64, ttb, 9);
	StreamConfig c = nested(0xbeef, kVmid, make_vste(kCdBase, 2, 0, 0));
	char buf[8];
	DmaResult r = read(c, 0xdead'b000 + 0x18, buf, 8, true, 2);
	ASSERT_EQ(evt::kTranslation, r.event);
	EXPECT_TRUE(r.record);
	uint64_t w0 = r.evt.words[0];
	EXPECT_EQ(evt::kTranslation, evtrec::k0Id.get(w0));
	EXPECT_TRUE(w0 & evtrec::k0Ssv);
	EXPECT_EQ(2u, evtrec::k0Ssid.get(w0));
	EXPECT_EQ(0xbeefu, evtrec::k0Sid.get(w0));
	EXPECT_EQ(0xbeefu, r.evt.sid());
	uint64_t w1 = r.evt.words[1];
	EXPECT_TRUE(w1 & evtrec::k1RnW);
	EXPECT_FALSE(w1 & evtrec::k1S2);
	EXPECT_FALSE(w1 & evtrec::k1PnU);
	EXPECT_FALSE(w1 & evtrec::k1InD);
	EXPECT_EQ(0xdead'b018u, r.evt.words[2]);
	EXPECT_EQ(0u, r.evt.words[3]);
}

// ---- TLB staleness and invalidation ------------------------------------------

namespace {

struct InvCase {
	const char *name;
	Command cmd;
	bool drops;  // whether the command removes the (asid 7, va) entry
};

} // namespace

TEST_F(Smmuv3Model, StaleTlbUntilInvalidation)
{
	const uint64_t iova = 0x7000'0000;
	InvCase cases[] = {
		{"NH_VA", tlbi(CmdKind::kTlbiNhVa, kVmid, kAsid, iova), true},
		{"NH_VA other asid", tlbi(CmdKind::kTlbiNhVa, kVmid, kAsid + 1, iova), false},
		{"NH_VA other va", tlbi(CmdKind::kTlbiNhVa, kVmid, kAsid, iova + K4), false},
		{"NH_VA other vmid", tlbi(CmdKind::kTlbiNhVa, kVmid + 1, kAsid, iova), false},
		{"NH_ASID", tlbi(CmdKind::kTlbiNhAsid, kVmid, kAsid), true},
		{"NH_ASID other", tlbi(CmdKind::kTlbiNhAsid, kVmid, kAsid + 1), false},
		{"NH_ALL", tlbi(CmdKind::kTlbiNhAll, kVmid), true},
		{"NH_ALL other vmid", tlbi(CmdKind::kTlbiNhAll, kVmid + 1), false},
		{"NH_VAA", tlbi(CmdKind::kTlbiNhVaa, kVmid, 0, iova), true},
		{"CFGI_CD_ALL", cfgi(CmdKind::kCfgiCdAll, kSid), false},
		{"ATC_INV", cfgi(CmdKind::kAtcInv, kSid), false},
	};
	// Ranges: 4 KiB granules, (num + 1) << scale of them.
	Command range = tlbi(CmdKind::kTlbiNhVa, kVmid, kAsid, iova - 3 * K4);
	range.tg = 1;
	range.num = 3;  // 4 pages: iova - 3K .. iova, inclusive
	Command range_short = range;
	range_short.num = 2;  // ends one page before iova
	Command range_big = tlbi(CmdKind::kTlbiNhVaa, kVmid, 0, 0);
	range_big.tg = 3;  // 64 KiB granules
	range_big.num = 31;
	range_big.scale = 31;  // 2^52 bytes from 0: no per-page loop
	Command range_16k = tlbi(CmdKind::kTlbiNhVa, kVmid, kAsid, iova - 0x4000);
	range_16k.tg = 2;  // one 16 KiB granule ends just below iova
	InvCase ranges[] = {
		{"range NH_VA", range, true},
		{"range NH_VA short", range_short, false},
		{"range NH_VAA 2^52", range_big, true},
		{"range NH_VA 16K short", range_16k, false},
	};

	uint64_t leaf = m.map_page(ttb, iova, kData + K4, kPage | kNG);
	StreamConfig c = nested(kSid, kVmid, make_vste(kCdBase));
	m.w64(kData + K4, 0x1111);
	m.w64(kData + 2 * K4, 0x2222);
	auto run = [&](const InvCase &ic) {
		SCOPED_TRACE(ic.name);
		m.w64(leaf, (kData + K4) | kPage | kNG);
		smmu->execute(tlbi(CmdKind::kTlbiNhAll, kVmid));
		EXPECT_EQ(0x1111u, read64(c, iova));
		// The guest remaps without invalidating: still the old page.
		m.w64(leaf, (kData + 2 * K4) | kPage | kNG);
		EXPECT_EQ(0x1111u, read64(c, iova));
		smmu->execute(ic.cmd);
		EXPECT_EQ(ic.drops ? 0x2222u : 0x1111u, read64(c, iova));
	};
	for (const InvCase &ic : cases)
		run(ic);
	for (const InvCase &ic : ranges)
		run(ic);
}

TEST_F(Smmuv3Model, GlobalEntriesMatchEveryAsid)
{
	const uint64_t iova = 0x5000'0000;
	uint64_t leaf = m.map_page(ttb, iova, kData + K4, kPage);  // nG = 0
	m.w64(kData + K4, 0x1111);
	m.w64(kData + 2 * K4, 0x2222);
	// A second CD with another ASID over the same tables, on another SID.
	put_cd(m, kCdBase + 0x800, ttb, 99);
	StreamConfig a = nested(kSid, kVmid, make_vste(kCdBase));
	StreamConfig b = nested(kSid + 1, kVmid, make_vste(kCdBase + 0x800));
	EXPECT_EQ(0x1111u, read64(a, iova));
	m.w64(leaf, (kData + 2 * K4) | kPage);
	// The global entry ASID 7 cached answers ASID 99 too.
	EXPECT_EQ(0x1111u, read64(b, iova));
	EXPECT_EQ(1u, smmu->tlb_count());
	// TLBI ASID leaves global entries alone.
	smmu->execute(tlbi(CmdKind::kTlbiNhAsid, kVmid, kAsid));
	smmu->execute(tlbi(CmdKind::kTlbiNhAsid, kVmid, 99));
	EXPECT_EQ(0x1111u, read64(a, iova));
	// TLBI VA of any ASID hits a global entry.
	smmu->execute(tlbi(CmdKind::kTlbiNhVa, kVmid, 1234, iova));
	EXPECT_EQ(0x2222u, read64(b, iova));
}

TEST_F(Smmuv3Model, VmidsAreIsolated)
{
	const uint64_t iova = 0x5000'0000;
	uint64_t leaf = m.map_page(ttb, iova, kData + K4, kPage | kNG);
	m.w64(kData + K4, 0x1111);
	m.w64(kData + 2 * K4, 0x2222);
	StreamConfig a = nested(kSid, 1, make_vste(kCdBase));
	StreamConfig b = nested(kSid + 1, 2, make_vste(kCdBase));
	EXPECT_EQ(0x1111u, read64(a, iova));
	EXPECT_EQ(0x1111u, read64(b, iova));
	EXPECT_EQ(2u, smmu->tlb_count());  // same ASID and VA, two VMIDs
	m.w64(leaf, (kData + 2 * K4) | kPage | kNG);
	smmu->execute(tlbi(CmdKind::kTlbiNhAll, 1));
	EXPECT_EQ(1u, smmu->tlb_count());
	EXPECT_EQ(0x2222u, read64(a, iova));
	EXPECT_EQ(0x1111u, read64(b, iova));  // B's entry survived
	// Freeing a VMID drops its entries.
	smmu->free_vmid(2);
	EXPECT_EQ(0x2222u, read64(b, iova));
}

// ---- CD cache -------------------------------------------------------------------

TEST_F(Smmuv3Model, StaleCdUntilCfgi)
{
	const uint64_t iova = 0x9000'0000;
	// Non-global leaves: ASIDs must not share TLB entries here.
	m.map_page(ttb, iova, kData + K4, kPage | kNG);
	uint64_t ttb2 = m.alloc_table();
	m.map_page(ttb2, iova, kData + 2 * K4, kPage | kNG);
	m.w64(kData + K4, 0x1111);
	m.w64(kData + 2 * K4, 0x2222);
	// Linear table of 2 CDs, S1DSS substream 0 so CD 0 serves no-SSID
	// traffic; CD 1 for SubstreamID 1.
	put_cd(m, kCdBase, ttb, 1);
	put_cd(m, kCdBase + 64, ttb, 2);
	StreamConfig c = nested(kSid, kVmid, make_vste(kCdBase, 1, 0, ste::kS1DSSSsid0));

	enum Inv { kCfgiCd, kCfgiCdWrongSsid, kCfgiCdAll, kStreamChanged, kCfgiOtherSid };
	const bool drops[] = {true, false, true, true, false};
	for (int inv = kCfgiCd; inv <= kCfgiOtherSid; inv++) {
		SCOPED_TRACE(inv);
		put_cd(m, kCdBase + 64, ttb, 2);
		smmu->stream_changed(kSid);
		smmu->execute(tlbi(CmdKind::kTlbiNhAll, kVmid));
		uint64_t v = 0;
		ASSERT_EQ(0, read(c, iova, &v, 8, true, 1).event);
		EXPECT_EQ(0x1111u, v);
		// The guest points CD 1 at other tables (new ASID too, so no
		// TLB entry could explain the old answer).
		put_cd(m, kCdBase + 64, ttb2, 3);
		ASSERT_EQ(0, read(c, iova, &v, 8, true, 1).event);
		EXPECT_EQ(0x1111u, v);
		switch (inv) {
		case kCfgiCd: smmu->execute(cfgi(CmdKind::kCfgiCd, kSid, 1)); break;
		case kCfgiCdWrongSsid: smmu->execute(cfgi(CmdKind::kCfgiCd, kSid, 0)); break;
		case kCfgiCdAll: smmu->execute(cfgi(CmdKind::kCfgiCdAll, kSid)); break;
		case kStreamChanged: smmu->stream_changed(kSid); break;
		case kCfgiOtherSid: smmu->execute(cfgi(CmdKind::kCfgiCdAll, kSid + 1)); break;
		}
		ASSERT_EQ(0, read(c, iova, &v, 8, true, 1).event);
		EXPECT_EQ(drops[inv] ? 0x2222u : 0x1111u, v);
	}
	// free_sid drops the stream's CDs too.
	EXPECT_GT(smmu->config_cache_count(), 0u);
	smmu->free_sid(kSid);
	EXPECT_EQ(0u, smmu->config_cache_count());
}

TEST_F(Smmuv3Model, ConfigCacheReplacesRoundRobin)
{
	const uint64_t iova = 0x9000'0000;
	m.map_page(ttb, iova, kData + K4);
	for (unsigned i = 0; i < 32; i++)
		put_cd(m, kCdBase + 64 * i, ttb, static_cast<uint16_t>(i + 1));
	StreamConfig c = nested(kSid, kVmid, make_vste(kCdBase, 5, 0, ste::kS1DSSSsid0));
	for (uint32_t ssid = 1; ssid < 32; ssid++) {
		uint64_t v;
		ASSERT_EQ(0, read(c, iova, &v, 8, true, ssid).event);
	}
	EXPECT_EQ(Smmu::kConfigCacheEntries, smmu->config_cache_count());
}

// ---- CD tables, SubstreamIDs, S1DSS -------------------------------------------

TEST_F(Smmuv3Model, LinearTableAndSubstreamRules)
{
	const uint64_t iova = 0x9000'0000;
	uint64_t ttb3 = m.alloc_table();
	m.map_page(ttb, iova, kData + K4, kPage | kNG);
	m.map_page(ttb3, iova, kData + 3 * K4, kPage | kNG);
	m.w64(kData + K4, 0x1111);
	m.w64(kData + 3 * K4, 0x3333);
	put_cd(m, kCdBase + 3 * 64, ttb3, 30);  // CD 3
	uint64_t v;

	// S1CDMax 2: SSIDs 0..3.
	StreamConfig term = nested(kSid, kVmid, make_vste(kCdBase, 2, 0, ste::kS1DSSTerminate));
	ASSERT_EQ(0, read(term, iova, &v, 8, true, 3).event);
	EXPECT_EQ(0x3333u, v);
	DmaResult r = read(term, iova, &v, 8, true, 4);
	EXPECT_EQ(evt::kBadSubstreamId, r.event);
	EXPECT_TRUE(r.record);
	EXPECT_EQ(4u, evtrec::k0Ssid.get(r.evt.words[0]));
	r = read(term, iova, &v, 8);
	EXPECT_EQ(evt::kStreamDisabled, r.event);
	EXPECT_TRUE(r.record);
	EXPECT_EQ(0u, r.done);

	// S1DSS bypass: no-SSID traffic is stage 2 only.
	StreamConfig byp = nested(kSid, kVmid, make_vste(kCdBase, 2, 0, ste::kS1DSSBypass));
	r = read(byp, kData + 3 * K4, &v, 8);
	EXPECT_EQ(0, r.event);
	EXPECT_EQ(0x3333u, v);

	// S1DSS substream 0: CD 0 for no-SSID traffic; SSID 0 itself is bad.
	smmu->stream_changed(kSid);
	StreamConfig ss0 = nested(kSid, kVmid, make_vste(kCdBase, 2, 0, ste::kS1DSSSsid0));
	EXPECT_EQ(0x1111u, read64(ss0, iova));
	EXPECT_EQ(evt::kBadSubstreamId, read(ss0, iova, &v, 8, true, 0).event);

	// One CD: any SubstreamID is bad.
	StreamConfig one = nested(kSid, kVmid, make_vste(kCdBase));
	EXPECT_EQ(evt::kBadSubstreamId, read(one, iova, &v, 8, true, 0).event);

	// ILLEGAL STEs: S1DSS reserved, S1CDMax beyond SSIDSIZE, S1Fmt 3.
	EXPECT_EQ(evt::kBadSte, read(nested(kSid, kVmid, make_vste(kCdBase, 2, 0, 3)), iova, &v,
				     8, true, 1).event);
	EXPECT_EQ(evt::kBadSte,
		  read(nested(kSid, kVmid, make_vste(kCdBase, Smmu::kSsidBits + 1, 0, 0)), iova,
		       &v, 8, true, 1).event);
	EXPECT_EQ(evt::kBadSte, read(nested(kSid, kVmid, make_vste(kCdBase, 2, 3, 0)), iova, &v,
				     8, true, 1).event);
	// S1Fmt is ignored with a single CD.
	EXPECT_EQ(0x1111u, read64(nested(kSid + 5, kVmid, make_vste(kCdBase, 0, 3, 0)), iova));
}

TEST_F(Smmuv3Model, TwoLevelCdTables)
{
	const uint64_t iova = 0x9000'0000;
	uint64_t ttb5 = m.alloc_table();
	m.map_page(ttb5, iova, kData + 5 * K4);
	m.w64(kData + 5 * K4, 0x5555);
	uint64_t v;

	// 4 KiB leaves: SSID 0x45 is L1 entry 1, CD 5 of its leaf.
	const uint64_t l1 = kCdBase;
	const uint64_t leaf = kCdBase + K4;
	m.w64(l1 + 8 * 1, leaf | 1);
	put_cd(m, leaf + 5 * 64, ttb5, 45);
	StreamConfig c = nested(kSid, kVmid, make_vste(l1, 8, ste::kS1Fmt4kL2, 0));
	ASSERT_EQ(0, read(c, iova, &v, 8, true, 0x45).event);
	EXPECT_EQ(0x5555u, v);
	// L1 entry 2 is invalid.
	DmaResult r = read(c, iova, &v, 8, true, 0x85);
	EXPECT_EQ(evt::kBadSubstreamId, r.event);
	// A valid L1 entry whose leaf holds an invalid CD.
	EXPECT_EQ(evt::kBadCd, read(c, iova, &v, 8, true, 0x46).event);
	// The leaf table is not in stage 2: a CLASS=CD fault on the CD IPA.
	m.w64(l1 + 8 * 3, 0xff000 | 1);
	m.unmap(0xff000);
	r = read(c, iova, &v, 8, true, 0xc1);
	EXPECT_EQ(evt::kTranslation, r.event);
	EXPECT_TRUE(s2(r));
	EXPECT_EQ(uint64_t(FaultClass::CD), cls(r));
	EXPECT_EQ(0xff000u, r.evt.words[3]);

	// 64 KiB leaves: every SSID < 256 is in L1 entry 0, CD 0x45 of it.
	smmu->stream_changed(kSid);
	const uint64_t l1b = kCdBase + 0x800;
	const uint64_t leaf64 = 0x20000;  // 64 KiB leaf
	m.w64(l1b, leaf64 | 1);
	put_cd(m, leaf64 + 0x45 * 64, ttb5, 46);
	StreamConfig c64 = nested(kSid, kVmid, make_vste(l1b, 8, ste::kS1Fmt64kL2, 0));
	ASSERT_EQ(0, read(c64, iova, &v, 8, true, 0x45).event);
	EXPECT_EQ(0x5555u, v);
	// The L1 descriptor itself not in stage 2.
	m.unmap(l1b);
	smmu->stream_changed(kSid);
	r = read(c64, iova, &v, 8, true, 0x45);
	EXPECT_EQ(evt::kTranslation, r.event);
	EXPECT_EQ(uint64_t(FaultClass::CD), cls(r));
	EXPECT_EQ(l1b & ~(K4 - 1), r.evt.words[3]);
}

// ---- bad CDs, CD.R, stage-2 fault classes, permissions ---------------------------

TEST_F(Smmuv3Model, BadCd)
{
	uint64_t v;
	StreamConfig c = nested(kSid, kVmid, make_vste(kCdBase));
	m.w64(kCdBase, m.r64(kCdBase) & ~cd::k0V);
	DmaResult r = read(c, 0x1000, &v, 8);
	EXPECT_EQ(evt::kBadCd, r.event);
	EXPECT_TRUE(r.record);
	EXPECT_EQ(0u, smmu->config_cache_count());  // a bad CD is not cached
	// A 16 KiB granule: valid to the architecture, not to this model.
	m.w64(kCdBase, (m.r64(kCdBase) | cd::k0V) & ~cd::k0TG0.mask());
	m.w64(kCdBase, m.r64(kCdBase) | cd::k0TG0.prep(cd::kTG0_16k));
	EXPECT_EQ(evt::kBadCd, read(c, 0x1000, &v, 8).event);
}

TEST_F(Smmuv3Model, CdRecordBitGovernsStage1Faults)
{
	uint64_t v;
	StreamConfig c = nested(kSid, kVmid, make_vste(kCdBase));
	DmaResult r = read(c, 0x3000, &v, 8);  // nothing mapped
	EXPECT_EQ(evt::kTranslation, r.event);
	EXPECT_TRUE(r.record);
	EXPECT_FALSE(s2(r));

	put_cd(m, kCdBase, ttb, kAsid, false);
	smmu->execute(cfgi(CmdKind::kCfgiCd, kSid, 0));
	r = read(c, 0x3000, &v, 8);
	EXPECT_EQ(evt::kTranslation, r.event);
	EXPECT_FALSE(r.record);
	// Stage-2 faults are recorded whatever CD.R says.
	m.map_page(ttb, 0x3000, kData + 7 * K4);
	m.unmap(kData + 7 * K4);
	r = read(c, 0x3000, &v, 8);
	EXPECT_EQ(evt::kTranslation, r.event);
	EXPECT_TRUE(s2(r));
	EXPECT_TRUE(r.record);
}

TEST_F(Smmuv3Model, Stage2FaultClasses)
{
	uint64_t v;
	const uint64_t iova = 0x4000'0000;
	m.map_page(ttb, iova, kData + K4);
	StreamConfig c = nested(kSid, kVmid, make_vste(kCdBase));

	// CD fetch.
	m.unmap(kCdBase);
	DmaResult r = read(c, iova, &v, 8);
	EXPECT_EQ(evt::kTranslation, r.event);
	EXPECT_TRUE(s2(r));
	EXPECT_EQ(uint64_t(FaultClass::CD), cls(r));
	EXPECT_EQ(kCdBase, r.evt.words[3]);
	EXPECT_EQ(iova, r.evt.words[2]);
	m.map(kCdBase);

	// Table walk: the level-0 table's page refused.
	m.unmap(ttb);
	r = read(c, iova, &v, 8);
	EXPECT_EQ(evt::kTranslation, r.event);
	EXPECT_TRUE(s2(r));
	EXPECT_EQ(uint64_t(FaultClass::TT), cls(r));
	EXPECT_EQ(ttb, r.evt.words[3]);
	m.map(ttb);

	// Output: a write to a read-only stage-2 page.
	m.readonly(kData + K4);
	r = smmu->dma(c, m, iova + 8, &v, 8, true, false, 0);
	EXPECT_EQ(evt::kPermission, r.event);
	EXPECT_TRUE(s2(r));
	EXPECT_EQ(uint64_t(FaultClass::IN), cls(r));
	EXPECT_EQ(kData + K4, r.evt.words[3]);
	EXPECT_EQ(iova + 8, r.evt.words[2]);
	// Cached now (the read walk above was fine): the same from the TLB.
	EXPECT_EQ(0, read(c, iova, &v, 8).event);
	r = smmu->dma(c, m, iova + 8, &v, 8, true, false, 0);
	EXPECT_EQ(evt::kPermission, r.event);
	EXPECT_TRUE(s2(r));
}

TEST_F(Smmuv3Model, Stage1PermissionFaults)
{
	uint64_t v = 0;
	const uint64_t ro = 0x6000'0000, priv = 0x6000'1000;
	m.map_page(ttb, ro, kData + K4, kPage | kAP2);
	m.map_page(ttb, priv, kData + 2 * K4, kPage & ~kAP1);
	StreamConfig c = nested(kSid, kVmid, make_vste(kCdBase));

	// Write to a read-only page, walked.
	DmaResult r = smmu->dma(c, m, ro, &v, 8, true, false, 0);
	EXPECT_EQ(evt::kPermission, r.event);
	EXPECT_FALSE(s2(r));
	EXPECT_TRUE(r.record);
	// A read caches it; a write then faults from the TLB entry.
	EXPECT_EQ(0, read(c, ro, &v, 8).event);
	EXPECT_EQ(1u, smmu->tlb_count());
	r = smmu->dma(c, m, ro, &v, 8, true, false, 0);
	EXPECT_EQ(evt::kPermission, r.event);
	EXPECT_FALSE(s2(r));
	EXPECT_EQ(0u, r.done);

	// The device's accesses are unprivileged: an EL1-only page faults.
	r = read(c, priv, &v, 8);
	EXPECT_EQ(evt::kPermission, r.event);
	EXPECT_FALSE(s2(r));
}

TEST_F(Smmuv3Model, ConvertedCommandsExecute)
{
	// The path the invalidate ioctl takes: guest words -> convert_user_cmd
	// (the vIOMMU's VMID forced) -> execute.
	const uint64_t iova = 0x7000'0000;
	uint64_t leaf = m.map_page(ttb, iova, kData + K4, kPage | kNG);
	m.w64(kData + K4, 0x1111);
	m.w64(kData + 2 * K4, 0x2222);
	StreamConfig c = nested(kSid, kVmid, make_vste(kCdBase));
	EXPECT_EQ(0x1111u, read64(c, iova));
	m.w64(leaf, (kData + 2 * K4) | kPage | kNG);
	uint64_t w[2] = {cmd::kOpTlbiNhVa | cmd::k0TlbiVmid.prep(999) | cmd::k0TlbiAsid.prep(kAsid),
			 iova};
	auto cmd = convert_user_cmd(
		w, kVmid, [](uint32_t) -> cxx::Result<uint32_t> { return cxx::Err(ENOENT); });
	ASSERT_TRUE(cmd.ok());
	smmu->execute(cmd.value());
	EXPECT_EQ(0x2222u, read64(c, iova));
}

TEST_F(Smmuv3Model, AccessFlagAndAffd)
{
	uint64_t v;
	const uint64_t iova = 0x6100'0000;
	m.map_page(ttb, iova, kData + K4, kPage & ~kAF);
	StreamConfig c = nested(kSid, kVmid, make_vste(kCdBase));
	DmaResult r = read(c, iova, &v, 8);
	EXPECT_EQ(evt::kAccess, r.event);
	EXPECT_FALSE(s2(r));
	// CD.AFFD (word 0 bit 35): AF == 0 no longer faults.
	m.w64(kCdBase, m.r64(kCdBase) | (1ull << 35));
	smmu->execute(cfgi(CmdKind::kCfgiCd, kSid, 0));
	EXPECT_EQ(0, read(c, iova, &v, 8).event);
}

TEST_F(Smmuv3Model, UpperHalfNeedsTtb1)
{
	uint64_t v;
	StreamConfig c = nested(kSid, kVmid, make_vste(kCdBase));
	// EPD1 is set in put_cd: a TTB1 address faults at stage 1.
	const uint64_t upper = 0xffff'ffff'f000'0000;
	DmaResult r = read(c, upper, &v, 8);
	EXPECT_EQ(evt::kTranslation, r.event);
	EXPECT_EQ(upper, r.evt.words[2]);
	// Enable TTB1 (T1SZ 16, TG1 4 KiB) over its own table.
	uint64_t ttb1 = m.alloc_table();
	m.map_page(ttb1, upper, kData + 6 * K4);
	m.w64(kData + 6 * K4, 0x6666);
	uint64_t w0 = m.r64(kCdBase) & ~cd::k0EPD1;
	w0 |= cd::k0T1SZ.prep(16) | cd::k0TG1.prep(cd::kTG1_4k);
	m.w64(kCdBase, w0);
	m.w64(kCdBase + 16, ttb1);
	smmu->execute(cfgi(CmdKind::kCfgiCdAll, kSid));
	EXPECT_EQ(0x6666u, read64(c, upper));
}
