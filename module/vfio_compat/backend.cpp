// SPDX-License-Identifier: GPL-2.0
//
// backend.cpp - vfio.ko containers served by this module (backend.hpp), and
// the C entry points vfio_glue.c registers with vfio.ko.
#include "vfio_compat/backend.hpp"
#include "vfio_compat/container.hpp"

#include "cxxrt/log.hpp"
#include "uapi/vfio_compat.h"

namespace iommufd::vfio {

namespace {

cxx::Atomic<long> g_live{0};

// Reserve each region of a group for that group; remember a software MSI
// window (its domain then needs an MSI cookie at that base).
struct ResvWalk {
	iopt::IoPagetable *iopt;
	const void *owner;
	int group_id;
	uint64_t sw_msi = UINT64_MAX;
};

int reserve_region(void *ctx, uint64_t start, uint64_t last, kapi_resv_type type)
{
	auto *w = static_cast<ResvWalk *>(ctx);
	// A relaxable direct mapping (e.g. a USB or GPU RMRR) is dropped once
	// the device is assigned, as iommufd and type1 do.
	if (type == KAPI_RESV_DIRECT_RELAXABLE)
		return 0;
	if (type == KAPI_RESV_SW_MSI)
		w->sw_msi = start;
	Status st = w->iopt->reserve(start, last, w->owner);
	if (!st.ok() && st.code() == -EADDRINUSE)
		log_user("vfio: group %d: reserved region [0x%llx, 0x%llx] is already mapped",
			 w->group_id, (unsigned long long)start, (unsigned long long)last);
	return st.code();
}

} // namespace

long BackendContainer::live_count() { return g_live.load_relaxed(); }

Result<cxx::UniquePtr<BackendContainer>> BackendContainer::create(bool type1v2)
{
	auto c = TRY(cxx::make_unique<BackendContainer>());
	c->lock_ = TRY(cxx::Mutex::create(KAPI_LOCK_VFIO_BACKEND));
	c->ctx_ = TRY(Context::create(nullptr));
	TRY(c->ctx_->set_account_mode(iopt::AccountMode::Mm));
	auto pending = TRY(c->ctx_->objects().add(TRY(Ioas::create())));
	c->ioas_ = pending.commit_and_hold().cast<Ioas>();
	TRY(c->ctx_->set_vfio_ioas(c->ioas_->id()));
	// type1 keeps large IOPTEs for v1 too: its v1 unmap never splits a
	// mapping (see container.cpp).
	c->ctx_->set_type1_rules(type1v2);
	g_live.add_return(1);
	c->counted_ = true;
	return c;
}

BackendContainer::~BackendContainer()
{
	// vfio.ko detaches every group before release; if one were left,
	// detach it here rather than leave a device on a freed domain.
	while (groups_) {
		log_err("vfio: container released with group %d attached",
			kapi_iommu_group_id(groups_->group));
		detach_group(groups_->group);
	}
	if (counted_)
		g_live.sub_return(1);
	ioas_ = ObjRef<Ioas>(); // before ctx_ destroys its objects
}

long BackendContainer::ioctl(unsigned int cmd, uint64_t arg)
{
	return container_ioctl(*ctx_, cmd, arg);
}

Status BackendContainer::attach_group(kapi_iommu_group *group)
{
	const int id = kapi_iommu_group_id(group);
	cxx::Guard g(lock_);
	for (GroupEntry *e = groups_; e; e = e->next)
		if (e->group == group)
			return cxx::Err(EEXIST);
	if (!kapi_vfio_allow_unsafe_interrupts() && !kapi_iommu_group_isolated_msi(group)) {
		log_warn("vfio: group %d: no interrupt remapping (MSI isolation); load with allow_unsafe_interrupts=1 to use it anyway",
			 id);
		return cxx::Err(EPERM);
	}
	auto entry = TRY(cxx::make_unique<GroupEntry>());
	entry->group = group;

	iopt::IoPagetable &iopt = ioas_->iopt();
	ResvWalk walk{ &iopt, entry.get(), id };
	int rc = kapi_iommu_group_resv_regions(group, reserve_region, &walk);
	if (rc) {
		iopt.unreserve(entry.get());
		return cxx::Error(rc);
	}
	const bool coherent = kapi_iommu_group_cache_coherent(group);

	// Share a domain with the container's other groups when the driver
	// takes the group on it (same IOMMU, compatible settings).
	for (DomainEntry *d = domains_; d; d = d->next) {
		if (d->domain->enforces_cache_coherency() != coherent || d->sw_msi != walk.sw_msi)
			continue;
		if (kapi_iommu_attach_group(d->domain->raw(), group) == 0) {
			d->groups++;
			entry->domain = d;
			break;
		}
	}
	if (!entry->domain) {
		Status st = attach_to_new_domain(*entry, coherent, walk.sw_msi);
		if (!st.ok()) {
			iopt.unreserve(entry.get());
			return st;
		}
	}
	entry->next = groups_;
	groups_ = entry.release();
	return {};
}

// The group moves onto a fresh, empty domain first (the driver settles
// the domain's page sizes then; kernel_domain.hpp), which is then filled
// with every mapping.  The device is quiescent meanwhile: vfio.ko attaches
// groups while SET_CONTAINER/SET_IOMMU run, before the device is opened.
Status BackendContainer::attach_to_new_domain(GroupEntry &g, bool coherent, uint64_t sw_msi)
{
	auto d = TRY(cxx::make_unique<DomainEntry>());
	d->domain = TRY(KernelDomain::create_attached(g.group, coherent, sw_msi));
	d->sw_msi = sw_msi;
	Status st = ioas_->iopt().add_domain(d->domain.get());
	if (!st.ok()) {
		log_user("vfio: group %d: existing mappings do not fit its IOMMU domain: %d",
			 kapi_iommu_group_id(g.group), st.code());
		kapi_iommu_detach_group(d->domain->raw(), g.group);
		return st;
	}
	d->groups = 1;
	d->next = domains_;
	g.domain = d.get();
	domains_ = d.release();
	return {};
}

void BackendContainer::put_domain(DomainEntry *d)
{
	if (--d->groups)
		return;
	for (DomainEntry **pp = &domains_; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	ioas_->iopt().remove_domain(d->domain.get());
	cxx::UniquePtr<DomainEntry> gone(d);
}

void BackendContainer::detach_group(kapi_iommu_group *group)
{
	cxx::Guard g(lock_);
	for (GroupEntry **pp = &groups_; *pp; pp = &(*pp)->next) {
		GroupEntry *e = *pp;
		if (e->group != group)
			continue;
		*pp = e->next;
		kapi_iommu_detach_group(e->domain->domain->raw(), group);
		put_domain(e->domain);
		ioas_->iopt().unreserve(e);
		cxx::UniquePtr<GroupEntry> gone(e);
		return;
	}
	log_err("vfio: detach of group %d, which is not attached", kapi_iommu_group_id(group));
}

} // namespace iommufd::vfio

using iommufd::vfio::BackendContainer;

int iommufd_cxx_vfio_open(bool type1v2, void **out)
{
	auto c = BackendContainer::create(type1v2);
	if (!c.ok())
		return c.error().code();
	*out = c.take().release();
	return 0;
}

void iommufd_cxx_vfio_release(void *container)
{
	cxx::UniquePtr<BackendContainer> gone(static_cast<BackendContainer *>(container));
}

long iommufd_cxx_vfio_ioctl(void *container, unsigned int cmd, unsigned long arg)
{
	return static_cast<BackendContainer *>(container)->ioctl(cmd, arg);
}

long iommufd_cxx_vfio_check_extension(unsigned long ext)
{
	return iommufd::vfio::check_extension_static(ext);
}

int iommufd_cxx_vfio_attach_group(void *container, kapi_iommu_group *group)
{
	return static_cast<BackendContainer *>(container)->attach_group(group).code();
}

void iommufd_cxx_vfio_detach_group(void *container, kapi_iommu_group *group)
{
	static_cast<BackendContainer *>(container)->detach_group(group);
}

long iommufd_cxx_vfio_containers(void) { return BackendContainer::live_count(); }
