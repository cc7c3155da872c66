// SPDX-License-Identifier: GPL-2.0
//
// fake_kapi_iommu.cpp - hosted stand-ins for shim/iommu.c and the kapi_*
// functions of vfio_compat/vfio_glue.c (see fake_kapi.h).
#include "fake_kapi.h"

#include <cerrno>
#include <map>
#include <mutex>
#include <set>

#include "kapi.h"

namespace {

struct FakeDomain {
	uint64_t pgsizes;
	std::map<uint64_t, std::pair<uint64_t, uint64_t>> maps; // iova -> (paddr, len)
	std::set<const fake_kapi::FakeGroup *> groups;
	size_t map_calls = 0;
	bool msi_cookie = false;
};

struct IommuState {
	std::mutex lock;
	std::set<FakeDomain *> domains;
	uint64_t pgsizes = (1ull << 12) | (1ull << 21) | (1ull << 30);
	bool noiommu = false;
	bool rawio = false;
	bool unsafe_interrupts = false;
	long taints = 0;
};

IommuState &st()
{
	static IommuState s;
	return s;
}

const fake_kapi::FakeGroup *G(kapi_iommu_group *g)
{
	return reinterpret_cast<const fake_kapi::FakeGroup *>(g);
}

FakeDomain *D(kapi_iommu_domain *d) { return reinterpret_cast<FakeDomain *>(d); }

FakeDomain *domain_holding(const fake_kapi::FakeGroup &g)
{
	for (FakeDomain *d : st().domains)
		if (d->groups.count(&g))
			return d;
	return nullptr;
}

} // namespace

namespace fake_kapi {

long live_domains()
{
	std::lock_guard<std::mutex> l(st().lock);
	return long(st().domains.size());
}

bool domain_of(const FakeGroup &group, FakeDomainView *out)
{
	std::lock_guard<std::mutex> l(st().lock);
	FakeDomain *d = domain_holding(group);
	if (!d)
		return false;
	uint64_t bytes = 0;
	for (auto &m : d->maps)
		bytes += m.second.second;
	*out = { bytes, d->map_calls, int(d->groups.size()), d->msi_cookie };
	return true;
}

bool translate(const FakeGroup &group, uint64_t iova, uint64_t *paddr)
{
	std::lock_guard<std::mutex> l(st().lock);
	FakeDomain *d = domain_holding(group);
	if (!d)
		return false;
	auto it = d->maps.upper_bound(iova);
	if (it == d->maps.begin())
		return false;
	--it;
	if (iova - it->first >= it->second.second)
		return false;
	*paddr = it->second.first + (iova - it->first);
	return true;
}

void set_domain_pgsizes(uint64_t bitmap) { st().pgsizes = bitmap; }
void set_noiommu_enabled(bool on) { st().noiommu = on; }
void set_cap_sys_rawio(bool on) { st().rawio = on; }
void set_allow_unsafe_interrupts(bool on) { st().unsafe_interrupts = on; }
long noiommu_taints() { return st().taints; }

void iommu_reset()
{
	auto &s = st();
	s.pgsizes = (1ull << 12) | (1ull << 21) | (1ull << 30);
	s.noiommu = s.rawio = s.unsafe_interrupts = false;
	s.taints = 0;
}

} // namespace fake_kapi

extern "C" {

bool kapi_vfio_noiommu_enabled(void) { return st().noiommu; }
bool kapi_capable_sys_rawio(void) { return st().rawio; }
void kapi_vfio_noiommu_taint(void) { st().taints++; }
bool kapi_vfio_allow_unsafe_interrupts(void) { return st().unsafe_interrupts; }

kapi_iommu_domain *kapi_iommu_domain_alloc(kapi_iommu_group *group, int *err)
{
	if (G(group)->alloc_error) {
		*err = G(group)->alloc_error;
		return nullptr;
	}
	auto *d = new FakeDomain;
	d->pgsizes = st().pgsizes;
	std::lock_guard<std::mutex> l(st().lock);
	st().domains.insert(d);
	return reinterpret_cast<kapi_iommu_domain *>(d);
}

void kapi_iommu_domain_free(kapi_iommu_domain *dom)
{
	FakeDomain *d = D(dom);
	{
		std::lock_guard<std::mutex> l(st().lock);
		st().domains.erase(d);
	}
	if (!d->maps.empty() || !d->groups.empty())
		__builtin_trap(); // freed while mapped or attached: a core bug
	delete d;
}

void kapi_iommu_domain_info(kapi_iommu_domain *d, uint64_t *pgsize_bitmap,
			    uint64_t *aperture_start, uint64_t *aperture_last)
{
	*pgsize_bitmap = D(d)->pgsizes;
	*aperture_start = 0;
	*aperture_last = (1ull << 48) - 1;
}

int kapi_iommu_attach_group(kapi_iommu_domain *d, kapi_iommu_group *group)
{
	if (G(group)->attach_error)
		return G(group)->attach_error;
	std::lock_guard<std::mutex> l(st().lock);
	if (G(group)->attach_shared_error && !D(d)->groups.empty())
		return G(group)->attach_shared_error;
	if (domain_holding(*G(group)))
		return -EBUSY;
	D(d)->groups.insert(G(group));
	return 0;
}

void kapi_iommu_detach_group(kapi_iommu_domain *d, kapi_iommu_group *group)
{
	std::lock_guard<std::mutex> l(st().lock);
	if (!D(d)->groups.erase(G(group)))
		__builtin_trap();
}

int kapi_iommu_map(kapi_iommu_domain *dom, uint64_t iova, uint64_t paddr, uint64_t len,
		   uint32_t prot, bool cache)
{
	FakeDomain *d = D(dom);
	uint64_t min = d->pgsizes & (~d->pgsizes + 1);
	if (!len || ((iova | paddr | len) & (min - 1)) || !prot)
		return -EINVAL;
	std::lock_guard<std::mutex> l(st().lock);
	auto next = d->maps.lower_bound(iova);
	if (next != d->maps.end() && next->first < iova + len)
		return -EEXIST;
	if (next != d->maps.begin()) {
		auto prev = std::prev(next);
		if (prev->first + prev->second.second > iova)
			return -EEXIST;
	}
	d->maps[iova] = { paddr, len };
	d->map_calls++;
	return 0;
}

void kapi_iommu_unmap(kapi_iommu_domain *dom, uint64_t iova, uint64_t len)
{
	FakeDomain *d = D(dom);
	std::lock_guard<std::mutex> l(st().lock);
	uint64_t done = 0;
	// Whole earlier maps only; a cut through one is a core bug.
	for (auto it = d->maps.lower_bound(iova); it != d->maps.end() && it->first < iova + len;) {
		if (it->first + it->second.second > iova + len)
			__builtin_trap();
		done += it->second.second;
		it = d->maps.erase(it);
	}
	auto it = d->maps.lower_bound(iova);
	if (it != d->maps.begin()) {
		auto prev = std::prev(it);
		if (prev->first + prev->second.second > iova)
			__builtin_trap();
	}
	if (done != len)
		__builtin_trap();
}

bool kapi_iommu_group_isolated_msi(kapi_iommu_group *group) { return G(group)->isolated_msi; }
bool kapi_iommu_group_cache_coherent(kapi_iommu_group *group) { return G(group)->coherent; }
int kapi_iommu_group_id(kapi_iommu_group *group) { return G(group)->id; }

int kapi_iommu_group_resv_regions(kapi_iommu_group *group,
				  int (*visit)(void *ctx, uint64_t start, uint64_t last,
					       enum kapi_resv_type type),
				  void *ctx)
{
	const fake_kapi::FakeGroup *g = G(group);
	for (int i = 0; i < g->nresv; i++) {
		int rc = visit(ctx, g->resv[i].start, g->resv[i].last,
			       kapi_resv_type(g->resv[i].type));
		if (rc)
			return rc;
	}
	return 0;
}

int kapi_iommu_get_msi_cookie(kapi_iommu_domain *d, uint64_t base)
{
	D(d)->msi_cookie = true;
	return 0;
}

} // extern "C"
