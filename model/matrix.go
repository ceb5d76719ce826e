package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Matrix is a sparse user x item matrix in CSR form, with its transpose.
//
// Every (user, item) pair appears at most once; its value is the summed
// weight of the events that produced it. The binary metrics only look at
// which pairs are present.
type Matrix struct {
	NumUsers, NumItems int
	UserPtr            []int64   // len NumUsers+1; user u's entries are [UserPtr[u], UserPtr[u+1])
	UserItem           []uint32  // distinct items of each user, ascending
	UserVal            []float32 // summed weight of (u, i)
	ItemPtr            []int64   // len NumItems+1 (the transpose)
	ItemUser           []uint32  // users of each item, ascending
	ItemVal            []float32
}

// NewMatrix builds a Matrix from parallel triples: event k is
// (users[k], items[k], weights[k]). Repeated (u, i) pairs are summed; weights
// nil means 1 per event.
//
// It sorts with two counting passes (by item, then stably by user), so it
// runs in O(events + users + items) time with no maps and no comparison
// sort. Besides the result it holds one index per event and one (item,
// weight) pair per event while it works.
//
// NewMatrix panics if the slices differ in length, if an id is out of range,
// or if there are more than 2^32-1 events: all are bugs in the caller, which
// owns the id mapping.
func NewMatrix(numUsers, numItems int, users, items []uint32, weights []float32) *Matrix {
	n := len(users)
	if len(items) != n || (weights != nil && len(weights) != n) {
		panic(fmt.Sprintf("model.NewMatrix: %d users, %d items, %d weights", n, len(items), len(weights)))
	}
	if numUsers < 0 || numItems < 0 || numUsers > math.MaxUint32 || numItems > math.MaxUint32 {
		panic(fmt.Sprintf("model.NewMatrix: bad dimensions %d x %d", numUsers, numItems))
	}
	if uint64(n) > math.MaxUint32 {
		panic(fmt.Sprintf("model.NewMatrix: %d events exceed 2^32-1", n))
	}
	byItem := orderByItem(numItems, items, numUsers, users)

	// Stable scatter by user: iterating in item order leaves each user's
	// items ascending, with duplicates adjacent.
	userPtr := make([]int64, numUsers+1)
	for _, u := range users {
		userPtr[u+1]++
	}
	for u := range numUsers {
		userPtr[u+1] += userPtr[u]
	}
	next := make([]int64, numUsers)
	copy(next, userPtr[:numUsers])
	tmpItem := make([]uint32, n)
	tmpVal := make([]float32, n)
	for _, k := range byItem {
		u := users[k]
		p := next[u]
		next[u]++
		tmpItem[p] = items[k]
		if weights == nil {
			tmpVal[p] = 1
		} else {
			tmpVal[p] = weights[k]
		}
	}
	byItem, next = nil, nil

	m := &Matrix{NumUsers: numUsers, NumItems: numItems, UserPtr: userPtr}
	m.UserItem, m.UserVal = dedupe(userPtr, tmpItem, tmpVal)
	m.buildTranspose()
	return m
}

// orderByItem returns the event indices ordered by item, stable. It also
// checks that every id is in range.
func orderByItem(numItems int, items []uint32, numUsers int, users []uint32) []uint32 {
	ptr := make([]uint32, numItems+1)
	for k, i := range items {
		if int(i) >= numItems || int(users[k]) >= numUsers {
			panic(fmt.Sprintf("model.NewMatrix: event %d (user %d, item %d) outside %d x %d",
				k, users[k], i, numUsers, numItems))
		}
		ptr[i+1]++
	}
	for i := range numItems {
		ptr[i+1] += ptr[i]
	}
	order := make([]uint32, len(items))
	for k, i := range items {
		order[ptr[i]] = uint32(k)
		ptr[i]++
	}
	return order
}

// dedupe merges adjacent equal items within each row, summing their values
// in float64, and rewrites ptr in place. It returns right-sized slices when
// merging freed a noticeable share of the space.
func dedupe(ptr []int64, item []uint32, val []float32) ([]uint32, []float32) {
	w := int64(0)
	for r := 0; r+1 < len(ptr); r++ {
		start, end := ptr[r], ptr[r+1]
		ptr[r] = w
		for p := start; p < end; {
			it, sum := item[p], float64(val[p])
			for p++; p < end && item[p] == it; p++ {
				sum += float64(val[p])
			}
			item[w], val[w] = it, float32(sum)
			w++
		}
	}
	ptr[len(ptr)-1] = w
	if w < int64(len(item))*3/4 {
		return append([]uint32(nil), item[:w]...), append([]float32(nil), val[:w]...)
	}
	return item[:w:w], val[:w:w]
}

// buildTranspose fills the item-major arrays from the user-major ones.
// Walking users in order leaves each item's users ascending.
func (m *Matrix) buildTranspose() {
	nnz := len(m.UserItem)
	m.ItemPtr = make([]int64, m.NumItems+1)
	for _, i := range m.UserItem {
		m.ItemPtr[i+1]++
	}
	for i := range m.NumItems {
		m.ItemPtr[i+1] += m.ItemPtr[i]
	}
	next := make([]int64, m.NumItems)
	copy(next, m.ItemPtr[:m.NumItems])
	m.ItemUser = make([]uint32, nnz)
	m.ItemVal = make([]float32, nnz)
	for u := range m.NumUsers {
		for p := m.UserPtr[u]; p < m.UserPtr[u+1]; p++ {
			i := m.UserItem[p]
			q := next[i]
			next[i]++
			m.ItemUser[q] = uint32(u)
			m.ItemVal[q] = m.UserVal[p]
		}
	}
}

// NNZ returns the number of distinct (user, item) pairs.
func (m *Matrix) NNZ() int { return len(m.UserItem) }

// ActiveUsers returns the number of users with at least one item. It is the
// N of the pmi and llr metrics.
func (m *Matrix) ActiveUsers() int {
	n := 0
	for u := range m.NumUsers {
		if m.UserPtr[u+1] > m.UserPtr[u] {
			n++
		}
	}
	return n
}

// Work returns the sum over users of deg(u)^2, where deg(u) is the number of
// distinct items of u. The similarity kernel's time is proportional to it.
func (m *Matrix) Work() int64 {
	var s int64
	for u := range m.NumUsers {
		d := m.UserPtr[u+1] - m.UserPtr[u]
		s += d * d
	}
	return s
}

// Downsample returns a matrix in which every user with more than maxItems
// distinct items keeps a random subset of exactly maxItems of them, as
// Mahout's maxPrefsPerUser does. The subset depends only on seed and the
// user id, so it is reproducible and independent of other users. Users at or
// under the limit, and the receiver, are left untouched; when no user is
// over the limit (or maxItems <= 0) the receiver itself is returned.
func (m *Matrix) Downsample(maxItems int, seed int64) *Matrix {
	if maxItems <= 0 {
		return m
	}
	nnz := int64(0)
	for u := range m.NumUsers {
		nnz += min(m.UserPtr[u+1]-m.UserPtr[u], int64(maxItems))
	}
	if nnz == int64(len(m.UserItem)) {
		return m
	}
	out := &Matrix{NumUsers: m.NumUsers, NumItems: m.NumItems}
	out.UserPtr = make([]int64, m.NumUsers+1)
	out.UserItem = make([]uint32, 0, nnz)
	out.UserVal = make([]float32, 0, nnz)
	for u := range m.NumUsers {
		start, end := m.UserPtr[u], m.UserPtr[u+1]
		if end-start <= int64(maxItems) {
			out.UserItem = append(out.UserItem, m.UserItem[start:end]...)
			out.UserVal = append(out.UserVal, m.UserVal[start:end]...)
		} else {
			out.UserItem, out.UserVal = sampleRow(out.UserItem, out.UserVal,
				m.UserItem[start:end], m.UserVal[start:end], maxItems, seed, u)
		}
		out.UserPtr[u+1] = int64(len(out.UserItem))
	}
	out.buildTranspose()
	return out
}

// sampleRow appends k of the entries of a row to dstItem and dstVal, chosen
// uniformly at random by selection sampling (Knuth's Algorithm S), which
// keeps them in ascending order.
func sampleRow(dstItem []uint32, dstVal []float32, item []uint32, val []float32, k int, seed int64, user int) ([]uint32, []float32) {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(user)))
	need, left := k, len(item)
	for p := range item {
		if rng.IntN(left) < need {
			dstItem = append(dstItem, item[p])
			dstVal = append(dstVal, val[p])
			need--
			if need == 0 {
				break
			}
		}
		left--
	}
	return dstItem, dstVal
}
