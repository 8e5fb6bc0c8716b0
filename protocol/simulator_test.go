package protocol_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"dimos/protocol"
)

// call sends one raw HTTP request, as the real registry's adapter or an operator with
// curl would, and decodes the JSON answer.
func call(t *testing.T, g *registry, method, path, bearer, key, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, g.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := g.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s answered %d with no JSON: %q", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

const certificate = `{"case_number": "2026-000123", "kind": "certificate",
	"subject": "Πιστοποιητικό οικογενειακής κατάστασης", "applicant": "Μαρία Παπαδοπούλου",
	"service": "registry", "received_at": "2026-11-22T08:00:00Z", "added_later": true}`

func TestWireFormat(t *testing.T) {
	t.Run("CreatedThenOK", func(t *testing.T) {
		g := newRegistry(t)
		status, m := call(t, g, "POST", "/v1/registrations", token, "2026-000123", certificate)
		if status != http.StatusCreated || m["protocol_number"] != "1/22-11-2026" || m["protocol_date"] != "2026-11-22T10:15:00+02:00" {
			t.Fatalf("first: %d %v", status, m)
		}
		status, m = call(t, g, "POST", "/v1/registrations", token, "2026-000123", certificate)
		if status != http.StatusOK || m["protocol_number"] != "1/22-11-2026" {
			t.Fatalf("again: %d %v", status, m)
		}
	})

	t.Run("ErrInvalidRequest", func(t *testing.T) {
		g := newRegistry(t)
		for name, c := range map[string]struct{ key, body string }{
			"NoKey":        {"", certificate},
			"OtherKey":     {"2026-000999", certificate},
			"NotJSON":      {"2026-000123", `case_number=2026-000123`},
			"NoCaseNumber": {"2026-000123", `{"kind": "certificate", "subject": "x", "received_at": "2026-11-22T08:00:00Z"}`},
			"BadKind":      {"2026-000123", strings.Replace(certificate, `"certificate"`, `"petition"`, 1)},
			"NoReceivedAt": {"2026-000123", `{"case_number": "2026-000123", "kind": "request", "subject": "x"}`},
		} {
			status, m := call(t, g, "POST", "/v1/registrations", token, c.key, c.body)
			if status != http.StatusBadRequest || m["error"] != "invalid_request" || m["message"] == "" {
				t.Errorf("%s: %d %v", name, status, m)
			}
		}
		if n := len(g.sim.Registrations()); n != 0 {
			t.Fatalf("%d registrations from bad requests", n)
		}
	})

	t.Run("ErrTooLarge", func(t *testing.T) {
		g := newRegistry(t)
		body := strings.Replace(certificate, `"added_later": true`, `"pad": "`+strings.Repeat("x", 70<<10)+`"`, 1)
		if status, m := call(t, g, "POST", "/v1/registrations", token, "2026-000123", body); status != http.StatusRequestEntityTooLarge {
			t.Fatalf("%d %v", status, m)
		}
	})

	t.Run("ErrUnauthorized", func(t *testing.T) {
		g := newRegistry(t)
		for _, bearer := range []string{"", "wrong", token + "x"} {
			if status, m := call(t, g, "POST", "/v1/registrations", bearer, "2026-000123", certificate); status != http.StatusUnauthorized || m["error"] != "unauthorized" {
				t.Errorf("bearer %q: %d %v", bearer, status, m)
			}
			if status, _ := call(t, g, "GET", "/control", bearer, "", ""); status != http.StatusUnauthorized {
				t.Errorf("control with bearer %q: %d", bearer, status)
			}
			if status, _ := call(t, g, "POST", "/control", bearer, "", `{"mode": "fail"}`); status != http.StatusUnauthorized {
				t.Errorf("control with bearer %q: %d", bearer, status)
			}
		}
		if g.sim.Mode().Name != protocol.ModeOK {
			t.Fatalf("an unauthorised caller changed the mode to %v", g.sim.Mode())
		}
		if n := g.sim.Attempts(); n != 3 {
			t.Fatalf("%d attempts, want 3", n)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		g := newRegistry(t)
		if status, m := call(t, g, "POST", "/v2/registrations", token, "2026-000123", certificate); status != http.StatusNotFound {
			t.Fatalf("%d %v", status, m)
		}
		if status, m := call(t, g, "GET", "/v1/registrations", token, "", ""); status != http.StatusMethodNotAllowed {
			t.Fatalf("%d %v", status, m)
		}
	})
}

func TestControl(t *testing.T) {
	t.Run("Fail", func(t *testing.T) {
		g := newRegistry(t)
		status, m := call(t, g, "POST", "/control", token, "", `{"mode": "fail", "fail_status": 502}`)
		if status != http.StatusOK || m["mode"] != "fail" || m["fail_status"] != 502.0 {
			t.Fatalf("%d %v", status, m)
		}
		if status, _ := call(t, g, "POST", "/v1/registrations", token, "2026-000123", certificate); status != http.StatusBadGateway {
			t.Fatalf("fail mode answered %d", status)
		}
		call(t, g, "POST", "/control", token, "", `{"mode": "ok"}`)
		if status, _ := call(t, g, "POST", "/v1/registrations", token, "2026-000123", certificate); status != http.StatusCreated {
			t.Fatalf("ok mode answered %d", status)
		}
		status, m = call(t, g, "GET", "/control", token, "", "")
		if status != http.StatusOK || m["mode"] != "ok" || m["attempts"] != 2.0 || m["registrations"] != 1.0 {
			t.Fatalf("%d %v", status, m)
		}
	})

	t.Run("Defaults", func(t *testing.T) {
		g := newRegistry(t)
		call(t, g, "POST", "/control", token, "", `{"mode": "slow"}`)
		if m := g.sim.Mode(); m.Delay != protocol.DefaultSlowDelay || m.FailStatus != http.StatusServiceUnavailable {
			t.Fatalf("mode %+v", m)
		}
		call(t, g, "POST", "/control", token, "", `{"mode": "slow", "delay": "150ms"}`)
		if m := g.sim.Mode(); m.Name != protocol.ModeSlow || m.Delay != 150*time.Millisecond {
			t.Fatalf("mode %+v", m)
		}
	})

	t.Run("ErrInvalidRequest", func(t *testing.T) {
		g := newRegistry(t)
		for _, body := range []string{
			`{"mode": "explode"}`,
			`{"mode": "slow", "delay": "soon"}`,
			`{"mode": "slow", "delay": "-1s"}`,
			`{"mode": "fail", "fail_status": 200}`,
			`{"mode": "fail", "failstatus": 500}`,
			`mode=fail`,
		} {
			if status, m := call(t, g, "POST", "/control", token, "", body); status != http.StatusBadRequest || m["error"] != "invalid_request" {
				t.Errorf("%s: %d %v", body, status, m)
			}
		}
		if g.sim.Mode().Name != protocol.ModeOK {
			t.Fatalf("a bad control request changed the mode to %v", g.sim.Mode())
		}
	})
}
