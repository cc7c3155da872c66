// SPDX-License-Identifier: GPL-2.0
//
// cd.hpp - the stage-1 Context Descriptor a guest writes into its own memory
// and the software SMMUv3 model fetches (through stage 2) at S1ContextPtr:
// decode and check against what the model implements.  The model supports
// AArch64 little-endian tables with a 4 KiB granule, VA sizes of 25 to 48
// bits per half (TxSZ 16..39), output sizes up to 48 bits, and no hardware
// access/dirty updates.  A CD outside that, or with V == 0, is what the
// architecture calls an ILLEGAL CD: decode_cd() fails with -EIO and the model
// reports event C_BAD_CD (evt::kBadCd) for the DMA that fetched it.  The
// words are CPU-endian: the model converts the le64 words it reads from guest
// memory first.
#pragma once

#include <stdint.h>

#include "cxxrt/result.hpp"
#include "smmuv3/regs.hpp"

namespace iommufd::smmuv3 {

// Why a CD was refused, for logs and tests; every reason is C_BAD_CD.
enum class CdError : uint8_t {
	kNone,
	kNotValid,       // V == 0
	kNotAArch64,     // AA64 == 0: VMSAv8-32 LPAE tables
	kBigEndian,      // ENDI == 1
	kGranule,        // TG0 or TG1 not 4 KiB for a half in use
	kTxSZ,           // T0SZ or T1SZ outside 16..39 for a half in use
	kIps,            // IPS above 48 bits (or a reserved encoding)
	kHttu,           // HA or HD: the model does no hardware updates
};

// One half of the VA space: TTB0 (bottom) or TTB1 (top).
struct CdHalf {
	bool enabled;      // !EPDx: walks are allowed
	uint8_t tsz;       // TxSZ: the half covers 2^(64 - tsz) bytes
	uint8_t irgn;      // walk cacheability and shareability
	uint8_t orgn;
	uint8_t sh;
	bool tbi;          // top byte ignored
	uint64_t ttb;      // table base IPA, bits [51:4]
};

struct Cd {
	uint64_t words[cd::kWords];
	CdHalf half[2];
	uint16_t asid;
	uint8_t ips;       // encoded output size: 0..5 = 32,36,40,42,44,48 bits
	uint8_t oas_bits;  // the same, in bits
	bool aset;         // ASID set: shared with the CPU's (broadcast TLBI)
	bool stall;        // S: stall faulting transactions
	bool record;       // R: record faults as events
	bool abort;        // A: abort (terminate with abort) on fault
	uint64_t mair;
};

// Decode a CD.  -EIO if the model cannot use it (see CdError); *why, if
// given, says which check failed.  A half with EPDx set is not checked
// beyond its EPD bit: its fields are never used.
cxx::Result<Cd> decode_cd(const uint64_t words[cd::kWords], CdError *why = nullptr);

} // namespace iommufd::smmuv3
