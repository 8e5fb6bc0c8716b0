package portal

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
)

// certificateForm is what the citizen typed on the certificate form, kept to show
// again when a field is refused.
type certificateForm struct {
	Category string
	Purpose  string
	Details  string
	Delivery string
}

type certificateView struct {
	pageView
	Verified   bool // false: the page explains in-person verification instead of the form
	Form       certificateForm
	Categories []option
	Deliveries []option
	Address    string // the citizen's address, where a certificate by post goes
	formErrors
}

// certificateFields are the fields of the certificate form in their order, with their
// labels; the summary links to each.
var certificateFields = []formField{
	{"category", "portal.certificate.category"},
	{"purpose", "portal.certificate.purpose"},
	{"details", "portal.certificate.details"},
	{"delivery", "portal.certificate.delivery"},
}

// Summary lists every refusal of the certificate form.
func (v certificateView) Summary() []summaryLine { return v.summary(certificateFields) }

// certificatePage shows the certificate application form (M7) to a verified citizen,
// and to anyone else signed in what verification takes.
func (p *Portal) certificatePage(c *fiber.Ctx) error {
	cit, err := p.citizen(c)
	if err != nil {
		return p.fail(c, err)
	}
	if cit == nil {
		return c.Redirect("/signin?next=/certificate", fiber.StatusSeeOther)
	}
	return p.renderCertificate(c, fiber.StatusOK, cit, certificateForm{}, nil)
}

func (p *Portal) renderCertificate(c *fiber.Ctx, status int, cit *dimos.Citizen, f certificateForm, errs map[string][]string) error {
	pv := p.page(c, "/certificate", "certificate")
	v := certificateView{pageView: pv, Verified: cit.Verified(), Form: f, Address: cit.Address, formErrors: errs}
	if !v.Verified {
		return p.render(c, status, "certificate", v)
	}
	cats, err := p.cfg.Directory.Categories(c.UserContext())
	if err != nil {
		return p.fail(c, err)
	}
	for _, cat := range cats {
		if !cat.Allows(dimos.KindCertificate) {
			continue
		}
		label := cat.NameEL
		if pv.Lang == i18n.English && cat.NameEN != "" {
			label = cat.NameEN
		}
		v.Categories = append(v.Categories, option{Value: cat.Code, Label: label, Selected: f.Category == cat.Code})
	}
	for _, d := range dimos.Deliveries {
		v.Deliveries = append(v.Deliveries, option{Value: string(d),
			Label: i18n.T(pv.Lang, "portal.certificate.delivery."+string(d)), Selected: f.Delivery == string(d)})
	}
	return p.render(c, status, "certificate", v)
}

// certificate files a certificate application through intake, which refuses it to a
// citizen not verified in person (M3).
func (p *Portal) certificate(c *fiber.Ctx) error {
	if !csrfOK(c) {
		return p.errorPage(c, fiber.StatusForbidden, "error.csrf")
	}
	cit, err := p.citizen(c)
	if err != nil {
		return p.fail(c, err)
	}
	if cit == nil {
		return c.Redirect("/signin?next=/certificate", fiber.StatusSeeOther)
	}
	f := certificateForm{
		Category: strings.Clone(strings.TrimSpace(c.FormValue("category"))),
		Purpose:  strings.Clone(strings.TrimSpace(c.FormValue("purpose"))),
		Details:  strings.Clone(strings.TrimSpace(c.FormValue("details"))),
		Delivery: strings.Clone(c.FormValue("delivery")),
	}
	text := f.Details
	if text == "" {
		text = f.Purpose
	}
	// The subject is the certificate's name in Greek, as the office files it; an
	// unknown category is refused by intake, beside the field.
	subject := i18n.T(i18n.Greek, "kind.certificate")
	if f.Category != "" {
		cat, err := p.cfg.Directory.CategoryByCode(c.UserContext(), f.Category)
		switch {
		case err == nil:
			subject = cat.NameEL
		case dimos.ErrorCode(err) != dimos.ENOTFOUND:
			return p.fail(c, err)
		}
	}
	cs := &dimos.Case{
		Kind: dimos.KindCertificate, CategoryCode: f.Category, Channel: dimos.ChannelPortal,
		Subject: subject, Text: text, Purpose: f.Purpose, Delivery: dimos.Delivery(f.Delivery), Lang: langOf(c),
	}
	key, err := p.cfg.Intake.Accept(c.UserContext(), cs, cit)
	var de *dimos.Error
	if errors.As(err, &de) && de.Code == dimos.EINVALID {
		errs := map[string][]string{}
		for _, fe := range de.Fields {
			field := fe.Field
			if field == "text" {
				if f.Details == "" {
					continue // the purpose stands in for empty details; its own error says it
				}
				field = "details"
			}
			errs[field] = append(errs[field], fe.Key)
		}
		return p.renderCertificate(c, fiber.StatusBadRequest, cit, f, errs)
	}
	if err != nil {
		return p.fail(c, err)
	}
	return p.render(c, fiber.StatusCreated, "receipt", receiptView{
		pageView: p.page(c, "/", "certificate"), Number: cs.Number, AccessKey: key,
		TrackURL: "/track?number=" + cs.Number,
	})
}
