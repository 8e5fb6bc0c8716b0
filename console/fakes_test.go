package console

// In-memory fakes of the dimos interfaces the console uses. They are small on
// purpose: these are unit tests of the console layer; the PostgreSQL and Temporal
// implementations are tested against the real things in their own packages.

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"dimos"
	"dimos/workflows"
)

var errNotFound = dimos.Errorf(dimos.ENOTFOUND, "error.not_found")

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fakeCases struct {
	mu      sync.Mutex
	cases   map[string]*dimos.Case
	events  map[int64][]dimos.CaseEvent
	timings map[int64][]dimos.StageTiming
	queries []dimos.InboxQuery // every inbox page asked for
	names   map[int64]string   // assignees' names, for the inbox rows
	err     error              // returned by every read when set
}

func (f *fakeCases) SubmitCase(ctx context.Context, c *dimos.Case) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cases[c.Number] = c
	return nil
}

func (f *fakeCases) CaseByNumber(ctx context.Context, number string) (*dimos.Case, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	c, ok := f.cases[number]
	if !ok {
		return nil, errNotFound
	}
	cp := *c
	return &cp, nil
}

// fakeDeadline is the fake store's deadline of a case: ten calendar days after
// submission, or its due date. The real rule is the store's, tested in postgres.
func fakeDeadline(c *dimos.Case) time.Time {
	if !c.DueDate.IsZero() {
		return c.DueDate
	}
	return c.SubmittedAt.AddDate(0, 0, 10)
}

// inTab reports whether a case belongs to a tab for a scope, as the store decides.
func inTab(c *dimos.Case, tab dimos.InboxTab, s dimos.InboxScope, now time.Time) bool {
	if c.Stage.Terminal() {
		return false
	}
	scoped := s.All || c.AssigneeID == s.EmployeeID || s.ServiceID != 0 && c.ServiceID == s.ServiceID
	switch tab {
	case dimos.InboxMine:
		return c.AssigneeID == s.EmployeeID
	case dimos.InboxService:
		return c.ServiceID == s.ServiceID && (c.Stage == dimos.StageRouted || c.AssigneeID == 0)
	case dimos.InboxWaiting:
		return scoped && c.Stage == dimos.StageWaitingCitizen
	case dimos.InboxOverdue:
		return scoped && fakeDeadline(c).Before(now)
	case dimos.InboxAll:
		return s.All
	}
	return false
}

func (f *fakeCases) inbox(q dimos.InboxQuery) []*dimos.Case {
	var out []*dimos.Case
	for _, c := range f.cases {
		if inTab(c, q.Tab, q.Scope, q.Now) && (q.Filters.Category == "" || c.CategoryCode == q.Filters.Category) &&
			(q.Filters.Kind == "" || c.Kind == q.Filters.Kind) && (q.Filters.Channel == "" || c.Channel == q.Filters.Channel) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := fakeDeadline(out[i]), fakeDeadline(out[j])
		return a.Before(b) || a.Equal(b) && out[i].ID < out[j].ID
	})
	return out
}

func (f *fakeCases) InboxPage(ctx context.Context, q dimos.InboxQuery) (dimos.InboxPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, q)
	if f.err != nil {
		return dimos.InboxPage{}, f.err
	}
	var page dimos.InboxPage
	for _, c := range f.inbox(q) {
		if q.After != nil && c.ID <= q.After.ID {
			continue
		}
		if len(page.Cases) == q.Limit {
			last := page.Cases[len(page.Cases)-1]
			page.Next = &dimos.InboxCursor{Deadline: last.Deadline, ID: last.ID}
			break
		}
		d := fakeDeadline(c)
		clock := dimos.InboxClock{Days: int(d.Sub(q.Now).Hours()/24) + 1}
		if d.Before(q.Now) {
			clock = dimos.InboxClock{Overdue: true, Days: int(q.Now.Sub(d).Hours()/24) + 1}
		}
		var assignee string
		if e, ok := f.names[c.AssigneeID]; ok {
			assignee = e
		}
		page.Cases = append(page.Cases, dimos.InboxCase{ID: c.ID, Number: c.Number, Subject: c.Subject, Kind: c.Kind,
			CategoryCode: c.CategoryCode, Stage: c.Stage, Status: c.Status, Channel: c.Channel, SubmittedAt: c.SubmittedAt,
			ServiceID: c.ServiceID, AssigneeID: c.AssigneeID, AssigneeName: assignee, Deadline: d, Clock: clock})
	}
	if q.After != nil && len(page.Cases) > 0 {
		page.Prev = &dimos.InboxCursor{Deadline: page.Cases[0].Deadline, ID: page.Cases[0].ID}
	}
	return page, nil
}

func (f *fakeCases) InboxCounts(ctx context.Context, q dimos.InboxQuery) (dimos.InboxCounts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	counts := dimos.InboxCounts{}
	for _, tab := range q.Scope.Tabs() {
		q.Tab = tab
		counts[tab] = len(f.inbox(q))
	}
	return counts, nil
}

func (f *fakeCases) CaseEvents(ctx context.Context, caseID int64) ([]dimos.CaseEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.events[caseID], f.err
}

func (f *fakeCases) StageTimings(ctx context.Context, caseID int64) ([]dimos.StageTiming, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.timings[caseID], f.err
}

func (f *fakeCases) CasesAwaitingWorkflow(ctx context.Context, after *dimos.Case, limit int) ([]*dimos.Case, error) {
	return nil, nil
}

func (f *fakeCases) MarkWorkflowStarted(ctx context.Context, caseID int64, at time.Time) error {
	return nil
}

func (f *fakeCases) RecordTransition(ctx context.Context, t dimos.Transition) error { return nil }

// The console does not write through the store: these complete the interface.
func (f *fakeCases) ApplyChange(ctx context.Context, ch dimos.CaseChange) error { return nil }
func (f *fakeCases) LeastLoadedClerk(ctx context.Context, serviceID int64) (int64, error) {
	return 0, dimos.Errorf(dimos.ENOTFOUND, "error.not_found")
}
func (f *fakeCases) AccessKeyHash(ctx context.Context, caseID int64) ([]byte, error) { return nil, nil }

type fakeDirectory struct {
	mu         sync.Mutex
	employees  map[int64]*dimos.Employee
	services   map[int64]*dimos.Service
	categories []*dimos.Category
}

func (f *fakeDirectory) Categories(ctx context.Context) ([]*dimos.Category, error) {
	return f.categories, nil
}

func (f *fakeDirectory) CategoryByCode(ctx context.Context, code string) (*dimos.Category, error) {
	for _, c := range f.categories {
		if c.Code == code {
			return c, nil
		}
	}
	return nil, errNotFound
}

func (f *fakeDirectory) RoutingFor(ctx context.Context, categoryCode string) (dimos.Routing, error) {
	return dimos.Routing{}, errNotFound
}

func (f *fakeDirectory) ServiceByID(ctx context.Context, id int64) (*dimos.Service, error) {
	if s, ok := f.services[id]; ok {
		return s, nil
	}
	return nil, errNotFound
}

func (f *fakeDirectory) EmployeeByID(ctx context.Context, id int64) (*dimos.Employee, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.employees[id]; ok {
		cp := *e
		return &cp, nil
	}
	return nil, errNotFound
}

func (f *fakeDirectory) EmployeeByUsername(ctx context.Context, username string) (*dimos.Employee, error) {
	if err := pgText(username); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.employees {
		if e.Username == username {
			cp := *e
			return &cp, nil
		}
	}
	return nil, errNotFound
}

func (f *fakeDirectory) EmployeesByRole(ctx context.Context, role dimos.Role) ([]*dimos.Employee, error) {
	return nil, nil
}

func (f *fakeDirectory) RoutingForService(ctx context.Context, serviceID int64) (dimos.Routing, error) {
	return dimos.Routing{}, dimos.Errorf(dimos.ENOTFOUND, "error.service.not_found")
}

// ServiceEmployees lists a service's employees, active or not, by id: the console
// must itself leave out whom a case cannot go to.
func (f *fakeDirectory) ServiceEmployees(ctx context.Context, serviceID int64) ([]*dimos.Employee, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*dimos.Employee
	for _, e := range f.employees {
		if e.ServiceID == serviceID {
			cp := *e
			out = append(out, &cp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *fakeDirectory) Services(ctx context.Context) ([]*dimos.Service, error) {
	var out []*dimos.Service
	for _, s := range f.services {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *fakeDirectory) setActive(id int64, active bool) {
	f.mu.Lock()
	f.employees[id].Active = active
	f.mu.Unlock()
}

type fakeSessions struct {
	dir      *fakeDirectory // whose employees come with their sessions
	mu       sync.Mutex
	sessions map[string]dimos.StaffSession // by string(token hash)
	deleted  int
	touched  int // writes of a session's last sight
}

func (f *fakeSessions) CreateSession(ctx context.Context, hash []byte, s dimos.StaffSession) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[string(hash)] = s
	return nil
}

func (f *fakeSessions) SessionByTokenHash(ctx context.Context, hash []byte) (*dimos.StaffSession, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[string(hash)]
	if !ok {
		return nil, errNotFound
	}
	e, err := f.dir.EmployeeByID(ctx, s.EmployeeID)
	if err != nil {
		return nil, err
	}
	s.Employee = e
	return &s, nil
}

func (f *fakeSessions) TouchSession(ctx context.Context, hash []byte, seen, expires time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[string(hash)]
	if !ok {
		return errNotFound
	}
	s.LastSeenAt, s.ExpiresAt = seen, expires
	f.sessions[string(hash)] = s
	f.touched++
	return nil
}

func (f *fakeSessions) DeleteSession(ctx context.Context, hash []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.sessions[string(hash)]; ok {
		f.deleted++
	}
	delete(f.sessions, string(hash))
	return nil
}

func (f *fakeSessions) count() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.sessions) }

type fakeAudit struct {
	mu      sync.Mutex
	entries []dimos.AuditEntry
	dir     *fakeDirectory // names the employees in AuditSearch
	filters []dimos.AuditFilter
}

// AuditSearch filters the entries as postgres does; an entry's id is its position + 1.
func (f *fakeAudit) AuditSearch(ctx context.Context, filter dimos.AuditFilter) ([]dimos.AuditRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = append(f.filters, filter)
	var out []dimos.AuditRecord
	for i := len(f.entries) - 1; i >= 0 && len(out) < filter.Limit; i-- {
		e, id := f.entries[i], int64(i+1)
		r := dimos.AuditRecord{ID: id, AuditEntry: e}
		if emp, err := f.dir.EmployeeByID(ctx, e.EmployeeID); err == nil {
			r.EmployeeName, r.Username = emp.FullName, emp.Username
		}
		switch {
		case filter.BeforeID > 0 && id >= filter.BeforeID,
			filter.Username != "" && r.Username != filter.Username,
			!strings.HasPrefix(e.Action, filter.ActionPrefix),
			filter.Target != "" && e.Target != filter.Target,
			!filter.From.IsZero() && e.At.Before(filter.From),
			!filter.To.IsZero() && !e.At.Before(filter.To):
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

func (f *fakeAudit) Audit(ctx context.Context, e dimos.AuditEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = append(f.entries, e)
	return nil
}

// find returns the entries with the given action.
func (f *fakeAudit) find(action string) []dimos.AuditEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []dimos.AuditEntry
	for _, e := range f.entries {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

type fakeThrottle struct {
	mu       sync.Mutex
	failures map[string][]time.Time
	resets   []string
}

func (f *fakeThrottle) Failures(ctx context.Context, key string, since time.Time) (int, error) {
	if err := pgText(key); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, at := range f.failures[key] {
		if !at.Before(since) {
			n++
		}
	}
	return n, nil
}

func (f *fakeThrottle) RecordFailure(ctx context.Context, key string, at time.Time) error {
	if err := pgText(key); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[key] = append(f.failures[key], at)
	return nil
}

func (f *fakeThrottle) Reset(ctx context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.failures, key)
	f.resets = append(f.resets, key)
	return nil
}

func (f *fakeThrottle) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.failures[key])
}

// updateCall is one Work.Update the console made.
type updateCall struct {
	Number string
	Name   string
	Req    any
}

// fakeWork records the updates it is sent and answers State with a fixed state.
type fakeWork struct {
	mu       sync.Mutex
	calls    []updateCall
	err      error // returned by Update
	state    workflows.CaseState
	stateErr error // returned by State
	asked    int   // State calls
}

func (f *fakeWork) Update(ctx context.Context, number, name string, req any) (workflows.Done, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, updateCall{number, name, req})
	if f.err != nil {
		return workflows.Done{}, f.err
	}
	return workflows.Done{At: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)}, nil
}

func (f *fakeWork) State(ctx context.Context, number string) (workflows.CaseState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	if f.stateErr != nil {
		return workflows.CaseState{}, f.stateErr
	}
	s := f.state
	s.Number = number
	return s, nil
}

func (f *fakeWork) called() []updateCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]updateCall(nil), f.calls...)
}

// fakeAttachments keeps files in memory; ids count from 100 so that they never
// match a case id by chance.
type fakeAttachments struct {
	mu    sync.Mutex
	files map[int64]*dimos.Attachment
	next  int64
}

func newFakeAttachments() *fakeAttachments {
	return &fakeAttachments{files: map[int64]*dimos.Attachment{}, next: 100}
}

func (f *fakeAttachments) SaveAttachment(ctx context.Context, a *dimos.Attachment) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	a.ID = f.next
	cp := *a
	f.files[a.ID] = &cp
	return nil
}

func (f *fakeAttachments) Attachment(ctx context.Context, id int64) (*dimos.Attachment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.files[id]
	if !ok {
		return nil, dimos.Errorf(dimos.ENOTFOUND, "error.attachment.not_found")
	}
	cp := *a
	return &cp, nil
}

func (f *fakeAttachments) CaseAttachments(ctx context.Context, caseID int64) ([]dimos.Attachment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []dimos.Attachment
	for _, a := range f.files {
		if a.CaseID == caseID {
			cp := *a
			cp.Data = nil
			out = append(out, cp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *fakeAttachments) count() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.files) }

// verifyCall is one DeskCitizens.VerifyCitizen the console made.
type verifyCall struct {
	CitizenID, EmployeeID int64
	Doc, Number           string
	At                    time.Time
}

// fakeCitizens keeps citizens in memory for the desk pages.
type fakeCitizens struct {
	mu       sync.Mutex
	citizens map[int64]*dimos.Citizen
	verified []verifyCall
	queries  []string
}

func (f *fakeCitizens) FindCitizens(ctx context.Context, query string, limit int) ([]*dimos.Citizen, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, query)
	var out []*dimos.Citizen
	for _, c := range f.citizens {
		if c.ErasedAt.IsZero() && (c.Username == strings.ToLower(query) || strings.EqualFold(c.Email, query) ||
			c.MobilePhone == query || c.AFM == query || strings.HasPrefix(strings.ToLower(c.LastName), strings.ToLower(query))) {
			cp := *c
			out = append(out, &cp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (f *fakeCitizens) PendingVerifications(ctx context.Context, limit int) ([]*dimos.Citizen, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*dimos.Citizen
	for _, c := range f.citizens {
		if c.ErasedAt.IsZero() && !c.Verified() && c.Activated() && !c.VerificationRequestedAt.IsZero() {
			cp := *c
			out = append(out, &cp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VerificationRequestedAt.Before(out[j].VerificationRequestedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (f *fakeCitizens) CitizenByID(ctx context.Context, id int64) (*dimos.Citizen, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.citizens[id]
	if !ok {
		return nil, dimos.Errorf(dimos.ENOTFOUND, "account.error.not_found")
	}
	cp := *c
	return &cp, nil
}

func (f *fakeCitizens) VerifyCitizen(ctx context.Context, citizenID, employeeID int64, doc, number string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verified = append(f.verified, verifyCall{citizenID, employeeID, doc, number, at})
	c, ok := f.citizens[citizenID]
	if !ok || !c.ErasedAt.IsZero() || !c.Activated() {
		return dimos.Errorf(dimos.ENOTFOUND, "account.error.not_found")
	}
	c.VerifiedAt, c.VerifiedBy, c.VerificationDoc, c.VerificationDocNumber = at, employeeID, doc, number
	return nil
}

func (f *fakeCitizens) calls() []verifyCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]verifyCall(nil), f.verified...)
}

// pgText refuses, as PostgreSQL does (SQLSTATE 22021, an internal error to its
// callers), text that is not UTF-8 or holds a NUL, so that the fakes do not let pass
// what the database would turn into a 500.
func pgText(s string) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return errors.New(`ERROR: invalid byte sequence for encoding "UTF8" (SQLSTATE 22021)`)
	}
	return nil
}
