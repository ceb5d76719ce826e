package publish

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
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

	Conns         int          // parallel pipelines; default 4
	PipelineBytes int          // a pipeline is sent once it holds this many bytes; default 1 MiB
	SampleSize    int          // keys read back and compared before the flip; default 1000
	Seed          int64        // seeds the sample
	NoRestore     bool         // always write with ZADD/HSET
	Logger        *slog.Logger // progress; nil discards
	Now           func() time.Time
}

func (w *Writer) conns() int         { return positive(w.Conns, 4) }
func (w *Writer) pipelineBytes() int { return positive(w.PipelineBytes, 1<<20) }
func (w *Writer) sampleSize() int    { return positive(w.SampleSize, 1000) }

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

// Result describes a published version.
type Result struct {
	Version  string           `json:"version"`
	Previous string           `json:"previous,omitempty"`
	Lists    map[string]int64 `json:"lists_written"` // by family
	Hashes   int64            `json:"hashes_written"`
	Restore  bool             `json:"restore"` // written with RESTORE payloads
	Seconds  float64          `json:"seconds"`
}

// NewVersionID returns an id that sorts by creation time, such as
// 20261125T020000Z-3f9a.
func NewVersionID(t time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Publish writes m as a new version and makes it live. On failure the live
// version is unchanged and the partial version is removed.
func (w *Writer) Publish(ctx context.Context, m *Model) (*Result, error) {
	res, err := w.Write(ctx, m)
	if err != nil {
		return nil, err
	}
	prev, err := Flip(ctx, w.Client, w.Keys, res.Version, false)
	if err != nil {
		w.abort(res.Version, err)
		return nil, err
	}
	res.Previous = prev
	return res, nil
}

// Write writes m as a new complete version without making it live.
func (w *Writer) Write(ctx context.Context, m *Model) (*Result, error) {
	start := w.now()
	if err := w.Client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	version, err := w.newVersion(ctx, start)
	if err != nil {
		return nil, err
	}
	res := &Result{Version: version, Lists: make(map[string]int64)}
	if err := w.register(ctx, version, m, start); err != nil {
		return nil, err
	}
	err = w.writeAll(ctx, version, m, res)
	if err == nil {
		err = w.verify(ctx, version, m, res)
	}
	if err == nil {
		err = w.complete(ctx, version, res, start)
	}
	if err != nil {
		w.abort(version, err)
		return nil, fmt.Errorf("publish version %s: %w", version, err)
	}
	res.Seconds = w.now().Sub(start).Seconds()
	return res, nil
}

// newVersion returns a version id later than every known version, even
// when two runs start within the same second.
func (w *Writer) newVersion(ctx context.Context, t time.Time) (string, error) {
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

func (w *Writer) register(ctx context.Context, version string, m *Model, start time.Time) error {
	params, _ := json.Marshal(m.Parameters)
	inputs, _ := json.Marshal(m.Inputs)
	counts, _ := json.Marshal(m.Counts)
	_, err := w.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, w.Keys.Versions(), redis.Z{Score: float64(start.UnixMilli()), Member: version})
		p.HSet(ctx, w.Keys.Status(), version, StatusWriting)
		return nil
	})
	if err != nil {
		return fmt.Errorf("register version %s: %w", version, err)
	}
	err = w.Client.HSet(ctx, w.Keys.Manifest(version),
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

func (w *Writer) writeAll(ctx context.Context, version string, m *Model, res *Result) error {
	var enc *Encoder
	if !w.NoRestore {
		e, err := DetectEncoder(ctx, w.Client, w.Keys.Probe(version))
		switch {
		case err == nil:
			enc = e
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			// ErrRestoreUnsupported, or a server that does not answer
			// INFO or CONFIG like Redis does: the plain commands work
			// everywhere. A dead connection fails at the first write.
			w.logger().Info("RESTORE not available, writing with ZADD/HSET", "reason", err.Error())
		}
	}
	res.Restore = enc != nil
	for _, fam := range m.Families {
		t0 := time.Now()
		n, err := w.run(ctx, fam.Lists.Len(), listJob(w.Keys, version, fam, enc))
		if err != nil {
			return fmt.Errorf("write %s lists: %w", fam.Name, err)
		}
		res.Lists[fam.Name] = n
		w.logger().Info("wrote lists", "family", fam.Name, "keys", n, "seconds", time.Since(t0).Seconds())
	}
	if m.Users != nil {
		t0 := time.Now()
		n, err := w.run(ctx, m.Users.Len(), hashJob(w.Keys, version, m.Users, enc))
		if err != nil {
			return fmt.Errorf("write user hashes: %w", err)
		}
		res.Hashes = n
		w.logger().Info("wrote user hashes", "keys", n, "seconds", time.Since(t0).Seconds())
	}
	return nil
}

// job queues the commands for item i on p and returns the bytes queued and
// a check of the replies (nil when item i writes nothing).
type job func(ctx context.Context, p redis.Pipeliner, i int, st *jobState) (int, func() error)

// jobState is one worker's scratch space.
type jobState struct {
	list List
	hash Hash
}

// run calls j for i in [0, n) over w.conns() pipelines and returns how many
// items wrote a key.
func (w *Writer) run(ctx context.Context, n int, j job) (int64, error) {
	var next, written atomic.Int64
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for range w.conns() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.worker(ctx, n, j, &next, &written); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return written.Load(), err
	}
	return written.Load(), nil
}

func (w *Writer) worker(ctx context.Context, n int, j job, next, written *atomic.Int64) error {
	const chunk = 256
	var st jobState
	p := w.Client.Pipeline()
	var checks []func() error
	bytes := 0
	flush := func() error {
		if p.Len() == 0 {
			return nil
		}
		_, err := p.Exec(ctx)
		for _, c := range checks {
			if cerr := c(); cerr != nil {
				return cerr
			}
			written.Add(1)
		}
		if err != nil {
			return err
		}
		checks, bytes = checks[:0], 0
		return nil
	}
	for {
		lo := int(next.Add(chunk)) - chunk
		if lo >= n {
			return flush()
		}
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		for i := lo; i < min(lo+chunk, n); i++ {
			b, check := j(ctx, p, i, &st)
			if check == nil {
				continue
			}
			checks = append(checks, check)
			if bytes += b; bytes >= w.pipelineBytes() {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
}

func listJob(k Keys, version string, fam Family, enc *Encoder) job {
	return func(ctx context.Context, p redis.Pipeliner, i int, st *jobState) (int, func() error) {
		l := &st.list
		l.ID, l.Members, l.Scores = "", l.Members[:0], l.Scores[:0]
		fam.Lists.List(i, l)
		if len(l.Members) == 0 {
			return 0, nil
		}
		key := k.List(version, fam.Name, l.ID)
		if enc != nil {
			if payload, ok := enc.ZSet(l.Members, l.Scores); ok {
				cmd := p.Do(ctx, "RESTORE", key, 0, payload)
				return len(key) + len(payload), func() error { return replyErr(key, cmd) }
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
		cmd := p.Do(ctx, args...)
		want := int64(len(l.Members))
		return size, func() error { return countReply(key, cmd, want) }
	}
}

func hashJob(k Keys, version string, src HashSource, enc *Encoder) job {
	return func(ctx context.Context, p redis.Pipeliner, i int, st *jobState) (int, func() error) {
		h := &st.hash
		h.ID, h.Fields, h.Values = "", h.Fields[:0], h.Values[:0]
		src.Hash(i, h)
		if len(h.Fields) == 0 {
			return 0, nil
		}
		key := k.User(version, h.ID)
		if enc != nil {
			if payload, ok := enc.Hash(h.Fields, h.Values); ok {
				cmd := p.Do(ctx, "RESTORE", key, 0, payload)
				return len(key) + len(payload), func() error { return replyErr(key, cmd) }
			}
		}
		args := make([]any, 0, 2+2*len(h.Fields))
		args = append(args, "HSET", key)
		size := len(key)
		for f, field := range h.Fields {
			args = append(args, field, h.Values[f])
			size += len(field) + len(h.Values[f])
		}
		cmd := p.Do(ctx, args...)
		want := int64(len(h.Fields))
		return size, func() error { return countReply(key, cmd, want) }
	}
}

func replyErr(key string, cmd *redis.Cmd) error {
	if err := cmd.Err(); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

func countReply(key string, cmd *redis.Cmd, want int64) error {
	n, err := cmd.Int64()
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if n != want {
		return fmt.Errorf("%s: wrote %d entries, want %d (duplicate members or fields in the input?)", key, n, want)
	}
	return nil
}

func (w *Writer) complete(ctx context.Context, version string, res *Result, start time.Time) error {
	counts, _ := json.Marshal(map[string]any{"lists": res.Lists, "hashes": res.Hashes})
	if err := w.Client.HSet(ctx, w.Keys.Manifest(version),
		"status", StatusComplete,
		"counts", string(counts),
		"restore", strconv.FormatBool(res.Restore),
		"finished_at", w.now().UTC().Format(time.RFC3339Nano),
		"write_seconds", strconv.FormatFloat(w.now().Sub(start).Seconds(), 'f', 3, 64),
	).Err(); err != nil {
		return fmt.Errorf("complete manifest: %w", err)
	}
	if err := w.Client.HSet(ctx, w.Keys.Status(), version, StatusComplete).Err(); err != nil {
		return fmt.Errorf("mark version complete: %w", err)
	}
	return nil
}

// abort marks a failed version and removes its keys. It runs on its own
// context: the run's context may be what failed.
func (w *Writer) abort(version string, cause error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w.Client.HSet(ctx, w.Keys.Status(), version, StatusFailed)
	n, err := DeleteVersion(ctx, w.Client, w.Keys, version)
	w.logger().Warn("publish failed; removed the partial version", "version", version, "keys_removed", n, "cleanup_error", err, "cause", cause.Error())
}
