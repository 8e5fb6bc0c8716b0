package postgres

import (
	"context"
	"time"

	"dimos"
)

// CreateSession stores a new staff session under the hash of its token.
func (db *DB) CreateSession(ctx context.Context, tokenHash []byte, s dimos.StaffSession) error {
	_, err := db.Pool.Exec(ctx, `INSERT INTO staff_sessions (token_hash, employee_id, csrf_token, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, tokenHash, s.EmployeeID, s.CSRFToken, s.CreatedAt, s.LastSeenAt, s.ExpiresAt)
	return translate(err, "error.not_found")
}

// SessionByTokenHash returns a session, expired or not; the caller decides.
func (db *DB) SessionByTokenHash(ctx context.Context, tokenHash []byte) (*dimos.StaffSession, error) {
	var s dimos.StaffSession
	err := db.Pool.QueryRow(ctx, `SELECT employee_id, csrf_token, created_at, last_seen_at, expires_at
		FROM staff_sessions WHERE token_hash = $1`, tokenHash).
		Scan(&s.EmployeeID, &s.CSRFToken, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt)
	if err != nil {
		return nil, translate(err, "error.unauthorized")
	}
	return &s, nil
}

// TouchSession records activity on a session and moves its expiry.
func (db *DB) TouchSession(ctx context.Context, tokenHash []byte, seen, expires time.Time) error {
	_, err := db.Pool.Exec(ctx, `UPDATE staff_sessions SET last_seen_at = $2, expires_at = $3
		WHERE token_hash = $1`, tokenHash, seen, expires)
	return err
}

// DeleteSession ends a session, and sweeps sessions that expired long ago.
func (db *DB) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := db.Pool.Exec(ctx, `DELETE FROM staff_sessions WHERE token_hash = $1 OR expires_at < $2`,
		tokenHash, db.Now().Add(-24*time.Hour))
	return err
}

// Audit appends an entry to the audit log.
func (db *DB) Audit(ctx context.Context, e dimos.AuditEntry) error {
	if e.At.IsZero() {
		e.At = db.Now()
	}
	_, err := db.Pool.Exec(ctx, `INSERT INTO audit_log (at, employee_id, action, target, detail, ip)
		VALUES ($1, nullif($2::bigint, 0), $3, $4, $5, $6)`, e.At, e.EmployeeID, e.Action, e.Target, e.Detail, e.IP)
	return err
}

// AuditEntries returns the newest entries of the audit log.
func (db *DB) AuditEntries(ctx context.Context, limit int) ([]dimos.AuditEntry, error) {
	rows, err := db.Pool.Query(ctx, `SELECT at, coalesce(employee_id, 0), action, target, detail, ip
		FROM audit_log ORDER BY at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []dimos.AuditEntry
	for rows.Next() {
		var e dimos.AuditEntry
		if err := rows.Scan(&e.At, &e.EmployeeID, &e.Action, &e.Target, &e.Detail, &e.IP); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Failures counts key's failed attempts since a time.
func (db *DB) Failures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM throttle_failures WHERE key = $1 AND at >= $2`, key, since).Scan(&n)
	return n, err
}

// RecordFailure notes a failed attempt.
func (db *DB) RecordFailure(ctx context.Context, key string, at time.Time) error {
	_, err := db.Pool.Exec(ctx, `INSERT INTO throttle_failures (key, at) VALUES ($1, $2)`, key, at)
	return err
}

// Reset forgets key's failures, and sweeps failures older than a day.
func (db *DB) Reset(ctx context.Context, key string) error {
	_, err := db.Pool.Exec(ctx, `DELETE FROM throttle_failures WHERE key = $1 OR at < $2`, key, db.Now().Add(-24*time.Hour))
	return err
}
