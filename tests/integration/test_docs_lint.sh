#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# test_docs_lint.sh - the shipped documents parse: every man page passes
# groff's mdoc warnings, and the example configuration is one the daemon
# accepts.  No root needed.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
for m in "$ROOT"/man/*.[0-9]; do
	out=$(groff -mandoc -ww -z "$m" 2>&1)
	if [ -z "$out" ]; then
		echo "PASS: man.$(basename "$m")"
	else
		echo "FAIL: man.$(basename "$m"): got warnings '$(echo "$out" | head -n 3 | tr '\n' ' ')', want none"
	fi
done
out=$("$BUILD/mxthrottled" -n -f "$ROOT/packaging/mxthrottle.conf" 2>&1)
if [ "$out" = "configuration OK" ]; then
	echo "PASS: packaging.mxthrottle.conf"
else
	echo "FAIL: packaging.mxthrottle.conf: got '$out', want 'configuration OK'"
fi
