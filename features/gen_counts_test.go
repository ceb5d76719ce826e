package features

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/recopub/recopub/features/gen"
)

// TestGenerateCounts checks that gen.Generate counts users and items as a run
// does (README, "Counts"): what Load finds in the files it wrote.
func TestGenerateCounts(t *testing.T) {
	opt := gen.Options{Out: t.TempDir(), Events: 30_000, Users: 2_000, Items: 500, Days: 3, RowGroupEvents: 4096}
	st, err := gen.Generate(t.Context(), opt)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Load(t.Context(), Options{Events: []string{filepath.Join(opt.Out, "events")}, Now: gen.DefaultEnd.AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	anon := 0
	for _, u := range ds.Users {
		if !strings.HasPrefix(u, "U") {
			anon++
		}
	}
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"events", st.Events, int(ds.Stats.Kept)},
		{"users", st.Users, len(ds.Users)},
		{"anonymous ids", st.AnonymousIDs, anon},
		{"items", st.Items, len(ds.Items)},
		{"profiles", st.Profiles, opt.Users},
	} {
		if c.got != c.want {
			t.Errorf("Stats %s=%d, the load finds %d", c.name, c.got, c.want)
		}
	}
	if st.Users >= opt.Users+opt.Users/10 || st.AnonymousIDs == 0 || st.Items > opt.Items {
		t.Errorf("implausible counts %+v for %+v", st, opt)
	}
}
