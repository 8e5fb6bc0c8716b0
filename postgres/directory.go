package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"dimos"
)

// Categories lists the active categories in the order forms show them.
func (db *DB) Categories(ctx context.Context) ([]*dimos.Category, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+categoryColumns+` FROM categories WHERE active ORDER BY sort, code`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanCategory)
}

const categoryColumns = `code, name_el, name_en, kinds, service_id, target_assign_days::float8,
	target_response_days::float8, target_completion_days::float8, statutory_days::float8, info_reply_days::float8, auto_assign`

func scanCategory(r pgx.CollectableRow) (*dimos.Category, error) {
	var c dimos.Category
	var kinds []string
	t := &c.Targets
	if err := r.Scan(&c.Code, &c.NameEL, &c.NameEN, &kinds, &c.ServiceID, &t.AssignDays, &t.ResponseDays,
		&t.CompletionDays, &t.StatutoryDays, &t.InfoReplyDays, &c.AutoAssign); err != nil {
		return nil, err
	}
	for _, k := range kinds {
		c.Kinds = append(c.Kinds, dimos.Kind(k))
	}
	return &c, nil
}

// CategoryByCode returns an active category.
func (db *DB) CategoryByCode(ctx context.Context, code string) (*dimos.Category, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+categoryColumns+` FROM categories WHERE code = $1 AND active`, code)
	if err != nil {
		return nil, err
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanCategory)
	return c, translate(err, "field.category.unknown")
}

// RoutingFor tells where a category's cases go: its service and that service's
// director, read afresh each time so that an admin's change applies at once.
func (db *DB) RoutingFor(ctx context.Context, categoryCode string) (dimos.Routing, error) {
	var r dimos.Routing
	err := db.Pool.QueryRow(ctx, `SELECT s.id, s.name_el, coalesce(d.id, 0), coalesce(d.full_name, '')
		FROM categories c
		JOIN services s ON s.id = c.service_id
		LEFT JOIN employees d ON d.id = s.director_id AND d.active
		WHERE c.code = $1`, categoryCode).Scan(&r.ServiceID, &r.ServiceName, &r.DirectorID, &r.DirectorName)
	return r, translate(err, "field.category.unknown")
}

// RoutingForService tells who directs a service.
func (db *DB) RoutingForService(ctx context.Context, serviceID int64) (dimos.Routing, error) {
	var r dimos.Routing
	err := db.Pool.QueryRow(ctx, `SELECT s.id, s.name_el, coalesce(d.id, 0), coalesce(d.full_name, '')
		FROM services s LEFT JOIN employees d ON d.id = s.director_id AND d.active
		WHERE s.id = $1`, serviceID).Scan(&r.ServiceID, &r.ServiceName, &r.DirectorID, &r.DirectorName)
	return r, translate(err, "error.service.not_found")
}

// EmployeesByRole lists the active employees of a role.
func (db *DB) EmployeesByRole(ctx context.Context, role dimos.Role) ([]*dimos.Employee, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+employeeColumns+` FROM employees WHERE role = $1 AND active ORDER BY id`, role)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*dimos.Employee, error) { return scanEmployee(r) })
}

// ServiceByID returns a service.
func (db *DB) ServiceByID(ctx context.Context, id int64) (*dimos.Service, error) {
	var s dimos.Service
	err := db.Pool.QueryRow(ctx, `SELECT id, code, name_el, name_en, coalesce(director_id, 0), email
		FROM services WHERE id = $1`, id).Scan(&s.ID, &s.Code, &s.NameEL, &s.NameEN, &s.DirectorID, &s.Email)
	if err != nil {
		return nil, translate(err, "error.not_found")
	}
	return &s, nil
}

const employeeColumns = `id, username, full_name, email, phone, coalesce(service_id, 0), role, password_hash, active`

// employeeFields are the destinations of employeeColumns.
func employeeFields(e *dimos.Employee) []any {
	return []any{&e.ID, &e.Username, &e.FullName, &e.Email, &e.Phone, &e.ServiceID, &e.Role, &e.PasswordHash, &e.Active}
}

func scanEmployee(row pgx.Row) (*dimos.Employee, error) {
	var e dimos.Employee
	if err := row.Scan(employeeFields(&e)...); err != nil {
		return nil, translate(err, "error.not_found")
	}
	return &e, nil
}

// EmployeeByID returns an employee, active or not.
func (db *DB) EmployeeByID(ctx context.Context, id int64) (*dimos.Employee, error) {
	return scanEmployee(db.Pool.QueryRow(ctx, `SELECT `+employeeColumns+` FROM employees WHERE id = $1`, id))
}

// EmployeeByUsername returns an employee by sign-in name, compared case-insensitively.
func (db *DB) EmployeeByUsername(ctx context.Context, username string) (*dimos.Employee, error) {
	return scanEmployee(db.Pool.QueryRow(ctx, `SELECT `+employeeColumns+` FROM employees WHERE username = $1`,
		strings.ToLower(strings.TrimSpace(username))))
}

// SetCategoryTargets changes a category's clocks and returns the numbers of its open
// cases, whose workflows must be told.
func (db *DB) SetCategoryTargets(ctx context.Context, code string, t dimos.Targets) ([]string, error) {
	var numbers []string
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE categories SET target_assign_days = $2, target_response_days = $3,
				target_completion_days = $4, statutory_days = $5, info_reply_days = $6 WHERE code = $1`,
			code, t.AssignDays, t.ResponseDays, t.CompletionDays, t.Statutory(), t.InfoReplyDays)
		if err != nil {
			return translate(err, "field.category.unknown")
		}
		if tag.RowsAffected() == 0 {
			return dimos.Errorf(dimos.ENOTFOUND, "field.category.unknown")
		}
		if err := retargetDeadlines(ctx, tx, code, clockLimit(t.CompletionDays, t.Statutory())); err != nil {
			return fmt.Errorf("retarget deadlines: %w", err)
		}
		// The statutory limit decides when the delay report counts a case overdue.
		if err := retargetOpenCounts(ctx, tx, code); err != nil {
			return fmt.Errorf("report open counts: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT number FROM cases WHERE category_code = $1
			AND stage NOT IN ('completed', 'rejected') AND workflow_started_at IS NOT NULL ORDER BY id`, code)
		if err != nil {
			return err
		}
		numbers, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return numbers, err
}

// ServiceEmployees lists the active employees of a service, for the assign form.
func (db *DB) ServiceEmployees(ctx context.Context, serviceID int64) ([]*dimos.Employee, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+employeeColumns+` FROM employees
		WHERE service_id = $1 AND active ORDER BY full_name, id`, serviceID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*dimos.Employee, error) { return scanEmployee(r) })
}

// Services lists the active services, for the transfer form: a withdrawn service
// takes no new cases.
func (db *DB) Services(ctx context.Context) ([]*dimos.Service, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id, code, name_el, name_en, coalesce(director_id, 0), email
		FROM services WHERE active ORDER BY name_el, id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*dimos.Service, error) {
		var s dimos.Service
		err := r.Scan(&s.ID, &s.Code, &s.NameEL, &s.NameEN, &s.DirectorID, &s.Email)
		return &s, err
	})
}
