# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# mxthrottle build.  Everything generated goes to build/; nothing generated
# is committed.  Quiet lines unless V=1.
#   make          build the BPF object, skeleton, library, daemon, CLI, tools
#   make test     build tests (ASan+UBSan) and run every tier (root needed)
#   make tsan     the daemon built with ThreadSanitizer, in build/tsan/
#                 (tests/integration/test_race.sh runs it; make test too)
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

# --- flags: what the code needs, then what the user gives ---------------
# CC, CFLAGS, CPPFLAGS and LDFLAGS are the user's (or dpkg-buildflags'):
# "make CFLAGS=-O0" replaces the optimisation, never the language level,
# the feature macros or the warnings, which live in MXT_* and come first
# so that the user's flags can still add to them.
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
CFLAGS  ?= -O2 -g
MXT_CFLAGS   := $(WARN) -std=gnu11 -fstack-protector-strong
# user/ in layers (HACKING.md), lowest first: each folder is an include
# path, so a source names its headers without a folder ("addr.h").
USER_DIRS    := user/shared user/core user/kernel user/daemon user/sim
MXT_CPPFLAGS := -D_GNU_SOURCE -Imaps $(addprefix -I,$(USER_DIRS)) -I$(BUILD)
# glibc's fortify needs an optimising build (it #warns, and -Werror fails,
# without one): on when the user's CFLAGS optimise.
ifneq ($(filter -O1 -O2 -O3 -Os -Og -Ofast -Oz,$(CFLAGS)),)
MXT_CPPFLAGS += -D_FORTIFY_SOURCE=2
endif
DEPFLAGS     = -MMD -MP
ALL_CPPFLAGS = $(MXT_CPPFLAGS) $(CPPFLAGS)
ALL_CFLAGS   = $(MXT_CFLAGS) $(CFLAGS) $(DEPFLAGS)
# Libraries through pkg-config (libelf/zlib come with libbpf's .pc).
PKGS    := libbpf libxdp lmdb inih libcap libmicrohttpd libsystemd hiredis
PKG_CONFIG ?= pkg-config
LDLIBS  := $(shell $(PKG_CONFIG) --libs $(PKGS)) -lelf -lz -lm -lpthread
MXT_CPPFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS))
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TEST_CFLAGS := -O1 -g $(WARN) -Wno-missing-prototypes -std=gnu11 $(SAN)
# ThreadSanitizer cannot be combined with ASan: its own objects, library
# and daemon under $(BUILD)/tsan/.
TSAN_CFLAGS := -O1 -g $(WARN) -std=gnu11 -fsanitize=thread -fno-omit-frame-pointer

BPF_CFLAGS := -g -O2 -target bpf -D__bpf__ -Wall -Werror -Imaps -idirafter $(ARCH_INC) $(DEPFLAGS)

BPF_SRC   := bpf/mxthrottle.bpf.c
BPF_OBJ   := $(BUILD)/mxthrottle.bpf.o
SKEL      := $(BUILD)/mxthrottle.skel.h
# Benchmark programs (baselines, the flood generator) live in bench/.
EXTRA_BPF_SRCS := $(wildcard bench/*.bpf.c)
EXTRA_BPF_OBJS := $(patsubst bench/%.bpf.c,$(BUILD)/%.bpf.o,$(EXTRA_BPF_SRCS)) \
		  $(BUILD)/mxthrottle_testclock.bpf.o $(BUILD)/mxthrottle_testclock.skel.h

# A source left in user/ itself (a merge from before the layers) would be
# silently out of the library: say where it belongs instead.
STRAY     := $(wildcard user/*.c user/*.h)
ifneq ($(STRAY),)
ifneq ($(MAKECMDGOALS),clean)
$(error $(STRAY): move into the layer folder it belongs to (HACKING.md, "Layers of user/"), with git mv)
endif
endif
LIB_SRCS  := $(filter-out user/daemon/mxthrottled.c,$(wildcard $(addsuffix /*.c,$(USER_DIRS))))
LIB_OBJS  := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIB_SOBJS := $(patsubst user/%.c,$(BUILD)/san/%.o,$(LIB_SRCS))
LIB       := $(BUILD)/libmxthrottle.a
LIB_SAN   := $(BUILD)/san/libmxthrottle.a
LIB_TOBJS := $(patsubst user/%.c,$(BUILD)/tsan/%.o,$(LIB_SRCS))
LIB_TSAN  := $(BUILD)/tsan/libmxthrottle.a
DAEMON_TSAN := $(BUILD)/tsan/mxthrottled

CLI_SRCS  := $(wildcard tools/mxthrottle/*.c)
CLI_OBJS  := $(patsubst tools/%.c,$(BUILD)/obj/tools/%.o,$(CLI_SRCS))
TOOL_SRCS := $(wildcard tools/*.c)
TOOLS     := $(patsubst tools/%.c,$(BUILD)/%,$(TOOL_SRCS))

BENCH_SRCS := $(filter-out %.bpf.c,$(wildcard bench/*.c))
BENCHES   := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/test/%,$(UNIT_SRCS) $(BPFT_SRCS))
TEST_HELPERS := $(wildcard tests/lib/*.c)

HDRS := $(wildcard maps/*.h $(addsuffix /*.h,$(USER_DIRS)) tools/mxthrottle/*.h)

all: $(BPF_OBJ) $(EXTRA_BPF_OBJS) $(SKEL) $(LIB) $(BUILD)/mxthrottled $(BUILD)/mxthrottle $(TOOLS)

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(wildcard maps/*.h)
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@ 2>/dev/null || true

$(BUILD)/%.bpf.o: bench/%.bpf.c
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

# Headers are tracked by the compiler (-MMD -MP, the .d files included at
# the end); the skeleton and the version header are generated, so the
# first build needs them before any compile (order-only).
GEN_HDRS := $(SKEL) $(BUILD)/mxt_version.h

$(BUILD)/obj/%.o: user/%.c | $(GEN_HDRS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: user/%.c | $(GEN_HDRS)
	@mkdir -p $(@D)
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(TEST_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/tsan/%.o: user/%.c | $(GEN_HDRS)
	@mkdir -p $(@D)
	$(call msg,CC-TSAN,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(TSAN_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_SAN): $(LIB_SOBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_TSAN): $(LIB_TOBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(DAEMON_TSAN): user/daemon/mxthrottled.c $(LIB_TSAN) | $(GEN_HDRS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(TSAN_CFLAGS) $(DEPFLAGS) -o $@ $< $(LIB_TSAN) $(LDLIBS)

tsan: $(DAEMON_TSAN)

$(BUILD)/obj/tools/%.o: tools/%.c | $(GEN_HDRS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itools/mxthrottle $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/mxthrottle: $(CLI_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/mxthrottled: user/daemon/mxthrottled.c $(LIB) | $(GEN_HDRS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/%: tools/%.c $(LIB) | $(GEN_HDRS)
	@mkdir -p $(@D)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Benches share the tests' header-only helpers (tests/lib: fixtures, RNG).
$(BUILD)/bench/%: bench/%.c $(LIB) $(EXTRA_BPF_OBJS) | $(GEN_HDRS)
	@mkdir -p $(@D)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itests/lib $(ALL_CFLAGS) -DMXT_BUILD_DIR='"$(abspath $(BUILD))"' $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/test/%: tests/%.c $(LIB_SAN) $(TEST_HELPERS) $(wildcard tests/lib/*.h) $(HDRS) $(SKEL) $(BPF_OBJ) $(EXTRA_BPF_OBJS)
	@mkdir -p $(@D)
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) -Itests/lib $(TEST_CFLAGS) -DMXT_BUILD_DIR='"$(abspath $(BUILD))"' \
		-o $@ $< $(TEST_HELPERS) $(LIB_SAN) $(LDLIBS) -lcmocka

# --- fuzzing: libFuzzer harnesses (tests/fuzz/fuzz_*.c) -----------------------
# The library is built with gcc; libFuzzer needs clang's coverage
# instrumentation, so the sources the harnesses reach are compiled again
# with clang into their own archive.  clang's -Wformat=2 also flags the
# va_list wrappers of log.c, which gcc checks through their callers.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -g -O1 $(WARN) -Wno-format-nonliteral -std=gnu11 -fno-omit-frame-pointer \
		-fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS      := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB_OBJS := $(patsubst user/%.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS))
FUZZ_LIB     := $(BUILD)/fuzz/libmxthrottle.a

$(BUILD)/fuzz/obj/%.o: user/%.c $(HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB) $(HDRS) $(wildcard tests/fuzz/*.h) $(SKEL)
	@mkdir -p $(@D)
	$(call msg,FUZZER,$@)
	$(Q)$(FUZZ_CC) $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) -Wno-missing-prototypes -fsanitize=fuzzer \
		-o $@ $< $(FUZZ_LIB) $(LDLIBS)

fuzzers: $(FUZZERS)

# The binary seeds of the history fuzzers, from the real encoder (committed).
$(BUILD)/fuzz/make_seeds: tests/fuzz/make_seeds.c $(LIB) $(HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

fuzz-seeds: $(BUILD)/fuzz/make_seeds
	$(Q)$< tests/fuzz/corpus

fuzz: $(FUZZERS)
	$(Q)BUILD=$(abspath $(BUILD)) FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/test_fuzz.sh

tests: all $(TEST_BINS) $(DAEMON_TSAN) $(FUZZERS)

test: tests
	$(Q)BUILD=$(abspath $(BUILD)) bash tests/run.sh

bench: all $(BENCHES)
	$(Q)BUILD=$(abspath $(BUILD)) bash bench/run.sh $(BENCH_ARGS)

# --- version ------------------------------------------------------------
# VERSION holds the release; a git checkout adds "git describe" (tag or
# commit, "-dirty" for local changes).  The header is rewritten only when
# the string changes, so a commit does not rebuild the world.
ifndef MXT_VERSION
MXT_VERSION := $(shell v=$$(cat VERSION 2>/dev/null || echo 0); \
	g=$$(git describe --tags --always --dirty 2>/dev/null); \
	if [ -n "$$g" ] && [ "$$g" != "$$v" ] && [ "$$g" != "v$$v" ]; then echo "$$v+$$g"; else echo "$$v"; fi)
endif
export MXT_VERSION

$(BUILD)/mxt_version.h: FORCE
	@mkdir -p $(@D)
	@printf '#define MXT_VERSION "%s"\n' '$(MXT_VERSION)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

version:
	@echo $(MXT_VERSION)

# --- install --------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=] [SBINDIR=] [MANDIR=]
# [SYSCONFDIR=/etc] [UNITDIR=]: the daemon and the CLI (both need root or
# CAP_BPF, hence sbin), their man pages, the systemd unit (paths rewritten
# to SBINDIR), and the example configuration unless one is there already.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
INSTALL    ?= install

install: $(BUILD)/mxthrottled $(BUILD)/mxthrottle
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/mxthrottle
	$(INSTALL) -m 0755 $(BUILD)/mxthrottled $(BUILD)/mxthrottle $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0644 man/mxthrottled.8 man/mxthrottle.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 man/mxthrottle.conf.5 $(DESTDIR)$(MANDIR)/man5/
	sed 's|/usr/sbin/|$(SBINDIR)/|g; s|/etc/mxthrottle/|$(SYSCONFDIR)/mxthrottle/|g' \
		packaging/mxthrottled.service > $(DESTDIR)$(UNITDIR)/mxthrottled.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/mxthrottled.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/mxthrottle/mxthrottle.conf ] || \
		$(INSTALL) -m 0644 packaging/mxthrottle.conf $(DESTDIR)$(SYSCONFDIR)/mxthrottle/mxthrottle.conf

# The configuration stays (it may hold local changes).
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/mxthrottled $(DESTDIR)$(SBINDIR)/mxthrottle \
		$(DESTDIR)$(MANDIR)/man8/mxthrottled.8 $(DESTDIR)$(MANDIR)/man8/mxthrottle.8 \
		$(DESTDIR)$(MANDIR)/man5/mxthrottle.conf.5 $(DESTDIR)$(UNITDIR)/mxthrottled.service

# --- Debian package ---------------------------------------------------------
# make deb: an unsigned binary package from this tree (debian/), left in
# $(BUILD)/deb/.  The package builds in a copy so the tree stays clean.
deb:
	$(Q)rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/src
	$(Q)git ls-files -z --cached --others --exclude-standard | \
		grep -zv '^$(BUILD)/' | xargs -0 cp --parents -t $(BUILD)/deb/src
	$(call msg,DEB,$(BUILD)/deb)
	$(Q)cd $(BUILD)/deb/src && env -u MAKEFLAGS -u MAKELEVEL -u BUILD dpkg-buildpackage -b -us -uc -j2 >../build.log 2>&1 || \
		{ tail -n 30 ../build.log; exit 1; }
	$(Q)ls $(BUILD)/deb/*.deb

man-lint:
	$(Q)for m in man/*.[0-9]; do groff -mandoc -ww -z $$m || exit 1; done

clean:
	rm -rf $(BUILD)

.PHONY: all tests test tsan bench clean man-lint install uninstall deb version FORCE \
	fuzz fuzzers fuzz-seeds
FORCE:

# Header dependencies written by the compiler (-MMD -MP; -MP covers a
# header that vanished).  A .d file whose source (its first prerequisite)
# moved or vanished is left out, or make would stop with "No rule to make
# target" for the old path; its object is rebuilt from the new one.  The
# empty rule keeps make from trying to remake the .d files themselves.
DEPS := $(shell find $(BUILD) -name '*.d' -exec awk 'FNR == 1 { f = $$2; \
	if ((getline x < f) >= 0) print FILENAME; close(f); nextfile }' {} + 2>/dev/null)
$(DEPS): ;
-include $(DEPS)
