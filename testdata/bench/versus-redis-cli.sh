#!/bin/sh
# Loads the same neighbour lists (sorted sets of 50 members) and user
# feature hashes with recopub's publish.Writer and with `redis-cli --pipe`
# of the equivalent ZADD/HSET stream, side by side on fresh private
# redis-servers (publish/bench_test.go, BenchmarkVersusRedisCLI), and prints
# the rates, the ratios against the issue's targets and the load average.
#
#   testdata/bench/versus-redis-cli.sh            # 20000 keys per family, 3 rounds
#   RECOPUB_BENCH_KEYS=50000 ROUNDS=5 testdata/bench/versus-redis-cli.sh
set -eu
cd "$(dirname "$0")/../.."
GO=${GO:-go}
ROUNDS=${ROUNDS:-3}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
$GO test -run XXX -bench 'VersusRedisCLI' -benchtime "${ROUNDS}x" ./publish/ | tee "$out"
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"

# A benchmark line reads: name N ns/op v1 unit1 v2 unit2 ...
awk '
/^BenchmarkVersusRedisCLI\// {
	split($1, parts, "/"); fam = parts[2]; sub(/-[0-9]+$/, "", fam)
	for (i = 5; i < NF; i += 2) m[$(i + 1)] = $i
	target = (fam == "neighbours") ? 3 : 1
	verdict = (m["ratio"] >= target) ? "meets" : "MISSES"
	printf "%-10s recopub %7.0f keys/s (RESTORE), %7.0f keys/s (ZADD/HSET); redis-cli --pipe %7.0f keys/s; ratio %.2fx, %s the %dx target\n",
		fam, m["restore-keys/s"], m["zadd-keys/s"], m["cli-keys/s"], m["ratio"], verdict, target
	if (m["ratio"] < target) missed = 1
	seen++
}
END { if (seen != 2) { print "benchmark output not understood"; exit 2 } exit missed }
' "$out"
