//go:build chaos && linux

package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"dimos/notify/smssim"
	"dimos/notify/smtptest"
	"dimos/postgres"
)

// dimosBin is the dimos binary built once for all scenarios by TestMain.
var dimosBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dimos-chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dimosBin = filepath.Join(dir, "dimos")
	start := time.Now()
	build := exec.Command("go", "build", "-o", dimosBin, "dimos/cmd/dimos")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "chaos: building dimos:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "chaos: built dimos in %v\n", time.Since(start).Round(time.Second))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one dimos process: started, killed and started again with the same
// command line and environment. Its output goes to a log file shown when the test
// fails.
type proc struct {
	t    *testing.T
	name string
	args []string
	env  []string
	log  string

	// Of a process that listens (newServer): its address, the picker that gave it,
	// its command line and environment for an address, and how to tell that it has
	// started.
	addr    string
	ports   *portPicker
	cmdline func(addr string) (args, env []string)
	ready   func(*proc) bool

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	from int64 // where the log of the latest start begins
}

// newProc is a process that listens on nothing (the worker).
func newProc(t *testing.T, name string, env []string, args ...string) *proc {
	p := &proc{t: t, name: name, args: args, env: env, log: filepath.Join(t.TempDir(), name+".log")}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.dumpLog()
		}
	})
	return p
}

// newServer is a process that listens on a loopback port picked by ports; cmdline
// gives its arguments and environment for the address. It has started when ready
// says so; nil means once it listens on the address itself. Start it with serve.
func newServer(t *testing.T, ports *portPicker, name string, ready func(*proc) bool, cmdline func(addr string) (args, env []string)) *proc {
	p := newProc(t, name, nil)
	p.ports, p.cmdline, p.ready = ports, cmdline, ready
	if p.ready == nil {
		p.ready = (*proc).listening
	}
	p.setAddr(ports.pick(t, name))
	return p
}

func (p *proc) setAddr(addr string) {
	p.addr = addr
	p.args, p.env = p.cmdline(addr)
}

// serve starts a process that listens and waits until it has started. If it exits
// because its port was taken (see portPicker), it is started again, at most
// maxStarts times: with newPort (its first start, when no other process knows the
// address yet) on a newly picked port, else (a restart: the others hold the address)
// on the same port after a pause.
func (p *proc) serve(newPort bool, within time.Duration) {
	p.t.Helper()
	for try := 1; ; try++ {
		p.start()
		if p.waitStarted(within) {
			return
		}
		if try == maxStarts {
			p.t.Fatalf("%s: its port was taken at each of %d starts (last %s)", p.name, maxStarts, p.addr)
		}
		if newPort {
			taken := p.addr
			p.setAddr(p.ports.pick(p.t, p.name))
			p.t.Logf("%s: %s was taken (start %d); starting it on %s", p.name, taken, try, p.addr)
		} else {
			p.t.Logf("%s: %s was taken (start %d); starting it there again in a second", p.name, p.addr, try)
			time.Sleep(time.Second)
		}
	}
}

// waitStarted waits until the process started by p.start is ready (true) or has
// exited because its port was taken (false); any other exit, or a process not ready
// within the time, fails the test.
func (p *proc) waitStarted(within time.Duration) bool {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if p.exited() {
			p.reap()
			if strings.Contains(strings.ToLower(p.logSince()), bindFailure) {
				return false
			}
			p.t.Fatalf("%s exited while starting", p.name)
		}
		if p.ready(p) {
			return true
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s not started within %v", p.name, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listening reports whether the process holds a listening socket on its address.
func (p *proc) listening() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && listensOn(p.cmd.Process.Pid, portOf(p.addr))
}

// logged reports whether the latest start of the process has written s to its log.
func (p *proc) logged(s string) bool { return strings.Contains(p.logSince(), s) }

// logSince is the log of the latest start.
func (p *proc) logSince() string {
	p.mu.Lock()
	from := p.from
	p.mu.Unlock()
	f, err := os.Open(p.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	raw, _ := io.ReadAll(io.NewSectionReader(f, from, 1<<30))
	return string(raw)
}

// reap forgets a process that has exited by itself, so that it can be started again.
func (p *proc) reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		<-p.done
		p.cmd, p.done = nil, nil
	}
}

func (p *proc) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		p.t.Fatalf("%s started twice", p.name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	if st, err := f.Stat(); err == nil {
		p.from = st.Size()
	}
	fmt.Fprintf(f, "=== %s start %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(p.args, " "))
	cmd := exec.Command(dimosBin, p.args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = p.env, f, f
	// The process dies with the test binary, whatever ends it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait() //nolint:errcheck // the log says how it ended
		fmt.Fprintf(f, "=== %s exited: %v\n", time.Now().Format(time.RFC3339Nano), cmd.ProcessState)
		f.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
}

// kill ends the process at once, as a crash or kill -9 would.
func (p *proc) kill() { p.signal(syscall.SIGKILL) }

func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(sig) //nolint:errcheck // it may have ended already
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill() //nolint:errcheck
		<-p.done
	}
	p.cmd, p.done = nil, nil
}

// exited reports whether the process ended by itself.
func (p *proc) exited() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return true
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) dumpLog() {
	raw, err := os.ReadFile(p.log)
	if err != nil {
		return
	}
	if len(raw) > 8000 {
		raw = raw[len(raw)-8000:]
	}
	p.t.Logf("--- tail of the %s log:\n%s", p.name, raw)
}

// mailServer is a real SMTP server on a fixed loopback address that can be stopped
// and started again on that address. It keeps every message it accepted, with the
// Message-ID that dimos derives from the notification's key.
type mailServer struct {
	addr  string
	ports *portPicker

	mu   sync.Mutex
	srv  *smtp.Server
	msgs []smtptest.Message
	at   []time.Time // when each of msgs was accepted
}

// startMailServer starts the mail server on a port picked by ports.
func startMailServer(t *testing.T, ports *portPicker) *mailServer {
	t.Helper()
	m := &mailServer{ports: ports}
	m.listen(t, true)
	t.Cleanup(m.stop)
	return m
}

// start starts the server again on its address after stop.
func (m *mailServer) start(t *testing.T) {
	t.Helper()
	m.listen(t, false)
}

// listen binds the server's address and serves there. A port taken meanwhile (see
// portPicker) is tried again, at most maxStarts times: with newPort (the first start,
// when dimos does not know the address yet) on a new port, else on the same after a
// pause.
func (m *mailServer) listen(t *testing.T, newPort bool) {
	t.Helper()
	for try := 1; ; try++ {
		if newPort {
			m.addr = m.ports.pick(t, "mail")
		}
		ln, err := net.Listen("tcp", m.addr)
		if err == nil {
			m.serve(ln)
			return
		}
		if !errors.Is(err, syscall.EADDRINUSE) || try == maxStarts {
			t.Fatalf("mail server on %s (try %d): %v", m.addr, try, err)
		}
		t.Logf("mail: %s was taken (try %d); trying again", m.addr, try)
		if !newPort {
			time.Sleep(time.Second)
		}
	}
}

func (m *mailServer) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSession{m: m}, nil }))
	srv.Domain, srv.ReadTimeout, srv.WriteTimeout = "chaos.local", time.Minute, time.Minute
	m.mu.Lock()
	m.srv = srv
	m.mu.Unlock()
	go srv.Serve(ln) //nolint:errcheck // ends with stop
}

func (m *mailServer) stop() {
	m.mu.Lock()
	srv := m.srv
	m.srv = nil
	m.mu.Unlock()
	if srv != nil {
		srv.Close() //nolint:errcheck
	}
}

func (m *mailServer) messages() []smtptest.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]smtptest.Message(nil), m.msgs...)
}

// arrivals are the times at which the messages with each Message-ID were accepted.
func (m *mailServer) arrivals() map[string][]time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	got := map[string][]time.Time{}
	for i, msg := range m.msgs {
		got[msg.MessageID] = append(got[msg.MessageID], m.at[i])
	}
	return got
}

type mailSession struct {
	m  *mailServer
	to []string
}

func (*mailSession) Mail(string, *smtp.MailOptions) error        { return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *mailSession) Reset()                                    { s.to = nil }
func (*mailSession) Logout() error                               { return nil }
func (s *mailSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := smtptest.Parse(raw)
	if err != nil {
		return err
	}
	msg.To = s.to
	s.m.mu.Lock()
	s.m.msgs = append(s.m.msgs, msg)
	s.m.at = append(s.m.at, time.Now())
	s.m.mu.Unlock()
	return nil
}

// privatePostgres is a PostgreSQL cluster of the test's own, in a temporary directory
// on a port of its own (portPicker), run as the postgres OS user: the machine's shared
// server is never restarted. It needs PostgreSQL's binaries (PG_BIN, default that of
// Debian's PostgreSQL 15); without them the test fails.
type privatePostgres struct {
	t     *testing.T
	bin   string
	dir   string
	port  string
	ports *portPicker
}

func pgBin() string {
	if b := os.Getenv("PG_BIN"); b != "" {
		return b
	}
	return "/usr/lib/postgresql/15/bin"
}

// asPostgres runs a PostgreSQL tool as the postgres OS user when the test runs as
// root, which PostgreSQL refuses to run as.
func asPostgres(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

// startPrivatePostgres creates the cluster and starts it on a port picked by ports,
// a new one if the picked port was taken meanwhile (see portPicker).
func startPrivatePostgres(t *testing.T, ports *portPicker) *privatePostgres {
	t.Helper()
	bin := pgBin()
	if _, err := os.Stat(filepath.Join(bin, "pg_ctl")); err != nil {
		t.Fatalf("PostgreSQL binaries are needed for this scenario (PG_BIN=%s): %v", bin, err)
	}
	dir, err := os.MkdirTemp("", "dimos-chaos-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		if err := exec.Command("chown", "postgres:postgres", dir).Run(); err != nil {
			t.Fatalf("chown %s to postgres: %v", dir, err)
		}
	}
	p := &privatePostgres{t: t, bin: bin, dir: dir, ports: ports}
	p.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	p.listen(true)
	t.Cleanup(func() { p.run("pg_ctl", "-D", filepath.Join(dir, "data"), "-m", "immediate", "-w", "stop") })
	return p
}

func (p *privatePostgres) run(tool string, args ...string) {
	p.t.Helper()
	out, err := asPostgres(filepath.Join(p.bin, tool), args...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
}

// start starts the server again on its port after crash.
func (p *privatePostgres) start() {
	p.t.Helper()
	p.listen(false)
}

// listen starts the server. A port taken meanwhile (see portPicker) is tried again,
// at most maxStarts times: with newPort (the first start, when dimos does not know
// the port yet) on a new port, else on the same after a pause.
func (p *privatePostgres) listen(newPort bool) {
	p.t.Helper()
	for try := 1; ; try++ {
		if newPort {
			p.port = strconv.Itoa(portOf(p.ports.pick(p.t, "postgres")))
		}
		if p.tryStart() {
			return
		}
		if try == maxStarts {
			p.t.Fatalf("private PostgreSQL: port %s was taken at each of %d starts", p.port, maxStarts)
		}
		p.t.Logf("private PostgreSQL: port %s was taken (try %d); trying again", p.port, try)
		if !newPort {
			time.Sleep(time.Second)
		}
	}
}

// tryStart starts the server on p.port: true once it runs, false if the port was
// taken (the server's log says so); any other failure fails the test.
func (p *privatePostgres) tryStart() bool {
	p.t.Helper()
	logFile := filepath.Join(p.dir, "server.log")
	var from int64
	if st, err := os.Stat(logFile); err == nil {
		from = st.Size()
	}
	args := []string{"-D", filepath.Join(p.dir, "data"), "-l", logFile, "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %s -c listen_addresses=127.0.0.1 -k %s -c fsync=off", p.port, p.dir), "start"}
	out, err := asPostgres(filepath.Join(p.bin, "pg_ctl"), args...).CombinedOutput()
	if err == nil {
		return true
	}
	var since []byte
	if f, ferr := os.Open(logFile); ferr == nil {
		since, _ = io.ReadAll(io.NewSectionReader(f, from, 1<<30))
		f.Close()
	}
	if strings.Contains(strings.ToLower(string(since)), bindFailure) {
		return false
	}
	p.t.Fatalf("pg_ctl %s: %v\n%s\n%s", strings.Join(args, " "), err, out, since)
	return false
}

// crash stops the server at once, as a power cut would: no checkpoint, recovery at
// the next start.
func (p *privatePostgres) crash() {
	p.t.Helper()
	p.run("pg_ctl", "-D", filepath.Join(p.dir, "data"), "-m", "immediate", "-w", "stop")
}

func (p *privatePostgres) url(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%s/%s?sslmode=disable", p.port, database)
}

// openDemo creates, migrates and seeds the demo municipality into the database at
// dsn, and returns the test's own handle on it, for the checks.
func openDemo(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatalf("open %s (is PostgreSQL running?): %v", dsn, err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// smsGateway is the SMS gateway simulator over real HTTP.
func smsGateway(t *testing.T, token string) (*smssim.Simulator, string) {
	sim := smssim.New(token)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL + "/sms"
}

// waitHTTP waits until url answers at all.
func waitHTTP(t *testing.T, within time.Duration, url string, p *proc) {
	t.Helper()
	eventually(t, within, url+" to answer", func() bool {
		if p != nil && p.exited() {
			t.Fatalf("%s exited", p.name)
		}
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// post sends a JSON body with a bearer token and returns the status and body.
func post(url, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}
