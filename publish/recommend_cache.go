package publish

import (
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// listCache keeps the heads of lists of the live version in memory. A
// version's lists never change once it is written, so a cached head is
// exactly what Redis would answer for that version, and no answer can mix
// versions: entries are looked up by version. The cache holds one version
// at a time and starts over when a list of a newer live version is put.
//
// Replying with scores is most of what ZREVRANGE costs Redis (formatting
// doubles), so hot lists served from memory leave Redis the user hashes,
// which change as events arrive and are never cached.
type listCache struct {
	max int // entries kept at most; 0 turns the cache off

	hits, misses atomic.Int64

	mu      sync.RWMutex
	version string
	lists   map[string]cachedList // by key
}

type cachedList struct {
	head  []redis.Z
	whole bool // head is the whole list
}

// cacheDepth is how many members are read, at least, when a list is read
// to be cached, so that later calls asking for a few more still hit.
const cacheDepth = 30

// depth is how many members to read of a list when need are needed.
func (lc *listCache) depth(need int) int {
	if lc.max <= 0 {
		return need
	}
	return max(need, cacheDepth)
}

// get returns the first need members of the list at key of version v.
func (lc *listCache) get(v, key string, need int) ([]redis.Z, bool) {
	if lc.max <= 0 {
		lc.misses.Add(1)
		return nil, false
	}
	lc.mu.RLock()
	l, ok := lc.lists[key]
	ok = ok && lc.version == v && (len(l.head) >= need || l.whole)
	lc.mu.RUnlock()
	if !ok {
		lc.misses.Add(1)
		return nil, false
	}
	lc.hits.Add(1)
	return l.head[:min(need, len(l.head))], true
}

// put keeps head, the first read members of the list at key of version
// v. Callers put only lists of a version that was live when they were
// read, so only around a flip can a late reader of the old version
// start the cache over once more.
func (lc *listCache) put(v, key string, head []redis.Z, read int) {
	if lc.max <= 0 {
		return
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.version != v {
		lc.version, lc.lists = v, make(map[string]cachedList)
	}
	if len(lc.lists) >= lc.max {
		for k := range lc.lists { // evict one at random
			delete(lc.lists, k)
			break
		}
	}
	lc.lists[key] = cachedList{head: head, whole: len(head) < read}
}
