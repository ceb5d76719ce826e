package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/recopub/recopub/publish"
	"github.com/recopub/recopub/publish/httpapi"
	"github.com/recopub/recopub/publish/keyid"
	"github.com/recopub/recopub/publish/redistest"
	"github.com/redis/go-redis/v9"
)

// idEvent is a row of the id property test's events file.
type idEvent struct {
	MessageID string    `parquet:"message_id"`
	UserID    string    `parquet:"user_id"`
	Event     string    `parquet:"event"`
	Timestamp time.Time `parquet:"timestamp,timestamp(millisecond)"`
	ProductID string    `parquet:"product_id"`
}

// propertyIDs returns the ids the property test publishes: the ones that
// broke the two sides' agreement before there was one rule, edge cases of
// URLs and command lines, and random strings built from pieces that are
// allowed and refused.
func propertyIDs(seed uint64) []string {
	fixed := []string{
		"W{tag}", "W*star", "tab\tx", "a\x01ctl", "ev\u202eil", "rlm\u200f", "nel\u0085", "del\x7f", "q?", "[x]",
		strings.Repeat("L", keyid.MaxLen), strings.Repeat("é", keyid.MaxLen/2), strings.Repeat("M", keyid.MaxLen+1),
		"bad\xffutf8", "trunc\xc3", "Zürich-日本-😀", "nbsp\u00a0x", "W/x", "/lead", "trail/", "a//b", "a b", " ",
		"sku:123", "%41", "a%2Fb", "#frag", "+plus", ".", "..", "...", "-5", "--", "-n", "x:manifest", `back\slash`,
		`"quoted"`, "<a&b>", "~user@host", "P000001",
	}
	pieces := []string{"a", "Z", "0", "-", ".", "/", ":", " ", "%", "#", "+", "&", "=", ";", ",", "'", "\"", "\\",
		"é", "日", "😀", "\u00a0", "?", "*", "[", "]", "{", "}", "\t", "\x01", "\x7f", "\u202e", "\u2066", "\u0085",
		"\xff", "\xc3"}
	rng := rand.New(rand.NewPCG(seed, 0x1d5))
	seen := make(map[string]bool)
	var ids []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, id := range fixed {
		add(id)
	}
	for range 120 {
		var b strings.Builder
		for range 1 + rng.IntN(6) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		add(b.String())
	}
	return ids
}

// TestIDRuleEndToEnd publishes ids of every kind as items and users
// through a whole run and checks the one id rule (publish/keyid) on both
// sides: every id the model holds passes keyid and reads back through
// publish.Client, the HTTP API (percent-escaped path) and the similar and
// user commands; every id keyid refuses is absent from the model (ingest
// dropped it) and refused by the readers as invalid.
func TestIDRuleEndToEnd(t *testing.T) {
	ids := propertyIDs(1)
	dir := t.TempDir()
	events := filepath.Join(dir, "events.parquet")
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var rows []idEvent
	row := func(user, item string) {
		rows = append(rows, idEvent{MessageID: fmt.Sprintf("m%d", len(rows)), UserID: user, Event: "Order Completed",
			Timestamp: t0.Add(time.Duration(len(rows)) * time.Second), ProductID: item})
	}
	// Each id is an item bought with "anchor" and the next id, so every
	// kept item has a neighbour list; and a user who bought two plain
	// items.
	for k, id := range ids {
		u := fmt.Sprintf("u%04d", k)
		row(u, "anchor")
		row(u, id)
		row(u, ids[(k+1)%len(ids)])
		row(id, "anchor")
		row(id, "plain")
	}
	if err := parquet.WriteFile(events, rows); err != nil {
		t.Fatal(err)
	}
	s := redistest.Start(t)
	rdb := s.Client(t)
	code, stdout, stderr := run(t, "run", "--events", events, "--redis", s.URL(), "--now", "2026-11-02T00:00:00Z",
		"--max-bad-fraction", "1", "--top-n", "500")
	if code != 0 {
		t.Fatalf("run exit %d\n%s\n%s", code, stdout, stderr)
	}
	ctx := context.Background()
	live, err := publish.Live(ctx, rdb, publish.Keys{})
	if err != nil {
		t.Fatal(err)
	}
	items, members, users := publishedIDs(t, rdb, live)

	// Everything published passes the rule; everything refused is absent.
	for _, c := range []struct {
		what string
		ids  map[string]bool
	}{{"item list", items}, {"neighbour", members}, {"user hash", users}} {
		for _, id := range slices.Sorted(maps.Keys(c.ids)) {
			if err := keyid.Check(id); err != nil {
				t.Errorf("%s %q published, but the read side refuses it: %v", c.what, id, err)
			}
		}
	}
	// Every valid id is kept, as an item and as a user.
	for _, id := range ids {
		if keyid.Valid(id) && (!items[id] || !users[id]) {
			t.Errorf("valid id %q: item list %v, user hash %v; want both", id, items[id], users[id])
		}
	}

	ts := idServer(t, rdb)
	cl := publish.NewClient(rdb, publish.ClientOptions{})
	for _, id := range ids {
		t.Run(fmt.Sprintf("%.40q", id), func(t *testing.T) {
			if keyid.Valid(id) {
				checkReadable(t, rdb, cl, ts.URL, s.URL(), live, id)
			} else {
				checkRefused(t, cl, ts.URL, id)
			}
		})
	}
}

// publishedIDs lists the item ids with a sim list, the ids among their
// members and the user ids with a hash in version v.
func publishedIDs(t *testing.T, rdb *redis.Client, v string) (items, members, users map[string]bool) {
	t.Helper()
	ctx := context.Background()
	keys := publish.Keys{}
	items, members, users = make(map[string]bool), make(map[string]bool), make(map[string]bool)
	simPrefix := strings.TrimSuffix(keys.List(v, publish.FamilySimilar, "x"), "x")
	userPrefix := strings.TrimSuffix(keys.User(v, "x"), "x")
	iter := rdb.Scan(ctx, 0, keys.VersionPrefix(v)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		switch {
		case strings.HasPrefix(k, simPrefix):
			items[k[len(simPrefix):]] = true
			for _, m := range rdb.ZRange(ctx, k, 0, -1).Val() {
				members[m] = true
			}
		case strings.HasPrefix(k, userPrefix):
			users[k[len(userPrefix):]] = true
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if len(items) == 0 || len(users) == 0 {
		t.Fatalf("version %s has %d item lists and %d user hashes", v, len(items), len(users))
	}
	return items, members, users
}

// idServer is the HTTP API of recopub serve over rdb.
func idServer(t *testing.T, rdb *redis.Client) *httptest.Server {
	t.Helper()
	var cf clientFlags
	fs := (&Main{Stderr: io.Discard}).newFlagSet("serve", "")
	cf.register(fs, time.Second)
	ts := httptest.NewServer(httpapi.New(publish.NewClient(rdb, cf.options("")), rdb, httpapi.Options{}))
	t.Cleanup(ts.Close)
	return ts
}

// escapeID escapes an id as one path segment, as README asks callers to:
// percent-encoding (url.PathEscape), and the segments "." and ".." with
// their dots as %2E, since HTTP clients and servers resolve them.
func escapeID(id string) string {
	if strings.Trim(id, ".") == "" && len(id) <= 2 {
		return strings.Repeat("%2E", len(id))
	}
	return url.PathEscape(id)
}

func checkReadable(t *testing.T, rdb *redis.Client, cl *publish.Client, base, redisURL, live, id string) {
	ctx := context.Background()
	want := rdb.ZRevRange(ctx, publish.Keys{}.List(live, publish.FamilySimilar, id), 0, 9).Val()
	nb, v, err := cl.Neighbors(ctx, id, 10)
	if err != nil || v != live {
		t.Fatalf("Client.Neighbors: version %q, err %v", v, err)
	}
	if got := scoredItems(nb); !slices.Equal(got, want) {
		t.Errorf("Client.Neighbors = %q, want %q", got, want)
	}
	feats, _, err := cl.User(ctx, id)
	if err != nil || feats["last_seen"] == "" {
		t.Errorf("Client.User = %v, err %v", feats, err)
	}

	var sim struct {
		Item    string
		Version string
		Items   []publish.Scored
	}
	if status := getJSON(t, base+"/v1/similar/"+escapeID(id)+"?n=10", &sim); status != http.StatusOK {
		t.Fatalf("GET /v1/similar/%s: status %d", escapeID(id), status)
	}
	if got := scoredItems(sim.Items); sim.Item != id || sim.Version != live || !slices.Equal(got, want) {
		t.Errorf("GET /v1/similar/%s = item %q version %s items %q; want %q %s %q", escapeID(id), sim.Item, sim.Version, got, id, live, want)
	}
	var rec struct {
		User  string
		Items []publish.Scored
	}
	if status := getJSON(t, base+"/v1/recommend/"+escapeID(id)+"?n=5", &rec); status != http.StatusOK || rec.User != id || len(rec.Items) == 0 {
		t.Errorf("GET /v1/recommend/%s: status %d, user %q, %d items", escapeID(id), status, rec.User, len(rec.Items))
	}

	code, stdout, stderr := run(t, "similar", "--redis", redisURL, "-n", "10", "--", id)
	if code != 0 {
		t.Fatalf("recopub similar -- %q: exit %d: %s", id, code, stderr)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n")[1:] {
		item, _, _ := strings.Cut(line, "\t")
		got = append(got, item)
	}
	if !slices.Equal(got, want) {
		t.Errorf("recopub similar -- %q = %q, want %q", id, got, want)
	}
	if code, stdout, stderr := run(t, "user", "--redis", redisURL, "--", id); code != 0 || !strings.Contains(stdout, "last_seen\t") {
		t.Errorf("recopub user -- %q: exit %d: %s%s", id, code, stdout, stderr)
	}
}

func checkRefused(t *testing.T, cl *publish.Client, base, id string) {
	ctx := context.Background()
	if _, _, err := cl.Neighbors(ctx, id, 10); !errors.Is(err, publish.ErrInvalid) {
		t.Errorf("Client.Neighbors: err %v, want ErrInvalid", err)
	}
	if _, _, err := cl.User(ctx, id); !errors.Is(err, publish.ErrInvalid) {
		t.Errorf("Client.User: err %v, want ErrInvalid", err)
	}
	var e struct{ Code string }
	if status := getJSON(t, base+"/v1/similar/"+escapeID(id), &e); status != http.StatusBadRequest || e.Code != "invalid" {
		t.Errorf("GET /v1/similar/%s: status %d code %q, want 400 invalid", escapeID(id), status, e.Code)
	}
}

func scoredItems(s []publish.Scored) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = x.Item
	}
	return out
}

// getJSON GETs u and decodes the JSON answer into v.
func getJSON(t *testing.T, u string, v any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v in %q", u, err, b)
	}
	return resp.StatusCode
}
