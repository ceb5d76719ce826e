package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
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

	spans []rowSpan // per ItemUser entry, set by relabel for the kernel
}

// NewMatrix builds a Matrix from parallel triples: event k is (users[k],
// items[k], weights[k]). Repeated (u, i) pairs are summed; weights nil means
// 1 per event.
//
// It scatters the events by user with one counting pass, packing item and
// weight into one word so each event costs a single random write, then
// sorts each user's short row and merges repeated items. Counting,
// scattering and sorting run on two workers. Besides the result it holds 8 bytes per event while it
// works. The sums of repeated pairs are taken in a fixed order (by weight
// bits), so the result does not depend on the order of the events.
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
	userPtr, packed := scatterByUser(numUsers, numItems, users, items, weights)
	sortRows(userPtr, packed)

	m := &Matrix{NumUsers: numUsers, NumItems: numItems, UserPtr: userPtr}
	m.UserItem, m.UserVal = dedupe(userPtr, packed)
	m.buildTranspose()
	return m
}

// scatterByUser groups the events by user, packing item and weight bits
// into one word each, with the row pointers. Two workers each count and
// then scatter half of the events; the second writes each row after the
// first's share of it. Row order is fixed later by sortRows, so the result
// does not depend on the split.
func scatterByUser(numUsers, numItems int, users, items []uint32, weights []float32) ([]int64, []uint64) {
	n := len(users)
	halves := [2][2]int{{0, n / 2}, {n / 2, n}}
	var next [2][]uint32 // counts, then each worker's next slot per user
	var bad [2]int
	var wg sync.WaitGroup
	for w, h := range halves {
		next[w] = make([]uint32, numUsers)
		bad[w] = -1
		wg.Go(func() {
			cnt := next[w]
			for k := h[0]; k < h[1]; k++ {
				u := users[k]
				if int(u) >= numUsers || int(items[k]) >= numItems {
					bad[w] = k
					return
				}
				cnt[u]++
			}
		})
	}
	wg.Wait()
	for _, k := range bad {
		if k >= 0 {
			panic(fmt.Sprintf("model.NewMatrix: event %d (user %d, item %d) outside %d x %d",
				k, users[k], items[k], numUsers, numItems))
		}
	}
	userPtr := make([]int64, numUsers+1)
	for u := range numUsers {
		c0 := next[0][u]
		userPtr[u+1] = userPtr[u] + int64(c0) + int64(next[1][u])
		next[0][u] = uint32(userPtr[u]) // n < 2^32
		next[1][u] = uint32(userPtr[u]) + c0
	}
	packed := make([]uint64, n)
	one := uint64(math.Float32bits(1))
	for w, h := range halves {
		wg.Go(func() {
			slot := next[w]
			for k := h[0]; k < h[1]; k++ {
				wb := one
				if weights != nil {
					wb = uint64(math.Float32bits(weights[k]))
				}
				u := users[k]
				packed[slot[u]] = uint64(items[k])<<32 | wb
				slot[u]++
			}
		})
	}
	wg.Wait()
	return userPtr, packed
}

// sortRows sorts every row of packed (item in the high word) on two
// workers; rows are independent.
func sortRows(ptr []int64, packed []uint64) {
	rows := len(ptr) - 1
	half := sort.Search(rows, func(r int) bool { return ptr[r] >= ptr[rows]/2 })
	var wg sync.WaitGroup
	for _, span := range [][2]int{{0, half}, {half, rows}} {
		wg.Go(func() {
			for r := span[0]; r < span[1]; r++ {
				slices.Sort(packed[ptr[r]:ptr[r+1]])
			}
		})
	}
	wg.Wait()
}

// dedupe merges adjacent equal items within each sorted row, summing their
// weights in float64, rewrites ptr in place and unpacks the result.
func dedupe(ptr []int64, packed []uint64) ([]uint32, []float32) {
	w := int64(0)
	for r := 0; r+1 < len(ptr); r++ {
		start, end := ptr[r], ptr[r+1]
		ptr[r] = w
		for p := start; p < end; {
			it := packed[p] >> 32
			sum := float64(math.Float32frombits(uint32(packed[p])))
			for p++; p < end && packed[p]>>32 == it; p++ {
				sum += float64(math.Float32frombits(uint32(packed[p])))
			}
			packed[w] = it<<32 | uint64(math.Float32bits(float32(sum)))
			w++
		}
	}
	ptr[len(ptr)-1] = w
	item, val := make([]uint32, w), make([]float32, w)
	for p, v := range packed[:w] {
		item[p], val[p] = uint32(v>>32), math.Float32frombits(uint32(v))
	}
	return item, val
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
