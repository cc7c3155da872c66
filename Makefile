# SPDX-License-Identifier: GPL-2.0
#
# iommufd-cxx developer entry points.  `make` builds iommufd_cxx.ko;
# `make check` installs what it needs and runs every test; see README.md.

ifneq ($(KERNELRELEASE),)
# Invoked by kbuild: the module's objects are in Kbuild.
include $(src)/Kbuild
else

REPO := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(REPO)/build

# The kernel to build against: the running kernel's build tree if it has
# one, else the newest Debian 6.12 amd64 headers.
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /usr/src/linux-headers-6.12.*-amd64))))

# pahole cannot encode C++ DWARF (template parameters, rvalue references):
# keep BTF for the C glue and leave the C++ compilation units out of it.
KBUILD_ARGS := MODULE_PAHOLE_FLAGS=--lang_exclude=c++,c++03,c++11,c++14

.PHONY: all module clean check unit fuzz abi-check selftests vm debug kunit demo upstream bench

all: module

# Every test, from a fresh machine (installs its own dependencies).
check:
	$(REPO)/scripts/check.sh

include $(REPO)/tests/abi/abi.mk
include $(REPO)/tests/unit/unit.mk
include $(REPO)/tests/fuzz/fuzz.mk

selftests:
	$(MAKE) -C $(REPO)/selftests

# Boot Debian's 6.12 kernel with the module and run the VM suite only.
vm:
	$(REPO)/scripts/check.sh vm

# The debug test kernel stages of `make check` only: KUnit, the VM suite,
# the stress test and the upstream selftests (fail_nth too) on KASAN,
# lockdep, kmemleak and fault injection, then the same upstream selftests
# against the kernel's own iommufd (the side-by-side table). The first run
# builds that kernel into /var/cache/iommufd-cxx.
debug:
	$(REPO)/scripts/check.sh debug reference

# The module's own KUnit suites (module/kunit/) on the debug test kernel: the
# module loaded with kunit=1, the KTAP turned into TAP (build/kunit/kunit.tap).
kunit:
	$(REPO)/scripts/kunit.sh

# Boot a VM, load the module and show /dev/iommu at work.
demo: module selftests
	rm -rf $(BUILD)/demo && mkdir -p $(BUILD)/demo/payload
	cp $(REPO)/iommufd_cxx.ko $(BUILD)/selftests/demo $(BUILD)/demo/payload/
	cp $(REPO)/selftests/demo.sh $(BUILD)/demo/payload/run.sh
	$(REPO)/scripts/vm-run.sh --out $(BUILD)/demo/vm --payload $(BUILD)/demo/payload --timeout 300
	@cat $(BUILD)/demo/vm/tap.txt

# The kernel's own iommufd selftests (Debian's 6.12 tree, unmodified, built
# against our uapi/ headers) in the VM against the module with test_abi=1;
# prints the pass/fail/skip counts. A yardstick, not part of `make check`:
# it fails only if the run did not complete or the kernel splatted, not
# because tests failed. Baseline: docs/upstream-selftests.md.
UPSTREAM_TIMEOUT ?= 3600
upstream: module
	$(REPO)/scripts/upstream-selftests.sh $(BUILD)/upstream
	rm -rf $(BUILD)/upstream/payload && mkdir -p $(BUILD)/upstream/payload/tests
	cp $(REPO)/iommufd_cxx.ko $(BUILD)/upstream/payload/
	cp $(REPO)/selftests/run-upstream.sh $(BUILD)/upstream/payload/run.sh
	cp $(BUILD)/upstream/bin/iommufd $(BUILD)/upstream/bin/iommufd_fail_nth \
		$(BUILD)/upstream/payload/tests/
	mkdir -p $(BUILD)/results
	@rc=0; $(REPO)/scripts/vm-run.sh --out $(BUILD)/upstream/vm \
		--payload $(BUILD)/upstream/payload --timeout $(UPSTREAM_TIMEOUT) \
		>$(BUILD)/results/upstream.log 2>&1 || rc=$$?; \
	cp $(BUILD)/upstream/vm/tap.txt $(BUILD)/results/upstream.tap 2>/dev/null; \
	$(REPO)/scripts/tap-summary.sh $(BUILD)/results/upstream.tap || :; \
	if [ $$rc -ne 0 ]; then \
		tail -40 $(BUILD)/results/upstream.log; \
		echo "upstream: VM run failed (vm-run.sh exit $$rc: crash, timeout or kernel splat)"; \
		exit 1; \
	fi; \
	echo "upstream: run completed, console has no kernel splat"

# Map/unmap throughput and 4 KiB latency against a reference, side by side
# in one boot: VFIO type1 on Debian's kernel, the kernel's own iommufd on
# the debug kernel (scripts/bench.sh; BENCH_RUNS="stock" or "debug" for one
# of them). Too slow for `make check`, which only builds it. Results:
# docs/bench.md.
BENCH_RUNS ?=
bench:
	$(REPO)/scripts/bench.sh $(BENCH_RUNS)

module:
	$(MAKE) -C $(KDIR) M=$(REPO) $(KBUILD_ARGS) modules
	$(REPO)/scripts/check-ko.sh $(REPO)/iommufd_cxx.ko $(KDIR)/Module.symvers

clean:
	$(MAKE) -C $(KDIR) M=$(REPO) clean
	rm -rf $(BUILD)

endif
