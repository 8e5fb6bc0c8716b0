// Package ivr answers the webhooks of a TwiML-speaking telephony provider (Twilio and
// compatibles) under /ivr/: the municipality's phone service (M17). A caller is
// recognised by the mobile number they registered, or by their phone-access code, and
// a PIN; they can then apply for certificates (verified citizens only, M3), record a
// request or complaint (anyone, M5), hear that voting is not offered yet, and track a
// case by its number (M14). Every submission is stored before the caller hears its
// number, spoken digit by digit (M8).
//
// The state of a call travels in the query string of the action URLs, in one
// parameter "s" sealed with an HMAC-SHA256 under Config.Secret and bound to the call's
// CallSid and to the time it was issued, so that a caller cannot forge being
// identified nor replay an old step.
//
// Every reply is TwiML (Content-Type text/xml). Answers other than 200:
//
//	400  the body is not a form, a field is not UTF-8 or too long, CallSid is missing
//	403  X-Twilio-Signature is missing or wrong while Config.AuthToken is set; the
//	     state parameter is forged, belongs to another call or is older than StateTTL
//	404  no such IVR route; 405 a known route called with another method than POST
//	415  the body is not application/x-www-form-urlencoded
//
// A wrong digit is never an error: the caller hears a polite retry. A failing store is
// never a 5xx either: the caller hears an apology and the call ends, the error is logged.
package ivr

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"dimos"
	"dimos/i18n"
)

// Config wires the IVR to its dependencies.
type Config struct {
	Cases      dimos.CaseStore
	Directory  dimos.Directory
	Citizens   dimos.CitizenStore
	Recordings dimos.RecordingStore
	// Throttle counts wrong PINs per calling number and per account.
	Throttle dimos.Throttle
	// Kick is told of every accepted case so that its workflow starts at once.
	Kick func(*dimos.Case)
	// AuthToken is the provider's auth token. Empty: signatures are not checked (a
	// developer machine); set: every request needs a valid X-Twilio-Signature.
	AuthToken string
	// PublicURL is the base the provider calls (scheme, host and any path prefix in
	// front of /ivr), used to rebuild the signed URL and to write absolute action URLs.
	PublicURL string
	// Secret keys the HMAC over the call state. Empty: a random secret, so calls in
	// progress break when the process restarts.
	Secret []byte
	Log    *slog.Logger
	Now    func() time.Time
}

// Limits of the IVR.
const (
	// MaxPINFailures wrong PINs within PINWindow, per number or per account, end
	// the call.
	MaxPINFailures = 5
	PINWindow      = 15 * time.Minute
	// PINTries is how many wrong PINs a call allows before it goes on unidentified.
	PINTries = 3
	// StateTTL is how long a step of a call stays valid.
	StateTTL = time.Hour
	// MaxRecordingSeconds is the longest message a caller can leave.
	MaxRecordingSeconds = 120
	maxField            = 2048
	maxCategories       = 9
)

// Handler serves the IVR webhooks.
type Handler struct {
	cfg  Config
	base string
}

// New returns the handler.
func New(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Kick == nil {
		cfg.Kick = func(*dimos.Case) {}
	}
	if len(cfg.Secret) == 0 {
		cfg.Secret = make([]byte, 32)
		rand.Read(cfg.Secret) //nolint:errcheck // crypto/rand never fails on Linux
	}
	return &Handler{cfg: cfg, base: strings.TrimRight(cfg.PublicURL, "/")}
}

// The routes, relative to the router Mount is given.
const (
	pathVoice    = "/ivr/voice"    // the provider's voice URL: a call begins
	pathIdentify = "/ivr/identify" // offer of the access code to unknown numbers
	pathCode     = "/ivr/code"     // the access code keyed in
	pathPIN      = "/ivr/pin"      // the PIN keyed in
	pathMenu     = "/ivr/menu"     // the main menu and the choice made in it
	pathCategory = "/ivr/category" // the topic of a complaint or certificate
	pathRecord   = "/ivr/record"   // the recording prompt, and the Record action
	pathReview   = "/ivr/review"   // listen, re-record, delete, submit, back
	pathCallback = "/ivr/callback" // an anonymous caller leaves their number or not
	pathTrack    = "/ivr/track"    // the case number keyed in
)

type step func(*call) *response

// Mount registers the routes.
func (h *Handler) Mount(r fiber.Router) {
	steps := map[string]step{
		pathVoice: h.voice, pathIdentify: h.identify, pathCode: h.code, pathPIN: h.pin,
		pathMenu: h.menu, pathCategory: h.category, pathRecord: h.record, pathReview: h.review,
		pathCallback: h.callback, pathTrack: h.track,
	}
	for path, s := range steps {
		r.Post(path, h.serve(s, path == pathVoice))
	}
	r.All("/ivr/*", func(c *fiber.Ctx) error {
		if _, known := steps["/ivr/"+c.Params("*")]; known {
			c.Set(fiber.HeaderAllow, fiber.MethodPost)
			return reply(c, fiber.StatusMethodNotAllowed, i18n.T(i18n.Greek, "ivr.error.request"))
		}
		return reply(c, fiber.StatusNotFound, i18n.T(i18n.Greek, "ivr.error.request"))
	})
}

// call is one webhook request: the provider's fields and the state of the call.
type call struct {
	ctx     context.Context
	sid     string
	from    string // normalised caller number, "" when withheld
	digits  string
	recURL  string
	repeats int // how often the current prompt went unanswered
	st      state
}

// state is what a call remembers between webhooks.
type state struct {
	Citizen  int64  // identified citizen; 0 while unidentified
	Pending  int64  // account of a keyed-in access code, waiting for its PIN
	CodeUsed bool   // the caller went the access-code way
	Tries    int    // wrong PINs in this call
	Kind     string // "complaint" or "certificate" while filing
	Category string
	Rec      string // URL of the recorded message
	Callback bool   // an anonymous caller left their number
}

type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func (h *Handler) serve(s step, first bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl, err := h.parse(c, first)
		if err != nil {
			var he *httpError
			if !errors.As(err, &he) {
				he = &httpError{fiber.StatusBadRequest, err.Error()}
			}
			h.cfg.Log.Warn("ivr request refused", "path", c.Path(), "status", he.status, "reason", he.msg)
			return reply(c, he.status, i18n.T(i18n.Greek, "ivr.error.request"))
		}
		ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
		defer cancel()
		cl.ctx = ctx
		resp := s(cl)
		c.Set(fiber.HeaderContentType, "text/xml; charset=utf-8")
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(fiber.StatusOK).Send(resp.marshal())
	}
}

// reply answers with a TwiML apology that ends the call.
func reply(c *fiber.Ctx, status int, text string) error {
	r := (&response{}).say(text).add(hangup{})
	c.Set(fiber.HeaderContentType, "text/xml; charset=utf-8")
	return c.Status(status).Send(r.marshal())
}

// parse checks the request and decodes the form and the state.
func (h *Handler) parse(c *fiber.Ctx, first bool) (*call, error) {
	if mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType)); err != nil || mt != fiber.MIMEApplicationForm {
		return nil, &httpError{fiber.StatusUnsupportedMediaType, "body is not a form"}
	}
	form, err := url.ParseQuery(string(c.Body()))
	if err != nil {
		return nil, &httpError{fiber.StatusBadRequest, "broken form"}
	}
	if h.cfg.AuthToken != "" {
		if !ValidSignature(h.cfg.AuthToken, h.signedURL(c), form, c.Get("X-Twilio-Signature")) {
			return nil, &httpError{fiber.StatusForbidden, "bad or missing signature"}
		}
	}
	for k, vs := range form {
		for _, v := range vs {
			if !utf8.ValidString(k) || !utf8.ValidString(v) || len(v) > maxField {
				return nil, &httpError{fiber.StatusBadRequest, "field not UTF-8 or too long: " + strconv.Quote(k)}
			}
		}
	}
	cl := &call{sid: form.Get("CallSid"), from: NormalizePhone(form.Get("From")),
		digits: strings.TrimSpace(form.Get("Digits")), recURL: strings.TrimSpace(form.Get("RecordingUrl"))}
	if cl.sid == "" {
		return nil, &httpError{fiber.StatusBadRequest, "no CallSid"}
	}
	query := c.Request().URI().QueryArgs()
	cl.repeats, _ = strconv.Atoi(string(query.Peek("r")))
	if !first {
		st, err := h.open(string(query.Peek("s")), cl.sid)
		if err != nil {
			return nil, err
		}
		cl.st = st
	}
	return cl, nil
}

// signedURL is the URL the provider called, as it signed it.
func (h *Handler) signedURL(c *fiber.Ctx) string {
	if h.base == "" {
		return c.BaseURL() + c.OriginalURL()
	}
	return h.base + c.OriginalURL()
}

// ValidSignature checks an X-Twilio-Signature: the base64 HMAC-SHA1, keyed by the
// auth token, of the full URL followed by every POST parameter, sorted by name, as
// name and value run together.
func ValidSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if signature == "" {
		return false
	}
	want, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return false
	}
	return hmac.Equal(want, Sign(authToken, fullURL, form))
}

// Sign computes the raw X-Twilio-Signature of a request (tests sign with it).
func Sign(authToken, fullURL string, form url.Values) []byte {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(fullURL))
	for _, k := range keys {
		for _, v := range form[k] {
			m.Write([]byte(k))
			m.Write([]byte(v))
		}
	}
	return m.Sum(nil)
}

// seal encodes the state for an action URL, bound to the call and the time.
func (h *Handler) seal(st state, sid string) string {
	v := url.Values{}
	v.Set("call", sid)
	v.Set("at", strconv.FormatInt(h.cfg.Now().Unix(), 10))
	if st.Citizen != 0 {
		v.Set("cid", strconv.FormatInt(st.Citizen, 10))
	}
	if st.Pending != 0 {
		v.Set("pend", strconv.FormatInt(st.Pending, 10))
	}
	if st.CodeUsed {
		v.Set("code", "1")
	}
	if st.Tries != 0 {
		v.Set("tries", strconv.Itoa(st.Tries))
	}
	if st.Kind != "" {
		v.Set("kind", st.Kind)
	}
	if st.Category != "" {
		v.Set("cat", st.Category)
	}
	if st.Rec != "" {
		v.Set("rec", st.Rec)
	}
	if st.Callback {
		v.Set("cb", "1")
	}
	payload := base64.RawURLEncoding.EncodeToString([]byte(v.Encode()))
	return payload + "." + base64.RawURLEncoding.EncodeToString(h.mac(payload))
}

func (h *Handler) mac(payload string) []byte {
	m := hmac.New(sha256.New, h.cfg.Secret)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// open checks and decodes a sealed state.
func (h *Handler) open(s, sid string) (state, error) {
	forged := &httpError{fiber.StatusForbidden, "state missing, forged or of another call"}
	payload, sig, ok := strings.Cut(s, ".")
	if !ok {
		return state{}, forged
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, h.mac(payload)) {
		return state{}, forged
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return state{}, forged
	}
	v, err := url.ParseQuery(string(raw))
	if err != nil || v.Get("call") != sid {
		return state{}, forged
	}
	at, err := strconv.ParseInt(v.Get("at"), 10, 64)
	if err != nil || h.cfg.Now().Sub(time.Unix(at, 0)) > StateTTL || time.Unix(at, 0).Sub(h.cfg.Now()) > time.Minute {
		return state{}, &httpError{fiber.StatusForbidden, "state expired"}
	}
	var st state
	st.Citizen, _ = strconv.ParseInt(v.Get("cid"), 10, 64)
	st.Pending, _ = strconv.ParseInt(v.Get("pend"), 10, 64)
	st.CodeUsed = v.Get("code") == "1"
	st.Tries, _ = strconv.Atoi(v.Get("tries"))
	st.Kind, st.Category, st.Rec = v.Get("kind"), v.Get("cat"), v.Get("rec")
	st.Callback = v.Get("cb") == "1"
	return st, nil
}

// action is the absolute URL of a step, carrying the call's state.
func (h *Handler) action(path string, cl *call, st state) string {
	return h.base + path + "?s=" + h.seal(st, cl.sid)
}

// again is the URL that repeats the prompt of a step when the caller keyed nothing.
func (h *Handler) again(path string, cl *call, st state) string {
	return h.action(path, cl, st) + "&r=" + strconv.Itoa(cl.repeats+1)
}

// ask is a prompt that gathers digits at path; silence repeats it once, then the call
// goes on at fallback (or ends when fallback is "").
func (h *Handler) ask(r *response, cl *call, path string, numDigits int, finish string, text ...string) *response {
	g := gather{Action: h.action(path, cl, cl.st), Method: fiber.MethodPost, NumDigits: numDigits,
		FinishOnKey: finish, Timeout: 8}
	for _, t := range text {
		g.Verbs = append(g.Verbs, sayText(t))
	}
	r.add(g)
	if cl.repeats < 1 {
		return r.add(redirect{Method: fiber.MethodPost, URL: h.again(path, cl, cl.st)})
	}
	return r.say(t("ivr.goodbye")).add(hangup{})
}

func t(key string, args ...any) string { return i18n.T(i18n.Greek, key, args...) }

// fail apologises and ends the call after an internal error; the provider gets 200 so
// it does not play its own error message.
func (h *Handler) fail(cl *call, err error) *response {
	h.cfg.Log.Error("ivr", "call", cl.sid, "err", err)
	return (&response{}).say(t("ivr.error")).add(hangup{})
}

func goodbye(r *response) *response { return r.say(t("ivr.goodbye")).add(hangup{}) }

// NormalizePhone returns a caller's number in the form +<digits>, Greek numbers as
// +30 and their ten digits, or "" for a withheld or unusable number.
func NormalizePhone(s string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == '.':
		default:
			return ""
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "00"):
		d = d[2:]
	case len(d) == 10 && (d[0] == '2' || d[0] == '6'):
		d = "30" + d
	}
	if len(d) < 8 || len(d) > 15 || d == "266696687" { // Twilio's "anonymous"
		return ""
	}
	return "+" + d
}

// mobileForms are the ways a number may have been typed at registration, since the
// account form keeps it as typed: +306900000001, 6900000001, 00306900000001.
func mobileForms(n string) []string {
	forms := []string{n}
	if strings.HasPrefix(n, "+30") && len(n) == 13 {
		forms = append(forms, n[3:], "0030"+n[3:], "30"+n[3:], "+30 "+n[3:])
	}
	return forms
}

// callers lists the accounts that can identify with a PIN from the caller's number.
func (h *Handler) callers(ctx context.Context, number string) ([]*dimos.Citizen, error) {
	if number == "" {
		return nil, nil
	}
	var out []*dimos.Citizen
	seen := map[int64]bool{}
	for _, f := range mobileForms(number) {
		cs, err := h.cfg.Citizens.CitizensByMobile(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if !seen[c.ID] && usable(c) {
				seen[c.ID] = true
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// usable reports whether an account may sign in on the phone.
func usable(c *dimos.Citizen) bool { return c.Activated() && c.PINHash != "" && c.ErasedAt.IsZero() }

// voice greets the caller and starts identification.
func (h *Handler) voice(cl *call) *response {
	r := (&response{}).say(t("ivr.greeting"))
	cs, err := h.callers(cl.ctx, cl.from)
	if err != nil {
		return h.fail(cl, err)
	}
	if len(cs) == 0 {
		return h.ask(r, cl, pathIdentify, 1, "", t("ivr.code.offer"))
	}
	if throttled, err := h.throttled(cl, nil); err != nil {
		return h.fail(cl, err)
	} else if throttled {
		return r.say(t("ivr.pin.throttled")).add(hangup{})
	}
	return h.askPIN(r, cl)
}

func (h *Handler) askPIN(r *response, cl *call) *response {
	g := gather{Action: h.action(pathPIN, cl, cl.st), Method: fiber.MethodPost, NumDigits: 6,
		FinishOnKey: "#", Timeout: 10, Verbs: []any{sayText(t("ivr.pin.ask"))}}
	// Silence: the caller goes on unidentified.
	next := cl.st
	next.Pending = 0
	return r.add(g, redirect{Method: fiber.MethodPost, URL: h.action(pathMenu, cl, next)})
}

// identify: 1 keys in an access code, anything else goes on to the menu.
func (h *Handler) identify(cl *call) *response {
	r := &response{}
	if cl.digits == "1" {
		return h.ask(r, cl, pathCode, 10, "#", t("ivr.code.ask"))
	}
	cl.repeats = 0
	return h.menuPrompt(r, cl)
}

// code takes the access code and asks for the PIN. An unknown code is asked for a PIN
// all the same, so that codes cannot be probed.
func (h *Handler) code(cl *call) *response {
	r := &response{}
	cl.st.CodeUsed = true
	cl.st.Pending = 0
	if code := strings.TrimSuffix(cl.digits, "#"); code != "" && isDigits(code) {
		c, err := h.cfg.Citizens.CitizenByAccessCode(cl.ctx, code)
		switch {
		case err == nil && usable(c):
			cl.st.Pending = c.ID
		case err != nil && dimos.ErrorCode(err) != dimos.ENOTFOUND:
			return h.fail(cl, err)
		}
	}
	if throttled, err := h.throttled(cl, h.pendingAccount(cl)); err != nil {
		return h.fail(cl, err)
	} else if throttled {
		return r.say(t("ivr.pin.throttled")).add(hangup{})
	}
	cl.repeats = 0
	return h.askPIN(r, cl)
}

func (h *Handler) pendingAccount(cl *call) []*dimos.Citizen {
	if cl.st.Pending == 0 {
		return nil
	}
	return []*dimos.Citizen{{ID: cl.st.Pending}}
}

// throttleKeys are the counters a PIN attempt is charged to: the calling number and
// every account it tries.
func throttleKeys(number string, accounts []*dimos.Citizen) []string {
	var keys []string
	if number != "" {
		keys = append(keys, "ivr:number:"+number)
	}
	for _, c := range accounts {
		keys = append(keys, "ivr:citizen:"+strconv.FormatInt(c.ID, 10))
	}
	return keys
}

func (h *Handler) throttled(cl *call, accounts []*dimos.Citizen) (bool, error) {
	since := h.cfg.Now().Add(-PINWindow)
	for _, k := range throttleKeys(cl.from, accounts) {
		n, err := h.cfg.Throttle.Failures(cl.ctx, k, since)
		if err != nil {
			return false, err
		}
		if n >= MaxPINFailures {
			return true, nil
		}
	}
	return false, nil
}

// pin checks the PIN against the accounts of the number, or of the access code.
func (h *Handler) pin(cl *call) *response {
	r := &response{}
	var accounts []*dimos.Citizen
	if cl.st.Pending != 0 {
		c, err := h.cfg.Citizens.CitizenByID(cl.ctx, cl.st.Pending)
		if err != nil {
			return h.fail(cl, err)
		}
		accounts = []*dimos.Citizen{c}
	} else if !cl.st.CodeUsed {
		var err error
		if accounts, err = h.callers(cl.ctx, cl.from); err != nil {
			return h.fail(cl, err)
		}
	}
	if throttled, err := h.throttled(cl, accounts); err != nil {
		return h.fail(cl, err)
	} else if throttled {
		return r.say(t("ivr.pin.throttled")).add(hangup{})
	}
	pin := strings.TrimSuffix(cl.digits, "#")
	if len(pin) >= 4 && len(pin) <= 6 && isDigits(pin) {
		for _, c := range accounts {
			if usable(c) && bcrypt.CompareHashAndPassword([]byte(c.PINHash), []byte(pin)) == nil {
				for _, k := range throttleKeys(cl.from, []*dimos.Citizen{c}) {
					if err := h.cfg.Throttle.Reset(cl.ctx, k); err != nil {
						return h.fail(cl, err)
					}
				}
				cl.st = state{Citizen: c.ID}
				cl.repeats = 0
				return h.menuPrompt(r.say(t("ivr.pin.ok", c.FirstName)), cl)
			}
		}
	}
	now := h.cfg.Now()
	for _, k := range throttleKeys(cl.from, accounts) {
		if err := h.cfg.Throttle.RecordFailure(cl.ctx, k, now); err != nil {
			return h.fail(cl, err)
		}
	}
	cl.st.Tries++
	if throttled, err := h.throttled(cl, accounts); err != nil {
		return h.fail(cl, err)
	} else if throttled {
		return r.say(t("ivr.pin.throttled")).add(hangup{})
	}
	if cl.st.Tries >= PINTries {
		cl.st = state{}
		cl.repeats = 0
		return h.menuPrompt(r.say(t("ivr.pin.give_up")), cl)
	}
	return h.askPIN(r.say(t("ivr.pin.wrong")), cl)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// menuPrompt asks for the main menu choice.
func (h *Handler) menuPrompt(r *response, cl *call) *response {
	st := cl.st
	cl.st = state{Citizen: st.Citizen} // the menu forgets any unfinished filing
	return h.ask(r, cl, pathMenu, 1, "", t("ivr.menu"))
}

// menu: the main menu (M17).
func (h *Handler) menu(cl *call) *response {
	r := &response{}
	if cl.digits == "" {
		return h.menuPrompt(r, cl)
	}
	cl.repeats = 0
	switch cl.digits {
	case "1":
		if cl.st.Citizen == 0 {
			return h.menuPrompt(r.say(t("ivr.cert.identify")), cl)
		}
		c, err := h.cfg.Citizens.CitizenByID(cl.ctx, cl.st.Citizen)
		if err != nil {
			return h.fail(cl, err)
		}
		if !c.Verified() || !c.ErasedAt.IsZero() {
			return h.menuPrompt(r.say(t("ivr.cert.unverified")), cl)
		}
		cl.st = state{Citizen: cl.st.Citizen, Kind: string(dimos.KindCertificate)}
		return h.categoryPrompt(r, cl)
	case "2":
		cl.st = state{Citizen: cl.st.Citizen, Kind: string(dimos.KindComplaint)}
		return h.categoryPrompt(r, cl)
	case "3":
		return h.menuPrompt(r.say(t("ivr.voting.unavailable")), cl)
	case "4":
		return h.ask(r, cl, pathTrack, 14, "#", t("ivr.track.ask"))
	case "9":
		return h.menuPrompt(r, cl)
	case "0":
		return goodbye(r)
	}
	return h.menuPrompt(r.say(t("ivr.invalid_choice")), cl)
}

// kindOf is the kind a case of the filing gets under a category: a complaint where the
// category takes complaints, else a request.
func kindOf(filing string, cat *dimos.Category) (dimos.Kind, bool) {
	if filing == string(dimos.KindCertificate) {
		return dimos.KindCertificate, cat.Allows(dimos.KindCertificate)
	}
	if cat.Allows(dimos.KindComplaint) {
		return dimos.KindComplaint, true
	}
	return dimos.KindRequest, cat.Allows(dimos.KindRequest)
}

// topics lists the first nine categories that take the filing's kind, in the
// directory's order.
func (h *Handler) topics(ctx context.Context, filing string) ([]*dimos.Category, error) {
	cats, err := h.cfg.Directory.Categories(ctx)
	if err != nil {
		return nil, err
	}
	var out []*dimos.Category
	for _, c := range cats {
		if _, ok := kindOf(filing, c); ok && len(out) < maxCategories {
			out = append(out, c)
		}
	}
	return out, nil
}

func (h *Handler) categoryPrompt(r *response, cl *call) *response {
	cats, err := h.topics(cl.ctx, cl.st.Kind)
	if err != nil {
		return h.fail(cl, err)
	}
	if len(cats) == 0 {
		return h.menuPrompt(r.say(t("ivr.category.none")), cl)
	}
	cl.st.Category, cl.st.Rec, cl.st.Callback = "", "", false
	texts := make([]string, 0, len(cats)+1)
	for i, c := range cats {
		texts = append(texts, t("ivr.category.item", c.NameEL, i+1))
	}
	texts = append(texts, t("ivr.category.back"))
	return h.ask(r, cl, pathCategory, 1, "", texts...)
}

// category takes the topic's digit, then asks for the message.
func (h *Handler) category(cl *call) *response {
	r := &response{}
	if cl.st.Kind != string(dimos.KindComplaint) && cl.st.Kind != string(dimos.KindCertificate) {
		return h.menuPrompt(r, cl)
	}
	if cl.digits == "" {
		return h.categoryPrompt(r, cl)
	}
	cl.repeats = 0
	if cl.digits == "*" {
		return h.menuPrompt(r, cl)
	}
	cats, err := h.topics(cl.ctx, cl.st.Kind)
	if err != nil {
		return h.fail(cl, err)
	}
	n, err := strconv.Atoi(cl.digits)
	if err != nil || n < 1 || n > len(cats) {
		return h.categoryPrompt(r.say(t("ivr.invalid_choice")), cl)
	}
	cl.st.Category = cats[n-1].Code
	return h.recordPrompt(r, cl)
}

func (h *Handler) recordPrompt(r *response, cl *call) *response {
	cl.st.Rec = ""
	prompt := "ivr.record.complaint"
	if cl.st.Kind == string(dimos.KindCertificate) {
		prompt = "ivr.record.certificate"
	}
	r.say(t(prompt)).add(record{Action: h.action(pathRecord, cl, cl.st), Method: fiber.MethodPost,
		MaxLength: MaxRecordingSeconds, PlayBeep: true, FinishOnKey: "#", Timeout: 10})
	// Without a recording the provider does not call the action but goes on here.
	cl.repeats = 0
	return h.menuPrompt(r.say(t("ivr.record.nothing")), cl)
}

// validRecordingURL accepts the absolute http(s) URL of a recording.
func validRecordingURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

// record is the action of <Record>: it keeps the recording's URL and offers review.
func (h *Handler) record(cl *call) *response {
	r := &response{}
	if cl.st.Category == "" {
		return h.menuPrompt(r, cl)
	}
	if cl.recURL == "" || !validRecordingURL(cl.recURL) {
		return h.recordPrompt(r, cl)
	}
	cl.st.Rec = cl.recURL
	cl.repeats = 0
	return h.reviewPrompt(r, cl)
}

func (h *Handler) reviewPrompt(r *response, cl *call) *response {
	return h.ask(r, cl, pathReview, 1, "", t("ivr.review"))
}

// review: 1 listen, 2 record again, 3 delete and back to the menu, 4 submit, * back.
func (h *Handler) review(cl *call) *response {
	r := &response{}
	if cl.st.Rec == "" || cl.st.Category == "" {
		return h.menuPrompt(r, cl)
	}
	if cl.digits == "" {
		return h.reviewPrompt(r, cl)
	}
	cl.repeats = 0
	switch cl.digits {
	case "1":
		return h.reviewPrompt(r.add(play{URL: cl.st.Rec}), cl)
	case "2":
		return h.recordPrompt(r, cl)
	case "3":
		return h.menuPrompt(r.say(t("ivr.review.deleted")), cl)
	case "4":
		if cl.st.Citizen == 0 && cl.from != "" && cl.st.Kind == string(dimos.KindComplaint) {
			return h.ask(r, cl, pathCallback, 1, "", t("ivr.callback.ask"))
		}
		return h.submit(r, cl)
	case "*":
		return h.categoryPrompt(r, cl)
	}
	return h.reviewPrompt(r.say(t("ivr.invalid_choice")), cl)
}

// callback: an anonymous caller presses 1 to leave their number for a call back.
func (h *Handler) callback(cl *call) *response {
	r := &response{}
	if cl.st.Rec == "" || cl.st.Category == "" || cl.st.Citizen != 0 {
		return h.menuPrompt(r, cl)
	}
	switch cl.digits {
	case "":
		return h.ask(r, cl, pathCallback, 1, "", t("ivr.callback.ask"))
	case "1":
		cl.st.Callback = true
		return h.submit(r, cl)
	case "2":
		return h.submit(r, cl)
	}
	cl.repeats = 0
	return h.ask(r.say(t("ivr.invalid_choice")), cl, pathCallback, 1, "", t("ivr.callback.ask"))
}

// submit files the case, keeps the recording's URL, starts the workflow and speaks
// the case number twice (M8).
func (h *Handler) submit(r *response, cl *call) *response {
	cat, err := h.cfg.Directory.CategoryByCode(cl.ctx, cl.st.Category)
	if dimos.ErrorCode(err) == dimos.ENOTFOUND {
		cl.repeats = 0
		return h.menuPrompt(r.say(t("ivr.category.none")), cl)
	} else if err != nil {
		return h.fail(cl, err)
	}
	kind, ok := kindOf(cl.st.Kind, cat)
	if !ok {
		return h.menuPrompt(r.say(t("ivr.category.none")), cl)
	}
	cs := &dimos.Case{Kind: kind, CategoryCode: cat.Code, Channel: dimos.ChannelIVR,
		Subject: t("ivr.case.subject", cat.NameEL), Lang: i18n.Greek}
	if cl.st.Citizen != 0 {
		c, err := h.cfg.Citizens.CitizenByID(cl.ctx, cl.st.Citizen)
		if err != nil {
			return h.fail(cl, err)
		}
		if kind == dimos.KindCertificate {
			if !c.Verified() {
				return h.menuPrompt(r.say(t("ivr.cert.unverified")), cl)
			}
			// M7: the reason of use is in the recording; the caller collects the
			// certificate at the town hall, as they are told.
			cs.Purpose, cs.Delivery = t("ivr.case.purpose"), dimos.DeliveryTownHall
		}
		cs.CitizenID, cs.Contact, cs.Lang = c.ID, c.Contact(), i18n.Lang(c.Lang)
		cs.Text = t("ivr.case.text")
		if cl.from != "" {
			cs.Text = t("ivr.case.text.number", cl.from)
		}
	} else {
		if kind == dimos.KindCertificate { // the menu lets only verified citizens here
			return h.menuPrompt(r.say(t("ivr.cert.identify")), cl)
		}
		// M5: anonymous; the number is kept only when the caller asked to be called back.
		cs.Anonymous = true
		cs.Text = t("ivr.case.text")
		if cl.st.Callback && cl.from != "" {
			cs.Text = t("ivr.case.text.callback", cl.from)
		}
	}
	if err := cs.Validate(); err != nil {
		return h.fail(cl, fmt.Errorf("ivr case: %w", err))
	}
	// A retried webhook (the provider got no answer to the first) finds its case.
	if number, err := h.cfg.Recordings.CaseWithRecording(cl.ctx, cl.st.Rec); err != nil {
		return h.fail(cl, err)
	} else if number != "" {
		spoken := spellDigits(number)
		return goodbye(r.say(t("ivr.submitted", spoken, spoken)))
	}
	if err := h.cfg.Cases.SubmitCase(cl.ctx, cs); err != nil {
		return h.fail(cl, err)
	}
	if err := h.cfg.Recordings.SaveRecording(cl.ctx, cs.ID, cl.st.Rec); err != nil {
		// The case is stored; tell the caller its number all the same and leave the
		// missing recording to the log.
		h.cfg.Log.Error("ivr recording not saved", "case", cs.Number, "err", err)
	}
	h.cfg.Kick(cs)
	h.cfg.Log.Info("case accepted", "case", cs.Number, "category", cs.CategoryCode, "channel", cs.Channel)
	spoken := spellDigits(cs.Number)
	r.say(t("ivr.submitted", spoken, spoken))
	if cs.Kind == dimos.KindCertificate {
		r.say(t("ivr.submitted.certificate"))
	}
	if cs.Anonymous {
		r.say(t("ivr.submitted.anonymous"))
	}
	return goodbye(r)
}

// track answers the status of a case keyed in by its number (M14).
func (h *Handler) track(cl *call) *response {
	r := &response{}
	if cl.digits == "" {
		return h.ask(r, cl, pathTrack, 14, "#", t("ivr.track.ask"))
	}
	cl.repeats = 0
	keyed := strings.TrimSuffix(cl.digits, "#")
	if strings.HasPrefix(keyed, "*") {
		return h.menuPrompt(r, cl)
	}
	number, ok := dimos.ParseCaseNumber(keyed)
	if !ok || !isDigits(keyed) {
		return h.ask(r.say(t("ivr.track.invalid")), cl, pathTrack, 14, "#", t("ivr.track.ask"))
	}
	cs, err := h.cfg.Cases.CaseByNumber(cl.ctx, number)
	switch {
	case dimos.ErrorCode(err) == dimos.ENOTFOUND || (err == nil && cs.Anonymous):
		r.say(t("ivr.track.not_found", spellDigits(number)))
	case err != nil:
		return h.fail(cl, err)
	default:
		r.say(t("ivr.track.status", spellDigits(number), t("status."+string(cs.Status))))
	}
	return h.menuPrompt(r, cl)
}
