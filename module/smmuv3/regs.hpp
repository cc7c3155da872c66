// SPDX-License-Identifier: GPL-2.0
//
// regs.hpp - field positions of the SMMUv3 in-memory formats the vSMMU
// nesting code reads: the Stream Table Entry (first two words), the Context
// Descriptor, the command-queue commands a guest may pass through
// IOMMU_HWPT_INVALIDATE, and the event numbers the model reports.  Positions
// are the Arm SMMUv3 architecture's (IHI 0070), named as the kernel's
// arm-smmu-v3 driver names them so a reader can hold the two side by side.
// Everything here works on CPU-endian uint64_t words: the uAPI carries le64,
// and the caller that copies a struct in from user space converts it (a no-op
// on the little-endian hosts we build for) before anything here looks at it.
// Shared with the other module/smmuv3 files; the page-table walker keeps its
// own descriptor fields in walk.hpp.
#pragma once

#include <stdint.h>

namespace iommufd::smmuv3 {

// A contiguous field [hi:lo] of a 64-bit word.
struct Field {
	unsigned int lo;
	unsigned int width;

	constexpr uint64_t mask() const
	{
		return (width >= 64 ? ~0ull : ((1ull << width) - 1)) << lo;
	}
	constexpr uint64_t get(uint64_t word) const { return (word & mask()) >> lo; }
	// `v` must fit; the bits outside the field are dropped.
	constexpr uint64_t prep(uint64_t v) const { return (v << lo) & mask(); }
	constexpr uint64_t set(uint64_t word, uint64_t v) const
	{
		return (word & ~mask()) | prep(v);
	}
};

inline constexpr Field field(unsigned int hi, unsigned int lo) { return Field{lo, hi - lo + 1}; }

// The uAPI's and the guest memory's __le64 words to and from CPU order
// (a no-op on the little-endian machines we build for).
inline constexpr uint64_t le64_to_cpu(uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap64(v);
#else
	return v;
#endif
}
inline constexpr uint64_t cpu_to_le64(uint64_t v) { return le64_to_cpu(v); }
inline constexpr uint64_t bit(unsigned int n) { return 1ull << n; }

// --- Stream Table Entry, words 0 and 1 (the part a guest owns) ------------
namespace ste {
inline constexpr unsigned int kUserWords = 2;   // iommu_hwpt_arm_smmuv3.ste[2]

inline constexpr uint64_t k0V = bit(0);
inline constexpr Field k0Config = field(3, 1);
inline constexpr uint64_t kConfigAbort = 0;     // 0b000
inline constexpr uint64_t kConfigBypass = 4;    // 0b100
inline constexpr uint64_t kConfigS1Trans = 5;   // 0b101
inline constexpr uint64_t kConfigS2Trans = 6;   // 0b110
inline constexpr uint64_t kConfigNested = 7;    // 0b111
inline constexpr Field k0S1Fmt = field(5, 4);
inline constexpr uint64_t kS1FmtLinear = 0;
inline constexpr uint64_t kS1Fmt4kL2 = 1;
inline constexpr uint64_t kS1Fmt64kL2 = 2;
inline constexpr Field k0S1ContextPtr = field(51, 6);   // address bits [51:6]
inline constexpr Field k0S1CDMax = field(63, 59);

inline constexpr Field k1S1DSS = field(1, 0);
inline constexpr uint64_t kS1DSSTerminate = 0;
inline constexpr uint64_t kS1DSSBypass = 1;
inline constexpr uint64_t kS1DSSSsid0 = 2;
inline constexpr Field k1S1CIR = field(3, 2);
inline constexpr Field k1S1COR = field(5, 4);
inline constexpr Field k1S1CSH = field(7, 6);
inline constexpr uint64_t k1S1StallD = bit(27);
inline constexpr Field k1EATS = field(29, 28);
inline constexpr uint64_t kEatsAbort = 0;
inline constexpr uint64_t kEatsTrans = 1;

// What a guest may set through IOMMU_HWPT_DATA_ARM_SMMUV3 (upstream's
// STRTAB_STE_{0,1}_NESTING_ALLOWED).
inline constexpr uint64_t k0NestingAllowed =
	k0V | k0Config.mask() | k0S1Fmt.mask() | k0S1ContextPtr.mask() | k0S1CDMax.mask();
inline constexpr uint64_t k1NestingAllowed = k1S1DSS.mask() | k1S1CIR.mask() | k1S1COR.mask() |
				      k1S1CSH.mask() | k1S1StallD | k1EATS.mask();
} // namespace ste

// --- Context Descriptor (64 bytes, eight words) ----------------------------
namespace cd {
inline constexpr unsigned int kWords = 8;
inline constexpr unsigned int kBytes = kWords * 8;

inline constexpr Field k0T0SZ = field(5, 0);
inline constexpr Field k0TG0 = field(7, 6);
inline constexpr Field k0IR0 = field(9, 8);
inline constexpr Field k0OR0 = field(11, 10);
inline constexpr Field k0SH0 = field(13, 12);
inline constexpr uint64_t k0EPD0 = bit(14);
inline constexpr uint64_t k0ENDI = bit(15);
inline constexpr Field k0T1SZ = field(21, 16);
inline constexpr Field k0TG1 = field(23, 22);
inline constexpr Field k0IR1 = field(25, 24);
inline constexpr Field k0OR1 = field(27, 26);
inline constexpr Field k0SH1 = field(29, 28);
inline constexpr uint64_t k0EPD1 = bit(30);
inline constexpr uint64_t k0V = bit(31);
inline constexpr Field k0IPS = field(34, 32);
inline constexpr uint64_t k0TBI0 = bit(38);
inline constexpr uint64_t k0TBI1 = bit(39);
inline constexpr uint64_t k0AA64 = bit(41);
inline constexpr uint64_t k0HD = bit(42);
inline constexpr uint64_t k0HA = bit(43);
inline constexpr uint64_t k0S = bit(44);
inline constexpr uint64_t k0R = bit(45);
inline constexpr uint64_t k0A = bit(46);
inline constexpr uint64_t k0ASET = bit(47);
inline constexpr Field k0ASID = field(63, 48);

inline constexpr Field k1TTB0 = field(51, 4);   // address bits [51:4]
inline constexpr Field k2TTB1 = field(51, 4);
inline constexpr unsigned int kMairWord = 3;

// TCR granule encodings: TG0 and TG1 differ, as in TCR_EL1.
inline constexpr uint64_t kTG0_4k = 0, kTG0_64k = 1, kTG0_16k = 2;
inline constexpr uint64_t kTG1_16k = 1, kTG1_4k = 2, kTG1_64k = 3;
} // namespace cd

// --- Command queue entries (two words) -------------------------------------
namespace cmd {
inline constexpr unsigned int kWords = 2;   // iommu_viommu_arm_smmuv3_invalidate.cmd[2]

inline constexpr Field k0Op = field(7, 0);
inline constexpr uint64_t kOpCfgiCd = 0x05;
inline constexpr uint64_t kOpCfgiCdAll = 0x06;
inline constexpr uint64_t kOpTlbiNhAll = 0x10;
inline constexpr uint64_t kOpTlbiNhAsid = 0x11;
inline constexpr uint64_t kOpTlbiNhVa = 0x12;
inline constexpr uint64_t kOpTlbiNhVaa = 0x13;
inline constexpr uint64_t kOpTlbiNsnhAll = 0x30;
inline constexpr uint64_t kOpAtcInv = 0x40;

// CMD_CFGI_CD / CMD_CFGI_CD_ALL.  SSec (bit 10) is RES0 from a Non-secure
// queue, which is the only kind a guest has.
inline constexpr uint64_t k0CfgiSSec = bit(10);
inline constexpr Field k0CfgiSsid = field(31, 12);
inline constexpr Field k0CfgiSid = field(63, 32);
inline constexpr uint64_t k1CfgiLeaf = bit(0);

// CMD_TLBI_NH_*: NUM/SCALE (word 0) with TG/TTL (word 1) describe a range
// invalidation; TG == 0 means a single address.
inline constexpr Field k0TlbiNum = field(16, 12);
inline constexpr Field k0TlbiScale = field(24, 20);
inline constexpr Field k0TlbiVmid = field(47, 32);
inline constexpr Field k0TlbiAsid = field(63, 48);
inline constexpr uint64_t k1TlbiLeaf = bit(0);
inline constexpr Field k1TlbiTtl = field(9, 8);
inline constexpr Field k1TlbiTg = field(11, 10);
inline constexpr Field k1TlbiAddr = field(63, 12);   // VA bits [63:12]

// CMD_ATC_INV.
inline constexpr uint64_t k0AtcGlobal = bit(9);
inline constexpr uint64_t k0AtcSsv = bit(11);
inline constexpr Field k0AtcSsid = field(31, 12);
inline constexpr Field k0AtcSid = field(63, 32);
inline constexpr Field k1AtcSize = field(5, 0);
inline constexpr Field k1AtcAddr = field(63, 12);
// The largest ATC invalidation span, 2^52 pages' worth of address bits.
inline constexpr uint64_t kAtcSizeMax = 52;
} // namespace cmd

// --- Event record numbers the model reports --------------------------------
namespace evt {
inline constexpr uint8_t kBadSte = 0x04;           // C_BAD_STE
inline constexpr uint8_t kStreamDisabled = 0x06;   // F_STREAM_DISABLED
inline constexpr uint8_t kBadSubstreamId = 0x08;   // C_BAD_SUBSTREAMID
inline constexpr uint8_t kBadCd = 0x0a;            // C_BAD_CD
inline constexpr uint8_t kTranslation = 0x10;      // F_TRANSLATION
inline constexpr uint8_t kAddrSize = 0x11;         // F_ADDR_SIZE
inline constexpr uint8_t kAccess = 0x12;           // F_ACCESS
inline constexpr uint8_t kPermission = 0x13;       // F_PERMISSION
} // namespace evt

} // namespace iommufd::smmuv3
