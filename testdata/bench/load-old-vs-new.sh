#!/bin/sh
# Loads the same generator export with the retired hand-written page
# decoder (commit 3006c5e, the last before issue 10) and with the current
# library decoding (parquet-go's page API and arrow-go), side by side,
# ROUNDS interleaved rounds, and prints events/s, CPU seconds and bytes
# allocated per load with the load average of each round.
#
#   testdata/bench/load-old-vs-new.sh /tmp/s10m/events
#
# The export: recopub gen --users 1000000 --items 200000 --events 10000000 --out /tmp/s10m
set -eu
cd "$(dirname "$0")/../.."
GO=${GO:-go}
ROUNDS=${ROUNDS:-3}
OLD=${OLD:-3006c5e}
events=${1:?usage: $0 EVENTS_DIR}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git worktree add --detach "$work/old" "$OLD" >/dev/null 2>&1
(cd "$work/old" && $GO test -c -o "$work/old.test" ./features/)
$GO test -c -o "$work/new.test" ./features/
for round in $(seq "$ROUNDS"); do
	for which in old new; do
		echo "round $round $which, load average $(cut -d' ' -f1-3 /proc/loadavg)"
		RECOPUB_BENCH_EVENTS="$events" "$work/$which.test" -test.run XXX \
			-test.bench 'BenchmarkLoad/(dedup|nodedup)$' -test.benchtime 3x -test.benchmem | grep '^Benchmark'
	done
done
