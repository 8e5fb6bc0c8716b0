//go:build chaos && linux

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"dimos"
	"dimos/notify"
	"dimos/notify/smssim"
	"dimos/postgres"
	"dimos/workflows"
)

const (
	protocolToken = "chaos-protocol-token"
	smsToken      = "chaos-sms-token"
	mailDomain    = "dimos.example" // of DIMOS_SMTP_FROM's default, in every Message-ID
	// settle is how long the cluster may take to finish what a fault delayed: the
	// longest activity timeout (a minute, for a mail whose worker died) plus the
	// retry back-off after it.
	settle = 3 * time.Minute
)

// cluster is dimos as a municipality runs it without a Temporal cluster: a Temporal
// server process, a worker process and a console process, the protocol registry
// (the simulator process), a mail server and the SMS gateway, on one PostgreSQL.
type cluster struct {
	t        *testing.T
	db       *postgres.DB
	base     string // the console, http://host:port
	registry string // the protocol simulator, http://host:port
	mail     *mailServer
	sms      *smssim.Simulator
	// work is the test's own Temporal client, to ask a case's workflow where it
	// stands, as the console does.
	work workflows.Dispatcher

	temporal, worker, console, protocol *proc

	mu    sync.Mutex
	cases []accepted
	// workerKilled: a worker died mid-activity, so a send may have been retried.
	// killedAt is when it was dead for sure, restartedAt when a new one started.
	workerKilled          bool
	killedAt, restartedAt time.Time
}

// killWorker kills the worker (SIGKILL), with whatever activities it was running.
func (c *cluster) killWorker() {
	c.worker.kill()
	c.mu.Lock()
	c.workerKilled, c.killedAt = true, time.Now()
	c.mu.Unlock()
}

// restartWorker starts a new worker after killWorker.
func (c *cluster) restartWorker() {
	c.mu.Lock()
	c.restartedAt = time.Now()
	c.mu.Unlock()
	c.worker.start()
}

// resentAfterKill reports whether a mail that arrived twice was sent once by the
// killed worker and once more by its successor: the one duplicate SMTP cannot
// prevent. A worker killed after the server accepted a message but before the send
// was recorded leaves the retry no way to know it went; it sends it again, with the
// same Message-ID (by which mail clients show it once). Any other duplicate — both
// copies from one worker, or a third copy — is a bug.
func (c *cluster) resentAfterKill(at []time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.workerKilled && len(at) == 2 && at[0].Before(c.killedAt) && !at[1].Before(c.restartedAt)
}

// accepted is a case dimos answered with its number.
type accepted struct {
	number string
	kind   dimos.Kind
}

// childEnv is the environment of the test without the variables dimos reads, so that
// the machine's settings do not leak into the cluster.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "DIMOS_") || strings.HasPrefix(name, "TEMPORAL_") || name == "DATABASE_URL" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// startCluster starts every process against the database at dsn, on ports picked by
// ports, and waits until the console answers and reaches Temporal.
//
// The processes start one after the other, each once the one before has started,
// because each may have to move to another port (proc.serve) before the next is told
// its address: the protocol simulator, Temporal (started once it says so in its log,
// which it does once all its services listen and the namespace answers), the console,
// then the worker, which listens on nothing (started once it says so).
func startCluster(t *testing.T, dsn string, ports *portPicker) *cluster {
	t.Helper()
	c := &cluster{t: t, db: openDemo(t, dsn), mail: startMailServer(t, ports)}
	var smsURL string
	c.sms, smsURL = smsGateway(t, smsToken)
	env := append(childEnv(),
		"DATABASE_URL="+dsn,
		"DIMOS_TEMPORAL_UI_PORT=-1",
		"DIMOS_DATA_DIR="+t.TempDir(),
		"DIMOS_STARTER_INTERVAL=300ms",
		"DIMOS_SMTP_ADDR="+c.mail.addr,
		"DIMOS_SMTP_STARTTLS=never",
		"DIMOS_SMS_URL="+smsURL,
		"DIMOS_SMS_TOKEN="+smsToken,
		"DIMOS_PROTOCOL_TOKEN="+protocolToken,
		"DIMOS_LOG_LEVEL=warn",
	)
	// with is env and more, in a slice of its own.
	with := func(kv ...string) []string { return append(slices.Clone(env), kv...) }

	c.protocol = newServer(t, ports, "protocol-sim", nil, func(addr string) ([]string, []string) {
		return []string{"protocol-sim", "--addr", addr}, with()
	})
	c.protocol.serve(true, 30*time.Second)
	c.registry = "http://" + c.protocol.addr
	env = append(env, "DIMOS_PROTOCOL_URL="+c.registry)

	// At level info the temporal command logs this once its server is ready.
	temporalReady := func(p *proc) bool { return p.logged("temporal server running") }
	c.temporal = newServer(t, ports, "temporal", temporalReady, func(addr string) ([]string, []string) {
		return []string{"temporal"}, with("DIMOS_TEMPORAL_PORT="+strconv.Itoa(portOf(addr)), "DIMOS_LOG_LEVEL=info")
	})
	c.temporal.serve(true, 90*time.Second)
	temporalAddr := c.temporal.addr
	env = append(env, "TEMPORAL_ADDRESS="+temporalAddr)
	tc, err := client.NewLazyClient(client.Options{HostPort: temporalAddr, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	c.work = workflows.Dispatcher{Client: tc}

	c.console = newServer(t, ports, "console", nil, func(addr string) ([]string, []string) {
		return []string{"console"}, with("DIMOS_HTTP_ADDR="+addr, "DIMOS_PUBLIC_URL=http://"+addr)
	})
	c.console.serve(true, 60*time.Second)
	c.base = "http://" + c.console.addr
	// The worker writes the console's address into the links of its mails.
	env = append(env, "DIMOS_HTTP_ADDR="+c.console.addr, "DIMOS_PUBLIC_URL="+c.base)
	// At level info the worker logs this once it polls its task queues. A fault must
	// not find it still connecting: a worker that cannot reach PostgreSQL at its start
	// exits, and none would be left to run the cases.
	c.worker = newProc(t, "worker", with("DIMOS_LOG_LEVEL=info"), "worker")
	c.worker.start()
	eventually(t, 90*time.Second, "the worker to start", func() bool {
		if c.worker.exited() {
			t.Fatal("the worker exited")
		}
		return c.worker.logged("worker running")
	})
	waitHTTP(t, 30*time.Second, c.registry+"/", c.protocol)
	c.waitHealthy(90 * time.Second)
	return c
}

// waitHealthy waits until the console reports PostgreSQL and Temporal both up.
func (c *cluster) waitHealthy(within time.Duration) {
	c.t.Helper()
	eventually(c.t, within, "the console to report PostgreSQL and Temporal up", func() bool {
		if c.console.exited() {
			c.t.Fatal("the console exited")
		}
		resp, err := http.Get(c.base + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var h struct{ Status string }
		return json.NewDecoder(resp.Body).Decode(&h) == nil && h.Status == "ok"
	})
}

// submitComplaint files a complaint through the citizen API, as the portal does; the
// answer must be 201 with a number (the case is then accepted).
func (c *cluster) submitComplaint(i int) string {
	c.t.Helper()
	body := fmt.Sprintf(`{"kind":"complaint","category":"potholes","subject":"Λακκούβα %d",
		"text":"Λακκούβα μπροστά στο %d της Εγνατίας.","desired_action":"Επίστρωση",
		"contact":{"first_name":"Ελένη","last_name":"Παππά","email":"citizen%d@example.gr","phone":"69%08d"}}`, i, i, i, i)
	code, raw, err := post(c.base+"/api/v1/cases", "", []byte(body))
	if err != nil || code != http.StatusCreated {
		c.t.Fatalf("submit complaint %d: %d %v %s", i, code, err, raw)
	}
	var out struct{ Number string }
	if err := json.Unmarshal(raw, &out); err != nil || out.Number == "" {
		c.t.Fatalf("submit complaint %d answered %s", i, raw)
	}
	c.accept(out.Number, dimos.KindComplaint)
	return out.Number
}

// fileCertificate files a certificate application at the service desk, for a
// citizen who came in person: the case is stored, and the console's starter sweep
// gives it its workflow.
func (c *cluster) fileCertificate(i int) string {
	c.t.Helper()
	cs := &dimos.Case{Kind: dimos.KindCertificate, CategoryCode: "cert-birth", Channel: dimos.ChannelDesk,
		Subject: fmt.Sprintf("Πιστοποιητικό γέννησης %d", i), Text: "Για εγγραφή σε σχολείο.", Lang: "el",
		Contact: dimos.Contact{FirstName: "Νίκος", LastName: "Γεωργίου", Email: fmt.Sprintf("applicant%d@example.gr", i), Phone: fmt.Sprintf("69%08d", 5000+i)}}
	if err := c.db.SubmitCase(context.Background(), cs); err != nil {
		c.t.Fatalf("file certificate %d: %v", i, err)
	}
	c.accept(cs.Number, dimos.KindCertificate)
	return cs.Number
}

func (c *cluster) accept(number string, kind dimos.Kind) {
	c.mu.Lock()
	c.cases = append(c.cases, accepted{number, kind})
	c.mu.Unlock()
}

func (c *cluster) accepted() []accepted {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.cases)
}

// holderStage is the stage in which a case waits for staff: a complaint with the
// director (potholes are not auto-assigned), a certificate with the clerk it was
// given to once registered in the protocol.
func holderStage(k dimos.Kind) dimos.Stage {
	if k == dimos.KindCertificate {
		return dimos.StageAssigned
	}
	return dimos.StageRouted
}

// completeAll waits until every accepted case waits for staff, then has its holder
// complete it through the console — signed in, with the CSRF token of the case page —
// and waits until every case is completed.
func (c *cluster) completeAll() {
	t := c.t
	t.Helper()
	ctx := context.Background()
	cases := c.accepted()
	for _, a := range cases {
		eventually(t, settle, a.number+" waiting for staff", func() bool {
			cs, err := c.db.CaseByNumber(ctx, a.number)
			return err == nil && cs.Stage == holderStage(a.kind)
		})
	}
	browsers := map[string]*browser{}
	for _, a := range cases {
		cs, err := c.db.CaseByNumber(ctx, a.number)
		if err != nil {
			t.Fatal(err)
		}
		holder := cs.AssigneeID
		if holder == 0 {
			t.Fatalf("%s in stage %s has no holder", a.number, cs.Stage)
		}
		e, err := c.db.EmployeeByID(ctx, holder)
		if err != nil {
			t.Fatal(err)
		}
		b := browsers[e.Username]
		if b == nil {
			b = newBrowser(t, c.base)
			b.signIn(e.Username)
			browsers[e.Username] = b
		}
		// The database can be ahead of the workflow, which makes a stage its own only
		// when the activity that wrote it reports back: after a killed worker, when
		// that activity times out and its retry finds the row written. Until then the
		// workflow refuses the decision (409, error.case.not_routed), while the
		// console, which reads the stage from the database, already offers it. So the
		// clerk acts once the workflow itself says the case waits for them; a 409
		// after that fails the test.
		eventually(t, settle, a.number+"'s workflow waiting for staff", func() bool {
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			s, err := c.work.State(qctx, a.number)
			return err == nil && s.Stage == holderStage(a.kind) && s.AssigneeID == holder
		})
		answer := "Ολοκληρώθηκε: " + a.number
		code, page := b.get("/console/cases/" + a.number)
		if code != http.StatusOK {
			t.Fatalf("%s opens %s: %d", e.Username, a.number, code)
		}
		code, body := b.post("/console/cases/"+a.number+"/complete", url.Values{"answer": {answer}, "_csrf": {csrfOf(t, page)}})
		if code != http.StatusOK || !strings.Contains(body, answer) {
			t.Fatalf("%s completes %s: %d\n%s", e.Username, a.number, code, body)
		}
	}
	for _, a := range cases {
		eventually(t, time.Minute, a.number+" completed", func() bool {
			cs, err := c.db.CaseByNumber(ctx, a.number)
			return err == nil && cs.Stage == dimos.StageCompleted
		})
	}
}

// expectedStages is the whole path of a case completed by its first holder.
func expectedStages(k dimos.Kind) []dimos.Stage {
	if k == dimos.KindCertificate {
		return []dimos.Stage{dimos.StageReceived, dimos.StageAwaitingProtocol, dimos.StageRouted, dimos.StageAssigned, dimos.StageCompleted}
	}
	return []dimos.Stage{dimos.StageReceived, dimos.StageRouted, dimos.StageCompleted}
}

// transitionEvents are the timeline events that the stage moves of these paths write,
// one per stage-timing row, in the same transaction.
var transitionEvents = []string{"received", "awaiting_protocol", "routed", "assigned_auto", "completed"}

// notifications are the keys of the mails and SMS a completed case must have caused
// (each exactly once), and those it may have caused (at most once).
func notifications(a accepted) (mails, sms, optional []string) {
	n := a.number
	if a.kind == dimos.KindCertificate {
		citizen := []string{n + "/received/citizen", n + "/protocol_registered/citizen", n + "/assigned/4/citizen", n + "/completed/5/citizen"}
		// Told only if the first registration attempts failed.
		return append(slices.Clone(citizen), n+"/routed/3/director"), citizen, []string{n + "/protocol_pending/citizen"}
	}
	citizen := []string{n + "/received/citizen", n + "/completed/3/citizen"}
	return append(slices.Clone(citizen), n+"/routed/2/director"), citizen, nil
}

// verify checks what every scenario promises once the fault is over and the cases
// are driven to completion: no case lost, no stage-timing row lost or doubled, no
// mail, SMS or protocol number twice.
func (c *cluster) verify() {
	t := c.t
	t.Helper()
	ctx := context.Background()
	cases := c.accepted()
	if len(cases) == 0 {
		t.Fatal("no case was accepted")
	}

	// Notifications: wait for every one that must go out, then for any extra.
	wantMail, wantSMS, optional := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, a := range cases {
		m, s, o := notifications(a)
		for _, k := range m {
			wantMail[notify.MessageID(k, mailDomain)] = true
		}
		for _, k := range s {
			wantSMS[k] = true
		}
		for _, k := range o {
			optional[k] = true
			optional[notify.MessageID(k, mailDomain)] = true
		}
	}
	mailIDs := func() map[string]int {
		got := map[string]int{}
		for _, m := range c.mail.messages() {
			got[m.MessageID]++
		}
		return got
	}
	smsKeys := func() map[string]int {
		got := map[string]int{}
		for _, m := range c.sms.Messages() {
			got[m.Key]++
		}
		return got
	}
	eventually(t, settle, "every mail and SMS delivered", func() bool {
		gm, gs := mailIDs(), smsKeys()
		for id := range wantMail {
			if gm[id] == 0 {
				return false
			}
		}
		for k := range wantSMS {
			if gs[k] == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * time.Second) // a duplicate would arrive now
	arrivals := c.mail.arrivals()
	for id, n := range mailIDs() {
		if !wantMail[id] && !optional[id] {
			t.Errorf("unexpected mail %s", id)
		}
		switch {
		case n == 1:
		case c.resentAfterKill(arrivals[id]):
			t.Logf("mail %s sent by the killed worker and again by the new one (at %v)", id, arrivals[id])
		default:
			t.Errorf("mail %s delivered %d times (at %v)", id, n, arrivals[id])
		}
	}
	for k, n := range smsKeys() {
		if !wantSMS[k] && !optional[k] {
			t.Errorf("unexpected SMS %s", k)
		}
		if n != 1 {
			t.Errorf("SMS %s delivered %d times", k, n)
		}
	}
	// A worker killed between the gateway's answer and the record of the send loses
	// that record: the retry sends again under the same reference, and the gateway
	// answers "duplicate" without sending (the citizen gets one SMS: checked above).
	// That is the reference doing its job, and only a killed worker may cause it.
	c.mu.Lock()
	killed := c.workerKilled
	c.mu.Unlock()
	if d := c.sms.Duplicates(); d != 0 && !killed {
		t.Errorf("the SMS gateway refused %d duplicates", d)
	} else if d != 0 {
		t.Logf("the SMS gateway answered %d resends after the kill as duplicates", d)
	}

	// Stage timings against the path and the timeline.
	protocolNumbers := map[string]string{}
	certificates := 0
	for _, a := range cases {
		cs, err := c.db.CaseByNumber(ctx, a.number)
		if err != nil {
			t.Fatal(err)
		}
		if cs.Stage != dimos.StageCompleted {
			t.Errorf("%s ended in %s", a.number, cs.Stage)
		}
		timings, err := c.db.StageTimings(ctx, cs.ID)
		if err != nil {
			t.Fatal(err)
		}
		var stages []dimos.Stage
		for i, st := range timings {
			stages = append(stages, st.Stage)
			last := i == len(timings)-1
			if st.Seq != i+1 || st.LeftAt.IsZero() != last {
				t.Errorf("%s timing %d: %+v", a.number, i, st)
			}
		}
		if want := expectedStages(a.kind); !slices.Equal(stages, want) {
			t.Errorf("%s stage timings %v, want %v", a.number, stages, want)
		}
		var events int
		if err := c.db.Pool.QueryRow(ctx, `SELECT count(*) FROM case_events WHERE case_id = $1 AND type = ANY($2)`,
			cs.ID, transitionEvents).Scan(&events); err != nil {
			t.Fatal(err)
		}
		if events != len(timings) {
			t.Errorf("%s: %d stage timings but %d stage events", a.number, len(timings), events)
		}
		if a.kind == dimos.KindCertificate {
			certificates++
			p := cs.Protocol.Number
			if p == "" {
				t.Errorf("%s has no protocol number", a.number)
			} else if other, dup := protocolNumbers[p]; dup {
				t.Errorf("%s and %s share protocol number %s", a.number, other, p)
			}
			protocolNumbers[p] = a.number
			var registered int
			if err := c.db.Pool.QueryRow(ctx, `SELECT count(*) FROM case_events WHERE case_id = $1 AND type = 'protocol_registered'`,
				cs.ID).Scan(&registered); err != nil {
				t.Fatal(err)
			}
			if registered != 1 {
				t.Errorf("%s registered in the protocol %d times", a.number, registered)
			}
		}
	}
	if reg := c.registryState(); reg.Registrations != certificates {
		t.Errorf("the registry holds %d registrations for %d certificate applications", reg.Registrations, certificates)
	}
	// The inbox's counts by holder moved with every case, whatever failed meanwhile.
	if drift, err := c.db.InboxCountsDrift(ctx); err != nil || len(drift) > 0 {
		t.Errorf("inbox_counts differ from the cases: %v %v", drift, err)
	}
	t.Logf("%d cases completed; %d mails, %d SMS, %d protocol numbers, each once", len(cases), len(c.mail.messages()), len(c.sms.Messages()), len(protocolNumbers))
}

type registryState struct {
	Mode          string `json:"mode"`
	Attempts      int    `json:"attempts"`
	Registrations int    `json:"registrations"`
}

// registryState asks the protocol simulator process for its counts.
func (c *cluster) registryState() registryState {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.registry+"/control", nil)
	req.Header.Set("Authorization", "Bearer "+protocolToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("protocol simulator: %v", err)
	}
	defer resp.Body.Close()
	var s registryState
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != http.StatusOK {
		c.t.Fatalf("protocol simulator /control: %d %v", resp.StatusCode, err)
	}
	return s
}

// setRegistry switches the protocol simulator process to a mode (ok, fail, …).
func (c *cluster) setRegistry(mode string) {
	c.t.Helper()
	c.setRegistryMode(`{"mode":"` + mode + `"}`)
}

// setRegistryMode posts a whole mode to the protocol simulator, e.g. with a delay.
func (c *cluster) setRegistryMode(body string) {
	c.t.Helper()
	code, raw, err := post(c.registry+"/control", protocolToken, []byte(body))
	if err != nil || code != http.StatusOK {
		c.t.Fatalf("protocol simulator mode %s: %d %v %s", body, code, err, raw)
	}
}

// browser is a staff member's browser: it keeps cookies and reads CSRF tokens from
// the forms it is shown.
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
