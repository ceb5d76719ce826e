-- recopub's item-item lists in SQL: count, cosine or jaccard top-N, plus
-- the global popularity list, as rows of the model table neighbors.parquet
-- that `recopub publish --from DIR` reads (docs/warehouse/README.md).
--
-- Input: a table or view named `events` with one row per event:
--   user_id     STRING  the user (RudderStack: COALESCE(NULLIF(user_id, ''), anonymous_id))
--   product_id  STRING  the item
-- Only whether a user has an item counts (repeated events, quantities and
-- weights change nothing), as in recopub's count, cosine and jaccard. To
-- keep only some events, as `run --event-weights` does, filter `events`.
--
-- Output columns: family, item, neighbor, score, rank, co_count; sorted by
-- family, item, rank, which is the order the file must keep. co_count is
-- c_ij for sim rows and c_j for pop rows, as recopub writes it.
--
-- The scores are bit-for-bit recopub's (model/metric.go), so ties come out
-- as recopub's and are broken the same way, by ascending neighbour id in
-- byte order (binary collation: the default of DuckDB, Spark, BigQuery and
-- Snowflake; set none other):
--   count    c_ij
--   cosine   (c_ij * (1/sqrt(c_i))) * (1/sqrt(c_j))  i.e. c_ij / sqrt(c_i c_j), in recopub's order of operations
--   jaccard  c_ij / (c_i + c_j - c_ij)
-- c_i: users with item i; c_ij: users with both; pairs with c_ij below
-- min_support are dropped. `1e0 *` makes a DOUBLE (FLOAT64) in every dialect
-- without a dialect's type name.
--
-- Portable SQL: CTEs, joins, GROUP BY and ROW_NUMBER(); no extensions. It
-- runs as is on DuckDB, Spark SQL, BigQuery and Snowflake. Parameters are
-- the one row of `params` below: edit them there.
--
-- Differences from `recopub run` to know about:
--   * recopub samples users with more than --max-user-items (500) distinct
--     items down to 500 (seeded); this SQL keeps every item of every user.
--     The lists are the same as `run --max-user-items 0`, and the same as a
--     default run when no user has more than 500 items.
--   * recopub drops rows whose ids break its id rule (publish/keyid: 1 to
--     512 bytes of UTF-8, no control or bidi characters, none of * ? [ ] { });
--     only empty and null ids are filtered here, and publish --from refuses
--     a table holding any other invalid id. Filter them in `events`.
--   * --days, --now and --half-life-days have no equivalent here.
--   * The self-join costs the sum over users of (distinct items)^2 rows:
--     cap heavy users (bots) in `events` if that is too many.
WITH params AS (
  SELECT 'cosine' AS metric, 50 AS top_n, 1 AS min_support -- recopub:params
),
interactions AS (
  SELECT DISTINCT user_id, product_id AS item
  FROM events
  WHERE user_id IS NOT NULL AND user_id <> ''
    AND product_id IS NOT NULL AND product_id <> ''
),
item_users AS (
  SELECT item, COUNT(*) AS n
  FROM interactions
  GROUP BY item
),
pairs AS (
  SELECT a.item AS item, b.item AS neighbor, COUNT(*) AS co
  FROM interactions a
  JOIN interactions b ON a.user_id = b.user_id AND a.item <> b.item
  GROUP BY a.item, b.item
),
scored AS (
  SELECT p.item, p.neighbor, p.co,
    CASE pr.metric
      WHEN 'count' THEN 1e0 * p.co
      WHEN 'cosine' THEN (p.co * (1e0 / SQRT(ni.n))) * (1e0 / SQRT(nj.n))
      WHEN 'jaccard' THEN 1e0 * p.co / (ni.n + nj.n - p.co)
    END AS score
  FROM pairs p
  JOIN item_users ni ON ni.item = p.item
  JOIN item_users nj ON nj.item = p.neighbor
  CROSS JOIN params pr
  WHERE p.co >= pr.min_support
),
ranked AS (
  SELECT item, neighbor, score, co,
    ROW_NUMBER() OVER (PARTITION BY item ORDER BY score DESC, neighbor ASC) AS pos
  FROM scored
),
popular AS (
  SELECT item, n,
    ROW_NUMBER() OVER (ORDER BY n DESC, item ASC) AS pos
  FROM item_users
)
SELECT 'sim' AS family, r.item AS item, r.neighbor AS neighbor, r.score AS score,
  r.pos AS rank, r.co AS co_count
FROM ranked r CROSS JOIN params pr
WHERE r.pos <= pr.top_n
UNION ALL
SELECT 'pop' AS family, '' AS item, p.item AS neighbor, 1e0 * p.n AS score,
  p.pos AS rank, p.n AS co_count
FROM popular p CROSS JOIN params pr
WHERE p.pos <= pr.top_n
ORDER BY family, item, rank
