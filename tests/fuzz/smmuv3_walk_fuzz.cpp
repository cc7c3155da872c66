// SPDX-License-Identifier: GPL-2.0
//
// smmuv3_walk_fuzz.cpp - libFuzzer target for the software SMMUv3 model's
// stage-1 walker and TLB (module/smmuv3/walk.hpp).  The first 24 bytes
// pick the configuration (T0SZ/T1SZ, TTB0/TTB1, output size, EPD, HAD,
// AFFD, granule), the IOVA and the access; the rest is guest memory, read
// as descriptors.  Stage 2 folds every IPA into that memory, so any table
// address the fuzzer writes leads somewhere (including back to the same
// table: the walk must still stop after level 3), except IPAs with bit 47
// set, which stage 2 refuses, and reads that the input marks as failing.
// Checked: the walk returns, reads at most four descriptors, and a
// successful result is self-consistent (leaf size for its level, aligned
// base containing the IOVA, output inside the output size, permissions
// that allow the access); the result then goes through the TLB, which
// must find it again and drop it on the matching invalidation.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smmuv3/walk.hpp"

#include "fuzz_util.h"

using namespace iommufd::smmuv3;

namespace {

constexpr size_t kHeader = 24;
constexpr uint64_t kMaxMem = 64 * 1024;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < kHeader)
		return 0;
	const uint8_t *h = data;
	const uint8_t *mem = data + kHeader;
	uint64_t mem_size = size - kHeader;
	if (mem_size > kMaxMem)
		mem_size = kMaxMem;

	static const unsigned kIps[8] = {32, 36, 40, 42, 44, 48, 48, 47};
	Stage1Config cfg;
	// Mostly valid sizes, sometimes not (0..47 around the 16..39 range).
	cfg.r0.tsz = h[0] % 48;
	cfg.r1.tsz = h[1] % 48;
	uint8_t flags = h[2];
	cfg.r1_enabled = flags & 1;
	cfg.r0.epd = (flags & 0x12) == 0x12;
	cfg.r1.epd = (flags & 0x14) == 0x14;
	cfg.r0.had = flags & 8;
	cfg.r1.had = flags & 0x10;
	cfg.affd = flags & 0x20;
	cfg.ips = kIps[h[3] & 7];
	if ((h[3] & 0x38) == 0x38)
		cfg.r0.granule = static_cast<Granule>(1 + ((h[3] >> 6) & 1));
	Access access;
	access.write = flags & 0x40;
	access.privileged = flags & 0x80;
	uint64_t iova = le64(h + 4);
	cfg.r0.ttb = le64(h + 12) & ((1ull << 52) - 1);
	// TTB1 shares the bytes, shifted, so both halves reach memory.
	cfg.r1.ttb = cfg.r0.ttb >> 8;
	uint32_t fail_mask = h[20] | (h[21] << 8);  // which reads abort
	uint16_t vmid = h[22], asid = h[23];

	unsigned reads = 0;
	auto stage2 = [&](uint64_t ipa, bool) -> cxx::Result<uint64_t> {
		if (ipa & (1ull << 47))
			return cxx::Err(ENOENT);
		if ((ipa & (1ull << 46)) && (ipa & 1))
			return cxx::Err(EPERM);
		return mem_size ? ipa % mem_size : 0;
	};
	auto read = [&](uint64_t pa) -> cxx::Result<uint64_t> {
		unsigned n = reads++;
		check(n < 4);
		if (fail_mask & (1u << (n * 4 + (pa & 3))))
			return cxx::Err(EIO);
		uint8_t b[8] = {};
		for (unsigned i = 0; i < 8; i++) {
			if (pa + i < mem_size)
				b[i] = mem[pa + i];
		}
		return le64(b);
	};

	auto res = walk_stage1(cfg, iova, access, stage2, read);
	if (!res.ok()) {
		check(res.error().code() == -EINVAL);
		check(reads == 0);
		return 0;
	}
	const WalkResult &r = res.value();
	check(reads <= 4);
	(void)smmu_event_id(r.fault);
	if (!r.ok()) {
		check(r.fault.level <= 3);
		return 0;
	}
	check(r.level >= 1 && r.level <= 3);
	check(r.size == 1ull << (12 + 9 * (3 - r.level)));
	check((r.va_base & (r.size - 1)) == 0);
	check(iova - r.va_base < r.size);
	check(r.ipa < (1ull << cfg.ips));
	check((r.ipa & (r.size - 1)) == (iova & (r.size - 1)));
	check(!access.write || r.perm.write);
	check(access.privileged || r.perm.unpriv);

	Tlb tlb;
	tlb.insert(vmid, asid, r);
	const Tlb::Entry *e = tlb.lookup(vmid, asid, iova);
	check(e && e->ipa_base + (iova - e->va_base) == r.ipa);
	check(tlb.lookup(vmid + 1, asid, iova) == nullptr);
	tlb.invalidate_asid(vmid, asid);
	check(tlb.count() == (r.global ? 1u : 0u));
	tlb.invalidate_va(vmid, asid, iova);
	check(tlb.count() == 0);
	return 0;
}
