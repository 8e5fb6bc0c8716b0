package dimos

import (
	"context"
	"math"
	"strings"
	"unicode/utf8"
)

// The admins' side of the directory: services with their directors, employees,
// categories with their routing and clocks, and the response templates of each
// category. Rows that cases, events or the audit log refer to are deactivated, never
// deleted, so that a case's history still names who and what it passed through.

// ServiceRecord is a service as the admins manage it.
type ServiceRecord struct {
	Service
	Active bool // false: withdrawn; no longer offered for routing or transfers
}

// CategoryRecord is a category as the admins manage it.
type CategoryRecord struct {
	Category
	Active bool // false: withdrawn; no longer offered to citizens
}

// ResponseTemplate is a prepared answer of a category, which a clerk picks to fill
// the completion, rejection or comment form and then adapts to the case.
type ResponseTemplate struct {
	ID           int64
	CategoryCode string
	Title        string
	BodyEL       string
	BodyEN       string // "" when the template has no English text
}

// Body is the template's text in lang ("el" or "en"), Greek when it has no English.
func (t ResponseTemplate) Body(lang string) string {
	if lang == "en" && strings.TrimSpace(t.BodyEN) != "" {
		return t.BodyEN
	}
	return t.BodyEL
}

// EmployeeFilter narrows the admins' list of employees; zero values do not filter.
type EmployeeFilter struct {
	ServiceID int64
	Role      Role
	Active    string // "yes", "no" or "" for both
}

// Limits of what admins type.
const (
	MaxCodeLen          = 32
	MaxTemplateTitleLen = 200
	MaxTemplateBodyLen  = 5000 // what the completion form accepts
	// MinStaffPasswordLen is longer than a citizen's: a staff account reads every
	// case of its service.
	MinStaffPasswordLen = 12
	// MaxPasswordBytes is all that bcrypt reads.
	MaxPasswordBytes = 72
	// MaxTargetDays bounds a clock target, in working days (the column is numeric(6,2)).
	MaxTargetDays = 999
)

// AdminStore is what the admins' pages read and change. Every write validates its
// input again (the Validate methods), reports a taken code or username as ECONFLICT
// with the field, and an unknown id as ENOTFOUND.
type AdminStore interface {
	AdminServices(ctx context.Context) ([]ServiceRecord, error)
	AdminService(ctx context.Context, id int64) (ServiceRecord, error)
	// SaveService inserts s when its ID is 0, and sets the ID; otherwise it updates
	// the code, names, e-mail and Active. A service that active categories route to
	// cannot be deactivated (ECONFLICT on "active").
	SaveService(ctx context.Context, s *ServiceRecord) error
	// SetServiceDirector makes an active director of the service its director; 0
	// leaves the post vacant. Anyone else is EINVALID on "director".
	SetServiceDirector(ctx context.Context, serviceID, employeeID int64) error

	AdminEmployees(ctx context.Context, f EmployeeFilter) ([]*Employee, error)
	// SaveEmployee inserts e when its ID is 0 (PasswordHash required) and sets the
	// ID; otherwise it updates username, names, contacts, role and service, and
	// vacates the director's post of a service the employee no longer directs.
	// PasswordHash and Active are left alone on update.
	SaveEmployee(ctx context.Context, e *Employee) error
	// SetEmployeeActive deactivates or reactivates an employee. Deactivation ends
	// every session of theirs and vacates any director's post they held.
	SetEmployeeActive(ctx context.Context, id int64, active bool) error
	// SetEmployeePassword replaces the password hash and ends the employee's
	// sessions, so that whoever knew the old password is out.
	SetEmployeePassword(ctx context.Context, id int64, hash string) error

	AdminCategories(ctx context.Context) ([]CategoryRecord, error)
	AdminCategory(ctx context.Context, code string) (CategoryRecord, error)
	CreateCategory(ctx context.Context, c CategoryRecord) error
	// UpdateCategory changes everything but the code and returns the numbers of the
	// category's open cases whose workflow runs, which must be told of new targets.
	UpdateCategory(ctx context.Context, c CategoryRecord) (open []string, err error)

	ResponseTemplateStore
	ResponseTemplate(ctx context.Context, id int64) (ResponseTemplate, error)
	// SaveResponseTemplate inserts t when its ID is 0, and sets the ID; otherwise it
	// updates the title and bodies (a template stays with its category).
	SaveResponseTemplate(ctx context.Context, t *ResponseTemplate) error
	DeleteResponseTemplate(ctx context.Context, id int64) error
}

// ResponseTemplateStore lists a category's templates, by title, for the case page.
type ResponseTemplateStore interface {
	ResponseTemplates(ctx context.Context, categoryCode string) ([]ResponseTemplate, error)
}

// Validate checks a service as an admin typed it, every field at once.
func (s *ServiceRecord) Validate() error {
	var v Validation
	checkCode(&v, "code", s.Code, false)
	checkText(&v, "name_el", s.NameEL, MaxNameLen, true)
	checkText(&v, "name_en", s.NameEN, MaxNameLen, true)
	if s.Email != "" && !ValidEmail(s.Email) {
		v.Add("email", "field.email.invalid")
	}
	return v.Err()
}

// Validate checks an employee as an admin typed it. The password is checked apart,
// by CheckStaffPassword, since an edit leaves it alone.
func (e *Employee) Validate() error {
	var v Validation
	if !validUsername(e.Username) {
		v.Add("username", "admin.field.username")
	}
	checkText(&v, "full_name", e.FullName, MaxNameLen, true)
	switch {
	case e.Email == "":
		v.Add("email", "field.required")
	case !ValidEmail(e.Email):
		v.Add("email", "field.email.invalid")
	}
	if e.Phone != "" && !ValidPhone(e.Phone) {
		v.Add("phone", "field.phone.invalid")
	}
	switch e.Role {
	case RoleClerk, RoleDirector, RoleDesk:
		// They work cases of a service, or at its desk.
		if e.ServiceID == 0 {
			v.Add("service_id", "admin.field.service_required")
		}
	case RoleManager, RoleAdmin:
	case "":
		v.Add("role", "field.required")
	default:
		v.Add("role", "field.unknown")
	}
	return v.Err()
}

// CheckStaffPassword checks a new password and its confirmation: at least
// MinStaffPasswordLen characters, at most MaxPasswordBytes bytes, not the username.
func CheckStaffPassword(username, password, confirm string) error {
	var v Validation
	switch {
	case password == "":
		v.Add("password", "field.required")
	case !utf8.ValidString(password):
		v.Add("password", "field.utf8")
	case utf8.RuneCountInString(password) < MinStaffPasswordLen:
		v.Add("password", "admin.field.password_short")
	case len(password) > MaxPasswordBytes:
		v.Add("password", "admin.field.password_long")
	case strings.EqualFold(strings.TrimSpace(password), username):
		v.Add("password", "admin.field.password_username")
	case password != confirm:
		v.Add("password_confirm", "admin.field.password_mismatch")
	}
	return v.Err()
}

// Validate checks a category as an admin typed it.
func (c *CategoryRecord) Validate() error {
	var v Validation
	checkCode(&v, "code", c.Code, true)
	checkText(&v, "name_el", c.NameEL, MaxNameLen, true)
	checkText(&v, "name_en", c.NameEN, MaxNameLen, true)
	if len(c.Kinds) == 0 {
		v.Add("kinds", "admin.field.kinds_required")
	}
	for _, k := range c.Kinds {
		if !k.Valid() {
			v.Add("kinds", "field.kind.unknown")
			break
		}
	}
	if c.ServiceID == 0 {
		v.Add("service_id", "field.required")
	}
	t := c.Targets
	for _, d := range []struct {
		field string
		days  float64
	}{{"assign_days", t.AssignDays}, {"response_days", t.ResponseDays}, {"completion_days", t.CompletionDays},
		{"statutory_days", t.StatutoryDays}, {"info_reply_days", t.InfoReplyDays}} {
		if d.days < 0 || d.days > MaxTargetDays || math.IsNaN(d.days) {
			v.Add(d.field, "admin.field.days_range")
		}
	}
	if t.CompletionDays > 0 && t.CompletionDays > t.Statutory() {
		v.Add("completion_days", "admin.field.completion_after_statutory")
	}
	return v.Err()
}

// Validate checks a response template.
func (t *ResponseTemplate) Validate() error {
	var v Validation
	checkText(&v, "title", t.Title, MaxTemplateTitleLen, true)
	checkText(&v, "body_el", t.BodyEL, MaxTemplateBodyLen, true)
	checkText(&v, "body_en", t.BodyEN, MaxTemplateBodyLen, false)
	return v.Err()
}

// checkCode accepts a code that fits a URL and a spreadsheet cell: letters, digits
// and - _ ., starting with a letter or digit; a category's is lower case only, as its
// table requires.
func checkCode(v *Validation, field, s string, lower bool) {
	if s == "" {
		v.Add(field, "field.required")
		return
	}
	if len(s) > MaxCodeLen {
		v.Add(field, "field.too_long")
		return
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r >= 'A' && r <= 'Z' && !lower:
		case r == '-' && i > 0:
		case (r == '_' || r == '.') && i > 0 && !lower:
		default:
			v.Add(field, "admin.field.code")
			return
		}
	}
}
