# SPDX-License-Identifier: GPL-2.0
#
# libFuzzer targets over the portable core (clang, ASan+UBSan).
# `make fuzz` builds them and runs each for FUZZ_SECONDS, starting from
# the corpus of earlier runs plus the hand-made inputs in
# tests/fuzz/seeds/<target>/ (each reaches a deep path - a whole nested
# translation, an SMMUv3 chain through the ioctls - that 20 s from nothing
# may not find).
FUZZ_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)
FUZZ_OUT := $(FUZZ_ROOT)/build/fuzz
FUZZ_SECONDS ?= 30
FUZZ_CXX ?= clang++
FUZZ_CXXFLAGS := -std=gnu++20 -O1 -g -fno-exceptions -fno-rtti \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-I$(FUZZ_ROOT)/module -I$(FUZZ_ROOT) -I$(FUZZ_ROOT)/tests/unit
FUZZ_CORE := $(wildcard $(FUZZ_ROOT)/module/*.cpp $(FUZZ_ROOT)/module/*/*.cpp) \
	$(FUZZ_ROOT)/tests/unit/fake_kapi.cpp \
	$(FUZZ_ROOT)/tests/unit/fake_kapi_file.cpp \
	$(FUZZ_ROOT)/tests/unit/fake_kapi_iommu.cpp
FUZZ_TARGETS := $(patsubst $(FUZZ_ROOT)/tests/fuzz/%.cpp,$(FUZZ_OUT)/%, \
	$(wildcard $(FUZZ_ROOT)/tests/fuzz/*.cpp))

$(FUZZ_OUT)/%: $(FUZZ_ROOT)/tests/fuzz/%.cpp $(FUZZ_CORE) $(wildcard $(FUZZ_ROOT)/module/*.hpp $(FUZZ_ROOT)/module/*/*.hpp)
	@mkdir -p $(FUZZ_OUT)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -o $@ $< $(FUZZ_CORE)

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $$t.corpus; \
		cp $(FUZZ_ROOT)/tests/fuzz/seeds/$$(basename $$t)/* $$t.corpus/ 2>/dev/null || true; \
		echo "fuzz: $$(basename $$t) for $(FUZZ_SECONDS) s"; \
		if ! $$t -max_total_time=$(FUZZ_SECONDS) $$t.corpus > $$t.log 2>&1; then \
			cat $$t.log; echo "not ok - fuzz: $$(basename $$t)"; exit 1; \
		fi; \
		tail -1 $$t.log; \
	done
