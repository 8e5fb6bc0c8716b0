package open311

import (
	"encoding/xml"
	"maps"
	"math"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
)

// Limits of the fields the specification leaves open, in characters. The
// specification caps description at 4000.
const (
	maxDescriptionLen = 4000
	maxAddressLen     = 500
	maxOtherLen       = 2000 // fields kept for nothing (device_id, media_url…) still have a limit
)

// postForm is a decoded POST requests body: the specification's fields, as given.
type postForm struct {
	APIKey       string
	Jurisdiction string
	ServiceCode  string
	Lat, Long    *float64
	Address      string
	Description  string
	Contact      dimos.Contact
	Attributes   map[string]string // attribute[code] → value
}

// known are the fields of the specification; any other field is ignored, as clients
// of other cities' endpoints may send their own.
var known = map[string]bool{
	"api_key": true, "jurisdiction_id": true, "service_code": true, "lat": true, "long": true,
	"address_string": true, "address_id": true, "email": true, "device_id": true, "account_id": true,
	"first_name": true, "last_name": true, "phone": true, "description": true, "media_url": true,
}

// decodeForm parses a POST body. It refuses what it cannot read faithfully: another
// content type or charset, broken escapes, invalid UTF-8, a field given twice. Field
// values are checked later, all at once, by check.
func decodeForm(contentType string, body []byte) (postForm, error) {
	var p postForm
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != fiber.MIMEApplicationForm {
		return p, dimos.Errorf(dimos.EINVALID, "open311.error.form")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return p, dimos.Errorf(dimos.EINVALID, "open311.error.form")
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return p, dimos.Errorf(dimos.EINVALID, "open311.error.form")
	}
	var v dimos.Validation
	get := map[string]string{}
	p.Attributes = map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(values)) {
		vals := values[name]
		if !utf8.ValidString(name) {
			return p, dimos.Errorf(dimos.EINVALID, "error.body.utf8")
		}
		attr, isAttr := attributeName(name)
		if !isAttr && !known[name] {
			continue
		}
		if len(vals) > 1 {
			v.Add(name, "open311.error.duplicate")
			continue
		}
		val := vals[0]
		if !utf8.ValidString(val) {
			v.Add(name, "field.utf8")
			continue
		}
		if isAttr {
			p.Attributes[attr] = strings.TrimSpace(val)
		} else {
			get[name] = strings.TrimSpace(val)
		}
	}
	if err := v.Err(); err != nil {
		return p, err
	}
	p.APIKey, p.Jurisdiction, p.ServiceCode = get["api_key"], get["jurisdiction_id"], get["service_code"]
	p.Address, p.Description = get["address_string"], get["description"]
	p.Contact = dimos.Contact{FirstName: get["first_name"], LastName: get["last_name"], Email: get["email"], Phone: get["phone"]}
	p.Lat, p.Long = number(&v, "lat", get["lat"]), number(&v, "long", get["long"])
	for _, name := range []string{"address_id", "device_id", "account_id", "media_url"} {
		if utf8.RuneCountInString(get[name]) > maxOtherLen {
			v.Add(name, "field.too_long")
		}
	}
	return p, v.Err()
}

// attributeName returns code for a field named attribute[code].
func attributeName(field string) (string, bool) {
	code, ok := strings.CutPrefix(field, "attribute[")
	if !ok || !strings.HasSuffix(code, "]") {
		return "", false
	}
	return strings.TrimSuffix(code, "]"), true
}

// number parses a coordinate; "" is nil. NaN and the infinities are not numbers here.
func number(v *dimos.Validation, field, s string) *float64 {
	if s == "" {
		return nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		v.Add(field, "open311.field.number")
		return nil
	}
	return &x
}

// check validates the location and the lengths the case's own Validate does not know.
func (p *postForm) check(v *dimos.Validation) {
	switch {
	case p.Lat == nil && p.Long == nil:
		if p.Address == "" {
			v.Add("lat", "open311.field.location")
		}
	case p.Lat == nil || p.Long == nil:
		v.Add("lat", "open311.field.point")
	default:
		if *p.Lat < -90 || *p.Lat > 90 {
			v.Add("lat", "open311.field.lat")
		}
		if *p.Long < -180 || *p.Long > 180 {
			v.Add("long", "open311.field.long")
		}
	}
	if utf8.RuneCountInString(p.Address) > maxAddressLen {
		v.Add("address_string", "field.too_long")
	}
	if utf8.RuneCountInString(p.Description) > maxDescriptionLen {
		v.Add("description", "field.too_long")
	}
}

// anonymous reports whether the citizen gave no contact at all: an anonymous report
// (M5), which the office cannot answer but still handles.
func (p *postForm) anonymous() bool { return p.Contact == dimos.Contact{} }

// subject makes the case's subject line: the category and the place, or the first
// line of the description where no address was given.
func subject(cat *dimos.Category, address, description string) string {
	place := address
	if place == "" {
		place, _, _ = strings.Cut(description, "\n")
		place = strings.TrimSpace(place)
	}
	s := cat.NameEL
	if place != "" {
		s += " — " + place
	}
	if utf8.RuneCountInString(s) > dimos.MaxSubjectLen {
		s = string([]rune(s)[:dimos.MaxSubjectLen-1]) + "…"
	}
	return s
}

// openField names the Open311 field behind a field of dimos.Case, so that an error
// points at what the client sent.
var openField = map[string]string{
	"kind": "attribute[" + attrKind + "]", "category": "service_code", "subject": "description",
	"text": "description", "desired_action": "attribute[" + attrDesiredAction + "]",
	"contact.first_name": "first_name", "contact.last_name": "last_name",
	"contact.email": "email", "contact.phone": "phone",
}

type createdOut struct {
	XMLName       xml.Name `xml:"request" json:"-"`
	ID            string   `xml:"service_request_id" json:"service_request_id"`
	ServiceNotice string   `xml:"service_notice" json:"service_notice"`
	// account_id: dimos has no accounts for API clients; the specification shows it
	// empty in XML and null in JSON.
	AccountIDXML string  `xml:"account_id" json:"-"`
	AccountID    *string `xml:"-" json:"account_id"`
}

// create files a case: POST requests.{format}.
func (a *API) create(c *fiber.Ctx) error {
	f, err := formatOf(c)
	if err != nil {
		return a.fail(c, f, err)
	}
	body := c.Request().Body() // as sent: a compressed body is not inflated here
	if len(body) > maxBody || c.Request().Header.ContentLength() > maxBody {
		return failStatus(c, f, fiber.StatusRequestEntityTooLarge)
	}
	if enc := c.Get(fiber.HeaderContentEncoding); enc != "" && !strings.EqualFold(enc, "identity") {
		return a.fail(c, f, dimos.Errorf(dimos.EINVALID, "open311.error.form"))
	}
	p, err := decodeForm(c.Get(fiber.HeaderContentType), body)
	if err == nil {
		err = a.checkJurisdiction(p.Jurisdiction)
	}
	if err != nil {
		return a.fail(c, f, err)
	}
	ctx := c.UserContext()
	if p.APIKey == "" {
		return a.fail(c, f, dimos.Errorf(dimos.EUNAUTHORIZED, "error.api_key"))
	}
	key, err := a.cfg.Keys.CheckAPIKey(ctx, p.APIKey)
	if err != nil {
		return a.fail(c, f, err)
	}
	if p.ServiceCode == "" {
		return a.fail(c, f, &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid",
			Fields: []dimos.FieldError{{Field: "service_code", Key: "field.required"}}})
	}
	cat, err := a.offered(ctx, p.ServiceCode)
	if err != nil {
		return a.fail(c, f, err)
	}
	cs, err := a.newCase(cat, &p, i18n.Lang(c.Get(fiber.HeaderAcceptLanguage)))
	if err != nil {
		return a.fail(c, f, err)
	}
	// The place is stored with the case, in the same insert.
	if p.Lat != nil && p.Long != nil {
		cs.Location = &dimos.Point{Lat: *p.Lat, Lon: *p.Long}
	}
	cs.Address = p.Address
	if err := a.cfg.Cases.SubmitCase(ctx, cs); err != nil {
		return a.fail(c, f, err)
	}
	a.cfg.Kick(cs)
	a.cfg.Log.Info("case accepted", "case", cs.Number, "category", cs.CategoryCode, "channel", cs.Channel,
		"api_key", key.ID)
	service := ""
	if sv, err := a.cfg.Directory.ServiceByID(ctx, cat.ServiceID); err == nil {
		service = sv.NameEL
	}
	c.Location(a.cfg.BaseURL + "/open311/v2/requests/" + cs.Number + "." + string(f))
	return send(c, f, fiber.StatusCreated, "service_requests",
		[]createdOut{{ID: cs.Number, ServiceNotice: both("open311.notice", cs.Number, service)}})
}

// newCase builds and validates the case a form files under cat, reporting every bad
// field at once under its Open311 name.
func (a *API) newCase(cat *dimos.Category, p *postForm, lang string) (*dimos.Case, error) {
	var v dimos.Validation
	p.check(&v)
	kind := defaultKind(cat)
	for code, val := range p.Attributes {
		switch {
		case code == attrKind && len(openKinds(cat)) > 1:
			if k := dimos.Kind(val); k.Valid() && k != dimos.KindCertificate && cat.Allows(k) {
				kind = k
			} else if val != "" {
				v.Add("attribute["+code+"]", "open311.field.value")
			}
		case code == attrDesiredAction:
		default:
			v.Add("attribute["+code+"]", "open311.field.attribute")
		}
	}
	cs := &dimos.Case{
		Kind: kind, CategoryCode: cat.Code, Channel: dimos.ChannelOpen311,
		Subject: subject(cat, p.Address, p.Description), Text: p.Description,
		DesiredAction: p.Attributes[attrDesiredAction], Anonymous: p.anonymous(), Contact: p.Contact, Lang: lang,
	}
	if err := cs.Validate(); err != nil {
		de, ok := err.(*dimos.Error)
		if !ok {
			return nil, err
		}
		seen := map[string]bool{}
		for _, fe := range de.Fields {
			name := fe.Field
			if o, ok := openField[name]; ok {
				name = o
			}
			if !seen[name+fe.Key] { // subject and text both come from description
				seen[name+fe.Key] = true
				v.Add(name, fe.Key)
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return cs, nil
}
