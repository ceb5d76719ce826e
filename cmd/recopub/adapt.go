package main

import (
	"github.com/recopub/recopub/features"
	"github.com/recopub/recopub/model"
	"github.com/recopub/recopub/publish"
)

// neighborLists presents model neighbours with external item ids to the
// publisher: groupLists (families.go) whose list ids are the items.
type neighborLists struct {
	n     *model.Neighbors
	items []string
}

func (a neighborLists) groups() groupLists { return groupLists{a.n, a.items, a.items} }

func (a neighborLists) Len() int                    { return a.n.NumItems() }
func (a neighborLists) List(i int, l *publish.List) { a.groups().List(i, l) }

// userHashes presents per-user features to the publisher.
type userHashes struct{ u *features.Users }

func (a userHashes) Len() int { return a.u.Len() }

func (a userHashes) Hash(i int, h *publish.Hash) {
	h.ID = a.u.ID(i)
	h.Fields, h.Values = a.u.Fields(i, h.Fields, h.Values)
}

var (
	_ publish.ListSource = neighborLists{}
	_ publish.HashSource = userHashes{}
)
