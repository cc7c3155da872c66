// SPDX-License-Identifier: GPL-2.0
//
// walk.hpp - the stage-1 translation of the software SMMUv3 model: an
// AArch64 VMSAv8-64 table walker (4 KiB granule, levels 0-3, up to 48-bit
// input and output addresses, blocks at levels 1 and 2) and a small
// software TLB.  Nothing here knows where memory is: every table address
// and the final output are IPAs handed to the caller's stage-2 function
// (in this project stage 2 is the nest-parent IOAS), and descriptors are
// read through the caller's read function at the physical address stage 2
// returned.  So the walker is portable, runs unchanged in hosted tests and
// under libFuzzer, and always terminates: at most four descriptor reads,
// no loops that depend on memory contents.
//
// Outcomes come in two kinds.  A configuration the walker cannot honour
// (a granule other than 4 KiB, T0SZ/T1SZ outside 16..39, an output size
// that is not one of the architected ones) is an errno: the model reports
// it as a bad CD.  Anything that depends on the tables or the IOVA is a
// Fault inside an ok WalkResult, which the model turns into an SMMUv3
// event record (smmu_event_id()).
//
// Not modelled (documented simplifications): 16 KiB and 64 KiB granules,
// 52-bit addresses (TCR.DS / FEAT_LPA2), top-byte-ignore, execute
// permissions (the model's devices only read and write), hardware
// access-flag and dirty-state updates (HA/HD), contiguous hints (each
// descriptor is used on its own, which the architecture permits).
#pragma once

#include <stdint.h>

#include "cxxrt/function_ref.hpp"
#include "cxxrt/result.hpp"

namespace iommufd::smmuv3 {

// Only the 4 KiB granule is implemented; the others are listed so that a
// CD decoder can say which one it saw.
enum class Granule : uint8_t { k4K, k16K, k64K };

// One half of the stage-1 input address space (TTB0 or TTB1 and its TCR
// fields as the CD carries them).
struct Stage1Region {
	uint64_t ttb = 0;        // IPA of the start-level table
	unsigned tsz = 16;       // input size is 64 - tsz bits (16..39)
	Granule granule = Granule::k4K;
	bool epd = false;        // walks disabled: every access faults
	bool had = false;        // hierarchical attributes (APTable) ignored
};

struct Stage1Config {
	Stage1Region r0;         // IOVAs with the top bits clear
	Stage1Region r1;         // IOVAs with the top bits set
	bool r1_enabled = false; // false: an IOVA with bit 63 set is out of range
	unsigned ips = 48;       // output (IPA) size in bits: 32,36,40,42,44,48
	bool affd = false;       // AF=0 does not fault (CD.AFFD)
};

// What the device asks for.  Unprivileged is the SMMU's default for a
// transaction without the privileged attribute.
struct Access {
	bool write = false;
	bool privileged = false;
};

enum class FaultKind : uint8_t {
	None,
	Translation,   // invalid or reserved descriptor, IOVA out of range
	AddressSize,   // a table or output address beyond the output size
	AccessFlag,    // AF == 0 and AFFD clear
	Permission,    // AP[2:1] / APTable forbid this access
	ExternalAbort, // the descriptor read itself failed
};

// The CLASS field of an SMMUv3 event record: which address stage 2 was
// translating when it faulted.
enum class FaultClass : uint8_t { CD = 0, TT = 1, IN = 2 };

struct Fault {
	FaultKind kind = FaultKind::None;
	uint8_t level = 0;          // stage-1 level the fault was found at
	bool stage2 = false;        // stage 2 refused an IPA (see ipa, cls)
	FaultClass cls = FaultClass::IN;
	uint64_t ipa = 0;           // the IPA stage 2 refused, when stage2
};

// Permissions of a leaf after hierarchical (APTable) restrictions.
struct Perm {
	bool write = false;         // writable (AP[2] == 0)
	bool unpriv = false;        // unprivileged accesses allowed (AP[1] == 1)
};

struct WalkResult {
	Fault fault;                // kind None: the fields below are valid
	uint64_t va_base = 0;       // start of the page or block holding the IOVA
	uint64_t size = 0;          // 4 KiB, 2 MiB or 1 GiB
	uint64_t ipa = 0;           // stage-1 output for the IOVA itself
	uint64_t pa = 0;            // stage-2 output for the IOVA itself
	uint8_t level = 0;          // level of the leaf descriptor
	bool global = false;        // nG == 0: matches every ASID
	Perm perm;

	bool ok() const { return fault.kind == FaultKind::None; }
};

// Stage 2: IPA to PA, for a read (table walks) or the device's access.
// An error is a stage-2 fault: -EPERM a permission fault,
// anything else a translation fault.
using Stage2Fn = cxx::FunctionRef<cxx::Result<uint64_t>(uint64_t ipa, bool write)>;
// Read the little-endian 64-bit descriptor at a PA (8-byte aligned).  An
// error is an external abort on the walk.
using ReadQwordFn = cxx::FunctionRef<cxx::Result<uint64_t>(uint64_t pa)>;

// Translate iova for access.  -EINVAL: the configuration is not one this
// walker supports (see the top of the file).
cxx::Result<WalkResult> walk_stage1(const Stage1Config &cfg, uint64_t iova, Access access,
				    Stage2Fn stage2, ReadQwordFn read);

// The SMMUv3 event number for a fault (0 for FaultKind::None).
inline constexpr uint8_t kEvtFTranslation = 0x10;
inline constexpr uint8_t kEvtFAddrSize = 0x11;
inline constexpr uint8_t kEvtFAccess = 0x12;
inline constexpr uint8_t kEvtFPermission = 0x13;
inline constexpr uint8_t kEvtFWalkEabt = 0x0b;
uint8_t smmu_event_id(const Fault &fault);

// A fixed-size cache of stage-1 leaves, keyed by VMID, ASID and IOVA.  An
// entry stays until an invalidation that matches it (or replacement)
// removes it, so a table change without the matching TLBI is visible as a
// stale translation, as on hardware.  Entries hold stage-1 results only;
// stage 2 belongs to the IOAS and is looked up on every access.  Global
// entries (nG == 0) match every ASID and survive invalidate_asid(), as the
// architecture's TLBI ASID does.  Replacement is round robin over the
// slots, so a sequence of operations always leaves the same contents.
// It is about 3 KiB: keep it inside a heap-allocated object, never on the
// kernel stack.  No lock of its own: the owner serializes access.
class Tlb {
public:
	static constexpr unsigned kEntries = 64;

	struct Entry {
		bool valid = false;
		bool global = false;
		uint16_t vmid = 0;
		uint16_t asid = 0;
		uint64_t va_base = 0;
		uint64_t size = 0;
		uint64_t ipa_base = 0;
		uint8_t level = 0;
		Perm perm;
	};

	// The entry translating iova for (vmid, asid), or null.
	const Entry *lookup(uint16_t vmid, uint16_t asid, uint64_t iova) const;
	// Cache a successful walk (r.ok()); replaces entries it overlaps.
	void insert(uint16_t vmid, uint16_t asid, const WalkResult &r);

	void invalidate_all();
	void invalidate_vmid(uint16_t vmid);
	// Non-global entries of asid.
	void invalidate_asid(uint16_t vmid, uint16_t asid);
	// Entries of asid, and global ones, that translate va.
	void invalidate_va(uint16_t vmid, uint16_t asid, uint64_t va);
	// Entries of every ASID that translate va.
	void invalidate_vaa(uint16_t vmid, uint64_t va);
	// Entries of vmid whose page or block overlaps [start, start +
	// length), of asid (and global ones) or of every ASID when any_asid:
	// the range forms of TLBI NH_VA / NH_VAA.  One pass over the slots,
	// whatever the length (a range may name 2^36 pages); a range running
	// past the top of the address space stops there.  length 0 does
	// nothing.
	void invalidate_range(uint16_t vmid, uint16_t asid, bool any_asid, uint64_t start,
			      uint64_t length);

	unsigned count() const;

private:
	Entry entries_[kEntries];
	unsigned next_victim_ = 0;
};

} // namespace iommufd::smmuv3
