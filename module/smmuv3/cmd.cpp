// SPDX-License-Identifier: GPL-2.0
//
// cmd.cpp - convert_user_cmd(): one guest invalidation command checked
// against the fields its opcode defines, its VMID forced and its vSID
// translated, and the batch loop with upstream's entry_num semantics.
// Reserved fields are rejected rather than ignored so that a guest cannot
// smuggle bits into a physical command queue that the architecture may give
// meaning to later.
#include "smmuv3/cmd.hpp"

namespace iommufd::smmuv3 {

namespace {

using namespace cmd;

// Fields a guest may set, per opcode, opcode included.  The VMID field of
// the TLBI commands is allowed because it is overwritten, never read.
constexpr uint64_t kTlbiRange0 = k0TlbiNum.mask() | k0TlbiScale.mask();
constexpr uint64_t kTlbiRange1 = k1TlbiTtl.mask() | k1TlbiTg.mask();

struct Allowed {
	uint64_t w0, w1;
};

constexpr Allowed kNhAll = {k0Op.mask() | k0TlbiVmid.mask(), 0};
constexpr Allowed kNhAsid = {k0Op.mask() | k0TlbiVmid.mask() | k0TlbiAsid.mask(), 0};
constexpr Allowed kNhVa = {k0Op.mask() | kTlbiRange0 | k0TlbiVmid.mask() | k0TlbiAsid.mask(),
			   k1TlbiLeaf | kTlbiRange1 | k1TlbiAddr.mask()};
constexpr Allowed kNhVaa = {k0Op.mask() | kTlbiRange0 | k0TlbiVmid.mask(),
			    k1TlbiLeaf | kTlbiRange1 | k1TlbiAddr.mask()};
// CMD_TLBI_NSNH_ALL has nothing but its opcode.
constexpr Allowed kNsnhAll = {k0Op.mask(), 0};
constexpr Allowed kCfgiCd = {k0Op.mask() | k0CfgiSsid.mask() | k0CfgiSid.mask(), k1CfgiLeaf};
constexpr Allowed kCfgiCdAll = {k0Op.mask() | k0CfgiSid.mask(), 0};
constexpr Allowed kAtcInv = {k0Op.mask() | k0AtcGlobal | k0AtcSsv | k0AtcSsid.mask() |
				     k0AtcSid.mask(),
			     k1AtcSize.mask() | k1AtcAddr.mask()};

bool only(const uint64_t w[kWords], Allowed a)
{
	return !(w[0] & ~a.w0) && !(w[1] & ~a.w1);
}

// The TLBI fields shared by NH_VA and NH_VAA.
cxx::Status decode_va(Command &c)
{
	c.leaf = c.words[1] & k1TlbiLeaf;
	c.addr = c.words[1] & k1TlbiAddr.mask();
	c.tg = static_cast<uint8_t>(k1TlbiTg.get(c.words[1]));
	c.ttl = static_cast<uint8_t>(k1TlbiTtl.get(c.words[1]));
	c.num = static_cast<uint8_t>(k0TlbiNum.get(c.words[0]));
	c.scale = static_cast<uint8_t>(k0TlbiScale.get(c.words[0]));
	// Without a granule there is no range and no level hint.
	if (!c.tg && (c.ttl || c.num || c.scale))
		return cxx::Err(EIO);
	return {};
}

cxx::Status translate_sid(Command &c, Field sid_field, SidLookup lookup)
{
	uint32_t vsid = static_cast<uint32_t>(sid_field.get(c.words[0]));
	auto sid = lookup(vsid);
	if (!sid.ok())
		return cxx::Err(EIO);
	c.sid = sid.value();
	c.words[0] = sid_field.set(c.words[0], c.sid);
	return {};
}

} // namespace

cxx::Result<Command> convert_user_cmd(const uint64_t words[kWords], uint16_t vmid,
				      SidLookup lookup)
{
	Command c = {};
	c.words[0] = words[0];
	c.words[1] = words[1];

	switch (k0Op.get(words[0])) {
	case kOpTlbiNsnhAll:
		if (!only(words, kNsnhAll))
			return cxx::Err(EIO);
		// A guest's "everything outside EL2" is everything of its VMID.
		c.kind = CmdKind::kTlbiNhAll;
		c.words[0] = k0Op.prep(kOpTlbiNhAll);
		c.words[1] = 0;
		break;
	case kOpTlbiNhAll:
		if (!only(words, kNhAll))
			return cxx::Err(EIO);
		c.kind = CmdKind::kTlbiNhAll;
		break;
	case kOpTlbiNhAsid:
		if (!only(words, kNhAsid))
			return cxx::Err(EIO);
		c.kind = CmdKind::kTlbiNhAsid;
		break;
	case kOpTlbiNhVa:
		if (!only(words, kNhVa))
			return cxx::Err(EIO);
		c.kind = CmdKind::kTlbiNhVa;
		TRY(decode_va(c));
		break;
	case kOpTlbiNhVaa:
		if (!only(words, kNhVaa))
			return cxx::Err(EIO);
		c.kind = CmdKind::kTlbiNhVaa;
		TRY(decode_va(c));
		break;
	case kOpCfgiCd:
		if (!only(words, kCfgiCd))
			return cxx::Err(EIO);
		c.kind = CmdKind::kCfgiCd;
		c.ssid = static_cast<uint32_t>(k0CfgiSsid.get(words[0]));
		c.leaf = words[1] & k1CfgiLeaf;
		TRY(translate_sid(c, k0CfgiSid, lookup));
		return c;
	case kOpCfgiCdAll:
		if (!only(words, kCfgiCdAll))
			return cxx::Err(EIO);
		c.kind = CmdKind::kCfgiCdAll;
		TRY(translate_sid(c, k0CfgiSid, lookup));
		return c;
	case kOpAtcInv:
		if (!only(words, kAtcInv))
			return cxx::Err(EIO);
		c.kind = CmdKind::kAtcInv;
		c.global = words[0] & k0AtcGlobal;
		c.ssv = words[0] & k0AtcSsv;
		c.ssid = static_cast<uint32_t>(k0AtcSsid.get(words[0]));
		// An SSID without SSV is a reserved combination.
		if (!c.ssv && c.ssid)
			return cxx::Err(EIO);
		c.atc_size = static_cast<uint8_t>(k1AtcSize.get(words[1]));
		if (c.atc_size > kAtcSizeMax)
			return cxx::Err(EIO);
		c.addr = words[1] & k1AtcAddr.mask();
		TRY(translate_sid(c, k0AtcSid, lookup));
		return c;
	default:
		return cxx::Err(EIO);
	}

	// Every TLBI: the vIOMMU's VMID, whatever the guest wrote.
	c.vmid = vmid;
	c.words[0] = k0TlbiVmid.set(c.words[0], vmid);
	if (c.kind == CmdKind::kTlbiNhAsid || c.kind == CmdKind::kTlbiNhVa)
		c.asid = static_cast<uint16_t>(k0TlbiAsid.get(c.words[0]));
	return c;
}

cxx::Status convert_user_cmds(const uint64_t (*entries)[kWords], uint32_t n, uint16_t vmid,
			      SidLookup lookup,
			      cxx::FunctionRef<cxx::Status(const Command &)> sink,
			      uint32_t *done)
{
	*done = 0;
	for (uint32_t i = 0; i < n; i++) {
		auto c = TRY(convert_user_cmd(entries[i], vmid, lookup));
		TRY(sink(c));
		*done = i + 1;
	}
	return {};
}

} // namespace iommufd::smmuv3
