// SPDX-License-Identifier: GPL-2.0
//
// ste.cpp - validate_vste(): the checks upstream's arm_smmu_validate_vste
// makes on a guest STE (see ste.hpp for what is left to the model), and the
// decode into Vste.
#include "smmuv3/ste.hpp"

namespace iommufd::smmuv3 {

cxx::Result<Vste> validate_vste(const uint64_t words[ste::kUserWords])
{
	Vste v = {};
	// Upstream zeroes an invalid STE rather than rejecting it: V == 0 is
	// how a guest says "abort", and it must be able to say so with any
	// leftover contents.
	if (!(words[0] & ste::k0V)) {
		v.config = SteConfig::kAbort;
		return v;
	}
	// EIO, not EINVAL: upstream reserves EIO for invalid STE data.
	if ((words[0] & ~ste::k0NestingAllowed) || (words[1] & ~ste::k1NestingAllowed))
		return cxx::Err(EIO);

	switch (ste::k0Config.get(words[0])) {
	case ste::kConfigAbort:
		v.config = SteConfig::kAbort;
		break;
	case ste::kConfigBypass:
		v.config = SteConfig::kBypass;
		break;
	case ste::kConfigS1Trans:
		v.config = SteConfig::kS1Trans;
		break;
	default:
		return cxx::Err(EIO);
	}

	uint64_t eats = ste::k1EATS.get(words[1]);
	if (eats != ste::kEatsAbort && eats != ste::kEatsTrans)
		return cxx::Err(EIO);

	v.valid = true;
	v.words[0] = words[0];
	// ATS is a property of the physical STE the module builds, not of the
	// stored guest words.
	v.words[1] = words[1] & ~ste::k1EATS.mask();
	v.s1_context_ptr = words[0] & ste::k0S1ContextPtr.mask();
	v.s1fmt = static_cast<uint8_t>(ste::k0S1Fmt.get(words[0]));
	v.s1_cdmax = static_cast<uint8_t>(ste::k0S1CDMax.get(words[0]));
	v.s1dss = static_cast<uint8_t>(ste::k1S1DSS.get(words[1]));
	v.s1cir = static_cast<uint8_t>(ste::k1S1CIR.get(words[1]));
	v.s1cor = static_cast<uint8_t>(ste::k1S1COR.get(words[1]));
	v.s1csh = static_cast<uint8_t>(ste::k1S1CSH.get(words[1]));
	v.s1_stalld = words[1] & ste::k1S1StallD;
	v.ats = v.config == SteConfig::kS1Trans && eats == ste::kEatsTrans;
	return v;
}

} // namespace iommufd::smmuv3
