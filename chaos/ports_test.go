//go:build chaos && linux

package chaos

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// maxStarts bounds how often the harness starts a process (or binds a listener of its
// own) that keeps finding its port taken.
const maxStarts = 5

// bindFailure is how every process the harness starts says that its port was taken:
// Go's "bind: address already in use" (the console, the protocol simulator, the
// Temporal server for its frontend or an internal port) and PostgreSQL's "could not
// bind IPv4 address …: Address already in use". Compared case-insensitively.
const bindFailure = "address already in use"

// portPicker hands out the loopback ports the processes of a scenario listen on. A
// port is free when picked but not held: the process that will listen on it is
// another program, started later. Between the two, another process can bind it —
// the race that once failed make test ("bind: address already in use"). So:
//
//   - Ports are picked at random outside the kernel's ephemeral range
//     (net.ipv4.ip_local_port_range), where every listener on port 0 and every
//     outgoing connection gets its port: the tests of other packages running at the
//     same time, the Temporal server's own internal ports, the harness's httptest
//     servers. Only a process that chose the same fixed port can take one.
//   - That rare clash is survived where it shows: a process that exits because its
//     port was taken is started again, on a new port at its first start (proc.serve),
//     on the same one after a pause at a restart, when the other processes already
//     hold the address; the mail server and the private PostgreSQL do the same.
//
// No port is handed out twice by one test binary.
type portPicker struct {
	mu   sync.Mutex
	used map[int]bool
	// picked, when set, is told of each port before pick returns it: the harness's
	// own test (TestPortTakenAtStart) takes some of them, as a rival process would.
	picked func(role string, port int)
}

// ports is the picker of every scenario.
var ports = newPortPicker()

func newPortPicker() *portPicker { return &portPicker{used: map[int]bool{}} }

// pick returns a loopback address ("127.0.0.1:port") free right now, for the process
// or server named role.
func (pp *portPicker) pick(t *testing.T, role string) string {
	t.Helper()
	lo, hi := ephemeralRange()
	for range 1000 {
		port := 10000 + rand.IntN(65536-10000)
		if port >= lo && port <= hi {
			continue
		}
		pp.mu.Lock()
		seen := pp.used[port]
		pp.used[port] = true
		pp.mu.Unlock()
		if seen {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue // something listens there
		}
		ln.Close()
		if pp.picked != nil {
			pp.picked(role, port)
		}
		return addr
	}
	t.Fatalf("no free port for %s outside the ephemeral range %d-%d", role, lo, hi)
	return ""
}

// ephemeralRange is the kernel's range of ports for port 0 and outgoing connections
// (Linux's default if it cannot be read).
func ephemeralRange() (lo, hi int) {
	lo, hi = 32768, 60999
	raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(raw))
	if len(f) != 2 {
		return lo, hi
	}
	l, err1 := strconv.Atoi(f[0])
	h, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return lo, hi
	}
	return l, h
}

// portOf is the port of a host:port address.
func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// listensOn reports whether process pid itself holds a listening TCP socket on port:
// the inodes of the sockets listening there (/proc/net/tcp, tcp6) against the
// process's open files. Only this tells the process's own socket from a rival's that
// took the port, which would answer a connection just as well.
func listensOn(pid, port int) bool {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		raw, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		// sl local_address rem_address st … inode; st 0A is LISTEN.
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
				inodes[fmt.Sprintf("socket:[%s]", f[9])] = true
			}
		}
	}
	if len(inodes) == 0 {
		return false
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if link, err := os.Readlink(dir + "/" + fd.Name()); err == nil && inodes[link] {
			return true
		}
	}
	return false
}

// TestPortTakenAtStart makes the race that once failed make test happen on purpose:
// the first port the harness picks for each of the mail server, the private
// PostgreSQL, the protocol simulator, Temporal and the console is taken by the test
// right after the pick, as a rival process would take it before the bind. Each must
// start on another port. Then each is stopped and its port taken for a while, as at a
// restart; it must start again there once the port is free (the other processes know
// only that address). Last, a complaint and a certificate application go all the way
// through the cluster, checked as every scenario is.
func TestPortTakenAtStart(t *testing.T) {
	start := time.Now()
	var mu sync.Mutex
	taken := map[string]int{} // role → the port taken from it at its first start
	pp := newPortPicker()
	pp.picked = func(role string, port int) {
		mu.Lock()
		defer mu.Unlock()
		if _, done := taken[role]; !done {
			taken[role] = port
			hold(t, port, nil)
		}
	}
	pg := startPrivatePostgres(t, pp)
	c := startCluster(t, pg.url("dimos"), pp)
	got := map[string]string{"mail": c.mail.addr, "postgres": "127.0.0.1:" + pg.port,
		"protocol-sim": c.protocol.addr, "temporal": c.temporal.addr, "console": c.console.addr}
	for role, addr := range got {
		switch p, ok := taken[role]; {
		case !ok:
			t.Errorf("no port of %s was taken", role)
		case portOf(addr) == p:
			t.Errorf("%s listens on %s, the port taken from it", role, addr)
		}
	}
	for _, p := range []*proc{c.protocol, c.temporal, c.console} {
		if raw, _ := os.ReadFile(p.log); !strings.Contains(strings.ToLower(string(raw)), bindFailure) {
			t.Errorf("the %s log shows no start that found its port taken", p.name)
		}
	}
	t.Logf("every process started on a second port after its first was taken: %v", got)

	// Restarts. A process's port is released only once its first start there has
	// failed for it, so each restart has to try again.
	for _, p := range []*proc{c.protocol, c.temporal, c.console} {
		p.kill()
		hold(t, portOf(p.addr), func() bool { return strings.Contains(strings.ToLower(p.logSince()), bindFailure) })
		p.serve(false, 90*time.Second)
	}
	c.mail.stop()
	released := time.Now().Add(1500 * time.Millisecond)
	hold(t, portOf(c.mail.addr), func() bool { return time.Now().After(released) })
	c.mail.start(t)
	pg.crash()
	logFile := filepath.Join(pg.dir, "server.log")
	before, _ := os.ReadFile(logFile)
	hold(t, portOf("127.0.0.1:"+pg.port), func() bool {
		now, _ := os.ReadFile(logFile)
		return len(now) > len(before) && strings.Contains(strings.ToLower(string(now[len(before):])), bindFailure)
	})
	pg.start()
	for _, p := range []*proc{c.protocol, c.temporal, c.console} {
		if p.addr != got[p.name] {
			t.Errorf("%s moved from %s to %s at its restart", p.name, got[p.name], p.addr)
		}
	}
	c.waitHealthy(time.Minute)
	t.Logf("every process started again on its own port after it was taken for a while")

	c.submitComplaint(0)
	c.fileCertificate(0)
	c.completeAll()
	c.verify()
	t.Logf("took %v", time.Since(start).Round(time.Second))
}

// hold takes port on the loopback address, as a rival process would, until free
// reports true (polled; nil: until the test ends).
func hold(t *testing.T, port int, free func() bool) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("take port %d: %v", port, err)
	}
	if free == nil {
		t.Cleanup(func() { ln.Close() })
		return
	}
	go func() {
		defer ln.Close()
		for deadline := time.Now().Add(2 * time.Minute); !free() && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
	}()
}
