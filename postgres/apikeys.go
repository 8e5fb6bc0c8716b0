package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"dimos"
)

// apiKeyPrefix starts every API key, so that a leaked key is recognisable (secret
// scanners, logs) and a mistyped one is refused without a query.
const apiKeyPrefix = "dimos_"

// apiKeyLen is the length of a key: the prefix and 32 random bytes in base64url.
var apiKeyLen = len(apiKeyPrefix) + base64.RawURLEncoding.EncodedLen(32)

// CreateAPIKey issues a new key. Only its SHA-256 is stored: the key is returned once.
func (db *DB) CreateAPIKey(ctx context.Context, name string, createdBy int64) (string, dimos.APIKey, error) {
	name = strings.TrimSpace(name)
	var v dimos.Validation
	switch {
	case !utf8.ValidString(name):
		v.Add("name", "field.utf8")
	case name == "":
		v.Add("name", "field.required")
	case utf8.RuneCountInString(name) > dimos.MaxAPIKeyNameLen:
		v.Add("name", "field.too_long")
	}
	if err := v.Err(); err != nil {
		return "", dimos.APIKey{}, err
	}
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // crypto/rand never fails on Linux
	key := apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	hash := sha256.Sum256([]byte(key))
	k := dimos.APIKey{Name: name, Prefix: key[:len(apiKeyPrefix)+6],
		CreatedAt: db.Now().UTC().Truncate(time.Microsecond), CreatedBy: createdBy}
	err := db.Pool.QueryRow(ctx, `INSERT INTO api_keys (name, prefix, key_hash, created_at, created_by)
		VALUES ($1, $2, $3, $4, nullif($5::bigint, 0)) RETURNING id`,
		k.Name, k.Prefix, hash[:], k.CreatedAt, createdBy).Scan(&k.ID)
	if err != nil {
		return "", dimos.APIKey{}, translate(err, "error.not_found")
	}
	return key, k, nil
}

// RevokeAPIKey withdraws a key. The first revocation is kept: revoking again changes
// nothing.
func (db *DB) RevokeAPIKey(ctx context.Context, id int64, by int64) error {
	var found bool
	err := db.Pool.QueryRow(ctx, `WITH upd AS (
			UPDATE api_keys SET revoked_at = $2, revoked_by = nullif($3::bigint, 0)
			WHERE id = $1 AND revoked_at IS NULL RETURNING id)
		SELECT EXISTS (SELECT 1 FROM upd) OR EXISTS (SELECT 1 FROM api_keys WHERE id = $1)`,
		id, db.Now().UTC().Truncate(time.Microsecond), by).Scan(&found)
	if err != nil {
		return translate(err, "error.not_found")
	}
	if !found {
		return dimos.Errorf(dimos.ENOTFOUND, "error.not_found")
	}
	return nil
}

const apiKeyColumns = `id, name, prefix, created_at, revoked_at, coalesce(created_by, 0), coalesce(revoked_by, 0)`

func scanAPIKey(r pgx.CollectableRow) (dimos.APIKey, error) {
	var k dimos.APIKey
	var revoked *time.Time
	err := r.Scan(&k.ID, &k.Name, &k.Prefix, &k.CreatedAt, &revoked, &k.CreatedBy, &k.RevokedBy)
	k.RevokedAt = deref(revoked)
	return k, err
}

// APIKeys lists every key, newest first.
func (db *DB) APIKeys(ctx context.Context) ([]dimos.APIKey, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanAPIKey)
}

// CheckAPIKey finds a working key by its hash. A key of the wrong shape is refused
// without a query.
func (db *DB) CheckAPIKey(ctx context.Context, key string) (dimos.APIKey, error) {
	unauthorized := dimos.Errorf(dimos.EUNAUTHORIZED, "error.api_key")
	if len(key) != apiKeyLen || !strings.HasPrefix(key, apiKeyPrefix) {
		return dimos.APIKey{}, unauthorized
	}
	hash := sha256.Sum256([]byte(key))
	rows, err := db.Pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE key_hash = $1`, hash[:])
	if err != nil {
		return dimos.APIKey{}, err
	}
	k, err := pgx.CollectExactlyOneRow(rows, scanAPIKey)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return dimos.APIKey{}, unauthorized
	case err != nil:
		return dimos.APIKey{}, err
	case k.Revoked():
		return dimos.APIKey{}, unauthorized
	}
	return k, nil
}
