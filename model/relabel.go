package model

import "slices"

// relabel returns a copy of m whose items are renumbered by descending
// number of users (ties by id), and orig, which maps a new id back to the
// item's id in m. The copy also carries spans (see rowSpan).
//
// The kernel's dense accumulators are indexed by item. On long-tailed data
// a few items take most interactions; numbered first, their counters share
// a few cache lines and stay in L1/L2 instead of being scattered over the
// whole array, which roughly halves the cost of counting. Neighbour lists
// computed on the copy carry orig ids and are put back in m's order by
// assemble, and ties are still broken by m's ids, so the result is the
// same as without relabelling.
//
// The copy is the kernel's alone and holds what the binary kernels read:
// which pairs exist, not their values (UserVal and ItemVal are nil).
func relabel(m *Matrix) (*Matrix, []uint32) {
	orig := make([]uint32, m.NumItems)
	for i := range orig {
		orig[i] = uint32(i)
	}
	deg := itemDegrees(m)
	slices.SortStableFunc(orig, func(a, b uint32) int { return int(deg[b]) - int(deg[a]) })
	newID := make([]uint32, m.NumItems)
	for k, i := range orig {
		newID[i] = uint32(k)
	}
	out := &Matrix{NumUsers: m.NumUsers, NumItems: m.NumItems, UserPtr: m.UserPtr}
	packed := make([]uint64, len(m.UserItem))
	for p, i := range m.UserItem {
		packed[p] = uint64(newID[i]) << 32
	}
	sortRows(m.UserPtr, packed)
	out.UserItem = make([]uint32, len(packed))
	for p, v := range packed {
		out.UserItem[p] = uint32(v >> 32)
	}
	// The item-major side is m's columns in the new order.
	out.ItemPtr = make([]int64, m.NumItems+1)
	out.ItemUser = make([]uint32, 0, len(m.ItemUser))
	for k, i := range orig {
		lo, hi := m.ItemPtr[i], m.ItemPtr[i+1]
		out.ItemUser = append(out.ItemUser, m.ItemUser[lo:hi]...)
		out.ItemPtr[k+1] = int64(len(out.ItemUser))
	}
	out.spans = make([]rowSpan, len(out.ItemUser))
	for p, u := range out.ItemUser {
		out.spans[p] = rowSpan{uint32(out.UserPtr[u]), uint32(out.UserPtr[u+1])}
	}
	return out, orig
}

// rowSpan is where a user's row lies in UserItem, stored for each entry of
// ItemUser. The kernel then reads the row bounds from an array it walks in
// order instead of looking them up in UserPtr: one cache miss per visited
// user instead of two. NewMatrix refuses 2^32 events, so uint32 suffices.
type rowSpan struct{ lo, hi uint32 }
