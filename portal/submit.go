package portal

import (
	"errors"
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
	Errors     map[string][]string
	SignedIn   bool
}

// ErrorsFor returns the reasons field was refused.
func (v submitView) ErrorsFor(field string) fieldErrors {
	return fieldErrors{ID: errorID(field), Keys: v.Errors[field]}
}

// Invalid reports whether field was refused, for aria-invalid.
func (v submitView) Invalid(field string) bool { return len(v.Errors[field]) > 0 }

// Described is the aria-describedby of field: its hint (if any) and its errors.
func (v submitView) Described(field, hint string) string {
	ids := []string{}
	if hint != "" {
		ids = append(ids, hint)
	}
	if v.Invalid(field) {
		ids = append(ids, errorID(field))
	}
	return strings.Join(ids, " ")
}

// HasErrors reports whether the form was refused, for the summary at its top.
func (v submitView) HasErrors() bool { return len(v.Errors) > 0 }

// Summary lists every refused field with its label key and its anchor, in the order
// of the form, so the summary links straight to each field.
func (v submitView) Summary() []summaryLine {
	var out []summaryLine
	for _, f := range formFields {
		for _, k := range v.Errors[f.name] {
			out = append(out, summaryLine{Anchor: "#" + fieldID(f.name), LabelKey: f.label, Key: k})
		}
	}
	for name, keys := range v.Errors {
		if fieldLabel(name) == "" {
			for _, k := range keys {
				out = append(out, summaryLine{Key: k})
			}
		}
	}
	return out
}

type summaryLine struct {
	Anchor   string
	LabelKey string
	Key      string
}

// formFields are the fields of the form in their order, with their labels.
var formFields = []struct{ name, label string }{
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

func fieldLabel(name string) string {
	for _, f := range formFields {
		if f.name == name {
			return f.label
		}
	}
	return ""
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
	v := submitView{pageView: pv, Form: f, Errors: errs, SignedIn: signedIn}
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
