// The part of the duckdb command line README's examples use, for machines
// without the DuckDB CLI (npm has none; cmd/recopub's readme_test.go puts
// this on PATH as `duckdb` when the real one is missing):
//
//   node duckdb-cli.mjs -csv -c SQL
//
// runs SQL in an in-memory DuckDB (@duckdb/node-api) in the caller's
// directory and prints the result as the CLI's -csv mode does: a header
// line, then one line per row, values quoted only when they hold a comma,
// a quote or a line break.
import { DuckDBInstance } from '@duckdb/node-api';

const args = process.argv.slice(2);
if (args.length !== 3 || args[0] !== '-csv' || args[1] !== '-c') {
  console.error('usage: duckdb -csv -c SQL');
  process.exit(2);
}
const cell = (v) => {
  const s = v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
try {
  const reader = await con.runAndReadAll(args[2]);
  console.log(reader.columnNames().map(cell).join(','));
  for (const row of reader.getRowsJS()) {
    console.log(row.map(cell).join(','));
  }
} catch (e) {
  console.error(`Error: ${e.message}`);
  process.exit(1);
}
