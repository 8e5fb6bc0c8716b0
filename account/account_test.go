package account_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"dimos"
	"dimos/account"
	"dimos/i18n"
	"dimos/notify"
	"dimos/notify/smtptest"
	"dimos/postgres"
	"dimos/postgres/pgtest"
)

const publicURL = "https://dimos.example.gr"

type env struct {
	t    *testing.T
	db   *postgres.DB
	smtp *smtptest.Server
	api  *account.API
	app  *fiber.App
}

// newEnv runs the account API on a fresh database, mailing through a real SMTP
// listener.
func newEnv(t *testing.T) *env {
	t.Helper()
	db := pgtest.New(t, true)
	srv := smtptest.Start(t)
	mailer, err := notify.NewSMTPMailer(notify.SMTPConfig{Addr: srv.Addr(), From: "noreply@dimos.example.gr",
		FromName: "Δήμος Δοκιμών", StartTLS: notify.StartTLSNever, HeloName: "localhost", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	api := account.New(account.Config{Citizens: db, Mailer: mailer, Throttle: db, PublicURL: publicURL + "/",
		Municipality: "Δήμος Δοκιμών", BcryptCost: bcrypt.MinCost})
	app := fiber.New(fiber.Config{DisablePreParseMultipartForm: true}) // as cmd/dimos serves it
	api.Mount(app)
	// What intake will do: find the signed-in citizen of a request.
	app.Get("/whoami", func(c *fiber.Ctx) error {
		cit, err := api.CitizenFromRequest(c)
		if err != nil {
			return c.Status(dimos.HTTPStatus(dimos.ErrorCode(err))).SendString(dimos.ErrorCode(err))
		}
		return c.JSON(cit.Contact())
	})
	return &env{t: t, db: db, smtp: srv, api: api, app: app}
}

type response struct {
	status int
	body   map[string]any
	raw    []byte
	header http.Header
}

// fields lists the field errors of an error answer as "field:code".
func (r response) fields() []string {
	var out []string
	e, _ := r.body["error"].(map[string]any)
	fs, _ := e["fields"].([]any)
	for _, f := range fs {
		m := f.(map[string]any)
		out = append(out, m["field"].(string)+":"+m["code"].(string))
	}
	return out
}

type reqOpt func(*http.Request)

func bearer(token string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func cookie(token string) reqOpt {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: account.CookieName, Value: token}) }
}

func noContentType(r *http.Request) { r.Header.Del("Content-Type") }

func (e *env) do(method, path string, body any, opts ...reqOpt) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	res, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, raw: raw, header: res.Header}
	json.Unmarshal(raw, &out.body)
	// Every sentence of every answer is in the catalogue, in both languages.
	if e, ok := out.body["error"].(map[string]any); ok {
		msg := e["message"].(map[string]any)
		if msg["el"] == msg["en"] {
			panic("untranslated error in " + string(raw))
		}
	}
	return out
}

func (e *env) want(r response, status int) {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
}

func registration(username, email string) map[string]any {
	return map[string]any{"username": username, "password": "σωστός-κωδικός", "first_name": "Ελένη",
		"last_name": "Παππά", "email": email, "mobile_phone": "6900000001", "address": "Εγνατίας 12, Θεσσαλονίκη"}
}

var (
	activationLink = regexp.MustCompile(regexp.QuoteMeta(publicURL) + `(/api/v1/account/activate\?token=[A-Za-z0-9_-]{43})`)
	resetLink      = regexp.MustCompile(regexp.QuoteMeta(publicURL) + `/account/reset\?token=([A-Za-z0-9_-]{43})`)
	pinLine        = regexp.MustCompile(`PIN[^:\n]*: (\d{6})\n`)
)

// mail waits for the n-th message (1-based) and checks its recipient.
func (e *env) mail(n int, to string) smtptest.Message {
	e.t.Helper()
	m := e.smtp.WaitFor(n, 10*time.Second)[n-1]
	if !slices.Equal(m.To, []string{to}) {
		e.t.Fatalf("mail %d went to %v, want %s", n, m.To, to)
	}
	return m
}

// activated registers and activates an account and returns the PIN from the mail.
func (e *env) activated(username, email string) (pin string) {
	e.t.Helper()
	before := len(e.smtp.Messages())
	e.want(e.do("POST", "/api/v1/account/register", registration(username, email)), 201)
	link := activationLink.FindStringSubmatch(e.mail(before+1, email).Text)
	if link == nil {
		e.t.Fatalf("no activation link in:\n%s", e.smtp.Messages()[before].Text)
	}
	e.want(e.do("GET", link[1], nil), 200)
	m := e.mail(before+2, email)
	p := pinLine.FindStringSubmatch(m.Text)
	if p == nil {
		e.t.Fatalf("no PIN in:\n%s", m.Text)
	}
	return p[1]
}

func (e *env) login(username, password string) response {
	e.t.Helper()
	return e.do("POST", "/api/v1/account/login", map[string]string{"username": username, "password": password})
}

func (e *env) token(username string) string {
	e.t.Helper()
	r := e.login(username, "σωστός-κωδικός")
	e.want(r, 200)
	return r.body["token"].(string)
}

func (e *env) pinMatches(username, pin string) bool {
	e.t.Helper()
	c, err := e.db.CitizenByUsername(context.Background(), username)
	if err != nil {
		e.t.Fatal(err)
	}
	return bcrypt.CompareHashAndPassword([]byte(c.PINHash), []byte(pin)) == nil
}

// submitLinked files a case as intake will for a signed-in citizen.
func (e *env) submitLinked(username string) *dimos.Case {
	e.t.Helper()
	ctx := context.Background()
	cit, err := e.db.CitizenByUsername(ctx, username)
	if err != nil {
		e.t.Fatal(err)
	}
	cs := &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "potholes", Channel: dimos.ChannelPortal,
		Subject: "Λακκούβα στην Εγνατίας", Text: "Μεγάλη λακκούβα μπροστά στο 12.", Contact: cit.Contact()}
	if err := e.db.SubmitCase(ctx, cs); err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.LinkCase(ctx, cs.ID, cit.ID); err != nil {
		e.t.Fatal(err)
	}
	return cs
}

func TestRegisterActivateSignIn(t *testing.T) {
	e := newEnv(t)
	e.want(e.do("POST", "/api/v1/account/register", registration("Eleni.Pappa", "eleni@example.gr")), 201)

	activation := e.mail(1, "eleni@example.gr")
	if !strings.Contains(activation.Subject, "Ενεργοποίηση") || !strings.Contains(activation.Text, "eleni.pappa") {
		t.Fatalf("activation mail:\n%s\n%s", activation.Subject, activation.Text)
	}
	link := activationLink.FindStringSubmatch(activation.Text)
	if link == nil {
		t.Fatalf("no activation link in:\n%s", activation.Text)
	}

	t.Run("ErrNotActivated", func(t *testing.T) {
		r := e.login("eleni.pappa", "σωστός-κωδικός")
		e.want(r, 403)
		if r.body["error"].(map[string]any)["code"] != dimos.EFORBIDDEN {
			t.Fatalf("%s", r.raw)
		}
	})

	t.Run("ActivationMailsUsernameAndPIN", func(t *testing.T) {
		r := e.do("GET", link[1], nil)
		e.want(r, 200)
		if r.body["status"] != "activated" || r.body["username"] != "eleni.pappa" {
			t.Fatalf("%s", r.raw)
		}
		m := e.mail(2, "eleni@example.gr")
		if !strings.Contains(m.Text, "Όνομα χρήστη: eleni.pappa") {
			t.Fatalf("no user name in:\n%s", m.Text)
		}
		p := pinLine.FindStringSubmatch(m.Text)
		if p == nil {
			t.Fatalf("no PIN in:\n%s", m.Text)
		}
		if !e.pinMatches("eleni.pappa", p[1]) {
			t.Fatal("the mailed PIN does not match the stored hash")
		}
		if m.MessageID == e.smtp.Messages()[0].MessageID {
			t.Fatal("two events share a Message-ID")
		}
	})
	t.Run("ErrActivationLinkUsedTwice", func(t *testing.T) {
		e.want(e.do("GET", link[1], nil), 401)
		e.want(e.do("GET", "/api/v1/account/activate?token=nonsense", nil), 401)
		e.want(e.do("GET", "/api/v1/account/activate", nil), 400)
	})

	var token string
	t.Run("SignIn", func(t *testing.T) {
		r := e.login("ELENI.PAPPA", "σωστός-κωδικός")
		e.want(r, 200)
		token = r.body["token"].(string)
		var c *http.Cookie
		for _, v := range r.header.Values("Set-Cookie") {
			if ck, err := http.ParseSetCookie(v); err == nil && ck.Name == account.CookieName {
				c = ck
			}
		}
		if c == nil || c.Value != token || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Fatalf("cookie: %+v", r.header.Values("Set-Cookie"))
		}
		if exp, _ := time.Parse(time.RFC3339, r.body["expires_at"].(string)); time.Until(exp) < 29*24*time.Hour {
			t.Fatalf("session expires %v", exp)
		}
	})
	t.Run("ErrWrongPassword", func(t *testing.T) {
		e.want(e.login("eleni.pappa", "λάθος-κωδικός"), 401)
		e.want(e.login("nobody", "λάθος-κωδικός"), 401)
		e.want(e.do("GET", "/api/v1/account/profile", nil), 401)
		e.want(e.do("GET", "/api/v1/account/profile", nil, bearer("forged")), 401)
	})
	t.Run("Profile", func(t *testing.T) {
		r := e.do("GET", "/api/v1/account/profile", nil, bearer(token))
		e.want(r, 200)
		if r.body["username"] != "eleni.pappa" || r.body["first_name"] != "Ελένη" || r.body["verified"] != false {
			t.Fatalf("%s", r.raw)
		}
		if bytes.Contains(r.raw, []byte("hash")) || bytes.Contains(r.raw, []byte("$2a$")) {
			t.Fatalf("profile shows a hash: %s", r.raw)
		}
		r = e.do("PATCH", "/api/v1/account/profile", map[string]any{"phone": "2310 000 000", "address": "Τσιμισκή 1", "afm": "094019245"}, bearer(token))
		e.want(r, 200)
		if r.body["phone"] != "2310 000 000" || r.body["address"] != "Τσιμισκή 1" || r.body["first_name"] != "Ελένη" || r.body["afm"] != "094019245" {
			t.Fatalf("%s", r.raw)
		}
		r = e.do("PATCH", "/api/v1/account/profile", map[string]any{"email": "nope", "afm": "123456789", "first_name": ""}, bearer(token))
		e.want(r, 400)
		if got, want := r.fields(), []string{"first_name:field.required", "email:field.email.invalid", "afm:account.field.afm"}; !slices.Equal(got, want) {
			t.Fatalf("fields %v, want %v", got, want)
		}
		r = e.do("PATCH", "/api/v1/account/profile", map[string]any{"username": "other"}, bearer(token))
		e.want(r, 400)
		if got := r.fields(); !slices.Equal(got, []string{"username:field.unknown"}) {
			t.Fatalf("fields %v", got)
		}
	})
	t.Run("ErrProfileEmailTaken", func(t *testing.T) {
		e.activated("nikos", "nikos@example.gr")
		r := e.do("PATCH", "/api/v1/account/profile", map[string]any{"email": "NIKOS@example.gr"}, bearer(token))
		e.want(r, 409)
		if got := r.fields(); !slices.Equal(got, []string{"email:account.error.email_taken"}) {
			t.Fatalf("fields %v", got)
		}
	})
	t.Run("OwnCases", func(t *testing.T) {
		r := e.do("GET", "/api/v1/account/cases", nil, bearer(token))
		e.want(r, 200)
		if n := len(r.body["cases"].([]any)); n != 0 {
			t.Fatalf("%d cases before any", n)
		}
		first, second := e.submitLinked("eleni.pappa"), e.submitLinked("eleni.pappa")
		e.submitLinked("nikos")
		r = e.do("GET", "/api/v1/account/cases", nil, cookie(token))
		e.want(r, 200)
		list := r.body["cases"].([]any)
		if len(list) != 2 || list[0].(map[string]any)["number"] != second.Number || list[1].(map[string]any)["number"] != first.Number {
			t.Fatalf("cases: %s", r.raw)
		}
		if c := list[0].(map[string]any); c["status"] != "pending" || c["status_text"].(map[string]any)["el"] != i18n.T("el", "status.pending") {
			t.Fatalf("case: %v", c)
		}
	})
	t.Run("CitizenFromRequest", func(t *testing.T) {
		for name, opt := range map[string]reqOpt{"bearer": bearer(token), "cookie": cookie(token)} {
			r := e.do("GET", "/whoami", nil, opt)
			if r.status != 200 || r.body["email"] != "eleni@example.gr" || r.body["phone"] != "6900000001" {
				t.Fatalf("%s: %d %s", name, r.status, r.raw)
			}
		}
		e.want(e.do("GET", "/whoami", nil), 401)
	})
	t.Run("Verification", func(t *testing.T) {
		before := len(e.smtp.Messages())
		r := e.do("POST", "/api/v1/account/verification", map[string]string{"doc_type": "selfie"}, bearer(token))
		e.want(r, 400)
		r = e.do("POST", "/api/v1/account/verification", map[string]string{"doc_type": "passport"}, bearer(token))
		e.want(r, 202)
		if m := e.mail(before+1, "eleni@example.gr"); !strings.Contains(m.Text, "διαβατήριό") {
			t.Fatalf("verification mail:\n%s", m.Text)
		}
		c, _ := e.db.CitizenByUsername(context.Background(), "eleni.pappa")
		if c.VerificationDoc != dimos.DocPassport || c.VerificationRequestedAt.IsZero() || c.Verified() {
			t.Fatalf("after request: %+v", c)
		}
		// The desk's side, from the console (CitizenStore.VerifyCitizen).
		var desk int64
		e.db.Pool.QueryRow(context.Background(), `SELECT id FROM employees ORDER BY id LIMIT 1`).Scan(&desk)
		if err := e.db.VerifyCitizen(context.Background(), c.ID, desk, dimos.DocPassport, "AK1234567", time.Now()); err != nil {
			t.Fatal(err)
		}
		r = e.do("GET", "/api/v1/account/profile", nil, bearer(token))
		if r.body["verified"] != true {
			t.Fatalf("%s", r.raw)
		}
		e.want(e.do("POST", "/api/v1/account/verification", map[string]string{"doc_type": "passport"}, bearer(token)), 409)
	})
	t.Run("Export", func(t *testing.T) {
		r := e.do("GET", "/api/v1/account/export", nil, bearer(token))
		e.want(r, 200)
		if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, "eleni.pappa") {
			t.Fatalf("Content-Disposition %q", cd)
		}
		if r.body["account"].(map[string]any)["email"] != "eleni@example.gr" || len(r.body["cases"].([]any)) != 2 ||
			r.body["verification_doc_number"] != "AK1234567" {
			t.Fatalf("export: %s", r.raw)
		}
		if bytes.Contains(r.raw, []byte("$2a$")) {
			t.Fatal("export carries a password hash")
		}
	})
	t.Run("ErrCookieWithoutJSON", func(t *testing.T) {
		// A cross-site form could post with the cookie, but not as JSON.
		e.want(e.do("POST", "/api/v1/account/logout", "", cookie(token), noContentType), 403)
		e.want(e.do("GET", "/api/v1/account/profile", nil, bearer(token)), 200)
	})
	t.Run("Logout", func(t *testing.T) {
		e.want(e.do("POST", "/api/v1/account/logout", nil, bearer(token)), 200)
		e.want(e.do("GET", "/api/v1/account/profile", nil, bearer(token)), 401)
	})
}

func TestRegisterErrors(t *testing.T) {
	e := newEnv(t)
	e.want(e.do("POST", "/api/v1/account/register", registration("maria", "maria@example.gr")), 201)

	t.Run("ErrDuplicateUsername", func(t *testing.T) {
		r := e.do("POST", "/api/v1/account/register", registration("MARIA", "other@example.gr"))
		e.want(r, 409)
		if got := r.fields(); !slices.Equal(got, []string{"username:account.error.username_taken"}) {
			t.Fatalf("fields %v", got)
		}
	})
	t.Run("ErrDuplicateEmail", func(t *testing.T) {
		r := e.do("POST", "/api/v1/account/register", registration("maria2", "Maria@Example.gr"))
		e.want(r, 409)
		if got := r.fields(); !slices.Equal(got, []string{"email:account.error.email_taken"}) {
			t.Fatalf("fields %v", got)
		}
	})

	tests := []struct {
		name   string
		body   any
		status int
		fields []string
	}{
		{"ErrEverythingMissing", map[string]any{}, 400, []string{"username:field.required", "first_name:field.required",
			"last_name:field.required", "email:field.required", "mobile_phone:field.required", "address:field.required",
			"password:field.required"}},
		{"ErrEverythingWrong", map[string]any{"username": "ελένη", "password": "short", "first_name": "Ε",
			"last_name": strings.Repeat("π", 101), "email": "eleni@", "mobile_phone": "69", "phone": "x",
			"address": "Οδός 1", "phone_access_code": "12", "afm": "123456789", "lang": "en"}, 400,
			[]string{"username:account.field.username", "last_name:field.too_long", "email:field.email.invalid",
				"mobile_phone:field.phone.invalid", "phone:field.phone.invalid", "phone_access_code:account.field.access_code",
				"afm:account.field.afm", "password:account.field.password.short"}},
		{"ErrPasswordTooLong", func() map[string]any {
			r := registration("long", "long@example.gr")
			r["password"] = strings.Repeat("κ", 37) // 74 bytes
			return r
		}(), 400, []string{"password:account.field.password.long"}},
		{"ErrUnknownField", `{"username":"x","admin":true}`, 400, []string{"admin:field.unknown"}},
		{"ErrWrongType", `{"username":42}`, 400, []string{"username:field.type"}},
		{"ErrInvalidUTF8", []byte("{\"username\":\"a\xffb\"}"), 400, nil},
		{"ErrNotJSON", `username=maria`, 400, nil},
		{"ErrTrailingData", `{"username":"x"} {}`, 400, nil},
		{"ErrTooLarge", `{"address":"` + strings.Repeat("α", 40<<10) + `"}`, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/account/register", tt.body)
			e.want(r, tt.status)
			if got := r.fields(); !slices.Equal(got, tt.fields) {
				t.Fatalf("fields:\n got %v\nwant %v", got, tt.fields)
			}
			e := r.body["error"].(map[string]any)
			if e["code"] != dimos.EINVALID || e["message"].(map[string]any)["el"] == "" {
				t.Fatalf("%s", r.raw)
			}
		})
	}
	if n := len(e.smtp.Messages()); n != 1 {
		t.Fatalf("%d mails; only the first registration should have mailed", n)
	}
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t)
	e.activated("kostas", "kostas@example.gr")
	for i := range account.MaxAccountFailures {
		if r := e.login("kostas", "λάθος-κωδικός"); r.status != 401 {
			t.Fatalf("attempt %d: %d %s", i+1, r.status, r.raw)
		}
	}
	t.Run("ErrTooManyEvenWithTheRightPassword", func(t *testing.T) {
		r := e.login("KOSTAS", "σωστός-κωδικός")
		e.want(r, 429)
		if r.body["error"].(map[string]any)["code"] != dimos.ETOOMANY {
			t.Fatalf("%s", r.raw)
		}
	})
	t.Run("OtherAccountsUnaffected", func(t *testing.T) {
		e.activated("anna", "anna@example.gr")
		e.want(e.login("anna", "σωστός-κωδικός"), 200)
	})
	t.Run("ErrTooManyFromOneAddress", func(t *testing.T) {
		// 5 failures so far from this address; 15 more on unknown names reach 20.
		for i := range account.MaxAddressFailures - account.MaxAccountFailures {
			e.want(e.login("ghost"+strings.Repeat("x", i), "λάθος"), 401)
		}
		e.want(e.login("anna", "σωστός-κωδικός"), 429)
	})
}

func TestForgot(t *testing.T) {
	e := newEnv(t)
	oldPIN := e.activated("giorgos", "giorgos@example.gr") // mails 1 and 2

	t.Run("NewPINDiffers", func(t *testing.T) {
		r := e.do("POST", "/api/v1/account/forgot", map[string]string{"email": "GIORGOS@example.gr", "what": "pin"})
		e.want(r, 202)
		m := e.mail(3, "giorgos@example.gr")
		p := pinLine.FindStringSubmatch(m.Text)
		if p == nil {
			t.Fatalf("no PIN in:\n%s", m.Text)
		}
		if p[1] == oldPIN || !e.pinMatches("giorgos", p[1]) || e.pinMatches("giorgos", oldPIN) {
			t.Fatalf("new PIN %s, old %s", p[1], oldPIN)
		}
	})
	t.Run("UnknownAccountLooksTheSame", func(t *testing.T) {
		r := e.do("POST", "/api/v1/account/forgot", map[string]string{"username": "nobody", "what": "pin"})
		e.want(r, 202)
		known := e.do("POST", "/api/v1/account/forgot", map[string]string{"username": "giorgos", "what": "password"})
		e.want(known, 202)
		if !bytes.Equal(r.raw, known.raw) {
			t.Fatalf("answers differ:\n%s\n%s", r.raw, known.raw)
		}
	})
	t.Run("PasswordReset", func(t *testing.T) {
		m := e.mail(4, "giorgos@example.gr")
		link := resetLink.FindStringSubmatch(m.Text)
		if link == nil {
			t.Fatalf("no reset link in:\n%s", m.Text)
		}
		session := e.token("giorgos")
		r := e.do("POST", "/api/v1/account/reset", map[string]string{"token": link[1], "password": "short"})
		e.want(r, 400)
		e.want(e.do("POST", "/api/v1/account/reset", map[string]string{"token": link[1], "password": "νέος-κωδικός-2026"}), 200)
		e.want(e.do("POST", "/api/v1/account/reset", map[string]string{"token": link[1], "password": "άλλος-κωδικός"}), 401)
		e.want(e.login("giorgos", "σωστός-κωδικός"), 401)
		e.want(e.login("giorgos", "νέος-κωδικός-2026"), 200)
		e.want(e.do("GET", "/api/v1/account/profile", nil, bearer(session)), 401)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		r := e.do("POST", "/api/v1/account/forgot", map[string]string{"what": "both"})
		e.want(r, 400)
		if got := r.fields(); !slices.Equal(got, []string{"username:account.field.login", "what:account.field.what"}) {
			t.Fatalf("fields %v", got)
		}
	})
	t.Run("NotActivatedGetsANewActivationLink", func(t *testing.T) {
		e.want(e.do("POST", "/api/v1/account/register", registration("sofia", "sofia@example.gr")), 201)
		n := len(e.smtp.Messages())
		e.want(e.do("POST", "/api/v1/account/forgot", map[string]string{"username": "sofia", "what": "password"}), 202)
		if link := activationLink.FindStringSubmatch(e.mail(n+1, "sofia@example.gr").Text); link == nil {
			t.Fatal("no activation link")
		}
	})
}

func TestErase(t *testing.T) {
	e := newEnv(t)
	e.activated("dimitra", "dimitra@example.gr")
	token := e.token("dimitra")
	cs := e.submitLinked("dimitra")

	t.Run("ErrWrongPassword", func(t *testing.T) {
		r := e.do("POST", "/api/v1/account/erase", map[string]string{"password": "λάθος-κωδικός"}, bearer(token))
		e.want(r, 403)
		if got := r.fields(); !slices.Equal(got, []string{"password:account.error.password"}) {
			t.Fatalf("fields %v", got)
		}
	})
	t.Run("AnonymisesAndSignsOut", func(t *testing.T) {
		e.want(e.do("POST", "/api/v1/account/erase", map[string]string{"password": "σωστός-κωδικός"}, bearer(token)), 200)
		got, err := e.db.CaseByNumber(context.Background(), cs.Number)
		if err != nil || got.Contact != (dimos.Contact{}) || got.Subject != cs.Subject {
			t.Fatalf("case after erase: %+v %v", got, err)
		}
		e.want(e.do("GET", "/api/v1/account/profile", nil, bearer(token)), 401)
		e.want(e.login("dimitra", "σωστός-κωδικός"), 401)
		n := len(e.smtp.Messages())
		e.want(e.do("POST", "/api/v1/account/forgot", map[string]string{"email": "dimitra@example.gr", "what": "pin"}), 202)
		if len(e.smtp.Messages()) != n {
			t.Fatal("an erased account still gets mail")
		}
	})
}
