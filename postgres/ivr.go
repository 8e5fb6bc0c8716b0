package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"dimos"
)

var _ dimos.RecordingStore = (*DB)(nil)

// SaveRecording remembers the URL of a case's phone recording. Saving the same URL
// again changes nothing, so a retried webhook is harmless; a different URL for a case
// that already has one is ECONFLICT, and an unknown case ENOTFOUND.
func (db *DB) SaveRecording(ctx context.Context, caseID int64, url string) error {
	tag, err := db.Pool.Exec(ctx, `INSERT INTO ivr_recordings (case_id, url, created_at)
		VALUES ($1, $2, $3) ON CONFLICT (case_id) DO NOTHING`, caseID, url, db.Now())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" {
		return dimos.Errorf(dimos.ENOTFOUND, "error.case.not_found")
	}
	if err != nil {
		return translate(err, "error.case.not_found")
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	have, err := db.RecordingOf(ctx, caseID)
	if err != nil {
		return err
	}
	if have != url {
		return dimos.Errorf(dimos.ECONFLICT, "error.conflict")
	}
	return nil
}

// RecordingOf returns the URL of a case's phone recording, "" when it has none.
func (db *DB) RecordingOf(ctx context.Context, caseID int64) (string, error) {
	var url string
	err := db.Pool.QueryRow(ctx, `SELECT url FROM ivr_recordings WHERE case_id = $1`, caseID).Scan(&url)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return url, err
}

// CaseWithRecording returns the number of the case a recording was filed with, ""
// when none: the telephony provider retries a webhook it got no answer to, and the
// retry must find the case the first attempt filed instead of filing another.
func (db *DB) CaseWithRecording(ctx context.Context, url string) (string, error) {
	var number string
	err := db.Pool.QueryRow(ctx, `SELECT c.number FROM ivr_recordings r JOIN cases c ON c.id = r.case_id
		WHERE r.url = $1`, url).Scan(&number)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return number, err
}
