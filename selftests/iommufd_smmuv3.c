// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd_smmuv3.c - ARM SMMUv3 nesting end to end, on the module's software
 * SMMUv3 model behind the test ABI (IOMMU_TEST_OP_CXX_MOCK_SMMUV3 devices,
 * IOMMU_TEST_OP_CXX_SMMU_DMA transactions).
 *
 * The test plays both the VMM and the guest.  The guest's memory is one
 * buffer mapped FIXED at IPA MOCK_APERTURE_START in the IOAS that backs the
 * nest-parent HWPT (stage 2).  In it the test writes what a guest SMMUv3
 * driver would: a CD table and real AArch64 stage-1 tables (4 KiB granule,
 * every table address an IPA).  The VMM side is the uAPI: vIOMMU, vDEVICE
 * (vSID), vEVENTQ, nested HWPT from the guest STE, and IOMMU_HWPT_INVALIDATE
 * on the vIOMMU with raw SMMU commands.  A DMA by the mock device then walks
 * STE -> CD -> stage 1 -> stage 2 and must land exactly where the guest's
 * tables say; the model's TLB and CD cache must stay stale until the
 * matching command; faults must come back as SMMU event records carrying
 * the vSID.
 *
 * Every errno of the nesting uAPI is checked too.  Needs the module loaded
 * with test_abi=1 (SKIP otherwise).  Runs in the VM as root; TAP via the
 * kernel's kselftest harness.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iommufd.h"
#include "iommufd_test.h"
#include "iommufd_util.h"
#include "kselftest_harness.h"

#define BIT(n) (1ULL << (n))
#define GENMASK(h, l) ((~0ULL >> (63 - (h))) & ~((1ULL << (l)) - 1))
#define FIELD(v, h, l) (((uint64_t)(v) << (l)) & GENMASK(h, l))
#define FIELD_GET(v, h, l) (((v) & GENMASK(h, l)) >> (l))

#define PAGE 4096ULL

/* ---- guest memory layout --------------------------------------------------
 * One buffer of GUEST_SIZE bytes at IPA GUEST_IPA.  Offsets inside it:
 *   CD_A, CD_B     linear CD tables of guest A and guest B (64 B per CD)
 *   TS(n)          table set n: four pages, L0 L1 L2 L3, enough for every
 *                  VA inside one 2 MiB region
 *   DATA(n)        data pages the stage-1 leaves point at
 * UNMAPPED_IPA is inside the mock aperture but not mapped in the IOAS, for
 * stage-2 faults.
 */
#define GUEST_IPA ((uint64_t)MOCK_APERTURE_START)
#define GUEST_SIZE (4ULL << 20)
#define CD_A (GUEST_IPA + 0x0000)
#define CD_B (GUEST_IPA + 0x1000)
#define TS(n) (GUEST_IPA + 0x10000 + (n) * 0x4000ULL)
#define DATA(n) (GUEST_IPA + 0x100000 + (n) * PAGE)
#define UNMAPPED_IPA (GUEST_IPA + GUEST_SIZE + (4ULL << 20))

/* The guest VA: a non-zero index at every level of a 4-level walk. */
#define VA0 (3ULL << 39 | 5ULL << 30 | 7ULL << 21)
#define VA(n) (VA0 + (n) * PAGE)

#define VSID_A 0x1234
#define VSID_B 0x5678
#define ASID 0x42
#define EVQ_DEPTH 16

/* ---- SMMUv3 formats (le64 words; the model is described in docs/smmuv3.md) */

/* CD word 0 */
#define CD0_T0SZ(v) FIELD(v, 5, 0)
#define CD0_TG0(v) FIELD(v, 7, 6)
#define CD0_IR0(v) FIELD(v, 9, 8)
#define CD0_OR0(v) FIELD(v, 11, 10)
#define CD0_SH0(v) FIELD(v, 13, 12)
#define CD0_EPD0 BIT(14)
#define CD0_T1SZ(v) FIELD(v, 21, 16)
#define CD0_TG1(v) FIELD(v, 23, 22)
#define CD0_EPD1 BIT(30)
#define CD0_V BIT(31)
#define CD0_IPS(v) FIELD(v, 34, 32)
#define CD0_AA64 BIT(41)
#define CD0_HD BIT(42)
#define CD0_HA BIT(43)
#define CD0_R BIT(45)
#define CD0_A BIT(46)
#define CD0_ASET BIT(47)
#define CD0_ASID(v) FIELD(v, 63, 48)

/* STE words 0 and 1 */
#define STE0_V BIT(0)
#define STE0_CFG(v) FIELD(v, 3, 1)
#define STE0_S1FMT(v) FIELD(v, 5, 4)
#define STE0_CTXPTR(ipa) ((ipa) & GENMASK(51, 6))
#define STE0_CDMAX(v) FIELD(v, 63, 59)
#define STE1_S1DSS(v) FIELD(v, 1, 0)
#define STE1_S1CIR(v) FIELD(v, 3, 2)
#define STE1_S1COR(v) FIELD(v, 5, 4)
#define STE1_S1CSH(v) FIELD(v, 7, 6)
#define STE1_S1STALLD BIT(27)
#define STE1_EATS(v) FIELD(v, 29, 28)
#define CFG_ABORT 0
#define CFG_BYPASS 4
#define CFG_S1 5

/* Stage-1 descriptors, 4 KiB granule */
#define PTE_TYPE_TABLE 3ULL /* also a level-3 page */
#define PTE_AP1 BIT(6)	    /* unprivileged access allowed */
#define PTE_AP2 BIT(7)	    /* read-only */
#define PTE_SH_IS FIELD(3, 9, 8)
#define PTE_AF BIT(10)
#define PTE_NG BIT(11)
#define PTE_ADDR(ipa) ((ipa) & GENMASK(47, 12))

/* pte_page() flags */
#define P_RO BIT(0)
#define P_GLOBAL BIT(1)
#define P_NO_AF BIT(2)
#define P_PRIV BIT(3)

/* Commands */
#define OP_PREFETCH_CFG 0x01
#define OP_CFGI_STE 0x03
#define OP_CFGI_CD 0x05
#define OP_CFGI_CD_ALL 0x06
#define OP_TLBI_NH_ALL 0x10
#define OP_TLBI_NH_ASID 0x11
#define OP_TLBI_NH_VA 0x12
#define OP_TLBI_NH_VAA 0x13
#define OP_TLBI_EL2_ALL 0x20
#define OP_TLBI_S12_VMALL 0x28
#define OP_TLBI_NSNH_ALL 0x30
#define OP_ATC_INV 0x40
#define OP_SYNC 0x46
#define CMD0_SSID(v) FIELD(v, 31, 12)
#define CMD0_SID(v) FIELD(v, 63, 32)
#define CMD0_VMID(v) FIELD(v, 47, 32)
#define CMD0_ASID(v) FIELD(v, 63, 48)
#define CMD0_NUM(v) FIELD(v, 16, 12)
#define CMD0_SCALE(v) FIELD(v, 24, 20)
#define CMD1_LEAF BIT(0)
#define CMD1_TTL(v) FIELD(v, 9, 8)
#define CMD1_TG(v) FIELD(v, 11, 10)
#define CMD1_ADDR(va) ((va) & GENMASK(63, 12))

/* Event record */
#define EVT_C_BAD_STE 0x04
#define EVT_F_STREAM_DISABLED 0x06
#define EVT_C_BAD_SUBSTREAMID 0x08
#define EVT_C_BAD_CD 0x0a
#define EVT_F_TRANSLATION 0x10
#define EVT_F_ADDR_SIZE 0x11
#define EVT_F_ACCESS 0x12
#define EVT_F_PERMISSION 0x13
#define CLASS_CD 0
#define CLASS_TT 1
#define CLASS_IN 2
#define NO_CLASS (-1) /* don't check CLASS/S2/RnW/IPA (config errors) */

struct smmu_cmd {
	uint64_t w[2];
};

struct evt {
	struct iommufd_vevent_header hdr;
	struct iommu_vevent_arm_smmuv3 rec;
};

/* ---- ioctl helpers: each returns 0 or the errno --------------------------- */

struct smmu_dev {
	uint32_t stdev, hwpt, idev, sid;
};

static int mock_smmuv3_flags(int fd, uint32_t pt, uint32_t dev_flags, struct smmu_dev *d)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_CXX_MOCK_SMMUV3, .id = pt,
		.mock_smmuv3 = { .dev_flags = dev_flags },
	};
	int ret = ioctl_err(fd, IOMMU_TEST_CMD, &cmd);

	if (!ret && d) {
		d->stdev = cmd.mock_smmuv3.out_stdev_id;
		d->hwpt = cmd.mock_smmuv3.out_hwpt_id;
		d->idev = cmd.mock_smmuv3.out_idev_id;
		d->sid = cmd.mock_smmuv3.out_sid;
	}
	return ret;
}

static int mock_smmuv3(int fd, uint32_t pt, struct smmu_dev *d)
{
	return mock_smmuv3_flags(fd, pt, 0, d);
}

/* A plain MOCK_DOMAIN device (another IOMMU as far as nesting goes). */
static int mock_plain(int fd, uint32_t pt, struct smmu_dev *d)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pt,
	};
	int ret = ioctl_err(fd, IOMMU_TEST_CMD, &cmd);

	if (!ret) {
		d->stdev = cmd.mock_domain.out_stdev_id;
		d->hwpt = cmd.mock_domain.out_hwpt_id;
		d->idev = cmd.mock_domain.out_idev_id;
		d->sid = 0;
	}
	return ret;
}

static int replace(int fd, uint32_t stdev, uint32_t pt)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev,
		.mock_domain_replace = { .pt_id = pt },
	};

	return ioctl_err(fd, IOMMU_TEST_CMD, &cmd);
}

static int ioas_map_fixed(int fd, uint32_t ioas, void *p, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas, .user_va = (uintptr_t)p, .length = len, .iova = iova,
	};

	return ioctl_err(fd, IOMMU_IOAS_MAP, &cmd);
}

static int hwpt_alloc(int fd, uint32_t flags, uint32_t dev, uint32_t pt, uint32_t type,
		      const void *data, uint32_t len, uint32_t *id)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev, .pt_id = pt,
		.data_type = type, .data_len = len, .data_uptr = (uintptr_t)data,
	};
	int ret = ioctl_err(fd, IOMMU_HWPT_ALLOC, &cmd);

	if (!ret && id)
		*id = cmd.out_hwpt_id;
	return ret;
}

/* A nested HWPT on @viommu from the guest STE words @w0, @w1. */
static int nested_alloc(int fd, uint32_t dev, uint32_t viommu, uint64_t w0, uint64_t w1,
			uint32_t *id)
{
	struct iommu_hwpt_arm_smmuv3 ste = { .ste = { htole64(w0), htole64(w1) } };

	return hwpt_alloc(fd, 0, dev, viommu, IOMMU_HWPT_DATA_ARM_SMMUV3, &ste, sizeof(ste),
			  id);
}

static int viommu_alloc_t(int fd, uint32_t flags, uint32_t type, uint32_t dev,
			  uint32_t hwpt, uint32_t *id)
{
	struct iommu_viommu_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .type = type, .dev_id = dev, .hwpt_id = hwpt,
	};
	int ret = ioctl_err(fd, IOMMU_VIOMMU_ALLOC, &cmd);

	if (!ret && id)
		*id = cmd.out_viommu_id;
	return ret;
}

static int viommu_alloc(int fd, uint32_t dev, uint32_t hwpt, uint32_t *id)
{
	return viommu_alloc_t(fd, 0, IOMMU_VIOMMU_TYPE_ARM_SMMUV3, dev, hwpt, id);
}

static int vdevice_alloc(int fd, uint32_t viommu, uint32_t dev, uint64_t virt_id, uint32_t *id)
{
	struct iommu_vdevice_alloc cmd = {
		.size = sizeof(cmd), .viommu_id = viommu, .dev_id = dev, .virt_id = virt_id,
	};
	int ret = ioctl_err(fd, IOMMU_VDEVICE_ALLOC, &cmd);

	if (!ret && id)
		*id = cmd.out_vdevice_id;
	return ret;
}

static int veventq_alloc_t(int fd, uint32_t flags, uint32_t viommu, uint32_t type,
			   uint32_t depth, uint32_t *id, int *evfd)
{
	struct iommu_veventq_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .viommu_id = viommu, .type = type,
		.veventq_depth = depth,
	};
	int ret = ioctl_err(fd, IOMMU_VEVENTQ_ALLOC, &cmd);

	if (!ret) {
		if (id)
			*id = cmd.out_veventq_id;
		if (evfd)
			*evfd = cmd.out_veventq_fd;
		else
			close(cmd.out_veventq_fd);
	}
	return ret;
}

static int veventq_alloc(int fd, uint32_t viommu, uint32_t depth, uint32_t *id, int *evfd)
{
	return veventq_alloc_t(fd, 0, viommu, IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, depth, id, evfd);
}

static int invalidate_raw(int fd, uint32_t id, uint32_t type, const void *data,
			  uint32_t entry_len, uint32_t *num)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd), .hwpt_id = id, .data_uptr = (uintptr_t)data,
		.data_type = type, .entry_len = entry_len, .entry_num = *num,
	};
	int ret = ioctl_err(fd, IOMMU_HWPT_INVALIDATE, &cmd);

	*num = cmd.entry_num;
	return ret;
}

/*
 * Issue @n SMMU commands on @viommu.  *@done (if given) gets the number of
 * entries the kernel handled, which on EIO is the index of the bad one.
 */
static int invalidate(int fd, uint32_t viommu, const struct smmu_cmd *cmds, uint32_t n,
		      uint32_t *done)
{
	struct iommu_viommu_arm_smmuv3_invalidate *e = calloc(n ? n : 1, sizeof(*e));
	uint32_t num = n, i;
	int ret;

	if (!e)
		return ENOMEM;
	for (i = 0; i < n; i++) {
		e[i].cmd[0] = htole64(cmds[i].w[0]);
		e[i].cmd[1] = htole64(cmds[i].w[1]);
	}
	ret = invalidate_raw(fd, viommu, IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, e,
			     sizeof(*e), &num);
	free(e);
	if (done)
		*done = num;
	return ret;
}

static int invalidate1(int fd, uint32_t viommu, struct smmu_cmd c)
{
	return invalidate(fd, viommu, &c, 1, NULL);
}

/* The device @stdev reads (or with SMMU_DMA_WRITE writes) @len bytes at @iova. */
static int dma(int fd, uint32_t stdev, uint32_t flags, uint32_t ssid, uint64_t iova,
	       void *buf, uint64_t len, uint32_t *event, uint32_t *done)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_CXX_SMMU_DMA, .id = stdev,
		.smmu_dma = { .flags = flags, .ssid = ssid, .iova = iova, .length = len,
			      .uptr = (uintptr_t)buf },
	};
	int ret = ioctl_err(fd, IOMMU_TEST_CMD, &cmd);

	if (event)
		*event = ret ? ~0U : cmd.smmu_dma.out_event;
	if (done)
		*done = ret ? 0 : cmd.smmu_dma.out_done;
	return ret;
}

/* ---- command builders ------------------------------------------------------ */

static struct smmu_cmd cmd_cfgi_cd(uint32_t vsid, uint32_t ssid)
{
	return (struct smmu_cmd){ { OP_CFGI_CD | CMD0_SSID(ssid) | CMD0_SID(vsid), CMD1_LEAF } };
}

static struct smmu_cmd cmd_cfgi_cd_all(uint32_t vsid)
{
	return (struct smmu_cmd){ { OP_CFGI_CD_ALL | CMD0_SID(vsid), 0 } };
}

static struct smmu_cmd cmd_nh_all(void)
{
	return (struct smmu_cmd){ { OP_TLBI_NH_ALL, 0 } };
}

static struct smmu_cmd cmd_nsnh_all(void)
{
	return (struct smmu_cmd){ { OP_TLBI_NSNH_ALL, 0 } };
}

static struct smmu_cmd cmd_nh_asid(uint16_t asid)
{
	return (struct smmu_cmd){ { OP_TLBI_NH_ASID | CMD0_ASID(asid), 0 } };
}

/* One VA (TG=0: no range, no level hint), leaf entries only. */
static struct smmu_cmd cmd_nh_va(uint16_t asid, uint64_t va)
{
	return (struct smmu_cmd){ { OP_TLBI_NH_VA | CMD0_ASID(asid), CMD1_LEAF | CMD1_ADDR(va) } };
}

static struct smmu_cmd cmd_nh_vaa(uint64_t va)
{
	return (struct smmu_cmd){ { OP_TLBI_NH_VAA, CMD1_LEAF | CMD1_ADDR(va) } };
}

/* Range TLBI (IDR3.RIL): (num + 1) << scale pages of 4 KiB (TG=1) from @va. */
static struct smmu_cmd cmd_nh_va_range(uint16_t asid, uint64_t va, unsigned int num,
				       unsigned int scale, unsigned int ttl)
{
	return (struct smmu_cmd){ { OP_TLBI_NH_VA | CMD0_ASID(asid) | CMD0_NUM(num) |
					    CMD0_SCALE(scale),
				    CMD1_LEAF | CMD1_TTL(ttl) | CMD1_TG(1) | CMD1_ADDR(va) } };
}

static struct smmu_cmd with_vmid(struct smmu_cmd c, uint16_t vmid)
{
	c.w[0] |= CMD0_VMID(vmid);
	return c;
}

/* ---- guest memory ---------------------------------------------------------- */

struct guest {
	uint8_t *mem; /* IPA GUEST_IPA */
};

static uint64_t *gp(const struct guest *g, uint64_t ipa)
{
	return (uint64_t *)(g->mem + (ipa - GUEST_IPA));
}

static void gw(const struct guest *g, uint64_t ipa, uint64_t v)
{
	*gp(g, ipa) = htole64(v);
}

static unsigned int idx(uint64_t va, int level)
{
	return (va >> (39 - 9 * level)) & 511;
}

static uint64_t pte_page(uint64_t out_ipa, unsigned int flags)
{
	uint64_t pte = PTE_ADDR(out_ipa) | PTE_SH_IS | PTE_TYPE_TABLE;

	if (!(flags & P_NO_AF))
		pte |= PTE_AF;
	if (!(flags & P_PRIV))
		pte |= PTE_AP1;
	if (flags & P_RO)
		pte |= PTE_AP2;
	if (!(flags & P_GLOBAL))
		pte |= PTE_NG;
	return pte;
}

/*
 * Table set @ts (TS(n)): L0..L3 on four consecutive pages, wired so that
 * the 2 MiB region holding @va walks down to the L3 page.  Returns TTB0.
 */
static uint64_t tset_build(const struct guest *g, uint64_t ts, uint64_t va)
{
	int l;

	memset(gp(g, ts), 0, 4 * PAGE);
	for (l = 0; l < 3; l++)
		gw(g, ts + l * PAGE + idx(va, l) * 8, (ts + (l + 1) * PAGE) | PTE_TYPE_TABLE);
	return ts;
}

/* The level-3 entry of @va in table set @ts (0: invalid). */
static void tset_pte(const struct guest *g, uint64_t ts, uint64_t va, uint64_t pte)
{
	gw(g, ts + 3 * PAGE + idx(va, 3) * 8, pte);
}

static void tset_map(const struct guest *g, uint64_t ts, uint64_t va, uint64_t ipa,
		     unsigned int flags)
{
	tset_pte(g, ts, va, pte_page(ipa, flags));
}

/* CD word 0 as a Linux guest writes it: 48-bit VA, TTB1 walks disabled. */
static uint64_t cd0(uint16_t asid)
{
	return CD0_T0SZ(16) | CD0_TG0(0) | CD0_IR0(1) | CD0_OR0(1) | CD0_SH0(3) |
	       CD0_T1SZ(16) | CD0_TG1(2) | CD0_EPD1 | CD0_V | CD0_IPS(5) | CD0_AA64 | CD0_R |
	       CD0_A | CD0_ASET | CD0_ASID(asid);
}

static void cd_write_raw(const struct guest *g, uint64_t cd, uint64_t w0, uint64_t ttb0)
{
	memset(gp(g, cd), 0, 64);
	gw(g, cd + 8, ttb0 & GENMASK(51, 4));
	gw(g, cd + 24, 0xff); /* MAIR: attr 0 normal write-back */
	gw(g, cd, w0);	      /* word 0 last: it holds V */
}

static void cd_write(const struct guest *g, uint64_t cd, uint16_t asid, uint64_t ttb0)
{
	cd_write_raw(g, cd, cd0(asid), ttb0);
}

static uint64_t ste0_s1(uint64_t cd_table)
{
	return STE0_V | STE0_CFG(CFG_S1) | STE0_S1FMT(0) | STE0_CTXPTR(cd_table);
}

static uint64_t ste1_s1(void)
{
	return STE1_S1CIR(1) | STE1_S1COR(1) | STE1_S1CSH(3);
}

static void fill_page(const struct guest *g, uint64_t ipa, uint8_t c)
{
	memset(gp(g, ipa), c, PAGE);
}

/* ======================================================================== */

FIXTURE(smmu)
{
	int fd;
	struct guest g;
	uint32_t ioas;
	struct smmu_dev d;	/* device A, vSID_A */
	uint32_t parent;	/* NEST_PARENT HWPT on ioas */
	uint32_t viommu, vdev, veventq, nested;
	int evfd;
};

FIXTURE_SETUP(smmu)
{
	int ret;

	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/iommu: %s", strerror(errno));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));

	ret = mock_smmuv3(self->fd, self->ioas, &self->d);
	if (ret == ENOTTY)
		SKIP(return, "needs test_abi=1");
	if (ret == EOPNOTSUPP || (ret == EINVAL && mock_plain(self->fd, self->ioas,
							     &(struct smmu_dev){}) == 0))
		SKIP(return, "needs the software SMMUv3 (IOMMU_TEST_OP_CXX_MOCK_SMMUV3)");
	ASSERT_EQ(0, ret);

	/* Guest RAM: IPA GUEST_IPA.. in the IOAS that is stage 2. */
	self->g.mem = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->g.mem);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas, self->g.mem, GUEST_SIZE, GUEST_IPA));

	/* Guest A: CD 0 (ASID) -> TS(0); VA(0) -> DATA(0). */
	cd_write(&self->g, CD_A, ASID, tset_build(&self->g, TS(0), VA0));
	tset_map(&self->g, TS(0), VA(0), DATA(0), 0);

	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_NEST_PARENT, self->d.idev, self->ioas,
				IOMMU_HWPT_DATA_NONE, NULL, 0, &self->parent));
	ASSERT_EQ(0, viommu_alloc(self->fd, self->d.idev, self->parent, &self->viommu));
	ASSERT_EQ(0, vdevice_alloc(self->fd, self->viommu, self->d.idev, VSID_A, &self->vdev));
	ASSERT_EQ(0, veventq_alloc(self->fd, self->viommu, EVQ_DEPTH, &self->veventq,
				   &self->evfd));
	ASSERT_EQ(0, nested_alloc(self->fd, self->d.idev, self->viommu, ste0_s1(CD_A), ste1_s1(),
				  &self->nested));
	ASSERT_EQ(0, replace(self->fd, self->d.stdev, self->nested));
}

FIXTURE_TEARDOWN(smmu)
{
	/* Closing the fds frees every object. */
	if (self->evfd > 0)
		close(self->evfd);
	if (self->fd > 0)
		close(self->fd);
}

/* ---- checks (they take _metadata so the harness macros work) --------------- */

/* A read of one page at @va by @stdev completes and sees bytes @c. */
static void expect_read(struct __test_metadata *_metadata, int fd, uint32_t stdev, uint64_t va,
			uint8_t c)
{
	uint8_t buf[PAGE], want[PAGE];
	uint32_t ev, done;

	memset(buf, 0xee, sizeof(buf));
	memset(want, c, sizeof(want));
	ASSERT_EQ(0, dma(fd, stdev, 0, 0, va, buf, PAGE, &ev, &done));
	EXPECT_EQ(0, ev) TH_LOG("read at VA %#llx: event %#x", (unsigned long long)va, ev);
	EXPECT_EQ(PAGE, done);
	EXPECT_EQ(0, memcmp(buf, want, PAGE))
		TH_LOG("read at VA %#llx: got %#x, want %#x", (unsigned long long)va, buf[0], c);
}

/* A DMA that faults with @event before transferring anything. */
static void expect_fault(struct __test_metadata *_metadata, int fd, uint32_t stdev,
			 uint32_t flags, uint64_t va, uint32_t len, uint32_t event)
{
	uint8_t buf[PAGE] = { 0 };
	uint32_t ev, done;

	ASSERT_EQ(0, dma(fd, stdev, flags, 0, va, buf, len, &ev, &done));
	EXPECT_EQ(event, ev) TH_LOG("DMA at %#llx", (unsigned long long)va);
	EXPECT_EQ(0, done);
}

/* read() from a vEVENTQ fd: bytes or -errno. */
static long evq_read(int evfd, void *buf, size_t len)
{
	long r = read(evfd, buf, len);

	return r < 0 ? -errno : r;
}

/*
 * The next record of @evfd is event @id of vSID @vsid with header sequence
 * @seq.  For translation-class faults (class >= 0) also RnW, S2, CLASS, the
 * input address @iova and, for stage-2 faults, the IPA page @ipa.
 */
static void expect_event(struct __test_metadata *_metadata, int evfd, uint32_t seq,
			 uint32_t id, uint32_t vsid, int klass, bool s2, bool read_,
			 uint64_t iova, uint64_t ipa)
{
	struct evt e;
	uint64_t w0, w1;

	memset(&e, 0, sizeof(e));
	ASSERT_EQ((long)sizeof(e), evq_read(evfd, &e, sizeof(e)));
	EXPECT_EQ(0, e.hdr.flags);
	EXPECT_EQ(seq, e.hdr.sequence);
	w0 = le64toh(e.rec.evt[0]);
	w1 = le64toh(e.rec.evt[1]);
	EXPECT_EQ(id, FIELD_GET(w0, 7, 0));
	EXPECT_EQ(vsid, FIELD_GET(w0, 63, 32)) TH_LOG("the record must carry the vSID");
	EXPECT_EQ(0, w0 & BIT(11)); /* SSV: no SubstreamID in these DMAs */
	if (klass < 0)
		return;
	EXPECT_EQ(read_, !!(w1 & BIT(35))); /* RnW */
	EXPECT_EQ(s2, !!(w1 & BIT(39)));
	EXPECT_EQ(klass, FIELD_GET(w1, 41, 40));
	EXPECT_EQ(iova, le64toh(e.rec.evt[2]));
	if (s2)
		EXPECT_EQ(ipa & GENMASK(51, 12), le64toh(e.rec.evt[3]) & GENMASK(51, 12));
}

static void expect_no_event(struct __test_metadata *_metadata, int evfd)
{
	struct evt e;

	EXPECT_EQ(0, evq_read(evfd, &e, sizeof(e)));
}

#define READ_PAGE(va, c) expect_read(_metadata, self->fd, self->d.stdev, (va), (c))
#define INV(c) ASSERT_EQ(0, invalidate1(self->fd, self->viommu, (c)))
#define G (&self->g)

/* ---- GET_HW_INFO ------------------------------------------------------------ */

static int hw_info(int fd, uint32_t dev, uint32_t flags, uint32_t in_type, void *data,
		   uint32_t *len, uint32_t *out_type)
{
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev, .data_len = *len,
		.data_uptr = (uintptr_t)data, .in_data_type = in_type,
	};
	int ret = ioctl_err(fd, IOMMU_GET_HW_INFO, &cmd);

	*len = cmd.data_len;
	*out_type = cmd.out_data_type;
	return ret;
}

TEST_F(smmu, hw_info)
{
	struct iommu_hw_info_arm_smmuv3 info;
	struct iommu_test_hw_info tinfo;
	struct smmu_dev plain;
	uint32_t len, type;

	len = sizeof(info);
	memset(&info, 0xff, sizeof(info));
	ASSERT_EQ(0, hw_info(self->fd, self->d.idev, 0, 0, &info, &len, &type));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_ARM_SMMUV3, type);
	EXPECT_EQ(40, len);
	EXPECT_EQ(40, sizeof(info));
	EXPECT_EQ(0, info.flags);
	EXPECT_EQ(0, info.__reserved);
	EXPECT_TRUE(info.idr[0] & BIT(1));	       /* S1P */
	EXPECT_TRUE(info.idr[0] & BIT(0));	       /* S2P */
	EXPECT_EQ(2, FIELD_GET(info.idr[0], 3, 2));    /* TTF: AArch64 */
	EXPECT_TRUE(info.idr[0] & BIT(12));	       /* ASID16 */
	EXPECT_TRUE(info.idr[0] & BIT(18));	       /* VMID16 */
	EXPECT_TRUE(info.idr[0] & BIT(19));	       /* CD2L */
	EXPECT_EQ(16, FIELD_GET(info.idr[1], 5, 0));   /* SIDSIZE */
	EXPECT_EQ(8, FIELD_GET(info.idr[1], 10, 6));   /* SSIDSIZE */
	EXPECT_TRUE(info.idr[3] & BIT(10));	       /* RIL */
	EXPECT_TRUE(info.idr[5] & BIT(4));	       /* GRAN4K */
	EXPECT_EQ(0, info.idr[5] & (BIT(5) | BIT(6))); /* no 16K/64K */
	EXPECT_EQ(5, FIELD_GET(info.idr[5], 2, 0));    /* OAS 48 bits */

	/* Asking for the type explicitly. */
	len = sizeof(info);
	EXPECT_EQ(0, hw_info(self->fd, self->d.idev, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
			     IOMMU_HW_INFO_TYPE_ARM_SMMUV3, &info, &len, &type));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_ARM_SMMUV3, type);
	len = sizeof(info);
	EXPECT_EQ(EOPNOTSUPP, hw_info(self->fd, self->d.idev, IOMMU_HW_INFO_FLAG_INPUT_TYPE,
				      IOMMU_HW_INFO_TYPE_INTEL_VTD, &info, &len, &type));

	/* A plain mock device still is the selftest IOMMU. */
	ASSERT_EQ(0, mock_plain(self->fd, self->ioas, &plain));
	len = sizeof(tinfo);
	ASSERT_EQ(0, hw_info(self->fd, plain.idev, 0, 0, &tinfo, &len, &type));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, type);
	EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL, tinfo.test_reg);
}

/* ---- object allocation errnos -------------------------------------------- */

TEST_F(smmu, viommu_alloc_errors)
{
	struct smmu_dev plain;
	uint32_t paging, plain_parent, id;

	ASSERT_EQ(0, mock_plain(self->fd, self->ioas, &plain));
	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, self->d.idev, self->ioas, IOMMU_HWPT_DATA_NONE, NULL,
				0, &paging));
	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_NEST_PARENT, plain.idev, self->ioas,
				IOMMU_HWPT_DATA_NONE, NULL, 0, &plain_parent));

	EXPECT_EQ(EOPNOTSUPP, viommu_alloc_t(self->fd, 1, IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
					     self->d.idev, self->parent, &id));
	EXPECT_EQ(EOPNOTSUPP, viommu_alloc_t(self->fd, 0, IOMMU_VIOMMU_TYPE_DEFAULT, self->d.idev,
					     self->parent, &id));
	EXPECT_EQ(EOPNOTSUPP, viommu_alloc_t(self->fd, 0, IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV,
					     self->d.idev, self->parent, &id));
	EXPECT_EQ(EOPNOTSUPP, viommu_alloc_t(self->fd, 0, 99, self->d.idev, self->parent, &id));
	EXPECT_EQ(ENOENT, viommu_alloc(self->fd, 9999, self->parent, &id));
	/* The selftest IOMMU cannot nest. */
	EXPECT_EQ(EOPNOTSUPP, viommu_alloc(self->fd, plain.idev, plain_parent, &id));
	EXPECT_EQ(ENOENT, viommu_alloc(self->fd, self->d.idev, self->ioas, &id));
	EXPECT_EQ(ENOENT, viommu_alloc(self->fd, self->d.idev, 9999, &id));
	EXPECT_EQ(EINVAL, viommu_alloc(self->fd, self->d.idev, paging, &id));
	EXPECT_EQ(EINVAL, viommu_alloc(self->fd, self->d.idev, plain_parent, &id));

	/* A second vIOMMU on the same parent is fine; the kernel picks its VMID. */
	ASSERT_EQ(0, viommu_alloc(self->fd, self->d.idev, self->parent, &id));
	EXPECT_NE(self->viommu, id);
	EXPECT_EQ(0, destroy(self->fd, id));
}

TEST_F(smmu, vdevice_alloc_errors)
{
	struct smmu_dev plain, d2;
	uint32_t id;

	ASSERT_EQ(0, mock_plain(self->fd, self->ioas, &plain));
	ASSERT_EQ(0, mock_smmuv3(self->fd, self->ioas, &d2));
	EXPECT_NE(self->d.sid, d2.sid);

	EXPECT_EQ(ENOENT, vdevice_alloc(self->fd, 9999, d2.idev, 0x99, &id));
	EXPECT_EQ(ENOENT, vdevice_alloc(self->fd, self->ioas, d2.idev, 0x99, &id));
	EXPECT_EQ(ENOENT, vdevice_alloc(self->fd, self->viommu, 9999, 0x99, &id));
	EXPECT_EQ(EINVAL, vdevice_alloc(self->fd, self->viommu, plain.idev, 0x99, &id));
	EXPECT_EQ(EINVAL, vdevice_alloc(self->fd, self->viommu, d2.idev, 1ULL << 32, &id));
	EXPECT_EQ(EINVAL, vdevice_alloc(self->fd, self->viommu, d2.idev, ~0ULL, &id));
	EXPECT_EQ(EEXIST, vdevice_alloc(self->fd, self->viommu, d2.idev, VSID_A, &id));
	EXPECT_EQ(EEXIST, vdevice_alloc(self->fd, self->viommu, self->d.idev, 0x99, &id));
	/* The largest vSID is fine. */
	ASSERT_EQ(0, vdevice_alloc(self->fd, self->viommu, d2.idev, 0xffffffffULL, &id));
	EXPECT_EQ(EEXIST, vdevice_alloc(self->fd, self->viommu, d2.idev, 0x99, &id));
	EXPECT_EQ(0, destroy(self->fd, id));
	EXPECT_EQ(0, vdevice_alloc(self->fd, self->viommu, d2.idev, 0x99, &id));
}

TEST_F(smmu, nested_alloc_errors)
{
	struct iommu_hwpt_arm_smmuv3 ste = { .ste = { htole64(ste0_s1(CD_A)),
						     htole64(ste1_s1()) } };
	uint8_t big[24] = { 0 };
	const uint32_t bad_flags[] = { IOMMU_HWPT_ALLOC_NEST_PARENT,
				       IOMMU_HWPT_ALLOC_DIRTY_TRACKING, IOMMU_HWPT_ALLOC_PASID,
				       1U << 4, 1U << 31 };
	const unsigned int bad_cfg[] = { 1, 2, 3, 6, 7 };
	struct smmu_dev plain;
	uint32_t id;
	size_t i;
	int b;

	ASSERT_EQ(0, mock_plain(self->fd, self->ioas, &plain));
	memcpy(big, &ste, sizeof(ste));

	EXPECT_EQ(EINVAL, hwpt_alloc(self->fd, 0, self->d.idev, self->viommu,
				     IOMMU_HWPT_DATA_NONE, &ste, sizeof(ste), &id));
	EXPECT_EQ(EINVAL, hwpt_alloc(self->fd, 0, self->d.idev, self->viommu,
				     IOMMU_HWPT_DATA_VTD_S1, &ste, sizeof(ste), &id));
	EXPECT_EQ(EINVAL, hwpt_alloc(self->fd, 0, self->d.idev, self->viommu,
				     IOMMU_HWPT_DATA_SELFTEST, &ste, sizeof(ste), &id));
	EXPECT_EQ(EINVAL, hwpt_alloc(self->fd, 0, self->d.idev, self->viommu,
				     IOMMU_HWPT_DATA_ARM_SMMUV3, &ste, 8, &id));
	EXPECT_EQ(EINVAL, hwpt_alloc(self->fd, 0, self->d.idev, self->viommu,
				     IOMMU_HWPT_DATA_ARM_SMMUV3, big, sizeof(big), &id));
	EXPECT_EQ(EINVAL, hwpt_alloc(self->fd, 0, self->d.idev, self->viommu,
				     IOMMU_HWPT_DATA_ARM_SMMUV3, &ste, 0, &id));
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		uint32_t fl = bad_flags[i];

		EXPECT_EQ(EOPNOTSUPP, hwpt_alloc(self->fd, fl, self->d.idev, self->viommu,
						 IOMMU_HWPT_DATA_ARM_SMMUV3, &ste, sizeof(ste),
						 &id))
			TH_LOG("flags %#x", fl);
	}
	EXPECT_EQ(EINVAL, nested_alloc(self->fd, plain.idev, self->viommu, ste0_s1(CD_A),
				       ste1_s1(), &id));

	/* Every bit outside the nesting-allowed fields, one at a time. */
	for (b = 52; b <= 58; b++)
		EXPECT_EQ(EIO, nested_alloc(self->fd, self->d.idev, self->viommu,
					    ste0_s1(CD_A) | BIT(b), ste1_s1(), &id))
			TH_LOG("STE word 0 bit %d", b);
	for (b = 8; b <= 63; b++) {
		if (b == 27 || b == 28 || b == 29) /* S1STALLD, EATS */
			continue;
		EXPECT_EQ(EIO, nested_alloc(self->fd, self->d.idev, self->viommu, ste0_s1(CD_A),
					    ste1_s1() | BIT(b), &id))
			TH_LOG("STE word 1 bit %d", b);
	}
	for (i = 0; i < sizeof(bad_cfg) / sizeof(bad_cfg[0]); i++) {
		unsigned int cfg = bad_cfg[i];

		EXPECT_EQ(EIO, nested_alloc(self->fd, self->d.idev, self->viommu,
					    STE0_V | STE0_CFG(cfg) | STE0_CTXPTR(CD_A), 0, &id))
			TH_LOG("Config %u", cfg);
	}
	EXPECT_EQ(EIO, nested_alloc(self->fd, self->d.idev, self->viommu, ste0_s1(CD_A),
				    ste1_s1() | STE1_EATS(2), &id));
	EXPECT_EQ(EIO, nested_alloc(self->fd, self->d.idev, self->viommu, ste0_s1(CD_A),
				    ste1_s1() | STE1_EATS(3), &id));

	/* The allowed fields, all at once, are fine; so is V=0. */
	EXPECT_EQ(0, nested_alloc(self->fd, self->d.idev, self->viommu,
				  ste0_s1(CD_A) | STE0_S1FMT(1) | STE0_CDMAX(8),
				  ste1_s1() | STE1_S1DSS(1) | STE1_S1STALLD | STE1_EATS(1), &id));
	EXPECT_EQ(0, nested_alloc(self->fd, self->d.idev, self->viommu, 0, 0, &id));
}

TEST_F(smmu, attach_errors)
{
	struct smmu_dev d2, plain;
	uint32_t s1, abort_, bypass;

	ASSERT_EQ(0, mock_smmuv3(self->fd, self->ioas, &d2));
	ASSERT_EQ(0, mock_plain(self->fd, self->ioas, &plain));

	/* Stage-1 translation needs the vSID, so a vDEVICE. */
	ASSERT_EQ(0, nested_alloc(self->fd, d2.idev, self->viommu, ste0_s1(CD_A), ste1_s1(), &s1));
	EXPECT_EQ(ENOENT, replace(self->fd, d2.stdev, s1));
	/* Abort and bypass STEs do not. */
	ASSERT_EQ(0, nested_alloc(self->fd, d2.idev, self->viommu,
				  STE0_V | STE0_CFG(CFG_ABORT), 0, &abort_));
	ASSERT_EQ(0, nested_alloc(self->fd, d2.idev, self->viommu,
				  STE0_V | STE0_CFG(CFG_BYPASS), 0, &bypass));
	EXPECT_EQ(0, replace(self->fd, d2.stdev, abort_));
	EXPECT_EQ(0, replace(self->fd, d2.stdev, bypass));
	/* With the vDEVICE, S1 attaches. */
	ASSERT_EQ(0, vdevice_alloc(self->fd, self->viommu, d2.idev, 0x77, NULL));
	EXPECT_EQ(0, replace(self->fd, d2.stdev, s1));
	/* The selftest IOMMU's device cannot use the SMMU's nested HWPT. */
	EXPECT_EQ(EINVAL, replace(self->fd, plain.stdev, self->nested));
	EXPECT_EQ(EINVAL, replace(self->fd, plain.stdev, bypass));
}

TEST_F(smmu, invalidate_errors)
{
	struct smmu_cmd c = cmd_nh_all();
	struct smmu_dev plain;
	uint32_t num, paging;

	ASSERT_EQ(0, mock_plain(self->fd, self->ioas, &plain));
	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, self->d.idev, self->ioas, IOMMU_HWPT_DATA_NONE, NULL,
				0, &paging));

	num = 1;
	EXPECT_EQ(EINVAL, invalidate_raw(self->fd, self->viommu, IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
					 &c, sizeof(c), &num));
	num = 1;
	EXPECT_EQ(EINVAL, invalidate_raw(self->fd, self->viommu,
					 IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, &c, sizeof(c),
					 &num));
	num = 1;
	EXPECT_EQ(EINVAL, invalidate_raw(self->fd, self->viommu,
					 IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, &c, 0, &num));
	/* entry_num 0 probes the data type. */
	num = 0;
	EXPECT_EQ(0, invalidate_raw(self->fd, self->viommu,
				    IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, &c, sizeof(c), &num));
	EXPECT_EQ(0, num);
	/* The commands go to the vIOMMU, not to a nested HWPT. */
	num = 1;
	EXPECT_EQ(EOPNOTSUPP, invalidate_raw(self->fd, self->nested,
					     IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, &c,
					     sizeof(c), &num));
	/* A paging HWPT is no invalidation target: ENOENT, as 6.12's lookup. */
	num = 1;
	EXPECT_EQ(ENOENT, invalidate_raw(self->fd, paging, IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
					 &c, sizeof(c), &num));
	num = 1;
	EXPECT_EQ(ENOENT, invalidate_raw(self->fd, self->parent,
					 IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, &c, sizeof(c),
					 &num));
	/* A good one. */
	num = 1;
	EXPECT_EQ(0, invalidate_raw(self->fd, self->viommu, IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
				    &c, sizeof(c), &num));
	EXPECT_EQ(1, num);
}

TEST_F(smmu, veventq_alloc_errors)
{
	uint32_t v2, id;

	ASSERT_EQ(0, viommu_alloc(self->fd, self->d.idev, self->parent, &v2));
	EXPECT_EQ(EOPNOTSUPP, veventq_alloc_t(self->fd, 1, v2, IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, 8,
					      &id, NULL));
	EXPECT_EQ(EOPNOTSUPP, veventq_alloc_t(self->fd, 0, v2, IOMMU_VEVENTQ_TYPE_DEFAULT, 8, &id,
					      NULL));
	EXPECT_EQ(EINVAL, veventq_alloc(self->fd, v2, 0, &id, NULL));
	EXPECT_EQ(ENOENT, veventq_alloc(self->fd, 9999, 8, &id, NULL));
	EXPECT_EQ(EEXIST, veventq_alloc(self->fd, self->viommu, 8, &id, NULL));
	ASSERT_EQ(0, veventq_alloc(self->fd, v2, 8, &id, NULL));
	EXPECT_EQ(EEXIST, veventq_alloc(self->fd, v2, 8, &id, NULL));
}

/* The test ops' own errnos (uapi/iommufd_test.h). */
TEST_F(smmu, test_op_errors)
{
	static uint8_t big[(1 << 20) + PAGE];
	struct smmu_dev plain, d;
	uint8_t buf[8];
	uint32_t ev, done;

	EXPECT_EQ(EINVAL, mock_smmuv3_flags(self->fd, self->ioas, 1, &d));
	EXPECT_EQ(EINVAL, mock_smmuv3_flags(self->fd, self->ioas, MOCK_FLAGS_DEVICE_PASID, &d));
	ASSERT_EQ(0, mock_plain(self->fd, self->ioas, &plain));

	EXPECT_EQ(EINVAL, dma(self->fd, self->d.stdev, 1U << 2, 0, VA(0), buf, 8, &ev, &done));
	EXPECT_EQ(EINVAL, dma(self->fd, self->d.stdev, 0, 0, VA(0), buf, 0, &ev, &done));
	/* A SubstreamID without SMMU_DMA_SSID. */
	EXPECT_EQ(EINVAL, dma(self->fd, self->d.stdev, 0, 5, VA(0), buf, 8, &ev, &done));
	/* An IOVA range that wraps past 2^64. */
	EXPECT_EQ(EOVERFLOW, dma(self->fd, self->d.stdev, 0, 0, ~0ULL - 3, buf, 8, &ev, &done));
	EXPECT_EQ(EINVAL, dma(self->fd, self->d.stdev, 0, 0, VA(0), big, sizeof(big), &ev,
			      &done));
	EXPECT_EQ(EINVAL, dma(self->fd, plain.stdev, 0, 0, GUEST_IPA, buf, 8, &ev, &done));
	EXPECT_EQ(ENOENT, dma(self->fd, 9999, 0, 0, VA(0), buf, 8, &ev, &done));
	EXPECT_EQ(EFAULT, dma(self->fd, self->d.stdev, 0, 0, VA(0), NULL, 8, &ev, &done));
	/* 1 MiB exactly is allowed: VA(0) is mapped, VA(1) is not. */
	ASSERT_EQ(0, dma(self->fd, self->d.stdev, 0, 0, VA(0), big, 1 << 20, &ev, &done));
	EXPECT_EQ(EVT_F_TRANSLATION, ev);
	EXPECT_EQ(PAGE, done);
}

/* ---- (1) end to end ---------------------------------------------------- */

TEST_F(smmu, dma_end_to_end)
{
	uint8_t buf[3 * PAGE], back[3 * PAGE];
	uint32_t ev, done;
	size_t i;

	/* Three pages of VA mapped out of order, to see the walk matters. */
	tset_map(G, TS(0), VA(1), DATA(7), 0);
	tset_map(G, TS(0), VA(2), DATA(3), 0);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	memset(gp(G, DATA(0)), 0, 8 * PAGE);

	/* Write at an offset inside VA(0) crossing into VA(1) and VA(2). */
	ASSERT_EQ(0, dma(self->fd, self->d.stdev, SMMU_DMA_WRITE, 0, VA(0) + 0x800, buf,
			 2 * PAGE + 0x100, &ev, &done));
	EXPECT_EQ(0, ev);
	EXPECT_EQ(2 * PAGE + 0x100, done);
	/* The bytes land exactly at the IPAs the guest tables give. */
	EXPECT_EQ(0, memcmp((uint8_t *)gp(G, DATA(0)) + 0x800, buf, 0x800));
	EXPECT_EQ(0, memcmp(gp(G, DATA(7)), buf + 0x800, PAGE));
	EXPECT_EQ(0, memcmp(gp(G, DATA(3)), buf + 0x800 + PAGE, 0x900));
	/* ...and nowhere else. */
	for (i = 0; i < 0x800; i++)
		ASSERT_EQ(0, ((uint8_t *)gp(G, DATA(0)))[i]);
	for (i = 0x900; i < PAGE; i++)
		ASSERT_EQ(0, ((uint8_t *)gp(G, DATA(3)))[i]);
	for (i = 0; i < PAGE; i++)
		ASSERT_EQ(0, ((uint8_t *)gp(G, DATA(1)))[i]);

	/* Read back through the same translation. */
	memset(back, 0, sizeof(back));
	ASSERT_EQ(0, dma(self->fd, self->d.stdev, 0, 0, VA(0) + 0x800, back, 2 * PAGE + 0x100,
			 &ev, &done));
	EXPECT_EQ(0, ev);
	EXPECT_EQ(2 * PAGE + 0x100, done);
	EXPECT_EQ(0, memcmp(back, buf, 2 * PAGE + 0x100));

	/* What the CPU writes into guest memory, the device reads. */
	fill_page(G, DATA(7), 0x5c);
	READ_PAGE(VA(1), 0x5c);
	expect_no_event(_metadata, self->evfd);
}

/* Config=bypass: the IOVA is an IPA; Config=abort: silent abort. */
TEST_F(smmu, dma_bypass_abort)
{
	uint8_t buf[64];
	uint32_t bypass, abort_, ev, done;

	memset(buf, 0x3c, sizeof(buf));
	ASSERT_EQ(0, nested_alloc(self->fd, self->d.idev, self->viommu,
				  STE0_V | STE0_CFG(CFG_BYPASS), 0, &bypass));
	ASSERT_EQ(0, nested_alloc(self->fd, self->d.idev, self->viommu,
				  STE0_V | STE0_CFG(CFG_ABORT), 0, &abort_));

	ASSERT_EQ(0, replace(self->fd, self->d.stdev, bypass));
	ASSERT_EQ(0, dma(self->fd, self->d.stdev, SMMU_DMA_WRITE, 0, DATA(5) + 0x40, buf,
			 sizeof(buf), &ev, &done));
	EXPECT_EQ(0, ev);
	EXPECT_EQ(sizeof(buf), done);
	EXPECT_EQ(0, memcmp((uint8_t *)gp(G, DATA(5)) + 0x40, buf, sizeof(buf)));
	/* Outside stage 2: a stage-2 fault, recorded with the vSID. */
	expect_fault(_metadata, self->fd, self->d.stdev, 0, UNMAPPED_IPA, 64, EVT_F_TRANSLATION);
	expect_event(_metadata, self->evfd, 0, EVT_F_TRANSLATION, VSID_A, CLASS_IN, true, true,
		     UNMAPPED_IPA, UNMAPPED_IPA);

	ASSERT_EQ(0, replace(self->fd, self->d.stdev, abort_));
	expect_fault(_metadata, self->fd, self->d.stdev, SMMU_DMA_WRITE, DATA(5), 64,
		     SMMU_DMA_ABORTED);
	expect_no_event(_metadata, self->evfd);
}

/* ---- (2) TLB: stale until the matching TLBI ------------------------------ */

TEST_F(smmu, tlbi_nh_va_asid_vaa_all)
{
	int i;

	for (i = 0; i < 8; i++)
		fill_page(G, DATA(i), 0xa0 + i);
	READ_PAGE(VA(0), 0xa0);

	/* New leaf, no TLBI: the TLB still has the old page. */
	tset_map(G, TS(0), VA(0), DATA(1), 0);
	READ_PAGE(VA(0), 0xa0);
	/* TLBIs that do not match leave it. */
	INV(cmd_nh_va(ASID + 1, VA(0)));
	INV(cmd_nh_va(ASID, VA(1)));
	INV(cmd_nh_asid(ASID + 1));
	INV(cmd_nh_vaa(VA(1)));
	READ_PAGE(VA(0), 0xa0);
	INV(cmd_nh_va(ASID, VA(0)));
	READ_PAGE(VA(0), 0xa1);

	tset_map(G, TS(0), VA(0), DATA(2), 0);
	READ_PAGE(VA(0), 0xa1);
	INV(cmd_nh_asid(ASID));
	READ_PAGE(VA(0), 0xa2);

	tset_map(G, TS(0), VA(0), DATA(3), 0);
	READ_PAGE(VA(0), 0xa2);
	INV(cmd_nh_vaa(VA(0)));
	READ_PAGE(VA(0), 0xa3);

	tset_map(G, TS(0), VA(0), DATA(4), 0);
	READ_PAGE(VA(0), 0xa3);
	INV(cmd_nh_all());
	READ_PAGE(VA(0), 0xa4);

	tset_map(G, TS(0), VA(0), DATA(5), 0);
	READ_PAGE(VA(0), 0xa4);
	INV(cmd_nsnh_all());
	READ_PAGE(VA(0), 0xa5);

	/* Unmapping is cached the same way: the old page until the TLBI. */
	tset_pte(G, TS(0), VA(0), 0);
	READ_PAGE(VA(0), 0xa5);
	INV(cmd_nh_va(ASID, VA(0)));
	expect_fault(_metadata, self->fd, self->d.stdev, 0, VA(0), 64, EVT_F_TRANSLATION);
}

TEST_F(smmu, tlbi_range)
{
	int i;

	/* VA(1..5) -> DATA(1..5), then all moved to DATA(11..15). */
	for (i = 1; i <= 5; i++) {
		fill_page(G, DATA(i), 0xb0 + i);
		fill_page(G, DATA(10 + i), 0xc0 + i);
		tset_map(G, TS(0), VA(i), DATA(i), 0);
		READ_PAGE(VA(i), 0xb0 + i);
		tset_map(G, TS(0), VA(i), DATA(10 + i), 0);
	}
	/* NUM=3 SCALE=0 TTL=3 (level 3): VA(1)..VA(4), not VA(5). */
	INV(cmd_nh_va_range(ASID, VA(1), 3, 0, 3));
	for (i = 1; i <= 4; i++)
		READ_PAGE(VA(i), 0xc0 + i);
	READ_PAGE(VA(5), 0xb5);

	/* NUM=0 SCALE=2: four pages again, VA(4)..VA(7), now reaching VA(5). */
	INV(cmd_nh_va_range(ASID, VA(4), 0, 2, 0));
	READ_PAGE(VA(5), 0xc5);

	/* A range of another ASID does nothing. */
	tset_map(G, TS(0), VA(1), DATA(1), 0);
	INV(cmd_nh_va_range(ASID + 1, VA(0), 7, 0, 0));
	READ_PAGE(VA(1), 0xc1);
	INV(cmd_nh_va_range(ASID, VA(0), 1, 0, 0));
	READ_PAGE(VA(1), 0xb1);
}

/* A global leaf (nG=0) matches every ASID: NH_ASID keeps it, NH_VA drops it. */
TEST_F(smmu, tlbi_global_pte)
{
	fill_page(G, DATA(8), 0xd8);
	fill_page(G, DATA(9), 0xd9);
	tset_map(G, TS(0), VA(8), DATA(8), P_GLOBAL);
	READ_PAGE(VA(8), 0xd8);
	tset_map(G, TS(0), VA(8), DATA(9), P_GLOBAL);
	INV(cmd_nh_asid(ASID));
	READ_PAGE(VA(8), 0xd8);
	INV(cmd_nh_va(ASID, VA(8)));
	READ_PAGE(VA(8), 0xd9);
}

/* ---- (3) CD cache: stale until CFGI_CD / CFGI_CD_ALL --------------------- */

TEST_F(smmu, cfgi_cd)
{
	fill_page(G, DATA(0), 0xe0);
	fill_page(G, DATA(1), 0xe1);
	/* A second table set maps VA(0) elsewhere. */
	tset_build(G, TS(1), VA0);
	tset_map(G, TS(1), VA(0), DATA(1), 0);
	READ_PAGE(VA(0), 0xe0);

	/*
	 * New ASID and TTB0: a new ASID misses the TLB, so what is read shows
	 * which CD the SMMU uses.
	 */
	cd_write(G, CD_A, ASID + 1, TS(1));
	READ_PAGE(VA(0), 0xe0);
	INV(cmd_cfgi_cd(VSID_A, 1)); /* another SubstreamID */
	READ_PAGE(VA(0), 0xe0);
	INV(cmd_cfgi_cd(VSID_A, 0));
	READ_PAGE(VA(0), 0xe1);

	/* Back to TS(0) under a third ASID, with CFGI_CD_ALL. */
	cd_write(G, CD_A, ASID + 2, TS(0));
	READ_PAGE(VA(0), 0xe1);
	INV(cmd_cfgi_cd_all(VSID_A));
	READ_PAGE(VA(0), 0xe0);
}

/* ---- (4) faults and the vEVENTQ ------------------------------------------ */

TEST_F(smmu, fault_translation)
{
	uint8_t buf[2 * PAGE];
	uint32_t ev, done;

	/* Unmapped VA, read, at an odd offset: the exact input address. */
	expect_fault(_metadata, self->fd, self->d.stdev, 0, VA(1) + 0x88, 16, EVT_F_TRANSLATION);
	expect_event(_metadata, self->evfd, 0, EVT_F_TRANSLATION, VSID_A, CLASS_IN, false, true,
		     VA(1) + 0x88, 0);
	EXPECT_NE(VSID_A, self->d.sid) TH_LOG("pick another vSID: it equals the physical SID");

	/* A write crossing from a mapped page into an unmapped one. */
	memset(buf, 0x11, sizeof(buf));
	ASSERT_EQ(0, dma(self->fd, self->d.stdev, SMMU_DMA_WRITE, 0, VA(0), buf, 2 * PAGE, &ev,
			 &done));
	EXPECT_EQ(EVT_F_TRANSLATION, ev);
	EXPECT_EQ(PAGE, done);
	EXPECT_EQ(0, memcmp(gp(G, DATA(0)), buf, PAGE));
	expect_event(_metadata, self->evfd, 1, EVT_F_TRANSLATION, VSID_A, CLASS_IN, false, false,
		     VA(1), 0);
	expect_no_event(_metadata, self->evfd);

	/* A missing intermediate level faults the same way. */
	expect_fault(_metadata, self->fd, self->d.stdev, 0, VA0 + (1ULL << 30), 8,
		     EVT_F_TRANSLATION);
	expect_event(_metadata, self->evfd, 2, EVT_F_TRANSLATION, VSID_A, CLASS_IN, false, true,
		     VA0 + (1ULL << 30), 0);
}

TEST_F(smmu, fault_permission_access)
{
	tset_map(G, TS(0), VA(1), DATA(1), P_RO);
	tset_map(G, TS(0), VA(2), DATA(2), P_NO_AF);
	tset_map(G, TS(0), VA(3), DATA(3), P_PRIV);
	fill_page(G, DATA(1), 0x21);

	/* Read-only: reads work, writes fault with F_PERMISSION. */
	READ_PAGE(VA(1), 0x21);
	expect_fault(_metadata, self->fd, self->d.stdev, SMMU_DMA_WRITE, VA(1) + 8, 8,
		     EVT_F_PERMISSION);
	expect_event(_metadata, self->evfd, 0, EVT_F_PERMISSION, VSID_A, CLASS_IN, false, false,
		     VA(1) + 8, 0);
	EXPECT_EQ(0x21, ((uint8_t *)gp(G, DATA(1)))[8]);

	/* AF=0 with hardware AF update off (HA=0): F_ACCESS. */
	expect_fault(_metadata, self->fd, self->d.stdev, 0, VA(2), 8, EVT_F_ACCESS);
	expect_event(_metadata, self->evfd, 1, EVT_F_ACCESS, VSID_A, CLASS_IN, false, true, VA(2),
		     0);

	/* AP[1]=0: privileged only; the device's access is unprivileged. */
	expect_fault(_metadata, self->fd, self->d.stdev, 0, VA(3), 8, EVT_F_PERMISSION);
	expect_event(_metadata, self->evfd, 2, EVT_F_PERMISSION, VSID_A, CLASS_IN, false, true,
		     VA(3), 0);
}

/* Stage-1 faults are recorded only when CD.R=1; the DMA still reports them. */
TEST_F(smmu, fault_record_disabled)
{
	cd_write_raw(G, CD_A, cd0(ASID) & ~CD0_R, TS(0));
	INV(cmd_cfgi_cd(VSID_A, 0));
	READ_PAGE(VA(0), 0);
	expect_fault(_metadata, self->fd, self->d.stdev, 0, VA(1), 8, EVT_F_TRANSLATION);
	expect_no_event(_metadata, self->evfd);
}

TEST_F(smmu, fault_bad_cd)
{
	const uint64_t bad[] = {
		cd0(ASID) & ~CD0_V,
		cd0(ASID) & ~CD0_AA64,
		cd0(ASID) | CD0_HD,
		cd0(ASID) | CD0_HA,
	};
	uint32_t seq = 0;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cd_write_raw(G, CD_A, bad[i], TS(0));
		INV(cmd_cfgi_cd(VSID_A, 0));
		expect_fault(_metadata, self->fd, self->d.stdev, 0, VA(0), 8, EVT_C_BAD_CD);
		expect_event(_metadata, self->evfd, seq++, EVT_C_BAD_CD, VSID_A, NO_CLASS, false,
			     true, 0, 0);
	}
	/* Fixed again, it works again. */
	cd_write(G, CD_A, ASID, TS(0));
	INV(cmd_cfgi_cd_all(VSID_A));
	READ_PAGE(VA(0), 0);
}

/* A SubstreamID beyond S1CDMax (0: one CD, no substreams). */
TEST_F(smmu, fault_bad_substreamid)
{
	uint8_t buf[8];
	uint32_t ev, done;

	ASSERT_EQ(0, dma(self->fd, self->d.stdev, SMMU_DMA_SSID, 1, VA(0), buf, 8, &ev, &done));
	EXPECT_EQ(EVT_C_BAD_SUBSTREAMID, ev);
	EXPECT_EQ(0, done);
	{
		struct evt e;

		ASSERT_EQ((long)sizeof(e), evq_read(self->evfd, &e, sizeof(e)));
		EXPECT_EQ(EVT_C_BAD_SUBSTREAMID, le64toh(e.rec.evt[0]) & 0xff);
		EXPECT_EQ(VSID_A, le64toh(e.rec.evt[0]) >> 32);
		EXPECT_TRUE(le64toh(e.rec.evt[0]) & BIT(11)); /* SSV */
		EXPECT_EQ(1, FIELD_GET(le64toh(e.rec.evt[0]), 31, 12));
	}
}

/* STE V=0: accepted at HWPT_ALLOC, every DMA reports C_BAD_STE. */
TEST_F(smmu, fault_bad_ste)
{
	uint32_t invalid;

	ASSERT_EQ(0, nested_alloc(self->fd, self->d.idev, self->viommu, 0, 0, &invalid));
	ASSERT_EQ(0, replace(self->fd, self->d.stdev, invalid));
	expect_fault(_metadata, self->fd, self->d.stdev, 0, VA(0), 8, EVT_C_BAD_STE);
	expect_event(_metadata, self->evfd, 0, EVT_C_BAD_STE, VSID_A, NO_CLASS, false, true, 0, 0);
	/* Back on the S1 STE, translation resumes. */
	ASSERT_EQ(0, replace(self->fd, self->d.stdev, self->nested));
	READ_PAGE(VA(0), 0);
}

/* Stage-2 faults: the guest pointed a table, a leaf or the CD outside its RAM. */
TEST_F(smmu, fault_stage2)
{
	/* L2 entry of VA(0) -> an L3 table at an IPA stage 2 does not map. */
	gw(G, TS(0) + 2 * PAGE + idx(VA0, 2) * 8, UNMAPPED_IPA | PTE_TYPE_TABLE);
	expect_fault(_metadata, self->fd, self->d.stdev, 0, VA(0), 8, EVT_F_TRANSLATION);
	expect_event(_metadata, self->evfd, 0, EVT_F_TRANSLATION, VSID_A, CLASS_TT, true, true,
		     VA(0), UNMAPPED_IPA);

	/* Tables back in place; a leaf whose output is outside stage 2. */
	gw(G, TS(0) + 2 * PAGE + idx(VA0, 2) * 8, (TS(0) + 3 * PAGE) | PTE_TYPE_TABLE);
	INV(cmd_nh_all());
	tset_map(G, TS(0), VA(1), UNMAPPED_IPA + 2 * PAGE, 0);
	expect_fault(_metadata, self->fd, self->d.stdev, SMMU_DMA_WRITE, VA(1) + 0x10, 8,
		     EVT_F_TRANSLATION);
	expect_event(_metadata, self->evfd, 1, EVT_F_TRANSLATION, VSID_A, CLASS_IN, true, false,
		     VA(1) + 0x10, UNMAPPED_IPA + 2 * PAGE);
	READ_PAGE(VA(0), 0);

	/* The CD itself outside stage 2. */
	{
		uint32_t hwpt;

		ASSERT_EQ(0, nested_alloc(self->fd, self->d.idev, self->viommu,
					  ste0_s1(UNMAPPED_IPA), ste1_s1(), &hwpt));
		ASSERT_EQ(0, replace(self->fd, self->d.stdev, hwpt));
		expect_fault(_metadata, self->fd, self->d.stdev, 0, VA(0), 8, EVT_F_TRANSLATION);
		expect_event(_metadata, self->evfd, 2, EVT_F_TRANSLATION, VSID_A, CLASS_CD, true,
			     true, VA(0), UNMAPPED_IPA);
	}
}

/* read(): whole records only, 0 when none fits or the queue is empty. */
TEST_F(smmu, veventq_read)
{
	uint8_t raw[4 * sizeof(struct evt)];
	struct evt *e = (struct evt *)raw;
	struct pollfd pfd = { .fd = self->evfd, .events = POLLIN };
	int i;

	/* Empty: nothing to read, and poll() says so. */
	EXPECT_EQ(0, evq_read(self->evfd, raw, sizeof(raw)));
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	for (i = 0; i < 3; i++)
		expect_fault(_metadata, self->fd, self->d.stdev, 0, VA(1 + i), 8,
			     EVT_F_TRANSLATION);
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_TRUE(pfd.revents & POLLIN);
	/* Too small for one record (a header alone, or one byte short). */
	EXPECT_EQ(0, evq_read(self->evfd, raw, sizeof(struct iommufd_vevent_header)));
	EXPECT_EQ(0, evq_read(self->evfd, raw, sizeof(struct evt) - 1));
	/* Room for two and a half: two come back, in order. */
	EXPECT_EQ((long)(2 * sizeof(struct evt)),
		  evq_read(self->evfd, raw, 2 * sizeof(struct evt) + sizeof(struct evt) / 2));
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(i, e[i].hdr.sequence);
		EXPECT_EQ(VA(1 + i), le64toh(e[i].rec.evt[2]));
	}
	EXPECT_EQ((long)sizeof(struct evt), evq_read(self->evfd, raw, sizeof(raw)));
	EXPECT_EQ(2, e[0].hdr.sequence);
	EXPECT_EQ(VA(3), le64toh(e[0].rec.evt[2]));
	EXPECT_EQ(0, evq_read(self->evfd, raw, sizeof(raw)));
	EXPECT_EQ(0, poll(&pfd, 1, 0));
}

/*
 * Depth 1 and three faults: the first record, then one LOST_EVENTS header
 * with nothing after it.  Sequence numbers count every event, lost or not
 * (upstream iommufd: the lost header takes the last lost event's number).
 */
TEST_F(smmu, veventq_lost_events)
{
	uint8_t raw[4 * sizeof(struct evt)];
	struct iommufd_vevent_header *h;
	struct evt *e = (struct evt *)raw;
	uint32_t id;
	int evfd, i;

	close(self->evfd);
	self->evfd = -1;
	ASSERT_EQ(0, destroy(self->fd, self->veventq));
	ASSERT_EQ(0, veventq_alloc(self->fd, self->viommu, 1, &id, &evfd));

	for (i = 0; i < 3; i++)
		expect_fault(_metadata, self->fd, self->d.stdev, 0, VA(1 + i), 8,
			     EVT_F_TRANSLATION);
	ASSERT_EQ((long)(sizeof(struct evt) + sizeof(*h)), evq_read(evfd, raw, sizeof(raw)));
	EXPECT_EQ(0, e[0].hdr.flags);
	EXPECT_EQ(0, e[0].hdr.sequence);
	EXPECT_EQ(VA(1), le64toh(e[0].rec.evt[2]));
	h = (struct iommufd_vevent_header *)(raw + sizeof(struct evt));
	EXPECT_EQ(IOMMU_VEVENTQ_FLAG_LOST_EVENTS, h->flags);
	EXPECT_EQ(2, h->sequence);
	EXPECT_EQ(0, evq_read(evfd, raw, sizeof(raw)));

	/* The queue works again, numbering on. */
	expect_fault(_metadata, self->fd, self->d.stdev, 0, VA(4), 8, EVT_F_TRANSLATION);
	expect_event(_metadata, evfd, 3, EVT_F_TRANSLATION, VSID_A, CLASS_IN, false, true, VA(4),
		     0);
	close(evfd);
}

/* ---- (5) two vIOMMUs on one nest parent ---------------------------------- */

/*
 * Guest B: its own device, vIOMMU and vDEVICE, the same ASID and VA as
 * guest A but its own CD table and tables in another part of the shared IPA
 * space.  The TLB is tagged with the VMID the kernel picked for each
 * vIOMMU, so nothing A issues, whatever VMID it writes in the command, may
 * touch B's entries.
 */
TEST_F(smmu, isolation)
{
	const uint32_t n = 65536;
	struct smmu_cmd *cmds = calloc(n, sizeof(*cmds));
	struct smmu_cmd bad[3];
	struct smmu_dev b;
	uint32_t vb, nb, done, i, k;

	ASSERT_NE(NULL, cmds);
	ASSERT_EQ(0, mock_smmuv3(self->fd, self->ioas, &b));
	ASSERT_EQ(0, viommu_alloc(self->fd, b.idev, self->parent, &vb));
	ASSERT_EQ(0, vdevice_alloc(self->fd, vb, b.idev, VSID_B, NULL));
	cd_write(G, CD_B, ASID, tset_build(G, TS(2), VA0));
	tset_map(G, TS(2), VA(0), DATA(20), 0);
	ASSERT_EQ(0, nested_alloc(self->fd, b.idev, vb, ste0_s1(CD_B), ste1_s1(), &nb));
	ASSERT_EQ(0, replace(self->fd, b.stdev, nb));

	for (i = 0; i < 4; i++) {
		fill_page(G, DATA(i), 0x10 + i);
		fill_page(G, DATA(20 + i), 0x20 + i);
	}
	READ_PAGE(VA(0), 0x10);
	expect_read(_metadata, self->fd, b.stdev, VA(0), 0x20);
	/* B moves its page and issues nothing: B must stay stale throughout. */
	tset_map(G, TS(2), VA(0), DATA(21), 0);

	for (k = 1; k <= 3; k++) {
		tset_map(G, TS(0), VA(0), DATA(k), 0);
		READ_PAGE(VA(0), 0x10 + k - 1);
		for (i = 0; i < n; i++) {
			struct smmu_cmd c = k == 1 ? cmd_nh_all() :
					    k == 2 ? cmd_nh_asid(ASID) :
						     cmd_nh_va(ASID, VA(0));

			cmds[i] = with_vmid(c, i);
		}
		ASSERT_EQ(0, invalidate(self->fd, self->viommu, cmds, n, &done));
		EXPECT_EQ(n, done);
		READ_PAGE(VA(0), 0x10 + k);
		expect_read(_metadata, self->fd, b.stdev, VA(0), 0x20);
	}
	/* A's CD commands with B's vSID: unknown on A. */
	bad[0] = cmd_nh_all();
	bad[1] = cmd_cfgi_cd(VSID_A, 0);
	bad[2] = cmd_cfgi_cd(VSID_B, 0);
	EXPECT_EQ(EIO, invalidate(self->fd, self->viommu, bad, 3, &done));
	EXPECT_EQ(2, done);
	bad[2] = cmd_cfgi_cd_all(VSID_B);
	EXPECT_EQ(EIO, invalidate(self->fd, self->viommu, bad, 3, &done));
	EXPECT_EQ(2, done);

	/* B's own TLBI refreshes B: it really was stale. */
	ASSERT_EQ(0, invalidate1(self->fd, vb, cmd_nh_all()));
	expect_read(_metadata, self->fd, b.stdev, VA(0), 0x21);
	/* And a fault on B goes to B (no queue there), not to A's queue. */
	expect_fault(_metadata, self->fd, b.stdev, 0, VA(5), 8, EVT_F_TRANSLATION);
	expect_no_event(_metadata, self->evfd);
	free(cmds);
}

/* ---- (6) command rejects ------------------------------------------------- */

struct opcode_fields {
	const char *name;
	struct smmu_cmd good; /* a valid command of the opcode */
	uint64_t ok0, ok1;    /* the bits the opcode defines */
};

TEST_F(smmu, command_rejects)
{
	const uint64_t op = GENMASK(7, 0), vmid = GENMASK(47, 32), asid = GENMASK(63, 48);
	const uint64_t range0 = GENMASK(16, 12) | GENMASK(24, 20);
	const uint64_t va1 = CMD1_LEAF | GENMASK(9, 8) | GENMASK(11, 10) | GENMASK(63, 12);
	const struct opcode_fields f[] = {
		{ "CFGI_CD", cmd_cfgi_cd(VSID_A, 0), op | GENMASK(31, 12) | GENMASK(63, 32),
		  CMD1_LEAF },
		{ "CFGI_CD_ALL", cmd_cfgi_cd_all(VSID_A), op | GENMASK(63, 32), 0 },
		{ "TLBI_NH_ALL", cmd_nh_all(), op | vmid, 0 },
		{ "TLBI_NH_ASID", cmd_nh_asid(ASID), op | vmid | asid, 0 },
		{ "TLBI_NH_VA", cmd_nh_va(ASID, VA0), op | range0 | vmid | asid, va1 },
		/* NH_VAA has no ASID field; whether one set is refused is left open. */
		{ "TLBI_NH_VAA", cmd_nh_vaa(VA0), op | range0 | vmid | asid, va1 },
		{ "TLBI_NSNH_ALL", cmd_nsnh_all(), op | vmid, 0 },
	};
	const uint8_t bad_ops[] = { 0x00, OP_PREFETCH_CFG, 0x02, OP_CFGI_STE, 0x04, 0x07,
				    0x0c, 0x0f, 0x14, 0x18, 0x1a, OP_TLBI_EL2_ALL, 0x21, 0x22, 0x23,
				    OP_TLBI_S12_VMALL, 0x2a, 0x41, 0x44, 0x45, OP_SYNC, 0xff };
	struct smmu_cmd c[4];
	uint32_t done;
	size_t i;
	int b, w;

	/* Unknown and unsupported opcodes, behind one good entry. */
	c[0] = cmd_nh_all();
	for (i = 0; i < sizeof(bad_ops); i++) {
		c[1] = (struct smmu_cmd){ { bad_ops[i], 0 } };
		EXPECT_EQ(EIO, invalidate(self->fd, self->viommu, c, 2, &done))
			TH_LOG("opcode %#x", bad_ops[i]);
		EXPECT_EQ(1, done);
	}

	/* Every bit an opcode does not define, one at a time. */
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		c[0] = f[i].good;
		ASSERT_EQ(0, invalidate(self->fd, self->viommu, c, 1, &done)) TH_LOG("%s", f[i].name);
		EXPECT_EQ(1, done);
		for (w = 0; w < 2; w++) {
			for (b = 0; b < 64; b++) {
				if ((w ? f[i].ok1 : f[i].ok0) & BIT(b))
					continue;
				c[1] = f[i].good;
				c[1].w[w] |= BIT(b);
				EXPECT_EQ(EIO, invalidate(self->fd, self->viommu, c, 2, &done))
					TH_LOG("%s word %d bit %d", f[i].name, w, b);
				EXPECT_EQ(1, done);
			}
		}
	}

	/* TG=0 (no range): TTL, NUM and SCALE must be 0. */
	for (i = 0; i < 3; i++) {
		struct smmu_cmd va = cmd_nh_va(ASID, VA0), vaa = cmd_nh_vaa(VA0);
		uint64_t w0 = i == 0 ? CMD0_NUM(1) : i == 1 ? CMD0_SCALE(1) : 0;
		uint64_t w1 = i == 2 ? CMD1_TTL(3) : 0;

		va.w[0] |= w0;
		va.w[1] |= w1;
		vaa.w[0] |= w0;
		vaa.w[1] |= w1;
		EXPECT_EQ(EIO, invalidate1(self->fd, self->viommu, va)) TH_LOG("NH_VA case %zu", i);
		EXPECT_EQ(EIO, invalidate1(self->fd, self->viommu, vaa))
			TH_LOG("NH_VAA case %zu", i);
	}
	/* ...and with TG=1 they are fine. */
	EXPECT_EQ(0, invalidate1(self->fd, self->viommu, cmd_nh_va_range(ASID, VA0, 31, 31, 3)));

	/* Unknown vSIDs, in each command that names one. */
	c[0] = cmd_nh_asid(ASID);
	c[1] = cmd_cfgi_cd(VSID_A, 0);
	c[3] = cmd_nh_all();
	for (i = 0; i < 3; i++) {
		c[2] = i == 0 ? cmd_cfgi_cd(VSID_A + 1, 0) :
		       i == 1 ? cmd_cfgi_cd_all(0) :
				(struct smmu_cmd){ { OP_ATC_INV | CMD0_SID(VSID_B), 0 } };
		EXPECT_EQ(EIO, invalidate(self->fd, self->viommu, c, 4, &done)) TH_LOG("case %zu", i);
		EXPECT_EQ(2, done);
	}
	/* ATC_INV for a known vSID is accepted (even with ATS off). */
	EXPECT_EQ(0, invalidate1(self->fd, self->viommu,
				 (struct smmu_cmd){ { OP_ATC_INV | CMD0_SID(VSID_A), 0 } }));

	/* A failure at the first entry reports 0 handled; all good reports all. */
	c[0] = (struct smmu_cmd){ { OP_SYNC, 0 } };
	EXPECT_EQ(EIO, invalidate(self->fd, self->viommu, c, 4, &done));
	EXPECT_EQ(0, done);
	c[0] = cmd_nh_all();
	c[2] = cmd_cfgi_cd_all(VSID_A);
	EXPECT_EQ(0, invalidate(self->fd, self->viommu, c, 4, &done));
	EXPECT_EQ(4, done);
}

/*
 * Commands before a bad one took effect: the entries the kernel reports as
 * handled really were handled.
 */
TEST_F(smmu, command_partial_batch)
{
	struct smmu_cmd c[2] = { cmd_nh_va(ASID, VA(0)), { { OP_CFGI_STE, 0 } } };
	uint32_t done;

	fill_page(G, DATA(1), 0x99);
	READ_PAGE(VA(0), 0);
	tset_map(G, TS(0), VA(0), DATA(1), 0);
	EXPECT_EQ(EIO, invalidate(self->fd, self->viommu, c, 2, &done));
	EXPECT_EQ(1, done);
	READ_PAGE(VA(0), 0x99);
}

/* ---- (7) teardown order --------------------------------------------------- */

enum holder { H_VDEVICE, H_NESTED, H_VEVENTQ };

/*
 * Leave only @keep holding the vIOMMU: the vIOMMU is EBUSY, and so is the
 * nest parent; drop @keep and both go.
 */
static void teardown_leaving(struct __test_metadata *_metadata, FIXTURE_DATA(smmu) *self,
			     enum holder keep)
{
	uint32_t id[] = { [H_VDEVICE] = self->vdev, [H_NESTED] = self->nested,
			  [H_VEVENTQ] = self->veventq };
	int h;

	EXPECT_EQ(EBUSY, destroy(self->fd, self->viommu));
	EXPECT_EQ(EBUSY, destroy(self->fd, self->parent));
	/* The device leaves the nested HWPT first (it holds that one). */
	ASSERT_EQ(0, replace(self->fd, self->d.stdev, self->ioas));
	for (h = 0; h < 3; h++) {
		if (h == (int)keep)
			continue;
		if (h == H_VEVENTQ) {
			close(self->evfd);
			self->evfd = -1;
		}
		ASSERT_EQ(0, destroy(self->fd, id[h])) TH_LOG("holder %d", h);
	}
	EXPECT_EQ(EBUSY, destroy(self->fd, self->viommu)) TH_LOG("held by holder %d", keep);
	EXPECT_EQ(EBUSY, destroy(self->fd, self->parent));
	if (keep == H_VEVENTQ) {
		close(self->evfd);
		self->evfd = -1;
	}
	ASSERT_EQ(0, destroy(self->fd, id[keep]));
	/* The vIOMMU alone still pins the nest parent. */
	EXPECT_EQ(EBUSY, destroy(self->fd, self->parent));
	EXPECT_EQ(0, destroy(self->fd, self->viommu));
	EXPECT_EQ(0, destroy(self->fd, self->parent));
	EXPECT_EQ(ENOENT, destroy(self->fd, self->viommu));
}

TEST_F(smmu, teardown_vdevice_last)
{
	teardown_leaving(_metadata, self, H_VDEVICE);
}

TEST_F(smmu, teardown_nested_last)
{
	teardown_leaving(_metadata, self, H_NESTED);
}

TEST_F(smmu, teardown_veventq_last)
{
	teardown_leaving(_metadata, self, H_VEVENTQ);
}

/* Unbinding the device drops its vDEVICE's hold too: the fd closes clean. */
TEST_F(smmu, teardown_close_with_everything)
{
	READ_PAGE(VA(0), 0);
	expect_fault(_metadata, self->fd, self->d.stdev, 0, VA(1), 8, EVT_F_TRANSLATION);
	/* Events pending, objects live: the FIXTURE_TEARDOWN close must not hang. */
}

TEST_HARNESS_MAIN
