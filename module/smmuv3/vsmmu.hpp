// SPDX-License-Identifier: GPL-2.0
//
// vsmmu.hpp - the software SMMUv3 as an IOMMU driver of this module: the
// device backend of the test ABI's MOCK_SMMUV3 devices (hw_info, paging
// domains, attach rules), its vIOMMU (IOMMU_VIOMMU_TYPE_ARM_SMMUV3: a VMID
// of the instance's own, vSID -> StreamID through the vDEVICE table, guest
// commands checked by cmd.hpp and run on the model), nested HWPTs made from
// a guest STE (IOMMU_HWPT_DATA_ARM_SMMUV3, checked by ste.hpp), and the DMA
// a device performs through all of it (model.hpp), with its faults handed
// to the vIOMMU's vEVENTQ carrying the vSID.
//
// There is one instance per module load (soft_smmu_init at load,
// soft_smmu_exit at unload, after every context is gone): like a physical
// SMMU, its VMID and StreamID spaces and its caches are shared by every
// vIOMMU of every /dev/iommu file, which is what the VMID isolation rules
// are about.
#pragma once

#include "object.hpp"

namespace iommufd {

class Device;
class DeviceBackend;

namespace smmuv3 {

Status soft_smmu_init();
void soft_smmu_exit();

// The backend of a new MOCK_SMMUV3 device, with a fresh StreamID (*sid_out).  -ENOSPC
// when the StreamID space is used up; -ENOMEM.
Result<cxx::UniquePtr<DeviceBackend>> make_device_backend(uint32_t *sid_out);
// The StreamID of a device behind the software SMMUv3; -EINVAL for any
// other device.
Result<uint32_t> device_sid(Device &dev);

struct DmaOutcome {
	uint64_t done;	// bytes transferred
	uint32_t event; // 0, an SMMUv3 event number, or SMMU_DMA_ABORTED
};

// IOMMU_TEST_OP_CXX_SMMU_DMA: `dev` reads or writes `length` bytes at
// iova through its attached HWPT.  -EINVAL for a device not behind the
// software SMMUv3.
Result<DmaOutcome> device_dma(Device &dev, uint64_t iova, void *buf, uint64_t length,
			      bool write, bool ssv, uint32_t ssid);

} // namespace smmuv3
} // namespace iommufd
