#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# test_fuzz.sh - runs every libFuzzer harness of tests/fuzz, twice:
#   fuzz.NAME.corpus   each file of tests/fuzz/corpus/NAME (seeds and the
#                      minimised crash inputs kept as regressions) once;
#   fuzz.NAME.run      FUZZ_SECONDS (default 30) of new inputs grown from
#                      that corpus, in a scratch directory (the checked-in
#                      corpus is never written).
# One PASS/FAIL line each, for tests/run.sh; a "#" line with libFuzzer's
# final executions, coverage (cov), features (ft) and corpus size.  A crash
# leaves its input in $BUILD/fuzz/artifacts/: minimise it (-minimize_crash=1),
# fix the bug, and commit the input to the corpus as crash-<what>.
#   FUZZ_SECONDS=N  seconds of fuzzing per harness (0: corpus only)
#   FUZZ_ONLY=name  one harness
set -u
BUILD=${BUILD:-$(pwd)/build}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
here=$(cd "$(dirname "$0")" && pwd)
art=$BUILD/fuzz/artifacts
mkdir -p "$art"
# The harnesses abort on a broken promise; ASan/UBSan stop at the first error.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for src in "$here"/fuzz_*.c; do
	name=$(basename "$src" .c)
	name=${name#fuzz_}
	[ -n "${FUZZ_ONLY:-}" ] && [ "$FUZZ_ONLY" != "$name" ] && continue
	bin=$BUILD/fuzz/fuzz_$name
	corpus=$here/corpus/$name
	if [ ! -x "$bin" ]; then
		echo "FAIL: fuzz.$name.corpus: got no $bin, want a built harness (make fuzzers)"
		continue
	fi
	files=()
	[ -d "$corpus" ] && while IFS= read -r -d '' f; do files+=("$f"); done \
		< <(find "$corpus" -type f -print0 | sort -z)
	if [ ${#files[@]} -eq 0 ]; then
		echo "FAIL: fuzz.$name.corpus: got an empty $corpus, want seeds"
		continue
	fi
	log=$BUILD/fuzz/$name.corpus.log
	if "$bin" -runs=1 "${files[@]}" >"$log" 2>&1; then
		echo "PASS: fuzz.$name.corpus"
	else
		echo "FAIL: fuzz.$name.corpus: got a crash on a corpus file, want none: $(grep -m1 -E 'ERROR|Running: |fuzz_' "$log" | cut -c1-200)"
	fi
	[ "$FUZZ_SECONDS" -gt 0 ] || continue
	work=$(mktemp -d "/tmp/mxt-fuzz-$name.XXXXXX")
	log=$BUILD/fuzz/$name.run.log
	"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$art/$name-" "$work" "$corpus" >"$log" 2>&1
	rc=$?
	stats=$(grep -E '^#[0-9]+' "$log" | tail -n1 | sed -E 's/^#([0-9]+)[[:space:]]+[A-Z]+[[:space:]]+/\1 /')
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log")
	echo "# fuzz_$name: ${execs:-?} executions in ${FUZZ_SECONDS} s; last status: ${stats:-none}"
	if [ "$rc" -eq 0 ]; then
		echo "PASS: fuzz.$name.run"
	else
		echo "FAIL: fuzz.$name.run: got exit $rc, want 0: $(grep -m1 -E 'ERROR|fuzz_[a-z_]+:' "$log" | cut -c1-200) (input in $art)"
	fi
	rm -rf "$work"
done
