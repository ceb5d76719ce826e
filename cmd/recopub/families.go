package main

import (
	"slices"

	"github.com/recopub/recopub/features"
	"github.com/recopub/recopub/model"
	"github.com/recopub/recopub/publish"
)

// families lists the list families a run publishes. The neighbour lists
// come first: --show and the summary read them from Families[0]. Then come
// the cross-occurrence lists of each --cross-event, the users' lists of
// --user-lists and the popularity lists of popularFamilies.
func (c *runCommand) families(ds *features.Dataset, nb *model.Neighbors, recs *userRecs, popular []publish.Family) []publish.Family {
	fams := []publish.Family{{Name: publish.FamilySimilar, Lists: neighborLists{nb, ds.Items}}}
	for _, cr := range c.model.cross {
		fams = append(fams, publish.Family{Name: publish.CrossFamily(features.Slug(cr.event)), Lists: neighborLists{cr.nb, ds.Items}})
	}
	if recs != nil {
		fams = append(fams, publish.Family{Name: publish.FamilyRec, Lists: recs})
	}
	return append(fams, popular...)
}

// popularFamilies computes global popularity (always: it serves users
// with no history) and, with --segment-cols and profiles, the popularity
// of each segment. It runs as soon as the matrix is built, so that the
// matrix need not outlive the similarity kernel.
func (c *runCommand) popularFamilies(ds *features.Dataset, mat *model.Matrix, profiles *features.Profiles) []publish.Family {
	topN, weighted := c.model.opt.TopN, c.model.opt.Weighted
	pop := mustPopular(model.Popular(mat, nil, 1, topN, weighted))
	fams := []publish.Family{{Name: publish.FamilyPopular, Lists: groupLists{pop, []string{""}, ds.Items}}}
	if cols := splitList(c.model.segmentCols); len(cols) > 0 && profiles != nil {
		group, ids := segments(ds.Users, profiles, cols)
		seg := mustPopular(model.Popular(mat, group, len(ids), topN, weighted))
		fams = append(fams, publish.Family{Name: publish.FamilySegment, Lists: groupLists{seg, ids, ds.Items}})
	}
	c.popularity = itemUsers(mat) // for the report
	return fams
}

// mustPopular panics on an error of model.Popular, which only reports
// groups that do not match the matrix: a bug here, not bad input.
func mustPopular(nb *model.Neighbors, err error) *model.Neighbors {
	if err != nil {
		panic(err)
	}
	return nb
}

// segments assigns each user the segment of its profile values for cols,
// joined with publish.SegmentID; a missing value counts as "". Users
// without a profile are in no segment (-1). Segment ids are sorted, so the
// numbering does not depend on the order of users.
func segments(users []string, profiles *features.Profiles, cols []string) (group []int32, ids []string) {
	group = make([]int32, len(users))
	keys := make([]string, len(users))
	var fields, values []string
	vals := make([]string, len(cols))
	seen := make(map[string]bool)
	for u, id := range users {
		var ok bool
		fields, values, ok = profiles.Traits(id, fields[:0], values[:0])
		if !ok {
			group[u] = -1
			continue
		}
		for k, col := range cols {
			vals[k] = ""
			if p := slices.Index(fields, col); p >= 0 {
				vals[k] = values[p]
			}
		}
		keys[u] = publish.SegmentID(vals...)
		seen[keys[u]] = true
	}
	for key := range seen {
		ids = append(ids, key)
	}
	slices.Sort(ids)
	for u := range users {
		if group[u] == 0 {
			i, _ := slices.BinarySearch(ids, keys[u])
			group[u] = int32(i)
		}
	}
	return group, ids
}

// groupLists presents per-group lists (popularity) with their ids and
// external item ids to the publisher.
type groupLists struct {
	n     *model.Neighbors
	ids   []string
	items []string
}

func (a groupLists) Len() int { return a.n.NumItems() }

func (a groupLists) List(i int, l *publish.List) {
	items, scores, _ := a.n.List(i)
	l.ID = a.ids[i]
	for k, it := range items {
		l.Members = append(l.Members, a.items[it])
		l.Scores = append(l.Scores, scores[k])
	}
}

var _ publish.ListSource = groupLists{}
