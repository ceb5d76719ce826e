package model_test

import (
	"context"
	"fmt"

	"github.com/recopub/recopub/model"
)

func ExampleSimilar() {
	// Three users; user 0 viewed item 1 twice.
	users := []uint32{0, 0, 0, 1, 1, 2, 2}
	items := []uint32{0, 1, 1, 0, 1, 1, 2}
	m := model.NewMatrix(3, 3, users, items, nil)

	nb, err := model.Similar(context.Background(), m, model.Options{Metric: model.Jaccard, TopN: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := range nb.NumItems() {
		items, scores, counts := nb.List(i)
		fmt.Println(i, items, scores, counts)
	}
	// Output:
	// 0 [1] [0.6666666666666666] [2]
	// 1 [0 2] [0.6666666666666666 0.3333333333333333] [2 1]
	// 2 [1] [0.3333333333333333] [1]
}

func ExampleEvaluate() {
	// Four users; hold out each user's last item and recommend two items
	// from jaccard neighbours. Every held-out item comes first.
	x := &model.Interactions{NumUsers: 4, NumItems: 3,
		User: []uint32{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3},
		Item: []uint32{0, 1, 2, 0, 2, 1, 1, 2, 0, 0, 1},
		Time: []uint32{1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2}}
	h, err := model.Split(x, model.SplitOptions{Mode: model.SplitLastN, N: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	train := h.Train.Matrix(nil)
	nb, _ := model.Similar(context.Background(), train, model.Options{Metric: model.Jaccard})
	recs, _ := model.Recommend(context.Background(), train, nb, nil, 2, model.AffinityBinary, 1)
	ev, _ := model.Evaluate(h.Test, recs, train, 2)
	fmt.Printf("precision@2 %.2f recall@2 %.2f users %d\n", ev.Precision, ev.Recall, ev.Users)
	// Output:
	// precision@2 0.50 recall@2 1.00 users 4
}
