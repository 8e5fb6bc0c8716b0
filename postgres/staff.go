package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"dimos"
)

// CreateSession stores a new staff session under the hash of its token.
func (db *DB) CreateSession(ctx context.Context, tokenHash []byte, s dimos.StaffSession) error {
	_, err := db.Pool.Exec(ctx, `INSERT INTO staff_sessions (token_hash, employee_id, csrf_token, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, tokenHash, s.EmployeeID, s.CSRFToken, s.CreatedAt, s.LastSeenAt, s.ExpiresAt)
	return translate(err, "error.not_found")
}

// SessionByTokenHash returns a session, expired or not, with its employee, active or
// not; the caller decides. The employee comes in the same statement: the console
// asks on every request, and reading the employee apart was 2,057 of the 51,447
// statements of BenchmarkLifecycle's 300 cases.
func (db *DB) SessionByTokenHash(ctx context.Context, tokenHash []byte) (*dimos.StaffSession, error) {
	s := dimos.StaffSession{Employee: new(dimos.Employee)}
	err := db.Pool.QueryRow(ctx, `SELECT s.employee_id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, e.*
		FROM staff_sessions s CROSS JOIN LATERAL (SELECT `+employeeColumns+` FROM employees WHERE id = s.employee_id) e
		WHERE s.token_hash = $1`, tokenHash).
		Scan(append([]any{&s.EmployeeID, &s.CSRFToken, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt}, employeeFields(s.Employee)...)...)
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

// AuditSearch returns the entries of the audit log that match f, newest first, with
// the name of the employee who acted. The action prefix is matched literally: its %
// and _ are not wildcards.
func (db *DB) AuditSearch(ctx context.Context, f dimos.AuditFilter) ([]dimos.AuditRecord, error) {
	limit := f.Limit
	if limit <= 0 || limit > maxAuditPage {
		limit = maxAuditPage
	}
	prefix := ""
	if f.ActionPrefix != "" {
		prefix = likeEscaper.Replace(f.ActionPrefix) + "%"
	}
	var from, to *time.Time
	if !f.From.IsZero() {
		from = &f.From
	}
	if !f.To.IsZero() {
		to = &f.To
	}
	rows, err := db.Pool.Query(ctx, `SELECT a.id, a.at, coalesce(a.employee_id, 0), a.action, a.target, a.detail, a.ip,
			coalesce(e.full_name, ''), coalesce(e.username, '')
		FROM audit_log a LEFT JOIN employees e ON e.id = a.employee_id
		WHERE ($1 = '' OR a.employee_id = (SELECT id FROM employees WHERE username = lower($1)))
			AND ($2 = '' OR a.action LIKE $2)
			AND ($3 = '' OR a.target = $3)
			AND ($4::timestamptz IS NULL OR a.at >= $4)
			AND ($5::timestamptz IS NULL OR a.at < $5)
			AND ($6 = 0 OR a.id < $6)
		ORDER BY a.id DESC LIMIT $7`, f.Username, prefix, f.Target, from, to, f.BeforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("audit search: %w", err)
	}
	defer rows.Close()
	var out []dimos.AuditRecord
	for rows.Next() {
		var r dimos.AuditRecord
		if err := rows.Scan(&r.ID, &r.At, &r.EmployeeID, &r.Action, &r.Target, &r.Detail, &r.IP,
			&r.EmployeeName, &r.Username); err != nil {
			return nil, fmt.Errorf("audit search: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// maxAuditPage bounds one read of the audit log; the CSV export reads page by page.
const maxAuditPage = 1000

// likeEscaper makes a string match itself in LIKE (whose escape character is \).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

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
