package publish

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Version statuses, as kept in Keys.Status and the manifest.
const (
	StatusWriting  = "writing"
	StatusComplete = "complete"
	StatusFailed   = "failed"
)

// Writer publishes models as new versions.
type Writer struct {
	Client redis.UniversalClient
	Keys   Keys
	// Lock is the run lock the version is registered, completed, flipped
	// and (on failure) removed under; the server refuses each of these
	// steps once the lock is lost. Nil: Write and Publish take the
	// namespace's lock for their own duration (ErrLocked if a run holds
	// it).
	Lock *Lock

	// Conns is the number of pipelines in flight at once to each
	// master; the masters of a cluster are written in parallel (see
	// stream.go). Default DefaultConns.
	Conns int
	// Encoders is the number of goroutines building the commands (DUMP
	// payloads) that the Conns pipelines per master send; default
	// GOMAXPROCS, every core.
	Encoders int
	// PipelineBytes bounds a pipeline: it is sent once it holds this many
	// bytes of keys and values, so memory stays about Conns times this.
	// Default DefaultPipelineBytes.
	PipelineBytes int
	SampleSize    int   // keys of each family read back and compared before the flip; default DefaultSampleSize
	Seed          int64 // seeds the sample
	NoRestore     bool  // always write with ZADD/HSET
	// Force writes even when the preflight estimate does not fit under a
	// server's maxmemory (the refusal is logged instead). It never
	// overrides the refusal of an evicting maxmemory-policy.
	Force bool
	// CountBeforeFlip makes Lock.FlipWritten count every key of the
	// version by SCAN before the flip, as Lock.Flip does, instead of
	// relying on what the write saw (evidence.go).
	CountBeforeFlip bool
	Logger          *slog.Logger // stage lines and progress; nil discards

	// ProgressEvery is how often progress is logged while keys are
	// written; default DefaultProgressEvery.
	ProgressEvery time.Duration
	// ProgressTick is how often Progress is called while keys are
	// written; default DefaultProgressTick (or ProgressEvery when that is
	// shorter).
	ProgressTick time.Duration
	// Progress, when set, is called from another goroutine when a stage
	// starts (Stage, StageDone 0), every ProgressTick while keys are
	// written, and when a stage ends: StageLists, StageHashes, then
	// StageVerify.
	Progress func(Progress)

	Now func() time.Time

	shard *shardTarget // set by WriteShard on its copy: write one shard of a sharded version
}

// The Writer's and LiveFeatures' defaults, applied when a field is zero
// (recopub's --conns takes DefaultConns too).
const (
	// DefaultConns: pipelines in flight per master while the encoders
	// fill the next ones. With the encoders apart from the senders, four
	// keep a server busier than two: publish --from of a 5M-event model
	// took 2.0-2.1 s with 4, 2.2-2.4 s with 2 (2 cores, side by side;
	// testdata/bench/publish-vs-restore.sh). BenchmarkWriterTuning in
	// bench_test.go compares more settings.
	DefaultConns = 4
	// DefaultPipelineBytes bounds a pipeline (1 MiB).
	DefaultPipelineBytes = 1 << 20
	DefaultSampleSize    = 1000
	DefaultProgressEvery = 10 * time.Second
	DefaultProgressTick  = 250 * time.Millisecond
)

// Stages of a publish, as Progress.Stage names them.
const (
	StageLists  = "lists"  // the list families, one after the other
	StageHashes = "hashes" // the user feature hashes
	StageVerify = "verify" // reading back a sample of keys
)

func (w *Writer) conns() int         { return positive(w.Conns, DefaultConns) }
func (w *Writer) pipelineBytes() int { return positive(w.PipelineBytes, DefaultPipelineBytes) }
func (w *Writer) sampleSize() int    { return positive(w.SampleSize, DefaultSampleSize) }
func (w *Writer) progressEvery() time.Duration {
	return cmp.Or(max(w.ProgressEvery, 0), DefaultProgressEvery)
}
func (w *Writer) progressTick() time.Duration {
	return min(cmp.Or(max(w.ProgressTick, 0), DefaultProgressTick), w.progressEvery())
}

func (w *Writer) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

func (w *Writer) now() time.Time {
	if w.Now == nil {
		return time.Now()
	}
	return w.Now()
}

func positive(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// Progress is a snapshot of a version being written.
type Progress struct {
	Version string
	Family  string // family being written; FamilyUser for the feature hashes
	Done    int64  // keys written so far, all families
	Total   int64  // keys planned
	Elapsed time.Duration
	// Stage is StageLists, StageHashes or StageVerify; StageDone and
	// StageTotal count its keys (written, or for StageVerify compared).
	Stage      string
	StageDone  int64
	StageTotal int64
}

// Result describes a published version.
type Result struct {
	Version        string           `json:"version"`
	Previous       string           `json:"previous,omitempty"`
	Lists          map[string]int64 `json:"lists_written"` // by family
	Hashes         int64            `json:"hashes_written"`
	Restore        bool             `json:"restore"`         // written with RESTORE payloads
	Verified       int              `json:"keys_verified"`   // keys read back and compared
	EstimatedBytes int64            `json:"estimated_bytes"` // preflight estimate of the version's memory
	Seconds        float64          `json:"seconds"`

	evidence *writeEvidence // for Lock.FlipWritten; nil: count the keys
}

// NewVersionID returns an id that sorts by creation time, such as
// 20261125T020000Z-3f9a.
func NewVersionID(t time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format(versionTimeLayout) + "-" + hex.EncodeToString(b[:])
}

// versionTimeLayout is the time part of a version id.
const versionTimeLayout = "20060102T150405Z"

// VersionTime returns the creation time encoded in a version id made by
// NewVersionID, or false when id is not one.
func VersionTime(id string) (time.Time, bool) {
	ts, suffix, ok := strings.Cut(id, "-")
	if !ok || len(suffix) != 4 {
		return time.Time{}, false
	}
	if _, err := hex.DecodeString(suffix); err != nil {
		return time.Time{}, false
	}
	t, err := time.Parse(versionTimeLayout, ts)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// Publish writes m as a new version and makes it live. On failure the live
// version is unchanged and the partial version is removed.
func (w *Writer) Publish(ctx context.Context, m *Model) (*Result, error) {
	return withWriterLock(ctx, w, func(l *Lock) (*Result, error) {
		res, err := w.write(ctx, l, m)
		if err != nil {
			return nil, err
		}
		prev, err := l.FlipWritten(ctx, res)
		if err != nil {
			return nil, w.abort(ctx, l, res.Version, err)
		}
		res.Previous = prev
		return res, nil
	})
}

// Write writes m as a new complete version without making it live: it
// checks the server's eviction policy, plans the keys and checks they fit
// (preflight), registers the version as writing, writes every key, checks
// the written counts against the plan, reads a sample back, checks that
// no server restarted meanwhile and marks the version complete. On
// failure it removes what it wrote and says so in the error.
func (w *Writer) Write(ctx context.Context, m *Model) (*Result, error) {
	return withWriterLock(ctx, w, func(l *Lock) (*Result, error) { return w.write(ctx, l, m) })
}

// withWriterLock runs fn under w.Lock, or under the namespace's lock
// taken for the call.
func withWriterLock(ctx context.Context, w *Writer, fn func(*Lock) (*Result, error)) (*Result, error) {
	if w.Lock != nil {
		return fn(w.Lock)
	}
	return withLock(ctx, w.Client, w.Keys, "publish.Writer", fn)
}

func (w *Writer) write(ctx context.Context, l *Lock, m *Model) (*Result, error) {
	start := w.now()
	if err := w.Client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	var skipped skippedChecks // checks a server refused INFO for, logged once
	servers, err := w.runIDs(ctx, &skipped)
	if err != nil {
		return nil, err
	}
	version, err := w.newVersion(ctx, start)
	if err != nil {
		return nil, err
	}
	enc, err := w.encoder(ctx, version)
	if err != nil {
		return nil, err
	}
	plan, err := w.preflight(ctx, m, enc, &skipped)
	if err != nil {
		return nil, err
	}
	if len(skipped.checks) > 0 {
		w.logger().Warn("INFO refused, so "+strings.Join(skipped.checks, "; "), "error", skipped.err.Error())
	}
	res := &Result{Version: version, Lists: make(map[string]int64), Restore: enc != nil, EstimatedBytes: plan.Bytes}
	ev := w.evidence(ctx, version, servers)
	err = w.register(ctx, l, version, m, start)
	var rt *router
	if err == nil {
		rt, err = newRouter(ctx, w.Client)
	}
	if err == nil {
		err = w.writeAll(ctx, version, m, enc, rt, plan, res)
	}
	if err == nil {
		err = sameServers(ctx, w.Client, servers)
	}
	if err == nil {
		res.Verified, err = w.verifyStage(ctx, version, m, plan, &ev.sample)
	}
	if err == nil {
		err = w.complete(ctx, l, version, res, start)
	}
	if err == nil {
		err = sameServers(ctx, w.Client, servers) // a restart during verify or complete
	}
	if err != nil {
		return nil, w.abort(ctx, l, version, err)
	}
	if !w.CountBeforeFlip {
		ev.lists, ev.hashes = maps.Clone(res.Lists), res.Hashes
		res.evidence = ev
	}
	res.Seconds = w.now().Sub(start).Seconds()
	return res, nil
}

// evidence starts the record that lets Lock.FlipWritten flip the version
// without counting its keys (evidence.go): the masters' run_ids and
// evicted_keys before the first write. Without them (INFO refused) the
// flip counts.
func (w *Writer) evidence(ctx context.Context, version string, servers map[string]string) *writeEvidence {
	ev := &writeEvidence{version: version, servers: servers}
	if servers != nil {
		ev.evicted, _ = masterStats(ctx, w.Client)
	}
	return ev
}

// runIDs notes every master's run_id, to detect a restart before the
// version is marked complete. A server that refuses INFO (an ACL) is not
// checked.
func (w *Writer) runIDs(ctx context.Context, skipped *skippedChecks) (map[string]string, error) {
	ids, err := runIDs(ctx, w.Client)
	var rerr redis.Error
	if errors.As(err, &rerr) {
		skipped.add("a server restart during the publish is detected only by the sample check", err)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	return ids, nil
}

// skippedChecks collects the safety checks a server's refusal of INFO
// (an ACL, an embedded server) made impossible, to be logged in one line.
type skippedChecks struct {
	checks []string
	err    error // the first refusal
}

func (s *skippedChecks) add(check string, err error) {
	s.checks = append(s.checks, check)
	if s.err == nil {
		s.err = err
	}
}

// encoder returns the DUMP encoder for the server, or nil to write with
// ZADD/HSET.
func (w *Writer) encoder(ctx context.Context, version string) (*Encoder, error) {
	if w.NoRestore {
		return nil, nil
	}
	enc, err := DetectEncoder(ctx, w.Client, w.Keys.Probe(version))
	switch {
	case err == nil:
		return enc, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	// ErrRestoreUnsupported, or a server that does not answer INFO or
	// CONFIG like Redis does: the plain commands work everywhere. A dead
	// connection fails at the first write.
	w.logger().Info("RESTORE not available, writing with ZADD/HSET", "reason", err.Error())
	return nil, nil
}

// preflight refuses a server whose maxmemory-policy evicts keys without
// a TTL, then plans the version and refuses it, unless w.Force, when it
// would not fit under a server's maxmemory.
func (w *Writer) preflight(ctx context.Context, m *Model, enc *Encoder, skipped *skippedChecks) (Plan, error) {
	if err := CheckEviction(ctx, w.Client); err != nil {
		var rerr redis.Error
		if !errors.As(err, &rerr) {
			return Plan{}, err
		}
		skipped.add("maxmemory-policy not checked", err)
	}
	_, cluster := w.Client.(*redis.ClusterClient)
	plan := NewPlan(m, w.Keys, enc, cluster)
	w.logger().Info("plan", "lists", plan.Lists, "hashes", plan.Hashes, "estimated_mib", float64(plan.Bytes)/(1<<20))
	err := Preflight(ctx, w.Client, plan.Bytes)
	var rerr redis.Error
	switch {
	case err == nil:
	case errors.As(err, &rerr):
		skipped.add("memory preflight skipped", err)
	case errors.Is(err, ErrNoRoom) && w.Force:
		w.logger().Warn("writing anyway (--force)", "preflight", err.Error())
	default:
		return plan, err
	}
	return plan, nil
}

// newVersion returns a version id later than every known version, even
// when two runs start within the same second.
func (w *Writer) newVersion(ctx context.Context, t time.Time) (string, error) {
	if w.shard != nil {
		return w.shard.version, nil
	}
	newest, err := w.Client.ZRevRange(ctx, w.Keys.Versions(), 0, 0).Result()
	if err != nil {
		return "", fmt.Errorf("read %s: %w", w.Keys.Versions(), err)
	}
	for {
		v := NewVersionID(t)
		if len(newest) == 0 || v > newest[0] {
			return v, nil
		}
		t = t.Add(time.Second)
	}
}

func (w *Writer) register(ctx context.Context, l *Lock, version string, m *Model, start time.Time) error {
	if w.shard != nil {
		return w.shard.register(ctx, w, l, m, start)
	}
	params, _ := json.Marshal(m.Parameters)
	inputs, _ := json.Marshal(m.Inputs)
	counts, _ := json.Marshal(m.Counts)
	if err := l.register(ctx, version, start.UnixMilli()); err != nil {
		return err
	}
	err := w.Client.HSet(ctx, w.Keys.Manifest(version),
		"version", version,
		"status", StatusWriting,
		"created_at", start.UTC().Format(time.RFC3339Nano),
		"parameters", string(params),
		"inputs", string(inputs),
		"input_counts", string(counts),
	).Err()
	if err != nil {
		return fmt.Errorf("write manifest of %s: %w", version, err)
	}
	return nil
}

func (w *Writer) writeAll(ctx context.Context, version string, m *Model, enc *Encoder, rt *router, plan Plan, res *Result) error {
	tr := &tracker{version: version, total: plan.Keys(), start: time.Now()}
	tr.begin(StageLists, plan.Keys()-plan.Hashes)
	w.stageStarted(tr)
	stop := w.reportProgress(tr)
	defer stop()
	for _, fam := range m.Families {
		tr.family.Store(&fam.Name)
		t0 := time.Now()
		n, err := w.run(ctx, fam.Lists.Len(), listJob(w.Keys, version, fam, enc), rt, tr)
		res.Lists[fam.Name] = n
		if err != nil {
			return fmt.Errorf("write %s lists: %w", fam.Name, err)
		}
		if want := plan.Lists[fam.Name]; n != want && !plan.Estimated[fam.Name] {
			return fmt.Errorf("write %s lists: wrote %d, want %d (the list source changed between passes?)", fam.Name, n, want)
		}
		w.logger().Info("wrote lists", "family", fam.Name, "keys", n, "seconds", time.Since(t0).Seconds())
	}
	if m.Users != nil {
		user := FamilyUser
		tr.family.Store(&user)
		w.stageEnded(tr)
		tr.begin(StageHashes, plan.Hashes)
		w.stageStarted(tr)
		t0 := time.Now()
		n, err := w.run(ctx, m.Users.Len(), hashJob(w.Keys, version, m.Users, enc), rt, tr)
		res.Hashes = n
		if err != nil {
			return fmt.Errorf("write user hashes: %w", err)
		}
		if n != plan.Hashes && !plan.Estimated[FamilyUser] {
			return fmt.Errorf("write user hashes: wrote %d, want %d (the hash source changed between passes?)", n, plan.Hashes)
		}
		w.logger().Info("wrote user hashes", "keys", n, "seconds", time.Since(t0).Seconds())
	}
	return nil
}

// verifyStage runs verify, passing its start and end to w.Progress.
func (w *Writer) verifyStage(ctx context.Context, version string, m *Model, plan Plan, keys *[]sampled) (int, error) {
	sampled := min(plan.Hashes, int64(w.sampleSize()))
	for _, n := range plan.Lists {
		sampled += min(n, int64(w.sampleSize()))
	}
	p := Progress{Version: version, Done: plan.Keys(), Total: plan.Keys(), Stage: StageVerify, StageTotal: sampled}
	if w.Progress != nil {
		w.Progress(p)
	}
	n, err := w.verify(ctx, version, m, keys)
	if w.Progress != nil && err == nil {
		p.StageDone = p.StageTotal
		w.Progress(p)
	}
	return n, err
}

// tracker counts the keys written for progress reports.
type tracker struct {
	version string
	total   int64
	start   time.Time
	done    atomic.Int64
	family  atomic.Pointer[string]
	stage   atomic.Pointer[stageMark]
}

// stageMark is the stage being written: its name, keys and the keys done
// (all stages) when it began.
type stageMark struct {
	name         string
	total, start int64
}

func (t *tracker) begin(stage string, total int64) {
	t.stage.Store(&stageMark{name: stage, total: total, start: t.done.Load()})
}

func (t *tracker) snapshot() Progress {
	p := Progress{Version: t.version, Done: t.done.Load(), Total: t.total, Elapsed: time.Since(t.start)}
	if f := t.family.Load(); f != nil {
		p.Family = *f
	}
	if s := t.stage.Load(); s != nil {
		p.Stage, p.StageTotal = s.name, s.total
		p.StageDone = min(p.Done-s.start, s.total)
	}
	return p
}

// stageStarted and stageEnded pass t's stage to w.Progress as it starts
// (StageDone 0) and as it ends (StageDone at its count).
func (w *Writer) stageStarted(t *tracker) {
	if w.Progress != nil {
		p := t.snapshot()
		p.StageDone = 0
		w.Progress(p)
	}
}

func (w *Writer) stageEnded(t *tracker) {
	if w.Progress != nil {
		w.Progress(t.snapshot())
	}
}

// reportProgress logs t (and calls w.Progress) every w.progressEvery()
// until the returned stop is called, which reports once more.
func (w *Writer) reportProgress(t *tracker) (stop func()) {
	lastLog := time.Now()
	report := func(log bool) {
		p := t.snapshot()
		if log {
			rate := float64(p.Done) / max(p.Elapsed.Seconds(), 1e-9)
			w.logger().Info("progress", "version", p.Version, "family", p.Family, "keys", p.Done, "of", p.Total,
				"percent", math.Round(1000*float64(p.Done)/float64(max(p.Total, 1)))/10, "keys_per_second", math.Round(rate))
		}
		if w.Progress != nil {
			w.Progress(p)
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(w.progressTick())
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				log := now.Sub(lastLog) >= w.progressEvery()
				if log {
					lastLog = now
				}
				report(log)
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		report(true)
	}
}

// reply is a queued write's reply. RESTORE answers OK. ZADD and HSET are
// followed in the same pipeline by ZCARD or HLEN of their key (count),
// which must be want: what Redis holds, not how many entries the write
// added, so that a pipeline go-redis resends after a dropped connection
// (its writes then add nothing) is not an error.
type reply struct {
	key   string
	cmd   *redis.Cmd
	count *redis.IntCmd // nil for RESTORE
	want  int64
}

func (r reply) check() error {
	if err := r.cmd.Err(); err != nil {
		return fmt.Errorf("%s: %w", r.key, err)
	}
	if r.count == nil {
		return nil
	}
	n, err := r.count.Result()
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", r.key, err)
	case n < r.want:
		return fmt.Errorf("%s: holds %d entries, want %d (duplicate members or fields in the input?)", r.key, n, r.want)
	case n > r.want:
		return fmt.Errorf("%s: holds %d entries, want %d (written twice, or by someone else?)", r.key, n, r.want)
	}
	return nil
}

func listJob(k Keys, version string, fam Family, enc *Encoder) encodeFunc {
	return func(i int, st *scratch, pick func(string) *batch) *batch {
		l := &st.list
		l.ID, l.Members, l.Scores = "", l.Members[:0], l.Scores[:0]
		fam.Lists.List(i, l)
		if len(l.Members) == 0 {
			return nil
		}
		key := k.List(version, fam.Name, l.ID)
		b := pick(key)
		if b == nil {
			return nil
		}
		if enc != nil {
			start := len(b.buf)
			var ok bool
			if b.buf, ok = enc.AppendZSet(b.buf, l.Members, l.Scores); ok {
				b.cmds = append(b.cmds, queued{key: key, start: start, end: len(b.buf)})
				b.bytes += len(key) + len(b.buf) - start
				return b
			}
		}
		// go-redis keeps args until the pipeline runs: no reuse.
		args := make([]any, 0, 2+2*len(l.Members))
		args = append(args, "ZADD", key)
		size := len(key)
		for m, member := range l.Members {
			args = append(args, l.Scores[m], member)
			size += len(member) + 24
		}
		b.cmds = append(b.cmds, queued{key: key, args: args, want: int64(len(l.Members))})
		b.bytes += size
		return b
	}
}

func hashJob(k Keys, version string, src HashSource, enc *Encoder) encodeFunc {
	return func(i int, st *scratch, pick func(string) *batch) *batch {
		h := &st.hash
		h.ID, h.Fields, h.Values = "", h.Fields[:0], h.Values[:0]
		src.Hash(i, h)
		if len(h.Fields) == 0 {
			return nil
		}
		key := k.User(version, h.ID)
		b := pick(key)
		if b == nil {
			return nil
		}
		if enc != nil {
			start := len(b.buf)
			var ok bool
			if b.buf, ok = enc.AppendHash(b.buf, h.Fields, h.Values); ok {
				b.cmds = append(b.cmds, queued{key: key, start: start, end: len(b.buf)})
				b.bytes += len(key) + len(b.buf) - start
				return b
			}
		}
		args := make([]any, 0, 2+2*len(h.Fields))
		args = append(args, "HSET", key)
		size := len(key)
		for f, field := range h.Fields {
			args = append(args, field, h.Values[f])
			size += len(field) + len(h.Values[f])
		}
		b.cmds = append(b.cmds, queued{key: key, args: args, want: int64(len(h.Fields)), hash: true})
		b.bytes += size
		return b
	}
}

func (w *Writer) complete(ctx context.Context, l *Lock, version string, res *Result, start time.Time) error {
	if w.shard != nil {
		return w.shard.complete(ctx, w, l, res, start)
	}
	counts, _ := json.Marshal(map[string]any{"lists": res.Lists, "hashes": res.Hashes})
	if err := w.Client.HSet(ctx, w.Keys.Manifest(version),
		"status", StatusComplete,
		"counts", string(counts),
		"restore", strconv.FormatBool(res.Restore),
		"keys_verified", strconv.Itoa(res.Verified),
		"estimated_bytes", strconv.FormatInt(res.EstimatedBytes, 10),
		"finished_at", w.now().UTC().Format(time.RFC3339Nano),
		"write_seconds", strconv.FormatFloat(w.now().Sub(start).Seconds(), 'f', 3, 64),
	).Err(); err != nil {
		return fmt.Errorf("complete manifest: %w", err)
	}
	return l.markComplete(ctx, version)
}

// markFailedScript marks a listed version failed, under the lock.
// KEYS: lock, status. ARGV: lock value, version.
var markFailedScript = redis.NewScript(fenceLua + `
if redis.call('HGET', KEYS[2], ARGV[2]) then
  redis.call('HSET', KEYS[2], ARGV[2], 'failed')
end
return 1
`)

// abort marks a failed version, removes its keys and returns cause with
// what happened to them. It runs on a context of its own: the run's
// context may be what failed.
func (w *Writer) abort(ctx context.Context, l *Lock, version string, cause error) error {
	if w.shard != nil {
		return w.shard.abort(ctx, w, l, cause)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	cause = oomError(ctx, w.Client, cause)
	// Refused at maxmemory, or the lock is lost; DeleteVersion forgets
	// the version anyway.
	l.run(ctx, markFailedScript, []string{w.Keys.Status()}, []any{version})
	n, err := l.DeleteVersion(ctx, version)
	if err != nil {
		w.logger().Warn("publish failed; the partial version remains until gc", "version", version, "cleanup_error", err.Error(), "cause", cause.Error())
		return fmt.Errorf("publish version %s: %w; the partial version could not be removed (%v): 'recopub gc' removes it once older than --grace", version, cause, err)
	}
	w.logger().Warn("publish failed; removed the partial version", "version", version, "keys_removed", n, "cause", cause.Error())
	return fmt.Errorf("publish version %s: %w; removed the partial version (%d keys)", version, cause, n)
}
