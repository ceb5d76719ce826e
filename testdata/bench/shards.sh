#!/bin/sh
# The job on one export as one process and as N shards, against a fresh
# private redis-server (never 127.0.0.1:6379), with the wall time and
# peak RSS (/usr/bin/time %M) of every process and the load average:
#   one      recopub run, unsharded
#   apart    the N shards one after another, then recopub flip: each
#            shard's wall and memory are what one machine of an N-machine
#            job spends (they share nothing but Redis)
#   together the N shards at once on this machine, then recopub flip:
#            the speed-up here, bounded by its cores
#
#   testdata/bench/shards.sh /work/bench/s10m 2     # or: make bench-shards DATA=... SHARDS=...
set -eu
cd "$(dirname "$0")/../.."
DATA=${1:?usage: shards.sh EXPORT_DIR [SHARDS]}
N=${2:-2}
BIN=${BIN:-bin/recopub}
EXTRA=${EXTRA:-}
tmp=$(mktemp -d)
port=$((20000 + $$ % 20000))
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" --daemonize yes --pidfile "$tmp/redis.pid" --logfile "$tmp/redis.log" >/dev/null
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
for _ in 1 2 3 4 5 6 7 8 9 10; do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.2; done
url="redis://127.0.0.1:$port/0"
load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
job() { # label, namespace, extra args...: recopub run under /usr/bin/time
	label=$1 ns=$2
	shift 2
	# shellcheck disable=SC2086
	/usr/bin/time -f "$label wall %e s, peak RSS %M KB" -o "$tmp/$label.time" \
		"$BIN" run --events "$DATA/events" --profiles "$DATA/profiles" --redis "$url" --namespace "$ns" $EXTRA "$@" \
		>"$tmp/$label.out" 2>"$tmp/$label.err" || { echo "$label failed:"; tail -5 "$tmp/$label.err"; exit 1; }
	echo "$(cat "$tmp/$label.time"); $(grep '^seconds' "$tmp/$label.out")"
}
flip() { # namespace, version
	t=$(now)
	"$BIN" flip --redis "$url" --namespace "$1" --version "$2" --shards "$N"
	echo "flip: $(echo "$(now) - $t" | bc) s (counts every key of the version, then gc)"
}
version() { echo "$(date -u +%Y%m%dT%H%M%SZ)-$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')"; }

echo "export $DATA, $N shards, $(nproc) cores; load average $(load)"
redis-cli -p "$port" flushall >/dev/null
t0=$(now)
job one one
echo "one: total $(echo "$(now) - $t0" | bc) s; load average $(load)"

redis-cli -p "$port" flushall >/dev/null
v=$(version)
t0=$(now)
i=0
while [ "$i" -lt "$N" ]; do
	job "apart-$i" apart --shard "$i/$N" --version "$v"
	i=$((i + 1))
done
flip apart "$v"
echo "apart: total $(echo "$(now) - $t0" | bc) s; load average $(load)"

redis-cli -p "$port" flushall >/dev/null
v=$(version)
t0=$(now)
i=0
while [ "$i" -lt "$N" ]; do
	job "together-$i" together --shard "$i/$N" --version "$v" &
	i=$((i + 1))
done
wait
flip together "$v"
echo "together: total $(echo "$(now) - $t0" | bc) s; load average $(load)"
