package console

import (
	"bytes"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"dimos"
)

const password = "Σωστός-κωδικός-2026"

// Employees of the test municipality.
const (
	idMaria   = 1 // clerk of Technical Services, holds cases 1, 3 and 4
	idNikos   = 2 // clerk of Cleaning, holds case 2
	idEleni   = 3 // manager, no service
	idGiorgos = 4 // clerk of Technical Services, holds nothing
	idDimitra = 5 // director of Technical Services
	idKostas  = 6 // service desk of Technical Services: never an assignee
	idPetros  = 7 // former clerk of Technical Services, inactive
)

const (
	svcTechnical = 1
	svcCleaning  = 2
	svcWater     = 3
)

// Case numbers of the test municipality.
const (
	numPothole   = "2026-000001" // Maria's, open, subject with markup
	numBins      = "2026-000002" // Nikos's, other service
	numLight     = "2026-000003" // Maria's, older
	numCompleted = "2026-000004" // Maria's, completed
)

var passwordHash = sync.OnceValue(func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
})

type harness struct {
	app      *fiber.App
	clock    *clock
	cases    *fakeCases
	dir      *fakeDirectory
	sessions *fakeSessions
	audit    *fakeAudit
	throttle *fakeThrottle
	work     *fakeWork
	files    *fakeAttachments
	citizens *fakeCitizens
}

func newHarness(t testing.TB, configure ...func(*Config)) *harness {
	t.Helper()
	h := &harness{
		clock:    &clock{t: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)},
		sessions: &fakeSessions{sessions: map[string]dimos.StaffSession{}},
		audit:    &fakeAudit{},
		throttle: &fakeThrottle{failures: map[string][]time.Time{}},
		work:     &fakeWork{},
		files:    newFakeAttachments(),
		citizens: newFakeCitizens(),
	}
	emp := func(id int64, username, name string, role dimos.Role, svc int64) *dimos.Employee {
		return &dimos.Employee{ID: id, Username: username, FullName: name, Role: role, ServiceID: svc,
			PasswordHash: passwordHash(), Active: true, Email: username + "@dimos.example"}
	}
	h.dir = &fakeDirectory{
		employees: map[int64]*dimos.Employee{
			idMaria:   emp(idMaria, "maria", "Μαρία Παπαδοπούλου", dimos.RoleClerk, svcTechnical),
			idNikos:   emp(idNikos, "nikos", "Νίκος Γεωργίου", dimos.RoleClerk, svcCleaning),
			idEleni:   emp(idEleni, "eleni", "Ελένη Σταυράκη", dimos.RoleManager, 0),
			idGiorgos: emp(idGiorgos, "giorgos", "Γιώργος Μανουσάκης", dimos.RoleClerk, svcTechnical),
			idDimitra: emp(idDimitra, "dimitra", "Δήμητρα Κλάδου", dimos.RoleDirector, svcTechnical),
			idKostas:  emp(idKostas, "kostas", "Κώστας Γκισές", dimos.RoleDesk, svcTechnical),
			idPetros:  emp(idPetros, "petros", "Πέτρος Συνταξιούχος", dimos.RoleClerk, svcTechnical),
		},
		services: map[int64]*dimos.Service{
			svcTechnical: {ID: svcTechnical, Code: "TECH", NameEL: "Τεχνικές Υπηρεσίες", NameEN: "Technical Services"},
			svcCleaning:  {ID: svcCleaning, Code: "CLEAN", NameEL: "Καθαριότητα", NameEN: "Cleaning"},
			svcWater:     {ID: svcWater, Code: "WATER", NameEL: "Ύδρευση", NameEN: "Water supply"},
		},
		categories: []*dimos.Category{
			{Code: "roads", NameEL: "Οδοποιία", NameEN: "Roads", ServiceID: svcTechnical},
			{Code: "lighting", NameEL: "Ηλεκτροφωτισμός", NameEN: "Street lighting", ServiceID: svcTechnical},
			{Code: "bins", NameEL: "Αποκομιδή απορριμμάτων", NameEN: "Waste collection", ServiceID: svcCleaning},
		},
	}
	at := func(month time.Month, day, hour, min int) time.Time {
		return time.Date(2026, month, day, hour, min, 0, 0, time.UTC)
	}
	h.cases = &fakeCases{
		cases: map[string]*dimos.Case{
			numPothole: {ID: 1, Number: numPothole, Kind: dimos.KindRequest, CategoryCode: "roads",
				Channel: dimos.ChannelPortal, Subject: "<script>alert(1)</script> Λακκούβα στην οδό Κνωσού",
				Text: "Μεγάλη λακκούβα μπροστά στο νούμερο 12.", DesiredAction: "Επισκευή του οδοστρώματος",
				Contact: dimos.Contact{FirstName: "Νίκη", LastName: "Αλεξίου", Email: "niki@example.gr", Phone: "2841012345"},
				Lang:    "el", Stage: dimos.StageRouted, Status: dimos.StatusPending,
				ServiceID: svcTechnical, AssigneeID: idMaria, SubmittedAt: at(3, 2, 9, 0), WorkflowStartedAt: at(3, 2, 9, 0)},
			numBins: {ID: 2, Number: numBins, Kind: dimos.KindComplaint, CategoryCode: "bins",
				Channel: dimos.ChannelIVR, Subject: "Ξέχειλοι κάδοι στην πλατεία", Text: "Δεν έχουν αδειάσει εδώ και μια εβδομάδα.",
				Anonymous: true, Contact: dimos.Contact{Phone: "2841099999"}, Lang: "el", Stage: dimos.StageRouted, Status: dimos.StatusPending,
				ServiceID: svcCleaning, AssigneeID: idNikos, SubmittedAt: at(3, 1, 8, 0)},
			numLight: {ID: 3, Number: numLight, Kind: dimos.KindComplaint, CategoryCode: "lighting",
				Channel: dimos.ChannelDesk, Subject: "Σβηστή λάμπα", Text: "Η λάμπα στη γωνία είναι σβηστή.",
				Lang: "en", Stage: dimos.StageRouted, Status: dimos.StatusPending,
				ServiceID: svcTechnical, AssigneeID: idMaria, SubmittedAt: at(2, 20, 8, 0)},
			numCompleted: {ID: 4, Number: numCompleted, Kind: dimos.KindSuggestion, CategoryCode: "roads",
				Channel: dimos.ChannelPortal, Subject: "Ποδηλατόδρομος", Text: "Πρόταση για ποδηλατόδρομο.",
				Lang: "el", Stage: dimos.StageCompleted, Status: dimos.StatusCompleted, Answer: "Θα εξεταστεί.",
				ServiceID: svcTechnical, AssigneeID: idMaria, SubmittedAt: at(1, 10, 8, 0), CompletedAt: at(1, 20, 8, 0)},
		},
		events: map[int64][]dimos.CaseEvent{
			1: {
				{ID: 1, CaseID: 1, At: at(3, 2, 9, 0), Type: "received", Public: true},
				{ID: 2, CaseID: 1, At: at(3, 2, 9, 1), Type: "routed", Public: true, Service: "Τεχνικές Υπηρεσίες",
					EmployeeID: idMaria, Body: "Προς <b>έλεγχο</b>"},
			},
		},
		timings: map[int64][]dimos.StageTiming{
			1: {
				{CaseID: 1, Seq: 1, Stage: dimos.StageReceived, EnteredAt: at(3, 2, 9, 0), LeftAt: at(3, 2, 9, 1)},
				{CaseID: 1, Seq: 2, Stage: dimos.StageRouted, ServiceID: svcTechnical, EmployeeID: idMaria, EnteredAt: at(3, 2, 9, 1)},
			},
		},
	}
	h.cases.names = map[int64]string{}
	for id, e := range h.dir.employees {
		h.cases.names[id] = e.FullName
	}
	cfg := Config{
		Cases:         h.cases,
		Directory:     h.dir,
		Sessions:      h.sessions,
		Audit:         h.audit,
		Throttle:      h.throttle,
		Work:          h.work,
		Attachments:   h.files,
		Citizens:      h.citizens,
		AuditLog:      h.audit,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:           h.clock.Now,
		TemporalUIURL: "http://127.0.0.1:8233/",
	}
	h.audit.dir = h.dir
	h.sessions.dir = h.dir
	h.dir.employees[idPetros].Active = false
	for _, f := range configure {
		f(&cfg)
	}
	// As dimos serves the console (cmd/dimos): forms are parsed by the handlers that
	// want them, so a broken multipart body is that handler's 400. With fasthttp's
	// pre-parsing, such a body failed before any handler and app.Test gave no answer
	// (FuzzPublicForms, testdata/fuzz/FuzzPublicForms/bdb9f1bfb0edef22).
	h.app = fiber.New(fiber.Config{DisablePreParseMultipartForm: true})
	New(cfg).Mount(h.app)
	return h
}

// browser keeps cookies across requests the way a browser would for /console.
type browser struct {
	h   *harness
	jar map[string]string
}

func (h *harness) browser() *browser { return &browser{h: h, jar: map[string]string{}} }

type page struct {
	*http.Response
	Body string
}

func (b *browser) do(t *testing.T, method, target string, form url.Values) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return b.send(t, req)
}

// send makes a request with the browser's cookies and keeps the ones it gets back.
func (b *browser) send(t *testing.T, req *http.Request) page {
	t.Helper()
	for name, value := range b.jar {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	resp, err := b.h.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.Value == "" || (!c.Expires.IsZero() && c.Expires.Before(time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC))) {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c.Value
		}
	}
	return page{resp, string(raw)}
}

// upload posts a multipart form with one file, as a browser sends the attach form.
func (b *browser) upload(t *testing.T, target string, fields url.Values, filename string, data []byte) page {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			if err := w.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if filename != "" {
		fw, err := w.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data) //nolint:errcheck // a bytes.Buffer does not fail
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", target, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.send(t, req)
}

func (b *browser) get(t *testing.T, target string) page {
	t.Helper()
	return b.do(t, "GET", target, nil)
}

func (b *browser) post(t *testing.T, target string, form url.Values) page {
	t.Helper()
	return b.do(t, "POST", target, form)
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrf returns the form token of the page at target.
func (b *browser) csrf(t *testing.T, target string) string {
	t.Helper()
	p := b.get(t, target)
	m := csrfField.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("GET %s: %d, no _csrf field in:\n%s", target, p.StatusCode, p.Body)
	}
	return m[1]
}

// signIn submits the sign-in form as a person would: fetch it, then post it.
func (b *browser) signIn(t *testing.T, username, pass string) page {
	t.Helper()
	token := b.csrf(t, "/console/signin")
	return b.post(t, "/console/signin", url.Values{"username": {username}, "password": {pass}, "_csrf": {token}})
}

// signedIn returns a browser with a session of username.
func (h *harness) signedIn(t *testing.T, username string) *browser {
	t.Helper()
	b := h.browser()
	if p := b.signIn(t, username, password); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in %s: status %d\n%s", username, p.StatusCode, p.Body)
	}
	return b
}

func wantStatus(t *testing.T, p page, want int) {
	t.Helper()
	if p.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d\n%s", p.Request.Method, p.Request.URL, p.StatusCode, want, p.Body)
	}
}

func wantLocation(t *testing.T, p page, want string) {
	t.Helper()
	if got := p.Header.Get("Location"); got != want {
		t.Fatalf("%s %s: Location %q, want %q", p.Request.Method, p.Request.URL, got, want)
	}
}

func wantContains(t *testing.T, p page, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if !strings.Contains(p.Body, s) {
			t.Errorf("%s %s: body lacks %q", p.Request.Method, p.Request.URL, s)
		}
	}
}

func wantLacks(t *testing.T, p page, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if strings.Contains(p.Body, s) {
			t.Errorf("%s %s: body has %q", p.Request.Method, p.Request.URL, s)
		}
	}
}

func cookieOf(p page, name string) *http.Cookie {
	for _, c := range p.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
