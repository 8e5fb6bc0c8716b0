package portal

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/account"
)

// inputField is one text field of a form, for the "input" partial.
type inputField struct {
	Name, ID, Label, Hint string
	Type, Autocomplete    string
	Value                 string
	Optional              bool
	Errors                []string
}

// Described is the aria-describedby of the field: its hint and its errors.
func (f inputField) Described() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if len(f.Errors) > 0 {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// fieldSpec describes a field of the sign-in and registration forms.
type fieldSpec struct {
	name, label, hint, typ, autocomplete string
	optional                             bool
}

func (s fieldSpec) input(value string, errs map[string][]string) inputField {
	return inputField{Name: s.name, ID: fieldID(s.name), Label: s.label, Hint: s.hint, Type: s.typ,
		Autocomplete: s.autocomplete, Value: value, Optional: s.optional, Errors: errs[s.name]}
}

var signinFields = []fieldSpec{
	{"username", "portal.account.username", "", "text", "username", false},
	{"password", "portal.account.password", "", "password", "current-password", false},
}

// registerFields are the seed's fields (M1), in the form's order.
var registerFields = []fieldSpec{
	{"first_name", "portal.account.first_name", "", "text", "given-name", false},
	{"last_name", "portal.account.last_name", "", "text", "family-name", false},
	{"email", "portal.account.email", "portal.account.email_hint", "email", "email", false},
	{"username", "portal.account.username", "portal.account.username_hint", "text", "username", false},
	{"password", "portal.account.password", "portal.account.password_hint", "password", "new-password", false},
	{"mobile_phone", "portal.account.mobile_phone", "portal.account.mobile_phone_hint", "tel", "tel", false},
	{"phone", "portal.account.phone", "", "tel", "tel", true},
	{"address", "portal.account.address", "", "text", "street-address", false},
	{"phone_access_code", "portal.account.phone_access_code", "portal.account.phone_access_code_hint", "text", "off", true},
	{"afm", "portal.account.afm", "", "text", "off", true},
}

type accountFormView struct {
	pageView
	Fields     []inputField
	MessageKey string // a refusal that concerns the whole form (throttled, wrong password)
	Next       string
}

// fieldErrorsOf splits a refusal into the reasons beside each field and the sentence
// for the whole form; an error that is not a *dimos.Error is returned as is.
func fieldErrorsOf(err error) (fields map[string][]string, key string, status int, other error) {
	var de *dimos.Error
	if !errors.As(err, &de) || de.Code == dimos.EINTERNAL {
		return nil, "", 0, err
	}
	fields = map[string][]string{}
	for _, fe := range de.Fields {
		fields[fe.Field] = append(fields[fe.Field], fe.Key)
	}
	if len(de.Fields) == 0 || de.Code != dimos.EINVALID {
		key = de.Key
	}
	return fields, key, dimos.HTTPStatus(de.Code), nil
}

func (p *Portal) signinPage(c *fiber.Ctx) error {
	cit, err := p.citizen(c)
	if err != nil {
		return p.fail(c, err)
	}
	next := localNext(c.Query("next"))
	if cit != nil {
		return c.Redirect(orMyCases(next), fiber.StatusSeeOther)
	}
	return p.renderSignin(c, fiber.StatusOK, "", next, nil, signinNotices[c.Query("notice")])
}

// signinNotices are the sentences the sign-in page shows when the activation link of
// the mail brings the citizen here; anything else in ?notice= is ignored.
var signinNotices = map[string]string{
	"activated":             "account.activated",
	"activated_mail_failed": "account.activated.mail_failed",
	"activation_failed":     "portal.signin.activation_failed",
}

func (p *Portal) renderSignin(c *fiber.Ctx, status int, username, next string, errs map[string][]string, key string) error {
	path := "/signin"
	if next != "" {
		path += "?next=" + url.QueryEscape(next)
	}
	v := accountFormView{pageView: p.page(c, path, "signin"), MessageKey: key, Next: next}
	for _, s := range signinFields {
		v.Fields = append(v.Fields, s.input(username, errs))
	}
	return p.render(c, status, "signin", v)
}

// signin signs the citizen in through account.API, as the JSON login does, and goes
// on to the page they wanted (on this site only) or to their cases.
func (p *Portal) signin(c *fiber.Ctx) error {
	if !csrfOK(c) {
		return p.errorPage(c, fiber.StatusForbidden, "error.csrf")
	}
	username := strings.Clone(strings.TrimSpace(c.FormValue("username")))
	next := localNext(c.FormValue("next"))
	err := p.cfg.Accounts.SignIn(c, username, c.FormValue("password"))
	if err != nil {
		fields, key, status, other := fieldErrorsOf(err)
		if other != nil {
			return p.fail(c, other)
		}
		return p.renderSignin(c, status, username, next, fields, key)
	}
	return c.Redirect(orMyCases(next), fiber.StatusSeeOther)
}

func orMyCases(next string) string {
	if next == "" {
		return "/my/cases"
	}
	return next
}

// signout ends the session and goes home; it is a form with the CSRF token, so that
// no other site can sign the citizen out.
func (p *Portal) signout(c *fiber.Ctx) error {
	if !csrfOK(c) {
		return p.errorPage(c, fiber.StatusForbidden, "error.csrf")
	}
	if err := p.cfg.Accounts.SignOut(c); err != nil {
		return p.fail(c, err)
	}
	return c.Redirect("/", fiber.StatusSeeOther)
}

func (p *Portal) registerPage(c *fiber.Ctx) error {
	return p.renderRegister(c, fiber.StatusOK, account.Registration{}, nil, "")
}

func (p *Portal) renderRegister(c *fiber.Ctx, status int, r account.Registration, errs map[string][]string, key string) error {
	v := accountFormView{pageView: p.page(c, "/register", "register"), MessageKey: key}
	values := map[string]string{
		"first_name": r.FirstName, "last_name": r.LastName, "email": r.Email, "username": r.Username,
		"mobile_phone": r.MobilePhone, "phone": r.Phone, "address": r.Address,
		"phone_access_code": r.PhoneAccessCode, "afm": r.AFM,
	}
	for _, s := range registerFields {
		v.Fields = append(v.Fields, s.input(values[s.name], errs))
	}
	return p.render(c, status, "register", v)
}

type registeredView struct {
	pageView
	MessageKey string
	Username   string
}

// register opens an account through account.API with the same checks as the JSON
// API; the activation link goes by mail (M2).
func (p *Portal) register(c *fiber.Ctx) error {
	if !csrfOK(c) {
		return p.errorPage(c, fiber.StatusForbidden, "error.csrf")
	}
	form := func(name string) string { return strings.Clone(strings.TrimSpace(c.FormValue(name))) }
	r := account.Registration{
		Username: form("username"), Password: strings.Clone(c.FormValue("password")),
		FirstName: form("first_name"), LastName: form("last_name"), Email: form("email"),
		MobilePhone: form("mobile_phone"), Phone: form("phone"), Address: form("address"),
		PhoneAccessCode: form("phone_access_code"), AFM: form("afm"), Lang: langOf(c),
	}
	cit, key, err := p.cfg.Accounts.Register(c, r)
	if err != nil {
		fields, msg, status, other := fieldErrorsOf(err)
		if other != nil {
			return p.fail(c, other)
		}
		if msg == "" {
			msg = "portal.register.errors"
		}
		return p.renderRegister(c, status, r, fields, msg)
	}
	return p.render(c, fiber.StatusCreated, "registered", registeredView{
		pageView: p.page(c, "/register", "register"), MessageKey: key, Username: cit.Username})
}
