package model

import (
	"math"
	"testing"
)

// TestEvaluateHand checks every metric on a case computed by hand from
// Microsoft Recommenders' definitions, with k = 3:
//
//	user  test items   recommendations  hits (rank)
//	u0    1 4 7 8      1 2 4            1 (1), 4 (3)
//	u1    5            0 5 6 8          5 (2); 8 is past k
//	u2    0 2 3 9      none             not in U, nDCG 0
//	u3    none         1                ignored but for coverage
func TestEvaluateHand(t *testing.T) {
	test := NewMatrix(4, 10,
		[]uint32{0, 0, 0, 0, 1, 2, 2, 2, 2},
		[]uint32{1, 4, 7, 8, 5, 0, 2, 3, 9}, nil)
	recs := &Recommendations{
		Ptr:   []int64{0, 3, 7, 7, 8},
		Item:  []uint32{1, 2, 4, 0, 5, 6, 8, 1},
		Score: []float64{3, 2, 1, 4, 3, 2, 1, 1},
	}
	// Training: item i is held by users 0..min(i, 3), so by min(i,3)+1 of
	// the 4 users.
	var tu, ti []uint32
	for i := range 10 {
		for u := range min(i, 3) + 1 {
			tu, ti = append(tu, uint32(u)), append(ti, uint32(i))
		}
	}
	train := NewMatrix(4, 10, tu, ti, nil)

	got, err := Evaluate(test, recs, train, 3)
	if err != nil {
		t.Fatal(err)
	}
	ln := math.Log
	idcg3 := 1/ln(2) + 1/ln(3) + 1/ln(4)
	want := Evaluation{
		K:         3,
		Precision: (2.0/3 + 1.0/3) / 2,
		Recall:    (2.0/4 + 1.0/1) / 2,
		MAP:       ((1.0/1+2.0/3)/4 + (1.0/2)/1) / 2,
		MAPAtK:    ((1.0/1+2.0/3)/3 + (1.0/2)/1) / 2,
		NDCG:      ((1/ln(2)+1/ln(4))/idcg3 + (1/ln(3))/(1/ln(2)) + 0) / 3,
		// Shown in the first 3: 1 2 4 | 0 5 6 | 1 -> 6 of 10 items.
		Coverage: 6.0 / 10,
		// Holders of the 7 shown slots, of 4 active users.
		MeanPopularity: (2 + 3 + 4 + 1 + 4 + 4 + 2) / 4.0 / 7,
		Users:          2,
		TestUsers:      3,
	}
	check := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %.15g, want %.15g", name, got, want)
		}
	}
	check("precision", got.Precision, want.Precision)
	check("recall", got.Recall, want.Recall)
	check("map", got.MAP, want.MAP)
	check("map_at_k", got.MAPAtK, want.MAPAtK)
	check("ndcg", got.NDCG, want.NDCG)
	check("coverage", got.Coverage, want.Coverage)
	check("mean popularity", got.MeanPopularity, want.MeanPopularity)
	if got.Users != want.Users || got.TestUsers != want.TestUsers || got.K != 3 {
		t.Errorf("users %d/%d k %d, want %d/%d 3", got.Users, got.TestUsers, got.K, want.Users, want.TestUsers)
	}
}

func TestEvaluateErrors(t *testing.T) {
	m := handMatrix()
	recs := &Recommendations{Ptr: make([]int64, 5)}
	if _, err := Evaluate(m, recs, m, 0); err == nil {
		t.Error("k=0 accepted")
	}
	if _, err := Evaluate(m, &Recommendations{Ptr: make([]int64, 3)}, m, 10); err == nil {
		t.Error("shape mismatch accepted")
	}
	got, err := Evaluate(m, recs, m, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got.Users != 0 || got.TestUsers != 4 || got.Precision != 0 || got.NDCG != 0 {
		t.Errorf("no recommendations: %+v", got)
	}
}
