#!/bin/bash
# Peer comparison for `make bench`: recopub's model stage against the
# scipy script a data scientist would write (scipy_cosine.py), on exactly
# the same interactions, timed in the same run. Sizes default to the
# generator's 10M events / 1M users / 200k items; override with
# EVENTS, USERS, ITEMS, TOPN; RUNS (default 3) runs of each side, best kept.
# SHAPE=pareto uses model's BenchmarkSimilar data instead (EVENTS events,
# Pareto user activity: far more co-occurrences per event). Data is made
# once under PEERS_DIR (default /tmp/recopub-peers).
set -euo pipefail
cd "$(dirname "$0")/../.."

USERS=${USERS:-1000000}
ITEMS=${ITEMS:-200000}
EVENTS=${EVENTS:-10000000}
TOPN=${TOPN:-50}
RUNS=${RUNS:-3}
PY=/usr/bin/python3
SHAPE=${SHAPE:-generator}
DIR=${PEERS_DIR:-/tmp/recopub-peers}/u$USERS-i$ITEMS-e$EVENTS
if [ "$SHAPE" = pareto ]; then
	DIR=${PEERS_DIR:-/tmp/recopub-peers}/pareto-e$EVENTS
fi

if ! $PY -c 'import numpy, scipy' 2>/dev/null; then
	echo "peers: $PY lacks numpy/scipy; install Debian's: apt-get install -y python3-scipy python3-numpy" >&2
	exit 1
fi
mkdir -p "$DIR"
go build -o "$DIR/recopub" ./cmd/recopub
go test -c -o "$DIR/model.test" ./model
if [ "$SHAPE" = pareto ] && [ ! -f "$DIR/pairs.u32" ]; then
	RECOPUB_PEER_PAIRS="$DIR/pairs.u32" RECOPUB_PEER_SYNTHETIC="$EVENTS" \
		"$DIR/model.test" -test.run '^TestPeerPairs$' -test.count=1 >/dev/null
fi
if [ ! -f "$DIR/pairs.u32" ]; then
	if [ ! -d "$DIR/gen/events" ]; then
		"$DIR/recopub" gen --out "$DIR/gen" --users "$USERS" --items "$ITEMS" --events "$EVENTS" >/dev/null
	fi
	"$DIR/recopub" eval --events "$DIR/gen/events" --export-interactions "$DIR/pairs.u32"
fi


echo "peers ($SHAPE): $(uptime | sed 's/.*load/load/') on $(nproc) cores; $EVENTS events, top $TOPN"
: >"$DIR/recopub.runs"
: >"$DIR/scipy.runs"
for run in $(seq "$RUNS"); do
	RECOPUB_PEER_PAIRS="$DIR/pairs.u32" RECOPUB_PEER_TOPN="$TOPN" RECOPUB_PEER_OUT="$DIR/recopub.lists" \
		"$DIR/model.test" -test.run '^TestPeerPairs$' -test.count=1 | grep '^{' | tee -a "$DIR/recopub.runs"
	$PY testdata/peers/scipy_cosine.py "$DIR/pairs.u32" "$TOPN" "$DIR/scipy.npz" | tee -a "$DIR/scipy.runs"
done
$PY - "$DIR" <<'PY'
import json, sys
d = sys.argv[1]
for side in ("recopub", "scipy"):
    rows = [json.loads(l) for l in open(f"{d}/{side}.runs") if l.startswith("{")]
    best = min(rows, key=lambda r: r["seconds"])
    best["peak_rss_kb"] = max(r["peak_rss_kb"] for r in rows)
    open(f"{d}/{side}.json", "w").write(json.dumps(best))
PY
$PY testdata/peers/compare.py "$DIR/recopub.json" "$DIR/scipy.json" "$DIR/recopub.lists" "$DIR/scipy.npz"
