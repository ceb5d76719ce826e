package model

import (
	"fmt"
	"math"
	"slices"
)

// Evaluation is the ranking quality of recommendations against held-out
// pairs. The definitions are Microsoft Recommenders'
// (recommenders/evaluation/python_evaluation.py, relevancy "top_k"): only
// the first K recommendations of each user count, and with hit_u the
// number of them that are in u's test items T_u,
//
//	Precision  mean over U of hit_u / K
//	Recall     mean over U of hit_u / |T_u|
//	MAP        mean over U of (sum over hits of hits-so-far / rank) / |T_u|   (their map)
//	MAPAtK     the same divided by min(|T_u|, K) instead                       (their map_at_k)
//	NDCG       mean over all test users of DCG / IDCG with binary relevance,
//	           DCG = sum over hits of 1/ln(1+rank), IDCG = sum for r = 1..min(|T_u|, K) of 1/ln(1+r)
//
// where U is the set of users who have both test items and at least one
// recommendation. NDCG, as there, averages over every user with test items
// (a user without recommendations scores 0). Coverage is catalog coverage
// (their catalog_coverage): distinct recommended items over the items that
// occur in training. MeanPopularity is the mean, over every recommended
// (user, item), of the share of training users who have the item: 1 means
// everyone already has what is recommended.
type Evaluation struct {
	K              int     `json:"k"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	NDCG           float64 `json:"ndcg"`
	MAP            float64 `json:"map"`
	MAPAtK         float64 `json:"map_at_k"`
	Coverage       float64 `json:"coverage"`
	MeanPopularity float64 `json:"mean_popularity"`
	Users          int     `json:"users"`      // |U|
	TestUsers      int     `json:"test_users"` // users with test items
}

// Evaluate scores recs against the held-out pairs in test; train supplies
// the catalogue and popularity for Coverage and MeanPopularity.
func Evaluate(test *Matrix, recs *Recommendations, train *Matrix, k int) (Evaluation, error) {
	if k <= 0 {
		return Evaluation{}, fmt.Errorf("evaluate: k must be positive, got %d", k)
	}
	if recs.NumUsers() != test.NumUsers || train.NumUsers != test.NumUsers || train.NumItems != test.NumItems {
		return Evaluation{}, fmt.Errorf("evaluate: shapes differ: test %dx%d, train %dx%d, %d recommendation lists",
			test.NumUsers, test.NumItems, train.NumUsers, train.NumItems, recs.NumUsers())
	}
	m := Evaluation{K: k}
	var ndcgSum float64
	for u := range test.NumUsers {
		truth := test.UserItem[test.UserPtr[u]:test.UserPtr[u+1]]
		if len(truth) == 0 {
			continue
		}
		m.TestUsers++
		items, _ := recs.List(u)
		if len(items) > k {
			items = items[:k]
		}
		if len(items) == 0 {
			continue
		}
		m.Users++
		hits, ap, dcg := 0, 0.0, 0.0
		for r, j := range items {
			if _, ok := slices.BinarySearch(truth, j); !ok {
				continue
			}
			hits++
			rank := float64(r + 1)
			ap += float64(hits) / rank
			dcg += 1 / math.Log(1+rank)
		}
		var idcg float64
		for r := 1; r <= min(len(truth), k); r++ {
			idcg += 1 / math.Log(1+float64(r))
		}
		n := float64(len(truth))
		m.Precision += float64(hits) / float64(k)
		m.Recall += float64(hits) / n
		m.MAP += ap / n
		m.MAPAtK += ap / math.Min(n, float64(k))
		ndcgSum += dcg / idcg
	}
	if m.Users > 0 {
		u := float64(m.Users)
		m.Precision, m.Recall, m.MAP, m.MAPAtK = m.Precision/u, m.Recall/u, m.MAP/u, m.MAPAtK/u
	}
	if m.TestUsers > 0 {
		m.NDCG = ndcgSum / float64(m.TestUsers)
	}
	m.Coverage, m.MeanPopularity = catalogue(train, recs, k)
	return m, nil
}

// catalogue returns catalog coverage and mean popularity of the first k
// recommendations of every user.
func catalogue(train *Matrix, recs *Recommendations, k int) (coverage, popularity float64) {
	inTrain, active := 0, float64(train.ActiveUsers())
	for i := range train.NumItems {
		if train.ItemPtr[i+1] > train.ItemPtr[i] {
			inTrain++
		}
	}
	shown := make([]bool, train.NumItems)
	distinct, slots := 0, 0
	var pop float64
	for u := range recs.NumUsers() {
		items, _ := recs.List(u)
		for _, j := range items[:min(len(items), k)] {
			if !shown[j] {
				shown[j] = true
				distinct++
			}
			slots++
			pop += float64(train.ItemPtr[j+1]-train.ItemPtr[j]) / active
		}
	}
	if inTrain > 0 {
		coverage = float64(distinct) / float64(inTrain)
	}
	if slots > 0 {
		popularity = pop / float64(slots)
	}
	return coverage, popularity
}
