package console

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"dimos"
)

// DeskCitizens is what a service desk (town hall, KEP) needs to verify a citizen's
// identity in person (M3): find the citizen, see who waits, read one account and
// record the verification. postgres.DB implements it.
type DeskCitizens interface {
	// FindCitizens matches an exact user name, e-mail, mobile or AFM, or a last-name
	// prefix, among live accounts, newest first.
	FindCitizens(ctx context.Context, query string, limit int) ([]*dimos.Citizen, error)
	// PendingVerifications lists the accounts that asked to be verified and are not
	// yet, longest waiting first.
	PendingVerifications(ctx context.Context, limit int) ([]*dimos.Citizen, error)
	CitizenByID(ctx context.Context, id int64) (*dimos.Citizen, error)
	VerifyCitizen(ctx context.Context, citizenID, employeeID int64, doc, number string, at time.Time) error
}

// Limits of the desk pages.
const (
	deskListLimit      = 50  // rows of the queue and of a search
	deskMinQuery       = 2   // characters a search needs, so a single letter does not list the register
	deskMaxQuery       = 100 // characters of a search kept
	docNumberMin       = 5
	docNumberMax       = 20
	docNumberAuditKeep = 3 // characters of a document number the audit log keeps
)

const (
	pathDesk         = "/console/desk"
	auditVerify      = "citizen.verify"
	deskNoticeVerify = "verify"
)

func deskCitizenPath(id int64) string { return pathDesk + "/citizens/" + strconv.FormatInt(id, 10) }

type deskView struct {
	pageView
	Query    string
	Searched bool // a search long enough was made; Results holds its rows
	ShortKey string
	Results  []deskRow
	Pending  []deskRow
}

// deskRow is one citizen in a list of the desk page.
type deskRow struct {
	URL         string
	Name        string
	Username    string
	Email       string
	MobilePhone string
	AFM         string
	DocKey      string // the document asked for, "" when none
	RequestedAt time.Time
	VerifiedAt  time.Time
}

func newDeskRow(c *dimos.Citizen) deskRow {
	return deskRow{URL: deskCitizenPath(c.ID), Name: c.FullName(), Username: c.Username, Email: c.Email,
		MobilePhone: c.MobilePhone, AFM: c.AFM, DocKey: docKey(c.VerificationDoc),
		RequestedAt: c.VerificationRequestedAt, VerifiedAt: c.VerifiedAt}
}

// Verified reports whether the row's citizen is verified.
func (r deskRow) Verified() bool { return !r.VerifiedAt.IsZero() }

// docKey is the catalogue key that names an identity document, "" for none.
func docKey(doc string) string {
	if !dimos.ValidDoc(doc) {
		return ""
	}
	return "console.desk.doc." + doc
}

// deskPage shows the search box, the results of a search and the queue of citizens
// who asked online to be verified in person.
func (con *Console) deskPage(c *fiber.Ctx) error {
	citizens, err := con.deskCitizens()
	if err != nil {
		return con.fail(c, err)
	}
	ctx := c.UserContext()
	v := deskView{pageView: con.page(c, pathDesk), Query: truncate(strings.TrimSpace(c.Query("q")), deskMaxQuery)}
	switch n := utf8.RuneCountInString(v.Query); {
	case n >= deskMinQuery:
		found, err := citizens.FindCitizens(ctx, v.Query, deskListLimit)
		if err != nil {
			return con.fail(c, err)
		}
		v.Searched = true
		for _, cz := range found {
			v.Results = append(v.Results, newDeskRow(cz))
		}
	case n > 0:
		v.ShortKey = "console.desk.search.short"
	}
	pending, err := citizens.PendingVerifications(ctx, deskListLimit)
	if err != nil {
		return con.fail(c, err)
	}
	for _, cz := range pending {
		v.Pending = append(v.Pending, newDeskRow(cz))
	}
	return con.render(c, fiber.StatusOK, "desk", v)
}

func (con *Console) deskCitizens() (DeskCitizens, error) {
	if con.cfg.Citizens == nil {
		return nil, dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable")
	}
	return con.cfg.Citizens, nil
}

type deskCitizenView struct {
	pageView
	Citizen      *dimos.Citizen
	RequestKey   string // the document the citizen said they will bring
	DocKey       string // the document the desk saw, once verified
	DocNumber    string // its number, masked but for its last characters
	VerifiedBy   string
	DoneKey      string
	AlertKey     string // why nothing was done, above the page
	Form         formState
	CanVerify    bool
	NotActivated bool // the account is not activated, so it cannot be verified yet
}

// deskCitizenPage shows a citizen's details and, while they are not verified, the
// form that records the desk's check of their identity document.
func (con *Console) deskCitizenPage(c *fiber.Ctx) error {
	cz, err := con.citizenFor(c)
	if err != nil {
		return con.fail(c, err)
	}
	form := formState{Name: "verify", Values: map[string]string{"doc_type": cz.VerificationDoc}}
	v, err := con.deskCitizenView(c, cz, form)
	if err != nil {
		return con.fail(c, err)
	}
	if c.Query("done") == deskNoticeVerify && cz.Verified() {
		v.DoneKey = "console.desk.done.verify"
	}
	return con.render(c, fiber.StatusOK, "desk-citizen", v)
}

// citizenFor loads the live citizen named in the route.
func (con *Console) citizenFor(c *fiber.Ctx) (*dimos.Citizen, error) {
	citizens, err := con.deskCitizens()
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, dimos.Errorf(dimos.ENOTFOUND, "console.desk.error.not_found")
	}
	cz, err := citizens.CitizenByID(c.UserContext(), id)
	switch {
	case dimos.ErrorCode(err) == dimos.ENOTFOUND || err == nil && !cz.ErasedAt.IsZero():
		return nil, dimos.Errorf(dimos.ENOTFOUND, "console.desk.error.not_found")
	case err != nil:
		return nil, err
	}
	return cz, nil
}

func (con *Console) deskCitizenView(c *fiber.Ctx, cz *dimos.Citizen, form formState) (deskCitizenView, error) {
	v := deskCitizenView{
		pageView:     con.page(c, deskCitizenPath(cz.ID)),
		Citizen:      cz,
		RequestKey:   docKey(cz.VerificationDoc),
		CanVerify:    !cz.Verified() && cz.Activated(),
		NotActivated: !cz.Verified() && !cz.Activated(),
	}
	form.fields = []string{"doc_type", "doc_number", "confirm"}
	v.Form = form
	if cz.Verified() {
		v.DocKey, v.DocNumber = docKey(cz.VerificationDoc), maskDocNumber(cz.VerificationDocNumber)
		name, err := newNamer(con.cfg.Directory, v.Lang).employee(c.UserContext(), cz.VerifiedBy)
		if err != nil {
			return v, err
		}
		v.VerifiedBy = name
	}
	return v, nil
}

// verifyCitizen records that the signed-in desk employee saw the citizen's identity
// document in person. The form is checked whole, so every mistake shows at once
// beside its field; the audit log keeps the document's type and only the end of its
// number.
func (con *Console) verifyCitizen(c *fiber.Ctx) error {
	st := staffOf(c)
	cz, err := con.citizenFor(c)
	if err != nil {
		return con.fail(c, err)
	}
	form := formState{Name: "verify", Values: map[string]string{
		"doc_type":   strings.Clone(c.FormValue("doc_type")),
		"doc_number": strings.Clone(c.FormValue("doc_number")),
		"confirm":    strings.Clone(c.FormValue("confirm")),
	}}
	if cz.Verified() || !cz.Activated() {
		key := "console.desk.error.already_verified"
		if !cz.Verified() {
			key = "console.desk.error.not_activated"
		}
		v, err := con.deskCitizenView(c, cz, form)
		if err != nil {
			return con.fail(c, err)
		}
		v.AlertKey = key
		return con.render(c, fiber.StatusConflict, "desk-citizen", v)
	}

	doc := form.Values["doc_type"]
	number, numberErr := normalizeDocNumber(form.Values["doc_number"])
	var fields []dimos.FieldError
	if !dimos.ValidDoc(doc) {
		fields = append(fields, dimos.FieldError{Field: "doc_type", Key: "console.desk.field.doc_type"})
	}
	if numberErr != "" {
		fields = append(fields, dimos.FieldError{Field: "doc_number", Key: numberErr})
	}
	if !formChecked(c, "confirm") {
		fields = append(fields, dimos.FieldError{Field: "confirm", Key: "console.desk.field.confirm"})
	}
	if len(fields) == 0 {
		err = con.cfg.Citizens.VerifyCitizen(c.UserContext(), cz.ID, st.me.ID, doc, number, con.now())
		if err == nil {
			con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditVerify, Target: cz.Username,
				Detail: "doc=" + doc + " number=…" + lastRunes(number, docNumberAuditKeep)})
			return c.Redirect(deskCitizenPath(cz.ID)+"?done="+deskNoticeVerify, fiber.StatusSeeOther)
		}
		var refusal *dimos.Error
		switch {
		case dimos.ErrorCode(err) == dimos.ENOTFOUND:
			return con.fail(c, dimos.Errorf(dimos.ENOTFOUND, "console.desk.error.not_found"))
		case errors.As(err, &refusal) && refusal.Code == dimos.EINVALID:
			fields = refusal.Fields
		default:
			return con.fail(c, err)
		}
	}
	form.ErrorKey, form.Errors = "error.invalid", fields
	v, err := con.deskCitizenView(c, cz, form)
	if err != nil {
		return con.fail(c, err)
	}
	return con.render(c, fiber.StatusBadRequest, "desk-citizen", v)
}

// normalizeDocNumber turns what the desk typed into the number as stored: without
// spaces and dashes, in capitals, 5 to 20 Latin or Greek capitals and digits (Greek
// identity cards carry Greek letters, passports Latin ones). A refusal is the
// catalogue key of its reason.
func normalizeDocNumber(s string) (string, string) {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(s))
	if s == "" {
		return "", "field.required"
	}
	n := utf8.RuneCountInString(s)
	if n < docNumberMin || n > docNumberMax {
		return "", "console.desk.field.doc_number"
	}
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'A' && r <= 'Z':
		case r >= 'Α' && r <= 'Ω' && r != '\u03a2': // Greek capitals, without the reserved code point
		default:
			return "", "console.desk.field.doc_number"
		}
	}
	return s, ""
}

// lastRunes returns the last n characters of s.
func lastRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[len(r)-n:])
}

// maskDocNumber shows only the end of a document number, the way the audit log
// keeps it: the page is read at a public counter.
func maskDocNumber(s string) string {
	if s == "" {
		return ""
	}
	return "…" + lastRunes(s, docNumberAuditKeep)
}
