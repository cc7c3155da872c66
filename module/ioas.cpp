// SPDX-License-Identifier: GPL-2.0
//
// ioas.cpp - IOMMU_IOAS_* ioctls (ALLOC, IOVA_RANGES, ALLOW_IOVAS, MAP,
// MAP_FILE, COPY, UNMAP), IOMMU_OPTION and IOMMU_VFIO_IOAS.
//
// Errnos and their order follow upstream's ioas.c (Debian 6.12): a non-zero
// __reserved is EOPNOTSUPP before the IOAS is even looked up; an unknown
// IOAS is ENOENT; user arrays are walked element by element, so a fault
// part way is EFAULT at that element.
#include "ioas.hpp"
#include "hwpt.hpp"
#include "ucmd.hpp"

#include "cxxrt/checked.hpp"
#include "cxxrt/log.hpp"
#include "uapi/iommufd.h"

namespace iommufd {

namespace {

// The user address of element i of an iommu_iova_range array.  A wrapped
// address cannot be valid user memory, so it is EFAULT, as the access
// would be.
Result<uint64_t> range_addr(uint64_t base, uint32_t i)
{
	uint64_t off = uint64_t(i) * sizeof(iommu_iova_range);
	auto addr = cxx::checked_add(base, off);
	if (!addr.ok())
		return cxx::Err(EFAULT);
	return addr.take();
}

Result<ObjRef<Ioas>> get_ioas(Ucmd &ucmd, uint32_t id, const char *what)
{
	auto ioas = ucmd.ctx.objects().get<Ioas>(id);
	if (!ioas.ok())
		log_user("%s: no IOAS %u", what, id);
	return ioas;
}

} // namespace

Result<cxx::UniquePtr<Ioas>> Ioas::create()
{
	auto ioas = TRY(cxx::make_unique<Ioas>());
	TRY(ioas->iopt_.init());
	ioas->hwpt_lock_ = TRY(cxx::Mutex::create(KAPI_LOCK_IOAS));
	return ioas;
}

// Nothing holds the IOAS any more: no HWPT (each holds it) and no access.
// Unmapping unpins nothing, since no domain is attached; it frees areas.
Ioas::~Ioas()
{
	CXX_ASSERT(!auto_hwpts_);
	if (hwpt_lock_.valid()) // create() completed
		iopt_.unmap_all();
}

HwptPaging *Ioas::next_auto_hwpt(HwptPaging *h) { return h->next_auto_; }

void Ioas::link_auto_hwpt(HwptPaging *h)
{
	h->next_auto_ = auto_hwpts_;
	h->linked_ = true;
	auto_hwpts_ = h;
}

void Ioas::unlink_auto_hwpt(HwptPaging *h)
{
	cxx::Guard g(hwpt_lock_);
	for (HwptPaging **pp = &auto_hwpts_; *pp; pp = &(*pp)->next_auto_) {
		if (*pp == h) {
			*pp = h->next_auto_;
			h->next_auto_ = nullptr;
			h->linked_ = false;
			return;
		}
	}
}

Status ioas_alloc_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_ioas_alloc>();
	if (cmd.flags) {
		log_user("ioas_alloc: unknown flags 0x%x", cmd.flags);
		return cxx::Err(EOPNOTSUPP);
	}
	auto pending = TRY(ucmd.ctx.objects().add(TRY(Ioas::create())));
	cmd.out_ioas_id = pending.id();
	TRY(ucmd.respond());
	pending.commit();
	return {};
}

// The usable IOVA ranges are the gaps between reserved ranges over the whole
// 64-bit space (allowed ranges do not narrow them).  The array is filled as
// far as it fits while counting every range; the count and alignment are
// written back even when the array was too small, which is then EMSGSIZE,
// so a caller can size its array from the first call.
Status ioas_iova_ranges_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_ioas_iova_ranges>();
	if (cmd.__reserved) {
		log_user("ioas_iova_ranges: __reserved is not zero");
		return cxx::Err(EOPNOTSUPP);
	}
	auto ioas = TRY(get_ioas(ucmd, cmd.ioas_id, "ioas_iova_ranges"));

	const uint32_t capacity = cmd.num_iovas;
	uint32_t count = 0;
	uint64_t alignment;
	TRY(ioas->iopt().iova_ranges(&alignment, [&](uint64_t start, uint64_t last) -> Status {
		if (count < capacity) {
			iommu_iova_range r = { .start = start, .last = last };
			uint64_t to = TRY(range_addr(cmd.allowed_iovas, count));
			if (kapi_copy_to_user(to, &r, sizeof(r)))
				return cxx::Err(EFAULT);
		}
		// Cannot wrap: each range but the last ends at a reserved
		// range, and there are far fewer than 2^32 of those.
		count++;
		return {};
	}));
	cmd.num_iovas = count;
	cmd.out_iova_alignment = alignment;
	TRY(ucmd.respond());
	if (count > capacity)
		return cxx::Err(EMSGSIZE);
	return {};
}

// The new list is built completely (validated against itself) before it
// replaces the old one under the io_pagetable's lock, so a failure at any
// element leaves the IOAS as it was.  There is no cap on num_iovas beyond
// what the user can back with memory, as upstream: each element needs 16
// bytes of readable user memory, and a fault ends the walk.
Status ioas_allow_iovas_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_ioas_allow_iovas>();
	if (cmd.__reserved) {
		log_user("ioas_allow_iovas: __reserved is not zero");
		return cxx::Err(EOPNOTSUPP);
	}
	auto ioas = TRY(get_ioas(ucmd, cmd.ioas_id, "ioas_allow_iovas"));

	iopt::AllowedList list;
	for (uint32_t i = 0; i != cmd.num_iovas; i++) {
		iommu_iova_range r;
		uint64_t from = TRY(range_addr(cmd.allowed_iovas, i));
		if (kapi_copy_from_user(&r, from, sizeof(r)))
			return cxx::Err(EFAULT);
		Status st = list.add(r.start, r.last);
		if (!st.ok()) {
			if (st.code() == -EINVAL)
				log_user("ioas_allow_iovas: range %u [0x%llx, 0x%llx] is empty or overlaps another",
					 i, (unsigned long long)r.start, (unsigned long long)r.last);
			return st;
		}
	}
	Status st = ioas->iopt().set_allowed(list);
	if (st.code() == -EADDRINUSE)
		log_user("ioas_allow_iovas: a range meets a reserved region");
	return st;
}

namespace {

constexpr uint32_t kMapFlags =
	IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE;
// Upstream refuses values that do not fit an unsigned long minus one.
constexpr uint64_t kUlongMax = UINT64_MAX;

uint32_t to_prot(uint32_t flags)
{
	uint32_t prot = 0;
	if (flags & IOMMU_IOAS_MAP_READABLE)
		prot |= iopt::kRead;
	if (flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= iopt::kWrite;
	return prot;
}

iopt::IovaMode to_mode(uint32_t flags)
{
	return (flags & IOMMU_IOAS_MAP_FIXED_IOVA) ? iopt::IovaMode::Fixed : iopt::IovaMode::Alloc;
}

// The checks every map flavour shares, in upstream's order (COPY passes
// its destination IOVA as iova2: it is range-checked with the others,
// before the permission flags).
Status check_map_args(const char *what, uint32_t flags, uint64_t iova, uint64_t length,
		      uint64_t iova2 = 0)
{
	if (flags & ~kMapFlags) {
		log_user("%s: unknown flags 0x%x", what, flags);
		return cxx::Err(EOPNOTSUPP);
	}
	if (iova >= kUlongMax || length >= kUlongMax || iova2 >= kUlongMax)
		return cxx::Err(EOVERFLOW);
	if (!(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE))) {
		log_user("%s: neither READABLE nor WRITEABLE", what);
		return cxx::Err(EINVAL);
	}
	return {};
}

} // namespace

namespace {

// MAP and MAP_FILE once their Pages exist: place them and answer.  As
// upstream, a failed copy-out leaves the mapping in place (unmap-all
// finds it).
template <typename Cmd>
Status map_new_pages(Ucmd &ucmd, Cmd &cmd, Ioas &ioas, const cxx::RefPtr<iopt::Pages> &pages,
		     uint64_t addr)
{
	uint64_t iova = cmd.iova;
	TRY(ioas.iopt().map_pages(pages, 0, cmd.length, addr, to_prot(cmd.flags),
				  to_mode(cmd.flags), &iova));
	cmd.iova = iova;
	return ucmd.respond();
}

} // namespace

Status ioas_map_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_ioas_map>();
	if (cmd.__reserved) {
		log_user("ioas_map: __reserved is not zero");
		return cxx::Err(EOPNOTSUPP);
	}
	TRY(check_map_args("ioas_map", cmd.flags, cmd.iova, cmd.length));
	auto ioas = TRY(get_ioas(ucmd, cmd.ioas_id, "ioas_map"));
	auto pages = TRY(iopt::Pages::create_user(cmd.user_va, cmd.length,
						  cmd.flags & IOMMU_IOAS_MAP_WRITEABLE,
						  ucmd.ctx.account_mode()));
	return map_new_pages(ucmd, cmd, *ioas, pages, cmd.user_va);
}

Status ioas_map_file_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_ioas_map_file>();
	TRY(check_map_args("ioas_map_file", cmd.flags, cmd.iova, cmd.length));
	auto ioas = TRY(get_ioas(ucmd, cmd.ioas_id, "ioas_map_file"));
	auto pages = TRY(iopt::Pages::create_file(cmd.fd, cmd.start, cmd.length,
						  cmd.flags & IOMMU_IOAS_MAP_WRITEABLE,
						  ucmd.ctx.account_mode()));
	return map_new_pages(ucmd, cmd, *ioas, pages, cmd.start);
}

// The source slices are collected (holding their Pages) and the source
// IOAS released before the destination is touched, so copying within one
// IOAS takes its lock twice, never nested.
Status ioas_copy_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_ioas_copy>();
	TRY(check_map_args("ioas_copy", cmd.flags, cmd.src_iova, cmd.length, cmd.dst_iova));
	iopt::SliceList slices;
	{
		auto src = TRY(get_ioas(ucmd, cmd.src_ioas_id, "ioas_copy"));
		Status st = src->iopt().get_slices(cmd.src_iova, cmd.length, slices);
		if (!st.ok()) {
			if (st.code() == -ENOENT)
				log_user("ioas_copy: [0x%llx, +0x%llx) is not all mapped",
					 (unsigned long long)cmd.src_iova,
					 (unsigned long long)cmd.length);
			return st;
		}
	}
	auto dst = TRY(get_ioas(ucmd, cmd.dst_ioas_id, "ioas_copy"));
	uint64_t iova = cmd.dst_iova;
	TRY(dst->iopt().map_slices(slices, cmd.length, to_prot(cmd.flags), to_mode(cmd.flags),
				   &iova));
	cmd.dst_iova = iova;
	return ucmd.respond();
}

Status ioas_unmap_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_ioas_unmap>();
	auto ioas = TRY(get_ioas(ucmd, cmd.ioas_id, "ioas_unmap"));
	uint64_t unmapped;
	if (cmd.iova == 0 && cmd.length == UINT64_MAX) {
		unmapped = ioas->iopt().unmap_all();
	} else {
		if (cmd.iova >= kUlongMax || cmd.length >= kUlongMax)
			return cxx::Err(EOVERFLOW);
		auto r = ioas->iopt().unmap(cmd.iova, cmd.length);
		if (!r.ok()) {
			if (r.error().code() == -ENOENT)
				log_user("ioas_unmap: [0x%llx, +0x%llx) is not whole areas",
					 (unsigned long long)cmd.iova,
					 (unsigned long long)cmd.length);
			return r.error();
		}
		unmapped = r.value();
	}
	cmd.length = unmapped;
	return ucmd.respond();
}

// IOMMU_OPTION_RLIMIT_MODE is global to the context; HUGE_PAGES is per
// IOAS.  Only val64 is written back (as upstream), and only on success.
// Upstream's order: the op is checked after RLIMIT_MODE's object_id and
// after HUGE_PAGES's IOAS lookup (an unknown op on a missing IOAS is
// ENOENT).
Status option_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_option>();
	if (cmd.__reserved) {
		log_user("option: __reserved is not zero");
		return cxx::Err(EOPNOTSUPP);
	}
	const bool set = cmd.op == IOMMU_OPTION_OP_SET;
	auto check_op = [&]() -> Status {
		if (!set && cmd.op != IOMMU_OPTION_OP_GET) {
			log_user("option: unknown op %u", cmd.op);
			return cxx::Err(EOPNOTSUPP);
		}
		return {};
	};
	switch (cmd.option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		if (cmd.object_id) {
			log_user("option: RLIMIT_MODE takes no object");
			return cxx::Err(EOPNOTSUPP);
		}
		TRY(check_op());
		if (!set) {
			cmd.val64 = ucmd.ctx.account_mode() == iopt::AccountMode::Mm;
			break;
		}
		if (!kapi_capable_sys_resource()) {
			log_user("option: RLIMIT_MODE needs CAP_SYS_RESOURCE");
			return cxx::Err(EPERM);
		}
		// Upstream's order: a busy context is EBUSY whatever the value.
		if (!ucmd.ctx.objects().empty()) {
			log_user("option: RLIMIT_MODE cannot change once objects exist");
			return cxx::Err(EBUSY);
		}
		if (cmd.val64 > 1) {
			log_user("option: RLIMIT_MODE %llu is not 0 or 1",
				 (unsigned long long)cmd.val64);
			return cxx::Err(EINVAL);
		}
		TRY(ucmd.ctx.set_account_mode(cmd.val64 ? iopt::AccountMode::Mm
							: iopt::AccountMode::User));
		break;
	case IOMMU_OPTION_HUGE_PAGES: {
		auto ioas = TRY(get_ioas(ucmd, cmd.object_id, "option"));
		TRY(check_op());
		if (!set) {
			cmd.val64 = ioas->iopt().large_pages();
			break;
		}
		if (cmd.val64 > 1) {
			log_user("option: HUGE_PAGES %llu is not 0 or 1",
				 (unsigned long long)cmd.val64);
			return cxx::Err(EINVAL);
		}
		TRY(ioas->iopt().set_large_pages(cmd.val64));
		break;
	}
	default:
		log_user("option: unknown option %u", cmd.option_id);
		return cxx::Err(EOPNOTSUPP);
	}
	uint64_t to = ucmd.ubuffer() + offsetof(iommu_option, val64);
	if (kapi_copy_to_user(to, &cmd.val64, sizeof(cmd.val64)))
		return cxx::Err(EFAULT);
	return {};
}

namespace {

// The distinct Pages of a context, each held.  A context rarely maps many
// distinct ranges, so a list with a linear duplicate check does.
class PagesSet : cxx::NoCopyNoMove {
public:
	~PagesSet()
	{
		while (Node *n = head_) {
			head_ = n->next;
			cxx::UniquePtr<Node> gone(n);
		}
	}
	Status add(iopt::Pages &p)
	{
		for (Node *n = head_; n; n = n->next)
			if (n->pages.get() == &p)
				return {};
		auto n = TRY(cxx::make_unique<Node>());
		n->pages = cxx::RefPtr<iopt::Pages>::retain(&p);
		n->next = head_;
		head_ = n.release();
		return {};
	}
	template <typename F> void for_each(F &&f)
	{
		for (Node *n = head_; n; n = n->next)
			f(*n->pages);
	}
	// Prepare each; on failure, abort the ones before and return it.
	Status prepare_all()
	{
		for (Node *n = head_; n; n = n->next) {
			Status st = n->pages->change_process_prepare();
			if (!st.ok()) {
				for (Node *m = head_; m != n; m = m->next)
					m->pages->change_process_abort();
				return st;
			}
		}
		return {};
	}

private:
	struct Node {
		cxx::RefPtr<iopt::Pages> pages;
		Node *next = nullptr;
	};
	Node *head_ = nullptr;
};

} // namespace

// Every mapping of every IOAS moves its accounting to the caller, or none
// does.  Only memfd mappings can move: user-VA mappings name addresses in
// the old process, which mean nothing in the new one.
Status ioas_change_process_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_ioas_change_process>();
	if (cmd.__reserved) {
		log_user("ioas_change_process: __reserved is not zero");
		return cxx::Err(EOPNOTSUPP);
	}
	PagesSet set;
	TRY(ucmd.ctx.objects().for_each<Ioas>([&](ObjRef<Ioas> &ioas) -> Status {
		return ioas->iopt().for_each_pages([&](iopt::Pages &p) -> Status {
			if (!p.is_file()) {
				log_user("ioas_change_process: IOAS %u maps user memory, not a memfd",
					 ioas->id());
				return cxx::Err(EINVAL);
			}
			return set.add(p);
		});
	}));
	TRY(set.prepare_all());
	set.for_each([](iopt::Pages &p) { p.change_process_commit(); });
	return {};
}

Status vfio_ioas_ioctl(Ucmd &ucmd)
{
	auto &cmd = ucmd.cmd<iommu_vfio_ioas>();
	if (cmd.__reserved) {
		log_user("vfio_ioas: __reserved is not zero");
		return cxx::Err(EOPNOTSUPP);
	}
	switch (cmd.op) {
	case IOMMU_VFIO_IOAS_GET: {
		uint32_t id = ucmd.ctx.vfio_ioas();
		if (!id || !ucmd.ctx.objects().get<Ioas>(id).ok())
			return cxx::Err(ENODEV);
		cmd.ioas_id = id;
		return ucmd.respond();
	}
	case IOMMU_VFIO_IOAS_SET:
		TRY(get_ioas(ucmd, cmd.ioas_id, "vfio_ioas"));
		if (!ucmd.ctx.set_vfio_ioas(cmd.ioas_id).ok()) {
			log_user("vfio_ioas: the container is in no-IOMMU mode");
			return cxx::Err(EINVAL);
		}
		return {};
	case IOMMU_VFIO_IOAS_CLEAR:
		(void)ucmd.ctx.set_vfio_ioas(0);
		return {};
	default:
		log_user("vfio_ioas: unknown op %u", cmd.op);
		return cxx::Err(EOPNOTSUPP);
	}
}

} // namespace iommufd
