package console

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"

	"dimos"
)

// fakeAdmin is dimos.AdminStore over the harness's directory, sessions and cases,
// so that what an admin changes is what sign-in, the case page and the namer see.
// It keeps the rules postgres keeps (validation, taken codes, sessions ended on
// deactivation and new passwords); postgres/admin_test.go tests the real thing.
type fakeAdmin struct {
	mu          sync.Mutex
	dir         *fakeDirectory
	sessions    *fakeSessions
	cases       *fakeCases
	inactiveSvc map[int64]bool
	inactiveCat map[string]bool
	templates   map[int64]dimos.ResponseTemplate
	nextID      int64
}

// tplRoads is the template the fake starts with, of the roads category.
const tplRoads = 1

func newFakeAdmin(dir *fakeDirectory, sessions *fakeSessions, cases *fakeCases) *fakeAdmin {
	return &fakeAdmin{dir: dir, sessions: sessions, cases: cases, inactiveSvc: map[int64]bool{}, inactiveCat: map[string]bool{},
		nextID: 100, templates: map[int64]dimos.ResponseTemplate{tplRoads: {ID: tplRoads, CategoryCode: "roads",
			Title: "Επισκευή οδοστρώματος", BodyEL: "Το οδόστρωμα επισκευάστηκε από το συνεργείο του Δήμου.",
			BodyEN: "The road surface was repaired by the municipal crew."}}}
}

// withAdminStore gives the console a fakeAdmin, put in *fa, and the retargeter rt.
func withAdminStore(fa **fakeAdmin, rt Retargeter) func(*Config) {
	return func(cfg *Config) {
		*fa = newFakeAdmin(cfg.Directory.(*fakeDirectory), cfg.Sessions.(*fakeSessions), cfg.Cases.(*fakeCases))
		cfg.Admin, cfg.Retarget = *fa, rt
	}
}

func fakeConflict(field, key string) error {
	return &dimos.Error{Code: dimos.ECONFLICT, Key: "error.conflict", Fields: []dimos.FieldError{{Field: field, Key: key}}}
}

func (f *fakeAdmin) AdminServices(ctx context.Context) ([]dimos.ServiceRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []dimos.ServiceRecord
	for _, s := range f.dir.services {
		out = append(out, dimos.ServiceRecord{Service: *s, Active: !f.inactiveSvc[s.ID]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *fakeAdmin) AdminService(ctx context.Context, id int64) (dimos.ServiceRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.dir.services[id]
	if !ok {
		return dimos.ServiceRecord{}, dimos.Errorf(dimos.ENOTFOUND, "admin.error.service_not_found")
	}
	return dimos.ServiceRecord{Service: *s, Active: !f.inactiveSvc[id]}, nil
}

func (f *fakeAdmin) SaveService(ctx context.Context, s *dimos.ServiceRecord) error {
	if err := s.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.dir.services {
		if x.ID != s.ID && x.Code == s.Code {
			return fakeConflict("code", "admin.field.code_taken")
		}
	}
	if s.ID == 0 {
		f.nextID++
		s.ID = f.nextID
	} else if _, ok := f.dir.services[s.ID]; !ok {
		return dimos.Errorf(dimos.ENOTFOUND, "admin.error.service_not_found")
	}
	cp := s.Service
	f.dir.services[s.ID] = &cp
	f.inactiveSvc[s.ID] = !s.Active
	return nil
}

func (f *fakeAdmin) SetServiceDirector(ctx context.Context, serviceID, employeeID int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.dir.services[serviceID]
	if !ok {
		return dimos.Errorf(dimos.ENOTFOUND, "admin.error.service_not_found")
	}
	if employeeID != 0 {
		e, ok := f.dir.employees[employeeID]
		if !ok || !e.Active || e.Role != dimos.RoleDirector || e.ServiceID != serviceID {
			return invalid("director", "admin.field.director")
		}
	}
	s.DirectorID = employeeID
	return nil
}

func (f *fakeAdmin) AdminEmployees(ctx context.Context, filter dimos.EmployeeFilter) ([]*dimos.Employee, error) {
	f.dir.mu.Lock()
	defer f.dir.mu.Unlock()
	var out []*dimos.Employee
	for _, e := range f.dir.employees {
		if (filter.ServiceID == 0 || e.ServiceID == filter.ServiceID) && (filter.Role == "" || e.Role == filter.Role) &&
			(filter.Active == "" || e.Active == (filter.Active == "yes")) {
			cp := *e
			out = append(out, &cp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *fakeAdmin) SaveEmployee(ctx context.Context, e *dimos.Employee) error {
	if err := e.Validate(); err != nil {
		return err
	}
	f.dir.mu.Lock()
	defer f.dir.mu.Unlock()
	for _, x := range f.dir.employees {
		if x.ID != e.ID && x.Username == e.Username {
			return fakeConflict("username", "admin.field.username_taken")
		}
	}
	if e.ID == 0 {
		f.nextID++
		e.ID = f.nextID
		cp := *e
		f.dir.employees[e.ID] = &cp
		return nil
	}
	x, ok := f.dir.employees[e.ID]
	if !ok {
		return dimos.Errorf(dimos.ENOTFOUND, "admin.error.employee_not_found")
	}
	x.Username, x.FullName, x.Email, x.Phone, x.Role, x.ServiceID = e.Username, e.FullName, e.Email, e.Phone, e.Role, e.ServiceID
	return nil
}

// endSessions deletes every session of an employee, as postgres does.
func (f *fakeAdmin) endSessions(id int64) {
	f.sessions.mu.Lock()
	defer f.sessions.mu.Unlock()
	for k, s := range f.sessions.sessions {
		if s.EmployeeID == id {
			delete(f.sessions.sessions, k)
		}
	}
}

func (f *fakeAdmin) SetEmployeeActive(ctx context.Context, id int64, active bool) error {
	f.dir.mu.Lock()
	e, ok := f.dir.employees[id]
	if ok {
		e.Active = active
	}
	f.dir.mu.Unlock()
	if !ok {
		return dimos.Errorf(dimos.ENOTFOUND, "admin.error.employee_not_found")
	}
	if !active {
		f.endSessions(id)
	}
	return nil
}

func (f *fakeAdmin) SetEmployeePassword(ctx context.Context, id int64, hash string) error {
	f.dir.mu.Lock()
	e, ok := f.dir.employees[id]
	if ok {
		e.PasswordHash = hash
	}
	f.dir.mu.Unlock()
	if !ok {
		return dimos.Errorf(dimos.ENOTFOUND, "admin.error.employee_not_found")
	}
	f.endSessions(id)
	return nil
}

func (f *fakeAdmin) AdminCategories(ctx context.Context) ([]dimos.CategoryRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []dimos.CategoryRecord
	for _, c := range f.dir.categories {
		out = append(out, dimos.CategoryRecord{Category: *c, Active: !f.inactiveCat[c.Code]})
	}
	return out, nil
}

func (f *fakeAdmin) AdminCategory(ctx context.Context, code string) (dimos.CategoryRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.dir.categories {
		if c.Code == code {
			return dimos.CategoryRecord{Category: *c, Active: !f.inactiveCat[code]}, nil
		}
	}
	return dimos.CategoryRecord{}, dimos.Errorf(dimos.ENOTFOUND, "field.category.unknown")
}

func (f *fakeAdmin) CreateCategory(ctx context.Context, c dimos.CategoryRecord) error {
	if err := c.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.dir.categories {
		if x.Code == c.Code {
			return fakeConflict("code", "admin.field.code_taken")
		}
	}
	cp := c.Category
	cp.Kinds = slices.Clone(c.Kinds)
	f.dir.categories = append(f.dir.categories, &cp)
	f.inactiveCat[c.Code] = !c.Active
	return nil
}

func (f *fakeAdmin) UpdateCategory(ctx context.Context, c dimos.CategoryRecord) ([]string, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.dir.categories {
		if x.Code == c.Code {
			*x = c.Category
			x.Kinds = slices.Clone(c.Kinds)
			f.inactiveCat[c.Code] = !c.Active
			var open []string
			f.cases.mu.Lock()
			for _, cs := range f.cases.cases {
				if cs.CategoryCode == c.Code && !cs.Stage.Terminal() && !cs.WorkflowStartedAt.IsZero() {
					open = append(open, cs.Number)
				}
			}
			f.cases.mu.Unlock()
			sort.Strings(open)
			return open, nil
		}
	}
	return nil, dimos.Errorf(dimos.ENOTFOUND, "field.category.unknown")
}

func (f *fakeAdmin) ResponseTemplates(ctx context.Context, categoryCode string) ([]dimos.ResponseTemplate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []dimos.ResponseTemplate
	for _, t := range f.templates {
		if t.CategoryCode == categoryCode {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.Compare(out[i].Title, out[j].Title) < 0 })
	return out, nil
}

func (f *fakeAdmin) ResponseTemplate(ctx context.Context, id int64) (dimos.ResponseTemplate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.templates[id]
	if !ok {
		return t, dimos.Errorf(dimos.ENOTFOUND, "admin.error.template_not_found")
	}
	return t, nil
}

func (f *fakeAdmin) SaveResponseTemplate(ctx context.Context, t *dimos.ResponseTemplate) error {
	if err := t.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.ID == 0 {
		f.nextID++
		t.ID = f.nextID
	} else if _, ok := f.templates[t.ID]; !ok {
		return dimos.Errorf(dimos.ENOTFOUND, "admin.error.template_not_found")
	}
	f.templates[t.ID] = *t
	return nil
}

func (f *fakeAdmin) DeleteResponseTemplate(ctx context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.templates[id]; !ok {
		return dimos.Errorf(dimos.ENOTFOUND, "admin.error.template_not_found")
	}
	delete(f.templates, id)
	return nil
}

// retargetCall is one Retarget the console made.
type retargetCall struct {
	Numbers []string
	Targets dimos.Targets
}

type fakeRetarget struct {
	mu    sync.Mutex
	calls []retargetCall
	err   error
}

func (f *fakeRetarget) Retarget(ctx context.Context, numbers []string, t dimos.Targets) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, retargetCall{slices.Clone(numbers), t})
	if f.err != nil {
		return 0, f.err
	}
	return len(numbers), nil
}

func (f *fakeRetarget) called() []retargetCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}
