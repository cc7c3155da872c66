// SPDX-License-Identifier: GPL-2.0
//
// smmuv3_fuzz.cpp - libFuzzer target over the SMMUv3 decoders a guest
// feeds: the nested HWPT's STE (validate_vste), a Context Descriptor
// (decode_cd) and a batch of invalidation commands (convert_user_cmds).
// The input is read as little-endian 64-bit words, as the uAPI and guest
// memory carry them: two for the STE, eight for the CD, then pairs for
// commands, with the vIOMMU's VMID and the vDEVICE table's vSID taken from
// the first words so both vary too.  Beyond "no crash, no sanitizer
// report", every accepted result is checked against the rules:
//   - an accepted STE carries only nesting-allowed bits, an allowed Config
//     and no EATS in its stored words, and a V == 0 STE is all zero;
//   - an accepted CD is AArch64, little-endian, 4 KiB, TxSZ 16..39 for
//     every half in use;
//   - every rewritten TLBI carries the forced VMID, every rewritten SID
//     came from the lookup, and the batch count is exact.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smmuv3/cd.hpp"
#include "smmuv3/cmd.hpp"
#include "smmuv3/ste.hpp"

#include "fuzz_util.h"

using namespace iommufd::smmuv3;

namespace {

// Little-endian words from the input, zero past its end: the conversion
// point the ioctl and the model have (le64_to_cpu), here on the host.
struct Reader {
	const uint8_t *p;
	size_t n;

	uint64_t word()
	{
		uint8_t b[8] = {};
		size_t k = n < 8 ? n : 8;
		memcpy(b, p, k);
		p += k;
		n -= k;
		uint64_t v = 0;
		for (int i = 7; i >= 0; i--)
			v = (v << 8) | b[i];
		return v;
	}
};

void fuzz_ste(Reader &in)
{
	uint64_t w[ste::kUserWords] = {in.word(), in.word()};
	auto r = validate_vste(w);
	if (!r.ok()) {
		check(r.error().code() == -EIO);
		// Only a valid STE is refused.
		check(w[0] & ste::k0V);
		return;
	}
	const Vste &v = r.value();
	if (!(w[0] & ste::k0V)) {
		check(!v.valid && v.words[0] == 0 && v.words[1] == 0 && !v.ats);
		return;
	}
	check(v.valid);
	check(!(v.words[0] & ~ste::k0NestingAllowed));
	check(!(v.words[1] & ~ste::k1NestingAllowed));
	check(!(v.words[1] & ste::k1EATS.mask()));
	uint64_t cfg = ste::k0Config.get(v.words[0]);
	check(cfg == ste::kConfigAbort || cfg == ste::kConfigBypass ||
	      cfg == ste::kConfigS1Trans);
	check(ste::k1EATS.get(w[1]) <= ste::kEatsTrans);
	check(!v.ats || v.config == SteConfig::kS1Trans);
	check(v.s1_context_ptr == (w[0] & ste::k0S1ContextPtr.mask()));
}

void fuzz_cd(Reader &in)
{
	uint64_t w[cd::kWords];
	for (auto &x : w)
		x = in.word();
	CdError why = CdError::kNone;
	auto r = decode_cd(w, &why);
	if (!r.ok()) {
		check(r.error().code() == -EIO && why != CdError::kNone);
		return;
	}
	check(why == CdError::kNone);
	const Cd &c = r.value();
	check((w[0] & cd::k0V) && (w[0] & cd::k0AA64) && !(w[0] & cd::k0ENDI));
	if (c.half[0].enabled)
		check(cd::k0TG0.get(w[0]) == cd::kTG0_4k);
	if (c.half[1].enabled)
		check(cd::k0TG1.get(w[0]) == cd::kTG1_4k);
	for (const CdHalf &h : c.half) {
		if (h.enabled)
			check(h.tsz >= 16 && h.tsz <= 39);
		check(!(h.ttb & 0xf) && h.ttb < (1ull << 52));
	}
	check(c.oas_bits >= 32 && c.oas_bits <= 48);
}

void fuzz_cmds(Reader &in)
{
	uint64_t ctl = in.word();
	const uint16_t vmid = static_cast<uint16_t>(ctl);
	const uint32_t vsid = static_cast<uint32_t>(ctl >> 16) & 0xff;
	const uint32_t psid = ~vsid;

	constexpr uint32_t kMax = 16;
	uint64_t entries[kMax][cmd::kWords];
	uint32_t n = 0;
	// Random words rarely hold an accepted opcode or the one known vSID:
	// bit 24 of the control word folds each opcode onto the accepted set,
	// bit 25 puts the vSID in the SID field.
	static constexpr uint64_t kOps[] = {
		cmd::kOpCfgiCd,    cmd::kOpCfgiCdAll,    cmd::kOpTlbiNhAll, cmd::kOpTlbiNhAsid,
		cmd::kOpTlbiNhVa,  cmd::kOpTlbiNhVaa,    cmd::kOpTlbiNsnhAll, cmd::kOpAtcInv};
	while (in.n && n < kMax) {
		uint64_t w0 = in.word();
		if (ctl & (1ull << 24))
			w0 = cmd::k0Op.set(w0, kOps[cmd::k0Op.get(w0) % 8]);
		if (ctl & (1ull << 25))
			w0 = cmd::k0CfgiSid.set(w0, vsid);
		entries[n][0] = w0;
		entries[n][1] = in.word();
		n++;
	}

	auto lookup = [&](uint32_t v) -> cxx::Result<uint32_t> {
		if (v == vsid)
			return psid;
		return cxx::Err(ENOENT);
	};
	uint32_t sunk = 0;
	auto sink = [&](const Command &c) -> cxx::Status {
		// The sink sees exactly the conversion of the entry it is on.
		auto again = convert_user_cmd(entries[sunk], vmid, lookup);
		check(again.ok());
		const Command &a = again.value();
		check(a.words[0] == c.words[0] && a.words[1] == c.words[1] &&
		      a.kind == c.kind && a.sid == c.sid && a.addr == c.addr);
		sunk++;
		switch (c.kind) {
		case CmdKind::kTlbiNhAll:
		case CmdKind::kTlbiNhAsid:
		case CmdKind::kTlbiNhVa:
		case CmdKind::kTlbiNhVaa:
			check(c.vmid == vmid && cmd::k0TlbiVmid.get(c.words[0]) == vmid);
			check(cmd::k0Op.get(c.words[0]) != cmd::kOpTlbiNsnhAll);
			break;
		case CmdKind::kCfgiCd:
		case CmdKind::kCfgiCdAll:
			check(c.sid == psid && cmd::k0CfgiSid.get(c.words[0]) == psid);
			break;
		case CmdKind::kAtcInv:
			check(c.sid == psid && cmd::k0AtcSid.get(c.words[0]) == psid);
			check(c.atc_size <= cmd::kAtcSizeMax);
			break;
		}
		return {};
	};
	uint32_t done = ~0u;
	auto r = convert_user_cmds(entries, n, vmid, lookup, sink, &done);
	check(done == sunk && done <= n);
	if (r.ok()) {
		check(done == n);
	} else {
		check(r.code() == -EIO && done < n);
		check(!convert_user_cmd(entries[done], vmid, lookup).ok());
	}
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	Reader in{data, len};
	fuzz_ste(in);
	fuzz_cd(in);
	fuzz_cmds(in);
	return 0;
}
