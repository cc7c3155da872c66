// SPDX-License-Identifier: GPL-2.0
//
// cmd.hpp - the guest commands of IOMMU_HWPT_INVALIDATE on an ARM SMMUv3
// vIOMMU (IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, le64 cmd[2] entries):
// validation and rewrite as upstream's arm_vsmmu_convert_user_cmd does it,
// plus the reserved-field checks of the later posted validation patches,
// into a decoded Command the software SMMUv3 model executes.  The words are
// CPU-endian; the invalidate ioctl converts each le64 entry before calling.
//
// Isolation rules: the VMID in a command is never the guest's - every
// command carries the vIOMMU's own VMID, whatever the guest wrote in the
// VMID field; and a StreamID in a command is a virtual one, which only the
// vIOMMU's vDEVICE table can turn into a physical StreamID.
#pragma once

#include <stdint.h>

#include "cxxrt/function_ref.hpp"
#include "cxxrt/result.hpp"
#include "smmuv3/regs.hpp"

namespace iommufd::smmuv3 {

enum class CmdKind : uint8_t {
	kCfgiCd,      // CMD_CFGI_CD: one CD (sid, ssid, leaf)
	kCfgiCdAll,   // CMD_CFGI_CD_ALL: every CD of a stream (sid)
	kTlbiNhAll,   // CMD_TLBI_NH_ALL (and a rewritten CMD_TLBI_NSNH_ALL): vmid
	kTlbiNhAsid,  // CMD_TLBI_NH_ASID: vmid, asid
	kTlbiNhVa,    // CMD_TLBI_NH_VA: vmid, asid, addr (+ leaf, range)
	kTlbiNhVaa,   // CMD_TLBI_NH_VAA: vmid, addr, any ASID (+ leaf, range)
	kAtcInv,      // CMD_ATC_INV: sid, optional ssid, addr, size
};

struct Command {
	// The rewritten words, as they would go to a physical command queue:
	// opcode NH_ALL for NSNH_ALL, the forced VMID, the physical StreamID.
	uint64_t words[cmd::kWords];
	CmdKind kind;
	uint16_t vmid;     // TLBI only: always the vIOMMU's
	uint16_t asid;     // NH_ASID, NH_VA
	uint32_t sid;      // physical StreamID (CFGI_CD, CFGI_CD_ALL, ATC_INV)
	uint32_t ssid;     // CFGI_CD; ATC_INV when ssv
	bool ssv;          // ATC_INV: ssid is meaningful
	bool global;       // ATC_INV: G
	bool leaf;         // CFGI_CD, NH_VA, NH_VAA
	uint64_t addr;     // NH_VA/NH_VAA: VA, ATC_INV: address; 4 KiB aligned
	// NH_VA/NH_VAA range: tg == 0 is a single address; otherwise the
	// range is (num + 1) << scale translation granules of size tg
	// (1: 4 KiB, 2: 16 KiB, 3: 64 KiB) from addr, ttl a level hint.
	uint8_t tg;
	uint8_t ttl;
	uint8_t num;
	uint8_t scale;
	uint8_t atc_size;  // ATC_INV: log2 of the span in 4 KiB pages
};

// vSID -> physical StreamID through the vIOMMU's vDEVICE table; an unknown
// vSID is an error (any errno; the caller's EIO is what the user sees).
using SidLookup = cxx::FunctionRef<cxx::Result<uint32_t>(uint32_t vsid)>;

// Validate and rewrite one guest command.  -EIO: an opcode not in the
// accepted list, a reserved field set for that opcode (including an
// ATC_INV size above 52 and range fields with TG == 0), or an unknown vSID.
cxx::Result<Command> convert_user_cmd(const uint64_t words[cmd::kWords], uint16_t vmid,
				      SidLookup lookup);

// Convert entries [0, n) of a command array, calling `sink` with each
// command in order until one fails to convert or the sink fails.  *done is
// set to the number of entries handled, which is what IOMMU_HWPT_INVALIDATE
// reports in entry_num; the error is the first failure's.
cxx::Status convert_user_cmds(const uint64_t (*entries)[cmd::kWords], uint32_t n,
			      uint16_t vmid, SidLookup lookup,
			      cxx::FunctionRef<cxx::Status(const Command &)> sink,
			      uint32_t *done);

} // namespace iommufd::smmuv3
