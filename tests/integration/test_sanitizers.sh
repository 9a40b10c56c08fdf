#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# test_sanitizers.sh - nothing escapes the sanitizer builds: every test
# binary (unit and BPF tiers) carries ASan and UBSan, every library source
# has its object in the ASan+UBSan library ($BUILD/san) that those tests
# link and one in the ThreadSanitizer library ($BUILD/tsan), and the TSan
# daemon that test_race.sh runs is instrumented.  A new file or Makefile
# rule that built without them would leave a hole in CI silently.
#
# Reads the build only: no root, no namespaces.
set -u
BUILD=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# instrumented FILE SYMBOL-REGEX: FILE's symbol table has a match.
instrumented() {
	nm "$1" 2>/dev/null | grep -Eq "$2"
}

# check NAME ERRORS...: one PASS or FAIL line.
report() {
	local name=$1
	shift
	if [ $# -eq 0 ]; then
		echo "PASS: $name"
	else
		echo "FAIL: $name: $*"
	fi
}

t_tests_instrumented() {
	local errs=() n=0 b
	for b in "$BUILD"/test/unit/test_* "$BUILD"/test/bpf/test_*; do
		[ -x "$b" ] || continue
		n=$((n + 1))
		instrumented "$b" '__asan_report_(load|store)' ||
			errs+=("$(basename "$b"): got no ASan, want ASan")
		instrumented "$b" '__ubsan_handle_' ||
			errs+=("$(basename "$b"): got no UBSan, want UBSan")
	done
	[ "$n" -gt 0 ] || errs+=("test binaries: got 0, want the unit and BPF tiers built")
	report sanitizers.tests_instrumented "${errs[@]}"
}

# Every user/LAYER/*.c but the daemon's main() is in both sanitizer libraries.
t_library_instrumented() {
	local errs=() src base
	for src in "$ROOT"/user/*/*.c; do
		base=${src#"$ROOT"/user/}
		base=${base%.c}
		[ "$base" = daemon/mxthrottled ] && continue
		instrumented "$BUILD/san/$base.o" '__asan_' ||
			errs+=("san/$base.o: got missing or without ASan, want ASan+UBSan")
		instrumented "$BUILD/tsan/$base.o" '__tsan_' ||
			errs+=("tsan/$base.o: got missing or without TSan, want TSan")
	done
	report sanitizers.library_instrumented "${errs[@]}"
}

t_tsan_daemon() {
	local errs=()
	instrumented "$BUILD/tsan/mxthrottled" '__tsan_(read|write)' ||
		errs+=("tsan/mxthrottled: got missing or uninstrumented, want a TSan build (make tsan)")
	report sanitizers.tsan_daemon "${errs[@]}"
}

t_tests_instrumented
t_library_instrumented
t_tsan_daemon
