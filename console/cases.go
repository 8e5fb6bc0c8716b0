package console

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
	"dimos/workflows"
)

// bilingual is a name the directory keeps in both languages.
type bilingual struct{ el, en string }

func (b bilingual) name(lang string) string {
	if lang == i18n.English && b.en != "" {
		return b.en
	}
	return b.el
}

func (con *Console) categoryNames(ctx context.Context) (map[string]bilingual, error) {
	cats, err := con.cfg.Directory.Categories(ctx)
	if err != nil {
		return nil, fmt.Errorf("categories: %w", err)
	}
	m := make(map[string]bilingual, len(cats))
	for _, cat := range cats {
		m[cat.Code] = bilingual{cat.NameEL, cat.NameEN}
	}
	return m, nil
}

type caseView struct {
	pageView
	Case           *dimos.Case
	KindKey        string
	ChannelKey     string
	StageKey       string
	StatusKey      string
	CitizenLangKey string
	Category       string
	Service        string // "" while the case is not routed
	Assignee       string // "" while nobody holds it
	WorkflowID     string
	WorkflowURL    string // "" when no Temporal UI is configured
	Events         []eventRow
	Timings        []timingRow
	Attachments    []attachmentRow

	// State is where the workflow says the case stands, nil when it could not be
	// asked; StateKey then explains why, and the page goes on without the clocks.
	State    *workflows.CaseState
	StateKey string
	Clocks   []clockRow

	// Can says which lifecycle forms the viewer may use now; Employees and Services
	// are the choices of the assign and transfer forms.
	Can       can
	Employees []option
	Services  []option
	// DoneKey is the notice of a decision just taken (?done=…).
	DoneKey string
	// Failed is the form whose decision was refused, with what was typed and why;
	// forms holds every other form with its defaults.
	Failed formState
	forms  map[string]formState
	// Templates are the response templates of the case's category (caseTemplates).
	Templates []dimos.ResponseTemplate

	// Possible duplicates (console/duplicates.go): shown for an open case when the
	// console has a finder; CaseMap is the case's point, nil when it has none.
	DuplicatesShown  bool
	DuplicateRadiusM int
	Duplicates       []duplicateRow
	CaseMap          *caseMapView
}

// Form returns the named form as the page should show it: as it was posted when its
// decision was refused, otherwise with its defaults.
func (v caseView) Form(name string) formState {
	if v.Failed.Name == name {
		return v.Failed
	}
	if f, ok := v.forms[name]; ok {
		return f
	}
	return formState{Name: name}
}

// StrayErrorKey is the refusal of a form the page no longer shows (the decision
// changed what the viewer may do, or the refusal was about access), so that the
// reason still appears.
func (v caseView) StrayErrorKey() string {
	if v.Failed.Name == "" || v.Can.shows(v.Failed.Name) {
		return ""
	}
	return v.Failed.ErrorKey
}

// can lists the lifecycle forms the viewer may use on the case in its stage.
type can struct {
	// The holder's decisions.
	Assign           bool
	Transfer         bool
	RequestInfo      bool
	DueDate          bool
	RegisterProtocol bool
	Complete         bool
	Reject           bool
	// Every member's.
	Comment       bool
	CommentPublic bool // a comment may be shown to the citizen (not on a closed case)
	Attach        bool
	// The holder's, last: merge the case, a duplicate, into its original.
	Merge bool
}

// Any reports whether any form shows.
func (k can) Any() bool {
	return k.Assign || k.Transfer || k.RequestInfo || k.DueDate || k.RegisterProtocol || k.Complete ||
		k.Reject || k.Comment || k.Attach || k.Merge
}

// More reports whether any of the rarer decisions, folded away on the page, shows.
func (k can) More() bool {
	return k.Assign || k.Transfer || k.RequestInfo || k.DueDate || k.RegisterProtocol || k.Reject || k.Merge
}

func (k can) shows(form string) bool {
	switch form {
	case "assign":
		return k.Assign
	case "transfer":
		return k.Transfer
	case "comment":
		return k.Comment
	case "request-info":
		return k.RequestInfo
	case "due-date":
		return k.DueDate
	case "register-protocol":
		return k.RegisterProtocol
	case "complete":
		return k.Complete
	case "reject":
		return k.Reject
	case "attachments":
		return k.Attach
	case "merge":
		return k.Merge
	}
	return false
}

// option is one choice of a select.
type option struct {
	Value string
	Label string
}

type eventRow struct {
	At        time.Time
	LabelKey  string // catalogue key, or the raw type when the catalogue lacks it
	Actor     string // "" for the system or the citizen
	Service   string
	Employee  string // the employee the event concerns, e.g. the new assignee
	Body      string
	Public    bool
	ByCitizen bool
}

// Class marks the row of an event the citizen wrote, and of one the citizen does not
// see.
func (r eventRow) Class() string {
	var c []string
	if r.ByCitizen {
		c = append(c, "event-citizen")
	}
	if !r.Public {
		c = append(c, "event-internal")
	}
	return strings.Join(c, " ")
}

type timingRow struct {
	StageKey  string
	Service   string
	Employee  string
	EnteredAt time.Time
	LeftAt    time.Time // zero while the case is still in the stage
	Duration  time.Duration
}

type clockRow struct {
	NameKey   string // clock.<name>, or the raw name when the catalogue lacks it
	Days      float64
	Deadline  time.Time
	MetAt     time.Time
	Warned    bool
	Breached  bool
	Escalated bool
}

// DaysKey is the catalogue key that reads the target: one working day, or many.
func (r clockRow) DaysKey() string {
	if r.Days == 1 {
		return "console.clocks.day"
	}
	return "console.clocks.days"
}

// Met reports whether the target was reached.
func (r clockRow) Met() bool { return !r.MetAt.IsZero() }

// Paused reports whether the clock stands still with no deadline (the office waits
// for the citizen, or the case is finished).
func (r clockRow) Paused() bool { return r.MetAt.IsZero() && r.Deadline.IsZero() }

type attachmentRow struct {
	ID          int64
	Name        string
	ContentType string
	Size        int64
	By          string // the employee who uploaded it; "" for the citizen
	ByCitizen   bool
	Public      bool
	At          time.Time
	URL         string
}

// stateTimeout bounds the question to the workflow, so that a Temporal that does not
// answer slows the page down by this much at most.
const stateTimeout = 3 * time.Second

// casePage shows every field of a case, its clocks, attachments, timeline and stage
// timings, and the forms of the decisions the viewer may take.
func (con *Console) casePage(c *fiber.Ctx) error {
	st := staffOf(c)
	cs, err := con.caseFor(c, st, actViewCase)
	if err != nil {
		return con.fail(c, err)
	}
	v, err := con.caseView(c, st, cs)
	if err != nil {
		return con.fail(c, err)
	}
	if d, ok := con.decision(c.Query("done")); ok {
		v.DoneKey = d.notice
	}
	if err := con.caseTemplates(c, &v); err != nil {
		return con.fail(c, err)
	}
	return con.render(c, fiber.StatusOK, "case", v)
}

// caseView gathers what the case page shows. Names of services and employees that no
// longer exist show as their ids rather than failing the page, and a workflow that
// does not answer costs only the clocks.
func (con *Console) caseView(c *fiber.Ctx, st *signedIn, cs *dimos.Case) (caseView, error) {
	ctx := c.UserContext()
	v := caseView{
		pageView:       con.page(c, casePath(cs.Number)),
		Case:           cs,
		KindKey:        "kind." + string(cs.Kind),
		ChannelKey:     "channel." + string(cs.Channel),
		StageKey:       "stage." + string(cs.Stage),
		StatusKey:      "status." + string(cs.Status),
		CitizenLangKey: "console.lang.name." + i18n.Lang(cs.Lang),
		WorkflowID:     workflows.WorkflowID(cs.Number),
	}
	if con.cfg.TemporalUIURL != "" {
		v.WorkflowURL = con.cfg.TemporalUIURL + "/namespaces/" + url.PathEscape(con.cfg.Namespace) +
			"/workflows/" + url.PathEscape(v.WorkflowID)
	}
	names := newNamer(con.cfg.Directory, v.Lang)
	var err error
	if v.Category, err = names.category(ctx, cs.CategoryCode); err != nil {
		return v, err
	}
	if v.Service, err = names.service(ctx, cs.ServiceID); err != nil {
		return v, err
	}
	if v.Assignee, err = names.employee(ctx, cs.AssigneeID); err != nil {
		return v, err
	}

	v.State, v.StateKey = con.state(ctx, cs)
	if v.State != nil {
		for _, k := range v.State.Clocks {
			if k.Days <= 0 {
				continue // no target on this clock
			}
			row := clockRow{NameKey: k.Name, Days: k.Days, Deadline: k.Deadline, MetAt: k.MetAt,
				Warned: k.Warned, Breached: k.Breached, Escalated: k.Escalated}
			if key := "clock." + k.Name; i18n.Has(key) {
				row.NameKey = key
			}
			v.Clocks = append(v.Clocks, row)
		}
	}

	if con.cfg.Attachments != nil {
		atts, err := con.cfg.Attachments.CaseAttachments(ctx, cs.ID)
		if err != nil {
			return v, fmt.Errorf("case attachments: %w", err)
		}
		for _, a := range atts {
			row := attachmentRow{ID: a.ID, Name: a.Name, ContentType: a.ContentType, Size: a.Size,
				ByCitizen: a.ByCitizen, Public: a.Public, At: a.CreatedAt,
				URL: casePath(cs.Number) + "/attachments/" + strconv.FormatInt(a.ID, 10)}
			if !a.ByCitizen {
				if row.By, err = names.employee(ctx, a.UploadedBy); err != nil {
					return v, err
				}
			}
			v.Attachments = append(v.Attachments, row)
		}
	}

	events, err := con.cfg.Cases.CaseEvents(ctx, cs.ID)
	if err != nil {
		return v, fmt.Errorf("case events: %w", err)
	}
	for _, e := range events {
		row := eventRow{At: e.At, LabelKey: e.Type, Actor: e.ActorName, Service: e.Service, Body: e.Body,
			Public: e.Public, ByCitizen: e.ByCitizen}
		if key := "event." + e.Type; i18n.Has(key) {
			row.LabelKey = key
		}
		if row.Actor == "" && e.ActorID != 0 {
			if row.Actor, err = names.employee(ctx, e.ActorID); err != nil {
				return v, err
			}
		}
		if e.EmployeeID != 0 && e.EmployeeID != e.ActorID {
			if row.Employee, err = names.employee(ctx, e.EmployeeID); err != nil {
				return v, err
			}
		}
		v.Events = append(v.Events, row)
	}

	timings, err := con.cfg.Cases.StageTimings(ctx, cs.ID)
	if err != nil {
		return v, fmt.Errorf("stage timings: %w", err)
	}
	now := con.now()
	for _, t := range timings {
		row := timingRow{StageKey: "stage." + string(t.Stage), EnteredAt: t.EnteredAt, LeftAt: t.LeftAt}
		end := t.LeftAt
		if end.IsZero() {
			end = now
		}
		row.Duration = end.Sub(t.EnteredAt)
		if row.Service, err = names.service(ctx, t.ServiceID); err != nil {
			return v, err
		}
		if row.Employee, err = names.employee(ctx, t.EmployeeID); err != nil {
			return v, err
		}
		v.Timings = append(v.Timings, row)
	}

	v.Can = con.can(st.me, cs, v.State)
	if err := con.choices(ctx, &v); err != nil {
		return v, err
	}
	v.forms = defaultForms(cs)
	if err := con.duplicateSection(ctx, &v); err != nil {
		return v, err
	}
	return v, nil
}

// state asks the workflow where the case stands. Its failure is not the page's: a
// workflow that has ended, or a Temporal that is down, leaves the page without the
// clocks and with a short notice (the key returned).
func (con *Console) state(ctx context.Context, cs *dimos.Case) (*workflows.CaseState, string) {
	if cs.WorkflowStartedAt.IsZero() {
		return nil, "console.clocks.not_started"
	}
	ctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	s, err := con.cfg.Work.State(ctx, cs.Number)
	switch {
	case err == nil:
		return &s, ""
	case dimos.ErrorCode(err) == dimos.ENOTFOUND:
		return nil, "console.clocks.ended"
	}
	con.log.Warn("console: case state", "case", cs.Number, "err", err)
	return nil, "console.clocks.unavailable"
}

// can decides which forms the case page shows: the access policy (allowed) for who,
// and the stage for when, as the workflow's validators do.
func (con *Console) can(me *dimos.Employee, cs *dimos.Case, state *workflows.CaseState) can {
	routed := cs.Stage != dimos.StageReceived && cs.Stage != dimos.StageAwaitingProtocol
	open := routed && !cs.Stage.Terminal()
	holder := func(act action) bool { return open && allowed(me, act, cs) }
	registered := cs.Protocol.Number != "" ||
		state != nil && (state.Protocol.Number != "" || state.ProtocolFailed)
	k := can{
		Assign:           holder(actAssign) && con.cfg.Staff != nil,
		Transfer:         holder(actTransfer) && con.cfg.Services != nil,
		RequestInfo:      holder(actRequestInfo) && cs.Stage != dimos.StageWaitingCitizen,
		DueDate:          holder(actSetDueDate),
		RegisterProtocol: holder(actRegisterProtocol) && !registered,
		Complete:         holder(actCompleteCase),
		Reject:           holder(actReject),
		Comment:          routed && allowed(me, actComment, cs),
		Attach:           !cs.Stage.Terminal() && allowed(me, actAttach, cs) && con.cfg.Attachments != nil,
		Merge:            holder(actMerge),
	}
	k.CommentPublic = k.Comment && !cs.Stage.Terminal()
	return k
}

// choices fills the selects of the assign and transfer forms, when they show: the
// employees of the holding service who may take the case (not the desk, not the
// current assignee) and the other services.
func (con *Console) choices(ctx context.Context, v *caseView) error {
	cs := v.Case
	if v.Can.Assign {
		emps, err := con.cfg.Staff.ServiceEmployees(ctx, cs.ServiceID)
		if err != nil {
			return fmt.Errorf("service employees: %w", err)
		}
		for _, e := range emps {
			if !e.Active || e.Role == dimos.RoleDesk || e.ID == cs.AssigneeID {
				continue
			}
			v.Employees = append(v.Employees, option{Value: strconv.FormatInt(e.ID, 10),
				Label: i18n.T(v.Lang, "console.assign.option", orDefault(e.FullName, e.Username), i18n.T(v.Lang, "role."+string(e.Role)))})
		}
	}
	if v.Can.Transfer {
		svcs, err := con.cfg.Services.Services(ctx)
		if err != nil {
			return fmt.Errorf("services: %w", err)
		}
		for _, s := range svcs {
			if s.ID == cs.ServiceID {
				continue
			}
			v.Services = append(v.Services, option{Value: strconv.FormatInt(s.ID, 10),
				Label: orDefault(bilingual{s.NameEL, s.NameEN}.name(v.Lang), s.Code)})
		}
	}
	return nil
}

// namer looks up names in the directory once per request.
type namer struct {
	dir       dimos.Directory
	lang      string
	services  map[int64]string
	employees map[int64]string
}

func newNamer(dir dimos.Directory, lang string) *namer {
	return &namer{dir: dir, lang: lang, services: map[int64]string{}, employees: map[int64]string{}}
}

func (n *namer) category(ctx context.Context, code string) (string, error) {
	cat, err := n.dir.CategoryByCode(ctx, code)
	switch {
	case dimos.ErrorCode(err) == dimos.ENOTFOUND:
		return code, nil
	case err != nil:
		return "", fmt.Errorf("category %q: %w", code, err)
	}
	return orDefault(bilingual{cat.NameEL, cat.NameEN}.name(n.lang), code), nil
}

func (n *namer) service(ctx context.Context, id int64) (string, error) {
	if id == 0 {
		return "", nil
	}
	if s, ok := n.services[id]; ok {
		return s, nil
	}
	name := "#" + strconv.FormatInt(id, 10)
	svc, err := n.dir.ServiceByID(ctx, id)
	switch {
	case err == nil:
		name = orDefault(bilingual{svc.NameEL, svc.NameEN}.name(n.lang), name)
	case dimos.ErrorCode(err) != dimos.ENOTFOUND:
		return "", fmt.Errorf("service %d: %w", id, err)
	}
	n.services[id] = name
	return name, nil
}

func (n *namer) employee(ctx context.Context, id int64) (string, error) {
	if id == 0 {
		return "", nil
	}
	if s, ok := n.employees[id]; ok {
		return s, nil
	}
	name := "#" + strconv.FormatInt(id, 10)
	emp, err := n.dir.EmployeeByID(ctx, id)
	switch {
	case err == nil:
		name = orDefault(emp.FullName, emp.Username)
	case dimos.ErrorCode(err) != dimos.ENOTFOUND:
		return "", fmt.Errorf("employee %d: %w", id, err)
	}
	n.employees[id] = name
	return name, nil
}
