# SPDX-License-Identifier: GPL-2.0
#
# Hosted unit tests: the portable C++ core (module/*.cpp, module/cxxrt)
# built for user space with ASan and UBSan, over the fake kapi, run with
# GoogleTest.  `make unit` from the repo root.
UNIT_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)
UNIT_OUT := $(UNIT_ROOT)/build/unit
UNIT_CXX ?= g++
UNIT_CXXFLAGS := -std=gnu++20 -O1 -g -fno-exceptions -fno-rtti -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
	-I$(UNIT_ROOT)/module -I$(UNIT_ROOT) -I$(UNIT_ROOT)/tests/unit
# The portable core: everything in module/ that is C++.
UNIT_CORE := $(wildcard $(UNIT_ROOT)/module/*.cpp $(UNIT_ROOT)/module/*/*.cpp)
UNIT_TESTS := $(wildcard $(UNIT_ROOT)/tests/unit/*.cpp)
UNIT_OBJS := $(patsubst $(UNIT_ROOT)/%.cpp,$(UNIT_OUT)/%.o,$(UNIT_CORE) $(UNIT_TESTS))

$(UNIT_OUT)/%.o: $(UNIT_ROOT)/%.cpp
	@mkdir -p $(dir $@)
	$(UNIT_CXX) $(UNIT_CXXFLAGS) -MMD -MP -c -o $@ $<

$(UNIT_OUT)/unit_tests: $(UNIT_OBJS)
	$(UNIT_CXX) $(UNIT_CXXFLAGS) -o $@ $^ -lgtest -lgtest_main -lpthread

-include $(UNIT_OBJS:.o=.d)

.PHONY: unit
unit: $(UNIT_OUT)/unit_tests
	$(UNIT_OUT)/unit_tests --gtest_brief=0
