// Package features reads event and profile exports and turns them into the
// data the model and the publisher need.
//
// Events are Parquet files shaped like a RudderStack warehouse: one row per
// tracked event with a user id (falling back to the anonymous id), an event
// name, a timestamp and an item id, or one row per order whose items are a
// list of structs or JSON text, exploded into one event per item. Load
// reads them in parallel over row groups, maps every id to a dense integer
// and returns a Dataset, which keeps one event in 14 bytes (user, item,
// time in seconds, event code; 4 more with weights) so that tens of
// millions of events fit comfortably in memory.
//
// Two read paths share the filtering and numbering, and neither decodes
// Parquet itself: page headers, checksums, decompression, levels and
// value encodings are the libraries' work. Flat columns take the page
// path (pagepath.go): parquet-go reads each column chunk's pages, and a
// dictionary-encoded page comes as int32 indexes into the chunk's
// dictionary, whose values are looked up (ids) or hashed (message ids)
// once, so that rows become index lookups. Everything else (nested
// structs, lists, JSON, INT96, DECIMAL, unsigned and TIME columns, codecs
// or encodings parquet-go does not read or misreads (LZ4_RAW, see
// pageLeaf), optional columns whose
// statistics do not count nulls (parquet-go would trust num_nulls in V2
// page headers), files from writers with the PARQUET-816 bug, encrypted
// columns) goes through arrow-go's pqarrow
// record batches of the projected columns, string ids read as dictionary
// arrays (arrowpath.go). Both give the same Dataset; tests check it on
// every fixture.
//
// User and item ids follow publish/keyid, the rule the read side applies:
// a row whose id is empty, too long, not UTF-8 or holds a character the
// read side refuses is dropped (no_user_id or no_item_id, id_too_long,
// invalid_utf8, bad_id), each distinct dictionary value checked once.
//
// Dense ids are deterministic: items and event names are numbered in sorted
// order, users in order of first appearance when the files are read in
// sorted path order. The same inputs give the same ids on any number of
// cores. Id strings are keyed by a 96-bit hash (dict.go): two of ten
// million ids are confused with probability about 1e-15. Message ids are
// deduplicated by a 64-bit hash (dedup.go): among ten million events one
// is wrongly dropped as a duplicate with probability about 3e-6.
//
// Rows that cannot be used are dropped and counted by reason (Stats);
// files that cannot be read fail the load with an error naming the file
// and column.
//
// Profiles are read through Arrow into a Profiles table, kept compactly
// (ids and values in byte slices, a column's repeated values once, ids
// indexed by open addressing: table.go); Users combines them with what the
// events say about each user (the five most recent purchases, counts per
// event, last seen) into the flat field/value pairs a RudderStack Redis
// destination would write, field by field as the publisher asks for each
// user. NewUsers groups the Dataset's events by user in place (a counting
// sort) and joins the profiles by row, in time and memory linear in the
// events and users.
//
// Generate writes synthetic exports of the same shape for tests, benchmarks
// and demos.
package features
