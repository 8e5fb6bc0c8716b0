package protocol_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"dimos"
	"dimos/i18n"
	"dimos/protocol"
)

const token = "test-token"

// clock is the simulator's time, moved by the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// registry is a simulator behind a real HTTP server, and a client of it.
type registry struct {
	sim    *protocol.Simulator
	srv    *httptest.Server
	client *protocol.Client
	clock  *clock
}

// 08:15 UTC on 22 November 2026 is 10:15 in Athens.
var sunday = time.Date(2026, 11, 22, 8, 15, 0, 0, time.UTC)

func newRegistry(t *testing.T) *registry {
	t.Helper()
	c := &clock{t: sunday}
	sim := protocol.NewSimulator(token, c.Now)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &registry{sim: sim, srv: srv, client: protocol.NewClient(srv.URL, token, srv.Client()), clock: c}
}

func request(caseNumber string) dimos.ProtocolRequest {
	return dimos.ProtocolRequest{
		CaseNumber: caseNumber, Kind: dimos.KindCertificate,
		Subject: "Πιστοποιητικό οικογενειακής κατάστασης", Applicant: "Μαρία Παπαδοπούλου",
		Service: "registry", ReceivedAt: sunday.Add(-time.Hour),
	}
}

func (g *registry) register(t *testing.T, caseNumber string) dimos.ProtocolEntry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := g.client.Register(ctx, request(caseNumber))
	if err != nil {
		t.Fatalf("register %s: %v", caseNumber, err)
	}
	return e
}

func wantCode(t *testing.T, err error, code, key string) {
	t.Helper()
	if got := dimos.ErrorCode(err); got != code {
		t.Fatalf("code %q, want %q (err: %v)", got, code, err)
	}
	if got := dimos.ErrorKey(err); got != key {
		t.Fatalf("key %q, want %q (err: %v)", got, key, err)
	}
}

func wantNumbers(t *testing.T, got []dimos.ProtocolEntry, want ...string) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		if i >= len(got) || i >= len(want) || got[i].Number != want[i] {
			t.Fatalf("numbers %v, want %v", got, want)
		}
	}
}

var numberFormat = regexp.MustCompile(`^[1-9][0-9]*/[0-3][0-9]-[01][0-9]-[0-9]{4}$`)

func TestRegister(t *testing.T) {
	t.Run("NumberFormat", func(t *testing.T) {
		g := newRegistry(t)
		e := g.register(t, "2026-000001")
		if !numberFormat.MatchString(e.Number) || e.Number != "1/22-11-2026" {
			t.Fatalf("number %q, want 1/22-11-2026", e.Number)
		}
		if !e.Date.Equal(sunday) {
			t.Fatalf("date %v, want %v", e.Date, sunday)
		}
		if _, offset := e.Date.Zone(); offset != 2*60*60 {
			t.Fatalf("date %v is not in Greek time", e.Date)
		}
		if got := g.sim.Registrations()["2026-000001"]; got.Number != e.Number || !got.Date.Equal(e.Date) {
			t.Fatalf("simulator holds %v, client got %v", got, e)
		}
	})

	t.Run("SerialsIncrease", func(t *testing.T) {
		g := newRegistry(t)
		got := []dimos.ProtocolEntry{g.register(t, "2026-000001"), g.register(t, "2026-000002"), g.register(t, "2026-000003")}
		wantNumbers(t, got, "1/22-11-2026", "2/22-11-2026", "3/22-11-2026")
	})

	t.Run("SameCaseSameNumber", func(t *testing.T) {
		g := newRegistry(t)
		first := g.register(t, "2026-000007")
		g.clock.Set(sunday.Add(48 * time.Hour)) // a retry two days later
		again := g.register(t, "2026-000007")
		if again.Number != first.Number || !again.Date.Equal(first.Date) {
			t.Fatalf("second registration %v, first %v", again, first)
		}
		// Only one serial was taken: the next case gets 2.
		wantNumbers(t, []dimos.ProtocolEntry{g.register(t, "2026-000008")}, "2/24-11-2026")
		if n := len(g.sim.Registrations()); n != 2 {
			t.Fatalf("%d registrations, want 2", n)
		}
	})

	t.Run("SerialPerYear", func(t *testing.T) {
		g := newRegistry(t)
		g.clock.Set(time.Date(2026, 12, 31, 21, 30, 0, 0, time.UTC)) // 23:30 in Athens
		a, b := g.register(t, "2026-000100"), g.register(t, "2026-000101")
		g.clock.Set(time.Date(2026, 12, 31, 22, 30, 0, 0, time.UTC)) // already 1 January in Athens
		c := g.register(t, "2027-000001")
		wantNumbers(t, []dimos.ProtocolEntry{a, b, c}, "1/31-12-2026", "2/31-12-2026", "1/01-01-2027")
	})

	t.Run("ErrUnavailable", func(t *testing.T) {
		g := newRegistry(t)
		g.register(t, "2026-000001")
		g.sim.SetMode(protocol.Mode{Name: protocol.ModeFail})
		for range 3 {
			_, err := g.client.Register(context.Background(), request("2026-000002"))
			wantCode(t, err, dimos.EUNAVAILABLE, "error.protocol.unavailable")
			if !strings.Contains(err.Error(), "503") {
				t.Fatalf("the status is not in the error for the log: %v", err)
			}
		}
		if n := g.sim.Attempts(); n != 4 {
			t.Fatalf("%d attempts, want 4", n)
		}
		g.sim.SetMode(protocol.Mode{Name: protocol.ModeOK})
		// The failed attempts took no serial: numbering continues at 2.
		got := []dimos.ProtocolEntry{g.register(t, "2026-000002"), g.register(t, "2026-000003")}
		wantNumbers(t, got, "2/22-11-2026", "3/22-11-2026")
	})

	t.Run("ErrUnavailableHang", func(t *testing.T) {
		g := newRegistry(t)
		g.sim.SetMode(protocol.Mode{Name: protocol.ModeHang})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := g.client.Register(ctx, request("2026-000001"))
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("a hung registry held the client for %v", took)
		}
		wantCode(t, err, dimos.EUNAVAILABLE, "error.protocol.unavailable")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the cause is lost: %v", err)
		}
		g.sim.SetMode(protocol.Mode{Name: protocol.ModeOK})
		wantNumbers(t, []dimos.ProtocolEntry{g.register(t, "2026-000001")}, "1/22-11-2026")
	})

	t.Run("Slow", func(t *testing.T) {
		g := newRegistry(t)
		g.sim.SetMode(protocol.Mode{Name: protocol.ModeSlow, Delay: 100 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		e, err := g.client.Register(ctx, request("2026-000001"))
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < 100*time.Millisecond {
			t.Fatalf("slow mode answered in %v", took)
		}
		wantNumbers(t, []dimos.ProtocolEntry{e}, "1/22-11-2026")
	})

	// LostReply: the registry registers but the caller has timed out; the retry must get
	// the same number, and the next case the next serial.
	t.Run("LostReply", func(t *testing.T) {
		g := newRegistry(t)
		g.sim.SetMode(protocol.Mode{Name: protocol.ModeSlow, Delay: time.Minute})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := g.client.Register(ctx, request("2026-000001"))
		wantCode(t, err, dimos.EUNAVAILABLE, "error.protocol.unavailable")
		g.sim.SetMode(protocol.Mode{Name: protocol.ModeOK})
		got := []dimos.ProtocolEntry{g.register(t, "2026-000001"), g.register(t, "2026-000002")}
		wantNumbers(t, got, "1/22-11-2026", "2/22-11-2026")
	})

	// A wrong token is a configuration problem, not the citizen's: EUNAVAILABLE, so that
	// registration is retried while an operator fixes the token.
	t.Run("ErrUnauthorized", func(t *testing.T) {
		g := newRegistry(t)
		c := protocol.NewClient(g.srv.URL, "wrong-token", g.srv.Client())
		_, err := c.Register(context.Background(), request("2026-000001"))
		wantCode(t, err, dimos.EUNAVAILABLE, "error.protocol.unavailable")
		if !strings.Contains(err.Error(), "401") {
			t.Fatalf("the status is not in the error for the log: %v", err)
		}
		if n := len(g.sim.Registrations()); n != 0 {
			t.Fatalf("%d registrations with a wrong token", n)
		}
	})

	t.Run("ErrRefused", func(t *testing.T) {
		g := newRegistry(t)
		r := request("2026-000001")
		r.Subject, r.Kind = " ", "petition"
		_, err := g.client.Register(context.Background(), r)
		wantCode(t, err, dimos.EINVALID, "error.protocol.refused")
		if !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "subject is required") {
			t.Fatalf("the registry's reason is not in the error: %v", err)
		}
		if _, err := g.client.Register(context.Background(), request("")); dimos.ErrorCode(err) != dimos.EINVALID {
			t.Fatalf("no case number: %v", err)
		}
	})

	// Statuses: the simulator's fail mode answers each one over real HTTP.
	t.Run("Statuses", func(t *testing.T) {
		g := newRegistry(t)
		for status, code := range map[int]string{
			500: dimos.EUNAVAILABLE, 502: dimos.EUNAVAILABLE, 503: dimos.EUNAVAILABLE, 504: dimos.EUNAVAILABLE,
			429: dimos.EUNAVAILABLE, 401: dimos.EUNAVAILABLE, 403: dimos.EUNAVAILABLE, 404: dimos.EUNAVAILABLE,
			408: dimos.EUNAVAILABLE, 400: dimos.EINVALID, 409: dimos.EINVALID, 413: dimos.EINVALID, 422: dimos.EINVALID,
		} {
			g.sim.SetMode(protocol.Mode{Name: protocol.ModeFail, FailStatus: status})
			_, err := g.client.Register(context.Background(), request("2026-000001"))
			if got := dimos.ErrorCode(err); got != code {
				t.Errorf("status %d: code %q, want %q (%v)", status, got, code, err)
			}
		}
	})

	t.Run("ErrUnavailableNoServer", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close() // nothing listens at its address any more
		_, err := protocol.NewClient(srv.URL, token, nil).Register(context.Background(), request("2026-000001"))
		wantCode(t, err, dimos.EUNAVAILABLE, "error.protocol.unavailable")
	})

	t.Run("ErrUnavailableRedirect", func(t *testing.T) {
		srv := httptest.NewServer(http.RedirectHandler("http://registry.invalid/v1/registrations", http.StatusMovedPermanently))
		defer srv.Close()
		_, err := protocol.NewClient(srv.URL, token, srv.Client()).Register(context.Background(), request("2026-000001"))
		wantCode(t, err, dimos.EUNAVAILABLE, "error.protocol.unavailable")
	})

	// A registry that answers 2xx with nonsense is broken: retry rather than store it.
	t.Run("ErrUnavailableMalformed", func(t *testing.T) {
		for name, answer := range map[string]struct {
			status int
			body   string
		}{
			"NotJSON":     {200, `<html>maintenance</html>`},
			"NoNumber":    {201, `{"protocol_number": " ", "protocol_date": "2026-11-22T10:15:00+02:00"}`},
			"NoDate":      {201, `{"protocol_number": "1/22-11-2026"}`},
			"BadDate":     {200, `{"protocol_number": "1/22-11-2026", "protocol_date": "22-11-2026"}`},
			"ControlChar": {201, `{"protocol_number": "1/22\n-11-2026", "protocol_date": "2026-11-22T10:15:00+02:00"}`},
			"Empty":       {200, ``},
			"NoContent":   {204, ``},
			"TooLarge":    {200, `{"protocol_number": "1/22-11-2026", "protocol_date": "2026-11-22T10:15:00+02:00", "x": "` + strings.Repeat("x", 70<<10) + `"}`},
		} {
			t.Run(name, func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(answer.status)
					fmt.Fprint(w, answer.body)
				}))
				defer srv.Close()
				e, err := protocol.NewClient(srv.URL, token, srv.Client()).Register(context.Background(), request("2026-000001"))
				wantCode(t, err, dimos.EUNAVAILABLE, "error.protocol.unavailable")
				if e != (dimos.ProtocolEntry{}) {
					t.Fatalf("entry %v from a malformed answer", e)
				}
			})
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		g := newRegistry(t)
		const n = 50
		var wg sync.WaitGroup
		entries := make([]dimos.ProtocolEntry, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				entries[i], errs[i] = g.client.Register(context.Background(), request(fmt.Sprintf("2026-%06d", i+1)))
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		for i, e := range entries {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			seen[e.Number] = true
		}
		for i := 1; i <= n; i++ {
			if !seen[fmt.Sprintf("%d/22-11-2026", i)] {
				t.Fatalf("serial %d missing from %d distinct numbers", i, len(seen))
			}
		}
	})

	// The citizen reads these errors through the catalogue, in Greek and in English.
	t.Run("CatalogueKeys", func(t *testing.T) {
		for _, key := range []string{"error.protocol.unavailable", "error.protocol.refused"} {
			if !i18n.Has(key) {
				t.Errorf("catalogue lacks %s", key)
			}
		}
	})

	t.Run("ConcurrentSameCase", func(t *testing.T) {
		g := newRegistry(t)
		var wg sync.WaitGroup
		entries := make([]dimos.ProtocolEntry, 20)
		errs := make([]error, len(entries))
		for i := range entries {
			wg.Go(func() { entries[i], errs[i] = g.client.Register(context.Background(), request("2026-000042")) })
		}
		wg.Wait()
		for i, e := range entries {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if e.Number != "1/22-11-2026" {
				t.Fatalf("numbers %v, want one number for one case", entries)
			}
		}
		if n := len(g.sim.Registrations()); n != 1 {
			t.Fatalf("%d registrations, want 1", n)
		}
	})
}
