// Package smssim is an SMS gateway simulator: a real HTTP handler that speaks the
// protocol notify.HTTPSMSGateway expects, for tests (behind httptest.NewServer) and
// for `dimos dev`, where no real gateway should be paid for. It keeps what it
// receives in memory, drops repeated references like a careful gateway does, and can
// be switched to fail so that retries can be seen.
//
//	POST /sms      {"to","text","reference"} with Authorization: Bearer <token>
//	GET  /sms      the messages received, as JSON
//	POST /control  {"mode":"ok"|"fail"|"reject"}
//	GET  /control  the current mode and counters
package smssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"dimos"
)

// Mode is how the simulator answers a send.
type Mode string

const (
	ModeOK     Mode = "ok"     // 202: queued
	ModeFail   Mode = "fail"   // 503: the gateway is down; a client retries
	ModeReject Mode = "reject" // 400: refused for good; a client gives up
)

// Simulator is the simulated gateway. The zero value is not usable; call New.
type Simulator struct {
	token string
	mux   *http.ServeMux

	mu         sync.Mutex
	mode       Mode
	msgs       []dimos.SMS
	seen       map[string]bool
	duplicates int
	failed     int
}

// New returns a simulator that accepts sends with the bearer token; an empty token
// accepts any bearer token, but one must still be sent.
func New(token string) *Simulator {
	s := &Simulator{token: token, mode: ModeOK, seen: map[string]bool{}, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /sms", s.send)
	s.mux.HandleFunc("GET /sms", s.list)
	s.mux.HandleFunc("POST /control", s.control)
	s.mux.HandleFunc("GET /control", s.status)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetMode switches how sends are answered.
func (s *Simulator) SetMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// Mode returns the current mode.
func (s *Simulator) Mode() Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

// Messages returns the messages accepted, oldest first, each once; Key is the
// reference sent with it.
func (s *Simulator) Messages() []dimos.SMS {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]dimos.SMS(nil), s.msgs...)
}

// Duplicates counts sends answered 200 without being stored because their reference
// had been accepted before.
func (s *Simulator) Duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.duplicates
}

// Failed counts sends answered with a failure (modes fail and reject, bad requests).
func (s *Simulator) Failed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// Reset forgets every message and counter and returns to ModeOK.
func (s *Simulator) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode, s.msgs, s.seen, s.duplicates, s.failed = ModeOK, nil, map[string]bool{}, 0, 0
}

type request struct {
	To        string `json:"to"`
	Text      string `json:"text"`
	Reference string `json:"reference"`
}

type answer struct {
	Status    string `json:"status"` // queued | duplicate | error
	Reference string `json:"reference,omitempty"`
	Error     string `json:"error,omitempty"`
}

func (s *Simulator) send(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" || (s.token != "" && token != s.token) {
		s.fail(w, http.StatusUnauthorized, "bad or missing bearer token")
		return
	}
	var req request
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		s.fail(w, http.StatusBadRequest, "body is not JSON: "+err.Error())
		return
	}
	if !validNumber(req.To) || strings.TrimSpace(req.Text) == "" {
		s.fail(w, http.StatusBadRequest, "need to (+ and digits) and text")
		return
	}

	s.mu.Lock()
	mode := s.mode
	switch {
	case mode == ModeFail:
		s.failed++
		s.mu.Unlock()
		writeJSON(w, http.StatusServiceUnavailable, answer{Status: "error", Error: "simulated outage"})
		return
	case mode == ModeReject:
		s.failed++
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, answer{Status: "error", Error: "simulated rejection"})
		return
	case req.Reference != "" && s.seen[req.Reference]:
		s.duplicates++
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, answer{Status: "duplicate", Reference: req.Reference})
		return
	}
	if req.Reference != "" {
		s.seen[req.Reference] = true
	}
	s.msgs = append(s.msgs, dimos.SMS{To: req.To, Text: req.Text, Key: req.Reference})
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, answer{Status: "queued", Reference: req.Reference})
}

func (s *Simulator) fail(w http.ResponseWriter, code int, msg string) {
	s.mu.Lock()
	s.failed++
	s.mu.Unlock()
	writeJSON(w, code, answer{Status: "error", Error: msg})
}

func (s *Simulator) list(w http.ResponseWriter, _ *http.Request) {
	type item struct {
		To        string `json:"to"`
		Text      string `json:"text"`
		Reference string `json:"reference"`
	}
	msgs := s.Messages()
	out := make([]item, len(msgs))
	for i, m := range msgs {
		out[i] = item{m.To, m.Text, m.Key}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Simulator) control(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mode Mode `json:"mode"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, answer{Status: "error", Error: "body is not JSON"})
		return
	}
	switch req.Mode {
	case ModeOK, ModeFail, ModeReject:
		s.SetMode(req.Mode)
		s.status(w, r)
	default:
		writeJSON(w, http.StatusBadRequest, answer{Status: "error", Error: fmt.Sprintf("unknown mode %q", req.Mode)})
	}
}

func (s *Simulator) status(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	st := struct {
		Mode       Mode `json:"mode"`
		Messages   int  `json:"messages"`
		Duplicates int  `json:"duplicates"`
		Failed     int  `json:"failed"`
	}{s.mode, len(s.msgs), s.duplicates, s.failed}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}

func validNumber(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
