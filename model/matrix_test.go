package model

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func TestNewMatrix(t *testing.T) {
	// Events out of order, with a repeated (1, 2) pair and an idle user 3.
	users := []uint32{1, 0, 1, 2, 1, 0}
	items := []uint32{2, 1, 0, 2, 2, 0}
	weights := []float32{1, 2, 3, 4, 5, 6}
	m := NewMatrix(4, 3, users, items, weights)

	want := &Matrix{
		NumUsers: 4, NumItems: 3,
		UserPtr:  []int64{0, 2, 4, 5, 5},
		UserItem: []uint32{0, 1, 0, 2, 2},
		UserVal:  []float32{6, 2, 3, 6, 4},
		ItemPtr:  []int64{0, 2, 3, 5},
		ItemUser: []uint32{0, 1, 0, 1, 2},
		ItemVal:  []float32{6, 3, 2, 6, 4},
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("NewMatrix =\n%+v\nwant\n%+v", m, want)
	}
	if got, want := m.NNZ(), 5; got != want {
		t.Errorf("NNZ() = %d, want %d", got, want)
	}
	if got, want := m.ActiveUsers(), 3; got != want {
		t.Errorf("ActiveUsers() = %d, want %d", got, want)
	}
	if got, want := m.Work(), int64(2*2+2*2+1); got != want {
		t.Errorf("Work() = %d, want %d", got, want)
	}
}

func TestNewMatrixNilWeights(t *testing.T) {
	m := NewMatrix(2, 2, []uint32{0, 0, 0, 1}, []uint32{1, 1, 1, 0}, nil)
	if got, want := m.UserVal, []float32{3, 1}; !slices.Equal(got, want) {
		t.Errorf("UserVal = %v, want %v", got, want)
	}
}

func TestNewMatrixEmpty(t *testing.T) {
	m := NewMatrix(0, 0, nil, nil, nil)
	if got, want := len(m.UserPtr), 1; got != want {
		t.Fatalf("len(UserPtr) = %d, want %d", got, want)
	}
	nb, err := Similar(t.Context(), m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := nb.NumItems(), 0; got != want {
		t.Errorf("NumItems() = %d, want %d", got, want)
	}
}

func TestNewMatrixPanics(t *testing.T) {
	tests := []struct {
		name         string
		nu, ni       int
		users, items []uint32
		weights      []float32
	}{
		{"lengths", 2, 2, []uint32{0}, []uint32{0, 1}, nil},
		{"weights", 2, 2, []uint32{0}, []uint32{0}, []float32{1, 2}},
		{"user range", 2, 2, []uint32{2}, []uint32{0}, nil},
		{"item range", 2, 2, []uint32{0}, []uint32{2}, nil},
		{"negative", -1, 2, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("NewMatrix did not panic")
				}
			}()
			NewMatrix(tt.nu, tt.ni, tt.users, tt.items, tt.weights)
		})
	}
}

// checkMatrix verifies the CSR invariants and that the transpose holds the
// same pairs as the user-major arrays.
func checkMatrix(tb testing.TB, m *Matrix) {
	tb.Helper()
	if len(m.UserPtr) != m.NumUsers+1 || len(m.ItemPtr) != m.NumItems+1 {
		tb.Fatalf("pointer lengths %d, %d for %d x %d", len(m.UserPtr), len(m.ItemPtr), m.NumUsers, m.NumItems)
	}
	if int(m.UserPtr[m.NumUsers]) != len(m.UserItem) || int(m.ItemPtr[m.NumItems]) != len(m.ItemUser) {
		tb.Fatalf("pointer ends %d, %d for %d, %d entries", m.UserPtr[m.NumUsers], m.ItemPtr[m.NumItems], len(m.UserItem), len(m.ItemUser))
	}
	type pair struct{ u, i uint32 }
	byUser := map[pair]float32{}
	for u := range m.NumUsers {
		row := m.UserItem[m.UserPtr[u]:m.UserPtr[u+1]]
		for k := 1; k < len(row); k++ {
			if row[k-1] >= row[k] {
				tb.Fatalf("user %d items not strictly ascending: %v", u, row)
			}
		}
		for p := m.UserPtr[u]; p < m.UserPtr[u+1]; p++ {
			byUser[pair{uint32(u), m.UserItem[p]}] = m.UserVal[p]
		}
	}
	n := 0
	for i := range m.NumItems {
		col := m.ItemUser[m.ItemPtr[i]:m.ItemPtr[i+1]]
		for k := 1; k < len(col); k++ {
			if col[k-1] >= col[k] {
				tb.Fatalf("item %d users not strictly ascending: %v", i, col)
			}
		}
		for p := m.ItemPtr[i]; p < m.ItemPtr[i+1]; p++ {
			v, ok := byUser[pair{m.ItemUser[p], uint32(i)}]
			if !ok || v != m.ItemVal[p] {
				tb.Fatalf("transpose has (%d, %d) = %g, user-major has %g, %v", m.ItemUser[p], i, m.ItemVal[p], v, ok)
			}
			n++
		}
	}
	if n != len(byUser) {
		tb.Fatalf("transpose has %d pairs, user-major %d", n, len(byUser))
	}
}

func FuzzNewMatrix(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2, 0, 1, 3, 3})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		const nu, ni = 5, 7
		var users, items []uint32
		var weights []float32
		for k := 0; k+1 < len(data); k += 2 {
			users = append(users, uint32(data[k])%nu)
			items = append(items, uint32(data[k+1])%ni)
			weights = append(weights, float32(data[k]>>3))
		}
		m := NewMatrix(nu, ni, users, items, weights)
		checkMatrix(t, m)
		// The summed values match a map-based sum (small integers: exact).
		want := map[[2]uint32]float32{}
		for k := range users {
			want[[2]uint32{users[k], items[k]}] += weights[k]
		}
		if got := m.NNZ(); got != len(want) {
			t.Fatalf("NNZ() = %d, want %d", got, len(want))
		}
		for u := range nu {
			for p := m.UserPtr[u]; p < m.UserPtr[u+1]; p++ {
				if got, w := m.UserVal[p], want[[2]uint32{uint32(u), m.UserItem[p]}]; got != w {
					t.Fatalf("value (%d, %d) = %g, want %g", u, m.UserItem[p], got, w)
				}
			}
		}
	})
}

func TestDownsample(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m := randomMatrix(r, 40, 300, 0.3, true)
	const limit = 20
	d := m.Downsample(limit, 7)
	checkMatrix(t, d)
	for u := range m.NumUsers {
		full := m.UserItem[m.UserPtr[u]:m.UserPtr[u+1]]
		kept := d.UserItem[d.UserPtr[u]:d.UserPtr[u+1]]
		if got, want := len(kept), min(len(full), limit); got != want {
			t.Fatalf("user %d keeps %d items, want %d", u, got, want)
		}
		for k, i := range kept {
			p, ok := slices.BinarySearch(full, i)
			if !ok {
				t.Fatalf("user %d keeps item %d it does not have", u, i)
			}
			if got, want := d.UserVal[d.UserPtr[u]+int64(k)], m.UserVal[m.UserPtr[u]+int64(p)]; got != want {
				t.Fatalf("user %d item %d value %g, want %g", u, i, got, want)
			}
		}
	}
	if again := m.Downsample(limit, 7); !reflect.DeepEqual(again, d) {
		t.Error("Downsample is not deterministic")
	}
	if other := m.Downsample(limit, 8); reflect.DeepEqual(other.UserItem, d.UserItem) {
		t.Error("Downsample ignores the seed")
	}
	if got := m.Downsample(0, 7); got != m {
		t.Error("Downsample(0) copied the matrix")
	}
	if got := m.Downsample(1000, 7); got != m {
		t.Error("Downsample above every degree copied the matrix")
	}
}

// A user's subset depends only on the seed and its own id, not on the
// other users.
func TestDownsamplePerUser(t *testing.T) {
	users := []uint32{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}
	items := []uint32{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}
	a := NewMatrix(2, 6, users, items, nil).Downsample(3, 42)
	b := NewMatrix(2, 6, users[6:], items[6:], nil) // user 0 idle
	b = b.Downsample(3, 42)
	if got, want := b.UserItem, a.UserItem[3:]; !slices.Equal(got, want) {
		t.Errorf("user 1 keeps %v alone, %v with user 0", got, want)
	}
}

func TestDownsampleUniform(t *testing.T) {
	// Each of 10 items should be kept about k/10 of the time over seeds.
	const n, k, trials = 10, 3, 20000
	users := make([]uint32, n)
	items := make([]uint32, n)
	for i := range items {
		items[i] = uint32(i)
	}
	m := NewMatrix(1, n, users, items, nil)
	var hits [n]int
	for s := range trials {
		for _, i := range m.Downsample(k, int64(s)).UserItem {
			hits[i]++
		}
	}
	want := float64(trials) * k / n
	for i, h := range hits {
		if d := float64(h) - want; d > 0.05*want || d < -0.05*want {
			t.Errorf("item %d kept %d times, want about %.0f", i, h, want)
		}
	}
}
