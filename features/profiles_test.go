package features

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type address struct {
	City *string `parquet:"city,optional"`
	Zip  string  `parquet:"zip"`
	Geo  struct {
		Lat float64 `parquet:"lat"`
	} `parquet:"geo"`
}

type order struct {
	ID     string   `parquet:"id"`
	Amount *float64 `parquet:"amount,optional"`
}

// traitRow has a trait of every kind a reverse-ETL export carries.
type traitRow struct {
	UserID   string    `parquet:"user_id"`
	Email    *string   `parquet:"email,optional"`
	Nickname *string   `parquet:"nickname,optional"`
	Age      *int32    `parquet:"age,optional"`
	Score    *float64  `parquet:"score,optional"`
	Premium  *bool     `parquet:"premium,optional"`
	Signup   time.Time `parquet:"signup,timestamp(millisecond)"`
	Birthday int32     `parquet:"birthday,date"`
	Address  *address  `parquet:"address,optional"`
	Tags     []string  `parquet:"tags,optional,list"`
	Orders   []order   `parquet:"orders,list"`
}

func i32(v int32) *int32 { return &v }
func boolp(v bool) *bool { return &v }

func traitRows() []traitRow {
	return []traitRow{
		{UserID: "u1", Email: str("u1@example.com"), Nickname: str(""), Age: i32(41), Score: f64(0.1),
			Premium: boolp(true), Signup: t0, Birthday: 7000,
			Address: &address{City: str("Berlin"), Zip: "10115", Geo: struct {
				Lat float64 `parquet:"lat"`
			}{52.5}},
			Tags:   []string{"a", "b \"quoted\""},
			Orders: []order{{"o1", f64(12.5)}, {"o2", nil}}},
		{UserID: "u2", Score: f64(1e21), Premium: boolp(false), Signup: t0, Address: &address{Zip: ""}, Tags: []string{}},
		{UserID: "", Email: str("nobody@example.com"), Signup: t0},
		{UserID: "u1", Email: str("new@example.com"), Signup: t0.Add(time.Hour), Age: i32(42)}, // a later row wins
	}
}

func traitsOf(p *Profiles, user string) map[string]string {
	f, v, ok := p.Traits(user, nil, nil)
	if !ok {
		return nil
	}
	m := make(map[string]string, len(f))
	for i := range f {
		m[f[i]] = v[i]
	}
	return m
}

func TestLoadProfiles(t *testing.T) {
	root := filepath.Join("..", "testdata", "ingest", "profiles")
	dir := filepath.Join(root, "profiles")
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		MustWriteParquet(t, filepath.Join(dir, "part-00000.parquet"), traitRows(), 2)
	}
	p, err := LoadProfiles(context.Background(), ProfileOptions{Paths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Len(), 2; got != want {
		t.Errorf("Len()=%d, want %d", got, want)
	}
	if got, want := p.IDs(), []string{"u2", "u1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("IDs()=%q, want %q", got, want)
	}
	wantCols := []string{"email", "nickname", "age", "score", "premium", "signup", "birthday",
		"address.city", "address.zip", "address.geo.lat", "tags", "orders"}
	if !reflect.DeepEqual(p.Columns, wantCols) {
		t.Errorf("Columns=%q\nwant %q", p.Columns, wantCols)
	}
	// An empty list is "[]", a null one is left out: RudderStack's Redis
	// destination (rudder-transformer src/v0/destinations/redis/transform.js)
	// flattens traits with flat's safe: true, which keeps arrays whole, and
	// processValues then writes each array as JSON.stringify(val), "[]" for
	// an empty one; only nulls and objects left after flattening (an empty
	// struct or map) are deleted. orders is a required list: the rows
	// without orders hold an empty list, not a null.
	for _, tt := range []struct {
		user string
		want map[string]string
	}{
		{"u1", map[string]string{"email": "new@example.com", "age": "42", "signup": "2026-11-01T13:00:00.000Z",
			"birthday": "1970-01-01", "orders": "[]"}},
		{"u2", map[string]string{"score": "1e+21", "premium": "false", "signup": "2026-11-01T12:00:00.000Z",
			"birthday": "1970-01-01", "address.zip": "", "address.geo.lat": "0", "tags": "[]", "orders": "[]"}},
		{"u3", nil},
	} {
		if got := traitsOf(p, tt.user); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("traits of %s:\n got %v\nwant %v", tt.user, got, tt.want)
		}
	}

	// The first row of u1, alone, shows every kind of value.
	first := filepath.Join(t.TempDir(), "one.parquet")
	MustWriteParquet(t, first, traitRows()[:1], 1)
	p, err = LoadProfiles(context.Background(), ProfileOptions{Paths: []string{first}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"email": "u1@example.com", "nickname": "", "age": "41", "score": "0.1", "premium": "true",
		"signup": "2026-11-01T12:00:00.000Z", "birthday": "1989-03-02",
		"address.city": "Berlin", "address.zip": "10115", "address.geo.lat": "52.5",
		"tags":   `["a","b \"quoted\""]`,
		"orders": `[{"id":"o1","amount":12.5},{"id":"o2","amount":null}]`,
	}
	got := traitsOf(p, "u1")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("traits:\n got %v\nwant %v", got, want)
	}
	for _, k := range []string{"tags", "orders"} {
		if !json.Valid([]byte(got[k])) {
			t.Errorf("%s=%s is not valid JSON", k, got[k])
		}
	}
}

func TestLoadProfilesColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.parquet")
	MustWriteParquet(t, path, traitRows(), 10)
	for _, tt := range []struct {
		cols []string
		want []string
		err  string
	}{
		{cols: []string{"age", "address"}, want: []string{"age", "address.city", "address.zip", "address.geo.lat"}},
		{cols: []string{"address.city", "tags"}, want: []string{"address.city", "tags"}},
		{cols: []string{"address.street"}, err: `profile column "address.street" not found`},
	} {
		p, err := LoadProfiles(context.Background(), ProfileOptions{Paths: []string{path}, Columns: tt.cols})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), path) {
				t.Errorf("cols %q: err=%v, want %q naming the file", tt.cols, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p.Columns, tt.want) {
			t.Errorf("cols %q: Columns=%q, want %q", tt.cols, p.Columns, tt.want)
		}
		for _, id := range p.IDs() {
			f, _, _ := p.Traits(id, nil, nil)
			for _, name := range f {
				if !strings.HasPrefix(name, "age") && !strings.HasPrefix(name, "address") && name != "tags" {
					t.Errorf("cols %q: user %s has trait %q", tt.cols, id, name)
				}
			}
		}
	}
}

func TestLoadProfilesBadInput(t *testing.T) {
	dir := t.TempDir()
	type noID struct {
		Email string `parquet:"email"`
	}
	missing := filepath.Join(dir, "missing.parquet")
	MustWriteParquet(t, missing, []noID{{"x"}}, 1)
	type boolID struct {
		UserID bool `parquet:"user_id"`
	}
	wrong := filepath.Join(dir, "wrong.parquet")
	MustWriteParquet(t, wrong, []boolID{{true}}, 1)
	corrupt := filepath.Join(dir, "corrupt.parquet")
	os.WriteFile(corrupt, []byte("not parquet at all"), 0o644)
	for _, tt := range []struct {
		path string
		want string
	}{
		{missing, `column "user_id" not found; the file has columns email`},
		{wrong, `column "user_id" has type bool`},
		{corrupt, "not a readable Parquet file"},
	} {
		_, err := LoadProfiles(context.Background(), ProfileOptions{Paths: []string{tt.path}})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
			t.Errorf("%s: err=%v, want %q", tt.path, err, tt.want)
		}
	}
}

func TestTraitNumber(t *testing.T) {
	for _, tt := range []struct {
		in   float64
		want string
	}{{math.Copysign(0, -1), "-0"}, {0, "0"}, {2, "2"}, {1e21, "1e+21"}, {1.5e-7, "1.5e-7"}, {math.NaN(), "NaN"}} {
		if got := traitNumber(tt.in); got != tt.want {
			t.Errorf("traitNumber(%v)=%q, want %q", tt.in, got, tt.want)
		}
	}
	if got := string(appendJSONNumber(nil, math.Inf(1))); got != "null" {
		t.Errorf("appendJSONNumber(+Inf)=%q, want null as JSON.stringify writes", got)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "tab\tnew\nline\r\b\f", "\x01\x1f", "é 日本 <&> \u2028"} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil || got != s {
			t.Errorf("appendJSONString(%q)=%s: %q, %v", s, b, got, err)
		}
	}
}
