package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"dimos"
)

var _ dimos.CitizenStore = (*DB)(nil)

// citizenColumns reads a citizens row; erased accounts give "" for their NULLs.
const citizenColumns = `id, coalesce(username, ''), first_name, last_name, coalesce(email, ''),
	mobile_phone, phone, address, coalesce(phone_access_code, ''), coalesce(afm, ''), lang,
	password_hash, pin_hash, activated_at, verified_at, coalesce(verified_by, 0), verification_doc,
	verification_doc_number, verification_requested_at, created_at, erased_at`

func scanCitizen(row pgx.Row) (*dimos.Citizen, error) {
	var c dimos.Citizen
	var activated, verified, requested, erased *time.Time
	err := row.Scan(&c.ID, &c.Username, &c.FirstName, &c.LastName, &c.Email, &c.MobilePhone,
		&c.Phone, &c.Address, &c.PhoneAccessCode, &c.AFM, &c.Lang, &c.PasswordHash, &c.PINHash,
		&activated, &verified, &c.VerifiedBy, &c.VerificationDoc, &c.VerificationDocNumber,
		&requested, &c.CreatedAt, &erased)
	if err != nil {
		return nil, err
	}
	c.ActivatedAt, c.VerifiedAt = deref(activated), deref(verified)
	c.VerificationRequestedAt, c.ErasedAt = deref(requested), deref(erased)
	return &c, nil
}

// nullIfEmpty stores "" as NULL, for the optional columns that carry a unique index.
func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullIfZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// citizenConflict names the field whose unique index a write hit, so that the citizen
// is told which of their details is taken.
func citizenConflict(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		field, key := "", "error.conflict"
		switch pgErr.ConstraintName {
		case "citizens_username_key":
			field, key = "username", "account.error.username_taken"
		case "citizens_email_idx":
			field, key = "email", "account.error.email_taken"
		case "citizens_access_code_idx":
			field, key = "phone_access_code", "account.error.access_code_taken"
		}
		e := &dimos.Error{Code: dimos.ECONFLICT, Key: key}
		if field != "" {
			e.Fields = []dimos.FieldError{{Field: field, Key: key}}
		}
		return e
	}
	return translate(err, "account.error.not_found")
}

// CreateCitizen stores a new account.
func (db *DB) CreateCitizen(ctx context.Context, c *dimos.Citizen) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = db.Now()
	}
	c.CreatedAt = c.CreatedAt.UTC().Truncate(time.Microsecond)
	c.Username = dimos.NormalizeUsername(c.Username)
	if c.Lang == "" {
		c.Lang = "el"
	}
	err := db.Pool.QueryRow(ctx, `INSERT INTO citizens (username, first_name, last_name, email,
			mobile_phone, phone, address, phone_access_code, afm, lang, password_hash, pin_hash,
			activated_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		c.Username, c.FirstName, c.LastName, c.Email, c.MobilePhone, c.Phone, c.Address,
		nullIfEmpty(c.PhoneAccessCode), nullIfEmpty(c.AFM), c.Lang, c.PasswordHash, c.PINHash,
		nullIfZero(c.ActivatedAt), c.CreatedAt).Scan(&c.ID)
	return citizenConflict(err)
}

func (db *DB) citizenWhere(ctx context.Context, where string, arg any) (*dimos.Citizen, error) {
	c, err := scanCitizen(db.Pool.QueryRow(ctx, `SELECT `+citizenColumns+` FROM citizens WHERE `+where, arg))
	if err != nil {
		return nil, translate(err, "account.error.not_found")
	}
	return c, nil
}

// CitizenByID returns an account, erased or not.
func (db *DB) CitizenByID(ctx context.Context, id int64) (*dimos.Citizen, error) {
	return db.citizenWhere(ctx, `id = $1`, id)
}

// CitizenByUsername returns the account of a user name in any case.
func (db *DB) CitizenByUsername(ctx context.Context, username string) (*dimos.Citizen, error) {
	return db.citizenWhere(ctx, `username = $1`, dimos.NormalizeUsername(username))
}

// CitizenByEmail returns the account of an e-mail address in any case.
func (db *DB) CitizenByEmail(ctx context.Context, email string) (*dimos.Citizen, error) {
	return db.citizenWhere(ctx, `lower(email) = lower($1)`, email)
}

// CitizenByAccessCode returns the account of an IVR access code.
func (db *DB) CitizenByAccessCode(ctx context.Context, code string) (*dimos.Citizen, error) {
	return db.citizenWhere(ctx, `phone_access_code = $1`, code)
}

// CitizensByMobile lists the live accounts registered with a mobile number, oldest first.
func (db *DB) CitizensByMobile(ctx context.Context, mobile string) ([]*dimos.Citizen, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+citizenColumns+` FROM citizens
		WHERE mobile_phone = $1 AND erased_at IS NULL ORDER BY id`, mobile)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*dimos.Citizen
	for rows.Next() {
		c, err := scanCitizen(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// FindCitizens finds live accounts for a service desk (M3): an exact user name,
// e-mail address (in any case), mobile number or AFM, or a last name that starts with
// query, newest first. A mobile typed with spaces or dashes matches one stored
// without them. The exact matches use the unique and mobile indexes; the last-name
// prefix reads the live rows, which a municipality's register keeps small enough.
func (db *DB) FindCitizens(ctx context.Context, query string, limit int) ([]*dimos.Citizen, error) {
	query = strings.TrimSpace(query)
	if query == "" || limit <= 0 {
		return []*dimos.Citizen{}, nil
	}
	compact := strings.NewReplacer(" ", "", "-", "", ".", "").Replace(query)
	prefix := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(query) + "%"
	return db.queryCitizens(ctx, `SELECT `+citizenColumns+` FROM citizens
		WHERE erased_at IS NULL AND (username = lower($1) OR lower(email) = lower($1)
			OR mobile_phone IN ($1, $2) OR afm = $2 OR lower(last_name) LIKE lower($3))
		ORDER BY created_at DESC, id DESC LIMIT $4`, query, compact, prefix, limit)
}

// PendingVerifications lists the live, activated accounts that asked to be verified
// in person and are not verified yet, longest waiting first: the desks' queue (M3),
// read through citizens_verification_queue_idx.
func (db *DB) PendingVerifications(ctx context.Context, limit int) ([]*dimos.Citizen, error) {
	if limit <= 0 {
		return []*dimos.Citizen{}, nil
	}
	return db.queryCitizens(ctx, `SELECT `+citizenColumns+` FROM citizens
		WHERE verified_at IS NULL AND verification_requested_at IS NOT NULL
			AND erased_at IS NULL AND activated_at IS NOT NULL
		ORDER BY verification_requested_at, id LIMIT $1`, limit)
}

func (db *DB) queryCitizens(ctx context.Context, sql string, args ...any) ([]*dimos.Citizen, error) {
	rows, err := db.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*dimos.Citizen{}
	for rows.Next() {
		c, err := scanCitizen(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateCitizenToken stores a token by its hash.
func (db *DB) CreateCitizenToken(ctx context.Context, t dimos.CitizenToken) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = db.Now()
	}
	_, err := db.Pool.Exec(ctx, `INSERT INTO citizen_tokens (hash, citizen_id, kind, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, t.Hash, t.CitizenID, t.Kind, t.CreatedAt, t.ExpiresAt)
	return translate(err, "account.error.not_found")
}

// useToken marks an unused, unexpired token of a kind used and returns its citizen;
// a token that does not qualify is EUNAUTHORIZED with key. Two concurrent uses of one
// token: the row lock lets only the first through.
func useToken(ctx context.Context, tx pgx.Tx, hash []byte, kind string, at time.Time, key string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `UPDATE citizen_tokens t SET used_at = $3
		FROM citizens c
		WHERE t.hash = $1 AND t.kind = $2 AND t.used_at IS NULL AND t.expires_at > $3
			AND c.id = t.citizen_id AND c.erased_at IS NULL
		RETURNING t.citizen_id`, hash, kind, at).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, dimos.Errorf(dimos.EUNAUTHORIZED, key)
	}
	return id, err
}

// ActivateCitizen uses an activation token and activates the account with its first PIN.
func (db *DB) ActivateCitizen(ctx context.Context, tokenHash []byte, pinHash string, at time.Time) (*dimos.Citizen, error) {
	var c *dimos.Citizen
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		id, err := useToken(ctx, tx, tokenHash, dimos.TokenActivation, at, "account.error.activation_token")
		if err != nil {
			return err
		}
		c, err = scanCitizen(tx.QueryRow(ctx, `UPDATE citizens
			SET activated_at = coalesce(activated_at, $2), pin_hash = $3
			WHERE id = $1 RETURNING `+citizenColumns, id, at, pinHash))
		return err
	})
	if err != nil {
		return nil, translate(err, "account.error.not_found")
	}
	return c, nil
}

// ResetPassword uses a reset token, stores the new password and ends every session.
func (db *DB) ResetPassword(ctx context.Context, tokenHash []byte, passwordHash string, at time.Time) (*dimos.Citizen, error) {
	var c *dimos.Citizen
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		id, err := useToken(ctx, tx, tokenHash, dimos.TokenReset, at, "account.error.reset_token")
		if err != nil {
			return err
		}
		c, err = scanCitizen(tx.QueryRow(ctx, `UPDATE citizens SET password_hash = $2
			WHERE id = $1 RETURNING `+citizenColumns, id, passwordHash))
		if err != nil {
			return err
		}
		// Whoever knew the old password is signed out; other reset links die too.
		_, err = tx.Exec(ctx, `DELETE FROM citizen_tokens WHERE citizen_id = $1 AND kind IN ('session', 'reset') AND hash <> $2`, id, tokenHash)
		return err
	})
	if err != nil {
		return nil, translate(err, "account.error.not_found")
	}
	return c, nil
}

func (db *DB) setCitizenColumn(ctx context.Context, sql string, id int64, value any) error {
	tag, err := db.Pool.Exec(ctx, sql, id, value)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return dimos.Errorf(dimos.ENOTFOUND, "account.error.not_found")
	}
	return nil
}

// SetPasswordHash stores a new password hash.
func (db *DB) SetPasswordHash(ctx context.Context, citizenID int64, hash string) error {
	return db.setCitizenColumn(ctx, `UPDATE citizens SET password_hash = $2 WHERE id = $1 AND erased_at IS NULL`, citizenID, hash)
}

// SetPINHash stores a new IVR PIN hash.
func (db *DB) SetPINHash(ctx context.Context, citizenID int64, hash string) error {
	return db.setCitizenColumn(ctx, `UPDATE citizens SET pin_hash = $2 WHERE id = $1 AND erased_at IS NULL`, citizenID, hash)
}

// UpdateProfile stores the editable details; a zero VerifiedAt withdraws a verification.
func (db *DB) UpdateProfile(ctx context.Context, c *dimos.Citizen) error {
	if c.Lang == "" {
		c.Lang = "el"
	}
	tag, err := db.Pool.Exec(ctx, `UPDATE citizens SET first_name = $2, last_name = $3, email = $4,
			mobile_phone = $5, phone = $6, address = $7, phone_access_code = $8, afm = $9, lang = $10,
			verified_at = CASE WHEN $11 THEN verified_at END,
			verified_by = CASE WHEN $11 THEN verified_by END,
			verification_doc_number = CASE WHEN $11 THEN verification_doc_number ELSE '' END
		WHERE id = $1 AND erased_at IS NULL`,
		c.ID, c.FirstName, c.LastName, c.Email, c.MobilePhone, c.Phone, c.Address,
		nullIfEmpty(c.PhoneAccessCode), nullIfEmpty(c.AFM), c.Lang, !c.VerifiedAt.IsZero())
	if err != nil {
		return citizenConflict(err)
	}
	if tag.RowsAffected() == 0 {
		return dimos.Errorf(dimos.ENOTFOUND, "account.error.not_found")
	}
	return nil
}

// RequestVerification records the citizen's request to be verified in person.
func (db *DB) RequestVerification(ctx context.Context, citizenID int64, doc string, at time.Time) error {
	tag, err := db.Pool.Exec(ctx, `UPDATE citizens SET verification_doc = $2, verification_requested_at = $3
		WHERE id = $1 AND erased_at IS NULL AND verified_at IS NULL`, citizenID, doc, at)
	if err != nil {
		return translate(err, "account.error.not_found")
	}
	if tag.RowsAffected() == 0 {
		c, err := db.CitizenByID(ctx, citizenID)
		if err == nil && c.Verified() && c.ErasedAt.IsZero() {
			return dimos.Errorf(dimos.ECONFLICT, "account.error.already_verified")
		}
		return dimos.Errorf(dimos.ENOTFOUND, "account.error.not_found")
	}
	return nil
}

// VerifyCitizen records a desk's in-person verification (M3).
func (db *DB) VerifyCitizen(ctx context.Context, citizenID, employeeID int64, doc, number string, at time.Time) error {
	if !dimos.ValidDoc(doc) || number == "" {
		return &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid",
			Fields: []dimos.FieldError{{Field: "doc_type", Key: "account.field.doc_type"}}}
	}
	// verified_at IS NULL: of two desks verifying at once, the first one stands.
	tag, err := db.Pool.Exec(ctx, `UPDATE citizens SET verified_at = $3, verified_by = $2,
			verification_doc = $4, verification_doc_number = $5
		WHERE id = $1 AND erased_at IS NULL AND activated_at IS NOT NULL AND verified_at IS NULL`,
		citizenID, employeeID, at, doc, number)
	if err != nil {
		return translate(err, "account.error.not_found")
	}
	if tag.RowsAffected() == 0 {
		c, err := db.CitizenByID(ctx, citizenID)
		if err == nil && c.Verified() {
			return dimos.Errorf(dimos.ECONFLICT, "error.conflict")
		}
		return dimos.Errorf(dimos.ENOTFOUND, "account.error.not_found")
	}
	return nil
}

// CitizenBySession returns the live account of an unexpired session.
func (db *DB) CitizenBySession(ctx context.Context, tokenHash []byte, now time.Time) (*dimos.Citizen, error) {
	c, err := scanCitizen(db.Pool.QueryRow(ctx, `SELECT `+citizenColumns+` FROM citizens
		WHERE erased_at IS NULL AND id = (SELECT citizen_id FROM citizen_tokens
			WHERE hash = $1 AND kind = 'session' AND expires_at > $2 AND used_at IS NULL)`, tokenHash, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dimos.Errorf(dimos.EUNAUTHORIZED, "error.unauthorized")
	}
	return c, err
}

// DeleteCitizenToken drops a token and sweeps tokens that expired over a day ago.
func (db *DB) DeleteCitizenToken(ctx context.Context, tokenHash []byte) error {
	_, err := db.Pool.Exec(ctx, `DELETE FROM citizen_tokens WHERE hash = $1 OR expires_at < $2`,
		tokenHash, db.Now().Add(-24*time.Hour))
	return err
}

// EndCitizenSessions ends every session of an account.
func (db *DB) EndCitizenSessions(ctx context.Context, citizenID int64) error {
	_, err := db.Pool.Exec(ctx, `DELETE FROM citizen_tokens WHERE citizen_id = $1 AND kind = 'session'`, citizenID)
	return err
}

// CitizenCases lists the citizen's cases, newest first (cases_citizen_idx).
func (db *DB) CitizenCases(ctx context.Context, citizenID int64) ([]dimos.CaseSummary, error) {
	rows, err := db.Pool.Query(ctx, `SELECT number, kind, category_code, subject, status,
			coalesce(protocol_number, ''), protocol_date, submitted_at, completed_at
		FROM cases WHERE citizen_id = $1 ORDER BY submitted_at DESC, id DESC`, citizenID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []dimos.CaseSummary{}
	for rows.Next() {
		var s dimos.CaseSummary
		var protocolDate, completed *time.Time
		if err := rows.Scan(&s.Number, &s.Kind, &s.CategoryCode, &s.Subject, &s.Status,
			&s.Protocol.Number, &protocolDate, &s.SubmittedAt, &completed); err != nil {
			return nil, err
		}
		s.Protocol.Date, s.CompletedAt = deref(protocolDate), deref(completed)
		out = append(out, s)
	}
	return out, rows.Err()
}

// LinkCase makes a case the citizen's own.
func (db *DB) LinkCase(ctx context.Context, caseID, citizenID int64) error {
	tag, err := db.Pool.Exec(ctx, `UPDATE cases SET citizen_id = $2 WHERE id = $1
		AND EXISTS (SELECT 1 FROM citizens WHERE id = $2 AND erased_at IS NULL)`, caseID, citizenID)
	if err != nil {
		return translate(err, "error.case.not_found")
	}
	if tag.RowsAffected() == 0 {
		return dimos.Errorf(dimos.ENOTFOUND, "error.case.not_found")
	}
	return nil
}

// ExportCitizen gathers the account, its cases in full and its tokens without hashes.
func (db *DB) ExportCitizen(ctx context.Context, citizenID int64) (*dimos.CitizenExport, error) {
	c, err := db.CitizenByID(ctx, citizenID)
	if err != nil {
		return nil, err
	}
	out := &dimos.CitizenExport{Citizen: c}
	if out.Cases, err = db.queryCases(ctx, `SELECT `+caseColumns+` FROM cases c
		WHERE c.citizen_id = $1 ORDER BY c.submitted_at DESC, c.id DESC`, citizenID); err != nil {
		return nil, err
	}
	rows, err := db.Pool.Query(ctx, `SELECT kind, created_at, expires_at, used_at FROM citizen_tokens
		WHERE citizen_id = $1 ORDER BY created_at`, citizenID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		t := dimos.CitizenToken{CitizenID: citizenID}
		var used *time.Time
		if err := rows.Scan(&t.Kind, &t.CreatedAt, &t.ExpiresAt, &used); err != nil {
			return nil, err
		}
		t.UsedAt = deref(used)
		out.Tokens = append(out.Tokens, t)
	}
	return out, rows.Err()
}

// EraseCitizen anonymises an account and its cases' contact data in one transaction.
func (db *DB) EraseCitizen(ctx context.Context, citizenID int64, at time.Time) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE citizens SET username = NULL, first_name = '', last_name = '',
				email = NULL, mobile_phone = '', phone = '', address = '', phone_access_code = NULL,
				afm = NULL, password_hash = '', pin_hash = '', verification_doc_number = '',
				verified_by = NULL, erased_at = $2
			WHERE id = $1 AND erased_at IS NULL`, citizenID, at)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return dimos.Errorf(dimos.ENOTFOUND, "account.error.not_found")
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET contact_first_name = '', contact_last_name = '',
				contact_email = '', contact_phone = '', citizen_id = NULL
			WHERE citizen_id = $1`, citizenID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM citizen_tokens WHERE citizen_id = $1`, citizenID)
		return err
	})
}
