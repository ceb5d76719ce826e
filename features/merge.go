package features

import (
	"slices"
)

// merge reconciles the workers' dictionaries into global, deterministic
// ids and concatenates their interactions in unit order.
func merge(workers []*worker, results []unitResult) *Dataset {
	ds := &Dataset{Stats: Stats{Dropped: make(map[string]int64)}}
	var itemRemap, eventRemap [][]uint32
	ds.Items, itemRemap = mergeSorted(workers, func(w *worker) *dict { return &w.items })
	ds.Events, eventRemap = mergeSorted(workers, func(w *worker) *dict { return &w.events })

	total := 0
	for _, w := range workers {
		total += len(w.user)
		ds.Stats.add(w.stats)
	}
	ds.User = make([]uint32, 0, total)
	ds.Item = make([]uint32, 0, total)
	ds.Event = make([]uint8, 0, total)
	ds.Time = make([]uint32, 0, total)

	// Users are numbered by first appearance in unit order, which is fixed
	// by the sorted file list, so ids do not depend on scheduling.
	userRemap := make([][]uint32, len(workers))
	for i, w := range workers {
		userRemap[i] = make([]uint32, len(w.users.strs))
		for j := range userRemap[i] {
			userRemap[i][j] = idNull
		}
	}
	global := make(map[string]uint32)
	for _, r := range results {
		w, um, im, em := workers[r.worker], userRemap[r.worker], itemRemap[r.worker], eventRemap[r.worker]
		for k := r.start; k < r.end; k++ {
			lu := w.user[k]
			gu := um[lu]
			if gu == idNull {
				s := w.users.strs[lu]
				id, ok := global[s]
				if !ok {
					id = uint32(len(ds.Users))
					global[s] = id
					ds.Users = append(ds.Users, s)
				}
				um[lu], gu = id, id
			}
			ds.User = append(ds.User, gu)
			ds.Item = append(ds.Item, im[w.item[k]])
			ds.Event = append(ds.Event, uint8(em[w.event[k]]))
			ds.Time = append(ds.Time, w.tm[k])
		}
	}
	for _, w := range workers {
		w.users.release()
		w.items.release()
		w.events.release()
	}
	return ds
}

// mergeSorted unions the workers' dictionaries into one sorted list and
// returns, per worker, the map from its local ids to positions in it.
func mergeSorted(workers []*worker, pick func(*worker) *dict) ([]string, [][]uint32) {
	var all []string
	for _, w := range workers {
		all = append(all, pick(w).strs...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	remap := make([][]uint32, len(workers))
	for i, w := range workers {
		d := pick(w)
		remap[i] = make([]uint32, len(d.strs))
		for j, s := range d.strs {
			k, _ := slices.BinarySearch(all, s)
			remap[i][j] = uint32(k)
		}
	}
	return all, remap
}
