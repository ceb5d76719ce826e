#!/usr/bin/python3
"""Formats `recopub eval --json` output as the markdown tables of the docs.

tables.py table < eval.json      one run: every model, every metric
tables.py topn  < eval.json ...  one row of the --top-n table
"""
import json
import sys


def table(r):
    line = f"{r['train_events']} training events, {r['test_pairs']} held-out pairs, {r['users']} test users"
    if r["cold_users"]:
        line += f", {r['cold_users']} cold users left out"
    print(line + ":\n")
    print("| model | precision@10 | recall@10 | ndcg@10 | map | map@10 | coverage | mean pop |")
    print("|---|---|---|---|---|---|---|---|")
    keys = ("precision", "recall", "ndcg", "map", "map_at_k", "coverage", "mean_popularity")
    for m in r["models"]:
        if m.get("error"):
            print(f"| {m['model']} | {m['error']} |||||||")
            continue
        print(f"| {m['model']} | " + " | ".join(f"{m[k]:.4f}" for k in keys) + " |")
    print()


def topn(r):
    rows = {m["model"]: m for m in r["models"]}
    cells = [f"{rows[m]['ndcg']:.4f} ({rows[m]['precision']:.4f})" for m in ("jaccard", "cosine", "llr", "ease", "rp3beta")]
    print(f"| {r['top_n']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    {"table": table, "topn": topn}[sys.argv[1]](json.load(sys.stdin))
