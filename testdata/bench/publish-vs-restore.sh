#!/bin/sh
# Times `recopub publish --from` of a model directory against
# `redis-cli --pipe` RESTOREing exactly the same DUMP payloads, each into
# a fresh private redis-server, side by side in the same run, and fails
# when publish takes more than MAX_RATIO times as long (issue 15: 1.5).
#
#   testdata/bench/publish-vs-restore.sh             # 5M-event model, 5 rounds
#   ROUNDS=7 testdata/bench/publish-vs-restore.sh /path/to/model-dir
#   BASELINE=/path/to/old/recopub testdata/bench/publish-vs-restore.sh  # old build beside the new
#
# Without a model directory it generates one (recopub gen --users 500000
# --items 100000 --events 5000000; run --dry-run --out) under
# $BENCH_DIR (default /tmp/recopub-bench), once. Each round starts fresh
# servers for every measurement; the RESTORE stream is the DUMP of every
# key of the version the first round published (testdata/bench/
# restorestream, with rdbcompression off so the payloads are recopub's
# own), sent with the same "RESTORE key 0 payload REPLACE" recopub sends.
# Printed per round: wall seconds, Redis CPU (used_cpu_user+sys over the
# wall time), the ratio and the 1-minute load average; the verdict uses
# the median ratio. CPU profiles of recopub are kept in $BENCH_DIR.
set -eu
cd "$(dirname "$0")/../.."
GO=${GO:-go}
ROUNDS=${ROUNDS:-5}
MAX_RATIO=${MAX_RATIO:-1.5}
BENCH_DIR=${BENCH_DIR:-/tmp/recopub-bench}
RECOPUB=${RECOPUB:-bin/recopub}
BASELINE=${BASELINE:-}
mkdir -p "$BENCH_DIR"
work=$(mktemp -d "$BENCH_DIR/run.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

[ -x "$RECOPUB" ] || $GO build -o "$RECOPUB" ./cmd/recopub
$GO build -o "$work/restorestream" ./testdata/bench/restorestream

model=${1:-}
if [ -z "$model" ]; then
	model=$BENCH_DIR/pub-5m/model
	if [ ! -f "$model/manifest.json" ]; then
		"$RECOPUB" gen --users 500000 --items 100000 --events 5000000 --out "$BENCH_DIR/pub-5m"
		"$RECOPUB" run --dry-run --out "$model" --events "$BENCH_DIR/pub-5m/events" \
			--profiles "$BENCH_DIR/pub-5m/profiles" --log-level warn >/dev/null
	fi
fi

# start_server starts a fresh redis-server on a free port in [27100,
# 27999] and sets $port and $pid.
start_server() {
	p=$(( 27100 + $$ % 800 ))
	for _ in $(seq 1 50); do
		p=$(( p >= 27999 ? 27100 : p + 1 ))
		dir=$work/redis-$p
		mkdir -p "$dir"
		redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
			--logfile "$dir/log" >/dev/null 2>&1 &
		pid=$!
		for _ in $(seq 1 100); do
			if redis-cli -p "$p" ping >/dev/null 2>&1; then
				port=$p
				pids="$pids $pid"
				return 0
			fi
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.02
		done
		kill "$pid" 2>/dev/null || true
	done
	echo "no free port for redis-server" >&2
	exit 2
}

stop_server() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

now() { date +%s.%N; }
redis_cpu() { redis-cli -p "$port" info cpu | awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { printf "%.3f", s }'; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# measure NAME CMD...: runs CMD against a fresh server, prints a line and
# sets $secs.
measure() {
	name=$1
	shift
	start_server
	load=$(load1)
	c0=$(redis_cpu)
	t0=$(now)
	"$@"
	t1=$(now)
	c1=$(redis_cpu)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	cpu=$(awk -v a="$c0" -v b="$c1" -v s="$secs" 'BEGIN { printf "%.0f", 100 * (b - a) / s }')
	printf '  %-22s %7.3f s   redis cpu %3s%%   load %s\n' "$name" "$secs" "$cpu" "$load"
}

# publish_with BIN [PROFILE]: a baseline build may predate --cpuprofile.
publish_with() {
	bin=$1
	shift
	"$bin" publish --from "$model" --redis "redis://127.0.0.1:$port/0" --log-level warn "$@" >"$work/publish.out"
}

echo "model: $model ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
ratios=""
for round in $(seq 1 "$ROUNDS"); do
	echo "round $round"
	if [ -n "$BASELINE" ]; then
		measure "publish (baseline)" publish_with "$BASELINE"
		base=$secs
		stop_server
	fi
	measure "recopub publish --from" publish_with "$RECOPUB" --cpuprofile "$BENCH_DIR/publish-$round.prof"
	pub=$secs
	if [ ! -f "$work/stream.resp" ]; then
		"$work/restorestream" --addr "127.0.0.1:$port" >"$work/stream.resp"
		echo "  stream: $(wc -c <"$work/stream.resp") bytes of RESTORE commands"
	fi
	stop_server
	measure "redis-cli --pipe" sh -c "redis-cli -p $port --pipe <'$work/stream.resp' >'$work/pipe.out'"
	pipe=$secs
	grep -q 'errors: 0,' "$work/pipe.out" || { cat "$work/pipe.out"; exit 2; }
	stop_server
	ratio=$(awk -v a="$pub" -v b="$pipe" 'BEGIN { printf "%.2f", a / b }')
	ratios="$ratios $ratio"
	if [ -n "$BASELINE" ]; then
		echo "  ratio publish / pipe: $ratio (baseline $(awk -v a="$base" -v b="$pipe" 'BEGIN { printf "%.2f", a / b }'))"
	else
		echo "  ratio publish / pipe: $ratio"
	fi
done
median=$(echo "$ratios" | tr ' ' '\n' | grep . | sort -n | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }')
echo "median ratio $median (target <= $MAX_RATIO); load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v m="$median" -v t="$MAX_RATIO" 'BEGIN { exit !(m <= t) }' || { echo "publish --from is slower than $MAX_RATIO x redis-cli --pipe"; exit 1; }
