-- The rollups' histograms as (bucket, count) pairs (issue 7). Until now days_hist and
-- hours_hist were int[] indexed by bucket from the lowest to the highest bucket used,
-- NULL in between: a row with one visit of 0.3 working days and one of 40 held 398
-- elements, and PostgreSQL sends every NULL as 4 bytes and every count as 8. A year's
-- delay report at a million cases read 13.9 million elements, 90% of them empty, and
-- spent most of its time receiving and walking them.
--
-- Now each histogram is a bigint[] of its non-empty buckets in ascending order, each
-- element bucket << 32 | count (count > 0): the same row holds 2 elements. The
-- meaning of the buckets is unchanged (0015). hist_add adds one fact to a histogram;
-- hist_pairs reads one as rows, for a person at psql:
--   SELECT p.* FROM report_rollups r, hist_pairs(r.days_hist) p WHERE ...
CREATE FUNCTION hist_add(h bigint[], bucket int) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(e ORDER BY e) FROM (
        SELECT CASE WHEN e >> 32 = bucket THEN e + 1 ELSE e END AS e FROM unnest(h) e
        UNION ALL
        SELECT (bucket::bigint << 32) + 1 WHERE NOT EXISTS (SELECT FROM unnest(h) e WHERE e >> 32 = bucket)
    ) s
$$;

CREATE FUNCTION hist_pairs(h bigint[], OUT bucket int, OUT count int) RETURNS SETOF record
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (e >> 32)::int, (e & 4294967295)::int FROM unnest(h) e
$$;

-- The old form to the new: the index of each non-NULL, non-zero element is its bucket.
CREATE FUNCTION pg_temp.hist_sparse(h int[]) RETURNS bigint[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(((array_lower(h, 1) + o - 1)::bigint << 32) | v ORDER BY o), '{}')
    FROM unnest(h) WITH ORDINALITY u(v, o) WHERE v > 0
$$;

ALTER TABLE report_rollups
    ALTER days_hist DROP DEFAULT, ALTER days_hist TYPE bigint[] USING pg_temp.hist_sparse(days_hist), ALTER days_hist SET DEFAULT '{}',
    ALTER hours_hist DROP DEFAULT, ALTER hours_hist TYPE bigint[] USING pg_temp.hist_sparse(hours_hist), ALTER hours_hist SET DEFAULT '{}';
ALTER TABLE report_rollups_weekly
    ALTER days_hist DROP DEFAULT, ALTER days_hist TYPE bigint[] USING pg_temp.hist_sparse(days_hist), ALTER days_hist SET DEFAULT '{}',
    ALTER hours_hist DROP DEFAULT, ALTER hours_hist TYPE bigint[] USING pg_temp.hist_sparse(hours_hist), ALTER hours_hist SET DEFAULT '{}';
DROP FUNCTION pg_temp.hist_sparse(int[]);
