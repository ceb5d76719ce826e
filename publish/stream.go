package publish

// Writing a family of keys without leaving Redis idle.
//
// Encoders goroutines (all cores by default) build the commands of
// consecutive runs of items (DUMP payloads for RESTORE, or ZADD/HSET when
// a key is not a listpack) into batches of about PipelineBytes, one open
// batch per master: on Redis Cluster each key goes to the batch of the
// master that holds its slot. Conns senders per master take full
// batches, send each as one pipeline and check every reply. So while a
// master works through one pipeline the next is already encoded and on
// its way, and the masters of a cluster are written in parallel, each at
// its own pace. Batches come from a fixed pool: memory stays a few times
// PipelineBytes per encoder and sender, whatever the model's size.
//
// The pipelines still go through the go-redis client (the cluster
// client when there is one), which handles MOVED and ASK replies and
// connection retries as for any other command.

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// encodeChunk is how many consecutive items an encoder claims at once:
// sources backed by files read consecutive items fastest.
const encodeChunk = 256

// batch is the commands of one pipeline to one master.
type batch struct {
	shard int
	cmds  []queued
	buf   []byte // the RESTORE payloads, back to back
	bytes int    // keys and values queued, against pipelineBytes
}

func (b *batch) reset(shard int) {
	b.shard, b.cmds, b.buf, b.bytes = shard, b.cmds[:0], b.buf[:0], 0
}

// queued is one key's write: RESTORE of buf[start:end], or args (ZADD or
// HSET) followed by a count of the key that must be want.
type queued struct {
	key        string
	start, end int
	args       []any
	want       int64
	hash       bool // args is HSET (count with HLEN), else ZADD (ZCARD)
}

// scratch is one encoder's reusable list and hash.
type scratch struct {
	list List
	hash Hash
}

// encodeFunc loads item i into st and, unless it writes nothing, queues
// its write in the batch pick returns for its key. It returns that batch,
// or nil when item i writes nothing or pick returned nil (the run is
// cancelled).
type encodeFunc func(i int, st *scratch, pick func(key string) *batch) *batch

// router tells which master holds a key.
type router struct {
	cluster *redis.ClusterClient // nil: one server
	index   sync.Map             // *redis.Client -> shard
	n       atomic.Int32
	masters int
}

// newRouter returns a router over the masters of c; on a cluster it
// counts them.
func newRouter(ctx context.Context, c redis.UniversalClient) (*router, error) {
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return &router{masters: 1}, nil
	}
	n := 0
	var mu sync.Mutex
	err := cc.ForEachMaster(ctx, func(context.Context, *redis.Client) error {
		mu.Lock()
		n++
		mu.Unlock()
		return nil
	})
	return &router{cluster: cc, masters: max(n, 1)}, err
}

// shard returns the index, in [0, r.masters), of the master holding key.
// A master not seen before takes the next index; more masters than
// counted at the start (a resharding) share the last index, and go-redis
// sends their keys where they belong.
func (r *router) shard(ctx context.Context, key string) int {
	if r.cluster == nil {
		return 0
	}
	node, err := r.cluster.MasterForKey(ctx, key)
	if err != nil {
		return 0 // the pipeline reports the error for the key
	}
	if i, ok := r.index.Load(node); ok {
		return i.(int)
	}
	i, _ := r.index.LoadOrStore(node, min(int(r.n.Add(1))-1, r.masters-1))
	return i.(int)
}

func (w *Writer) encoders() int { return positive(w.Encoders, runtime.GOMAXPROCS(0)) }

// run writes items [0, n) with encode and returns how many wrote a key.
func (w *Writer) run(ctx context.Context, n int, encode encodeFunc, rt *router, tr *tracker) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	senders := w.conns()
	encoders := w.encoders()
	pool := make(chan *batch, encoders*rt.masters+2*senders*rt.masters)
	for range cap(pool) {
		pool <- &batch{} // grown as used, then reused
	}
	ready := make([]chan *batch, rt.masters)
	for s := range ready {
		ready[s] = make(chan *batch, senders)
	}
	var written atomic.Int64
	var next atomic.Int64
	var enc, send sync.WaitGroup
	for range encoders {
		enc.Go(func() {
			if err := w.encodeLoop(ctx, n, encode, rt, &next, pool, ready); err != nil {
				cancel(err)
			}
		})
	}
	for s := range ready {
		for range senders {
			send.Go(func() {
				if err := w.sendLoop(ctx, ready[s], pool, &written, &tr.done); err != nil {
					cancel(err)
				}
			})
		}
	}
	enc.Wait()
	for _, ch := range ready {
		close(ch)
	}
	send.Wait()
	if err := context.Cause(ctx); err != nil {
		return written.Load(), err
	}
	return written.Load(), nil
}

// encodeLoop claims chunks of items, encodes them into one open batch per
// master and passes a batch on once it holds pipelineBytes, and every
// open batch at the end.
func (w *Writer) encodeLoop(ctx context.Context, n int, encode encodeFunc, rt *router, next *atomic.Int64, pool chan *batch, ready []chan *batch) error {
	limit := w.pipelineBytes()
	open := make([]*batch, rt.masters)
	var st scratch
	pick := func(key string) *batch {
		s := rt.shard(ctx, key)
		if open[s] == nil {
			select {
			case b := <-pool:
				b.reset(s)
				open[s] = b
			case <-ctx.Done():
				return nil
			}
		}
		return open[s]
	}
	pass := func(b *batch) error {
		s := b.shard // b is the sender's once sent
		select {
		case ready[s] <- b:
			open[s] = nil
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	for {
		lo := int(next.Add(encodeChunk)) - encodeChunk
		if lo >= n {
			break
		}
		for i := lo; i < min(lo+encodeChunk, n); i++ {
			b := encode(i, &st, pick)
			if err := ctx.Err(); err != nil {
				return context.Cause(ctx)
			}
			if b != nil && b.bytes >= limit {
				if err := pass(b); err != nil {
					return err
				}
			}
		}
	}
	for _, b := range open {
		if b != nil {
			if err := pass(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// sendLoop sends the batches of one master as pipelines, checks every
// reply and gives the batches back to the pool.
func (w *Writer) sendLoop(ctx context.Context, ready <-chan *batch, pool chan<- *batch, written, done *atomic.Int64) error {
	p := w.Client.Pipeline()
	var replies []reply
	var args []any // the RESTOREs' arguments, one allocation per batch
	for b := range ready {
		if ctx.Err() != nil {
			continue // drain, so that encoders never block on a full queue
		}
		replies, args = replies[:0], args[:0]
		for _, q := range b.cmds {
			var r reply
			r, args = q.queue(ctx, p, b.buf, args)
			replies = append(replies, r)
		}
		_, err := p.Exec(ctx)
		for _, r := range replies {
			if cerr := r.check(); cerr != nil {
				return cerr
			}
		}
		if err != nil {
			return err
		}
		written.Add(int64(len(replies)))
		done.Add(int64(len(replies)))
		pool <- b
	}
	return context.Cause(ctx)
}

// queue adds q's commands to p; a RESTORE's arguments go at the end of
// args, which go-redis keeps until the pipeline has run.
func (q *queued) queue(ctx context.Context, p redis.Pipeliner, buf []byte, args []any) (reply, []any) {
	if q.args == nil {
		// REPLACE: a pipeline go-redis retries after a network error must
		// not fail on the keys it already wrote.
		n := len(args)
		args = append(args, "RESTORE", q.key, 0, buf[q.start:q.end], "REPLACE")
		return reply{key: q.key, cmd: p.Do(ctx, args[n:len(args):len(args)]...)}, args
	}
	r := reply{key: q.key, cmd: p.Do(ctx, q.args...), want: q.want}
	if q.hash {
		r.count = p.HLen(ctx, q.key)
	} else {
		r.count = p.ZCard(ctx, q.key)
	}
	return r, args
}
