package portal

import (
	"errors"
	"net/url"
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
		next = localNext(strings.TrimSuffix(c.Path(), "/comment"))
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
	Text          string
	Answer        string
	DueDate       time.Time
	Events        []eventLine
	Commented     bool
	Comment       string   // as typed, kept when refused
	CommentErrors []string // beside the field
	MessageKey    string   // a refusal of the whole form, e.g. "try again later"
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
	return p.renderCase(c, fiber.StatusOK, cs, func(v *myCaseView) { v.Commented = c.Query("commented") != "" })
}

func (p *Portal) renderCase(c *fiber.Ctx, status int, cs *dimos.Case, with func(*myCaseView)) error {
	v := myCaseView{pageView: p.page(c, "/my/cases/"+cs.Number, "mycases"), Text: cs.Text, Answer: cs.Answer, DueDate: cs.DueDate}
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
	if !csrfOK(c) {
		return p.errorPage(c, fiber.StatusForbidden, "error.csrf")
	}
	cit, err := p.signedIn(c)
	if cit == nil {
		return err
	}
	cs, err := p.ownCase(c, cit)
	if err != nil {
		return p.fail(c, err)
	}
	text := strings.Clone(strings.TrimSpace(c.FormValue("text")))
	refuse := func(status int, fieldKeys []string, key string) error {
		return p.renderCase(c, status, cs, func(v *myCaseView) {
			v.Comment, v.CommentErrors, v.MessageKey = text, fieldKeys, key
		})
	}
	if text == "" {
		return refuse(fiber.StatusBadRequest, []string{"field.required"}, "")
	}
	if p.cfg.Work == nil {
		return refuse(fiber.StatusServiceUnavailable, nil, "portal.mycase.try_again")
	}
	_, err = p.cfg.Work.Update(c.UserContext(), cs.Number, workflows.UpdateCitizenComment, workflows.CitizenCommentRequest{Text: text})
	var de *dimos.Error
	switch {
	case err == nil:
		return c.Redirect("/my/cases/"+cs.Number+"?commented=1#h-comment", fiber.StatusSeeOther)
	case errors.As(err, &de) && de.Code != dimos.EINTERNAL && de.Code != dimos.EUNAVAILABLE:
		keys := []string{de.Key}
		if len(de.Fields) > 0 {
			keys = keys[:0]
			for _, fe := range de.Fields {
				keys = append(keys, fe.Key)
			}
		}
		return refuse(dimos.HTTPStatus(de.Code), keys, "")
	default:
		p.cfg.Log.Warn("portal: comment not delivered", "case", cs.Number, "err", err)
		return refuse(fiber.StatusServiceUnavailable, nil, "portal.mycase.try_again")
	}
}
