# SPDX-License-Identifier: GPL-2.0
#
# tests/abi/abi.mk - compile-time ABI checks of uapi/iommufd.h.
#
# Standalone:  make -f tests/abi/abi.mk abi-check
# Included:    include tests/abi/abi.mk   (then: make abi-check)
#
# Prints one TAP-ish line per check ("ok N - abi: ..." / "not ok N - abi: ..."),
# compiler or checker output as "# " diagnostics under a failing line, and
# exits non-zero if any check failed:
#   1. uapi/iommufd.h compiles on its own as C (gnu11)
#   2. uapi/iommufd.h compiles on its own as C++ (gnu++20)
#   3. tests/abi/abi_6_12.cpp: every layout, enumerator and ioctl number of
#      Debian's 6.12 <linux/iommufd.h> matches ours (static_assert)
#   4. tests/abi/k612_coverage.py: abi_6_12.cpp's lists name everything the
#      6.12 header declares
#   5. uapi/iommufd_test.h (the test ABI) compiles on its own as C (gnu11)
#   6. uapi/iommufd_test.h compiles on its own as C++ (gnu++20)
#   7. tests/abi/abi_test_6_12.cpp: every layout, enumerator and macro of
#      the 6.12 tree's drivers/iommu/iommufd/iommufd_test.h matches ours
#   8. k612_coverage.py: abi_test_6_12.cpp's lists name everything in it
#   9. uapi/vfio_compat.h (the VFIO container subset) compiles on its own as C
#  10. ... and as C++
#  11. tests/abi/vfio_abi_6_12.cpp: every macro, struct and field of it
#      matches Debian's 6.12 uapi <linux/vfio.h> (static_assert), and then
#      the same against /usr/include/linux/vfio.h (linux-libc-dev); one line
#      per header found (ABI_VFIO_HDRS)
#  12. tests/abi/vfio_coverage.py: vfio_abi_6_12.cpp's lists name everything
#      uapi/vfio_compat.h declares
# Checks 3 and 4 are skipped (TAP "# SKIP") when no Debian 6.12 headers are
# installed and none was named; 7 and 8 when there is no linux-source-6.12
# tree (scripts/ksrc.sh) and no test header was named.
#
# Knobs (all ABI_-prefixed so the top-level Makefile can include this):
#   ABI_ROOT        repository root (default: two levels above this file)
#   ABI_K612_DIR    Debian headers dir (default: newest
#                   /usr/src/linux-headers-6.12.*-common, by version sort)
#   ABI_K612_HDR    the 6.12 iommufd.h itself (default: from ABI_K612_DIR)
#   ABI_K612_TEST_HDR  the 6.12 iommufd_test.h (default: from the tree that
#                   scripts/ksrc.sh prints, looked up only when the check runs)
#   ABI_VFIO_HDRS   the <linux/vfio.h> copies check 11 compares with
#                   (default: ABI_K612_DIR's uapi one and /usr/include's)
#   ABI_CC, ABI_CXX, ABI_PYTHON, ABI_CFLAGS, ABI_CXXFLAGS
#   ABI_TAP_FIRST   number of the first TAP line (default 1)

# Must be evaluated before any other makefile is included.
ABI_MK_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
ABI_ROOT ?= $(abspath $(ABI_MK_DIR)/../..)

ABI_CC ?= gcc
ABI_CXX ?= g++
ABI_PYTHON ?= python3
ABI_CFLAGS ?= -std=gnu11 -fsyntax-only -Wall -Wextra -Werror
ABI_CXXFLAGS ?= -std=gnu++20 -fsyntax-only -Wall -Wextra -Werror
ABI_TAP_FIRST ?= 1

ifeq ($(origin ABI_K612_DIR),undefined)
ABI_K612_DIR := $(shell printf '%s\n' $(wildcard /usr/src/linux-headers-6.12.*-common) | sort -V | tail -n 1)
endif
ABI_K612_HDR ?= $(if $(ABI_K612_DIR),$(ABI_K612_DIR)/include/uapi/linux/iommufd.h)

ABI_K612_TEST_HDR ?=
ABI_VFIO_HDRS ?= $(wildcard $(if $(ABI_K612_DIR),$(ABI_K612_DIR)/include/uapi/linux/vfio.h) \
	/usr/include/linux/vfio.h)

ABI_UAPI_HDR := $(ABI_ROOT)/uapi/iommufd.h
ABI_TEST_HDR := $(ABI_ROOT)/uapi/iommufd_test.h
ABI_TU := $(ABI_ROOT)/tests/abi/abi_6_12.cpp
ABI_TEST_TU := $(ABI_ROOT)/tests/abi/abi_test_6_12.cpp
ABI_COVERAGE := $(ABI_ROOT)/tests/abi/k612_coverage.py
ABI_VFIO_UAPI := $(ABI_ROOT)/uapi/vfio_compat.h
ABI_VFIO_TU := $(ABI_ROOT)/tests/abi/vfio_abi_6_12.cpp
ABI_VFIO_COVERAGE := $(ABI_ROOT)/tests/abi/vfio_coverage.py

.PHONY: abi-check
abi-check:
	@set -u; n=$$(($(ABI_TAP_FIRST) - 1)); fail=0; \
	log=$$(mktemp); inc=$$(mktemp -d); trap 'rm -rf "$$log" "$$inc"' EXIT; \
	tap() { \
		n=$$((n + 1)); \
		if [ "$$1" -eq 0 ]; then echo "ok $$n - abi: $$2"; \
		else echo "not ok $$n - abi: $$2"; fail=$$((fail + 1)); \
			sed 's/^/# /' "$$log"; fi; \
	}; \
	skip() { n=$$((n + 1)); echo "ok $$n - abi: $$1 # SKIP $$2"; }; \
	$(ABI_CC) $(ABI_CFLAGS) -x c '$(ABI_UAPI_HDR)' >"$$log" 2>&1; \
	tap $$? "uapi/iommufd.h compiles standalone as C (gnu11)"; \
	$(ABI_CXX) $(ABI_CXXFLAGS) -x c++ '$(ABI_UAPI_HDR)' >"$$log" 2>&1; \
	tap $$? "uapi/iommufd.h compiles standalone as C++ (gnu++20)"; \
	k612='$(ABI_K612_HDR)'; \
	if [ -z "$$k612" ]; then \
		skip "layouts match Debian 6.12 uapi header" "no /usr/src/linux-headers-6.12.*-common"; \
		skip "6.12 coverage lists are complete" "no /usr/src/linux-headers-6.12.*-common"; \
	elif [ ! -r "$$k612" ]; then \
		echo "$$k612: not readable" >"$$log"; \
		tap 1 "layouts match Debian 6.12 uapi header"; \
		tap 1 "6.12 coverage lists are complete"; \
	else \
		$(ABI_CXX) $(ABI_CXXFLAGS) -I'$(ABI_ROOT)/uapi' \
			"-DABI_K612_HEADER=\"$$k612\"" '$(ABI_TU)' >"$$log" 2>&1; \
		tap $$? "layouts match Debian 6.12 uapi header ($$k612)"; \
		$(ABI_PYTHON) '$(ABI_COVERAGE)' "$$k612" '$(ABI_TU)' >"$$log" 2>&1; \
		tap $$? "6.12 coverage lists are complete"; \
	fi; \
	$(ABI_CC) $(ABI_CFLAGS) -x c '$(ABI_TEST_HDR)' >"$$log" 2>&1; \
	tap $$? "uapi/iommufd_test.h compiles standalone as C (gnu11)"; \
	$(ABI_CXX) $(ABI_CXXFLAGS) -x c++ '$(ABI_TEST_HDR)' >"$$log" 2>&1; \
	tap $$? "uapi/iommufd_test.h compiles standalone as C++ (gnu++20)"; \
	k612t='$(ABI_K612_TEST_HDR)'; \
	if [ -z "$$k612t" ] && ksrc=$$('$(ABI_ROOT)/scripts/ksrc.sh' 2>/dev/null); then \
		k612t=$$ksrc/drivers/iommu/iommufd/iommufd_test.h; \
	fi; \
	if [ -z "$$k612t" ]; then \
		skip "test ABI layouts match Debian 6.12 iommufd_test.h" "no linux-source-6.12 (scripts/ksrc.sh)"; \
		skip "6.12 test ABI coverage lists are complete" "no linux-source-6.12 (scripts/ksrc.sh)"; \
	elif [ ! -r "$$k612t" ]; then \
		echo "$$k612t: not readable" >"$$log"; \
		tap 1 "test ABI layouts match Debian 6.12 iommufd_test.h"; \
		tap 1 "6.12 test ABI coverage lists are complete"; \
	else \
		mkdir -p "$$inc/linux" && ln -s '$(ABI_UAPI_HDR)' "$$inc/linux/iommufd.h"; \
		$(ABI_CXX) $(ABI_CXXFLAGS) -I'$(ABI_ROOT)/uapi' -idirafter "$$inc" \
			"-DABI_K612_TEST_HEADER=\"$$k612t\"" '$(ABI_TEST_TU)' >"$$log" 2>&1; \
		tap $$? "test ABI layouts match Debian 6.12 iommufd_test.h ($$k612t)"; \
		$(ABI_PYTHON) '$(ABI_COVERAGE)' "$$k612t" '$(ABI_TEST_TU)' K612T >"$$log" 2>&1; \
		tap $$? "6.12 test ABI coverage lists are complete"; \
	fi; \
	$(ABI_CC) $(ABI_CFLAGS) -x c '$(ABI_VFIO_UAPI)' >"$$log" 2>&1; \
	tap $$? "uapi/vfio_compat.h compiles standalone as C (gnu11)"; \
	$(ABI_CXX) $(ABI_CXXFLAGS) -x c++ '$(ABI_VFIO_UAPI)' >"$$log" 2>&1; \
	tap $$? "uapi/vfio_compat.h compiles standalone as C++ (gnu++20)"; \
	vhdrs='$(strip $(ABI_VFIO_HDRS))'; \
	[ -n "$$vhdrs" ] || skip "vfio_compat.h layouts match <linux/vfio.h>" "no 6.12 headers, no /usr/include/linux/vfio.h"; \
	for h in $$vhdrs; do \
		$(ABI_CXX) $(ABI_CXXFLAGS) -I'$(ABI_ROOT)/uapi' -I'$(ABI_ROOT)/tests/abi' \
			"-DABI_VFIO_HEADER=\"$$h\"" '$(ABI_VFIO_TU)' >"$$log" 2>&1; \
		tap $$? "vfio_compat.h layouts and values match $$h"; \
	done; \
	$(ABI_PYTHON) '$(ABI_VFIO_COVERAGE)' '$(ABI_VFIO_UAPI)' '$(ABI_VFIO_TU)' >"$$log" 2>&1; \
	tap $$? "vfio_compat.h coverage lists are complete"; \
	[ "$$fail" -eq 0 ]
