// Package features reads event and profile exports and turns them into the
// data the model and the publisher need.
//
// Events are Parquet files shaped like a RudderStack warehouse: one row per
// tracked event with a user id (falling back to the anonymous id), an event
// name, a timestamp and an item id. Load scans them as Arrow record batches,
// reading only the projected columns, in parallel over files and row groups,
// and maps every id to a dense integer. The result, a Dataset, keeps one
// event in 13 bytes (user, item, time in seconds, event code) so that tens of
// millions of events fit comfortably in memory.
//
// Dense ids are deterministic: items and event names are numbered in sorted
// order of their external ids, users in order of first appearance when the
// files are read in sorted path order. The same inputs give the same ids on
// any number of cores.
//
// Profiles are read with parquet-go into a Profiles table; Features combines
// them with what the events say about each user (the five most recent
// purchases, counts per event, last seen) into the flat field/value pairs a
// RudderStack Redis destination would write.
//
// Generate writes synthetic exports of the same shape for tests, benchmarks
// and demos.
package features
