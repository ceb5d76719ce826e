// Package publish owns recopub's Redis key schema: it writes a model as a
// new version, flips the live pointer to it in one atomic step, removes old
// versions, and gives online services a read client that only ever reads
// the live version.
//
// # Key schema
//
// With the default namespace "reco" (see Keys):
//
//	{reco}:current                 string: the live version id
//	{reco}:versions                sorted set: version ids scored by creation time (ms)
//	{reco}:status                  hash: version id -> writing | complete | failed
//	{reco}:lock                    string: the run lock and fencing token, with a TTL
//	{reco}:lock:<version>:<i>      string: the lock of shard i of a sharded version
//	{reco}:shards:<version>        hash: a sharded version's shard count, fingerprint and shard records
//	{reco}:flipped                 hash: version id -> when it was last made live (ms)
//	{reco}:flips                   pub/sub channel: the new live version id after each flip
//	reco:<version>:manifest        hash: created_at, status, parameters, inputs, counts
//	reco:<version>:sim:<item>      sorted set: neighbour item -> similarity
//	reco:<version>:user:<user>     hash: feature -> value
//
// Control keys share the hash tag {reco}, so the flip script can read and
// write all of them on Redis Cluster; version keys have no hash tag and
// spread over the cluster's slots.
//
// # Writing
//
// Writer.Publish estimates the version's memory from a sample (NewPlan),
// registers it as "writing" and writes every list and hash: Encoders
// goroutines build the commands (RESTORE of DUMP payloads built by
// Encoder where the server allows it, ZADD/HSET otherwise) into batches
// per master, which Conns pipelines per master stream, every master in
// parallel (stream.go). It then checks the counts, reads a sample back,
// marks the version complete and flips (Lock.FlipWritten). A failed
// publish leaves the live version untouched and removes what it wrote.
//
// LiveFeatures is the alternative for user features: it merges them with
// HSET into the hashes RudderStack's Redis destination keeps per user
// (Keys.LiveUser), which belong to no version.
//
// # The run lock
//
// AcquireLock takes {reco}:lock for a run, gc or rollback. Its value is
// the fencing token: Lock's methods (Flip, DeleteVersion, GC) and the
// Writer's register and complete steps are Lua scripts that compare the
// lock with it on the server first, so a process that lost the lock can
// neither flip nor delete. Flip also counts the version's keys against
// its manifest (VerifyVersion) and refuses a damaged version;
// FlipWritten, for the process that has just written the version, counts
// only when what the write saw leaves a doubt (evidence.go). The package
// functions Flip, DeleteVersion and GC take the lock for the one call.
//
// # Sharded versions
//
// A job too big for one machine writes one version as n shards (Shard;
// a key belongs to shard ShardOf(its id, n)). Each shard takes its own
// lock (AcquireShardLock, {reco}:lock:<version>:<i>), so shards run at
// the same time and beside gc; Writer.WriteShard registers the shard in
// {reco}:shards:<version> (the first one lists the version as writing),
// writes the part of the model the shard owns (Shard.Model), verifies a
// sample and records the shard complete with its key counts. Nothing is
// flippable until Lock.FlipShards, under the namespace's lock, finds
// every shard complete, sums their counts into the manifest, counts the
// version's keys against them and flips. Deleting a version (gc) is
// refused while one of its shards holds its lock or, for gc, was active
// within the grace period (ErrShardActive).
//
// # Models as files
//
// ModelWriter writes a Model to a directory (neighbors.parquet,
// features.parquet, manifest.json) so it can be inspected before it is
// published; ReadModelDir checks such a directory and returns a Model
// whose sources read the files on demand, to be published like any other.
//
// # Reading
//
// Client resolves the live version once per request and reads only keys of
// that version, so a response never mixes two versions. Watch follows the
// {reco}:flips channel to keep the cached version id current (a short TTL
// is the safety net). Recommend merges the neighbour lists of a user's
// recent purchases (from RudderStack's live hash when present, else the
// batch hash), weighted by recency, then fills up from the segment and
// popularity lists, in at most two round trips; the heads of recently
// read lists of the live version are cached in memory, which is exact
// because a published version never changes.
package publish
