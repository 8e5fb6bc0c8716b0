// Package loadgen drives a running dimos the way its users do, and measures it:
// citizens file cases on the portal's JSON API, through an Open311 client and on
// the phone line's webhooks; directors and clerks sign in to the console and take
// each case through its life (assign, comment, complete) with the console's own
// forms and CSRF tokens. It speaks only HTTP, so it measures dimos from outside,
// whatever runs behind the address: `dimos dev`, or consoles and workers apart.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config says what to drive and how hard.
type Config struct {
	// BaseURL is where dimos serves, e.g. http://127.0.0.1:8080; several consoles
	// are given comma-separated, and each actor keeps to one of them.
	BaseURL     string
	Concurrency int           // lifecycles in flight at once
	Cases       int           // stop after this many lifecycles (0: run for Duration)
	Duration    time.Duration // stop starting lifecycles after this long
	// Mix is the share of the cases filed on each channel; they need not sum to 1.
	// The channels take turns in proportion to it (smooth weighted round robin), so
	// every run of N cases files them in the same proportions, not by chance.
	Mix Mix
	// Staff are the sign-ins of the services, by category code: who routes and who
	// works a case of that category.
	Staff    map[string]Team
	Password string // of every staff sign-in
	// Open311Key is the key the Open311 client sends; empty: the admin issues one
	// through the console (as Admin) at the start.
	Open311Key   string
	Admin        string
	Jurisdiction string // Open311 jurisdiction_id
	// Progress, when set, is called once per finished lifecycle.
	Progress func()
	// Timeout bounds each HTTP request and each wait for the workflow.
	Timeout time.Duration
}

// Mix weighs the channels.
type Mix struct{ Portal, Open311, IVR float64 }

// A channel a case is filed on.
type channel int

const (
	onPortal channel = iota
	onOpen311
	onPhone
)

// turns hands out the channels in proportion to a Mix, interleaved: with weights
// 3:1:1 the sequence is portal, portal, Open311, portal, phone, ... Each channel's
// credit grows by its weight at every turn; the one with the most credit goes and
// pays the total back (the smooth weighted round robin nginx balances with).
type turns struct {
	mu     sync.Mutex
	weight [3]float64
	credit [3]float64
}

func newTurns(m Mix) *turns {
	return &turns{weight: [3]float64{m.Portal, m.Open311, m.IVR}}
}

func (t *turns) next() channel {
	t.mu.Lock()
	defer t.mu.Unlock()
	best, total := -1, 0.0
	for c, w := range t.weight {
		if w <= 0 {
			continue
		}
		total += w
		t.credit[c] += w
		if best < 0 || t.credit[c] > t.credit[best] {
			best = c
		}
	}
	t.credit[best] -= total
	return channel(best)
}

// Team is the staff of a service: the director who assigns, the clerks who work.
type Team struct {
	Director string
	Clerks   []Clerk
}

// Clerk is a clerk's sign-in and the name the assignment form lists them under.
type Clerk struct{ Username, FullName string }

// Result is what a run measured.
type Result struct {
	Elapsed    time.Duration
	Lifecycles int // cases filed and completed
	Failed     int // lifecycles abandoned on an error
	Stats      []OpStats
	FirstError string
}

// Run drives dimos until cfg.Cases lifecycles are done or cfg.Duration has passed
// (then it lets the lifecycles in flight finish), and returns the measurements.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Cases <= 0 && cfg.Duration <= 0 {
		return nil, errors.New("loadgen: give a number of cases or a duration")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.Mix == (Mix{}) {
		cfg.Mix = Mix{Portal: 0.6, Open311: 0.2, IVR: 0.2}
	}
	if cfg.Mix.Portal < 0 || cfg.Mix.Open311 < 0 || cfg.Mix.IVR < 0 {
		return nil, errors.New("loadgen: a channel's share cannot be negative")
	}
	if len(cfg.Staff) == 0 {
		return nil, errors.New("loadgen: no categories with staff to work them")
	}
	var bases []string
	for _, u := range strings.Split(cfg.BaseURL, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			bases = append(bases, u)
		}
	}
	if len(bases) == 0 {
		return nil, errors.New("loadgen: no URL to drive")
	}
	cfg.BaseURL = bases[0]
	rec := NewRecorder()
	g := &gen{cfg: cfg, rec: rec, categories: sortedKeys(cfg.Staff), bases: bases, turns: newTurns(cfg.Mix)}
	names, err := g.categoryNames(ctx)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	g.names = names
	if cfg.Mix.IVR > 0 {
		if g.phoneCategories, err = g.phoneMenu(ctx); err != nil {
			return nil, fmt.Errorf("loadgen: %w", err)
		}
	}
	recordings, err := g.serveRecordings()
	if err != nil {
		return nil, err
	}
	defer recordings.Close()
	if cfg.Mix.Open311 > 0 && cfg.Open311Key == "" {
		key, err := g.issueOpen311Key(ctx)
		if err != nil {
			return nil, fmt.Errorf("loadgen: issue an Open311 key: %w", err)
		}
		g.cfg.Open311Key = key
	}

	var started, lifecycles, failed atomic.Int64
	var firstErr atomic.Value
	deadline := time.Time{}
	if cfg.Duration > 0 {
		deadline = time.Now().Add(cfg.Duration)
	}
	began := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := g.newActor(uint64(i))
			for ctx.Err() == nil {
				if cfg.Cases > 0 && started.Add(1) > int64(cfg.Cases) {
					return
				}
				if !deadline.IsZero() && time.Now().After(deadline) {
					return
				}
				if err := a.lifecycle(ctx); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					lifecycles.Add(1)
				}
				if cfg.Progress != nil {
					cfg.Progress()
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	res := &Result{Elapsed: elapsed, Lifecycles: int(lifecycles.Load()), Failed: int(failed.Load()), Stats: rec.Stats(elapsed)}
	if e, ok := firstErr.Load().(string); ok {
		res.FirstError = e
	}
	return res, ctx.Err()
}

// Print writes a run's figures.
func (r *Result) Print(w io.Writer) {
	fmt.Fprintf(w, "%d lifecycles completed, %d failed, in %s: %.2f lifecycles/s\n",
		r.Lifecycles, r.Failed, r.Elapsed.Round(time.Millisecond), float64(r.Lifecycles)/r.Elapsed.Seconds())
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", r.FirstError)
	}
	PrintStats(w, r.Stats)
}

// gen is what the actors of a run share.
type gen struct {
	cfg        Config
	rec        *Recorder
	turns      *turns // which channel the next case is filed on
	categories []string
	bases      []string          // the consoles, one per actor in turn
	recBase    string            // where the phone recordings are served
	names      map[string]string // Greek category names, as the phone menu says them
	// phoneCategories are the categories with staff that the phone menu offers.
	phoneCategories []string
	// sessions are the staff's signed-in browsers, by console and username.
	sessions sync.Map // sessionKey → *session
}

// A staff member signs in once and works every case in that one session, as at the
// office; the actors share it. Before, each actor signed every staff member in anew,
// and the password hashing of those sign-ins was 40% of the run's CPU.
type sessionKey struct{ base, username string }

type session struct {
	mu sync.Mutex
	b  *browser // nil until signed in
}

// serveRecordings serves a short WAV for the IVR cases' recordings on loopback, so
// that a dimos whose DIMOS_IVR_RECORDING_HOSTS allows 127.0.0.1 fetches it; one that
// does not refuses the host at once and the case goes on without it.
func (g *gen) serveRecordings() (io.Closer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	wav := silentWAV()
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "audio/wav")
		w.Write(wav) //nolint:errcheck
	})}
	go srv.Serve(ln) //nolint:errcheck
	g.recBase = "http://" + ln.Addr().String() + "/recordings/"
	return srv, nil
}

// silentWAV is a tenth of a second of silence, 8 kHz mono 16-bit.
func silentWAV() []byte {
	const samples = 800
	data := samples * 2
	b := []byte("RIFF")
	le32 := func(v int) { b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24)) }
	le16 := func(v int) { b = append(b, byte(v), byte(v>>8)) }
	le32(36 + data)
	b = append(b, "WAVEfmt "...)
	le32(16)
	le16(1)
	le16(1)
	le32(8000)
	le32(16000)
	le16(2)
	le16(16)
	b = append(b, "data"...)
	le32(data)
	return append(b, make([]byte, data)...)
}

// actor is one simulated stream of citizens and staff: it files a case, then its
// service's director and a clerk take it to completion, then the next.
type actor struct {
	g       *gen
	base    string // the console this actor uses
	r       *rand.Rand
	citizen *http.Client
	// phoneCase is set while the lifecycle's case came by phone.
	phoneCase bool
	seq       int
}

func (g *gen) newActor(id uint64) *actor {
	return &actor{g: g, base: g.bases[int(id)%len(g.bases)], r: rand.New(rand.NewPCG(id, uint64(time.Now().UnixNano()))),
		citizen: &http.Client{Timeout: g.cfg.Timeout}}
}

func (a *actor) pick(s []string) string { return s[a.r.IntN(len(s))] }

// timed runs op and records it.
func (a *actor) timed(op string, f func() error) error {
	t := time.Now()
	err := f()
	a.g.rec.Observe(op, time.Since(t), err)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// lifecycle is one case from its filing to its completion.
func (a *actor) lifecycle(ctx context.Context) error {
	began := time.Now()
	a.phoneCase = false
	var number, category string
	var err error
	switch a.g.turns.next() {
	case onPortal:
		category = a.pick(a.g.categories)
		err = a.timed("portal.submit", func() error { number, err = a.submitPortal(ctx, category); return err })
	case onOpen311:
		category = a.pick(a.g.categories)
		err = a.timed("open311.submit", func() error { number, err = a.submitOpen311(ctx, category); return err })
	case onPhone:
		category = a.pick(a.g.phoneCategories)
		a.phoneCase = true
		err = a.timed("ivr.call", func() error { number, err = a.call(ctx, category); return err })
	}
	if err != nil {
		return err
	}
	if err := a.work(ctx, number, a.g.cfg.Staff[category]); err != nil {
		return err
	}
	// A caller the municipality does not know files anonymously, and an anonymous
	// case cannot be tracked by its number; the others must read completed.
	if !a.phoneCase {
		if err := a.timed("portal.status", func() error { return a.expectStatus(ctx, number, "completed") }); err != nil {
			return err
		}
	}
	a.g.rec.Observe("lifecycle", time.Since(began), nil)
	return nil
}

// work is the staff's part: the director waits for the case in the console and
// assigns it to a clerk, who comments to the citizen (which starts the work) and
// completes it with the answer.
func (a *actor) work(ctx context.Context, number string, team Team) error {
	director, err := a.browser(ctx, team.Director)
	if err != nil {
		return err
	}
	clerk := team.Clerks[a.r.IntN(len(team.Clerks))]
	casePath := "/console/cases/" + number
	var page string
	// The case reaches the director once its workflow has routed it: until then the
	// case belongs to no service and the director may not open it.
	err = a.timed("wait.routed", func() error {
		return a.poll(ctx, func() (bool, error) {
			code, body, err := director.get(ctx, casePath)
			if err != nil || code == http.StatusForbidden || code == http.StatusNotFound {
				return false, err
			}
			if code != http.StatusOK {
				return false, fmt.Errorf("case page: %d", code)
			}
			page = body
			return strings.Contains(page, `name="employee"`), nil
		})
	})
	if err != nil {
		return err
	}
	employee, ok := optionFor(page, clerk.FullName)
	if !ok {
		return fmt.Errorf("the assignment form of %s does not list %s", number, clerk.FullName)
	}
	assign := func() error {
		return director.decide(ctx, number, "assign", page, map[string]string{"employee": employee})
	}
	if err := a.timed("console.assign", assign); err != nil {
		// The page can offer the form a moment before the workflow has taken in its
		// own routing, and the workflow then refuses with 409; a director would click
		// again. Counted apart, so the report shows how often it happens.
		if !errors.Is(err, errConflict) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
		if err := a.timed("console.assign.again", assign); err != nil {
			return err
		}
	}
	worker, err := a.browser(ctx, clerk.Username)
	if err != nil {
		return err
	}
	if err := a.timed("console.case", func() error {
		code, body, err := worker.get(ctx, casePath)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("case page: %d", code)
		}
		page = body
		return err
	}); err != nil {
		return err
	}
	if err := a.timed("console.comment", func() error {
		return worker.decide(ctx, number, "comment", page, map[string]string{
			"text": "Το συνεργείο θα περάσει αύριο το πρωί.", "public": "on"})
	}); err != nil {
		return err
	}
	return a.timed("console.complete", func() error {
		return worker.decide(ctx, number, "complete", page, map[string]string{
			"answer": "Η βλάβη αποκαταστάθηκε. Ευχαριστούμε για την ενημέρωση."})
	})
}

// poll tries cond until it holds, fails, or the timeout passes.
func (a *actor) poll(ctx context.Context, cond func() (bool, error)) error {
	deadline := time.Now().Add(a.g.cfg.Timeout)
	wait := 20 * time.Millisecond
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// browser returns the signed-in browser of a staff member on the actor's console,
// signing in the first time.
func (a *actor) browser(ctx context.Context, username string) (*browser, error) {
	v, _ := a.g.sessions.LoadOrStore(sessionKey{a.base, username}, &session{})
	s := v.(*session)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b != nil {
		return s.b, nil
	}
	b := newBrowser(a.base, a.g.cfg.Timeout)
	if err := a.timed("console.signin", func() error { return b.signIn(ctx, username, a.g.cfg.Password) }); err != nil {
		return nil, err
	}
	s.b = b
	return b, nil
}

func (g *gen) issueOpen311Key(ctx context.Context) (string, error) {
	b := newBrowser(g.cfg.BaseURL, g.cfg.Timeout)
	if err := b.signIn(ctx, g.cfg.Admin, g.cfg.Password); err != nil {
		return "", err
	}
	_, page, err := b.get(ctx, "/console/admin/api-keys")
	if err != nil {
		return "", err
	}
	_, page, err = b.postForm(ctx, "/console/admin/api-keys", page, map[string]string{"name": "loadgen " + time.Now().Format(time.DateTime)})
	if err != nil {
		return "", err
	}
	m := issuedKey.FindStringSubmatch(page)
	if m == nil {
		return "", errors.New("the console showed no key")
	}
	return m[1], nil
}
