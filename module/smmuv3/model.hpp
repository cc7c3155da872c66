// SPDX-License-Identifier: GPL-2.0
//
// model.hpp - the software SMMUv3: the "hardware" behind the test ABI's
// MOCK_SMMUV3 devices.  One Smmu is one SMMU instance: it owns the VMID and
// StreamID spaces, a TLB of stage-1 translations tagged by VMID and ASID,
// and a configuration cache of Context Descriptors tagged by StreamID and
// SubstreamID.  Both caches keep what they hold until the matching
// invalidation command (execute()) or a kernel-side event (a stream's STE
// changing, a VMID being freed) removes it, so a guest that edits its tables
// without invalidating sees the stale translation, as on hardware.
//
// A DMA (dma()) is translated as the architecture says, with the nested
// STE the guest supplied:
//   STE (V, Config) -> CD table at S1ContextPtr (linear, or two-level with
//   4 KiB or 64 KiB leaf tables), indexed by SubstreamID, fetched through
//   stage 2 -> CD (decode_cd) -> stage-1 walk (walk_stage1), each table
//   address an IPA through stage 2 -> output IPA -> stage 2 -> memory.
// Stage 2 is the nesting parent's IOAS, reached through GuestMemory; the
// model never caches stage-2 results, so an IOAS unmap needs no TLB
// invalidation here (the kernel's unmap is synchronous).
//
// Everything here is portable C++ (hosted tests and libFuzzer run it);
// every method takes the instance's lock, so callers need none.
//
// Lock order: Smmu::lock_ -> whatever GuestMemory takes (the IOAS's
// io_pagetable lock).  Nothing calls into the Smmu with an io_pagetable
// lock held.
#pragma once

#include <stdint.h>

#include "cxxrt/lock.hpp"
#include "cxxrt/memory.hpp"
#include "cxxrt/result.hpp"
#include "smmuv3/cd.hpp"
#include "smmuv3/cmd.hpp"
#include "smmuv3/ste.hpp"
#include "smmuv3/walk.hpp"

namespace iommufd::smmuv3 {

// The stage-2 address space of a stream: the IPA space of its nesting
// parent (the IOAS), with the pinned pages behind it.
class GuestMemory {
public:
	virtual ~GuestMemory() = default;
	// Is the byte at ipa mapped for this access?  -ENOENT not mapped
	// (stage-2 translation fault), -EPERM a write to a read-only mapping
	// (stage-2 permission fault).
	virtual cxx::Status probe(uint64_t ipa, bool write) = 0;
	// Copy [ipa, ipa + length) to or from buf.  Same errors as probe() for
	// any byte of the range, and -EFAULT.
	virtual cxx::Status rw(uint64_t ipa, void *buf, uint64_t length, bool write) = 0;
};

// One 32-byte SMMUv3 event record, CPU-endian words (EVTQ_0_* .. EVTQ_3_*
// of the architecture).  Word 0 holds the physical StreamID; whoever hands
// it to a guest replaces it with the vSID.
struct EventRecord {
	uint64_t words[4];

	uint8_t id() const { return static_cast<uint8_t>(words[0] & 0xff); }
	uint32_t sid() const { return static_cast<uint32_t>(words[0] >> 32); }
	void set_sid(uint32_t sid)
	{
		words[0] = (words[0] & 0xffffffffull) | (uint64_t(sid) << 32);
	}
};

// Event record fields (IHI 0070 "Event records"), as the kernel's
// arm-smmu-v3 driver names them.
namespace evtrec {
inline constexpr Field k0Id = field(7, 0);
inline constexpr uint64_t k0Ssv = bit(11);
inline constexpr Field k0Ssid = field(31, 12);
inline constexpr Field k0Sid = field(63, 32);
inline constexpr uint64_t k1PnU = bit(33);   // privileged
inline constexpr uint64_t k1InD = bit(34);   // instruction (never, here)
inline constexpr uint64_t k1RnW = bit(35);   // 1: read
inline constexpr uint64_t k1S2 = bit(39);    // stage 2 faulted
inline constexpr Field k1Class = field(41, 40);
// word 2: the input address (IOVA); word 3: the faulting IPA, bits [51:12].
inline constexpr Field k3Ipa = field(51, 12);
} // namespace evtrec

// What the kernel installed for a stream: which translation applies.
struct StreamConfig {
	uint32_t sid = 0;
	// Attached to a paging HWPT: the IOVA is an IPA, stage 2 only; no
	// TLB or config cache is involved.
	bool s2_only = true;
	// Nested (s2_only false): the guest STE, and the vIOMMU's VMID.
	Vste vste = {};
	uint16_t vmid = 0;
};

// The outcome of one DMA.
struct DmaResult {
	uint64_t done = 0;     // bytes transferred before the DMA stopped
	uint8_t event = 0;     // 0: completed; else the event number that stopped it
	bool aborted = false;  // stopped silently (STE Config abort), no event
	// An event record to report (event != 0 and the configuration asks
	// for recording: CD.R for stage-1 faults, always otherwise).
	bool record = false;
	EventRecord evt = {};
};

// The ID registers the model reports through IOMMU_GET_HW_INFO.
struct IdRegs {
	uint32_t idr[6];
	uint32_t iidr;
	uint32_t aidr;
};

namespace detail {
struct Txn;   // one DMA in flight (model.cpp)
} // namespace detail

class Smmu : cxx::NoCopyNoMove {
	struct Token {
		explicit Token() = default;
	};

public:
	// Sizes the model implements (and IDR0/IDR1 advertise).
	static constexpr unsigned kSidBits = 16;   // IDR1.SIDSIZE
	static constexpr unsigned kSsidBits = 8;   // IDR1.SSIDSIZE
	static constexpr unsigned kConfigCacheEntries = 16;

	// -ENOMEM.
	static cxx::Result<cxx::UniquePtr<Smmu>> create();
	explicit Smmu(Token);
	~Smmu();

	// The register set (see model.cpp for the value of each field).
	static IdRegs id_regs();

	// VMIDs 1..65535 (0 is never handed out); -ENOSPC when all are used.
	// free_vmid() drops every TLB entry of the VMID first.
	cxx::Result<uint16_t> alloc_vmid();
	void free_vmid(uint16_t vmid);
	// StreamIDs 1..2^kSidBits - 1 for new devices; -ENOSPC.  free_sid()
	// drops the stream's cached configuration.
	cxx::Result<uint32_t> alloc_sid();
	void free_sid(uint32_t sid);

	// The kernel changed the STE of sid (attach, replace, detach): cached
	// CDs of the stream go, as the driver's CFGI_STE would make them go.
	void stream_changed(uint32_t sid);

	// Run one converted guest command (cmd.hpp; VMID and StreamID already
	// the physical ones):
	//   CFGI_CD       the CD of (sid, ssid);  CFGI_CD_ALL  every CD of sid;
	//   TLBI_NH_ALL   every entry of vmid;    TLBI_NH_ASID non-global
	//                 entries of (vmid, asid);
	//   TLBI_NH_VA    entries of (vmid, asid) and global ones covering
	//                 addr, or the range (tg/num/scale) when tg != 0;
	//   TLBI_NH_VAA   entries of vmid, any ASID, covering addr or range;
	//   ATC_INV       nothing (the model has no ATS).
	void execute(const Command &cmd);

	// One DMA of `length` bytes at iova by stream `cfg`, from/to buf.
	// ssv/ssid: the transaction carries a SubstreamID.  The DMA goes in
	// pieces that never cross a 4 KiB boundary; each piece is translated
	// (TLB first, then a walk whose result is cached) and transferred,
	// and the first fault stops it.
	DmaResult dma(const StreamConfig &cfg, GuestMemory &mem, uint64_t iova, void *buf,
		      uint64_t length, bool write, bool ssv, uint32_t ssid);

	// For tests: entries held.
	unsigned tlb_count();
	unsigned config_cache_count();

private:
	struct CachedCd {
		bool valid = false;
		uint32_t sid = 0;
		uint32_t ssid = 0;
		Cd cd = {};
	};

	// Helpers of the methods above; lock_ held.
	void drop_cds(uint32_t sid, bool one, uint32_t ssid);
	const Cd *resolve_cd(detail::Txn &t, GuestMemory &mem, uint64_t iova, uint32_t slot_ssid);
	bool s1_piece(detail::Txn &t, GuestMemory &mem, const Cd &cd, const Stage1Config &s1,
		      uint64_t iova, uint8_t *buf, uint64_t len);

	cxx::Mutex lock_; // KAPI_LOCK_SMMU: everything below
	Tlb tlb_;
	CachedCd cds_[kConfigCacheEntries];
	unsigned next_cd_victim_ = 0;
	cxx::UniqueArray<uint64_t> vmid_map_; // 65536 bits
	cxx::UniqueArray<uint64_t> sid_map_;  // 2^kSidBits bits
};

} // namespace iommufd::smmuv3
