// SPDX-License-Identifier: GPL-2.0
//
// smmuv3_cmd_test.cpp - the vIOMMU invalidation command converter
// (convert_user_cmd, convert_user_cmds): each accepted opcode decoded and
// rewritten, NSNH_ALL run as NH_ALL with word 1 cleared, the VMID forced
// even when the guest wrote one, vSIDs translated and unknown vSIDs
// refused, every other opcode refused, every reserved bit of every opcode
// refused one at a time, the range and ATC size rules, and the batch
// helper's entry_num count on success, on a bad entry and on a sink error.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "smmuv3/cmd.hpp"

using namespace iommufd::smmuv3;
using namespace iommufd::smmuv3::cmd;

namespace {

constexpr uint16_t kVmid = 0x0abc;
constexpr uint32_t kVsid = 0x10;
constexpr uint32_t kPsid = 0x00fe'd000;

cxx::Result<uint32_t> lookup_fn(uint32_t vsid)
{
	if (vsid == kVsid)
		return kPsid;
	if (vsid == 0xffff'ffff)
		return kPsid + 1;
	return cxx::Err(ENOENT);
}

cxx::Result<Command> conv(uint64_t w0, uint64_t w1, uint16_t vmid = kVmid)
{
	uint64_t w[2] = {w0, w1};
	auto fn = [](uint32_t v) { return lookup_fn(v); };
	return convert_user_cmd(w, vmid, fn);
}

void expect_eio(uint64_t w0, uint64_t w1, const char *what)
{
	auto r = conv(w0, w1);
	ASSERT_FALSE(r.ok()) << what << " " << std::hex << w0 << " " << w1;
	EXPECT_EQ(r.error().code(), -EIO) << what;
}

// A command of each accepted opcode with every allowed field non-zero (as
// far as the field rules allow), and its allowed masks.
struct Case {
	uint64_t op;
	uint64_t w0, w1;          // a valid command
	uint64_t allow0, allow1;  // every bit a guest may set
};

std::vector<Case> cases()
{
	const uint64_t range0 = k0TlbiNum.mask() | k0TlbiScale.mask();
	const uint64_t range1 = k1TlbiTtl.mask() | k1TlbiTg.mask();
	const uint64_t va1 = k1TlbiLeaf | range1 | k1TlbiAddr.mask();
	return {
		{kOpTlbiNhAll, k0Op.prep(kOpTlbiNhAll), 0, k0Op.mask() | k0TlbiVmid.mask(), 0},
		{kOpTlbiNhAsid, k0Op.prep(kOpTlbiNhAsid) | k0TlbiAsid.prep(7), 0,
		 k0Op.mask() | k0TlbiVmid.mask() | k0TlbiAsid.mask(), 0},
		{kOpTlbiNhVa, k0Op.prep(kOpTlbiNhVa) | k0TlbiAsid.prep(7), 0x1234'5000 | k1TlbiLeaf,
		 k0Op.mask() | range0 | k0TlbiVmid.mask() | k0TlbiAsid.mask(), va1},
		{kOpTlbiNhVaa, k0Op.prep(kOpTlbiNhVaa), 0x1234'5000,
		 k0Op.mask() | range0 | k0TlbiVmid.mask(), va1},
		{kOpTlbiNsnhAll, k0Op.prep(kOpTlbiNsnhAll), 0, k0Op.mask(), 0},
		{kOpCfgiCd, k0Op.prep(kOpCfgiCd) | k0CfgiSsid.prep(3) | k0CfgiSid.prep(kVsid),
		 k1CfgiLeaf, k0Op.mask() | k0CfgiSsid.mask() | k0CfgiSid.mask(), k1CfgiLeaf},
		{kOpCfgiCdAll, k0Op.prep(kOpCfgiCdAll) | k0CfgiSid.prep(kVsid), 0,
		 k0Op.mask() | k0CfgiSid.mask(), 0},
		{kOpAtcInv, k0Op.prep(kOpAtcInv) | k0AtcSid.prep(kVsid), k1AtcSize.prep(52),
		 k0Op.mask() | k0AtcGlobal | k0AtcSsv | k0AtcSsid.mask() | k0AtcSid.mask(),
		 k1AtcSize.mask() | k1AtcAddr.mask()},
	};
}

TEST(SmmuV3Cmd, EveryOpcodeAccepted)
{
	for (const Case &c : cases()) {
		auto r = conv(c.w0, c.w1);
		ASSERT_TRUE(r.ok()) << std::hex << c.op;
	}
}

TEST(SmmuV3Cmd, EveryOtherOpcodeRefused)
{
	int refused = 0;
	for (uint64_t op = 0; op < 256; op++) {
		bool known = false;
		for (const Case &c : cases())
			known |= c.op == op;
		if (known)
			continue;
		expect_eio(k0Op.prep(op), 0, "opcode");
		refused++;
	}
	EXPECT_EQ(refused, 256 - 8);
}

TEST(SmmuV3Cmd, EveryReservedBitRefused)
{
	for (const Case &c : cases()) {
		for (unsigned b = 0; b < 64; b++) {
			uint64_t m = 1ull << b;
			if (!(c.allow0 & m))
				expect_eio(c.w0 | m, c.w1, "word 0 reserved");
			if (!(c.allow1 & m))
				expect_eio(c.w0, c.w1 | m, "word 1 reserved");
		}
	}
}

TEST(SmmuV3Cmd, VmidForced)
{
	for (const Case &c : cases()) {
		if (c.op == kOpCfgiCd || c.op == kOpCfgiCdAll || c.op == kOpAtcInv)
			continue;
		for (uint64_t user_vmid : {uint64_t{0}, uint64_t{1}, uint64_t{kVmid},
					   uint64_t{0xffff}}) {
			// NSNH_ALL has no VMID field: a guest cannot even try.
			uint64_t w0 = c.op == kOpTlbiNsnhAll ? c.w0 : k0TlbiVmid.set(c.w0, user_vmid);
			for (uint16_t vmid : {uint16_t{0}, uint16_t{kVmid}, uint16_t{0xffff}}) {
				auto r = conv(w0, c.w1, vmid);
				ASSERT_TRUE(r.ok());
				EXPECT_EQ(r.value().vmid, vmid);
				EXPECT_EQ(k0TlbiVmid.get(r.value().words[0]), vmid);
				// Nothing else of word 0 moves (bar NSNH_ALL's opcode).
				if (c.op != kOpTlbiNsnhAll) {
					EXPECT_EQ(r.value().words[0] & ~k0TlbiVmid.mask(),
						  w0 & ~k0TlbiVmid.mask());
				}
			}
		}
	}
}

TEST(SmmuV3Cmd, NsnhAllRunsAsNhAll)
{
	auto r = conv(k0Op.prep(kOpTlbiNsnhAll), 0);
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(r.value().kind, CmdKind::kTlbiNhAll);
	EXPECT_EQ(r.value().words[0], k0Op.prep(kOpTlbiNhAll) | k0TlbiVmid.prep(kVmid));
	EXPECT_EQ(r.value().words[1], 0u);
}

TEST(SmmuV3Cmd, TlbiDecode)
{
	auto r1 = conv(k0Op.prep(kOpTlbiNhAll) | k0TlbiVmid.prep(5), 0);
	ASSERT_TRUE(r1.ok());
	EXPECT_EQ(r1.value().kind, CmdKind::kTlbiNhAll);

	auto r2 = conv(k0Op.prep(kOpTlbiNhAsid) | k0TlbiAsid.prep(0xbeef), 0);
	ASSERT_TRUE(r2.ok());
	EXPECT_EQ(r2.value().kind, CmdKind::kTlbiNhAsid);
	EXPECT_EQ(r2.value().asid, 0xbeef);

	// Single address.
	auto r3 = conv(k0Op.prep(kOpTlbiNhVa) | k0TlbiAsid.prep(0x42), 0xffff'8000'1234'5000 | k1TlbiLeaf);
	ASSERT_TRUE(r3.ok());
	EXPECT_EQ(r3.value().kind, CmdKind::kTlbiNhVa);
	EXPECT_EQ(r3.value().asid, 0x42);
	EXPECT_EQ(r3.value().addr, 0xffff'8000'1234'5000ull);
	EXPECT_TRUE(r3.value().leaf);
	EXPECT_EQ(r3.value().tg, 0);
	EXPECT_EQ(r3.value().num, 0);
	EXPECT_EQ(r3.value().scale, 0);

	// Range: 4 KiB granule, NUM 3, SCALE 2, TTL 3.
	auto r4 = conv(k0Op.prep(kOpTlbiNhVaa) | k0TlbiNum.prep(3) | k0TlbiScale.prep(2),
		 0x40'0000 | k1TlbiTg.prep(1) | k1TlbiTtl.prep(3));
	ASSERT_TRUE(r4.ok());
	EXPECT_EQ(r4.value().kind, CmdKind::kTlbiNhVaa);
	EXPECT_EQ(r4.value().asid, 0);
	EXPECT_EQ(r4.value().addr, 0x40'0000u);
	EXPECT_FALSE(r4.value().leaf);
	EXPECT_EQ(r4.value().tg, 1);
	EXPECT_EQ(r4.value().ttl, 3);
	EXPECT_EQ(r4.value().num, 3);
	EXPECT_EQ(r4.value().scale, 2);
}

TEST(SmmuV3Cmd, RangeFieldsNeedGranule)
{
	for (uint64_t op : {kOpTlbiNhVa, kOpTlbiNhVaa}) {
		expect_eio(k0Op.prep(op) | k0TlbiNum.prep(1), 0x1000, "NUM without TG");
		expect_eio(k0Op.prep(op) | k0TlbiScale.prep(1), 0x1000, "SCALE without TG");
		expect_eio(k0Op.prep(op), 0x1000 | k1TlbiTtl.prep(2), "TTL without TG");
		for (uint64_t tg = 1; tg < 4; tg++)
			EXPECT_TRUE(conv(k0Op.prep(op) | k0TlbiNum.prep(31) | k0TlbiScale.prep(31),
					 0x1000 | k1TlbiTg.prep(tg) | k1TlbiTtl.prep(3))
					    .ok());
	}
}

TEST(SmmuV3Cmd, SidTranslated)
{
	auto r1 = conv(k0Op.prep(kOpCfgiCd) | k0CfgiSsid.prep(0xfffff) | k0CfgiSid.prep(kVsid),
		      k1CfgiLeaf);
	ASSERT_TRUE(r1.ok());
	EXPECT_EQ(r1.value().kind, CmdKind::kCfgiCd);
	EXPECT_EQ(r1.value().sid, kPsid);
	EXPECT_EQ(r1.value().ssid, 0xfffffu);
	EXPECT_TRUE(r1.value().leaf);
	EXPECT_EQ(r1.value().words[0],
		  k0Op.prep(kOpCfgiCd) | k0CfgiSsid.prep(0xfffff) | k0CfgiSid.prep(kPsid));
	EXPECT_EQ(r1.value().words[1], k1CfgiLeaf);
	EXPECT_EQ(r1.value().vmid, 0);

	auto r2 = conv(k0Op.prep(kOpCfgiCdAll) | k0CfgiSid.prep(0xffff'ffff), 0);
	ASSERT_TRUE(r2.ok());
	EXPECT_EQ(r2.value().kind, CmdKind::kCfgiCdAll);
	EXPECT_EQ(r2.value().sid, kPsid + 1);
	EXPECT_EQ(k0CfgiSid.get(r2.value().words[0]), kPsid + 1);

	auto r3 = conv(k0Op.prep(kOpAtcInv) | k0AtcGlobal | k0AtcSsv | k0AtcSsid.prep(9) |
			 k0AtcSid.prep(kVsid),
		 0xdead'b000 | k1AtcSize.prep(4));
	ASSERT_TRUE(r3.ok());
	EXPECT_EQ(r3.value().kind, CmdKind::kAtcInv);
	EXPECT_EQ(r3.value().sid, kPsid);
	EXPECT_TRUE(r3.value().ssv);
	EXPECT_TRUE(r3.value().global);
	EXPECT_EQ(r3.value().ssid, 9u);
	EXPECT_EQ(r3.value().addr, 0xdead'b000u);
	EXPECT_EQ(r3.value().atc_size, 4);
	EXPECT_EQ(k0AtcSid.get(r3.value().words[0]), kPsid);
	EXPECT_EQ(r3.value().words[1], 0xdead'b000 | k1AtcSize.prep(4));
}

TEST(SmmuV3Cmd, UnknownVsid)
{
	for (uint64_t vsid : {uint64_t{0}, uint64_t{kVsid + 1}, uint64_t{kPsid}}) {
		expect_eio(k0Op.prep(kOpCfgiCd) | k0CfgiSid.prep(vsid), 0, "CFGI_CD vSID");
		expect_eio(k0Op.prep(kOpCfgiCdAll) | k0CfgiSid.prep(vsid), 0, "CFGI_CD_ALL vSID");
		expect_eio(k0Op.prep(kOpAtcInv) | k0AtcSid.prep(vsid), 0, "ATC_INV vSID");
	}
}

TEST(SmmuV3Cmd, AtcRules)
{
	const uint64_t w0 = k0Op.prep(kOpAtcInv) | k0AtcSid.prep(kVsid);
	for (uint64_t size = 0; size < 64; size++) {
		auto r = conv(w0, k1AtcSize.prep(size));
		EXPECT_EQ(r.ok(), size <= kAtcSizeMax) << size;
	}
	// An SSID only with SSV.
	expect_eio(w0 | k0AtcSsid.prep(1), 0, "SSID without SSV");
	EXPECT_TRUE(conv(w0 | k0AtcSsv, 0).ok());
}

// --- The batch helper ------------------------------------------------------

struct Batch {
	std::vector<Command> seen;
	int fail_at = -1;
};

cxx::Status run(const std::vector<std::array<uint64_t, 2>> &entries, Batch &b, uint32_t *done)
{
	auto lookup = [](uint32_t v) { return lookup_fn(v); };
	auto sink = [&](const Command &c) -> cxx::Status {
		if (static_cast<int>(b.seen.size()) == b.fail_at)
			return cxx::Err(EBUSY);
		b.seen.push_back(c);
		return {};
	};
	static_assert(sizeof(std::array<uint64_t, 2>) == 16);
	return convert_user_cmds(reinterpret_cast<const uint64_t(*)[2]>(entries.data()),
				 static_cast<uint32_t>(entries.size()), kVmid, lookup, sink, done);
}

TEST(SmmuV3Cmd, BatchAll)
{
	std::vector<std::array<uint64_t, 2>> e;
	for (const Case &c : cases())
		e.push_back({c.w0, c.w1});
	Batch b;
	uint32_t done = 99;
	ASSERT_TRUE(run(e, b, &done).ok());
	EXPECT_EQ(done, e.size());
	ASSERT_EQ(b.seen.size(), e.size());
	EXPECT_EQ(b.seen[0].kind, CmdKind::kTlbiNhAll);
	EXPECT_EQ(b.seen[4].kind, CmdKind::kTlbiNhAll);   // the NSNH_ALL
	EXPECT_EQ(b.seen[7].kind, CmdKind::kAtcInv);
}

TEST(SmmuV3Cmd, BatchEmpty)
{
	Batch b;
	uint32_t done = 99;
	ASSERT_TRUE(run({}, b, &done).ok());
	EXPECT_EQ(done, 0u);
}

TEST(SmmuV3Cmd, BatchStopsAtFirstBadEntry)
{
	const uint64_t good0 = k0Op.prep(kOpTlbiNhAll);
	for (uint32_t bad = 0; bad < 4; bad++) {
		std::vector<std::array<uint64_t, 2>> e(4, {good0, 0});
		e[bad] = {k0Op.prep(0x20), 0};   // TLBI_EL2_ALL: not a guest's
		if (bad + 1 < 4)
			e[bad + 1] = {k0Op.prep(kOpCfgiCd), 0};   // would fail too
		Batch b;
		uint32_t done = 99;
		auto r = run(e, b, &done);
		ASSERT_FALSE(r.ok());
		EXPECT_EQ(r.code(), -EIO);
		EXPECT_EQ(done, bad);
		EXPECT_EQ(b.seen.size(), bad);
	}
}

TEST(SmmuV3Cmd, BatchSinkError)
{
	std::vector<std::array<uint64_t, 2>> e(5, {k0Op.prep(kOpTlbiNhAll), 0});
	Batch b;
	b.fail_at = 2;
	uint32_t done = 99;
	auto r = run(e, b, &done);
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.code(), -EBUSY);
	EXPECT_EQ(done, 2u);
}

} // namespace
