// SPDX-License-Identifier: GPL-2.0
//
// smmuv3_ste_test.cpp - the guest STE validator (validate_vste) and the CD
// decoder (decode_cd): every accepted Config and EATS, every bit outside the
// nesting-allowed fields rejected one at a time, every reserved Config and
// EATS, V == 0 accepted as an all-zero abort whatever else is set, the
// decoded fields; and for CDs each refusal reason (C_BAD_CD) and the decode
// of both halves.
#include <gtest/gtest.h>

#include "smmuv3/cd.hpp"
#include "smmuv3/ste.hpp"

using namespace iommufd::smmuv3;

namespace {

constexpr uint64_t kCtxPtr = 0x0000'0123'4567'89c0ull;   // 64-byte aligned IPA

uint64_t ste0(uint64_t config)
{
	return ste::k0V | ste::k0Config.prep(config) | kCtxPtr | ste::k0S1Fmt.prep(1) |
	       ste::k0S1CDMax.prep(5);
}

TEST(SmmuV3Ste, InvalidIsZeroedAbort)
{
	// Whatever follows V == 0, including forbidden bits and bad Config.
	for (uint64_t w0 : {uint64_t{0}, ~ste::k0V, ste::k0Config.prep(7) | bit(52)}) {
		uint64_t w[2] = {w0, ~0ull};
		auto r = validate_vste(w);
		ASSERT_TRUE(r.ok());
		EXPECT_FALSE(r.value().valid);
		EXPECT_EQ(r.value().config, SteConfig::kAbort);
		EXPECT_EQ(r.value().words[0], 0u);
		EXPECT_EQ(r.value().words[1], 0u);
		EXPECT_FALSE(r.value().ats);
		EXPECT_EQ(r.value().s1_context_ptr, 0u);
	}
}

TEST(SmmuV3Ste, AcceptedConfigs)
{
	struct {
		uint64_t cfg;
		SteConfig want;
	} cases[] = {{ste::kConfigAbort, SteConfig::kAbort},
		     {ste::kConfigBypass, SteConfig::kBypass},
		     {ste::kConfigS1Trans, SteConfig::kS1Trans}};
	for (auto &c : cases) {
		uint64_t w[2] = {ste0(c.cfg), 0};
		auto r = validate_vste(w);
		ASSERT_TRUE(r.ok()) << c.cfg;
		EXPECT_TRUE(r.value().valid);
		EXPECT_EQ(r.value().config, c.want);
		EXPECT_EQ(r.value().words[0], w[0]);
	}
}

TEST(SmmuV3Ste, RejectedConfigs)
{
	for (uint64_t cfg : {1, 2, 3, 6, 7}) {
		uint64_t w[2] = {ste0(cfg), 0};
		auto r = validate_vste(w);
		ASSERT_FALSE(r.ok()) << cfg;
		EXPECT_EQ(r.error().code(), -EIO);
	}
}

TEST(SmmuV3Ste, DecodedFields)
{
	uint64_t w[2] = {ste0(ste::kConfigS1Trans),
			 ste::k1S1DSS.prep(2) | ste::k1S1CIR.prep(1) | ste::k1S1COR.prep(3) |
				 ste::k1S1CSH.prep(2) | ste::k1S1StallD | ste::k1EATS.prep(1)};
	auto r = validate_vste(w);
	ASSERT_TRUE(r.ok());
	const Vste &v = r.value();
	EXPECT_EQ(v.s1_context_ptr, kCtxPtr);
	EXPECT_EQ(v.s1fmt, 1);
	EXPECT_EQ(v.s1_cdmax, 5);
	EXPECT_EQ(v.s1dss, 2);
	EXPECT_EQ(v.s1cir, 1);
	EXPECT_EQ(v.s1cor, 3);
	EXPECT_EQ(v.s1csh, 2);
	EXPECT_TRUE(v.s1_stalld);
	EXPECT_TRUE(v.ats);
	// EATS is stripped from the stored words, the rest kept.
	EXPECT_EQ(v.words[0], w[0]);
	EXPECT_EQ(v.words[1], w[1] & ~ste::k1EATS.mask());
	// Highest possible S1ContextPtr and S1CDMax.
	uint64_t hi[2] = {ste::k0V | ste::k0Config.prep(5) | ste::k0S1ContextPtr.mask() |
				  ste::k0S1CDMax.mask(),
			  0};
	auto r2 = validate_vste(hi);
	ASSERT_TRUE(r2.ok());
	EXPECT_EQ(r2.value().s1_context_ptr, 0x000f'ffff'ffff'ffc0ull);
	EXPECT_EQ(r2.value().s1_cdmax, 31);
	EXPECT_FALSE(r2.value().s1_stalld);
}

TEST(SmmuV3Ste, Eats)
{
	for (uint64_t cfg : {ste::kConfigAbort, ste::kConfigBypass, ste::kConfigS1Trans}) {
		for (uint64_t eats = 0; eats < 4; eats++) {
			uint64_t w[2] = {ste0(cfg), ste::k1EATS.prep(eats)};
			auto r = validate_vste(w);
			if (eats > 1) {
				ASSERT_FALSE(r.ok()) << cfg << " " << eats;
				EXPECT_EQ(r.error().code(), -EIO);
				continue;
			}
			ASSERT_TRUE(r.ok()) << cfg << " " << eats;
			// ATS only for a stage-1 STE that asks for it.
			EXPECT_EQ(r.value().ats, cfg == ste::kConfigS1Trans && eats == 1);
			EXPECT_EQ(r.value().words[1], 0u);
		}
	}
}

TEST(SmmuV3Ste, EveryForbiddenBitWord0)
{
	int n = 0;
	for (unsigned b = 0; b < 64; b++) {
		uint64_t m = 1ull << b;
		if (m & ste::k0NestingAllowed)
			continue;
		uint64_t w[2] = {ste0(ste::kConfigS1Trans) | m, 0};
		auto r = validate_vste(w);
		ASSERT_FALSE(r.ok()) << "word 0 bit " << b;
		EXPECT_EQ(r.error().code(), -EIO);
		n++;
	}
	EXPECT_EQ(n, 64 - 1 - 3 - 2 - 46 - 5);   // bits 52..58
}

TEST(SmmuV3Ste, EveryForbiddenBitWord1)
{
	int n = 0;
	for (unsigned b = 0; b < 64; b++) {
		uint64_t m = 1ull << b;
		if (m & ste::k1NestingAllowed)
			continue;
		for (uint64_t cfg : {ste::kConfigAbort, ste::kConfigBypass, ste::kConfigS1Trans}) {
			uint64_t w[2] = {ste0(cfg), m};
			auto r = validate_vste(w);
			ASSERT_FALSE(r.ok()) << "word 1 bit " << b;
			EXPECT_EQ(r.error().code(), -EIO);
		}
		n++;
	}
	EXPECT_EQ(n, 64 - 8 - 1 - 2);
}

TEST(SmmuV3Ste, EveryAllowedBitAlone)
{
	// Each allowed bit on its own on top of a valid stage-1 STE; Config
	// and EATS bits only where the resulting value is legal.
	for (unsigned b = 0; b < 64; b++) {
		uint64_t m = 1ull << b;
		if ((m & ste::k0NestingAllowed) && !(m & ste::k0Config.mask())) {
			uint64_t w[2] = {ste0(ste::kConfigS1Trans) | m, 0};
			EXPECT_TRUE(validate_vste(w).ok()) << "word 0 bit " << b;
		}
		if ((m & ste::k1NestingAllowed) && !(m & ste::k1EATS.mask() & ~ste::k1EATS.prep(1))) {
			uint64_t w[2] = {ste0(ste::kConfigS1Trans), m};
			EXPECT_TRUE(validate_vste(w).ok()) << "word 1 bit " << b;
		}
	}
}

// --- Context descriptors ---------------------------------------------------

constexpr uint64_t kTtb0 = 0x0000'0000'8000'1000ull;
constexpr uint64_t kTtb1 = 0x0000'0000'9000'2000ull;

// A CD a Linux guest would write: 48-bit VA in TTB0, 4 KiB, WB, inner
// shareable, TTB1 disabled, 48-bit IPS, ASID 0x1234.
void good_cd(uint64_t w[cd::kWords])
{
	using namespace cd;
	for (unsigned i = 0; i < kWords; i++)
		w[i] = 0;
	w[0] = k0V | k0AA64 | k0T0SZ.prep(16) | k0TG0.prep(kTG0_4k) | k0IR0.prep(1) |
	       k0OR0.prep(1) | k0SH0.prep(3) | k0EPD1 | k0IPS.prep(5) | k0R | k0A | k0ASET |
	       k0ASID.prep(0x1234);
	w[1] = kTtb0;
	w[3] = 0x0000'0000'0044'ff04ull;
}

TEST(SmmuV3Cd, DecodeGood)
{
	uint64_t w[cd::kWords];
	good_cd(w);
	CdError why = CdError::kTxSZ;
	auto r = decode_cd(w, &why);
	ASSERT_TRUE(r.ok());
	EXPECT_EQ(why, CdError::kNone);
	const Cd &c = r.value();
	EXPECT_TRUE(c.half[0].enabled);
	EXPECT_EQ(c.half[0].tsz, 16);
	EXPECT_EQ(c.half[0].irgn, 1);
	EXPECT_EQ(c.half[0].orgn, 1);
	EXPECT_EQ(c.half[0].sh, 3);
	EXPECT_EQ(c.half[0].ttb, kTtb0);
	EXPECT_FALSE(c.half[0].tbi);
	EXPECT_FALSE(c.half[1].enabled);
	EXPECT_EQ(c.asid, 0x1234);
	EXPECT_EQ(c.ips, 5);
	EXPECT_EQ(c.oas_bits, 48);
	EXPECT_TRUE(c.aset);
	EXPECT_TRUE(c.record);
	EXPECT_TRUE(c.abort);
	EXPECT_FALSE(c.stall);
	EXPECT_EQ(c.mair, w[3]);
	EXPECT_EQ(c.words[1], w[1]);
}

TEST(SmmuV3Cd, DecodeBothHalves)
{
	using namespace cd;
	uint64_t w[kWords];
	good_cd(w);
	w[0] &= ~k0EPD1;
	w[0] |= k0T1SZ.prep(39) | k0TG1.prep(kTG1_4k) | k0IR1.prep(2) | k0OR1.prep(3) |
		k0SH1.prep(2) | k0TBI0 | k0TBI1 | k0S;
	w[1] |= 0xf;           // low bits outside TTB0 are not the address
	w[2] = kTtb1 | (1ull << 63);
	auto r = decode_cd(w);
	ASSERT_TRUE(r.ok());
	const Cd &c = r.value();
	EXPECT_EQ(c.half[0].ttb, kTtb0);
	EXPECT_TRUE(c.half[0].tbi);
	EXPECT_TRUE(c.half[1].enabled);
	EXPECT_EQ(c.half[1].tsz, 39);
	EXPECT_EQ(c.half[1].irgn, 2);
	EXPECT_EQ(c.half[1].orgn, 3);
	EXPECT_EQ(c.half[1].sh, 2);
	EXPECT_TRUE(c.half[1].tbi);
	EXPECT_EQ(c.half[1].ttb, kTtb1);
	EXPECT_TRUE(c.stall);
}

void expect_bad(const uint64_t w[cd::kWords], CdError want)
{
	CdError why = CdError::kNone;
	auto r = decode_cd(w, &why);
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().code(), -EIO);
	EXPECT_EQ(why, want);
	// The reason pointer is optional.
	EXPECT_FALSE(decode_cd(w).ok());
}

TEST(SmmuV3Cd, Refusals)
{
	using namespace cd;
	uint64_t w[kWords];

	good_cd(w);
	w[0] &= ~k0V;
	expect_bad(w, CdError::kNotValid);

	good_cd(w);
	w[0] &= ~k0AA64;
	expect_bad(w, CdError::kNotAArch64);

	good_cd(w);
	w[0] |= k0ENDI;
	expect_bad(w, CdError::kBigEndian);

	for (uint64_t h : {k0HA, k0HD}) {
		good_cd(w);
		w[0] |= h;
		expect_bad(w, CdError::kHttu);
	}

	for (uint64_t ips : {6, 7}) {
		good_cd(w);
		w[0] = k0IPS.set(w[0], ips);
		expect_bad(w, CdError::kIps);
	}

	for (uint64_t tg : {kTG0_16k, kTG0_64k, uint64_t{3}}) {
		good_cd(w);
		w[0] = k0TG0.set(w[0], tg);
		expect_bad(w, CdError::kGranule);
	}
	for (uint64_t tg : {uint64_t{0}, kTG1_16k, kTG1_64k}) {
		good_cd(w);
		w[0] = k0TG1.set(w[0] & ~k0EPD1, tg) | k0T1SZ.prep(16);
		expect_bad(w, CdError::kGranule);
	}
	for (uint64_t tsz : {0, 15, 40, 63}) {
		good_cd(w);
		w[0] = k0T0SZ.set(w[0], tsz);
		expect_bad(w, CdError::kTxSZ);
		good_cd(w);
		w[0] = k0T1SZ.set(k0TG1.set(w[0] & ~k0EPD1, kTG1_4k), tsz);
		expect_bad(w, CdError::kTxSZ);
	}
}

TEST(SmmuV3Cd, DisabledHalfIsNotChecked)
{
	using namespace cd;
	uint64_t w[kWords];
	good_cd(w);
	// TTB1 is disabled in good_cd: garbage granule and size are fine.
	w[0] = k0T1SZ.set(k0TG1.set(w[0], 0), 63);
	EXPECT_TRUE(decode_cd(w).ok());
	// Both halves disabled: every walk faults, but the CD is legal.
	w[0] = k0TG0.set(w[0] | k0EPD0, kTG0_64k);
	auto r = decode_cd(w);
	ASSERT_TRUE(r.ok());
	EXPECT_FALSE(r.value().half[0].enabled);
	EXPECT_FALSE(r.value().half[1].enabled);
	// Every legal IPS.
	const uint8_t bits[] = {32, 36, 40, 42, 44, 48};
	for (uint64_t ips = 0; ips < 6; ips++) {
		w[0] = k0IPS.set(w[0], ips);
		auto ri = decode_cd(w);
		ASSERT_TRUE(ri.ok());
		EXPECT_EQ(ri.value().oas_bits, bits[ips]);
	}
}

} // namespace
