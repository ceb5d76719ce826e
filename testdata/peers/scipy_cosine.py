#!/usr/bin/python3
"""The scipy peer: item-item cosine top-N as a data scientist would write it.

Reads the (user, item) pairs that `recopub eval --export-interactions`
wrote (little-endian uint32 pairs), builds the binary user x item CSR
matrix, computes the co-occurrence matrix A.T @ A, turns it into cosines
and keeps each item's top N by argpartition, self excluded. Prints one
JSON line with the seconds and the peak RSS of the process.

Usage: scipy_cosine.py PAIRS TOP_N [OUT.npz]
"""
import json
import resource
import sys
import time

import numpy as np
import scipy.sparse as sp


def cosine_topn(pairs, top_n):
    users, items = pairs[:, 0], pairs[:, 1]
    n_users, n_items = int(users.max()) + 1, int(items.max()) + 1
    a = sp.csr_matrix(
        (np.ones(len(users), dtype=np.float32), (users, items)),
        shape=(n_users, n_items),
    )
    a.sum_duplicates()
    a.data[:] = 1.0  # binary: a user has an item or not

    co = (a.T @ a).tocsr()  # c_ij
    deg = co.diagonal().astype(np.float64)
    co.setdiag(0)
    co.eliminate_zeros()
    inv = np.zeros_like(deg)
    inv[deg > 0] = 1.0 / np.sqrt(deg[deg > 0])
    cos = (sp.diags(inv) @ co @ sp.diags(inv)).tocsr()

    indptr = np.zeros(n_items + 1, dtype=np.int64)
    out_items, out_scores = [], []
    for i in range(n_items):
        lo, hi = cos.indptr[i], cos.indptr[i + 1]
        row, cols = cos.data[lo:hi], cos.indices[lo:hi]
        if len(row) > top_n:
            keep = np.argpartition(-row, top_n - 1)[:top_n]
            row, cols = row[keep], cols[keep]
        order = np.lexsort((cols, -row))  # best first, ties by item id
        out_items.append(cols[order])
        out_scores.append(row[order])
        indptr[i + 1] = indptr[i] + len(order)
    return indptr, np.concatenate(out_items), np.concatenate(out_scores)


def main():
    path, top_n = sys.argv[1], int(sys.argv[2])
    pairs = np.fromfile(path, dtype="<u4").reshape(-1, 2)
    start = time.perf_counter()
    indptr, items, scores = cosine_topn(pairs, top_n)
    seconds = time.perf_counter() - start
    if len(sys.argv) > 3:
        np.savez(sys.argv[3], indptr=indptr, items=items, scores=scores)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peer": "scipy", "events": len(pairs), "seconds": round(seconds, 3),
                      "neighbours": int(indptr[-1]), "peak_rss_kb": rss_kb}))


if __name__ == "__main__":
    main()
