// Runs docs/warehouse/cooccurrence.sql in DuckDB over an event export and
// writes a model directory that `recopub publish --from` reads, as a data
// engineer would from a warehouse (cmd/recopub's warehouse_test.go).
//
//   node cooccurrence.mjs SQL_FILE MANIFEST_TEMPLATE EVENTS_GLOB OUT_DIR METRIC TOP_N MIN_SUPPORT
//
// EVENTS_GLOB is RudderStack-shaped Parquet (user_id, anonymous_id,
// product_id); the `events` view the SQL reads falls back to anonymous_id
// as recopub's ingest does. The SQL's parameters are set by replacing its
// line marked `-- recopub:params`, the line a user edits by hand.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [sqlFile, manifestFile, eventsGlob, outDir, metric, topN, minSupport] = process.argv.slice(2);
if (!minSupport) {
  console.error('usage: node cooccurrence.mjs SQL_FILE MANIFEST_TEMPLATE EVENTS_GLOB OUT_DIR METRIC TOP_N MIN_SUPPORT');
  process.exit(2);
}
const q = (s) => `'${s.replaceAll("'", "''")}'`;
const int = (s) => {
  if (!/^[0-9]+$/.test(s)) throw new Error(`not a count: ${s}`);
  return Number(s);
};

const marker = /^.*-- recopub:params$/m;
const sql = readFileSync(sqlFile, 'utf8');
if ((sql.match(new RegExp(marker.source, 'gm')) || []).length !== 1) {
  throw new Error(`${sqlFile}: want exactly one line ending in "-- recopub:params"`);
}
const query = sql.replace(marker,
  `  SELECT ${q(metric)} AS metric, ${int(topN)} AS top_n, ${int(minSupport)} AS min_support -- recopub:params`)
  .trim().replace(/;$/, '');

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run(`CREATE VIEW events AS
  SELECT COALESCE(NULLIF(user_id, ''), anonymous_id) AS user_id, product_id
  FROM read_parquet(${q(eventsGlob)}, union_by_name = true)`);
mkdirSync(outDir, { recursive: true });
const neighbors = join(outDir, 'neighbors.parquet');
await con.run(`COPY (${query}) TO ${q(neighbors)} (FORMAT parquet, COMPRESSION zstd)`);
// No user features from this SQL: an empty table with the three columns.
await con.run(`COPY (SELECT CAST(NULL AS VARCHAR) AS "user", CAST(NULL AS VARCHAR) AS field,
  CAST(NULL AS VARCHAR) AS value WHERE false) TO ${q(join(outDir, 'features.parquet'))} (FORMAT parquet)`);

const counts = await con.runAndReadAll(`SELECT family, count(DISTINCT item)::BIGINT AS lists, count(*)::BIGINT AS rows
  FROM read_parquet(${q(neighbors)}) GROUP BY family ORDER BY family`);
const man = JSON.parse(readFileSync(manifestFile, 'utf8'));
man.created_at = new Date().toISOString();
man.parameters = { ...man.parameters, metric, top_n: int(topN), min_support: int(minSupport) };
man.counts = { lists: {}, neighbors: 0, hashes: 0, features: 0 };
for (const [family, lists, rows] of counts.getRows()) {
  man.counts.lists[family] = Number(lists);
  man.counts.neighbors += Number(rows);
}
// manifest.json last: a directory without it is unfinished.
writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(man, null, 2) + '\n');
console.log(JSON.stringify(man.counts));
