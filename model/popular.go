package model

import "fmt"

// Popular returns the topN most popular items of every group of users, as
// a Neighbors whose rows are the groups rather than items: row g lists
// group g's items, most popular first, ties broken by ascending item id.
//
// group[u] is user u's group, in [0, numGroups), or -1 to leave the user
// out; a nil group puts every user in group 0 (numGroups is then 1, the
// global list). An item's popularity in a group is the number of the
// group's users who have it or, when weighted, the sum of their values
// (Matrix.UserVal: summed event weights, time-decayed when the caller
// decayed them). Count always holds the number of users.
//
// It runs in O(NNZ + numGroups + the items each group touches) time and
// holds one NumItems-long accumulator.
func Popular(m *Matrix, group []int32, numGroups, topN int, weighted bool) (*Neighbors, error) {
	if group == nil {
		numGroups = 1
	} else if len(group) != m.NumUsers {
		return nil, fmt.Errorf("popular: %d group entries for %d users", len(group), m.NumUsers)
	}
	if topN <= 0 {
		topN = DefaultTopN
	}
	// Order the users by group with a counting sort.
	ptr := make([]int64, numGroups+1)
	for u := range m.NumUsers {
		g := groupOf(group, u)
		if g >= int32(numGroups) {
			return nil, fmt.Errorf("popular: user %d in group %d of %d", u, g, numGroups)
		}
		if g >= 0 {
			ptr[g+1]++
		}
	}
	for g := range numGroups {
		ptr[g+1] += ptr[g]
	}
	members := make([]uint32, ptr[numGroups])
	next := append([]int64(nil), ptr[:numGroups]...)
	for u := range m.NumUsers {
		if g := groupOf(group, u); g >= 0 {
			members[next[g]] = uint32(u)
			next[g]++
		}
	}

	counts := make([]uint32, m.NumItems)
	sums := make([]float64, m.NumItems)
	touched := make([]uint32, 0, 1024)
	top := &topK{}
	nb := &Neighbors{Ptr: make([]int64, 1, numGroups+1)}
	for g := range numGroups {
		touched = touched[:0]
		for _, u := range members[ptr[g]:ptr[g+1]] {
			for p := m.UserPtr[u]; p < m.UserPtr[u+1]; p++ {
				j := m.UserItem[p]
				if counts[j] == 0 {
					touched = append(touched, j)
				}
				counts[j]++
				sums[j] += float64(m.UserVal[p])
			}
		}
		top.reset(topN)
		for _, j := range touched {
			s := float64(counts[j])
			if weighted {
				s = sums[j]
			}
			top.push(candidate{score: s, item: j, count: counts[j]})
			counts[j], sums[j] = 0, 0
		}
		for _, c := range top.sorted() {
			nb.Item = append(nb.Item, c.item)
			nb.Score = append(nb.Score, c.score)
			nb.Count = append(nb.Count, c.count)
		}
		nb.Ptr = append(nb.Ptr, int64(len(nb.Item)))
	}
	return nb, nil
}

func groupOf(group []int32, u int) int32 {
	if group == nil {
		return 0
	}
	return group[u]
}
