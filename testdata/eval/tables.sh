#!/bin/bash
# Regenerates the tables of docs/evaluation.md and docs/model.md from the
# fixtures in this directory: bash testdata/eval/tables.sh > /tmp/tables.md
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${RECOPUB:-$(mktemp -d)/recopub}
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/recopub
ALL=count,cosine,jaccard,lift,inclusion,pmi,llr,bm25,tfidf,ease,rp3beta
OR=testdata/eval/online-retail.parquet
GR=testdata/eval/groceries.parquet

table() { /usr/bin/python3 testdata/eval/tables.py table; }

run() {
	echo '```sh'
	echo "recopub eval $*"
	echo '```'
	echo
	"$BIN" eval "$@" --json | table
}

echo "### Online Retail, user-stratified"
run --events $OR --metric $ALL --user-lists 20
echo "### Online Retail, last-n"
run --events $OR --split last-n --n 1 --metric count,cosine,jaccard,llr,bm25,ease,rp3beta --user-lists 20
echo "### Online Retail, temporal"
run --events $OR --split temporal --cutoff 2010-12-03 --metric count,cosine,jaccard,llr,ease
echo "### Groceries, user-stratified"
run --events $GR --metric $ALL --user-lists 20

echo "### top-n: ndcg@10 (precision@10)"
for f in $OR $GR; do
	echo
	echo "$f"
	echo
	echo "| top-n | jaccard | cosine | llr | ease | rp3beta |"
	echo "|---|---|---|---|---|---|"
	for n in 5 10 20 50 100 200 2000; do
		"$BIN" eval --events "$f" --metric jaccard,cosine,llr,ease,rp3beta --top-n $n --json | /usr/bin/python3 testdata/eval/tables.py topn
	done
done
