// SPDX-License-Identifier: GPL-2.0
//
// walk.cpp - the stage-1 walker and TLB of the software SMMUv3 model (see
// walk.hpp for the interface and what is not modelled).  The walk follows
// the VMSAv8-64 rules for the 4 KiB granule: the input size picks the start
// level, each level resolves 9 bits of the IOVA, a descriptor is invalid
// (bit 0 clear), a table (bits 1:0 = 11 above level 3), a block (10 at
// levels 1 and 2) or a page (11 at level 3); 10 at level 0 or 3 is
// reserved and faults like an invalid one.  Faults are checked in the
// order translation, address size, access flag, permission, which is the
// priority the architecture gives them within one stage.
#include "smmuv3/walk.hpp"

namespace iommufd::smmuv3 {

namespace {

constexpr uint64_t kDescValid = 1ull << 0;
constexpr uint64_t kDescTable = 1ull << 1;  // table at 0-2, page at 3
constexpr uint64_t kDescAP1 = 1ull << 6;    // unprivileged access allowed
constexpr uint64_t kDescAP2 = 1ull << 7;    // read-only
constexpr uint64_t kDescAF = 1ull << 10;
constexpr uint64_t kDescNG = 1ull << 11;
constexpr uint64_t kTableAPUnpriv = 1ull << 61; // APTable[0]: no unprivileged below
constexpr uint64_t kTableAPRdonly = 1ull << 62; // APTable[1]: no writes below
// Output address bits [47:12]; bits [51:48] are RES0 without TCR.DS and
// are ignored here, as are the attribute bits around the address.
constexpr uint64_t kAddrMask = ((1ull << 48) - 1) & ~((1ull << 12) - 1);

constexpr unsigned kGranuleShift = 12;
constexpr unsigned kBitsPerLevel = 9;
constexpr unsigned kMinTsz = 16;  // 48-bit input
constexpr unsigned kMaxTsz = 39;  // 25-bit input

// Bit position of the lowest IOVA bit a level resolves.
constexpr unsigned level_shift(unsigned level)
{
	return kGranuleShift + kBitsPerLevel * (3 - level);
}

bool region_ok(const Stage1Region &r)
{
	return r.granule == Granule::k4K && r.tsz >= kMinTsz && r.tsz <= kMaxTsz;
}

bool ips_ok(unsigned ips)
{
	switch (ips) {
	case 32: case 36: case 40: case 42: case 44: case 48:
		return true;
	default:
		return false;
	}
}

WalkResult fault(FaultKind kind, unsigned level)
{
	WalkResult r;
	r.fault.kind = kind;
	r.fault.level = static_cast<uint8_t>(level);
	return r;
}

// Stage 2 refused ipa with errno err.
WalkResult stage2_fault(int err, unsigned level, FaultClass cls, uint64_t ipa)
{
	bool perm = err == -EPERM;
	WalkResult r = fault(perm ? FaultKind::Permission : FaultKind::Translation, level);
	r.fault.stage2 = true;
	r.fault.cls = cls;
	r.fault.ipa = ipa;
	return r;
}

} // namespace

cxx::Result<WalkResult> walk_stage1(const Stage1Config &cfg, uint64_t iova, Access access,
				    Stage2Fn stage2, ReadQwordFn read)
{
	if (!region_ok(cfg.r0) || (cfg.r1_enabled && !region_ok(cfg.r1)) || !ips_ok(cfg.ips))
		return cxx::Err(EINVAL);

	// Bit 63 picks the half; every bit above the half's input size must
	// equal it, or the IOVA is outside both halves.
	bool upper = iova >> 63;
	if (upper && !cfg.r1_enabled)
		return fault(FaultKind::Translation, 0);
	const Stage1Region &region = upper ? cfg.r1 : cfg.r0;
	unsigned ia_bits = 64 - region.tsz;
	uint64_t top = upper ? ~iova : iova;
	if (top >> ia_bits)
		return fault(FaultKind::Translation, 0);
	if (region.epd)
		return fault(FaultKind::Translation, 0);

	// Levels needed to resolve ia_bits - 12 bits, 9 at a time; the start
	// level's table may be shorter than 512 entries.
	unsigned nlevels = (ia_bits - kGranuleShift + kBitsPerLevel - 1) / kBitsPerLevel;
	unsigned start = 4 - nlevels;
	uint64_t oa_limit = 1ull << cfg.ips;

	// The start table is aligned to its own size; lower TTB bits are
	// treated as zero (one of the architecture's permitted choices).
	unsigned start_index_bits = ia_bits - level_shift(start);
	uint64_t start_bytes = 8ull << start_index_bits;
	if (region.ttb >= oa_limit)
		return fault(FaultKind::AddressSize, start);
	uint64_t table = region.ttb & ~(start_bytes - 1);

	Perm limit{true, true};  // what APTable bits above still allow
	for (unsigned level = start; level <= 3; level++) {
		unsigned shift = level_shift(level);
		unsigned index_bits = level == start ? start_index_bits : kBitsPerLevel;
		uint64_t index = (iova >> shift) & ((1ull << index_bits) - 1);
		uint64_t desc_ipa = table + index * 8;

		auto desc_pa = stage2(desc_ipa, false);
		if (!desc_pa.ok())
			return stage2_fault(desc_pa.error().code(), level, FaultClass::TT, desc_ipa);
		auto desc_r = read(desc_pa.value());
		if (!desc_r.ok())
			return fault(FaultKind::ExternalAbort, level);
		uint64_t desc = desc_r.value();

		if (!(desc & kDescValid))
			return fault(FaultKind::Translation, level);
		bool type_bit = desc & kDescTable;
		if (level < 3 && type_bit) {
			uint64_t next = desc & kAddrMask;
			if (next >= oa_limit)
				return fault(FaultKind::AddressSize, level);
			if (!region.had) {
				if (desc & kTableAPUnpriv)
					limit.unpriv = false;
				if (desc & kTableAPRdonly)
					limit.write = false;
			}
			table = next;
			continue;
		}
		// A block at level 0 or a "block" encoding at level 3 is reserved.
		if (level == 0 || (level == 3 && !type_bit))
			return fault(FaultKind::Translation, level);

		uint64_t size = 1ull << shift;
		uint64_t oa = desc & kAddrMask & ~(size - 1);
		if (oa >= oa_limit)
			return fault(FaultKind::AddressSize, level);
		if (!(desc & kDescAF) && !cfg.affd)
			return fault(FaultKind::AccessFlag, level);

		WalkResult r;
		r.perm.write = !(desc & kDescAP2) && limit.write;
		r.perm.unpriv = (desc & kDescAP1) && limit.unpriv;
		if ((access.write && !r.perm.write) || (!access.privileged && !r.perm.unpriv))
			return fault(FaultKind::Permission, level);

		r.va_base = iova & ~(size - 1);
		r.size = size;
		r.ipa = oa | (iova & (size - 1));
		r.level = static_cast<uint8_t>(level);
		r.global = !(desc & kDescNG);
		auto pa = stage2(r.ipa, access.write);
		if (!pa.ok())
			return stage2_fault(pa.error().code(), level, FaultClass::IN, r.ipa);
		r.pa = pa.value();
		return r;
	}
	// Level 3 always ends the loop above.
	return fault(FaultKind::Translation, 3);
}

uint8_t smmu_event_id(const Fault &f)
{
	switch (f.kind) {
	case FaultKind::None:
		return 0;
	case FaultKind::Translation:
		return kEvtFTranslation;
	case FaultKind::AddressSize:
		return kEvtFAddrSize;
	case FaultKind::AccessFlag:
		return kEvtFAccess;
	case FaultKind::Permission:
		return kEvtFPermission;
	case FaultKind::ExternalAbort:
		return kEvtFWalkEabt;
	}
	return kEvtFTranslation;
}

namespace {

bool covers(const Tlb::Entry &e, uint64_t va)
{
	return va - e.va_base < e.size;
}

} // namespace

const Tlb::Entry *Tlb::lookup(uint16_t vmid, uint16_t asid, uint64_t iova) const
{
	for (const Entry &e : entries_) {
		if (e.valid && e.vmid == vmid && (e.global || e.asid == asid) && covers(e, iova))
			return &e;
	}
	return nullptr;
}

void Tlb::insert(uint16_t vmid, uint16_t asid, const WalkResult &r)
{
	if (!r.ok() || !r.size)
		return;
	Entry fresh;
	fresh.valid = true;
	fresh.global = r.global;
	fresh.vmid = vmid;
	fresh.asid = asid;
	fresh.va_base = r.va_base;
	fresh.size = r.size;
	fresh.ipa_base = r.ipa & ~(r.size - 1);
	fresh.level = r.level;
	fresh.perm = r.perm;

	// Drop entries a lookup could confuse with the new one, so that at
	// most one entry ever answers a lookup.
	Entry *slot = nullptr;
	for (Entry &e : entries_) {
		if (e.valid && e.vmid == vmid && (e.global || fresh.global || e.asid == asid) &&
		    (covers(e, fresh.va_base) || covers(fresh, e.va_base)))
			e.valid = false;
		if (!e.valid && !slot)
			slot = &e;
	}
	if (!slot) {
		slot = &entries_[next_victim_];
		next_victim_ = (next_victim_ + 1) % kEntries;
	}
	*slot = fresh;
}

void Tlb::invalidate_all()
{
	for (Entry &e : entries_)
		e.valid = false;
}

void Tlb::invalidate_vmid(uint16_t vmid)
{
	for (Entry &e : entries_) {
		if (e.vmid == vmid)
			e.valid = false;
	}
}

void Tlb::invalidate_asid(uint16_t vmid, uint16_t asid)
{
	for (Entry &e : entries_) {
		if (e.vmid == vmid && !e.global && e.asid == asid)
			e.valid = false;
	}
}

void Tlb::invalidate_va(uint16_t vmid, uint16_t asid, uint64_t va)
{
	for (Entry &e : entries_) {
		if (e.vmid == vmid && (e.global || e.asid == asid) && covers(e, va))
			e.valid = false;
	}
}

void Tlb::invalidate_vaa(uint16_t vmid, uint64_t va)
{
	for (Entry &e : entries_) {
		if (e.vmid == vmid && covers(e, va))
			e.valid = false;
	}
}

void Tlb::invalidate_range(uint16_t vmid, uint16_t asid, bool any_asid, uint64_t start,
			   uint64_t length)
{
	if (!length)
		return;
	// Compare inclusive last bytes so neither the range nor an entry
	// at the top of the address space wraps.
	uint64_t last;
	if (__builtin_add_overflow(start, length - 1, &last))
		last = ~0ull;
	for (Entry &e : entries_) {
		if (e.vmid != vmid || !(any_asid || e.global || e.asid == asid))
			continue;
		uint64_t e_last = e.va_base + (e.size - 1);
		if (e.va_base <= last && start <= e_last)
			e.valid = false;
	}
}

unsigned Tlb::count() const
{
	unsigned n = 0;
	for (const Entry &e : entries_)
		n += e.valid;
	return n;
}

} // namespace iommufd::smmuv3
