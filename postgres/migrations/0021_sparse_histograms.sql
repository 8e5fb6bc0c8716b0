-- The rollups' histograms as (bucket, count) records in a bytea (issue 7). Until now
-- days_hist and hours_hist were int[] indexed by bucket from the lowest to the highest
-- bucket used, NULL in between: a row with one visit of 0.3 working days and one of 40
-- held 398 elements. A year's delay report at a million cases read 13.9 million
-- elements, 90% of them empty, and PostgreSQL spent most of the report's time sending
-- them, element by element.
--
-- Now each histogram is a bytea of 6-byte records, one per non-empty bucket in
-- ascending order of bucket: the bucket as a 2-byte and the count as a 4-byte
-- big-endian integer (count > 0). The same row holds 12 bytes, and a bytea is sent as
-- it is stored. The meaning of the buckets is unchanged (0015; the highest is 20000).
-- hist_add adds one fact to a histogram; hist_pairs reads one as rows, for a person
-- at psql:
--   SELECT p.* FROM report_rollups r, hist_pairs(r.days_hist) p WHERE ...
CREATE FUNCTION hist_pairs(h bytea, OUT bucket int, OUT count int) RETURNS SETOF record
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (get_byte(h, i) << 8) | get_byte(h, i + 1),
        (get_byte(h, i + 2) << 24) | (get_byte(h, i + 3) << 16) | (get_byte(h, i + 4) << 8) | get_byte(h, i + 5)
    FROM generate_series(0, length(h) - 6, 6) i
$$;

CREATE FUNCTION hist_add(h bytea, bucket int) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    lo int := 0;          -- the first record whose bucket is not below bucket
    hi int := length(h) / 6;
    mid int;
    count int;
BEGIN
    WHILE lo < hi LOOP
        mid := (lo + hi) / 2;
        IF ((get_byte(h, mid * 6) << 8) | get_byte(h, mid * 6 + 1)) < bucket THEN
            lo := mid + 1;
        ELSE
            hi := mid;
        END IF;
    END LOOP;
    IF lo < length(h) / 6 AND ((get_byte(h, lo * 6) << 8) | get_byte(h, lo * 6 + 1)) = bucket THEN
        count := ((get_byte(h, lo * 6 + 2) << 24) | (get_byte(h, lo * 6 + 3) << 16)
            | (get_byte(h, lo * 6 + 4) << 8) | get_byte(h, lo * 6 + 5));
        RETURN overlay(h PLACING int4send(count + 1) FROM lo * 6 + 3 FOR 4);
    END IF;
    RETURN substring(h FROM 1 FOR lo * 6) || int2send(bucket::smallint) || int4send(1) || substring(h FROM lo * 6 + 1);
END $$;

-- The old form to the new: the index of each non-NULL, non-zero element is its bucket.
CREATE FUNCTION pg_temp.hist_records(h int[]) RETURNS bytea LANGUAGE sql AS $$
    SELECT coalesce(string_agg(int2send((array_lower(h, 1) + o - 1)::smallint) || int4send(v), '' ORDER BY o), '')
    FROM unnest(h) WITH ORDINALITY u(v, o) WHERE v > 0
$$;

ALTER TABLE report_rollups
    ALTER days_hist DROP DEFAULT, ALTER days_hist TYPE bytea USING pg_temp.hist_records(days_hist), ALTER days_hist SET DEFAULT '',
    ALTER hours_hist DROP DEFAULT, ALTER hours_hist TYPE bytea USING pg_temp.hist_records(hours_hist), ALTER hours_hist SET DEFAULT '';
ALTER TABLE report_rollups_weekly
    ALTER days_hist DROP DEFAULT, ALTER days_hist TYPE bytea USING pg_temp.hist_records(days_hist), ALTER days_hist SET DEFAULT '',
    ALTER hours_hist DROP DEFAULT, ALTER hours_hist TYPE bytea USING pg_temp.hist_records(hours_hist), ALTER hours_hist SET DEFAULT '';
DROP FUNCTION pg_temp.hist_records(int[]);
