package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// TestSelectionsMatchingNothing runs the job with flags that name events
// or columns the data does not have, against a real Redis holding a live
// version: each run must exit 4 before writing anything, naming the flag,
// the value and the closest name the data has; the live version and every
// key stay as they were.
func TestSelectionsMatchingNothing(t *testing.T) {
	dir := MustGen(t)
	s := redistest.Start(t)
	rdb := s.Client(t)
	ctx := context.Background()
	events, profiles := filepath.Join(dir, "events"), filepath.Join(dir, "profiles")
	base := []string{"run", "--events", events, "--profiles", profiles, "--redis", s.URL(), "--top-n", "10"}
	mustRunOK(t, "first run", base...)
	live, err := publish.Live(ctx, rdb, publish.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	before := persistentKeys(t, rdb)
	config := filepath.Join(t.TempDir(), "typo.yaml")
	if err := os.WriteFile(config, []byte("input:\n  purchase_event: Order Complete\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string // replacing base[1:3] when they start with "run"
		want []string // in stderr
	}{
		{"event weights typo", []string{"--event-weights", "Order Complete=5,Product Added=3"},
			[]string{`--event-weights \"Order Complete\"`, `did you mean \"Order Completed\"?`}},
		{"purchase event typo", []string{"--purchase-event", "Order Complete"},
			[]string{`--purchase-event \"Order Complete\"`, `did you mean \"Order Completed\"?`}},
		{"purchase event typo in config", []string{"--config", config},
			[]string{`--purchase-event \"Order Complete\"`, `did you mean \"Order Completed\"?`}},
		{"purchase event not selected", []string{"--event-weights", "Product Viewed=1", "--purchase-event", "Order Completed"},
			[]string{`--purchase-event \"Order Completed\"`, "dropped because --event-weights does not name it"}},
		{"cross event typo", []string{"--cross-event", "Product Veiwed"},
			[]string{`--cross-event \"Product Veiwed\"`, `did you mean \"Product Viewed\"`}},
		{"profile column typo", []string{"--profile-cols", "email,membership_statu"},
			[]string{`--profile-cols \"membership_statu\"`, `did you mean \"membership_status\"?`}},
		{"profile id column typo", []string{"--profile-id-col", "userid"},
			[]string{`--profile-id-col \"userid\"`, `did you mean \"user_id\"?`}},
		{"item column typo", []string{"--item-col", "product"},
			[]string{`--item-col \"product\": no such column; did you mean \"product_id\"?`}},
		{"time column missing", []string{"--time-col", "sent_at"},
			[]string{`--time-col \"sent_at\": no such column`}},
		{"message id column typo", []string{"--message-id-col", "messageid"},
			[]string{`--message-id-col \"messageid\": none of the`}},
		{"anonymous id column typo", []string{"--anon-col", "anon_id"},
			[]string{`--anon-col \"anon_id\": none of the`}},
		{"segment column typo", []string{"--segment-cols", "membership_status,income_braket"},
			[]string{`--segment-cols \"income_braket\"`, `did you mean \"income_bracket\"?`}},
		{"segment column not among profile columns", []string{"--profile-cols", "email", "--segment-cols", "membership_status"},
			[]string{`--segment-cols \"membership_status\"`, "not among --profile-cols"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, append(slices.Clone(base), tc.args...)...)
			if got, want := code, exitRejected; got != want {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", got, want, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %s:\n%s", w, stderr)
				}
			}
			if got, err := publish.Live(ctx, rdb, publish.Keys{}); err != nil || got != live {
				t.Fatalf("live version %q (err %v), want %q", got, err, live)
			}
			if after := persistentKeys(t, rdb); !slices.Equal(after, before) {
				t.Fatalf("Redis changed: %d lines before, %d after", len(before), len(after))
			}
		})
	}
}

// TestSelectionsNoProfiles: --segment-cols names profile columns, so
// without --profiles it is a usage error (it used to be ignored by run);
// eval checks --event-weights too.
func TestSelectionsNoProfiles(t *testing.T) {
	dir := MustGen(t)
	code, _, stderr := run(t, "run", "--dry-run", "--events", filepath.Join(dir, "events"), "--segment-cols", "membership_status")
	if code != exitUsage || !strings.Contains(stderr, "--segment-cols needs --profiles") {
		t.Fatalf("exit %d, want %d naming --segment-cols and --profiles:\n%s", code, exitUsage, stderr)
	}
	code, _, stderr = run(t, "eval", "--events", filepath.Join(dir, "events"), "--event-weights", "order completed=1")
	if code != exitRejected || !strings.Contains(stderr, `did you mean "Order Completed"?`) {
		t.Fatalf("eval exit %d, want %d with a suggestion:\n%s", code, exitRejected, stderr)
	}
}

// TestSelectionDropsMost: a selection that keeps the purchases only (8% of
// the rows) is allowed but logged, with the events it dropped.
func TestSelectionDropsMost(t *testing.T) {
	dir := MustGen(t)
	code, _, stderr := run(t, "run", "--dry-run", "--events", filepath.Join(dir, "events"), "--event-weights", "Order Completed=1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"--event-weights drops most rows", `"top_dropped":"Product Viewed=`} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %s:\n%s", w, stderr)
		}
	}
}

// persistentKeys dumps Redis (dumpRedis) without the keys that expire by
// themselves (the RESTORE probe).
func persistentKeys(t *testing.T, rdb *redis.Client) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for _, line := range dumpRedis(t, rdb) {
		key, _, _ := strings.Cut(line, " ")
		if strings.Contains(key, "<V>") || rdb.PTTL(ctx, key).Val() < 0 {
			out = append(out, line)
		}
	}
	return out
}

func TestSuggest(t *testing.T) {
	events := []string{"Order Completed", "Product Added", "Product Viewed", "Cart Viewed"}
	tests := []struct {
		name string
		have []string
		want []string
	}{
		{"Order Complete", events, []string{"Order Completed"}},
		{"order completed", events, []string{"Order Completed"}},
		{"Completed", events, []string{"Order Completed"}},
		{"Product Veiwed", events, []string{"Product Viewed", "Product Added"}},
		{"Signed Up", events, nil},
		{"membership_statu", []string{"email", "membership_status", "income_bracket"}, []string{"membership_status"}},
		{"Bestellung abgeschloßen", []string{"Bestellung abgeschlossen"}, []string{"Bestellung abgeschlossen"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := suggest(tc.name, tc.have); !slices.Equal(got, tc.want) {
				t.Errorf("suggest(%q)=%q, want %q", tc.name, got, tc.want)
			}
		})
	}
}
