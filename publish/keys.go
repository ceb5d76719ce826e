package publish

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultNamespace is the namespace keys live under when none is given.
const DefaultNamespace = "reco"

// Family names of the version's keys.
const (
	FamilySimilar = "sim"  // reco:<v>:sim:<item>: neighbours of an item
	FamilyUser    = "user" // reco:<v>:user:<user>: feature hash
	FamilySegment = "seg"  // reco:<v>:seg:<value1>|<value2>: popular items of a profile segment
	FamilyPopular = "pop"  // reco:<v>:pop: global popularity (a single list)
	FamilyRec     = "rec"  // reco:<v>:rec:<user>: the user's top-K unseen items (run --user-lists)
)

// SegmentSeparator joins the values of a segment's columns in its key.
const SegmentSeparator = "|"

// CrossFamily is the family of "did event on X, then bought Y" lists for
// an event slug: reco:<v>:cross:<event_slug>:<item>.
func CrossFamily(eventSlug string) string { return "cross:" + eventSlug }

// SegmentID joins segment values into the id of a seg list; a null value
// is written as the empty string.
func SegmentID(values ...string) string { return strings.Join(values, SegmentSeparator) }

// Keys spells every key recopub reads or writes. It is the one place that
// knows the schema; the writer and the read client both use it.
type Keys struct {
	Namespace string // default "reco"
}

func (k Keys) ns() string {
	if k.Namespace == "" {
		return DefaultNamespace
	}
	return k.Namespace
}

func (k Keys) control(name string) string { return "{" + k.ns() + "}:" + name }

// Current is the string key holding the live version id.
func (k Keys) Current() string { return k.control("current") }

// Versions is the sorted set of version ids scored by creation time in ms.
func (k Keys) Versions() string { return k.control("versions") }

// Status is the hash of version id -> status that the flip script checks.
func (k Keys) Status() string { return k.control("status") }

// Flipped is the hash of version id -> when it was last made live (unix
// ms), written by the flip script: gc tells a version rolled back from
// (kept) from one whose run died between completing and flipping it.
func (k Keys) Flipped() string { return k.control("flipped") }

// Lock is the run lock.
func (k Keys) Lock() string { return k.control("lock") }

// ShardLock is the lock a shard of a sharded version holds while it
// writes (see AcquireShardLock); it shares the {ns} hash tag with the
// control keys, so the scripts that check it run on one slot.
func (k Keys) ShardLock(version string, shard int) string {
	return k.shardLockPrefix(version) + strconv.Itoa(shard)
}

func (k Keys) shardLockPrefix(version string) string { return k.control("lock:" + version + ":") }

// Shards is the hash recording the shards of a sharded version: "shards"
// (how many), "fingerprint" (of the parameters and inputs every shard
// must share), "active_ms" (the last time a shard started or ended) and,
// for each shard index, its ShardRecord as JSON.
func (k Keys) Shards(version string) string { return k.control("shards:" + version) }

// Flips is the pub/sub channel announcing each new live version.
func (k Keys) Flips() string { return k.control("flips") }

// VersionPrefix is the prefix of every key of a version.
func (k Keys) VersionPrefix(version string) string { return k.ns() + ":" + version + ":" }

// VersionPattern is the SCAN pattern of every key of a version.
func (k Keys) VersionPattern(version string) string { return k.VersionPrefix(version) + "*" }

// AllVersionsPattern is the SCAN pattern of the keys of every version
// (and of anything else under "<ns>:", which VersionOf tells apart).
func (k Keys) AllVersionsPattern() string { return k.ns() + ":*" }

// VersionOf returns the version a key belongs to, or false when key is
// not a version key (its second segment is not a version id).
func (k Keys) VersionOf(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, k.ns()+":")
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, ":")
	if !ok {
		return "", false
	}
	if _, ok := VersionTime(id); !ok {
		return "", false
	}
	return id, true
}

// InFamily reports whether key, a key of version, is a list or hash of
// family: the family's single list (such as "pop") or one of its ids.
func (k Keys) InFamily(version, family, key string) bool {
	base := k.List(version, family, "")
	rest, ok := strings.CutPrefix(key, base)
	return ok && (rest == "" || rest[0] == ':')
}

// Manifest is the hash describing a version.
func (k Keys) Manifest(version string) string { return k.VersionPrefix(version) + "manifest" }

// Probe is a scratch key used to check that the server accepts RESTORE.
func (k Keys) Probe(version string) string { return k.VersionPrefix(version) + "probe" }

// List is the sorted set of family (such as "sim") for id.
// An empty id names a family with a single list, such as "pop".
func (k Keys) List(version, family, id string) string {
	if id == "" {
		return k.VersionPrefix(version) + family
	}
	return k.VersionPrefix(version) + family + ":" + id
}

// User is the feature hash of a user.
func (k Keys) User(version, user string) string {
	return k.VersionPrefix(version) + FamilyUser + ":" + user
}

// ValidNamespace reports whether ns can be used as a namespace: it becomes
// part of a hash tag, so braces and separators are not allowed.
func ValidNamespace(ns string) error {
	if ns == "" || len(ns) > 64 || strings.ContainsAny(ns, "{}: \t\r\n*?[]") {
		return fmt.Errorf("namespace %q: want 1 to 64 characters without braces, colons, spaces or glob characters", ns)
	}
	return nil
}
