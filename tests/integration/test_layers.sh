#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# test_layers.sh - user/ keeps the layers HACKING.md documents: every
# source sits in a layer folder, and a module includes only headers of its
# own layer or of the layers below it (the simulator: the core's):
#
#   shared  <- core  <- kernel  <- daemon
#                  ^--- sim
#
# One PASS/FAIL line a folder, naming each include that breaks the rule
# (FILE: "HEADER" from LAYER).  Headers outside user/ (maps/, generated
# ones in the build dir, libraries) are not layered.  No root needed.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

declare -A MAY=(
	[shared]="shared"
	[core]="shared core"
	[kernel]="shared core kernel"
	[daemon]="shared core kernel daemon"
	[sim]="shared core sim"
)

# The layer of user/ that holds header $1, or "" when none does.
layer_of() {
	local d
	for d in "${!MAY[@]}"; do
		[ -f "$ROOT/user/$d/$1" ] && { echo "$d"; return; }
	done
}

stray=$(find "$ROOT/user" -maxdepth 1 -type f -name "*.[ch]" -printf "%f ")
if [ -z "$stray" ]; then
	echo "PASS: layers.no_stray_sources"
else
	echo "FAIL: layers.no_stray_sources: got user/ holding ${stray% }, want every source in a layer folder"
fi

for layer in shared core kernel daemon sim; do
	bad=()
	n=0
	for f in "$ROOT/user/$layer"/*.[ch]; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		while read -r h; do
			from=$(layer_of "$h")
			[ -z "$from" ] && continue
			[[ " ${MAY[$layer]} " == *" $from "* ]] ||
				bad+=("$(basename "$f"): \"$h\" from $from")
		done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/p' "$f")
	done
	if [ "$n" -eq 0 ]; then
		echo "FAIL: layers.$layer: got no sources in user/$layer, want the layer's modules"
	elif [ "${#bad[@]}" -eq 0 ]; then
		echo "PASS: layers.$layer"
	else
		echo "FAIL: layers.$layer: got ${bad[*]}, want includes from ${MAY[$layer]} only"
	fi
done
