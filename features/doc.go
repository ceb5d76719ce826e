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
// Two read paths share the filtering and numbering. Flat columns take the
// page-level path (pagereader.go, pages.go): a column chunk is read with one
// call, its pages decompressed straight from that buffer, each dictionary
// page's strings looked up once, and data pages reduced to bit-unpacked
// indices into the mapped dictionary. Everything else (nested structs,
// lists, JSON, INT96, DECIMAL, encodings the page path does not decode)
// goes through Arrow record batches of the projected columns
// (arrowpath.go). Both give the same Dataset; a test checks it on every
// fixture.
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
// Profiles are read through Arrow into a Profiles table; Users combines
// them with what the events say about each user (the five most recent
// purchases, counts per event, last seen) into the flat field/value pairs a
// RudderStack Redis destination would write.
//
// Generate writes synthetic exports of the same shape for tests, benchmarks
// and demos.
package features
