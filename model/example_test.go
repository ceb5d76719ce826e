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
