//go:build chaos && linux

package chaos

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"dimos"
	"dimos/postgres/pgtest"
)

// firstReaches waits until the first accepted case has reached what (checked by
// reached), so that a fault that follows finds the cases early in their paths (under
// a light load they reach staff within a second of being routed).
func (c *cluster) firstReaches(what string, reached func(*dimos.Case) bool) {
	c.t.Helper()
	first := c.accepted()[0].number
	eventually(c.t, time.Minute, first+" "+what, func() bool {
		cs, err := c.db.CaseByNumber(context.Background(), first)
		return err == nil && reached(cs)
	})
}

func routed(cs *dimos.Case) bool  { return cs.Stage != dimos.StageReceived }
func started(cs *dimos.Case) bool { return !cs.WorkflowStartedAt.IsZero() }

// inFlight counts the accepted cases that have not yet reached the stage in which
// they wait for staff.
func (c *cluster) inFlight() (n int) {
	c.t.Helper()
	for _, a := range c.accepted() {
		if cs, err := c.db.CaseByNumber(context.Background(), a.number); err == nil && cs.Stage != holderStage(a.kind) {
			n++
		}
	}
	return n
}

// TestWorkerKilled: the worker dies (kill -9) with cases in flight; cases keep being
// accepted while it is dead; a new worker finishes everything, once.
func TestWorkerKilled(t *testing.T) {
	start := time.Now()
	c := startCluster(t, pgtest.NewURL(t), ports)
	// The registry answers after 4 s, and registers even when its caller has gone:
	// the worker dies in the middle of a registration, which the next worker must
	// repeat without a second protocol number. (Cases now reach staff within
	// milliseconds of their start, so without it the kill could find nothing under way.)
	c.setRegistryMode(`{"mode":"slow","delay":"4s"}`)
	for i := range 6 {
		c.submitComplaint(i)
	}
	for i := range 3 {
		c.fileCertificate(i)
	}
	c.firstReaches("routed", routed)
	eventually(t, time.Minute, "a registration under way", func() bool { return c.registryState().Attempts > 0 })
	inFlight := c.inFlight()
	c.killWorker()
	t.Logf("worker killed with %d of %d cases in flight", inFlight, len(c.accepted()))
	if inFlight == 0 {
		t.Fatal("the worker was killed with no case in flight: the scenario tested nothing")
	}
	c.setRegistry("ok")
	for i := 6; i < 9; i++ {
		c.submitComplaint(i)
	}
	c.fileCertificate(3)
	time.Sleep(2 * time.Second)
	c.restartWorker()
	c.completeAll()
	c.verify()
	t.Logf("scenario took %v", time.Since(start).Round(time.Second))
}

// TestTemporalStoppedDuringIntake: the Temporal server dies during intake; the
// console keeps accepting cases (health says degraded) and the starter gives each its
// workflow once Temporal is back, with the workflows started before it intact.
func TestTemporalStoppedDuringIntake(t *testing.T) {
	start := time.Now()
	c := startCluster(t, pgtest.NewURL(t), ports)
	for i := range 4 {
		c.submitComplaint(i)
	}
	c.fileCertificate(0)
	c.firstReaches("started", started)
	inFlight := c.inFlight()
	c.temporal.kill()
	t.Logf("temporal killed with %d of %d cases in flight", inFlight, len(c.accepted()))
	for i := 4; i < 10; i++ {
		c.submitComplaint(i)
	}
	c.fileCertificate(1)
	c.fileCertificate(2)
	if h := c.health(); h != "degraded" {
		t.Errorf("health while Temporal is down: %q, want degraded", h)
	}
	time.Sleep(3 * time.Second) // the starter's sweeps fail meanwhile
	c.temporal.serve(false, 90*time.Second)
	c.waitHealthy(90 * time.Second)
	c.completeAll()
	c.verify()
	t.Logf("scenario took %v", time.Since(start).Round(time.Second))
}

// TestPostgresRestarted: PostgreSQL (a private cluster, never the machine's) crashes
// and comes back in the middle of a run; activities retry and nothing is lost or
// written twice.
func TestPostgresRestarted(t *testing.T) {
	start := time.Now()
	pg := startPrivatePostgres(t, ports)
	c := startCluster(t, pg.url("dimos"), ports)
	for i := range 6 {
		c.submitComplaint(i)
	}
	for i := range 2 {
		c.fileCertificate(i)
	}
	c.firstReaches("started", started)
	inFlight := c.inFlight()
	pg.crash()
	t.Logf("PostgreSQL crashed with %d of %d cases in flight", inFlight, len(c.accepted()))
	if h := c.health(); h != "unavailable" {
		t.Errorf("health while PostgreSQL is down: %q, want unavailable", h)
	}
	time.Sleep(5 * time.Second)
	pg.start()
	c.waitHealthy(time.Minute)
	for i := 6; i < 9; i++ {
		c.submitComplaint(i)
	}
	c.completeAll()
	c.verify()
	t.Logf("scenario took %v", time.Since(start).Round(time.Second))
}

// TestProtocolRegistryDown: the protocol registry fails for a long stretch; every
// certificate application waits in awaiting_protocol with the citizen told so, other
// cases go on; once it is back each application gets exactly one number.
func TestProtocolRegistryDown(t *testing.T) {
	start := time.Now()
	c := startCluster(t, pgtest.NewURL(t), ports)
	c.setRegistry("fail")
	var certs []string
	for i := range 4 {
		certs = append(certs, c.fileCertificate(i))
	}
	for i := range 3 {
		c.submitComplaint(i)
	}
	ctx := context.Background()
	for _, n := range certs {
		eventually(t, time.Minute, n+" waiting for the protocol, the citizen told", func() bool {
			cs, err := c.db.CaseByNumber(ctx, n)
			return err == nil && cs.Stage == dimos.StageAwaitingProtocol && c.hasSMS(n+"/protocol_pending/citizen")
		})
	}
	down := time.Now()
	before := c.registryState().Attempts
	time.Sleep(25 * time.Second) // the patient retries keep failing
	reg := c.registryState()
	if reg.Registrations != 0 || reg.Attempts <= before {
		t.Fatalf("registry while down: %+v (attempts before %d)", reg, before)
	}
	for _, n := range certs {
		if cs, _ := c.db.CaseByNumber(ctx, n); cs == nil || cs.Stage != dimos.StageAwaitingProtocol || cs.Protocol.Number != "" {
			t.Fatalf("%s while the registry is down: %+v", n, cs)
		}
	}
	c.setRegistry("ok")
	t.Logf("registry down for %v, %d failed attempts", time.Since(down).Round(time.Second), reg.Attempts)
	c.completeAll()
	c.verify()
	t.Logf("scenario took %v", time.Since(start).Round(time.Second))
}

// TestMailServerDown: the mail server is down for a stretch; cases move on, SMS go out
// once, and every mail is delivered once when it is back.
func TestMailServerDown(t *testing.T) {
	start := time.Now()
	c := startCluster(t, pgtest.NewURL(t), ports)
	c.mail.stop()
	for i := range 5 {
		c.submitComplaint(i)
	}
	c.fileCertificate(0)
	ctx := context.Background()
	for _, a := range c.accepted() {
		eventually(t, time.Minute, a.number+" waiting for staff while mail is down", func() bool {
			cs, err := c.db.CaseByNumber(ctx, a.number)
			return err == nil && cs.Stage == holderStage(a.kind) && c.hasSMS(a.number+"/received/citizen")
		})
	}
	time.Sleep(10 * time.Second) // mail retries keep failing
	if n := len(c.mail.messages()); n != 0 {
		t.Fatalf("%d mails while the mail server was down", n)
	}
	c.mail.start(t)
	t.Logf("mail server down for %v", time.Since(start).Round(time.Second))
	c.completeAll()
	c.verify()
	t.Logf("scenario took %v", time.Since(start).Round(time.Second))
}

func (c *cluster) hasSMS(key string) bool {
	for _, m := range c.sms.Messages() {
		if m.Key == key {
			return true
		}
	}
	return false
}

// health is the console's /healthz status: ok, degraded or unavailable.
func (c *cluster) health() string {
	c.t.Helper()
	resp, err := http.Get(c.base + "/healthz")
	if err != nil {
		c.t.Fatalf("healthz: %v", err)
	}
	defer resp.Body.Close()
	var h struct{ Status string }
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		c.t.Fatalf("healthz: %v", err)
	}
	return h.Status
}
