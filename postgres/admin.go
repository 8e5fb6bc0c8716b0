package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"dimos"
)

// The admins' reads and writes of the directory (dimos.AdminStore).

var _ dimos.AdminStore = (*DB)(nil)

// taken is the conflict of a unique field, reported on that field.
func taken(err error, field, key string) error {
	err = translate(err, "error.not_found")
	if dimos.ErrorCode(err) == dimos.ECONFLICT {
		return &dimos.Error{Code: dimos.ECONFLICT, Key: "error.conflict", Fields: []dimos.FieldError{{Field: field, Key: key}}}
	}
	return err
}

const serviceRecordColumns = `id, code, name_el, name_en, coalesce(director_id, 0), email, active`

func scanServiceRecord(r pgx.CollectableRow) (dimos.ServiceRecord, error) {
	var s dimos.ServiceRecord
	err := r.Scan(&s.ID, &s.Code, &s.NameEL, &s.NameEN, &s.DirectorID, &s.Email, &s.Active)
	return s, err
}

// AdminServices lists every service, withdrawn ones too, active ones first.
func (db *DB) AdminServices(ctx context.Context) ([]dimos.ServiceRecord, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+serviceRecordColumns+` FROM services ORDER BY NOT active, name_el, id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanServiceRecord)
}

// AdminService returns a service, active or not.
func (db *DB) AdminService(ctx context.Context, id int64) (dimos.ServiceRecord, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+serviceRecordColumns+` FROM services WHERE id = $1`, id)
	if err != nil {
		return dimos.ServiceRecord{}, err
	}
	s, err := pgx.CollectExactlyOneRow(rows, scanServiceRecord)
	return s, translate(err, "admin.error.service_not_found")
}

// SaveService inserts or updates a service. Deactivation is refused while active
// categories route their cases to the service: those cases would have nowhere to go.
func (db *DB) SaveService(ctx context.Context, s *dimos.ServiceRecord) error {
	s.Code, s.NameEL, s.NameEN, s.Email = strings.TrimSpace(s.Code), strings.TrimSpace(s.NameEL),
		strings.TrimSpace(s.NameEN), strings.TrimSpace(s.Email)
	if err := s.Validate(); err != nil {
		return err
	}
	if s.ID == 0 {
		err := db.Pool.QueryRow(ctx, `INSERT INTO services (code, name_el, name_en, email, active)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, s.Code, s.NameEL, s.NameEN, s.Email, s.Active).Scan(&s.ID)
		return taken(err, "code", "admin.field.code_taken")
	}
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if !s.Active {
			var routed bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM categories WHERE service_id = $1 AND active)`,
				s.ID).Scan(&routed); err != nil {
				return err
			}
			if routed {
				return &dimos.Error{Code: dimos.ECONFLICT, Key: "error.conflict",
					Fields: []dimos.FieldError{{Field: "active", Key: "admin.field.service_routed"}}}
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE services SET code = $2, name_el = $3, name_en = $4, email = $5, active = $6
			WHERE id = $1`, s.ID, s.Code, s.NameEL, s.NameEN, s.Email, s.Active)
		if err != nil {
			return taken(err, "code", "admin.field.code_taken")
		}
		if tag.RowsAffected() == 0 {
			return dimos.Errorf(dimos.ENOTFOUND, "admin.error.service_not_found")
		}
		return nil
	})
}

// SetServiceDirector fills or vacates a service's director's post. Only an active
// director of that very service may hold it.
func (db *DB) SetServiceDirector(ctx context.Context, serviceID, employeeID int64) error {
	tag, err := db.Pool.Exec(ctx, `UPDATE services SET director_id = nullif($2::bigint, 0)
		WHERE id = $1 AND ($2 = 0 OR EXISTS (SELECT 1 FROM employees
			WHERE id = $2 AND service_id = $1 AND role = 'director' AND active))`, serviceID, employeeID)
	if err != nil {
		return translate(err, "admin.error.service_not_found")
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if _, err := db.AdminService(ctx, serviceID); err != nil {
		return err
	}
	return &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid",
		Fields: []dimos.FieldError{{Field: "director", Key: "admin.field.director"}}}
}

// AdminEmployees lists the employees f selects, active ones first, by name.
func (db *DB) AdminEmployees(ctx context.Context, f dimos.EmployeeFilter) ([]*dimos.Employee, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+employeeColumns+` FROM employees
		WHERE ($1 = 0 OR service_id = $1) AND ($2 = '' OR role = $2)
			AND ($3 = '' OR active = ($3 = 'yes'))
		ORDER BY NOT active, full_name, id`, f.ServiceID, string(f.Role), f.Active)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*dimos.Employee, error) { return scanEmployee(r) })
}

// SaveEmployee inserts or updates an employee. An employee who stops being the
// director of a service, by a new role or service, leaves its post vacant.
func (db *DB) SaveEmployee(ctx context.Context, e *dimos.Employee) error {
	e.Username = dimos.NormalizeUsername(e.Username)
	e.FullName, e.Email, e.Phone = strings.TrimSpace(e.FullName), strings.TrimSpace(e.Email), strings.TrimSpace(e.Phone)
	if err := e.Validate(); err != nil {
		return err
	}
	if e.ID == 0 {
		if e.PasswordHash == "" {
			return fmt.Errorf("save employee %s: no password hash", e.Username)
		}
		err := db.Pool.QueryRow(ctx, `INSERT INTO employees (username, full_name, email, phone, service_id, role, password_hash, active)
			VALUES ($1, $2, $3, $4, nullif($5::bigint, 0), $6, $7, $8) RETURNING id`,
			e.Username, e.FullName, e.Email, e.Phone, e.ServiceID, e.Role, e.PasswordHash, e.Active).Scan(&e.ID)
		return taken(err, "username", "admin.field.username_taken")
	}
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE employees SET username = $2, full_name = $3, email = $4, phone = $5,
				service_id = nullif($6::bigint, 0), role = $7 WHERE id = $1`,
			e.ID, e.Username, e.FullName, e.Email, e.Phone, e.ServiceID, e.Role)
		if err != nil {
			return taken(err, "username", "admin.field.username_taken")
		}
		if tag.RowsAffected() == 0 {
			return dimos.Errorf(dimos.ENOTFOUND, "admin.error.employee_not_found")
		}
		_, err = tx.Exec(ctx, `UPDATE services SET director_id = NULL
			WHERE director_id = $1 AND ($3 <> 'director' OR id IS DISTINCT FROM nullif($2::bigint, 0))`,
			e.ID, e.ServiceID, e.Role)
		return err
	})
}

// SetEmployeeActive deactivates or reactivates an employee. Deactivation ends their
// sessions in the same transaction, so that no request of theirs gets through after
// it, and vacates the director's post they held.
func (db *DB) SetEmployeeActive(ctx context.Context, id int64, active bool) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE employees SET active = $2 WHERE id = $1`, id, active)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return dimos.Errorf(dimos.ENOTFOUND, "admin.error.employee_not_found")
		}
		if active {
			return nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM staff_sessions WHERE employee_id = $1`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE services SET director_id = NULL WHERE director_id = $1`, id)
		return err
	})
}

// SetEmployeePassword stores a new password hash and ends the employee's sessions.
func (db *DB) SetEmployeePassword(ctx context.Context, id int64, hash string) error {
	if hash == "" {
		return fmt.Errorf("set password of employee %d: empty hash", id)
	}
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE employees SET password_hash = $2 WHERE id = $1`, id, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return dimos.Errorf(dimos.ENOTFOUND, "admin.error.employee_not_found")
		}
		_, err = tx.Exec(ctx, `DELETE FROM staff_sessions WHERE employee_id = $1`, id)
		return err
	})
}

func scanCategoryRecord(r pgx.CollectableRow) (dimos.CategoryRecord, error) {
	var c dimos.CategoryRecord
	var kinds []string
	t := &c.Targets
	if err := r.Scan(&c.Code, &c.NameEL, &c.NameEN, &kinds, &c.ServiceID, &t.AssignDays, &t.ResponseDays,
		&t.CompletionDays, &t.StatutoryDays, &t.InfoReplyDays, &c.AutoAssign, &c.Active); err != nil {
		return c, err
	}
	for _, k := range kinds {
		c.Kinds = append(c.Kinds, dimos.Kind(k))
	}
	return c, nil
}

// AdminCategories lists every category, withdrawn ones too, active ones first.
func (db *DB) AdminCategories(ctx context.Context) ([]dimos.CategoryRecord, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+categoryColumns+`, active FROM categories ORDER BY NOT active, sort, code`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanCategoryRecord)
}

// AdminCategory returns a category, active or not.
func (db *DB) AdminCategory(ctx context.Context, code string) (dimos.CategoryRecord, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+categoryColumns+`, active FROM categories WHERE code = $1`, code)
	if err != nil {
		return dimos.CategoryRecord{}, err
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanCategoryRecord)
	return c, translate(err, "field.category.unknown")
}

func kindStrings(kinds []dimos.Kind) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}

// activeService refuses a category routed to a service that does not exist or was
// withdrawn.
func activeService(ctx context.Context, tx pgx.Tx, id int64) error {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM services WHERE id = $1 AND active)`, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid",
			Fields: []dimos.FieldError{{Field: "service_id", Key: "admin.field.service_inactive"}}}
	}
	return nil
}

func trimCategory(c *dimos.CategoryRecord) {
	c.Code, c.NameEL, c.NameEN = strings.TrimSpace(c.Code), strings.TrimSpace(c.NameEL), strings.TrimSpace(c.NameEN)
	if c.Targets.StatutoryDays == 0 {
		c.Targets.StatutoryDays = dimos.StatutoryDays
	}
}

// CreateCategory adds a category, after those there are.
func (db *DB) CreateCategory(ctx context.Context, c dimos.CategoryRecord) error {
	trimCategory(&c)
	if err := c.Validate(); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := activeService(ctx, tx, c.ServiceID); err != nil {
			return err
		}
		t := c.Targets
		_, err := tx.Exec(ctx, `INSERT INTO categories (code, name_el, name_en, kinds, service_id, sort, active,
				target_assign_days, target_response_days, target_completion_days, statutory_days, info_reply_days, auto_assign)
			VALUES ($1, $2, $3, $4, $5, (SELECT coalesce(max(sort), 0) + 1 FROM categories), $6, $7, $8, $9, $10, $11, $12)`,
			c.Code, c.NameEL, c.NameEN, kindStrings(c.Kinds), c.ServiceID, c.Active,
			t.AssignDays, t.ResponseDays, t.CompletionDays, t.StatutoryDays, t.InfoReplyDays, c.AutoAssign)
		return taken(err, "code", "admin.field.code_taken")
	})
}

// UpdateCategory changes a category and returns its open cases that have a
// workflow, which the caller tells of new targets (workflows.Dispatcher.Retarget).
// New routing applies from the next case routed: cases already with a service stay
// there until someone transfers them.
func (db *DB) UpdateCategory(ctx context.Context, c dimos.CategoryRecord) ([]string, error) {
	trimCategory(&c)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var numbers []string
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := activeService(ctx, tx, c.ServiceID); err != nil {
			return err
		}
		t := c.Targets
		tag, err := tx.Exec(ctx, `UPDATE categories SET name_el = $2, name_en = $3, kinds = $4, service_id = $5,
				active = $6, target_assign_days = $7, target_response_days = $8, target_completion_days = $9,
				statutory_days = $10, info_reply_days = $11, auto_assign = $12
			WHERE code = $1`, c.Code, c.NameEL, c.NameEN, kindStrings(c.Kinds), c.ServiceID, c.Active,
			t.AssignDays, t.ResponseDays, t.CompletionDays, t.StatutoryDays, t.InfoReplyDays, c.AutoAssign)
		if err != nil {
			return translate(err, "field.category.unknown")
		}
		if tag.RowsAffected() == 0 {
			return dimos.Errorf(dimos.ENOTFOUND, "field.category.unknown")
		}
		// The statutory limit decides when the delay report counts a case overdue.
		if err := retargetOpenCounts(ctx, tx, c.Code); err != nil {
			return fmt.Errorf("report open counts: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT number FROM cases WHERE category_code = $1
			AND stage NOT IN ('completed', 'rejected') AND workflow_started_at IS NOT NULL ORDER BY id`, c.Code)
		if err != nil {
			return err
		}
		numbers, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return numbers, err
}

const templateColumns = `id, category_code, title, body_el, body_en`

func scanTemplate(r pgx.CollectableRow) (dimos.ResponseTemplate, error) {
	var t dimos.ResponseTemplate
	err := r.Scan(&t.ID, &t.CategoryCode, &t.Title, &t.BodyEL, &t.BodyEN)
	return t, err
}

// ResponseTemplates lists a category's templates by title.
func (db *DB) ResponseTemplates(ctx context.Context, categoryCode string) ([]dimos.ResponseTemplate, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+templateColumns+` FROM response_templates
		WHERE category_code = $1 ORDER BY title, id`, categoryCode)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanTemplate)
}

// ResponseTemplate returns one template.
func (db *DB) ResponseTemplate(ctx context.Context, id int64) (dimos.ResponseTemplate, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+templateColumns+` FROM response_templates WHERE id = $1`, id)
	if err != nil {
		return dimos.ResponseTemplate{}, err
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanTemplate)
	return t, translate(err, "admin.error.template_not_found")
}

// SaveResponseTemplate inserts or updates a template.
func (db *DB) SaveResponseTemplate(ctx context.Context, t *dimos.ResponseTemplate) error {
	t.Title = strings.TrimSpace(t.Title)
	if err := t.Validate(); err != nil {
		return err
	}
	if t.ID == 0 {
		err := db.Pool.QueryRow(ctx, `INSERT INTO response_templates (category_code, title, body_el, body_en, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`, t.CategoryCode, t.Title, t.BodyEL, t.BodyEN, db.Now()).Scan(&t.ID)
		return translate(err, "field.category.unknown")
	}
	tag, err := db.Pool.Exec(ctx, `UPDATE response_templates SET title = $2, body_el = $3, body_en = $4, updated_at = $5
		WHERE id = $1`, t.ID, t.Title, t.BodyEL, t.BodyEN, db.Now())
	if err != nil {
		return translate(err, "admin.error.template_not_found")
	}
	if tag.RowsAffected() == 0 {
		return dimos.Errorf(dimos.ENOTFOUND, "admin.error.template_not_found")
	}
	return nil
}

// DeleteResponseTemplate removes a template; answers made from it keep their text.
func (db *DB) DeleteResponseTemplate(ctx context.Context, id int64) error {
	tag, err := db.Pool.Exec(ctx, `DELETE FROM response_templates WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return dimos.Errorf(dimos.ENOTFOUND, "admin.error.template_not_found")
	}
	return nil
}
