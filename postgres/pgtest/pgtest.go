// Package pgtest gives each test its own, freshly migrated PostgreSQL database on the
// real server, and drops it afterwards. A missing server fails the test: it never skips.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"dimos/postgres"
)

// ServerURL is the server tests use: DIMOS_TEST_DATABASE_URL, or the local default.
func ServerURL() string {
	if u := os.Getenv("DIMOS_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NewURL creates nothing; it returns the URL of a fresh database name and drops that
// database when the test ends. Open creates it.
func NewURL(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b) //nolint:errcheck // crypto/rand never fails on Linux
	dsn, err := postgres.WithDatabase(ServerURL(), "dimos_test_"+hex.EncodeToString(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := postgres.DropDatabase(ctx, dsn); err != nil {
			t.Logf("drop test database: %v", err)
		}
	})
	return dsn
}

// New opens a fresh, migrated database; with demo true it also loads the demo data.
func New(t testing.TB, demo bool) *postgres.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dsn := NewURL(t)
	db, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatalf("open test database (is PostgreSQL running at %s?): %v", ServerURL(), err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if demo {
		if err := db.SeedDemo(ctx); err != nil {
			t.Fatalf("seed demo: %v", err)
		}
	}
	return db
}
