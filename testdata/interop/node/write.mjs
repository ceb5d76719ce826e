// Writes the canonical events with a writer outside Go: DuckDB (the
// @duckdb/node-api package bundles its engine). More writers go here.
//
//   node write.mjs IN_DIR OUT_DIR
//
// IN_DIR holds tracks.ndjson and orders.ndjson, written by the Go test
// (canonicalJSON in node_test.go). Every file written is reported on
// stdout as one JSON line {"file": ..., "shape": "tracks"|"orders"|"orderjson"}.
import { DuckDBInstance } from '@duckdb/node-api';
import { join } from 'node:path';

const [inDir, outDir] = process.argv.slice(2);
if (!inDir || !outDir) {
  console.error('usage: node write.mjs IN_DIR OUT_DIR');
  process.exit(2);
}
const report = (file, shape) => console.log(JSON.stringify({ file, shape }));
const q = (s) => `'${s.replaceAll("'", "''")}'`;

async function duckdb() {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  await con.run("SET TimeZone = 'UTC'");
  await con.run(`CREATE TABLE tracks AS SELECT * FROM read_json(${q(join(inDir, 'tracks.ndjson'))},
    format = 'newline_delimited', columns = {message_id: 'VARCHAR', user_id: 'VARCHAR', anonymous_id: 'VARCHAR',
    event: 'VARCHAR', ts_us: 'BIGINT', product_id: 'VARCHAR', quantity: 'BIGINT', weight: 'DOUBLE'})`);
  await con.run(`CREATE TABLE orders AS SELECT * FROM read_json(${q(join(inDir, 'orders.ndjson'))},
    format = 'newline_delimited', columns = {message_id: 'VARCHAR', user_id: 'VARCHAR', anonymous_id: 'VARCHAR',
    event: 'VARCHAR', ts_us: 'BIGINT',
    products: 'STRUCT(product_id VARCHAR, sku VARCHAR, quantity BIGINT, price DOUBLE)[]', products_json: 'VARCHAR'})`);

  const tracks = (time) => `SELECT message_id, user_id, anonymous_id, event, ${time} AS timestamp,
    product_id, quantity, weight FROM tracks`;
  const tstz = 'CAST(make_timestamp(ts_us) AS TIMESTAMPTZ)';
  const files = [];
  for (const [name, codec] of [['snappy', 'snappy'], ['gzip', 'gzip'], ['zstd', 'zstd'],
    ['lz4_raw', 'lz4_raw'], ['brotli', 'brotli'], ['none', 'uncompressed']]) {
    files.push([`duckdb_tracks_codec_${name}.parquet`, 'tracks', tracks(tstz), `COMPRESSION ${codec}`]);
  }
  files.push(
    // DuckDB's Parquet V2 files: DATA_PAGE_V2 and DELTA encodings.
    ['duckdb_tracks_parquet_v2.parquet', 'tracks', tracks(tstz), 'PARQUET_VERSION V2'],
    ['duckdb_tracks_parquet_v2_zstd.parquet', 'tracks', tracks(tstz), 'PARQUET_VERSION V2, COMPRESSION zstd'],
    ['duckdb_tracks_timestamp_naive.parquet', 'tracks', tracks('make_timestamp(ts_us)'), 'COMPRESSION snappy'],
    ['duckdb_tracks_timestamp_ms.parquet', 'tracks', tracks('CAST(make_timestamp(ts_us) AS TIMESTAMP_MS)'), 'COMPRESSION snappy'],
    ['duckdb_tracks_timestamp_ns.parquet', 'tracks', tracks('CAST(make_timestamp(ts_us) AS TIMESTAMP_NS)'), 'COMPRESSION snappy'],
    // TIMESTAMPTZ as DuckDB prints it: 2025-02-09 06:39:06.299+00.
    ['duckdb_tracks_timestamptz_text.parquet', 'tracks',
      tracks(`coalesce(CAST(${tstz} AS VARCHAR), 'not a time')`), 'COMPRESSION snappy'],
    ['duckdb_tracks_epoch_ms.parquet', 'tracks', tracks('ts_us // 1000'), 'COMPRESSION zstd'],
    ['duckdb_orders_list.parquet', 'orders', `SELECT message_id, user_id, anonymous_id, event,
      ${tstz} AS timestamp, products FROM orders`, 'COMPRESSION snappy'],
    ['duckdb_orders_list_v2.parquet', 'orders', `SELECT message_id, user_id, anonymous_id, event,
      ${tstz} AS timestamp, products FROM orders`, 'PARQUET_VERSION V2'],
    ['duckdb_orderjson.parquet', 'orderjson', `SELECT message_id, user_id, anonymous_id, event,
      ${tstz} AS timestamp, products_json AS products FROM orders`, 'COMPRESSION zstd'],
  );
  for (const [file, shape, select, opts] of files) {
    await con.run(`COPY (${select}) TO ${q(join(outDir, file))} (FORMAT parquet, ${opts})`);
    report(file, shape);
  }
  con.closeSync();
  db.closeSync();
}

await duckdb();
