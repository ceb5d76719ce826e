package publish

import (
	"bufio"
	"encoding/csv"
	"os"
	"strconv"
)

var (
	neighborCSVHeader = []string{"family", "item", "neighbor", "score", "rank", "co_count"}
	featureCSVHeader  = []string{"user", "field", "value"}
)

func neighborCSVRecord(r *NeighborRow, rec []string) []string {
	co := ""
	if r.CoCount != nil {
		co = strconv.FormatInt(*r.CoCount, 10)
	}
	return append(rec[:0], r.Family, r.Item, r.Neighbor,
		strconv.FormatFloat(r.Score, 'g', -1, 64), strconv.Itoa(int(r.Rank)), co)
}

func featureCSVRecord(r *FeatureRow, rec []string) []string {
	return append(rec[:0], r.User, r.Field, r.Value)
}

// csvRows writes rows of T as CSV records.
type csvRows[T any] struct {
	w      *csv.Writer
	record func(*T, []string) []string
	rec    []string
}

func (c *csvRows[T]) Write(rows []T) (int, error) {
	for i := range rows {
		c.rec = c.record(&rows[i], c.rec)
		if err := c.w.Write(c.rec); err != nil {
			return i, err
		}
	}
	return len(rows), c.w.Error()
}

// writeCSV writes name in dir, through a temporary file renamed into
// place once complete.
func writeCSV[T any](dir, name string, header []string, record func(*T, []string) []string, fill func(rowWriter[T]) error) error {
	return createAtomic(dir, name, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		cw := csv.NewWriter(bw)
		if err := cw.Write(header); err != nil {
			return err
		}
		if err := fill(&csvRows[T]{w: cw, record: record}); err != nil {
			return err
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		return bw.Flush()
	})
}
