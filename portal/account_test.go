package portal_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"dimos"
	"dimos/account"
	"dimos/i18n"
	"dimos/intake"
	"dimos/notify"
	"dimos/notify/smtptest"
	"dimos/portal"
	"dimos/postgres"
	"dimos/postgres/pgtest"
	"dimos/workflows"
)

// fakeWork records the updates the pages send; the workflow's own behaviour is
// tested in workflows.
type fakeWork struct {
	mu      sync.Mutex
	updates []update
	err     error
}

type update struct {
	number, name string
	req          any
}

func (f *fakeWork) Update(_ context.Context, number, name string, req any) (workflows.Done, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return workflows.Done{}, f.err
	}
	f.updates = append(f.updates, update{number, name, req})
	return workflows.Done{At: time.Now()}, nil
}

type accountHarness struct {
	*harness
	work *fakeWork
	smtp *smtptest.Server
}

func newAccountHarness(t *testing.T) *accountHarness {
	t.Helper()
	db := pgtest.New(t, true)
	srv := smtptest.Start(t)
	mailer, err := notify.NewSMTPMailer(notify.SMTPConfig{Addr: srv.Addr(), From: "noreply@dimos.example.gr",
		FromName: "Δήμος Δοκιμής", StartTLS: notify.StartTLSNever, HeloName: "localhost", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	accounts := account.New(account.Config{Citizens: db, Mailer: mailer, Throttle: db,
		PublicURL: "https://dimos.example.gr", Municipality: "Δήμος Δοκιμής", BcryptCost: bcrypt.MinCost})
	work := &fakeWork{}
	app := fiber.New(fiber.Config{DisablePreParseMultipartForm: true}) // as cmd/dimos serves it
	// The activation link of the mail lands on the JSON route.
	accounts.Mount(app)
	portal.New(portal.Config{
		Intake: intake.New(intake.Config{Cases: db, Directory: db}), Directory: db, Cases: db,
		Accounts: accounts, Citizens: db, Work: work, Attachments: db, Municipality: "Δήμος Δοκιμής",
	}).Mount(app)
	return &accountHarness{harness: &harness{app: app, db: db}, work: work, smtp: srv}
}

// citizen creates an account through the store and activates it with a token, as the
// e-mailed link would.
func citizen(t *testing.T, db *postgres.DB, username, email, password string) *dimos.Citizen {
	t.Helper()
	ctx := context.Background()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	c := &dimos.Citizen{Username: username, FirstName: "Ελένη", LastName: "Παππά", Email: email,
		MobilePhone: "6900000001", Address: "Εγνατίας 12, Θεσσαλονίκη", PasswordHash: string(hash)}
	if err := db.CreateCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	tok := sha256.Sum256([]byte("activate-" + username))
	now := time.Now()
	if err := db.CreateCitizenToken(ctx, dimos.CitizenToken{Hash: tok[:], CitizenID: c.ID,
		Kind: dimos.TokenActivation, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ActivateCitizen(ctx, tok[:], "pin-hash", now); err != nil {
		t.Fatal(err)
	}
	return c
}

// fileCase stores a case of the citizen.
func fileCase(t *testing.T, db *postgres.DB, c *dimos.Citizen, subject string) *dimos.Case {
	t.Helper()
	ctx := context.Background()
	cs := &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "potholes", Channel: dimos.ChannelPortal,
		Subject: subject, Text: "Κείμενο: " + subject, Contact: c.Contact()}
	if err := db.SubmitCase(ctx, cs); err != nil {
		t.Fatal(err)
	}
	if err := db.LinkCase(ctx, cs.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	return cs
}

// token opens a page and returns the double-submit cookie and token of its form.
func (h *harness) token(t *testing.T, path string, cookies ...*http.Cookie) (*http.Cookie, string) {
	t.Helper()
	a := h.get(t, path, cookies...)
	m := csrfField.FindStringSubmatch(a.body)
	for _, c := range a.cookies {
		if c.Name == "dimos_portal_csrf" && m != nil && c.Value == m[1] {
			return c, m[1]
		}
	}
	for _, c := range cookies {
		if c.Name == "dimos_portal_csrf" && m != nil && c.Value == m[1] {
			return c, m[1]
		}
	}
	t.Fatalf("GET %s: no double-submit token (status %d)", path, a.status)
	return nil, ""
}

func (h *harness) postTo(t *testing.T, path string, form url.Values, cookies ...*http.Cookie) answer {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		if c != nil {
			req.AddCookie(c)
		}
	}
	return h.do(t, req)
}

func cookieOf(a answer, name string) *http.Cookie {
	for _, c := range a.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// signIn signs in through the page and returns the session and CSRF cookies.
func (h *harness) signIn(t *testing.T, username, password string) (session, csrf *http.Cookie, token string) {
	t.Helper()
	csrf, token = h.token(t, "/signin")
	a := h.postTo(t, "/signin", url.Values{"_csrf": {token}, "username": {username}, "password": {password}}, csrf)
	if a.status != http.StatusSeeOther {
		t.Fatalf("sign in: status %d: %s", a.status, a.body)
	}
	session = cookieOf(a, account.CookieName)
	if session == nil || session.Value == "" {
		t.Fatalf("sign in set no session cookie: %v", a.cookies)
	}
	return session, csrf, token
}

func TestSignIn(t *testing.T) {
	h := newAccountHarness(t)
	citizen(t, h.db, "eleni", "eleni@example.gr", "σωστός-κωδικός")

	t.Run("Header", func(t *testing.T) {
		a := h.get(t, "/")
		if !strings.Contains(a.body, `href="/signin"`) || !strings.Contains(a.body, "Είσοδος") || strings.Contains(a.body, "Έξοδος") {
			t.Errorf("signed-out header: %s", a.body)
		}
	})

	t.Run("ErrWrongPassword", func(t *testing.T) {
		csrf, token := h.token(t, "/signin")
		a := h.postTo(t, "/signin", url.Values{"_csrf": {token}, "username": {"eleni"}, "password": {"λάθος-κωδικός"}}, csrf)
		if a.status != http.StatusUnauthorized {
			t.Fatalf("status %d", a.status)
		}
		if !strings.Contains(a.body, `role="alert"`) || !strings.Contains(a.body, `value="eleni"`) || cookieOf(a, account.CookieName) != nil {
			t.Errorf("re-rendered form: %s", a.body)
		}
		if !strings.Contains(a.body, i18n.T(i18n.Greek, "account.error.login")) {
			t.Error("the translated message is not shown")
		}
	})

	t.Run("ErrRequired", func(t *testing.T) {
		csrf, token := h.token(t, "/signin")
		a := h.postTo(t, "/signin", url.Values{"_csrf": {token}, "username": {"eleni"}}, csrf)
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, `id="f-password-error"`) {
			t.Errorf("status %d: %s", a.status, a.body)
		}
	})

	t.Run("ErrCSRFMissing", func(t *testing.T) {
		csrf, _ := h.token(t, "/signin")
		a := h.postTo(t, "/signin", url.Values{"username": {"eleni"}, "password": {"σωστός-κωδικός"}}, csrf)
		if a.status != http.StatusForbidden || cookieOf(a, account.CookieName) != nil {
			t.Errorf("status %d", a.status)
		}
	})

	t.Run("SignedIn", func(t *testing.T) {
		csrf, token := h.token(t, "/signin?next=/my/cases/2026-000001")
		a := h.postTo(t, "/signin", url.Values{"_csrf": {token}, "username": {"Eleni"}, "password": {"σωστός-κωδικός"},
			"next": {"/my/cases/2026-000001"}}, csrf)
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/my/cases/2026-000001" {
			t.Fatalf("status %d, Location %q", a.status, a.header.Get("Location"))
		}
		session := cookieOf(a, account.CookieName)
		home := h.get(t, "/", session, csrf)
		if !strings.Contains(home.body, "Οι υποθέσεις μου") || !strings.Contains(home.body, `action="/signout"`) || strings.Contains(home.body, `href="/signin"`) {
			t.Errorf("signed-in header: %s", home.body)
		}
		// Sign out: the session ends in the store, not only in the browser.
		if a := h.postTo(t, "/signout", url.Values{}, session, csrf); a.status != http.StatusForbidden {
			t.Errorf("sign-out without token: status %d", a.status)
		}
		out := h.postTo(t, "/signout", url.Values{"_csrf": {token}}, session, csrf)
		if out.status != http.StatusSeeOther || out.header.Get("Location") != "/" {
			t.Fatalf("sign out: status %d", out.status)
		}
		if a := h.get(t, "/my/cases", session); a.status != http.StatusSeeOther {
			t.Errorf("the old session still opens my cases: status %d", a.status)
		}
	})

	t.Run("ForeignNextRefused", func(t *testing.T) {
		csrf, token := h.token(t, "/signin")
		a := h.postTo(t, "/signin", url.Values{"_csrf": {token}, "username": {"eleni"}, "password": {"σωστός-κωδικός"},
			"next": {"//evil.example/"}}, csrf)
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/my/cases" {
			t.Errorf("status %d, Location %q", a.status, a.header.Get("Location"))
		}
	})

	t.Run("ErrThrottled", func(t *testing.T) {
		citizen(t, h.db, "nikos", "nikos@example.gr", "σωστός-κωδικός")
		csrf, token := h.token(t, "/signin")
		var a answer
		for range account.MaxAccountFailures + 1 {
			a = h.postTo(t, "/signin", url.Values{"_csrf": {token}, "username": {"nikos"}, "password": {"λάθος-κωδικός"}}, csrf)
		}
		if a.status != http.StatusTooManyRequests || !strings.Contains(a.body, `role="alert"`) {
			t.Errorf("status %d", a.status)
		}
	})
}

func TestRegister(t *testing.T) {
	h := newAccountHarness(t)
	csrf, token := h.token(t, "/register")
	form := url.Values{"_csrf": {token}, "first_name": {"Μαρία"}, "last_name": {"Παπαδάκη"}, "email": {"maria@example.gr"},
		"username": {"maria"}, "password": {"μυστικό-123"}, "mobile_phone": {"6912345678"}, "address": {"Κουντουριώτη 5"}}

	t.Run("ErrInvalid", func(t *testing.T) {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("password", "short")
		f.Del("address")
		a := h.postTo(t, "/register", f, csrf)
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, `id="f-password-error"`) ||
			!strings.Contains(a.body, `id="f-address-error"`) || !strings.Contains(a.body, `value="Μαρία"`) || strings.Contains(a.body, "short") {
			t.Errorf("status %d: %s", a.status, a.body)
		}
	})

	t.Run("Registered", func(t *testing.T) {
		a := h.postTo(t, "/register", form, csrf)
		if a.status != http.StatusCreated || !strings.Contains(a.body, "maria") {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		m := h.smtp.WaitFor(1, 10*time.Second)[0]
		if len(m.To) != 1 || m.To[0] != "maria@example.gr" || !strings.Contains(m.Text, "/api/v1/account/activate?token=") {
			t.Errorf("activation mail: %+v", m)
		}
		cit, err := h.db.CitizenByUsername(context.Background(), "maria")
		if err != nil || cit.Activated() || cit.Address != "Κουντουριώτη 5" {
			t.Errorf("stored %+v, %v", cit, err)
		}
	})

	t.Run("ErrTaken", func(t *testing.T) {
		a := h.postTo(t, "/register", form, csrf)
		if a.status != http.StatusConflict || !strings.Contains(a.body, `id="f-username-error"`) {
			t.Errorf("status %d: %s", a.status, a.body)
		}
	})

	t.Run("ErrCSRFMissing", func(t *testing.T) {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Del("_csrf")
		if a := h.postTo(t, "/register", f, csrf); a.status != http.StatusForbidden {
			t.Errorf("status %d", a.status)
		}
	})
}

func TestMyCases(t *testing.T) {
	h := newAccountHarness(t)
	eleni := citizen(t, h.db, "eleni", "eleni@example.gr", "σωστός-κωδικός")
	nikos := citizen(t, h.db, "nikos", "nikos@example.gr", "άλλος-κωδικός")
	first := fileCase(t, h.db, eleni, "Πρώτη λακκούβα")
	second := fileCase(t, h.db, eleni, "Δεύτερη λακκούβα")
	others := fileCase(t, h.db, nikos, "Λακκούβα του Νίκου")
	session, csrf, token := h.signIn(t, "eleni", "σωστός-κωδικός")

	t.Run("ErrSignedOut", func(t *testing.T) {
		a := h.get(t, "/my/cases/"+first.Number)
		want := "/signin?next=" + url.QueryEscape("/my/cases/"+first.Number)
		if a.status != http.StatusSeeOther || a.header.Get("Location") != want {
			t.Errorf("status %d, Location %q, want %q", a.status, a.header.Get("Location"), want)
		}
		b := h.get(t, "/my/cases")
		if b.status != http.StatusSeeOther || b.header.Get("Location") != "/signin?next=%2Fmy%2Fcases" {
			t.Errorf("status %d, Location %q", b.status, b.header.Get("Location"))
		}
	})

	t.Run("List", func(t *testing.T) {
		a := h.get(t, "/my/cases", session, csrf)
		if a.status != http.StatusOK {
			t.Fatalf("status %d", a.status)
		}
		i, j := strings.Index(a.body, second.Number), strings.Index(a.body, first.Number)
		if i < 0 || j < 0 || i > j {
			t.Errorf("own cases missing or not newest first: %d, %d", i, j)
		}
		if strings.Contains(a.body, others.Number) || strings.Contains(a.body, "Νίκου") {
			t.Error("another citizen's case is listed")
		}
		for _, want := range []string{"Εκκρεμεί", "Λακκούβες στο οδόστρωμα", "Καταγγελία", "Δεν έχει πρωτοκολληθεί ακόμη"} {
			if !strings.Contains(a.body, want) {
				t.Errorf("list lacks %q", want)
			}
		}
	})

	t.Run("Detail", func(t *testing.T) {
		a := h.get(t, "/my/cases/"+first.Number, session, csrf)
		if a.status != http.StatusOK || !strings.Contains(a.body, "Κείμενο: Πρώτη λακκούβα") || !strings.Contains(a.body, `action="/my/cases/`+first.Number+`/comment"`) {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		if strings.Contains(a.body, "event.") {
			t.Error("an event label is not translated")
		}
	})

	t.Run("ErrOthersCase", func(t *testing.T) {
		if a := h.get(t, "/my/cases/"+others.Number, session, csrf); a.status != http.StatusNotFound || strings.Contains(a.body, "Νίκου") {
			t.Errorf("status %d", a.status)
		}
		a := h.postTo(t, "/my/cases/"+others.Number+"/comment", url.Values{"_csrf": {token}, "text": {"Εισβολή"}}, session, csrf)
		if a.status != http.StatusNotFound || len(h.work.updates) != 0 {
			t.Errorf("comment on another's case: status %d, updates %v", a.status, h.work.updates)
		}
	})

	t.Run("Comment", func(t *testing.T) {
		a := h.postTo(t, "/my/cases/"+first.Number+"/comment", url.Values{"_csrf": {token}, "text": {"  Η λακκούβα μεγάλωσε.  "}}, session, csrf)
		if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/my/cases/"+first.Number+"?commented=1") {
			t.Fatalf("status %d, Location %q", a.status, a.header.Get("Location"))
		}
		if len(h.work.updates) != 1 {
			t.Fatalf("updates %v", h.work.updates)
		}
		u := h.work.updates[0]
		req, ok := u.req.(workflows.CitizenCommentRequest)
		if u.number != first.Number || u.name != workflows.UpdateCitizenComment || !ok || req.Text != "Η λακκούβα μεγάλωσε." {
			t.Errorf("update %+v", u)
		}
	})

	t.Run("ErrCommentCSRFMissing", func(t *testing.T) {
		n := len(h.work.updates)
		a := h.postTo(t, "/my/cases/"+first.Number+"/comment", url.Values{"text": {"Χωρίς κουπόνι"}}, session, csrf)
		if a.status != http.StatusForbidden || len(h.work.updates) != n {
			t.Errorf("status %d", a.status)
		}
	})

	t.Run("ErrCommentRefused", func(t *testing.T) {
		h.work.err = &dimos.Error{Code: dimos.ECONFLICT, Key: "error.conflict"}
		defer func() { h.work.err = nil }()
		a := h.postTo(t, "/my/cases/"+first.Number+"/comment", url.Values{"_csrf": {token}, "text": {"Κρατήστε με"}}, session, csrf)
		if a.status != http.StatusConflict || !strings.Contains(a.body, `id="f-comment-error"`) || !strings.Contains(a.body, ">Κρατήστε με</textarea>") {
			t.Errorf("status %d: %s", a.status, a.body)
		}
	})

	t.Run("ErrTemporalDown", func(t *testing.T) {
		h.work.err = context.DeadlineExceeded
		defer func() { h.work.err = nil }()
		a := h.postTo(t, "/my/cases/"+first.Number+"/comment", url.Values{"_csrf": {token}, "text": {"Κρατήστε με"}}, session, csrf)
		if a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "δοκιμάστε ξανά") || !strings.Contains(a.body, ">Κρατήστε με</textarea>") {
			t.Errorf("status %d: %s", a.status, a.body)
		}
	})

	t.Run("ErrCommentEmpty", func(t *testing.T) {
		a := h.postTo(t, "/my/cases/"+first.Number+"/comment", url.Values{"_csrf": {token}, "text": {"   "}}, session, csrf)
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, `aria-describedby="f-comment-hint f-comment-error"`) {
			t.Errorf("status %d", a.status)
		}
	})
}

// TestActivationLinkInABrowser: the link of the activation mail, clicked in a browser,
// lands on the sign-in page with a sentence, not on JSON.
func TestActivationLinkInABrowser(t *testing.T) {
	h := newAccountHarness(t)
	ctx := context.Background()
	c := &dimos.Citizen{Username: "newcomer", FirstName: "Άννα", LastName: "Νέα", Email: "anna@example.gr",
		MobilePhone: "6900000011", Address: "Τσιμισκή 1", PasswordHash: "x"}
	if err := h.db.CreateCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	tok := sha256.Sum256([]byte("the-mailed-token"))
	now := time.Now()
	if err := h.db.CreateCitizenToken(ctx, dimos.CitizenToken{Hash: tok[:], CitizenID: c.ID,
		Kind: dimos.TokenActivation, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	click := func() answer {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/account/activate?token=the-mailed-token", nil)
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		return h.do(t, req)
	}
	a := click()
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/signin?notice=activated" {
		t.Fatalf("%d %s", a.status, a.header.Get("Location"))
	}
	if page := h.get(t, "/signin?notice=activated"); !strings.Contains(page.body, "Ο λογαριασμός ενεργοποιήθηκε") {
		t.Fatalf("sign-in page without the notice:\n%s", page.body)
	}
	if a := click(); a.header.Get("Location") != "/signin?notice=activation_failed" {
		t.Fatalf("second click: %d %s", a.status, a.header.Get("Location"))
	}
	if page := h.get(t, "/signin?notice=<script>"); strings.Contains(page.body, "<script>") {
		t.Fatal("an unknown notice was echoed")
	}
}
