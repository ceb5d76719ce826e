// Package httpapitest holds the small published model the HTTP API's and
// the CLI's tests serve, so both assert against the same data.
package httpapitest

import "github.com/recopub/recopub/publish"

// Model has items a..e and x:manifest (an id that looks like a control
// key), segment and popularity lists, users alice, sku:1 and erin, and a
// batch list for erin.
func Model() *publish.Model {
	list := func(id string, pairs ...any) publish.List {
		l := publish.List{ID: id}
		for i := 0; i < len(pairs); i += 2 {
			l.Members = append(l.Members, pairs[i].(string))
			l.Scores = append(l.Scores, pairs[i+1].(float64))
		}
		return l
	}
	fam := func(name string, ls ...publish.List) publish.Family {
		return publish.Family{Name: name, Lists: publish.FuncLists{N: len(ls), Fn: func(i int, l *publish.List) {
			l.ID, l.Members, l.Scores = ls[i].ID, append(l.Members, ls[i].Members...), append(l.Scores, ls[i].Scores...)
		}}}
	}
	users := [][]string{
		{"alice", "membership_status", "gold", "income_bracket", "high", "recent_five_purchases.purchase_1", "c", "recent_five_purchases.purchase_2", "a"},
		{"sku:1", "recent_five_purchases.purchase_1", "b"},
		{"erin", "recent_five_purchases.purchase_1", "b"},
	}
	return &publish.Model{
		Families: []publish.Family{
			fam(publish.FamilySimilar, list("a", "b", 0.9, "c", 0.5, "x", 0.4), list("b", "a", 0.9, "d", 0.1), list("c", "d", 0.7, "a", 0.5),
				list("x:manifest", "a", 1.0)),
			fam(publish.FamilySegment, list("gold|high", "s1", 30.0, "a", 20.0)),
			fam(publish.FamilyPopular, list("", "p1", 100.0, "s1", 90.0, "p2", 80.0)),
			fam(publish.FamilyRec, list("erin", "b", 3.0, "e", 1.0)),
		},
		Users: publish.FuncHashes{N: len(users), Fn: func(i int, h *publish.Hash) {
			h.ID = users[i][0]
			for k := 1; k < len(users[i]); k += 2 {
				h.Fields, h.Values = append(h.Fields, users[i][k]), append(h.Values, users[i][k+1])
			}
		}},
	}
}
