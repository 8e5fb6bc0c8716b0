package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"dimos"
)

// SaveAttachment stores a file; the same file on the same case is stored once.
func (db *DB) SaveAttachment(ctx context.Context, a *dimos.Attachment) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = db.Now()
	}
	err := db.Pool.QueryRow(ctx, `INSERT INTO attachments (case_id, name, content_type, size, sha256, data,
			uploaded_by, by_citizen, public, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, nullif($7::bigint, 0), $8, $9, $10)
		ON CONFLICT (case_id, sha256) DO UPDATE SET case_id = excluded.case_id
		RETURNING id`, a.CaseID, a.Name, a.ContentType, a.Size, a.SHA256, a.Data, a.UploadedBy, a.ByCitizen,
		a.Public, a.CreatedAt.UTC()).Scan(&a.ID)
	return translate(err, "error.case.not_found")
}

const attachmentColumns = `id, case_id, name, content_type, size, sha256, coalesce(uploaded_by, 0), by_citizen, public, created_at`

func scanAttachment(row pgx.Row, extra ...any) (*dimos.Attachment, error) {
	var a dimos.Attachment
	dest := append([]any{&a.ID, &a.CaseID, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &a.UploadedBy,
		&a.ByCitizen, &a.Public, &a.CreatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, translate(err, "error.attachment.not_found")
	}
	return &a, nil
}

// Attachment returns one attachment with its bytes.
func (db *DB) Attachment(ctx context.Context, id int64) (*dimos.Attachment, error) {
	var data []byte
	a, err := scanAttachment(db.Pool.QueryRow(ctx, `SELECT `+attachmentColumns+`, data FROM attachments WHERE id = $1`, id), &data)
	if err != nil {
		return nil, err
	}
	a.Data = data
	return a, nil
}

// CaseAttachments lists a case's attachments, oldest first, without their bytes.
func (db *DB) CaseAttachments(ctx context.Context, caseID int64) ([]dimos.Attachment, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE case_id = $1 ORDER BY id`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []dimos.Attachment
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// AccessKeyHash returns the hash of the citizen's key to a case (nil if none).
func (db *DB) AccessKeyHash(ctx context.Context, caseID int64) ([]byte, error) {
	var h []byte
	err := db.Pool.QueryRow(ctx, `SELECT access_key_hash FROM cases WHERE id = $1`, caseID).Scan(&h)
	return h, translate(err, "error.case.not_found")
}
