// SPDX-License-Identifier: GPL-2.0
//
// ste.hpp - the guest Stream Table Entry of a nested HWPT
// (IOMMU_HWPT_DATA_ARM_SMMUV3, le64 ste[2]): validation exactly as upstream's
// arm_smmu_validate_vste, and the decoded form the software SMMUv3 model
// walks from.  The words are CPU-endian: the HWPT allocation path converts
// the user's le64 words before calling validate_vste().  Validation only
// enforces what upstream enforces (which bits a guest may own, the Config and
// EATS values); field values upstream lets through (a reserved S1Fmt or
// S1DSS, an S1ContextPtr outside the IPA space) are the model's to report as
// C_BAD_STE when a DMA uses the STE, as hardware would.
#pragma once

#include <stdint.h>

#include "cxxrt/result.hpp"
#include "smmuv3/regs.hpp"

namespace iommufd::smmuv3 {

enum class SteConfig : uint8_t {
	kAbort,
	kBypass,
	kS1Trans,
};

struct Vste {
	// The words as stored for the nested HWPT: zero for an STE with V == 0,
	// and EATS stripped, as upstream stores them.
	uint64_t words[ste::kUserWords];
	bool valid;            // V; false means abort (and all else is zero)
	SteConfig config;
	uint64_t s1_context_ptr;   // IPA of the CD (table), 64-byte aligned
	uint8_t s1fmt;
	uint8_t s1_cdmax;      // log2 of the number of CDs (0: one CD, no SSIDs)
	uint8_t s1dss;
	uint8_t s1cir;         // CD/table fetch cacheability and shareability
	uint8_t s1cor;
	uint8_t s1csh;
	bool s1_stalld;
	// ATS enabled: EATS == translate on a stage-1 STE (upstream's
	// enable_ats; EATS means nothing for abort and bypass).
	bool ats;
};

// Validate a guest STE.  -EIO: a bit outside the nesting-allowed fields, a
// Config other than abort, bypass or stage-1 translate, or an EATS other
// than abort or translate.  An STE with V == 0 is accepted whatever else it
// holds, and decodes as an all-zero abort STE.
cxx::Result<Vste> validate_vste(const uint64_t words[ste::kUserWords]);

} // namespace iommufd::smmuv3
