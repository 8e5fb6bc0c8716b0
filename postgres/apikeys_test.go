package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"dimos"
	"dimos/postgres/pgtest"
)

func TestAPIKeys(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	admin, err := db.EmployeeByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }

	key, k, err := db.CreateAPIKey(ctx, "  Εφαρμογή FixMyStreet  ", admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Issued", func(t *testing.T) {
		if k.ID == 0 || k.Name != "Εφαρμογή FixMyStreet" || !strings.HasPrefix(key, k.Prefix) ||
			!k.CreatedAt.Equal(now) || k.CreatedBy != admin.ID || k.Revoked() {
			t.Fatalf("key %q: %+v", key, k)
		}
		// Only the hash is kept: no column holds the key.
		var hashed bool
		if err := db.Pool.QueryRow(ctx, `SELECT key_hash = sha256($2::bytea) AND prefix <> $3 AND name <> $3
			FROM api_keys WHERE id = $1`, k.ID, []byte(key), key).Scan(&hashed); err != nil || !hashed {
			t.Fatalf("stored key: hashed=%v err=%v", hashed, err)
		}
	})
	t.Run("Checked", func(t *testing.T) {
		got, err := db.CheckAPIKey(ctx, key)
		if err != nil || got.ID != k.ID || got.Name != k.Name {
			t.Fatalf("CheckAPIKey = %+v, %v", got, err)
		}
	})
	t.Run("ErrUnauthorized", func(t *testing.T) {
		last := "A"
		if strings.HasSuffix(key, "A") {
			last = "B"
		}
		wrong := key[:len(key)-1] + last
		for _, s := range []string{"", "nonsense", wrong, key + "x", strings.ToUpper(key)} {
			if _, err := db.CheckAPIKey(ctx, s); dimos.ErrorCode(err) != dimos.EUNAUTHORIZED {
				t.Errorf("CheckAPIKey(%q) = %v, want unauthorized", s, err)
			}
		}
	})
	t.Run("ErrNameRequired", func(t *testing.T) {
		for _, name := range []string{"", "   ", strings.Repeat("α", dimos.MaxAPIKeyNameLen+1), "bad\xff"} {
			if _, _, err := db.CreateAPIKey(ctx, name, admin.ID); dimos.ErrorCode(err) != dimos.EINVALID {
				t.Errorf("CreateAPIKey(%q) = %v, want invalid", name, err)
			}
		}
	})
	key2, k2, err := db.CreateAPIKey(ctx, "Συνεργάτης", 0)
	if err != nil || key2 == key || k2.CreatedBy != 0 {
		t.Fatalf("second key %q %+v %v", key2, k2, err)
	}
	t.Run("Revoked", func(t *testing.T) {
		now = now.Add(time.Hour)
		if err := db.RevokeAPIKey(ctx, k.ID, admin.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CheckAPIKey(ctx, key); dimos.ErrorCode(err) != dimos.EUNAUTHORIZED {
			t.Fatalf("revoked key checked: %v", err)
		}
		if _, err := db.CheckAPIKey(ctx, key2); err != nil {
			t.Fatalf("other key refused: %v", err)
		}
		revokedAt := now
		now = now.Add(time.Hour)
		if err := db.RevokeAPIKey(ctx, k.ID, admin.ID); err != nil {
			t.Fatalf("revoke again: %v", err)
		}
		keys, err := db.APIKeys(ctx)
		if err != nil || len(keys) != 2 {
			t.Fatalf("APIKeys = %+v, %v", keys, err)
		}
		// Newest first; the first revocation is kept.
		if keys[0].ID != k2.ID || keys[0].Revoked() || keys[1].ID != k.ID || !keys[1].RevokedAt.Equal(revokedAt) {
			t.Fatalf("APIKeys = %+v, want key %d open then key %d revoked at %v", keys, k2.ID, k.ID, revokedAt)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if err := db.RevokeAPIKey(ctx, 999999, admin.ID); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("RevokeAPIKey(unknown) = %v", err)
		}
	})
}
