package publish

// List is one sorted set to write: members best first with their scores.
type List struct {
	ID      string // item id (or segment); "" for a family's single list
	Members []string
	Scores  []float64
}

// ListSource yields the lists of one family. List fills l (reusing its
// slices) with list i; a list without members is not written.
type ListSource interface {
	Len() int
	List(i int, l *List)
}

// Hash is one feature hash to write.
type Hash struct {
	ID     string // user id
	Fields []string
	Values []string
}

// HashSource yields the feature hashes. Hash fills h (reusing its slices)
// with hash i; a hash without fields is not written.
type HashSource interface {
	Len() int
	Hash(i int, h *Hash)
}

// Family is a named group of lists, such as "sim" (one neighbour list per
// item) or "pop" (a single list).
type Family struct {
	Name  string
	Lists ListSource
}

// Model is everything one version holds.
type Model struct {
	Families   []Family
	Users      HashSource     // may be nil
	Parameters map[string]any // recorded in the manifest
	Inputs     []Input        // recorded in the manifest
	Counts     map[string]any // extra counts recorded in the manifest (events read, dropped, ...)
}

// Input is an input file recorded in the manifest.
type Input struct {
	Path string `json:"path"`
	Rows int64  `json:"rows"`
}

// FuncLists adapts a length and a function to a ListSource.
type FuncLists struct {
	N  int
	Fn func(i int, l *List)
}

func (f FuncLists) Len() int            { return f.N }
func (f FuncLists) List(i int, l *List) { f.Fn(i, l) }

// FuncHashes adapts a length and a function to a HashSource.
type FuncHashes struct {
	N  int
	Fn func(i int, h *Hash)
}

func (f FuncHashes) Len() int            { return f.N }
func (f FuncHashes) Hash(i int, h *Hash) { f.Fn(i, h) }

var (
	_ ListSource = FuncLists{}
	_ HashSource = FuncHashes{}
)
