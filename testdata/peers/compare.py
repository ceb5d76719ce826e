#!/usr/bin/python3
"""Checks that recopub and the scipy peer computed the same lists and
prints the speed and memory ratios against the targets.

Usage: compare.py RECOPUB.json SCIPY.json RECOPUB.lists SCIPY.npz

The .json files hold one line each from TestPeerPairs and scipy_cosine.py
(the best run of each); the lists are compared item by item: the same
number of neighbours and the same scores best first (to 1e-6). Tied scores
may list different items, so items are compared only above the last tie.
"""
import json
import sys

import numpy as np


def read_lists(path):
    with open(path, "rb") as f:
        n = int(np.frombuffer(f.read(8), "<i8")[0])
        ptr = np.frombuffer(f.read(8 * n), "<i8")
        total = int(ptr[-1])
        items = np.frombuffer(f.read(4 * total), "<u4")
        scores = np.frombuffer(f.read(8 * total), "<f8")
    return ptr, items, scores


def compare(ours, theirs):
    ptr, items, scores = ours
    tptr, titems, tscores = theirs["indptr"], theirs["items"], theirs["scores"]
    rows = min(len(ptr), len(tptr)) - 1
    bad = 0
    for i in range(rows):
        a, b = slice(ptr[i], ptr[i + 1]), slice(tptr[i], tptr[i + 1])
        sa, sb = scores[a], tscores[b]
        if len(sa) != len(sb) or not np.allclose(sa, sb, rtol=1e-6, atol=0):
            bad += 1
            continue
        # Above the lowest score every item must agree; at the cut ties
        # may be broken differently.
        firm = sa > sa[-1] if len(sa) else np.zeros(0, dtype=bool)
        if not np.array_equal(np.sort(items[a][firm]), np.sort(titems[b][firm])):
            bad += 1
    extra = abs(len(ptr) - len(tptr))  # items one side has and the other not
    return rows, bad + extra


def main():
    ours = json.loads(open(sys.argv[1]).read())
    theirs = json.loads(open(sys.argv[2]).read())
    rows, bad = compare(read_lists(sys.argv[3]), np.load(sys.argv[4]))
    speed = theirs["seconds"] / ours["seconds"]
    rss = ours["peak_rss_kb"] / theirs["peak_rss_kb"]
    print(f"events {ours['events']}, sum deg^2 {ours['work_deg2']}, neighbours recopub {ours['neighbours']} scipy {theirs['neighbours']}")
    print(f"lists: {rows - bad} of {rows} items agree" + ("" if bad == 0 else f", {bad} DIFFER"))
    print(f"model stage: recopub {ours['seconds']:.2f} s on {ours['workers']} cores, scipy {theirs['seconds']:.2f} s: "
          f"recopub {speed:.1f}x faster (target >= 15x: {'met' if speed >= 15 else 'NOT met'})")
    print(f"peak RSS: recopub {ours['peak_rss_kb'] / 1024:.0f} MiB, scipy {theirs['peak_rss_kb'] / 1024:.0f} MiB: "
          f"recopub {100 * rss:.0f}% of scipy's (target <= 10%: {'met' if rss <= 0.10 else 'NOT met'})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
