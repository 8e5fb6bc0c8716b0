package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"dimos"
)

// translate maps database errors to domain errors, once, so that no caller has to
// know PostgreSQL's codes. notFoundKey is the catalogue key for a missing row.
func translate(err error, notFoundKey string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &dimos.Error{Code: dimos.ENOTFOUND, Key: notFoundKey}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return &dimos.Error{Code: dimos.ECONFLICT, Key: "error.conflict"}
		case "23503", "23514": // foreign_key_violation, check_violation
			return &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid"}
		}
	}
	return err
}
