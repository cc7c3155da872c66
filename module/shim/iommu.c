// SPDX-License-Identifier: GPL-2.0
/*
 * shim/iommu.c - the kernel's IOMMU API for the C++ core (kapi.h): paging
 * domains of real IOMMU drivers, group attach/detach, map/unmap, and the
 * facts about a group that VFIO's type1 checks (MSI isolation, coherency,
 * reserved regions).  struct kapi_iommu_group is the kernel's struct
 * iommu_group and struct kapi_iommu_domain its struct iommu_domain; the C++
 * only passes them back here.
 */
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/slab.h>

#include "../kapi.h"

#define to_group(g) ((struct iommu_group *)(g))
#define to_domain(d) ((struct iommu_domain *)(d))

static int first_device(struct device *dev, void *data)
{
	*(struct device **)data = dev;
	return 1; /* stop at the first */
}

struct kapi_iommu_domain *kapi_iommu_domain_alloc(struct kapi_iommu_group *group, int *err)
{
	struct device *dev = NULL;
	struct iommu_domain *d;

	/* vfio.ko holds the group and its bound devices while it attaches. */
	iommu_group_for_each_dev(to_group(group), &dev, first_device);
	if (!dev) {
		*err = -ENODEV;
		return NULL;
	}
	d = iommu_paging_domain_alloc(dev);
	if (IS_ERR(d)) {
		*err = PTR_ERR(d);
		return NULL;
	}
	return (struct kapi_iommu_domain *)d;
}

void kapi_iommu_domain_free(struct kapi_iommu_domain *d)
{
	iommu_domain_free(to_domain(d));
}

void kapi_iommu_domain_info(struct kapi_iommu_domain *d, uint64_t *pgsize_bitmap,
			    uint64_t *aperture_start, uint64_t *aperture_last)
{
	struct iommu_domain *domain = to_domain(d);

	*pgsize_bitmap = domain->pgsize_bitmap;
	if (domain->geometry.force_aperture) {
		*aperture_start = domain->geometry.aperture_start;
		*aperture_last = domain->geometry.aperture_end;
	} else {
		*aperture_start = 0;
		*aperture_last = U64_MAX;
	}
}

int kapi_iommu_attach_group(struct kapi_iommu_domain *d, struct kapi_iommu_group *group)
{
	return iommu_attach_group(to_domain(d), to_group(group));
}

void kapi_iommu_detach_group(struct kapi_iommu_domain *d, struct kapi_iommu_group *group)
{
	iommu_detach_group(to_domain(d), to_group(group));
}

int kapi_iommu_map(struct kapi_iommu_domain *d, uint64_t iova, uint64_t paddr, uint64_t len,
		   uint32_t prot, bool cache)
{
	int iprot = (cache ? IOMMU_CACHE : 0) | ((prot & 1) ? IOMMU_READ : 0) |
		    ((prot & 2) ? IOMMU_WRITE : 0);

	/* iommu_map undoes its own partial work on failure. */
	return iommu_map(to_domain(d), iova, paddr, len, iprot, GFP_KERNEL_ACCOUNT);
}

void kapi_iommu_unmap(struct kapi_iommu_domain *d, uint64_t iova, uint64_t len)
{
	size_t done = iommu_unmap(to_domain(d), iova, len);

	WARN_ONCE(done != len, "iommufd_cxx: unmapped 0x%zx of 0x%llx bytes at 0x%llx\n",
		  done, len, iova);
}

bool kapi_iommu_group_isolated_msi(struct kapi_iommu_group *group)
{
	return iommu_group_has_isolated_msi(to_group(group));
}

static int not_coherent(struct device *dev, void *data)
{
	return !device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY);
}

bool kapi_iommu_group_cache_coherent(struct kapi_iommu_group *group)
{
	return !iommu_group_for_each_dev(to_group(group), NULL, not_coherent);
}

int kapi_iommu_group_id(struct kapi_iommu_group *group)
{
	return iommu_group_id(to_group(group));
}

static enum kapi_resv_type resv_type(enum iommu_resv_type t)
{
	switch (t) {
	case IOMMU_RESV_DIRECT:
		return KAPI_RESV_DIRECT;
	case IOMMU_RESV_DIRECT_RELAXABLE:
		return KAPI_RESV_DIRECT_RELAXABLE;
	case IOMMU_RESV_MSI:
		return KAPI_RESV_MSI;
	case IOMMU_RESV_SW_MSI:
		return KAPI_RESV_SW_MSI;
	case IOMMU_RESV_RESERVED:
	default:
		return KAPI_RESV_RESERVED;
	}
}

int kapi_iommu_group_resv_regions(struct kapi_iommu_group *group,
				  int (*visit)(void *ctx, uint64_t start, uint64_t last,
					       enum kapi_resv_type type),
				  void *ctx)
{
	struct iommu_resv_region *r, *next;
	LIST_HEAD(regions);
	int ret;

	ret = iommu_get_group_resv_regions(to_group(group), &regions);
	list_for_each_entry(r, &regions, list) {
		if (ret || !r->length)
			continue;
		ret = visit(ctx, r->start, r->start + r->length - 1, resv_type(r->type));
	}
	/* The group's list holds copies the caller frees. */
	list_for_each_entry_safe(r, next, &regions, list) {
		list_del(&r->list);
		kfree(r);
	}
	return ret;
}

int kapi_iommu_get_msi_cookie(struct kapi_iommu_domain *d, uint64_t base)
{
	return iommu_get_msi_cookie(to_domain(d), base);
}
