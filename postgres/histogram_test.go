package postgres_test

import (
	"context"
	"maps"
	"testing"

	"dimos/postgres"
	"dimos/postgres/pgtest"
)

// TestHistograms: hist_add (migration 0021) keeps a histogram's (bucket, count) pairs
// in bucket order, hist_pairs reads them back, and the report's decoder reads them as
// PostgreSQL sends them and refuses what no writer makes.
func TestHistograms(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, false)
	raw := func(t *testing.T, sql string) []byte {
		t.Helper()
		rows, err := db.Pool.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		if !rows.Next() {
			t.Fatalf("%s: no row: %v", sql, rows.Err())
		}
		return append([]byte(nil), rows.RawValues()[0]...)
	}

	// Facts in buckets 400, 3, 400, 0, 20000 (the last bucket), one at a time.
	const built = `SELECT hist_add(hist_add(hist_add(hist_add(hist_add('{}', 400), 3), 400), 0), 20000)`
	var text string
	if err := db.Pool.QueryRow(ctx, built+`::text`).Scan(&text); err != nil {
		t.Fatal(err)
	}
	if want := "{1,12884901889,1717986918402,85899345920001}"; text != want {
		t.Errorf("hist_add built %s, want %s", text, want)
	}
	var pairs string
	if err := db.Pool.QueryRow(ctx, `SELECT string_agg(bucket || ':' || count, ' ') FROM hist_pairs((`+built+`))`).Scan(&pairs); err != nil {
		t.Fatal(err)
	}
	if want := "0:1 3:1 400:2 20000:1"; pairs != want {
		t.Errorf("hist_pairs: %s, want %s", pairs, want)
	}
	got, err := postgres.HistogramBuckets(raw(t, built))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[int]int{0: 1, 3: 1, 400: 2, 20000: 1}; !maps.Equal(got, want) {
		t.Errorf("decoded %v, want %v", got, want)
	}
	if got, err := postgres.HistogramBuckets(raw(t, `SELECT '{}'::bigint[]`)); err != nil || len(got) != 0 {
		t.Errorf("empty histogram: %v, %v", got, err)
	}

	for name, sql := range map[string]string{
		"a NULL":              `SELECT '{1,NULL}'::bigint[]`,
		"a count of 0":        `SELECT ARRAY[(5::bigint << 32)]`,
		"a bucket past range": `SELECT ARRAY[(20001::bigint << 32) + 1]`,
		"an int[]":            `SELECT '{1,2}'::int[]`,
		"two dimensions":      `SELECT '{{1},{2}}'::bigint[]`,
	} {
		if got, err := postgres.HistogramBuckets(raw(t, sql)); err == nil {
			t.Errorf("%s: decoded as %v, want an error", name, got)
		}
	}
}
