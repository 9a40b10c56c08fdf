#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs every test tier and ends with one summary line: "N passed, N failed".
#   tier 1: cmocka unit tests (build/test/unit/*), under ASan+UBSan
#   tier 2: cmocka + BPF_PROG_TEST_RUN (build/test/bpf/*), root
#   tier 3: namespace integration scripts (tests/integration/*.sh), root
#   tier 4: libFuzzer harnesses (tests/fuzz/test_fuzz.sh): each over its
#           checked-in corpus, then FUZZ_SECONDS (30) of new inputs
# A tier that needs root fails (it is never skipped) when run without it.
# TESTS=pattern limits the run to matching test names.
set -u
BUILD=${BUILD:-$(pwd)/build}
export BUILD
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pattern=${TESTS:-}
passed=0
failed=0
failures=()

run_cmocka() {
	local bin=$1 out rc p f
	out=$("$bin" 2>&1); rc=$?
	printf '%s\n' "$out"
	# cmocka writes its summary lines to stdout and stderr, which may
	# interleave mid-line: match the markers anywhere.
	p=$(printf '%s\n' "$out" | grep -oE '\[  PASSED  \] [0-9]+ test' | awk '{s+=$4} END {print s+0}')
	f=$(printf '%s\n' "$out" | grep -oE '\[  FAILED  \] [0-9]+ test' | awk '{s+=$4} END {print s+0}')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crash, sanitizer abort
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi    # ran nothing: not a pass
	passed=$((passed + p)); failed=$((failed + f))
	[ "$f" -gt 0 ] && failures+=("$(basename "$bin")")
}

run_script() {
	local script=$1 out rc p f
	out=$(bash "$script" 2>&1); rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | grep -c '^PASS: ')
	f=$(printf '%s\n' "$out" | grep -c '^FAIL: ')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p)); failed=$((failed + f))
	[ "$f" -gt 0 ] && failures+=("$(basename "$script")")
}

for bin in "$BUILD"/test/unit/test_* "$BUILD"/test/bpf/test_*; do
	[ -x "$bin" ] || continue
	[ -n "$pattern" ] && [[ "$(basename "$bin")" != *$pattern* ]] && continue
	echo "=== $(basename "$bin")"
	run_cmocka "$bin"
done
for script in tests/integration/test_*.sh; do
	[ -f "$script" ] || continue
	[ -n "$pattern" ] && [[ "$(basename "$script")" != *$pattern* ]] && continue
	echo "=== $(basename "$script")"
	run_script "$script"
done

for script in tests/fuzz/test_*.sh; do
	[ -f "$script" ] || continue
	[ -n "$pattern" ] && [[ "$(basename "$script")" != *$pattern* ]] && continue
	echo "=== $(basename "$script")"
	run_script "$script"
done

[ ${#failures[@]} -gt 0 ] && echo "failing suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
