package ivr_test

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"dimos"
	"dimos/i18n"
	"dimos/ivr"
	"dimos/postgres"
	"dimos/postgres/pgtest"
)

const (
	publicURL = "https://ivr.dimos.example"
	authToken = "test-auth-token"
)

// schema is the TwiML XSD with LanguageType and VoiceType relaxed to xs:string, so
// that language="el-GR" passes (conformance/README.md).
func schema(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("/work/shared/conformance/twiml/TwiML.xsd")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, name := range []string{"LanguageType", "VoiceType"} {
		re := regexp.MustCompile(`(?s)<xs:simpleType name="` + name + `">.*?</xs:simpleType>`)
		if !re.MatchString(s) {
			t.Fatalf("no %s in the schema", name)
		}
		s = re.ReplaceAllString(s, `<xs:simpleType name="`+name+`"><xs:restriction base="xs:string"/></xs:simpleType>`)
	}
	p := filepath.Join(t.TempDir(), "TwiML.xsd")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// twiml is a reply, decoded enough to follow the call.
type twiml struct {
	XMLName xml.Name
	Says    []string `xml:"Say"`
	Plays   []string `xml:"Play"`
	Gathers []struct {
		Action    string   `xml:"action,attr"`
		NumDigits int      `xml:"numDigits,attr"`
		Finish    string   `xml:"finishOnKey,attr"`
		Says      []string `xml:"Say"`
	} `xml:"Gather"`
	Records []struct {
		Action    string `xml:"action,attr"`
		MaxLength int    `xml:"maxLength,attr"`
		PlayBeep  bool   `xml:"playBeep,attr"`
		Finish    string `xml:"finishOnKey,attr"`
	} `xml:"Record"`
	Redirects []string   `xml:"Redirect"`
	Hangups   []struct{} `xml:"Hangup"`
}

// spoken is everything the caller hears, in order of the verbs' kinds.
func (r twiml) spoken() string {
	s := strings.Join(r.Says, " ")
	for _, g := range r.Gathers {
		s += " " + strings.Join(g.Says, " ")
	}
	return s
}

func (r twiml) next(t *testing.T) string {
	t.Helper()
	switch {
	case len(r.Gathers) > 0:
		return r.Gathers[0].Action
	case len(r.Records) > 0:
		return r.Records[0].Action
	}
	t.Fatalf("nothing to answer in %+v", r)
	return ""
}

type harness struct {
	t      *testing.T
	db     *postgres.DB
	app    *fiber.App
	xsd    string
	now    time.Time
	mu     sync.Mutex
	kicked []*dimos.Case
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, db: pgtest.New(t, true), xsd: schema(t), now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	h.db.Now = func() time.Time { return h.now }
	handler := ivr.New(ivr.Config{
		Cases: h.db, Directory: h.db, Citizens: h.db, Recordings: h.db, Throttle: h.db,
		Kick:      func(c *dimos.Case) { h.mu.Lock(); h.kicked = append(h.kicked, c); h.mu.Unlock() },
		AuthToken: authToken, PublicURL: publicURL, Secret: []byte("test-secret"),
		Now: func() time.Time { return h.now },
		Log: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	})
	h.app = fiber.New(fiber.Config{DisablePreParseMultipartForm: true}) // as cmd/dimos serves it
	handler.Mount(h.app)
	return h
}

// raw posts a body to a URL (absolute, under publicURL) with a signature header as
// given, and checks that the reply is TwiML valid against the schema.
func (h *harness) raw(target, contentType, body, signature string) (int, string) {
	h.t.Helper()
	path := strings.TrimPrefix(target, publicURL)
	req := httptest.NewRequest(fiber.MethodPost, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set(fiber.HeaderContentType, contentType)
	}
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	resp, err := h.app.Test(req, -1)
	if err != nil {
		h.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get(fiber.HeaderContentType); !strings.HasPrefix(ct, "text/xml") {
		h.t.Fatalf("%s: content type %q, body %s", path, ct, b)
	}
	h.validate(b)
	return resp.StatusCode, string(b)
}

func (h *harness) validate(b []byte) {
	h.t.Helper()
	f := filepath.Join(h.t.TempDir(), "reply.xml")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		h.t.Fatal(err)
	}
	out, err := exec.Command("xmllint", "--noout", "--schema", h.xsd, f).CombinedOutput()
	if err != nil {
		h.t.Fatalf("reply is not valid TwiML: %v\n%s\n%s", err, out, b)
	}
}

func sign(target string, form url.Values) string {
	return base64.StdEncoding.EncodeToString(ivr.Sign(authToken, target, form))
}

// post sends a signed webhook and decodes the 200 reply.
func (h *harness) post(target string, form url.Values) twiml {
	h.t.Helper()
	status, body := h.raw(target, fiber.MIMEApplicationForm, form.Encode(), sign(target, form))
	if status != fiber.StatusOK {
		h.t.Fatalf("%s: status %d: %s", target, status, body)
	}
	var r twiml
	if err := xml.Unmarshal([]byte(body), &r); err != nil {
		h.t.Fatal(err)
	}
	return r
}

// phone is one call in progress.
type phone struct {
	h    *harness
	sid  string
	from string
	last twiml
}

func (h *harness) dial(sid, from string) *phone {
	p := &phone{h: h, sid: sid, from: from}
	p.last = h.post(publicURL+"/ivr/voice", p.form(nil))
	return p
}

func (p *phone) form(extra map[string]string) url.Values {
	v := url.Values{"CallSid": {p.sid}, "From": {p.from}, "To": {"+302100000000"}, "AccountSid": {"AC1"}}
	for k, x := range extra {
		v.Set(k, x)
	}
	return v
}

// press keys digits into the current prompt.
func (p *phone) press(digits string) twiml {
	p.h.t.Helper()
	p.last = p.h.post(p.last.next(p.h.t), p.form(map[string]string{"Digits": digits}))
	return p.last
}

// recorded answers the current <Record> with a recording URL.
func (p *phone) recorded(u string) twiml {
	p.h.t.Helper()
	if len(p.last.Records) == 0 {
		p.h.t.Fatalf("no Record in %+v", p.last)
	}
	r := p.last.Records[0]
	if r.MaxLength != 120 || !r.PlayBeep || r.Finish != "#" {
		p.h.t.Fatalf("record %+v", r)
	}
	p.last = p.h.post(r.Action, p.form(map[string]string{"RecordingUrl": u, "RecordingDuration": "7"}))
	return p.last
}

func (p *phone) hears(want ...string) {
	p.h.t.Helper()
	got := p.last.spoken()
	for _, w := range want {
		if !strings.Contains(got, w) {
			p.h.t.Fatalf("caller hears %q, want %q", got, w)
		}
	}
}

func (p *phone) hungUp() bool { return len(p.last.Hangups) > 0 }

var numberRe = regexp.MustCompile(`(\d(?: \d){3}), (\d(?: \d){5})`)

// spokenNumber is the case number the caller heard, checking it was said twice.
func spokenNumber(t *testing.T, r twiml) string {
	t.Helper()
	s := r.spoken()
	m := numberRe.FindAllStringSubmatch(s, -1)
	if len(m) != 2 || m[0][0] != m[1][0] {
		t.Fatalf("case number not said twice digit by digit: %q", s)
	}
	return strings.ReplaceAll(m[0][1], " ", "") + "-" + strings.ReplaceAll(m[0][2], " ", "")
}

func tr(key string, args ...any) string { return i18n.T(i18n.Greek, key, args...) }

func (h *harness) citizen(username, mobile, code, pin string) *dimos.Citizen {
	h.t.Helper()
	ctx := context.Background()
	c := &dimos.Citizen{Username: username, FirstName: "Ελένη", LastName: "Παππά", Email: username + "@example.gr",
		MobilePhone: mobile, Address: "Εγνατίας 12", PasswordHash: "x", PhoneAccessCode: code, ActivatedAt: h.now}
	if err := h.db.CreateCitizen(ctx, c); err != nil {
		h.t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pin), bcrypt.MinCost)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.db.SetPINHash(ctx, c.ID, string(hash)); err != nil {
		h.t.Fatal(err)
	}
	return c
}

func TestAnonymousComplaint(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	p := h.dial("CA-anon", "+30 699 999 9999")
	p.hears(tr("ivr.greeting"), tr("ivr.code.offer"))

	p.press("2") // no access code
	p.hears(tr("ivr.menu"))
	t.Run("Voting", func(t *testing.T) {
		p.press("3")
		p.hears(tr("ivr.voting.unavailable"), tr("ivr.menu"))
	})
	t.Run("ErrCertificateUnidentified", func(t *testing.T) {
		p.press("1")
		p.hears(tr("ivr.cert.identify"), tr("ivr.menu"))
	})
	t.Run("ErrWrongChoice", func(t *testing.T) {
		p.press("7")
		p.hears(tr("ivr.invalid_choice"), tr("ivr.menu"))
	})

	p.press("2")
	p.hears(tr("ivr.category.item", "Λακκούβες στο οδόστρωμα", 1), tr("ivr.category.back"))
	if strings.Contains(p.last.spoken(), "Πιστοποιητικό") {
		t.Fatalf("certificate categories offered for complaints: %q", p.last.spoken())
	}
	p.press("1")
	p.hears(tr("ivr.record.complaint"))
	p.recorded("https://api.twilio.com/rec/RE1")
	p.hears(tr("ivr.review"))
	p.press("1")
	if len(p.last.Plays) != 1 || p.last.Plays[0] != "https://api.twilio.com/rec/RE1" {
		t.Fatalf("listen: %+v", p.last)
	}
	p.press("2") // record again
	p.recorded("https://api.twilio.com/rec/RE2")
	p.press("4")
	p.hears(tr("ivr.callback.ask"))
	beforeSubmit := p.last
	p.press("1")
	number := spokenNumber(t, p.last)
	t.Run("RetriedSubmitFindsItsCase", func(t *testing.T) {
		// The provider got no answer and posts the same webhook again.
		again := h.post(beforeSubmit.next(t), p.form(map[string]string{"Digits": "1"}))
		if got := spokenNumber(t, again); got != number {
			t.Fatalf("the retry heard %s, want %s", got, number)
		}
		if len(h.kicked) != 1 {
			t.Fatalf("the retry filed another case: %d kicked", len(h.kicked))
		}
	})
	p.hears(tr("ivr.submitted.anonymous"), tr("ivr.goodbye"))
	if !p.hungUp() {
		t.Fatal("no hang-up after submission")
	}

	cs, err := h.db.CaseByNumber(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Channel != dimos.ChannelIVR || cs.Kind != dimos.KindComplaint || !cs.Anonymous || cs.CitizenID != 0 ||
		cs.CategoryCode != "potholes" || !strings.Contains(cs.Text, "+306999999999") ||
		cs.Subject != tr("ivr.case.subject", "Λακκούβες στο οδόστρωμα") {
		t.Fatalf("case %+v", cs)
	}
	if u, err := h.db.RecordingOf(ctx, cs.ID); err != nil || u != "https://api.twilio.com/rec/RE2" {
		t.Fatalf("recording %q, %v", u, err)
	}
	if len(h.kicked) != 1 || h.kicked[0].Number != number {
		t.Fatalf("kicked %v", h.kicked)
	}

	t.Run("TrackAnonymousRefused", func(t *testing.T) {
		p := h.dial("CA-track", "+306999999998")
		p.press("2")
		p.press("4")
		p.hears(tr("ivr.track.ask"))
		p.press(strings.ReplaceAll(number, "-", "") + "#")
		p.hears(tr("ivr.track.not_found", spellNumber(number)), tr("ivr.menu"))
	})
}

func spellNumber(n string) string {
	a, b, _ := strings.Cut(n, "-")
	return strings.Join(strings.Split(a, ""), " ") + ", " + strings.Join(strings.Split(b, ""), " ")
}

func TestIdentifiedCaller(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	eleni := h.citizen("eleni", "6900000001", "", "1234")

	p := h.dial("CA-1", "+306900000001")
	p.hears(tr("ivr.greeting"), tr("ivr.pin.ask"))
	if g := p.last.Gathers[0]; g.NumDigits != 6 || g.Finish != "#" {
		t.Fatalf("PIN gather %+v", g)
	}
	p.press("1234#")
	p.hears(tr("ivr.pin.ok", "Ελένη"), tr("ivr.menu"))

	t.Run("ErrCertificateUnverified", func(t *testing.T) {
		p.press("1")
		p.hears(tr("ivr.cert.unverified"), tr("ivr.menu"))
	})

	var complaint string
	t.Run("Complaint", func(t *testing.T) {
		p.press("2")
		p.press("4") // water network fault
		p.recorded("https://api.twilio.com/rec/RE10")
		p.press("4")
		complaint = spokenNumber(t, p.last)
		cs, err := h.db.CaseByNumber(ctx, complaint)
		if err != nil {
			t.Fatal(err)
		}
		if cs.Anonymous || cs.CitizenID != eleni.ID || cs.Contact.Email != "eleni@example.gr" ||
			cs.CategoryCode != "water-fault" || cs.Channel != dimos.ChannelIVR || !strings.Contains(cs.Text, "+306900000001") {
			t.Fatalf("case %+v", cs)
		}
	})

	t.Run("Certificate", func(t *testing.T) {
		emp, err := h.db.EmployeeByUsername(ctx, "citizens.director")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.db.VerifyCitizen(ctx, eleni.ID, emp.ID, dimos.DocIDCard, "AB123456", h.now); err != nil {
			t.Fatal(err)
		}
		p := h.dial("CA-2", "6900000001")
		p.press("1234#")
		p.press("1")
		p.hears(tr("ivr.category.item", "Πιστοποιητικό οικογενειακής κατάστασης", 1))
		if strings.Contains(p.last.spoken(), "Λακκούβες") {
			t.Fatalf("complaint categories offered for certificates")
		}
		p.press("9")
		p.hears(tr("ivr.invalid_choice"))
		p.press("2")
		p.hears(tr("ivr.record.certificate"))
		p.recorded("https://api.twilio.com/rec/RE11")
		p.press("*") // back to the topics
		p.press("3")
		p.recorded("https://api.twilio.com/rec/RE12")
		p.press("4")
		cs, err := h.db.CaseByNumber(ctx, spokenNumber(t, p.last))
		if err != nil {
			t.Fatal(err)
		}
		if cs.Kind != dimos.KindCertificate || cs.CategoryCode != "cert-residence" || cs.CitizenID != eleni.ID {
			t.Fatalf("case %+v", cs)
		}
		if u, _ := h.db.RecordingOf(ctx, cs.ID); u != "https://api.twilio.com/rec/RE12" {
			t.Fatalf("recording %q", u)
		}
	})

	t.Run("Track", func(t *testing.T) {
		p := h.dial("CA-3", "+306911111111")
		p.press("2")
		p.press("4")
		p.press("12#")
		p.hears(tr("ivr.track.invalid"), tr("ivr.track.ask"))
		p.press(strings.ReplaceAll(complaint, "-", "") + "#")
		p.hears(tr("ivr.track.status", spellNumber(complaint), tr("status.pending")), tr("ivr.menu"))
		p.press("0")
		if !p.hungUp() {
			t.Fatal("0 does not end the call")
		}
	})

	t.Run("DeleteReturnsToMenu", func(t *testing.T) {
		p := h.dial("CA-4", "+306900000001")
		p.press("1234#")
		p.press("2")
		p.press("1")
		p.recorded("https://api.twilio.com/rec/RE13")
		p.press("3")
		p.hears(tr("ivr.review.deleted"), tr("ivr.menu"))
	})

	t.Run("AccessCode", func(t *testing.T) {
		h.citizen("nikos", "6900000002", "4455", "987654")
		p := h.dial("CA-5", "+302100000009") // a landline nobody registered
		p.hears(tr("ivr.code.offer"))
		p.press("1")
		p.hears(tr("ivr.code.ask"))
		p.press("4455#")
		p.hears(tr("ivr.pin.ask"))
		p.press("987654")
		p.hears(tr("ivr.pin.ok", "Ελένη"), tr("ivr.menu"))
	})
}

func TestWrongPINs(t *testing.T) {
	h := newHarness(t)
	h.citizen("eleni", "+306900000001", "", "1234")

	t.Run("ErrWrongPIN", func(t *testing.T) {
		p := h.dial("CA-1", "6900000001")
		p.press("0000#")
		p.hears(tr("ivr.pin.wrong"), tr("ivr.pin.ask"))
		p.press("12#")
		p.hears(tr("ivr.pin.wrong"))
		p.press("9999#")
		p.hears(tr("ivr.pin.give_up"), tr("ivr.menu"))
		p.press("1") // unidentified now
		p.hears(tr("ivr.cert.identify"))
	})
	t.Run("ErrThrottled", func(t *testing.T) {
		p := h.dial("CA-2", "6900000001")
		p.press("1111#")
		p.hears(tr("ivr.pin.wrong"))
		p.press("2222#") // fifth failure within 15 minutes
		p.hears(tr("ivr.pin.throttled"))
		if !p.hungUp() {
			t.Fatal("no hang-up")
		}
		p = h.dial("CA-3", "+306900000001")
		p.hears(tr("ivr.pin.throttled"))
		if !p.hungUp() || len(p.last.Gathers) != 0 {
			t.Fatal("a throttled number may still try")
		}
	})
	t.Run("ThrottleExpires", func(t *testing.T) {
		h.now = h.now.Add(16 * time.Minute)
		p := h.dial("CA-4", "+306900000001")
		p.press("1234#")
		p.hears(tr("ivr.pin.ok", "Ελένη"))
	})
}

func TestRequests(t *testing.T) {
	h := newHarness(t)
	form := url.Values{"CallSid": {"CA-1"}, "From": {"+306900000001"}}
	voice := publicURL + "/ivr/voice"
	expect := func(t *testing.T, status, want int) {
		t.Helper()
		if status != want {
			t.Fatalf("status %d, want %d", status, want)
		}
	}
	t.Run("ValidSignature", func(t *testing.T) {
		s, _ := h.raw(voice, fiber.MIMEApplicationForm, form.Encode(), sign(voice, form))
		expect(t, s, 200)
	})
	t.Run("ErrMissingSignature", func(t *testing.T) {
		s, _ := h.raw(voice, fiber.MIMEApplicationForm, form.Encode(), "")
		expect(t, s, 403)
	})
	t.Run("ErrWrongSignature", func(t *testing.T) {
		s, _ := h.raw(voice, fiber.MIMEApplicationForm, form.Encode(), base64.StdEncoding.EncodeToString([]byte("nope")))
		expect(t, s, 403)
		other := url.Values{"CallSid": {"CA-1"}, "From": {"+306900000002"}} // signed other params
		s, _ = h.raw(voice, fiber.MIMEApplicationForm, form.Encode(), sign(voice, other))
		expect(t, s, 403)
		s, _ = h.raw(voice, fiber.MIMEApplicationForm, form.Encode(), "%%%")
		expect(t, s, 403)
	})
	t.Run("ErrNotForm", func(t *testing.T) {
		s, _ := h.raw(voice, fiber.MIMEApplicationJSON, `{}`, sign(voice, nil))
		expect(t, s, 415)
	})
	t.Run("ErrBrokenForm", func(t *testing.T) {
		s, _ := h.raw(voice, fiber.MIMEApplicationForm, "CallSid=%zz", sign(voice, nil))
		expect(t, s, 400)
	})
	t.Run("ErrInvalidUTF8", func(t *testing.T) {
		bad := url.Values{"CallSid": {"CA-1"}, "From": {"\xff\xfe"}}
		s, _ := h.raw(voice, fiber.MIMEApplicationForm, bad.Encode(), sign(voice, bad))
		expect(t, s, 400)
	})
	t.Run("ErrNoCallSid", func(t *testing.T) {
		bad := url.Values{"From": {"+306900000001"}}
		s, _ := h.raw(voice, fiber.MIMEApplicationForm, bad.Encode(), sign(voice, bad))
		expect(t, s, 400)
	})
	p := h.dial("CA-1", "+306999999999")
	menu := p.press("2").next(t) // the menu's action, with a sealed state
	t.Run("ErrForgedState", func(t *testing.T) {
		u, _ := url.Parse(menu)
		st := u.Query().Get("s")
		forged := publicURL + "/ivr/menu?s=" + url.QueryEscape("Y2lkPTE."+st[strings.Index(st, ".")+1:])
		f := p.form(map[string]string{"Digits": "1"})
		s, _ := h.raw(forged, fiber.MIMEApplicationForm, f.Encode(), sign(forged, f))
		expect(t, s, 403)
		none := publicURL + "/ivr/menu"
		s, _ = h.raw(none, fiber.MIMEApplicationForm, f.Encode(), sign(none, f))
		expect(t, s, 403)
	})
	t.Run("ErrStateOfAnotherCall", func(t *testing.T) {
		f := url.Values{"CallSid": {"CA-other"}, "Digits": {"1"}}
		s, _ := h.raw(menu, fiber.MIMEApplicationForm, f.Encode(), sign(menu, f))
		expect(t, s, 403)
	})
	t.Run("ErrReplayedOldState", func(t *testing.T) {
		h.now = h.now.Add(2 * time.Hour)
		defer func() { h.now = h.now.Add(-2 * time.Hour) }()
		f := p.form(map[string]string{"Digits": "3"})
		s, _ := h.raw(menu, fiber.MIMEApplicationForm, f.Encode(), sign(menu, f))
		expect(t, s, 403)
	})
	t.Run("StateAccepted", func(t *testing.T) {
		r := p.press("3")
		if !strings.Contains(r.spoken(), tr("ivr.voting.unavailable")) {
			t.Fatalf("got %q", r.spoken())
		}
	})
	t.Run("ErrMethodAndRoute", func(t *testing.T) {
		for path, want := range map[string]int{"/ivr/voice": 405, "/ivr/nowhere": 404} {
			resp, err := h.app.Test(httptest.NewRequest(fiber.MethodGet, path, nil), -1)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			expect(t, resp.StatusCode, want)
			h.validate(b)
		}
	})
	t.Run("SilenceRepeatsThenEnds", func(t *testing.T) {
		p := h.dial("CA-9", "+306999999999")
		p.press("2")
		redirect := p.last.Redirects[0]
		r := h.post(redirect, p.form(nil))
		if !strings.Contains(r.spoken(), tr("ivr.menu")) || len(r.Hangups) != 1 {
			t.Fatalf("second silence: %+v", r)
		}
	})
}

func TestSignature(t *testing.T) {
	// The example of Twilio's documentation on webhook security.
	form := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"}}
	got := base64.StdEncoding.EncodeToString(ivr.Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form))
	if got != "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" {
		t.Fatalf("signature %s", got)
	}
	if !ivr.ValidSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form, got) {
		t.Fatal("valid signature refused")
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"+306900000001": "+306900000001", "6900000001": "+306900000001", "0030 690 000 0001": "+306900000001",
		"2101234567": "+302101234567", "+44 20 7946 0958": "+442079460958", "anonymous": "", "": "",
		"+266696687": "", "12": "", "69000x0001": "",
	} {
		if got := ivr.NormalizePhone(in); got != want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzVoiceWebhook throws arbitrary bodies at the webhooks: never a 5xx, never a
// panic, always TwiML.
func FuzzVoiceWebhook(f *testing.F) {
	for _, seed := range []string{
		"CallSid=CA1&From=%2B306900000001", "CallSid=CA1&From=6900000001&Digits=1234%23",
		"CallSid=CA1&From=anonymous", "CallSid=&From=", "CallSid=CA1&From=%ff", "%zz", "a=b=c&&&;",
		"CallSid=CA1&Digits=" + strings.Repeat("9", 5000), "CallSid=CA1&RecordingUrl=javascript:alert(1)",
	} {
		f.Add(seed, "")
		f.Add(seed, "x.y")
	}
	db := pgtest.New(f, true)
	h := ivr.New(ivr.Config{Cases: db, Directory: db, Citizens: db, Recordings: db, Throttle: db})
	app := fiber.New(fiber.Config{DisablePreParseMultipartForm: true}) // as cmd/dimos serves it
	h.Mount(app)
	f.Fuzz(func(t *testing.T, body, state string) {
		path := "/ivr/voice"
		if state != "" { // a later step, with whatever state the fuzzer makes up
			path = "/ivr/menu?s=" + url.QueryEscape(state)
		}
		if len(path) > 2048 {
			// A request line beyond the server's read buffer is refused by fasthttp
			// before any handler; app.Test reports that as an error, not an answer.
			t.Skip("request line larger than the server reads")
		}
		req := httptest.NewRequest(fiber.MethodPost, path, strings.NewReader(body))
		req.Header.Set(fiber.HeaderContentType, fiber.MIMEApplicationForm)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("status %d for %q", resp.StatusCode, body)
		}
		if err := xml.Unmarshal(b, new(struct{ XMLName xml.Name })); err != nil {
			t.Fatalf("not XML for %q: %s", body, b)
		}
	})
}

// testWriter sends the handler's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// FuzzIVRSteps drives every webhook step, each with a genuinely sealed state that the
// fuzzer makes up (who the caller is, the access code pending, the kind, category
// and recording of the case being filed, wrong PINs, the callback flag) and the
// provider's fields it makes up too (digits, number, recording URL, anything else):
// never a 5xx, never a panic, always an XML document. FuzzVoiceWebhook cannot go past
// the first step, since a state it invents is refused as forged.
func FuzzIVRSteps(f *testing.F) {
	steps := []string{"/ivr/voice", "/ivr/identify", "/ivr/code", "/ivr/pin", "/ivr/menu", "/ivr/category",
		"/ivr/record", "/ivr/review", "/ivr/callback", "/ivr/track"}
	h := &harness{db: pgtest.New(f, true), now: time.Now()}
	ctx := context.Background()
	cit := &dimos.Citizen{Username: "eleni", FirstName: "Ελένη", LastName: "Παππά", Email: "eleni@example.gr",
		MobilePhone: "+306900000001", Address: "Εγνατίας 12", PasswordHash: "x", PhoneAccessCode: "12345678", ActivatedAt: h.now}
	if err := h.db.CreateCitizen(ctx, cit); err != nil {
		f.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("1234"), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	if err := h.db.SetPINHash(ctx, cit.ID, string(hash)); err != nil {
		f.Fatal(err)
	}
	handler := ivr.New(ivr.Config{Cases: h.db, Directory: h.db, Citizens: h.db, Recordings: h.db, Throttle: h.db,
		PublicURL: publicURL, Secret: []byte("fuzz-secret")})
	app := fiber.New(fiber.Config{DisablePreParseMultipartForm: true}) // as cmd/dimos serves it
	handler.Mount(app)

	const rec = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
	type seed struct {
		step                  uint8
		digits, from, recURL  string
		citizen, pending      int64
		flags, tries, repeats uint8
		kind, category, stRec string
		extra                 string
	}
	for _, s := range []seed{
		{step: 0, from: "+306900000001"},
		{step: 1, digits: "1", from: "+306999999999"},
		{step: 2, digits: "12345678#", from: "+306999999999"},
		{step: 2, digits: "99999999", from: "anonymous", tries: 2},
		{step: 3, digits: "1234", pending: cit.ID, flags: 1},
		{step: 3, digits: "0000", citizen: 0, pending: cit.ID, tries: 2},
		{step: 4, digits: "2", citizen: cit.ID},
		{step: 4, digits: "1", citizen: cit.ID},
		{step: 4, digits: "4", citizen: cit.ID},
		{step: 4, digits: "", repeats: 3},
		{step: 5, digits: "1", kind: "complaint", citizen: cit.ID},
		{step: 5, digits: "9", kind: "certificate", citizen: cit.ID},
		{step: 5, digits: "0", kind: "complaint"},
		{step: 6, recURL: rec, kind: "complaint", category: "potholes", citizen: cit.ID},
		{step: 6, recURL: "javascript:alert(1)", kind: "complaint", category: "potholes"},
		{step: 7, digits: "1", kind: "complaint", category: "potholes", stRec: rec, citizen: cit.ID},
		{step: 7, digits: "3", kind: "complaint", category: "potholes", stRec: rec, citizen: cit.ID},
		{step: 7, digits: "2", kind: "certificate", category: "cert-birth", stRec: rec, citizen: cit.ID},
		{step: 7, digits: "3", kind: "complaint", category: "nosuch", stRec: rec},
		{step: 8, digits: "1", from: "+306999999999", kind: "complaint", category: "potholes", stRec: rec},
		{step: 8, digits: "2", from: "", kind: "complaint", category: "potholes", stRec: rec, flags: 2},
		{step: 9, digits: "2026000001#", citizen: cit.ID},
		{step: 9, digits: "99999999999999999999", extra: "Digits=1&Digits=2"},
		{step: 4, digits: "2", citizen: -1, pending: 1 << 62, kind: "\x00", category: "../", extra: "%zz=1"},
	} {
		f.Add(s.step, s.digits, s.from, s.recURL, s.citizen, s.pending, s.flags, s.tries, s.repeats,
			s.kind, s.category, s.stRec, s.extra)
	}
	f.Fuzz(func(t *testing.T, step uint8, digits, from, recURL string, citizen, pending int64,
		flags, tries, repeats uint8, kind, category, stRec, extra string) {
		const sid = "CAfuzz"
		path := steps[int(step)%len(steps)]
		st := ivr.CallState{Citizen: citizen, Pending: pending, CodeUsed: flags&1 != 0, Callback: flags&2 != 0,
			Tries: int(tries), Kind: kind, Category: category, Rec: stRec}
		target := path + "?s=" + url.QueryEscape(handler.SealState(st, sid)) + "&r=" + strconv.Itoa(int(repeats))
		if len(target) > 2048 {
			// A request line beyond the server's read buffer is refused by fasthttp
			// before any handler; app.Test reports that as an error, not an answer.
			t.Skip("request line larger than the server reads")
		}
		form := url.Values{"CallSid": {sid}, "From": {from}, "To": {"+302100000000"}, "AccountSid": {"AC1"}}
		if digits != "" {
			form.Set("Digits", digits)
		}
		if recURL != "" {
			form.Set("RecordingUrl", recURL)
		}
		body := form.Encode()
		if extra != "" {
			body += "&" + extra
		}
		req := httptest.NewRequest(fiber.MethodPost, target, strings.NewReader(body))
		req.Header.Set(fiber.HeaderContentType, fiber.MIMEApplicationForm)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %q: status %d: %s", path, body, resp.StatusCode, b)
		}
		if err := xml.Unmarshal(b, new(struct{ XMLName xml.Name })); err != nil {
			t.Fatalf("%s %q: not XML: %s", path, body, b)
		}
	})
}
