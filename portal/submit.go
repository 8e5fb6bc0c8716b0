package portal

import (
	"errors"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
)

// formKinds are the kinds a citizen files on this form; certificate applications
// need a verified account and their own form (M3, M7).
var formKinds = []dimos.Kind{dimos.KindRequest, dimos.KindComplaint, dimos.KindSuggestion}

// submitForm is what the citizen typed, kept to show again when a field is refused.
type submitForm struct {
	Kind          string
	Category      string
	Subject       string
	Text          string
	DesiredAction string
	Anonymous     bool
	Contact       dimos.Contact
}

type option struct {
	Value    string
	Label    string
	Selected bool
}

// fieldErrors are the reasons one field was refused; ID is what the input names in
// aria-describedby.
type fieldErrors struct {
	ID   string
	Keys []string
}

type submitView struct {
	pageView
	Form       submitForm
	Kinds      []option
	Categories []option
	formErrors
	SignedIn bool
}

// formField is a field of a form with the catalogue key of its label.
type formField struct{ name, label string }

// formErrors are a refused form's reasons by field. Embedded in a page's view, it
// gives the template what it needs to put each reason beside its field and to list
// them all at the top.
type formErrors map[string][]string

// ErrorsFor returns the reasons field was refused.
func (e formErrors) ErrorsFor(field string) fieldErrors {
	return fieldErrors{ID: errorID(field), Keys: e[field]}
}

// Invalid reports whether field was refused, for aria-invalid.
func (e formErrors) Invalid(field string) bool { return len(e[field]) > 0 }

// Described is the aria-describedby of field: its hint (if any) and its errors.
func (e formErrors) Described(field, hint string) string {
	ids := []string{}
	if hint != "" {
		ids = append(ids, hint)
	}
	if e.Invalid(field) {
		ids = append(ids, errorID(field))
	}
	return strings.Join(ids, " ")
}

// HasErrors reports whether the form was refused, for the summary at its top.
func (e formErrors) HasErrors() bool { return len(e) > 0 }

// summary lists every refusal: those of the form's fields first, in the form's
// order with their labels and anchors, then the others (sorted, so the page is the
// same every time).
func (e formErrors) summary(fields []formField) []summaryLine {
	var out []summaryLine
	known := map[string]bool{}
	for _, f := range fields {
		known[f.name] = true
		for _, k := range e[f.name] {
			out = append(out, summaryLine{Anchor: "#" + fieldID(f.name), LabelKey: f.label, Key: k})
		}
	}
	var others []string
	for name := range e {
		if !known[name] {
			others = append(others, name)
		}
	}
	sort.Strings(others)
	for _, name := range others {
		for _, k := range e[name] {
			out = append(out, summaryLine{Key: k})
		}
	}
	return out
}

// Summary lists every refusal of the submit form.
func (v submitView) Summary() []summaryLine { return v.summary(formFields) }

type summaryLine struct {
	Anchor   string
	LabelKey string
	Key      string
}

// formFields are the fields of the form in their order, with their labels.
var formFields = []formField{
	{"kind", "portal.submit.kind"},
	{"category", "portal.submit.category"},
	{"subject", "portal.submit.subject"},
	{"text", "portal.submit.text"},
	{"desired_action", "portal.submit.desired_action"},
	{"anonymous", "portal.submit.anonymous"},
	{"contact.first_name", "portal.submit.first_name"},
	{"contact.last_name", "portal.submit.last_name"},
	{"contact.email", "portal.submit.email"},
	{"contact.phone", "portal.submit.phone"},
}

// fieldID is the id of a field's input; errorID the id of its error list.
func fieldID(field string) string { return "f-" + strings.ReplaceAll(field, ".", "-") }
func errorID(field string) string { return fieldID(field) + "-error" }

// citizen returns the signed-in citizen, or nil when nobody is signed in. It asks the
// store once per request: the header and the handler share the answer.
func (p *Portal) citizen(c *fiber.Ctx) (*dimos.Citizen, error) {
	if p.cfg.Citizen == nil {
		return nil, nil
	}
	if cit, ok := c.Locals(localCitizen).(*dimos.Citizen); ok {
		return cit, nil
	}
	cit, err := p.cfg.Citizen(c)
	if dimos.ErrorCode(err) == dimos.EUNAUTHORIZED {
		return nil, nil
	}
	if err == nil && cit != nil {
		c.Locals(localCitizen, cit)
	}
	return cit, err
}

// localCitizen is the request's local that holds the signed-in citizen.
const localCitizen = "portal.citizen"

func (p *Portal) submitPage(c *fiber.Ctx) error {
	cit, err := p.citizen(c)
	if err != nil {
		return p.fail(c, err)
	}
	f := submitForm{Kind: string(dimos.KindRequest)}
	if cit != nil {
		f.Contact = cit.Contact() // M6: pre-filled with the registered details
	}
	return p.renderSubmit(c, fiber.StatusOK, f, nil, cit != nil)
}

func (p *Portal) renderSubmit(c *fiber.Ctx, status int, f submitForm, errs map[string][]string, signedIn bool) error {
	pv := p.page(c, "/submit", "submit")
	v := submitView{pageView: pv, Form: f, formErrors: errs, SignedIn: signedIn}
	for _, k := range formKinds {
		v.Kinds = append(v.Kinds, option{Value: string(k), Label: i18n.T(pv.Lang, "kind."+string(k)), Selected: f.Kind == string(k)})
	}
	cats, err := p.cfg.Directory.Categories(c.UserContext())
	if err != nil {
		return p.fail(c, err)
	}
	for _, cat := range cats {
		if !allowsFormKind(cat) {
			continue
		}
		label := cat.NameEL
		if pv.Lang == i18n.English && cat.NameEN != "" {
			label = cat.NameEN
		}
		v.Categories = append(v.Categories, option{Value: cat.Code, Label: label, Selected: f.Category == cat.Code})
	}
	return p.render(c, status, "submit", v)
}

// allowsFormKind reports whether a category takes any kind this form files, so that
// certificate-only categories are not offered.
func allowsFormKind(cat *dimos.Category) bool {
	for _, k := range formKinds {
		if cat.Allows(k) {
			return true
		}
	}
	return false
}

type receiptView struct {
	pageView
	Number    string
	AccessKey string
	Anonymous bool
	TrackURL  string
}

func (p *Portal) submit(c *fiber.Ctx) error {
	if !csrfOK(c) {
		return p.errorPage(c, fiber.StatusForbidden, "error.csrf")
	}
	cit, err := p.citizen(c)
	if err != nil {
		return p.fail(c, err)
	}
	f := submitForm{
		Kind: c.FormValue("kind"), Category: strings.TrimSpace(c.FormValue("category")),
		Subject: strings.TrimSpace(c.FormValue("subject")), Text: strings.TrimSpace(c.FormValue("text")),
		DesiredAction: strings.TrimSpace(c.FormValue("desired_action")), Anonymous: c.FormValue("anonymous") != "",
		Contact: dimos.Contact{
			FirstName: strings.TrimSpace(c.FormValue("first_name")), LastName: strings.TrimSpace(c.FormValue("last_name")),
			Email: strings.TrimSpace(c.FormValue("email")), Phone: strings.TrimSpace(c.FormValue("phone")),
		},
	}
	f = clone(f)
	kindOK := false
	for _, k := range formKinds {
		kindOK = kindOK || f.Kind == string(k)
	}
	cs := &dimos.Case{
		Kind: dimos.Kind(f.Kind), CategoryCode: f.Category, Channel: dimos.ChannelPortal,
		Subject: f.Subject, Text: f.Text, DesiredAction: f.DesiredAction, Anonymous: f.Anonymous,
		Contact: f.Contact, Lang: langOf(c),
	}
	if !kindOK && f.Kind != "" { // this form files no certificates, signed in or not
		return p.renderSubmit(c, fiber.StatusBadRequest, f, map[string][]string{"kind": {"field.kind.unknown"}}, cit != nil)
	}
	key, err := p.cfg.Intake.Accept(c.UserContext(), cs, cit)
	var de *dimos.Error
	if errors.As(err, &de) && de.Code == dimos.EINVALID {
		errs := map[string][]string{}
		for _, fe := range de.Fields {
			errs[fe.Field] = append(errs[fe.Field], fe.Key)
		}
		return p.renderSubmit(c, fiber.StatusBadRequest, f, errs, cit != nil)
	}
	if err != nil {
		return p.fail(c, err)
	}
	return p.render(c, fiber.StatusCreated, "receipt", receiptView{
		pageView: p.page(c, "/", "submit"), Number: cs.Number, AccessKey: key, Anonymous: cs.Anonymous,
		TrackURL: "/track?number=" + cs.Number,
	})
}

// clone copies the form's strings out of fasthttp's buffers, which are reused after
// the handler returns.
func clone(f submitForm) submitForm {
	for _, s := range []*string{&f.Kind, &f.Category, &f.Subject, &f.Text, &f.DesiredAction,
		&f.Contact.FirstName, &f.Contact.LastName, &f.Contact.Email, &f.Contact.Phone} {
		*s = strings.Clone(*s)
	}
	return f
}
