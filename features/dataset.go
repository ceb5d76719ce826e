package features

import (
	"maps"
	"slices"
)

// Dataset is the result of loading event exports: interactions with dense
// ids, the dictionaries that map them back, and what was read and dropped.
type Dataset struct {
	Users  []string // dense user id -> external id (user_id or anonymous_id)
	Items  []string // dense item id -> external item id, sorted
	Events []string // event code -> event name, sorted

	// Interactions, one entry per kept event, in the canonical order of
	// the input (files sorted by path, then row group, then row), until
	// NewUsers groups them by user in place.
	User  []uint32
	Item  []uint32
	Event []uint16
	Time  []uint32 // seconds since the Unix epoch, UTC

	// Weight is the product of the WeightCol and QuantityCol values of
	// each interaction; nil when neither column was asked for.
	Weight []float32

	Stats Stats
	Files []FileStat

	// Unselected counts, by event name, the rows dropped as unknown_event
	// because EventWeights does not name their event: with Events, the
	// event names the data holds, so a selection that matches nothing can
	// say what there is instead.
	Unselected map[string]int64

	// OptionalColumnFiles counts, by name, the files that have each
	// optional column (AnonCol, MessageIDCol): one no file has is ignored.
	OptionalColumnFiles map[string]int

	// DictBytes is the memory the id dictionaries took at the end of
	// the load, when they are largest: the workers' hash tables and
	// strings and the merged Users, Items and Events. docs/operations.md
	// ("Capacity plan") counts peak memory apart from it.
	DictBytes int64
}

// Len returns the number of interactions.
func (d *Dataset) Len() int { return len(d.User) }

// EventCode returns the code of the named event, or -1 if it never occurs.
func (d *Dataset) EventCode(name string) int {
	i, ok := slices.BinarySearch(d.Events, name)
	if !ok {
		return -1
	}
	return i
}

// BytesPerEvent is the memory one interaction takes in a Dataset, not
// counting Weight (4 more bytes when present).
const BytesPerEvent = 4 + 4 + 2 + 4

// Stats counts what Load read and why events were dropped. An event is a
// row, or one element of a row whose items are exploded from a list (a row
// with an empty list counts as one event without an item), so Read = Kept
// + DroppedTotal.
type Stats struct {
	Files   int              `json:"files"`
	Pruned  int              `json:"files_pruned"` // files skipped by their dt= partition
	Read    int64            `json:"events_read"`
	Kept    int64            `json:"events_kept"`
	Dropped map[string]int64 `json:"events_dropped"`
}

// Unusable returns the number of events dropped because they are bad
// data, leaving out those dropped by choice (selected events, time window)
// or as duplicates.
func (s Stats) Unusable() int64 {
	var n int64
	for k, v := range s.Dropped {
		switch k {
		case DropUnknownEvent, DropOutOfWindow, DropDuplicate:
		default:
			n += v
		}
	}
	return n
}

// DroppedTotal returns the number of rows dropped for any reason.
func (s Stats) DroppedTotal() int64 {
	var n int64
	for _, v := range s.Dropped {
		n += v
	}
	return n
}

func (s *Stats) add(o Stats) {
	s.Read += o.Read
	s.Kept += o.Kept
	if s.Dropped == nil {
		s.Dropped = make(map[string]int64)
	}
	for _, k := range slices.Sorted(maps.Keys(o.Dropped)) {
		s.Dropped[k] += o.Dropped[k]
	}
}

// Reasons rows are dropped, as they appear in Stats.Dropped.
const (
	DropNoUser       = "no_user_id"
	DropNoItem       = "no_item_id"
	DropNoEvent      = "no_event" // null or empty event name
	DropBadTime      = "bad_time"
	DropFutureTime   = "future_time"
	DropOutOfWindow  = "out_of_window"
	DropUnknownEvent = "unknown_event" // not named by EventWeights
	DropIDTooLong    = "id_too_long"
	DropInvalidUTF8  = "invalid_utf8"
	DropBadID        = "bad_id"     // a user or item id with a character keyid refuses
	DropBadWeight    = "bad_weight" // negative or not a finite number
	DropBadItems     = "bad_items"  // a JSON items column that does not parse
	DropDuplicate    = "duplicate_message_id"
)

// FileStat records one input file.
type FileStat struct {
	Path string `json:"path"`
	Rows int64  `json:"rows"`
}
