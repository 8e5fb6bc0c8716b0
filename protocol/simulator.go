package protocol

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"dimos"
)

// ModeName says how the Simulator behaves.
type ModeName string

const (
	ModeOK   ModeName = "ok"   // register and answer at once
	ModeFail ModeName = "fail" // answer Mode.FailStatus without registering
	ModeHang ModeName = "hang" // never answer: block until the caller gives up
	ModeSlow ModeName = "slow" // wait Mode.Delay, then register and answer
)

// DefaultSlowDelay is the delay of ModeSlow when none is given.
const DefaultSlowDelay = 2 * time.Second

// Mode is the Simulator's behaviour, as set by SetMode or POST /control.
type Mode struct {
	Name       ModeName
	Delay      time.Duration // ModeSlow; 0 means DefaultSlowDelay
	FailStatus int           // ModeFail, 400–599; 0 means 503
}

func (m Mode) validate() error {
	switch m.Name {
	case ModeOK, ModeFail, ModeHang, ModeSlow:
	default:
		return fmt.Errorf("mode %q is not ok, fail, hang or slow", m.Name)
	}
	if m.Delay < 0 {
		return errors.New("delay is negative")
	}
	if m.FailStatus != 0 && (m.FailStatus < 400 || m.FailStatus > 599) {
		return fmt.Errorf("fail_status %d is not between 400 and 599", m.FailStatus)
	}
	return nil
}

func (m Mode) withDefaults() Mode {
	if m.FailStatus == 0 {
		m.FailStatus = http.StatusServiceUnavailable
	}
	if m.Name == ModeSlow && m.Delay == 0 {
		m.Delay = DefaultSlowDelay
	}
	return m
}

// Simulator is a simulator of the municipality's protocol registry: a real HTTP handler
// that speaks the wire format of this package, keeps its registrations in memory, and
// can be told to fail, hang or answer slowly, so that tests and demos show what dimos
// does while the registry is down. It is not the registry: nothing survives a restart.
//
// Besides POST /v1/registrations it serves a control endpoint, behind the same token:
//
//	POST /control  {"mode": "ok"|"fail"|"hang"|"slow", "delay": "2s", "fail_status": 503}
//	GET  /control  {"mode": …, "delay": …, "fail_status": …, "attempts": 7, "registrations": 3}
//
// In fail mode it answers fail_status (default 503) and registers nothing, so failed
// attempts take no serial. In hang mode it answers nothing until the caller's request
// ends. In slow mode it waits delay (default 2s) and then registers, even if the caller
// has given up meanwhile: that is the lost reply of a real registry that finished its
// work after the caller's timeout, and the caller's retry must then get the same number.
type Simulator struct {
	token string
	now   func() time.Time

	mu            sync.Mutex
	mode          Mode
	attempts      int
	registrations map[string]dimos.ProtocolEntry
	lastSerial    map[int]int // by year in Greece
}

// NewSimulator returns a simulator in ModeOK that accepts only "Bearer <token>"; an
// empty token accepts nobody. now is its clock (time.Now if nil), injected so that tests
// choose the date in the protocol numbers.
func NewSimulator(token string, now func() time.Time) *Simulator {
	if now == nil {
		now = time.Now
	}
	return &Simulator{
		token: token, now: now, mode: Mode{Name: ModeOK}.withDefaults(),
		registrations: map[string]dimos.ProtocolEntry{}, lastSerial: map[int]int{},
	}
}

// SetMode switches the behaviour for the requests that arrive from now on. An invalid
// mode is a mistake in the calling test, so it panics.
func (s *Simulator) SetMode(m Mode) {
	if err := m.validate(); err != nil {
		panic("protocol: SetMode: " + err.Error())
	}
	s.mu.Lock()
	s.mode = m.withDefaults()
	s.mu.Unlock()
}

// Mode returns the current behaviour, with its defaults filled in.
func (s *Simulator) Mode() Mode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

// Registrations returns a copy of every entry, by case number.
func (s *Simulator) Registrations() map[string]dimos.ProtocolEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.registrations)
}

// Attempts counts the requests to the registration endpoint, answered or not: failed,
// hung, refused and unauthorised ones too.
func (s *Simulator) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// ServeHTTP answers the wire format and the control endpoint.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case RegistrationsPath:
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeFailure(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" "+r.URL.Path)
			return
		}
		s.register(w, r)
	case ControlPath:
		if !s.authorized(r) {
			writeUnauthorized(w)
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.state())
		case http.MethodPost:
			s.control(w, r)
		default:
			w.Header().Set("Allow", "GET, POST")
			writeFailure(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" "+r.URL.Path)
		}
	default:
		writeFailure(w, http.StatusNotFound, "not_found", r.URL.Path)
	}
}

func (s *Simulator) register(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.attempts++
	mode := s.mode
	s.mu.Unlock()

	if !s.authorized(r) {
		writeUnauthorized(w)
		return
	}
	// The body is read before the mode applies, so that a slow registration whose
	// caller has gone away still has its request to register.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeFailure(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over %d bytes", maxBody))
		} else {
			writeFailure(w, http.StatusBadRequest, "invalid_request", "reading the body: "+err.Error())
		}
		return
	}
	switch mode.Name {
	case ModeFail:
		writeFailure(w, mode.FailStatus, "unavailable", "the simulator is in fail mode")
		return
	case ModeHang:
		<-r.Context().Done()
		// The caller has gone or the server is stopping: drop the connection without
		// an answer, as a hung registry would, rather than let net/http send an empty 200.
		panic(http.ErrAbortHandler)
	case ModeSlow:
		t := time.NewTimer(mode.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done(): // the reply will be lost; the registration is not
			t.Stop()
		}
	}

	reg, err := parseRegistration(r.Header.Get("Idempotency-Key"), body)
	if err != nil {
		writeFailure(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	e, created := s.enter(reg.CaseNumber)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, entry{ProtocolNumber: e.Number, ProtocolDate: e.Date.Format(time.RFC3339)})
}

// enter returns the entry of caseNumber, taking the next serial of the year if the case
// is new. One lock around the look-up and the serial makes concurrent registrations of
// one case share a number and those of different cases take different ones.
func (s *Simulator) enter(caseNumber string) (e dimos.ProtocolEntry, created bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.registrations[caseNumber]; ok {
		return e, false
	}
	now := s.now().In(athens).Truncate(time.Second)
	s.lastSerial[now.Year()]++
	e = dimos.ProtocolEntry{
		Number: fmt.Sprintf("%d/%s", s.lastSerial[now.Year()], now.Format("02-01-2006")),
		Date:   now,
	}
	s.registrations[caseNumber] = e
	return e, true
}

// parseRegistration checks a registration body and names every problem at once.
func parseRegistration(key string, body []byte) (registration, error) {
	var reg registration
	if err := json.Unmarshal(body, &reg); err != nil {
		return reg, fmt.Errorf("the body is not a registration: %w", err)
	}
	var problems []string
	switch {
	case strings.TrimSpace(reg.CaseNumber) == "":
		problems = append(problems, "case_number is required")
	case len(reg.CaseNumber) > 64:
		problems = append(problems, "case_number is over 64 bytes")
	case key != reg.CaseNumber:
		problems = append(problems, "the Idempotency-Key header must equal case_number")
	}
	if !dimos.Kind(reg.Kind).Valid() {
		problems = append(problems, fmt.Sprintf("kind %q is not one of %v", reg.Kind, dimos.Kinds))
	}
	if strings.TrimSpace(reg.Subject) == "" {
		problems = append(problems, "subject is required")
	}
	if reg.ReceivedAt.IsZero() {
		problems = append(problems, "received_at is required")
	}
	if len(problems) > 0 {
		return reg, errors.New(strings.Join(problems, "; "))
	}
	return reg, nil
}

func (s *Simulator) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) == 1
}

// controlBody is the JSON of the control endpoint, both ways.
type controlBody struct {
	Mode          ModeName `json:"mode"`
	Delay         string   `json:"delay,omitempty"` // a Go duration, e.g. "2s"
	FailStatus    int      `json:"fail_status,omitempty"`
	Attempts      int      `json:"attempts"`
	Registrations int      `json:"registrations"`
}

func (s *Simulator) state() controlBody {
	s.mu.Lock()
	defer s.mu.Unlock()
	return controlBody{
		Mode: s.mode.Name, Delay: s.mode.Delay.String(), FailStatus: s.mode.FailStatus,
		Attempts: s.attempts, Registrations: len(s.registrations),
	}
}

func (s *Simulator) control(w http.ResponseWriter, r *http.Request) {
	var c controlBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields() // a typo such as "failstatus" should not pass unnoticed
	if err := dec.Decode(&c); err != nil {
		writeFailure(w, http.StatusBadRequest, "invalid_request", "the body is not a control request: "+err.Error())
		return
	}
	m := Mode{Name: c.Mode, FailStatus: c.FailStatus}
	if c.Delay != "" {
		d, err := time.ParseDuration(c.Delay)
		if err != nil {
			writeFailure(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("delay %q is not a duration such as 2s", c.Delay))
			return
		}
		m.Delay = d
	}
	if err := m.validate(); err != nil {
		writeFailure(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	s.SetMode(m)
	writeJSON(w, http.StatusOK, s.state())
}

func writeUnauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="protocol"`)
	writeFailure(w, http.StatusUnauthorized, "unauthorized", "missing or wrong bearer token")
}

func writeFailure(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, failure{Error: code, Message: message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the caller may be gone; nothing to do about it
}
