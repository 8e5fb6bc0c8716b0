package postgres_test

import (
	"context"
	"maps"
	"testing"

	"dimos/postgres"
	"dimos/postgres/pgtest"
)

// TestHistograms: hist_add (migration 0021) keeps a histogram's (bucket, count) records
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
	const built = `SELECT hist_add(hist_add(hist_add(hist_add(hist_add('', 400), 3), 400), 0), 20000)`
	var text string
	if err := db.Pool.QueryRow(ctx, built+`::text`).Scan(&text); err != nil {
		t.Fatal(err)
	}
	if want := `\x000000000001` + `000300000001` + `019000000002` + `4e2000000001`; text != want {
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
	if got, err := postgres.HistogramBuckets(raw(t, `SELECT ''::bytea`)); err != nil || len(got) != 0 {
		t.Errorf("empty histogram: %v, %v", got, err)
	}

	for name, sql := range map[string]string{
		"a part of a record":  `SELECT '\x00030000000100'::bytea`,
		"a count of 0":        `SELECT '\x000500000000'::bytea`,
		"a bucket past range": `SELECT int2send(20001::smallint) || int4send(1)`,
		"a negative count":    `SELECT int2send(3::smallint) || int4send(-1)`,
	} {
		if got, err := postgres.HistogramBuckets(raw(t, sql)); err == nil {
			t.Errorf("%s: decoded as %v, want an error", name, got)
		}
	}
}
