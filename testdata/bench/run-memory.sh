#!/bin/sh
# Runs `recopub run` on generator exports with an old build (OLD, default
# main) and this checkout's, side by side, and prints for each run the
# peak RSS (/usr/bin/time %M), bytes of peak RSS per event, the wall time,
# the summary's stages (which add up to wall_seconds) and the load average.
# With REDIS=1 each run publishes to a fresh private redis-server on a free
# port (flushed between runs) and its used_memory and key count after the
# run are printed (one version: the run's gc has nothing older); otherwise
# runs are --dry-run.
#
#   testdata/bench/run-memory.sh /work/bench/s10m /work/bench/s30m
#   REDIS=1 ROUNDS=2 OLD=782a40c testdata/bench/run-memory.sh /work/bench/s10m
#
# An export: recopub gen --users 1000000 --items 200000 --events 10000000 --out /work/bench/s10m
set -eu
cd "$(dirname "$0")/../.."
GO=${GO:-go}
ROUNDS=${ROUNDS:-1}
OLD=${OLD:-main}
REDIS=${REDIS:-0}
[ $# -gt 0 ] || { echo "usage: $0 EXPORT_DIR..." >&2; exit 2; }
work=$(mktemp -d)
redis_pid=
cleanup() {
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
	git worktree remove --force "$work/old" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

git worktree add --detach "$work/old" "$OLD" >/dev/null 2>&1
(cd "$work/old" && $GO build -o "$work/recopub-old" ./cmd/recopub)
$GO build -o "$work/recopub-new" ./cmd/recopub

target=--dry-run
if [ "$REDIS" = 1 ]; then
	port=$((20000 + $$ % 20000))
	while redis-cli -p "$port" ping >/dev/null 2>&1; do port=$((port + 1)); done
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
	redis_pid=$!
	until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
	target="--redis redis://127.0.0.1:$port/0"
fi

for export in "$@"; do
	profiles=
	[ -d "$export/profiles" ] && profiles="--profiles $export/profiles"
	for round in $(seq "$ROUNDS"); do
		for which in old new; do
			[ "$REDIS" = 1 ] && redis-cli -p "$port" flushall >/dev/null
			load=$(cut -d' ' -f1-3 /proc/loadavg)
			# shellcheck disable=SC2086 # word splitting of $profiles and $target is intended
			/usr/bin/time -f '%M %e' -o "$work/time" "$work/recopub-$which" run --events "$export/events" $profiles \
				$target --summary "$work/summary.json" --log-level warn >"$work/out" 2>"$work/err" ||
				{ echo "$which failed:"; cat "$work/err"; exit 1; }
			read -r rss wall <"$work/time"
			events=$(sed -n 's/^events: \([0-9]*\) read.*/\1/p' "$work/out")
			stages=$(tr -d ' \n' <"$work/summary.json" | sed 's/.*"stages":{\([^}]*\)}.*/\1/')
			echo "$(basename "$export") round $round $which: peak RSS $((rss / 1024)) MiB, $((rss * 1024 / events)) B/event, wall ${wall}s, load average $load"
			echo "  stages: $stages"
			sed -n 's/.*"wall_seconds": *\([0-9.]*\).*/  wall_seconds: \1/p' "$work/summary.json"
			if [ "$REDIS" = 1 ]; then
				echo "  redis: $(redis-cli -p "$port" info memory | tr -d '\r' | grep '^used_memory:'), keys $(redis-cli -p "$port" dbsize)"
			fi
		done
	done
done
