package portal_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/intake"
	"dimos/portal"
	"dimos/postgres"
	"dimos/postgres/pgtest"
)

type harness struct {
	app *fiber.App
	db  *postgres.DB
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	db := pgtest.New(t, true)
	app := fiber.New(fiber.Config{DisablePreParseMultipartForm: true}) // as cmd/dimos serves it
	portal.New(portal.Config{
		Intake: intake.New(intake.Config{Cases: db, Directory: db}), Directory: db, Cases: db,
		Municipality: "Δήμος Δοκιμής",
	}).Mount(app)
	return &harness{app: app, db: db}
}

type answer struct {
	status  int
	body    string
	header  http.Header
	cookies []*http.Cookie
}

func (h *harness) do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := h.app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(b), resp.Header, resp.Cookies()}
}

func (h *harness) get(t *testing.T, path string, cookies ...*http.Cookie) answer {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return h.do(t, req)
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// form opens the submit form and returns the double-submit cookie and token.
func (h *harness) form(t *testing.T) (*http.Cookie, string) {
	t.Helper()
	a := h.get(t, "/submit")
	if a.status != http.StatusOK {
		t.Fatalf("GET /submit: %d", a.status)
	}
	m := csrfField.FindStringSubmatch(a.body)
	var cookie *http.Cookie
	for _, c := range a.cookies {
		if c.Name == "dimos_portal_csrf" {
			cookie = c
		}
	}
	if m == nil || cookie == nil || cookie.Value != m[1] {
		t.Fatalf("no double-submit token: field %v, cookie %v", m, cookie)
	}
	return cookie, m[1]
}

func (h *harness) post(t *testing.T, form url.Values, cookies ...*http.Cookie) answer {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/submit", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return h.do(t, req)
}

func validForm(token string) url.Values {
	return url.Values{
		"_csrf": {token}, "kind": {"complaint"}, "category": {"potholes"},
		"subject": {"Λακκούβα στην οδό Κουντουριώτη"}, "text": {"Βαθιά λακκούβα μπροστά στο νούμερο 12."},
		"desired_action": {"Επισκευή"}, "first_name": {"Μαρία"}, "last_name": {"Παπαδάκη"},
		"email": {"maria@example.gr"},
	}
}

var receiptNumber = regexp.MustCompile(`class="case-number" id="case-number">(\d{4}-\d{6,})<`)

func TestSubmit(t *testing.T) {
	h := newHarness(t)
	cookie, token := h.form(t)

	t.Run("Stored", func(t *testing.T) {
		a := h.post(t, validForm(token), cookie)
		if a.status != http.StatusCreated {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		m := receiptNumber.FindStringSubmatch(a.body)
		if m == nil {
			t.Fatalf("receipt shows no case number: %s", a.body)
		}
		cs, err := h.db.CaseByNumber(context.Background(), m[1])
		if err != nil {
			t.Fatal(err)
		}
		if cs.Channel != dimos.ChannelPortal || cs.Kind != dimos.KindComplaint || cs.CategoryCode != "potholes" ||
			cs.Contact.Email != "maria@example.gr" || cs.Lang != "el" || cs.Anonymous {
			t.Errorf("stored %+v", cs)
		}
		if !strings.Contains(a.body, "Κλειδί πρόσβασης") || !strings.Contains(a.body, "/track?number="+m[1]) {
			t.Error("receipt lacks the access key or the tracking link")
		}
		hash, err := h.db.AccessKeyHash(context.Background(), cs.ID)
		if err != nil || len(hash) == 0 {
			t.Errorf("no access key stored: %v", err)
		}
		if a.header.Get("Cache-Control") != "no-store" {
			t.Errorf("a receipt with a key may be cached: %q", a.header.Get("Cache-Control"))
		}
	})

	t.Run("Anonymous", func(t *testing.T) {
		f := validForm(token)
		f.Set("anonymous", "1")
		a := h.post(t, f, cookie)
		m := receiptNumber.FindStringSubmatch(a.body)
		if a.status != http.StatusCreated || m == nil {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		cs, _ := h.db.CaseByNumber(context.Background(), m[1])
		if !cs.Anonymous || cs.Contact != (dimos.Contact{}) {
			t.Errorf("anonymous case kept contact: %+v", cs)
		}
		if strings.Contains(a.body, "Κλειδί πρόσβασης") {
			t.Error("an anonymous case got an access key")
		}
	})

	t.Run("ErrMissingFields", func(t *testing.T) {
		f := validForm(token)
		f.Del("category")
		f.Set("text", "")
		f.Del("email")
		a := h.post(t, f, cookie)
		if a.status != http.StatusBadRequest {
			t.Fatalf("status %d", a.status)
		}
		for _, want := range []string{
			`<ul id="f-category-error" class="field-errors"><li>`,
			`<ul id="f-text-error" class="field-errors"><li>`,
			`<ul id="f-contact-email-error" class="field-errors"><li>`,
			`aria-describedby="f-text-hint f-text-error"`,
			`value="Λακκούβα στην οδό Κουντουριώτη"`, // typed text kept
			`value="Μαρία"`,
		} {
			if !strings.Contains(a.body, want) {
				t.Errorf("re-rendered form lacks %s", want)
			}
		}
		// The message sits beside its field: between the label and the input.
		i, j, k := strings.Index(a.body, `<label for="f-text">`), strings.Index(a.body, `id="f-text-error"`), strings.Index(a.body, `<textarea id="f-text"`)
		if !(i < j && j < k) {
			t.Errorf("text error is not beside its field: label %d, error %d, input %d", i, j, k)
		}
		if !strings.Contains(a.body, "Το πεδίο είναι υποχρεωτικό") && !strings.Contains(a.body, "υποχρεωτικ") {
			t.Error("no Greek message for a required field")
		}
	})

	t.Run("ErrCategoryKind", func(t *testing.T) {
		f := validForm(token)
		f.Set("kind", "complaint")
		f.Set("category", "bulky-items") // requests only
		a := h.post(t, f, cookie)
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, `id="f-category-error"`) {
			t.Errorf("status %d, category error shown %v", a.status, strings.Contains(a.body, `id="f-category-error"`))
		}
	})

	t.Run("ErrCertificate", func(t *testing.T) {
		f := validForm(token)
		f.Set("kind", "certificate")
		f.Set("category", "cert-birth")
		a := h.post(t, f, cookie)
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, `id="f-kind-error"`) {
			t.Errorf("status %d", a.status)
		}
	})

	t.Run("ErrCSRFMissing", func(t *testing.T) {
		f := validForm(token)
		f.Del("_csrf")
		if a := h.post(t, f, cookie); a.status != http.StatusForbidden {
			t.Errorf("no token in the form: status %d", a.status)
		}
		if a := h.post(t, validForm(token)); a.status != http.StatusForbidden {
			t.Errorf("no cookie: status %d", a.status)
		}
		if a := h.post(t, validForm("forged"), cookie); a.status != http.StatusForbidden {
			t.Errorf("token differs from cookie: status %d", a.status)
		}
	})

	t.Run("EscapesScript", func(t *testing.T) {
		f := validForm(token)
		f.Set("subject", `<script>alert(1)</script>`)
		f.Del("category")
		a := h.post(t, f, cookie)
		if a.status != http.StatusBadRequest {
			t.Fatalf("status %d", a.status)
		}
		if strings.Contains(a.body, "<script>") || !strings.Contains(a.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Error("the subject is not escaped")
		}
	})
}

func TestSubmitFormCategories(t *testing.T) {
	h := newHarness(t)
	a := h.get(t, "/submit")
	if !strings.Contains(a.body, `<option value="potholes">Λακκούβες στο οδόστρωμα</option>`) {
		t.Error("a named category is not offered")
	}
	if strings.Contains(a.body, `value="cert-birth"`) {
		t.Error("a certificate-only category is offered on a form that files no certificates")
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options"} {
		if a.header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}
	if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
}

func TestTrack(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	named := &dimos.Case{Kind: dimos.KindRequest, CategoryCode: "potholes", Channel: dimos.ChannelPortal,
		Subject: "Λακκούβα", Text: "Στην πλατεία.", Contact: dimos.Contact{FirstName: "Νίκος", LastName: "Λ", Phone: "2841022222"}}
	anon := &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "cleaning", Channel: dimos.ChannelPortal,
		Subject: "Σκουπίδια", Text: "Στο πάρκο.", Anonymous: true}
	for _, cs := range []*dimos.Case{named, anon} {
		if err := h.db.SubmitCase(ctx, cs); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Pending", func(t *testing.T) {
		a := h.get(t, "/track?number="+named.Number)
		if a.status != http.StatusOK || !strings.Contains(a.body, "Εκκρεμεί") || !strings.Contains(a.body, named.SubmittedAt.Format("2006")) {
			t.Errorf("status %d: %s", a.status, a.body)
		}
	})
	t.Run("DigitsOnly", func(t *testing.T) {
		a := h.get(t, "/track?number="+strings.ReplaceAll(named.Number, "-", ""))
		if a.status != http.StatusOK || !strings.Contains(a.body, "Εκκρεμεί") {
			t.Errorf("status %d", a.status)
		}
	})
	t.Run("English", func(t *testing.T) {
		a := h.get(t, "/track?number="+named.Number, &http.Cookie{Name: "lang", Value: "en"})
		if !strings.Contains(a.body, "Pending") || !strings.Contains(a.body, `<html lang="en">`) {
			t.Errorf("not in English: %s", a.body)
		}
	})
	t.Run("Anonymous", func(t *testing.T) {
		a := h.get(t, "/track?number="+anon.Number)
		if a.status != http.StatusOK || !strings.Contains(a.body, "ανώνυμα") || strings.Contains(a.body, "Εκκρεμεί") {
			t.Errorf("status %d: %s", a.status, a.body)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		a := h.get(t, "/track?number=1999-999999")
		if a.status != http.StatusNotFound || !strings.Contains(a.body, "Δεν βρέθηκε") {
			t.Errorf("status %d", a.status)
		}
	})
	t.Run("ErrBadFormat", func(t *testing.T) {
		a := h.get(t, "/track?number=abc")
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, `id="f-number-error"`) ||
			!strings.Contains(a.body, `aria-describedby="f-number-hint f-number-error"`) || !strings.Contains(a.body, `value="abc"`) {
			t.Errorf("status %d: %s", a.status, a.body)
		}
	})
}

func TestLang(t *testing.T) {
	h := newHarness(t)
	home := h.get(t, "/")
	if !strings.Contains(home.body, `<html lang="el">`) || !strings.Contains(home.body, "Δήμος Δοκιμής") {
		t.Fatalf("home is not Greek first: %s", home.body)
	}
	a := h.get(t, "/lang/en?next=/track")
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/track" {
		t.Fatalf("status %d, Location %q", a.status, a.header.Get("Location"))
	}
	var lang *http.Cookie
	for _, c := range a.cookies {
		if c.Name == "lang" {
			lang = c
		}
	}
	if lang == nil || lang.Value != "en" {
		t.Fatalf("no lang cookie: %v", a.cookies)
	}
	if b := h.get(t, "/", lang); !strings.Contains(b.body, `<html lang="en">`) || !strings.Contains(b.body, "Track a case") {
		t.Error("the page did not switch to English")
	}
	for _, next := range []string{"https://evil.example/", "//evil.example/", `/\evil.example`, "javascript:alert(1)", "evil"} {
		a := h.get(t, "/lang/el?next="+url.QueryEscape(next))
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/" {
			t.Errorf("next=%s: status %d, Location %q", next, a.status, a.header.Get("Location"))
		}
	}
	if a := h.get(t, "/lang/de"); a.status != http.StatusNotFound {
		t.Errorf("unknown language: status %d", a.status)
	}
}
