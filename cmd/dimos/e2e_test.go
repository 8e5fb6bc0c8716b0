package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"dimos"
	"dimos/notify/smssim"
	"dimos/notify/smtptest"
	"dimos/postgres"
	"dimos/postgres/pgtest"
	"dimos/protocol"
	"dimos/temporalserver"
	"dimos/workflows"
)

// stack is dimos as `dimos dev` runs it, in the test process: the real PostgreSQL, a
// real Temporal server, the worker and the HTTP server on a loopback port.
type stack struct {
	t        *testing.T
	cfg      config
	db       *postgres.DB
	tc       client.Client
	base     string // http://127.0.0.1:port
	temporal string // frontend host:port
	mail     *smtptest.Server
	sms      *smssim.Simulator
	registry *protocol.Simulator
	out      outside
}

func testLogger(t *testing.T) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("DIMOS_TEST_VERBOSE") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func testConfig() config {
	cfg, err := loadConfig()
	if err != nil {
		panic(err)
	}
	cfg.TemporalNamespace = "default"
	cfg.StarterInterval = 200 * time.Millisecond
	cfg.Municipality = "Δήμος Δοκιμών"
	return cfg
}

// startOutside runs the real outside parts a test needs: an SMTP server, the SMS
// gateway simulator and the protocol registry simulator, each over loopback.
func (s *stack) startOutside() {
	t := s.t
	s.mail = smtptest.Start(t)
	s.sms = smssim.New(s.cfg.SMSToken)
	smsSrv := httptest.NewServer(s.sms)
	t.Cleanup(smsSrv.Close)
	s.registry = protocol.NewSimulator(s.cfg.ProtocolToken, time.Now)
	regSrv := httptest.NewServer(s.registry)
	t.Cleanup(regSrv.Close)
	s.cfg.SMTPAddr, s.cfg.SMTPStartTLS = s.mail.Addr(), "never"
	s.cfg.SMSURL = smsSrv.URL + "/sms"
	s.cfg.ProtocolURL = regSrv.URL
	out, err := connectOutside(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.out = out
}

// startWorker starts a worker for the stack, stopped when the test ends.
func (s *stack) startWorker() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := startWorkerWhenReady(ctx, s.tc, s.db, s.out, s.cfg, testLogger(s.t))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(w.Stop)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startTemporal(t *testing.T, port int) *temporalserver.Server {
	t.Helper()
	srv, err := temporalserver.Start(context.Background(), temporalserver.Options{
		Memory: true, Port: port, UIPort: -1, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("start temporal: %v", err)
	}
	t.Cleanup(func() { srv.Stop() }) //nolint:errcheck
	return srv
}

// newStack wires dimos against a Temporal frontend at temporalAddr, which need not be
// up yet.
func newStack(t *testing.T, temporalAddr string, withWorker bool) *stack {
	t.Helper()
	log := testLogger(t)
	db := pgtest.New(t, true)
	tc, err := dialTemporal(temporalAddr, "default", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	s := &stack{t: t, cfg: testConfig(), db: db, tc: tc, temporal: temporalAddr}
	s.startOutside()
	if withWorker {
		s.startWorker()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	web, err := newWeb(s.cfg, db, tc, log)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(done)
		web.serveListener(ctx, ln) //nolint:errcheck
	}()
	t.Cleanup(func() { cancel(); <-done })
	s.base = "http://" + ln.Addr().String()
	return s
}

func (s *stack) submit(body string) (number string) {
	s.t.Helper()
	resp, err := http.Post(s.base+"/api/v1/cases", "application/json", strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Number, Status string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
		s.t.Fatalf("submit: status %d, %v", resp.StatusCode, err)
	}
	if !regexp.MustCompile(`^\d{4}-\d{6,}$`).MatchString(out.Number) || out.Status != "pending" {
		s.t.Fatalf("submit answered %+v", out)
	}
	return out.Number
}

func (s *stack) status(number string) string {
	s.t.Helper()
	resp, err := http.Get(s.base + "/api/v1/cases/" + number + "/status")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Status string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		s.t.Fatal(err)
	}
	return out.Status
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// browser is a staff member's browser: it keeps cookies and reads CSRF tokens from
// the forms it is shown, as a real one would.
type browser struct {
	t    *testing.T
	base string
	http *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.http.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	resp, err := b.http.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	return m[1]
}

func (b *browser) signIn(username string) {
	b.t.Helper()
	_, page := b.get("/console/signin")
	code, body := b.post("/console/signin", url.Values{"username": {username}, "password": {postgres.DemoPassword}, "_csrf": {csrfOf(b.t, page)}})
	if code != http.StatusOK || !strings.Contains(body, `action="/console/signout"`) {
		b.t.Fatalf("sign-in as %s: status %d\n%s", username, code, body)
	}
}

const complaint = `{"kind":"complaint","category":"potholes","subject":"Λακκούβα στην Εγνατίας",
	"text":"Μεγάλη λακκούβα μπροστά στο 12, επικίνδυνη για δίκυκλα.","desired_action":"Επίστρωση",
	"contact":{"first_name":"Ελένη","last_name":"Παππά","email":"eleni@example.gr","phone":"6900000000"}}`

// TestCaseEndToEnd follows one case from the citizen's POST to the director's answer.
func TestCaseEndToEnd(t *testing.T) {
	srv := startTemporal(t, 0)
	s := newStack(t, srv.FrontendAddr(), true)

	number := s.submit(complaint)
	if got := s.status(number); got != "pending" {
		t.Fatalf("status right after submission: %s", got)
	}

	director := newBrowser(t, s.base)
	director.signIn("tech.director")
	eventually(t, 20*time.Second, "the case in the director's inbox", func() bool {
		_, inbox := director.get("/console/inbox")
		return strings.Contains(inbox, number)
	})

	t.Run("ErrOtherServiceCannotOpen", func(t *testing.T) {
		other := newBrowser(t, s.base)
		other.signIn("water.clerk1")
		if code, _ := other.get("/console/cases/" + number); code != http.StatusForbidden {
			t.Fatalf("a clerk of another service opened the case: %d", code)
		}
	})

	code, page := director.get("/console/cases/" + number)
	if code != http.StatusOK || !strings.Contains(page, "Λακκούβα στην Εγνατίας") || !strings.Contains(page, workflows.WorkflowID(number)) {
		t.Fatalf("case page: %d\n%s", code, page)
	}
	t.Run("ErrCSRFMissing", func(t *testing.T) {
		if code, _ := director.post("/console/cases/"+number+"/complete", url.Values{"answer": {"x"}}); code != http.StatusForbidden {
			t.Fatalf("completion without CSRF token: %d", code)
		}
	})
	t.Run("ErrAnswerRequired", func(t *testing.T) {
		code, body := director.post("/console/cases/"+number+"/complete", url.Values{"answer": {"   "}, "_csrf": {csrfOf(t, page)}})
		if code != http.StatusBadRequest || !strings.Contains(body, "Γράψτε την απάντηση") {
			t.Fatalf("empty answer: %d\n%s", code, body)
		}
	})

	answer := "Η λακκούβα επιστρώθηκε στις 3/3. Ευχαριστούμε για την ενημέρωση."
	code, body := director.post("/console/cases/"+number+"/complete", url.Values{"answer": {answer}, "_csrf": {csrfOf(t, page)}})
	if code != http.StatusOK || !strings.Contains(body, answer) {
		t.Fatalf("complete: %d\n%s", code, body)
	}
	if got := s.status(number); got != "completed" {
		t.Fatalf("status after completion: %s", got)
	}

	ctx := context.Background()
	cs, err := s.db.CaseByNumber(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Answer != answer || cs.Stage != dimos.StageCompleted {
		t.Fatalf("stored case: %+v", cs)
	}
	timings, err := s.db.StageTimings(ctx, cs.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []dimos.Stage{dimos.StageReceived, dimos.StageRouted, dimos.StageCompleted}
	if len(timings) != len(want) {
		t.Fatalf("stage timings: %+v", timings)
	}
	director1, _ := s.db.EmployeeByUsername(ctx, "tech.director")
	for i, st := range timings {
		// Every stage but the last was left; the case rests in the last one.
		if st.Stage != want[i] || st.LeftAt.IsZero() != (i == len(want)-1) || !st.LeftAt.IsZero() && st.LeftAt.Before(st.EnteredAt) {
			t.Errorf("timing %d: %+v", i, st)
		}
		if i > 0 && st.EnteredAt.Before(timings[i-1].LeftAt) {
			t.Errorf("timing %d entered before %d left", i, i-1)
		}
	}
	if timings[1].EmployeeID != director1.ID {
		t.Errorf("routed stage held by %d, want the director %d", timings[1].EmployeeID, director1.ID)
	}

	recordHistory(t, s.tc, workflows.WorkflowID(number), "complaint_completed_local_notify")
	t.Run("FewServerWrites", func(t *testing.T) {
		// Every step of this path runs inside the workflow's tasks (local activities),
		// and the clocks take one timer: no activity task, each of which costs the
		// server three writes and a workflow task more, and no timer per transition.
		events := map[enumspb.EventType]int{}
		iter := s.tc.GetWorkflowHistory(ctx, workflows.WorkflowID(number), "", false, 0)
		for iter.HasNext() {
			e, err := iter.Next()
			if err != nil {
				t.Fatal(err)
			}
			events[e.GetEventType()]++
		}
		if n := events[enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]; n != 0 {
			t.Errorf("%d activity tasks, want none", n)
		}
		if n := events[enumspb.EVENT_TYPE_TIMER_STARTED]; n != 1 {
			t.Errorf("%d timers started, want 1", n)
		}
		if n := events[enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]; n != 1 {
			t.Errorf("%d search attribute upserts, want 1 (the version marker's)", n)
		}
	})
	// The workflow stays for the reopen window, in which the citizen may rate or reopen.
	state, err := workflows.Dispatcher{Client: s.tc}.State(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	if state.Stage != dimos.StageCompleted || !state.ReopenUntil.After(time.Now().Add(14*24*time.Hour)) {
		t.Fatalf("workflow state after completion: %+v", state)
	}
}

// TestSubmissionWhileTemporalDown shows that a case accepted while Temporal cannot be
// reached is kept, and gets its workflow as soon as Temporal is back.
func TestSubmissionWhileTemporalDown(t *testing.T) {
	addr := freeAddr(t) // nothing listens here yet
	s := newStack(t, addr, false)

	number := s.submit(complaint)
	_, err := s.db.CaseByNumber(context.Background(), number)
	if err != nil {
		t.Fatalf("accepted case not stored: %v", err)
	}
	time.Sleep(time.Second) // a few starter sweeps fail meanwhile
	cs, _ := s.db.CaseByNumber(context.Background(), number)
	if !cs.WorkflowStartedAt.IsZero() || cs.Stage != dimos.StageReceived {
		t.Fatalf("case has a workflow although Temporal is down: %+v", cs)
	}

	_, port, _ := net.SplitHostPort(addr)
	var p int
	fmt.Sscan(port, &p)
	startTemporal(t, p)
	s.startWorker()

	eventually(t, 60*time.Second, "the case to be routed once Temporal is up", func() bool {
		cs, err := s.db.CaseByNumber(context.Background(), number)
		return err == nil && cs.Stage == dimos.StageRouted && !cs.WorkflowStartedAt.IsZero()
	})
}

// TestEdgeErrors covers what no handler sees: bodies over the limit and unknown routes
// get a clear 4xx in Greek and English, not a 5xx.
func TestEdgeErrors(t *testing.T) {
	s := newStack(t, freeAddr(t), false)
	t.Run("ErrBodyTooLarge", func(t *testing.T) {
		// Announce 12 MiB (over the 11 MiB limit that lets 10 MB attachments through)
		// and send only the start: the server must answer from the
		// header, before reading a body it will not accept.
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"text\":\"", 12<<20)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw), "πολύ μεγάλο") {
			t.Fatalf("status %d, body %s", resp.StatusCode, raw)
		}
	})
	tests := []struct {
		name, method, path string
		body               io.Reader
		want               int
	}{
		{"ErrUnknownRoute", "GET", "/api/v1/nothing-here", nil, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.base+tt.path, tt.body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct {
				Error struct{ Message struct{ EL, EN string } }
			}
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want || json.Unmarshal(raw, &out) != nil || out.Error.Message.EL == "" || out.Error.Message.EN == "" {
				t.Fatalf("status %d, body %s", resp.StatusCode, raw)
			}
		})
	}
}
