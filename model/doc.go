// Package model turns interactions into item-item neighbour lists and
// measures offline how well they recommend.
//
// A [Matrix] holds the interactions as a sparse user x item matrix, in CSR
// form both ways round (by user and by item). [NewMatrix] builds it from
// parallel (user, item, weight) slices with one counting pass by user and
// a sort of each user's row, summing repeated pairs. [Similar] computes,
// for every item, its TopN best neighbours under a [Metric] and returns
// them as [Neighbors], again in CSR form, best first, ties broken by
// ascending item id, the item itself excluded. [CrossOccurrence] does the
// same from one event's matrix to another's (Mahout's A'B: "viewed x,
// bought y"), and [Popular] ranks items by users per group (global and
// per-segment popularity lists). [Decay] applies SAR's time decay to
// per-event weights.
//
// # Evaluation
//
// [Split] holds out part of a set of [Interactions] (user-stratified,
// temporal or last-n), [Recommend] scores users from neighbour lists as
// SAR does (affinity times list scores, seen items removed, top k),
// [RecommendLists] from shared lists such as popularity, and [Evaluate]
// computes precision, recall, nDCG, MAP and map@k with Microsoft
// Recommenders' definitions, catalog coverage and the mean popularity of
// what was recommended.
//
// # Counts and metrics
//
// All metrics except BM25, TFIDF, weighted Cosine and EASE see the matrix as
// binary: a user either has an item or not, however many events or however
// much weight produced the pair. With
//
//	c_i  = number of users who have item i
//	c_ij = number of users who have both i and j
//	N    = number of users who have at least one item (Matrix.ActiveUsers)
//
// the scores are
//
//	count      c_ij
//	cosine     c_ij / sqrt(c_i c_j)
//	jaccard    c_ij / (c_i + c_j - c_ij)
//	lift       c_ij / (c_i c_j)
//	inclusion  c_ij / min(c_i, c_j)
//	pmi        log2(N c_ij / (c_i c_j))
//	llr        Dunning's G² on k11=c_ij, k12=c_i-c_ij, k21=c_j-c_ij,
//	           k22=N-c_i-c_j+c_ij, as Mahout computes it ([LogLikelihoodRatio])
//	rp3beta    c_i^-α · c_j^-β · Σ over users u of both of deg(u)^-α
//	           (Options.Alpha, Options.Beta; deg(u) = items of u)
//
// rp3beta is the random walk i -> u -> j of Christoffel et al. (2015) as
// the reference implementation of Ferrari Dacrema et al. (RecSys 2019)
// computes it: P_iu · P_ui with both transition matrices row-normalised
// and raised elementwise to α, column j divided by c_j^β.
//
// N counts only users with items, so that users who exist in the id space
// but never did anything do not inflate pmi and llr. Cosine is evaluated as
// c_ij · (1/sqrt(c_i)) · (1/sqrt(c_j)) with the factors precomputed, which
// can differ from the textbook expression in the last bit.
//
// With Options.Weighted, cosine uses the summed weights instead:
// sum_u w_ui w_uj / (|w_i| |w_j|).
//
// bm25 and tfidf re-weight the values (summed weights, so event counts when
// the weights are nil) as benfred/implicit's bm25_weight and tfidf_weight
// do, treating items as documents and users as terms, and then score pairs
// by the cosine of the weighted item columns. With x the value of (u, i),
// M = NumItems, idf_u = log(M) - log1p(deg(u)), len_i the sum of item i's
// values and avg the mean of len over all M items:
//
//	tfidf  w_ui = sqrt(x) idf_u
//	bm25   w_ui = x (K1+1) / (K1 ((1-B) + B len_i/avg) + x) idf_u
//
// implicit's TFIDFRecommender also takes the cosine, but its BM25Recommender
// ranks by the raw dot product; here both are cosines. An item whose
// weighted column is all zero gets no neighbours.
//
// Every metric reports c_ij in Neighbors.Count. Pairs with c_ij below
// MinSupport (default 1) or a score below MinScore are dropped, so by
// default only co-occurring pairs appear and negative scores (pmi of
// anti-correlated items) are dropped; set MinScore to math.Inf(-1) to keep
// them.
//
// # The kernel
//
// For each item i, Similar walks i's users and, for each, that user's
// items, counting c_ij in a dense per-worker accumulator with a list of the
// entries it touched; it then scores the touched items and keeps the best
// TopN (a buffer of about 2·TopN, cut back to TopN by quickselect when it
// fills, which is cheaper than a heap when many candidates are accepted
// and later displaced). The co-occurrence matrix is never materialised.
// Each user u is walked once for every one of its deg(u) items, so the time
// grows with
//
//	sum over users of deg(u)^2
//
// (reported by Matrix.Work), not with the number of events: a single user
// with 100k items costs 10^10 steps. Options.MaxUserItems caps this by
// keeping a seeded random subset of each heavy user's items before
// anything is counted, as Mahout's maxPrefsPerUser does.
//
// For the binary metrics the items are first renumbered by descending
// popularity (the result is unchanged): most rows touch the popular items,
// and numbered first their counters share cache lines. Each visited
// user's row bounds are then read from an array walked in order.
//
// Items are cut into chunks which workers claim in turn; each chunk's
// output has its own slot, and sums run in a fixed order, so the result is
// bit-for-bit the same for any number of workers. The context is checked
// before each chunk. Each worker holds a few NumItems-long arrays
// (counts, touched list, and for weighted metrics a float64 row).
//
// On the synthetic data of BenchmarkSimilar (Zipf items, Pareto users;
// 1M events give 172M deg² steps) one worker measured by CPU time managed
// about 100 million deg² steps per second for count, 60-80 million for
// cosine and bm25 and 40 million for llr. Scoring the 92M distinct (i, j)
// pairs there costs about as much as counting. MaxUserItems=500 cut the
// 172M steps to 67M.
//
// # Per-user lists
//
// [UserLists] scores every user's top-K unseen items from a [UserScorer]:
// from [*Neighbors] by SAR's sum (as [Recommend]), from [*EASEWeights]
// ([FitEASE]) by the user's row times the whole of B. It streams blocks of
// users in order to a callback, so memory does not grow with the number of
// users. [Neighbors.Truncate] cuts deep lists to the published depth.
//
// # EASE
//
// EASE is Steck's closed form: P = (XᵀX + λI)⁻¹ and B = I - P diag(1/diag P),
// so B_ij = -P_ij / P_jj with a zero diagonal. X is binary unless
// Options.Weighted. Item i's neighbours are row i of B (how much having i
// predicts j). Only positive weights are kept: a negative B_ij says i
// predicts the absence of j. EASE can rate items that never co-occur, so
// its MinSupport defaults to 0 and such neighbours carry Count 0.
//
// EASE is dense: it needs two NumItems x NumItems float64 matrices (the
// Gram matrix and its Cholesky factor) and O(NumItems³) time, so Similar
// refuses it above Options.MaxDenseItems with a [DenseSizeError].
package model
