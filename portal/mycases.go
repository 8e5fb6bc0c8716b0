package portal

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
	"dimos/workflows"
)

// signedIn returns the signed-in citizen, or else answers the request itself and
// returns nil with the answer's error: the sign-in page, with the page they asked for
// as next (a path of this site), or the failure page when the session cannot be read.
func (p *Portal) signedIn(c *fiber.Ctx) (*dimos.Citizen, error) {
	cit, err := p.citizen(c)
	if err != nil {
		return nil, p.fail(c, err)
	}
	if cit != nil {
		return cit, nil
	}
	next := localNext(string(c.Request().URI().RequestURI()))
	if c.Method() != fiber.MethodGet { // a form posted after the session ended: back to its page
		next = localNext(c.Path())
		if i := strings.LastIndexByte(next, '/'); strings.HasPrefix(next, "/my/cases/") && i > len("/my/cases/") {
			next = next[:i] // the case page of the form
		}
	}
	to := "/signin"
	if next != "" {
		to += "?next=" + url.QueryEscape(next)
	}
	return nil, c.Redirect(to, fiber.StatusSeeOther)
}

// categoryNames maps category codes to their names in the reader's language.
func (p *Portal) categoryNames(c *fiber.Ctx, lang string) (map[string]string, error) {
	cats, err := p.cfg.Directory.Categories(c.UserContext())
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(cats))
	for _, cat := range cats {
		names[cat.Code] = cat.NameEL
		if lang == i18n.English && cat.NameEN != "" {
			names[cat.Code] = cat.NameEN
		}
	}
	return names, nil
}

// caseLine is one of the citizen's cases as the list and the case page show it.
type caseLine struct {
	Number         string
	KindKey        string
	Category       string
	Subject        string
	Status         dimos.Status
	StatusKey      string
	ProtocolNumber string
	ProtocolDate   time.Time
	SubmittedAt    time.Time
	CompletedAt    time.Time
}

type myCasesView struct {
	pageView
	Cases []caseLine
}

// myCases lists the signed-in citizen's cases, newest first, with their status and
// protocol data (M15).
func (p *Portal) myCases(c *fiber.Ctx) error {
	cit, err := p.signedIn(c)
	if cit == nil {
		return err
	}
	v := myCasesView{pageView: p.page(c, "/my/cases", "mycases")}
	names, err := p.categoryNames(c, v.Lang)
	if err != nil {
		return p.fail(c, err)
	}
	list, err := p.cfg.Citizens.CitizenCases(c.UserContext(), cit.ID)
	if err != nil {
		return p.fail(c, err)
	}
	for _, s := range list {
		v.Cases = append(v.Cases, caseLine{
			Number: s.Number, KindKey: "kind." + string(s.Kind), Category: orCode(names, s.CategoryCode),
			Subject: s.Subject, Status: s.Status, StatusKey: "status." + string(s.Status),
			ProtocolNumber: s.Protocol.Number, ProtocolDate: s.Protocol.Date,
			SubmittedAt: s.SubmittedAt, CompletedAt: s.CompletedAt,
		})
	}
	return p.render(c, fiber.StatusOK, "mycases", v)
}

func orCode(names map[string]string, code string) string {
	if n := names[code]; n != "" {
		return n
	}
	return code
}

type eventLine struct {
	At        time.Time
	Key       string
	Body      string
	ByCitizen bool
}

type myCaseView struct {
	pageView
	caseLine
	Text      string
	Answer    string
	DueDate   time.Time
	Events    []eventLine
	Open      bool // files may still be attached
	Completed bool // answered: the citizen may rate the answer and reopen the case
	Rating    int  // the citizen's rating of the answer, 0 if none
	NoticeKey string
	// Input as typed, kept when a form is refused, by field: comment, attach_text,
	// stars, remark, reason.
	Input map[string]string
	// Errors are the reasons a field was refused, shown beside it, by the same names
	// and "file".
	Errors map[string][]string
	// Messages are refusals of a whole form, e.g. "try again later", by form:
	// comment, attach, rate, reopen.
	Messages map[string]string
}

// Stars are the choices of the rating form.
func (myCaseView) Stars() []int { return []int{1, 2, 3, 4, 5} }

// Checked tells whether the star choice s was the one sent.
func (v myCaseView) Checked(s int) bool { return v.Input["stars"] == strconv.Itoa(s) }

// Described is the aria-describedby of the field id: its hint when it has one, and
// its errors when it was refused.
func (v myCaseView) Described(id string, hint bool) string {
	var ids []string
	if hint {
		ids = append(ids, "f-"+id+"-hint")
	}
	if len(v.Errors[id]) > 0 {
		ids = append(ids, "f-"+id+"-error")
	}
	return strings.Join(ids, " ")
}

// ownCase loads the case of the path when it is the citizen's own; anybody else's
// case, like a case that does not exist, is ENOTFOUND, so that numbers betray nothing.
func (p *Portal) ownCase(c *fiber.Ctx, cit *dimos.Citizen) (*dimos.Case, error) {
	number, ok := dimos.ParseCaseNumber(c.Params("number"))
	if !ok {
		return nil, dimos.Errorf(dimos.ENOTFOUND, "portal.mycase.not_found")
	}
	cs, err := p.cfg.Cases.CaseByNumber(c.UserContext(), number)
	if dimos.ErrorCode(err) == dimos.ENOTFOUND || (err == nil && cs.CitizenID != cit.ID) {
		return nil, dimos.Errorf(dimos.ENOTFOUND, "portal.mycase.not_found")
	}
	return cs, err
}

// myCase shows one of the citizen's cases: subject, text, answer, protocol data, due
// date and the public timeline, with the form for a comment (M12, M13, M15).
func (p *Portal) myCase(c *fiber.Ctx) error {
	cit, err := p.signedIn(c)
	if cit == nil {
		return err
	}
	cs, err := p.ownCase(c, cit)
	if err != nil {
		return p.fail(c, err)
	}
	return p.renderCase(c, fiber.StatusOK, cs, func(v *myCaseView) {
		for _, done := range []string{"commented", "attached", "rated", "reopened"} {
			if c.Query(done) != "" {
				v.NoticeKey = "portal.mycase." + done
			}
		}
	})
}

func (p *Portal) renderCase(c *fiber.Ctx, status int, cs *dimos.Case, with func(*myCaseView)) error {
	v := myCaseView{pageView: p.page(c, "/my/cases/"+cs.Number, "mycases"), Text: cs.Text, Answer: cs.Answer, DueDate: cs.DueDate,
		Open: cs.Status != dimos.StatusCompleted, Completed: cs.Status == dimos.StatusCompleted && cs.Stage == dimos.StageCompleted,
		Rating: cs.Rating}
	names, err := p.categoryNames(c, v.Lang)
	if err != nil {
		return p.fail(c, err)
	}
	v.caseLine = caseLine{
		Number: cs.Number, KindKey: "kind." + string(cs.Kind), Category: orCode(names, cs.CategoryCode),
		Subject: cs.Subject, Status: cs.Status, StatusKey: "status." + string(cs.Status),
		ProtocolNumber: cs.Protocol.Number, ProtocolDate: cs.Protocol.Date,
		SubmittedAt: cs.SubmittedAt, CompletedAt: cs.CompletedAt,
	}
	events, err := p.cfg.Cases.CaseEvents(c.UserContext(), cs.ID)
	if err != nil {
		return p.fail(c, err)
	}
	for _, e := range events {
		if e.Public {
			v.Events = append(v.Events, eventLine{At: e.At, Key: "event." + e.Type, Body: e.Body, ByCitizen: e.ByCitizen})
		}
	}
	with(&v)
	return p.render(c, status, "mycase", v)
}

// myCaseComment sends the citizen's comment to the case workflow (M12). A refusal is
// shown beside the field with the text kept; while Temporal cannot be reached the
// citizen is asked to try again, and nothing was accepted.
func (p *Portal) myCaseComment(c *fiber.Ctx) error {
	cs, err := p.postedCase(c)
	if cs == nil {
		return err
	}
	text := strings.Clone(strings.TrimSpace(c.FormValue("text")))
	f := caseForm{name: "comment", fields: map[string]string{"text": "comment"}, main: "comment",
		input: map[string]string{"comment": text}}
	if text == "" {
		return p.refuseCase(c, cs, f, fiber.StatusBadRequest, map[string][]string{"comment": {"field.required"}}, "")
	}
	return p.sendCase(c, cs, f, workflows.UpdateCitizenComment, workflows.CitizenCommentRequest{Text: text}, "commented")
}

// postedCase checks the form's token, the session and that the case is the citizen's
// own; when any fails it answers the request itself and returns nil.
func (p *Portal) postedCase(c *fiber.Ctx) (*dimos.Case, error) {
	if !csrfOK(c) {
		return nil, p.errorPage(c, fiber.StatusForbidden, "error.csrf")
	}
	cit, err := p.signedIn(c)
	if cit == nil {
		return nil, err
	}
	cs, err := p.ownCase(c, cit)
	if err != nil {
		return nil, p.fail(c, err)
	}
	return cs, nil
}

// caseForm describes one form of the case page for its refusals.
type caseForm struct {
	name   string            // comment, attach, rate, reopen: the key of its message and anchor
	fields map[string]string // an error's field name → the page's field
	main   string            // the page's field beside which a refusal of the whole form is shown
	input  map[string]string // as typed, kept
}

// refuseCase shows the case page again with the form's input kept, its field errors
// and its message.
func (p *Portal) refuseCase(c *fiber.Ctx, cs *dimos.Case, f caseForm, status int, errs map[string][]string, msgKey string) error {
	return p.renderCase(c, status, cs, func(v *myCaseView) {
		v.Input, v.Errors = f.input, errs
		if msgKey != "" {
			v.Messages = map[string]string{f.name: msgKey}
		}
	})
}

// refuseErr shows a refusal of the case or the workflow (a *dimos.Error the citizen
// can act on) beside the fields; anything else means the workflow could not be
// reached: the citizen is asked to try again, and nothing was accepted.
func (p *Portal) refuseErr(c *fiber.Ctx, cs *dimos.Case, f caseForm, err error) error {
	var de *dimos.Error
	if !errors.As(err, &de) || de.Code == dimos.EINTERNAL || de.Code == dimos.EUNAVAILABLE {
		p.cfg.Log.Warn("portal: case update not delivered", "case", cs.Number, "form", f.name, "err", err)
		return p.refuseCase(c, cs, f, fiber.StatusServiceUnavailable, nil, tryAgain[f.name])
	}
	errs := map[string][]string{}
	for _, fe := range de.Fields {
		field, ok := f.fields[fe.Field]
		if !ok {
			field = f.main
		}
		errs[field] = append(errs[field], fe.Key)
	}
	if len(de.Fields) == 0 {
		errs[f.main] = []string{de.Key}
	}
	return p.refuseCase(c, cs, f, dimos.HTTPStatus(de.Code), errs, "")
}

var tryAgain = map[string]string{
	"comment": "portal.mycase.try_again",
	"attach":  "portal.mycase.attach_try_again",
	"rate":    "portal.mycase.rate_try_again",
	"reopen":  "portal.mycase.reopen_try_again",
}

// sendCase sends an update to the case workflow and, once accepted, goes back to the
// case page with the notice done; a refusal is shown beside the form.
func (p *Portal) sendCase(c *fiber.Ctx, cs *dimos.Case, f caseForm, name string, req any, done string) error {
	if p.cfg.Work == nil {
		return p.refuseCase(c, cs, f, fiber.StatusServiceUnavailable, nil, tryAgain[f.name])
	}
	if _, err := p.cfg.Work.Update(c.UserContext(), cs.Number, name, req); err != nil {
		return p.refuseErr(c, cs, f, err)
	}
	return c.Redirect("/my/cases/"+cs.Number+"?"+done+"=1#h-"+f.name, fiber.StatusSeeOther)
}
