package console

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
	"dimos/workflows"
)

// inboxLimit is how many cases the inbox shows at most.
const inboxLimit = 100

type inboxView struct {
	pageView
	Rows []inboxRow
}

type inboxRow struct {
	Number      string
	KindKey     string
	Category    string
	Subject     string
	Status      dimos.Status
	StatusKey   string
	SubmittedAt time.Time
}

// inbox lists the cases assigned to the signed-in employee, newest first.
func (con *Console) inbox(c *fiber.Ctx) error {
	st := staffOf(c)
	ctx := c.UserContext()
	cases, err := con.cfg.Cases.Inbox(ctx, dimos.InboxFilter{AssigneeID: st.me.ID, Limit: inboxLimit})
	if err != nil {
		return con.fail(c, err)
	}
	sort.SliceStable(cases, func(i, j int) bool { return cases[i].SubmittedAt.After(cases[j].SubmittedAt) })
	names, err := con.categoryNames(ctx)
	if err != nil {
		return con.fail(c, err)
	}
	v := inboxView{pageView: con.page(c, pathInbox)}
	for _, cs := range cases {
		v.Rows = append(v.Rows, inboxRow{
			Number:      cs.Number,
			KindKey:     "kind." + string(cs.Kind),
			Category:    orDefault(names[cs.CategoryCode].name(v.Lang), cs.CategoryCode),
			Subject:     cs.Subject,
			Status:      cs.Status,
			StatusKey:   "status." + string(cs.Status),
			SubmittedAt: cs.SubmittedAt,
		})
	}
	return con.render(c, fiber.StatusOK, "inbox", v)
}

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

	// CanComplete shows the completion form: the viewer holds the open case.
	CanComplete bool
	Answer      string             // the answer typed before a refused completion
	ErrorKey    string             // why the completion was refused
	FieldErrors []dimos.FieldError // which fields were wrong, and why
}

// AnswerInvalid reports whether the refusal concerned the answer field.
func (v caseView) AnswerInvalid() bool {
	for _, f := range v.FieldErrors {
		if f.Field == "answer" {
			return true
		}
	}
	return false
}

type eventRow struct {
	At       time.Time
	LabelKey string // catalogue key, or the raw type when the catalogue lacks it
	Actor    string // "" for the system or the citizen
	Service  string
	Body     string
	Public   bool
}

type timingRow struct {
	StageKey  string
	Service   string
	Employee  string
	EnteredAt time.Time
	LeftAt    time.Time // zero while the case is still in the stage
	Duration  time.Duration
}

// casePage shows every field of a case, its timeline and stage timings.
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
	return con.render(c, fiber.StatusOK, "case", v)
}

// complete sends the assignee's answer to the case workflow. A decision the workflow
// refuses re-renders the case with the reason and the typed answer, so nothing the
// clerk wrote is lost.
func (con *Console) complete(c *fiber.Ctx) error {
	st := staffOf(c)
	cs, err := con.caseFor(c, st, actCompleteCase)
	if err != nil {
		return con.fail(c, err)
	}
	answer := strings.Clone(c.FormValue("answer"))
	by := dimos.Actor{EmployeeID: st.me.ID, Name: st.me.FullName, Role: st.me.Role, ServiceID: st.me.ServiceID}
	err = con.cfg.Work.Complete(c.UserContext(), cs.Number, by, answer)
	if err == nil {
		con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditComplete, Target: cs.Number})
		return c.Redirect(casePath(cs.Number), fiber.StatusSeeOther)
	}

	status := fiber.StatusInternalServerError
	var refused *dimos.Error
	if errors.As(err, &refused) && refused.Code != dimos.EINTERNAL {
		status = dimos.HTTPStatus(refused.Code)
	} else {
		refused = nil
		con.log.Error("console: complete case", "case", cs.Number, "employee", st.me.ID, "err", err)
	}
	v, verr := con.caseView(c, st, cs)
	if verr != nil {
		return con.fail(c, verr)
	}
	v.Answer, v.ErrorKey = answer, errorKey(err)
	if refused != nil {
		v.FieldErrors = refused.Fields
	}
	return con.render(c, status, "case", v)
}

// caseView gathers what the case page shows. Names of services and employees that no
// longer exist show as their ids rather than failing the page.
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
		CanComplete:    !cs.Stage.Terminal() && allowed(st.me, actCompleteCase, cs),
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

	events, err := con.cfg.Cases.CaseEvents(ctx, cs.ID)
	if err != nil {
		return v, fmt.Errorf("case events: %w", err)
	}
	for _, e := range events {
		row := eventRow{At: e.At, LabelKey: e.Type, Actor: e.ActorName, Service: e.Service, Body: e.Body, Public: e.Public}
		if key := "event." + e.Type; i18n.Has(key) {
			row.LabelKey = key
		}
		if row.Actor == "" && e.ActorID != 0 {
			if row.Actor, err = names.employee(ctx, e.ActorID); err != nil {
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
	return v, nil
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
