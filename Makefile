# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# mxthrottle build.  Everything generated goes to build/; nothing generated
# is committed.  Quiet lines unless V=1.
#   make          build the BPF object, skeleton, library, daemon, CLI, tools
#   make test     build tests (ASan+UBSan) and run every tier (root needed)
#   make bench    benchmarks (root), see BENCHMARKS.md
#   make fuzz     libFuzzer harnesses (tests/fuzz), FUZZ_SECONDS each (60)
.DELETE_ON_ERROR:
.SUFFIXES:

BUILD   ?= build
CC      ?= gcc
CLANG   ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-9s %s\n' "$(1)" "$(2)";
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
CFLAGS  ?= -O2 -g
CFLAGS  += $(WARN) -std=gnu11 -D_GNU_SOURCE -fstack-protector-strong -D_FORTIFY_SOURCE=2
CPPFLAGS += -Imaps -Iuser -I$(BUILD)
LDLIBS  := -lxdp -lbpf -lelf -lz -llmdb -linih -lcap -lm
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TEST_CFLAGS := -O1 -g $(WARN) -Wno-missing-prototypes -std=gnu11 -D_GNU_SOURCE $(SAN)

BPF_CFLAGS := -g -O2 -target bpf -D__bpf__ -Wall -Werror -Imaps -idirafter $(ARCH_INC)

BPF_SRC   := bpf/mxthrottle.bpf.c
BPF_OBJ   := $(BUILD)/mxthrottle.bpf.o
SKEL      := $(BUILD)/mxthrottle.skel.h
EXTRA_BPF_SRCS := $(wildcard bpf/*.bpf.c)
EXTRA_BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(EXTRA_BPF_SRCS)) \
		  $(BUILD)/mxthrottle_testclock.bpf.o $(BUILD)/mxthrottle_testclock.skel.h

LIB_SRCS  := $(filter-out user/mxthrottled.c,$(wildcard user/*.c))
LIB_OBJS  := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIB_SOBJS := $(patsubst user/%.c,$(BUILD)/san/%.o,$(LIB_SRCS))
LIB       := $(BUILD)/libmxthrottle.a
LIB_SAN   := $(BUILD)/san/libmxthrottle.a

CLI_SRCS  := $(wildcard tools/mxthrottle/*.c)
CLI_OBJS  := $(patsubst tools/%.c,$(BUILD)/obj/tools/%.o,$(CLI_SRCS))
TOOL_SRCS := $(wildcard tools/*.c)
TOOLS     := $(patsubst tools/%.c,$(BUILD)/%,$(TOOL_SRCS))

BENCH_SRCS := $(wildcard bench/*.c)
BENCHES   := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
TESTS     := $(patsubst tests/%.c,$(BUILD)/test/%,$(UNIT_SRCS) $(BPFT_SRCS))
TEST_HELPERS := $(wildcard tests/lib/*.c)

HDRS := $(wildcard maps/*.h user/*.h tools/mxthrottle/*.h)

all: $(BPF_OBJ) $(EXTRA_BPF_OBJS) $(SKEL) $(LIB) $(BUILD)/mxthrottled $(BUILD)/mxthrottle $(TOOLS)

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(wildcard maps/*.h)
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@ 2>/dev/null || true

# The same program with the clock read from a global that tests set, so
# rate tests through BPF_PROG_TEST_RUN are deterministic.
$(BUILD)/mxthrottle_testclock.bpf.o: $(BPF_SRC) $(wildcard bpf/*.h) $(wildcard maps/*.h)
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DMXT_TEST_CLOCK -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@ 2>/dev/null || true

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/obj/%.o: user/%.c $(HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: user/%.c $(HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(CPPFLAGS) $(TEST_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_SAN): $(LIB_SOBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/tools/%.o: tools/%.c $(HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itools/mxthrottle $(CFLAGS) -c $< -o $@

$(BUILD)/mxthrottle: $(CLI_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/mxthrottled: user/mxthrottled.c $(LIB) $(HDRS) $(SKEL)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/%: tools/%.c $(LIB) $(HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lpthread

$(BUILD)/bench/%: bench/%.c $(LIB) $(HDRS) $(SKEL) $(EXTRA_BPF_OBJS)
	@mkdir -p $(@D)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -DMXT_BUILD_DIR='"$(abspath $(BUILD))"' -o $@ $< $(LIB) $(LDLIBS) -lpthread -lm

$(BUILD)/test/%: tests/%.c $(LIB_SAN) $(TEST_HELPERS) $(wildcard tests/lib/*.h) $(HDRS) $(SKEL) $(BPF_OBJ) $(EXTRA_BPF_OBJS)
	@mkdir -p $(@D)
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itests/lib $(TEST_CFLAGS) -DMXT_BUILD_DIR='"$(abspath $(BUILD))"' \
		-o $@ $< $(TEST_HELPERS) $(LIB_SAN) $(LDLIBS) -lcmocka -lpthread

# --- fuzzing: libFuzzer harnesses (tests/fuzz/fuzz_*.c) -----------------------
# The library is built with gcc; libFuzzer needs clang's coverage
# instrumentation, so the sources the harnesses reach are compiled again
# with clang into their own archive.  clang's -Wformat=2 also flags the
# va_list wrappers of log.c, which gcc checks through their callers.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -g -O1 $(WARN) -Wno-format-nonliteral -std=gnu11 -D_GNU_SOURCE -fno-omit-frame-pointer \
		-fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS      := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB_OBJS := $(patsubst user/%.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS))
FUZZ_LIB     := $(BUILD)/fuzz/libmxthrottle.a

$(BUILD)/fuzz/obj/%.o: user/%.c $(HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB) $(HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(call msg,FUZZER,$@)
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -Wno-missing-prototypes -fsanitize=fuzzer \
		-o $@ $< $(FUZZ_LIB) $(LDLIBS)

fuzzers: $(FUZZERS)

# The binary seeds of the history fuzzers, from the real encoder (committed).
$(BUILD)/fuzz/make_seeds: tests/fuzz/make_seeds.c $(LIB) $(HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

fuzz-seeds: $(BUILD)/fuzz/make_seeds
	$(Q)$< tests/fuzz/corpus

fuzz: $(FUZZERS)
	$(Q)BUILD=$(abspath $(BUILD)) FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/test_fuzz.sh

tests: all $(TESTS) $(FUZZERS)

test: tests
	$(Q)BUILD=$(abspath $(BUILD)) bash tests/run.sh

bench: all $(BENCHES)
	$(Q)BUILD=$(abspath $(BUILD)) bash bench/run.sh $(BENCH_ARGS)

man-lint:
	$(Q)for m in man/*.[0-9]; do groff -mandoc -ww -z $$m || exit 1; done

clean:
	rm -rf $(BUILD)

.PHONY: all tests test bench clean man-lint fuzz fuzzers fuzz-seeds
