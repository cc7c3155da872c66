// SPDX-License-Identifier: GPL-2.0
//
// model.cpp - the software SMMUv3 (model.hpp has the interface and the lock
// order): its ID registers, the VMID and StreamID allocators, the command
// interpreter for the invalidations a guest may pass through, and the DMA
// path.  A DMA resolves the stream's configuration the way an SMMU does -
// STE checks, then the Context Descriptor for the transaction's
// SubstreamID (from the configuration cache, or fetched through stage 2
// from the guest's linear or two-level CD table and decoded), then per
// 4 KiB piece a TLB lookup or a stage-1 walk, then the stage-2 access -
// and turns the first thing that goes wrong into the event record the
// architecture defines for it (IHI 0070, "Event records").  Both caches
// are only ever emptied by the matching invalidation, so staleness after a
// guest edit without CFGI/TLBI is deliberate.
#include "smmuv3/model.hpp"


namespace iommufd::smmuv3 {

// The state of one DMA while it is being resolved and carried out.
struct detail::Txn {
	const StreamConfig &cfg;
	bool write;
	bool ssv;
	uint32_t ssid;
	DmaResult res;
};

namespace {

using detail::Txn;

// ---- ID register fields (IHI 0070 "SMMU_IDR0" ..) ---------------------------
namespace idr0 {
constexpr uint32_t kS2P = 1u << 0;
constexpr uint32_t kS1P = 1u << 1;
constexpr uint32_t kTtfShift = 2;          // [3:2]
constexpr uint32_t kTtfAArch64 = 2;
constexpr uint32_t kCohacc = 1u << 4;
constexpr uint32_t kAsid16 = 1u << 12;
constexpr uint32_t kVmid16 = 1u << 18;
constexpr uint32_t kCd2l = 1u << 19;
constexpr uint32_t kTtEndianShift = 21;    // [22:21]
constexpr uint32_t kTtEndianLe = 2;
constexpr uint32_t kStallModelShift = 24;  // [25:24]
constexpr uint32_t kStallNotSupported = 1;
constexpr uint32_t kTermModel = 1u << 26;
constexpr uint32_t kStLevelShift = 27;     // [28:27]
constexpr uint32_t kStLevelLinear = 0;
} // namespace idr0

namespace idr1 {
constexpr uint32_t kSidSizeShift = 0;      // [5:0]
constexpr uint32_t kSsidSizeShift = 6;     // [10:6]
constexpr uint32_t kPriqsShift = 11;       // [15:11]
constexpr uint32_t kEvtqsShift = 16;       // [20:16]
constexpr uint32_t kCmdqsShift = 21;       // [25:21]
} // namespace idr1

namespace idr3 {
constexpr uint32_t kHad = 1u << 2;
constexpr uint32_t kRil = 1u << 10;
} // namespace idr3

namespace idr5 {
constexpr uint32_t kOas48 = 5;             // OAS [2:0]
constexpr uint32_t kGran4K = 1u << 4;
} // namespace idr5

// IIDR: ProductID [31:20], Variant [19:16], Revision [15:12],
// Implementer [11:0].  Implementer 0 is "no JEP106 code": this is not
// anyone's silicon.  ProductID 0x001 names this model; bump Revision when
// the model's guest-visible behaviour changes.
constexpr uint32_t kIidrProductId = 0x001;
constexpr uint32_t kIidrRevision = 0;

// AIDR: ArchMajorRev [7:4] = 0 (SMMUv3), ArchMinorRev [3:0] = 2 (v3.2,
// the first revision with range invalidation).
constexpr uint32_t kAidrV3_2 = 0x02;

// Queue sizes advertised as log2 entries.  The model has no queues of its
// own (commands arrive through IOMMU_HWPT_INVALIDATE, events through a
// vEVENTQ); 256-entry queues are a size a guest driver accepts.
constexpr uint32_t kQueueLog2 = 8;

// ---- CD fields decode_cd() does not decode, honoured here -------------------
// CD.AFFD (word 0 bit 35): an access flag of 0 does not fault.
constexpr uint64_t kCd0Affd = bit(35);
// CD.HAD0/HAD1 (bit 1 of words 1 and 2): APTable ignored in that half;
// advertised by IDR3.HAD.
constexpr uint64_t kCdHad = bit(1);

// ---- CD table formats -------------------------------------------------------
constexpr uint64_t kL1DescV = bit(0);
constexpr Field kL1DescL2Ptr = field(51, 12);
constexpr unsigned kL1DescBytes = 8;
constexpr unsigned kLeafShift4k = 6;    // 4 KiB / 64 B CDs per leaf table
constexpr unsigned kLeafShift64k = 10;  // 64 KiB / 64 B

constexpr uint64_t kPieceBytes = 4096;

// Event record CLASS values (FaultClass is the walker's spelling).
uint64_t class_bits(FaultClass c) { return evtrec::k1Class.prep(static_cast<uint64_t>(c)); }

// Lowest clear bit >= `from` in a bitmap of `bits` bits, set it; -ENOSPC.
cxx::Result<uint64_t> bitmap_alloc(cxx::UniqueArray<uint64_t> &map, uint64_t bits, uint64_t from)
{
	for (uint64_t w = from / 64; w < map.size(); w++) {
		uint64_t free = ~map[w];
		if (w == from / 64)
			free &= ~0ull << (from % 64);
		if (!free)
			continue;
		uint64_t n = w * 64 + static_cast<uint64_t>(__builtin_ctzll(free));
		if (n >= bits)
			break;
		map[w] |= 1ull << (n % 64);
		return n;
	}
	return cxx::Err(ENOSPC);
}

void bitmap_clear(cxx::UniqueArray<uint64_t> &map, uint64_t n)
{
	if (n / 64 < map.size())
		map[n / 64] &= ~(1ull << (n % 64));
}


// Finish res with event `id`.  Word 0 identifies the transaction; words
// 1-3 are filled by the callers whose event has them.
void raise_event(Txn &t, uint8_t id, bool record)
{
	t.res.event = id;
	t.res.record = record;
	uint64_t w0 = evtrec::k0Id.prep(id) | evtrec::k0Sid.prep(t.cfg.sid);
	if (t.ssv)
		w0 |= evtrec::k0Ssv | evtrec::k0Ssid.prep(t.ssid);
	t.res.evt.words[0] = w0;
}

// A translation-time fault (F_* events): RnW, and for stage 2 the S2 bit,
// CLASS and the IPA.  PnU and InD stay 0: the model's devices make
// unprivileged data accesses.
void raise_fault(Txn &t, uint8_t id, bool record, uint64_t iova, bool stage2, FaultClass cls,
		 uint64_t ipa)
{
	raise_event(t, id, record);
	uint64_t w1 = t.write ? 0 : evtrec::k1RnW;
	w1 |= class_bits(cls);
	if (stage2)
		w1 |= evtrec::k1S2;
	t.res.evt.words[1] = w1;
	t.res.evt.words[2] = iova;
	t.res.evt.words[3] = stage2 ? (ipa & evtrec::k3Ipa.mask()) : 0;
}

// Stage 2 (GuestMemory) refused ipa with err: -EPERM is a permission
// fault, anything else (-ENOENT, -EFAULT) a translation fault - the model
// has no external-abort event for a stage-2 access.  Always recorded:
// CD.R governs stage-1 faults only.
void raise_s2(Txn &t, int err, uint64_t iova, FaultClass cls, uint64_t ipa)
{
	uint8_t id = err == -EPERM ? evt::kPermission : evt::kTranslation;
	raise_fault(t, id, true, iova, true, cls, ipa);
}

// Stage-1 table configuration from a decoded CD.  TTB1 always exists in
// an AArch64 stage 1; a half whose EPDx is set takes a translation fault
// on any walk, and its TxSZ (unchecked by decode_cd, never used) is
// replaced by a valid placeholder so the walker does not call the whole
// configuration unsupported.
Stage1Config stage1_config(const Cd &cd)
{
	Stage1Config s;
	Stage1Region *r[2] = {&s.r0, &s.r1};
	for (unsigned i = 0; i < 2; i++) {
		const CdHalf &h = cd.half[i];
		r[i]->ttb = h.ttb;
		r[i]->tsz = h.enabled ? h.tsz : 16;
		r[i]->granule = Granule::k4K;
		r[i]->epd = !h.enabled;
		r[i]->had = cd.words[1 + i] & kCdHad;
	}
	s.r1_enabled = true;
	s.ips = cd.oas_bits;
	s.affd = cd.words[0] & kCd0Affd;
	return s;
}

} // namespace

// ---- lifetime ---------------------------------------------------------------

cxx::Result<cxx::UniquePtr<Smmu>> Smmu::create()
{
	auto s = TRY(cxx::make_unique<Smmu>(Token()));
	s->vmid_map_ = TRY(cxx::UniqueArray<uint64_t>::zeroed(65536 / 64));
	s->sid_map_ = TRY(cxx::UniqueArray<uint64_t>::zeroed((1ull << kSidBits) / 64));
	s->lock_ = TRY(cxx::Mutex::create(KAPI_LOCK_SMMU));
	return s;
}

Smmu::Smmu(Token) {}

Smmu::~Smmu() = default;

IdRegs Smmu::id_regs()
{
	IdRegs r = {};
	r.idr[0] = idr0::kS2P |                                  // stage 2 (the IOAS)
		   idr0::kS1P |                                  // stage 1 (the guest's tables)
		   idr0::kTtfAArch64 << idr0::kTtfShift |        // VMSAv8-64 tables only
		   idr0::kCohacc |                               // coherent table walks
		   idr0::kAsid16 |                               // 16-bit ASIDs
		   idr0::kVmid16 |                               // 16-bit VMIDs
		   idr0::kCd2l |                                 // two-level CD tables
		   idr0::kTtEndianLe << idr0::kTtEndianShift |   // little-endian tables
		   idr0::kStallNotSupported << idr0::kStallModelShift | // faults terminate
		   idr0::kTermModel |                            // terminate = abort, never RAZ/WI
		   idr0::kStLevelLinear << idr0::kStLevelShift;  // (the host's stream table)
	// No BTM, HTTU, ATS, PRI, MSI, HYP, SEV: those bits stay 0.
	r.idr[1] = kSidBits << idr1::kSidSizeShift |             // StreamID width
		   kSsidBits << idr1::kSsidSizeShift |           // SubstreamID width
		   0 << idr1::kPriqsShift |                      // no PRI queue
		   kQueueLog2 << idr1::kEvtqsShift |             // 256-entry event queue
		   kQueueLog2 << idr1::kCmdqsShift;              // 256-entry command queue
	r.idr[2] = 0;                                            // no VATOS
	r.idr[3] = idr3::kHad |                                  // CD.HAD0/HAD1 honoured
		   idr3::kRil;                                   // range TLBI honoured
	r.idr[4] = 0;                                            // IMPLEMENTATION DEFINED: none
	r.idr[5] = idr5::kOas48 |                                // 48-bit output addresses
		   idr5::kGran4K;                                // 4 KiB granule only; VAX = 0
	r.iidr = kIidrProductId << 20 | kIidrRevision << 12;     // implementer 0
	r.aidr = kAidrV3_2;
	return r;
}

// ---- ID spaces --------------------------------------------------------------

cxx::Result<uint16_t> Smmu::alloc_vmid()
{
	cxx::Guard g(lock_);
	uint64_t n = TRY(bitmap_alloc(vmid_map_, 65536, 1));
	return static_cast<uint16_t>(n);
}

void Smmu::free_vmid(uint16_t vmid)
{
	cxx::Guard g(lock_);
	if (!vmid)
		return;
	// A later owner of the VMID must not hit this one's translations.
	tlb_.invalidate_vmid(vmid);
	bitmap_clear(vmid_map_, vmid);
}

cxx::Result<uint32_t> Smmu::alloc_sid()
{
	cxx::Guard g(lock_);
	uint64_t n = TRY(bitmap_alloc(sid_map_, 1ull << kSidBits, 1));
	return static_cast<uint32_t>(n);
}

void Smmu::drop_cds(uint32_t sid, bool one, uint32_t ssid)
{
	for (CachedCd &c : cds_) {
		if (c.valid && c.sid == sid && (!one || c.ssid == ssid))
			c.valid = false;
	}
}

void Smmu::free_sid(uint32_t sid)
{
	cxx::Guard g(lock_);
	if (!sid)
		return;
	drop_cds(sid, false, 0);
	bitmap_clear(sid_map_, sid);
}

void Smmu::stream_changed(uint32_t sid)
{
	cxx::Guard g(lock_);
	drop_cds(sid, false, 0);
}

// ---- commands ---------------------------------------------------------------

void Smmu::execute(const Command &c)
{
	cxx::Guard g(lock_);
	switch (c.kind) {
	case CmdKind::kCfgiCd:
		drop_cds(c.sid, true, c.ssid);
		break;
	case CmdKind::kCfgiCdAll:
		drop_cds(c.sid, false, 0);
		break;
	case CmdKind::kTlbiNhAll:
		tlb_.invalidate_vmid(c.vmid);
		break;
	case CmdKind::kTlbiNhAsid:
		tlb_.invalidate_asid(c.vmid, c.asid);
		break;
	case CmdKind::kTlbiNhVa:
	case CmdKind::kTlbiNhVaa: {
		bool any_asid = c.kind == CmdKind::kTlbiNhVaa;
		if (c.tg == 0) {
			if (any_asid)
				tlb_.invalidate_vaa(c.vmid, c.addr);
			else
				tlb_.invalidate_va(c.vmid, c.asid, c.addr);
			break;
		}
		// (NUM + 1) << SCALE granules of 4/16/64 KiB: at most
		// 32 << 31 << 16 = 2^52 bytes, so no overflow.  Leaf-only
		// and TTL are hints; invalidating more is always allowed.
		static constexpr unsigned kTgShift[4] = {12, 12, 14, 16};
		uint64_t length = (uint64_t(c.num) + 1) << (c.scale & 31) << kTgShift[c.tg & 3];
		tlb_.invalidate_range(c.vmid, c.asid, any_asid, c.addr, length);
		break;
	}
	case CmdKind::kAtcInv:
		// No ATS, so no ATC to invalidate.
		break;
	}
}

unsigned Smmu::tlb_count()
{
	cxx::Guard g(lock_);
	return tlb_.count();
}

unsigned Smmu::config_cache_count()
{
	cxx::Guard g(lock_);
	unsigned n = 0;
	for (const CachedCd &c : cds_)
		n += c.valid;
	return n;
}

// ---- DMA --------------------------------------------------------------------

namespace {

// Stage-2-only data transfer of one piece (s2_only streams, and stage-1
// bypass): the input address is the IPA.
bool s2_piece(Txn &t, GuestMemory &mem, uint64_t ipa, uint8_t *buf, uint64_t len)
{
	auto st = mem.rw(ipa, buf, len, t.write);
	if (!st.ok()) {
		raise_s2(t, st.error().code(), ipa, FaultClass::IN, ipa);
		return false;
	}
	t.res.done += len;
	return true;
}

// Split [iova, iova + length) into pieces that never cross 4 KiB and call
// fn(iova, buf, len) for each until it returns false.  Addresses wrap at
// 2^64 as the bus would; the tables decide whether they translate.
template <typename Fn> void for_each_piece(uint64_t iova, uint8_t *buf, uint64_t length, Fn fn)
{
	uint64_t off = 0;
	while (off < length) {
		uint64_t cur = iova + off;
		uint64_t len = kPieceBytes - (cur & (kPieceBytes - 1));
		if (len > length - off)
			len = length - off;
		if (!fn(cur, buf + off, len))
			return;
		off += len;
	}
}

} // namespace

// Fetch the CD for this transaction: -> a CD, or an event raised in t
// and null.  `slot_ssid` is the SubstreamID the CD is cached under.
const Cd *Smmu::resolve_cd(Txn &t, GuestMemory &mem, uint64_t iova, uint32_t slot_ssid)
{
	const Vste &v = t.cfg.vste;

	for (CachedCd &c : cds_) {
		if (c.valid && c.sid == t.cfg.sid && c.ssid == slot_ssid)
			return &c.cd;
	}

	// Where the CD lives.  A single CD (S1CDMax 0) ignores S1Fmt.
	uint64_t cd_ipa = v.s1_context_ptr;
	if (v.s1_cdmax) {
		if (v.s1fmt == ste::kS1FmtLinear) {
			cd_ipa = v.s1_context_ptr + uint64_t(slot_ssid) * cd::kBytes;
		} else {
			unsigned leaf_shift = v.s1fmt == ste::kS1Fmt4kL2 ? kLeafShift4k : kLeafShift64k;
			uint64_t l1_ipa = v.s1_context_ptr +
					  uint64_t(slot_ssid >> leaf_shift) * kL1DescBytes;
			uint64_t l1;
			auto st = mem.rw(l1_ipa, &l1, sizeof(l1), false);
			if (!st.ok()) {
				raise_s2(t, st.error().code(), iova, FaultClass::CD, l1_ipa);
				return nullptr;
			}
			l1 = le64_to_cpu(l1);
			if (!(l1 & kL1DescV)) {
				raise_event(t, evt::kBadSubstreamId, true);
				return nullptr;
			}
			uint64_t leaf = l1 & kL1DescL2Ptr.mask();
			uint64_t index = slot_ssid & ((1u << leaf_shift) - 1);
			cd_ipa = leaf + index * cd::kBytes;
		}
	}

	uint64_t raw[cd::kWords];
	auto st = mem.rw(cd_ipa, raw, sizeof(raw), false);
	if (!st.ok()) {
		raise_s2(t, st.error().code(), iova, FaultClass::CD, cd_ipa);
		return nullptr;
	}
	for (uint64_t &w : raw)
		w = le64_to_cpu(w);
	auto cd = decode_cd(raw);
	if (!cd.ok()) {
		raise_event(t, evt::kBadCd, true);
		return nullptr;
	}

	// Cache it: a free slot, else the round-robin victim.
	CachedCd *slot = nullptr;
	for (CachedCd &c : cds_) {
		if (!c.valid) {
			slot = &c;
			break;
		}
	}
	if (!slot) {
		slot = &cds_[next_cd_victim_];
		next_cd_victim_ = (next_cd_victim_ + 1) % kConfigCacheEntries;
	}
	slot->valid = true;
	slot->sid = t.cfg.sid;
	slot->ssid = slot_ssid;
	slot->cd = cd.value();
	return &slot->cd;
}

// One stage-1 + stage-2 translated piece.  false: an event stopped the DMA.
bool Smmu::s1_piece(Txn &t, GuestMemory &mem, const Cd &cd, const Stage1Config &s1,
		    uint64_t iova, uint8_t *buf, uint64_t len)
{
	const uint16_t vmid = t.cfg.vmid;
	// The device's access: a data access without the privileged attribute.
	const Access access{t.write, false};
	uint64_t ipa;

	const Tlb::Entry *e = tlb_.lookup(vmid, cd.asid, iova);
	if (e) {
		// A cached leaf still has to allow this access.
		if ((access.write && !e->perm.write) || !e->perm.unpriv) {
			raise_fault(t, evt::kPermission, cd.record, iova, false, FaultClass::IN, 0);
			return false;
		}
		ipa = e->ipa_base + (iova - e->va_base);
	} else {
		auto stage2 = [&mem](uint64_t a, bool w) -> cxx::Result<uint64_t> {
			TRY(mem.probe(a, w));
			// Stage 2 is reached through GuestMemory by IPA, so the
			// "PA" the walker hands back to read() is the IPA.
			return a;
		};
		auto read = [&mem](uint64_t a) -> cxx::Result<uint64_t> {
			uint64_t q;
			auto st = mem.rw(a, &q, sizeof(q), false);
			if (!st.ok())
				return cxx::Err(EIO);
			return le64_to_cpu(q);
		};
		auto w = walk_stage1(s1, iova, access, stage2, read);
		if (!w.ok()) {
			// A CD the walker cannot honour is an ILLEGAL CD.
			raise_event(t, evt::kBadCd, true);
			return false;
		}
		const WalkResult &r = w.value();
		if (!r.ok()) {
			const Fault &f = r.fault;
			uint8_t id = smmu_event_id(f);
			// CD.R covers stage-1 faults; stage-2 faults and
			// external aborts are always recorded.
			bool record = f.stage2 || f.kind == FaultKind::ExternalAbort || cd.record;
			raise_fault(t, id, record, iova, f.stage2, f.cls, f.ipa);
			return false;
		}
		tlb_.insert(vmid, cd.asid, r);
		ipa = r.ipa;
	}
	auto st = mem.rw(ipa, buf, len, t.write);
	if (!st.ok()) {
		raise_s2(t, st.error().code(), iova, FaultClass::IN, ipa);
		return false;
	}
	t.res.done += len;
	return true;
}

DmaResult Smmu::dma(const StreamConfig &cfg, GuestMemory &mem, uint64_t iova, void *buf,
		    uint64_t length, bool write, bool ssv, uint32_t ssid)
{
	cxx::Guard g(lock_);
	Txn t{cfg, write, ssv, ssid, {}};
	uint8_t *bytes = static_cast<uint8_t *>(buf);

	auto s2_only = [&] {
		for_each_piece(iova, bytes, length, [&](uint64_t a, uint8_t *b, uint64_t n) {
			return s2_piece(t, mem, a, b, n);
		});
		return t.res;
	};

	if (cfg.s2_only)
		return s2_only();

	const Vste &v = cfg.vste;
	if (!v.valid) {
		raise_event(t, evt::kBadSte, true);
		return t.res;
	}
	if (v.config == SteConfig::kAbort) {
		// Config abort terminates silently: no event at all.
		t.res.aborted = true;
		return t.res;
	}
	if (v.config == SteConfig::kBypass)
		return s2_only();

	// Stage 1 translates.  STE fields validate_vste() let through but
	// that make the STE ILLEGAL for this implementation.
	if (v.s1_cdmax > kSsidBits) {
		raise_event(t, evt::kBadSte, true);
		return t.res;
	}
	if (v.s1_cdmax && (v.s1fmt > ste::kS1Fmt64kL2 || v.s1dss > ste::kS1DSSSsid0)) {
		raise_event(t, evt::kBadSte, true);
		return t.res;
	}

	uint32_t slot_ssid = 0;
	if (v.s1_cdmax == 0) {
		// One CD and no substreams: a SubstreamID cannot be honoured.
		if (ssv) {
			raise_event(t, evt::kBadSubstreamId, true);
			return t.res;
		}
	} else if (!ssv) {
		switch (v.s1dss) {
		case ste::kS1DSSTerminate:
			raise_event(t, evt::kStreamDisabled, true);
			return t.res;
		case ste::kS1DSSBypass:
			return s2_only();
		default:  // kS1DSSSsid0: CD 0 serves non-substream traffic
			slot_ssid = 0;
			break;
		}
	} else {
		// With S1DSS "substream 0", CD 0 belongs to traffic without a
		// SubstreamID, and a transaction naming SubstreamID 0 is bad.
		if (ssid >= (1u << v.s1_cdmax) || (ssid == 0 && v.s1dss == ste::kS1DSSSsid0)) {
			raise_event(t, evt::kBadSubstreamId, true);
			return t.res;
		}
		slot_ssid = ssid;
	}

	const Cd *cdp = resolve_cd(t, mem, iova, slot_ssid);
	if (!cdp)
		return t.res;
	// A copy: the DMA keeps the CD it started with even if a later piece
	// would be served from a different cache state (nothing under this
	// lock replaces slots mid-DMA today, but the copy makes it a
	// non-question).
	const Cd cd = *cdp;
	const Stage1Config s1 = stage1_config(cd);

	for_each_piece(iova, bytes, length, [&](uint64_t a, uint8_t *b, uint64_t n) {
		return s1_piece(t, mem, cd, s1, a, b, n);
	});
	return t.res;
}

} // namespace iommufd::smmuv3
