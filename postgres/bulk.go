package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"dimos"
)

// BulkOptions says how many historic cases SeedCases generates and how.
type BulkOptions struct {
	Cases     int           // how many cases
	BatchSize int           // cases per transaction; memory is bounded by it (default 5000)
	Workers   int           // batches written at once (default 2)
	Now       time.Time     // the end of the history (default db.Now())
	Span      time.Duration // how far back the history reaches (default two years)
	Seed      uint64        // the random seed: the same seed generates the same cases
	// Progress, when set, is called after each committed batch with its number of cases.
	Progress func(cases int)
}

// BulkResult counts what SeedCases wrote.
type BulkResult struct {
	Cases, Open, Events, Timings int
}

// SeedCases writes o.Cases realistic historic cases for scale tests and benchmarks:
// submitted over the past o.Span from every channel, in the categories, services and
// staff already in the database (the demo municipality, say), each with the events
// and stage timings of a lifecycle that the case workflow would have recorded
// (received, routed, assigned, in progress, completed; some waiting for the citizen,
// some transferred, some rejected, about a tenth still open), Greek texts varied
// enough for full-text search, and numbers taken from the case_numbers counters so
// that cases filed afterwards go on from them.
//
// Rows go in with COPY, in batches of o.BatchSize cases, one transaction each. The
// historic cases have no workflows: they are marked as started so the starter leaves
// them alone, and staff decisions on the open ones answer that the workflow is gone.
func (db *DB) SeedCases(ctx context.Context, o BulkOptions) (BulkResult, error) {
	var res BulkResult
	if o.Cases <= 0 {
		return res, errors.New("seed cases: the number of cases must be positive")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Now.IsZero() {
		o.Now = db.Now()
	}
	if o.Span <= 0 {
		o.Span = 2 * 365 * 24 * time.Hour
	}
	org, err := db.loadBulkOrg(ctx)
	if err != nil {
		return res, err
	}
	// Inserting events and timings ahead of their cases, with the foreign-key and
	// comment triggers off, lets the trigger of cases compute each search vector
	// once, comments included, instead of once per comment. That needs a superuser
	// (session_replication_role); without one the rows go in the ordinary order.
	var super bool
	if err := db.Pool.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil {
		return res, fmt.Errorf("seed cases: %w", err)
	}
	g := &generator{r: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), org: org, now: o.Now.UTC().Truncate(time.Microsecond)}
	start := g.now.Add(-o.Span)
	step := float64(o.Span) / float64(o.Cases)
	// One goroutine generates and numbers the batches in order; o.Workers write
	// them at once, each in its own transaction, so that PostgreSQL computes the
	// search vectors of several batches on several cores.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *bulkBatch, o.Workers)
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = fmt.Errorf("seed cases: %w", err)
			cancel()
		}
	}
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := db.copyBulkBatch(ctx, b, super); err != nil {
					fail(err)
					return
				}
				mu.Lock()
				for _, c := range b.cases {
					res.Cases++
					res.Events += len(c.events)
					res.Timings += len(c.timings)
					if !c.stage.Terminal() {
						res.Open++
					}
				}
				if o.Progress != nil {
					o.Progress(len(b.cases))
				}
				mu.Unlock()
			}
		}()
	}
	for done := 0; done < o.Cases && ctx.Err() == nil; {
		n := min(o.BatchSize, o.Cases-done)
		b := &bulkBatch{}
		for i := range n {
			// Evenly spread, jittered within its slot, so submission times rise.
			at := start.Add(time.Duration(step * (float64(done+i) + g.r.Float64())))
			b.cases = append(b.cases, g.newCase(at.Truncate(time.Microsecond)))
		}
		if err := db.numberBulkBatch(ctx, b); err != nil {
			fail(err)
			break
		}
		select {
		case batches <- b:
		case <-ctx.Done():
		}
		done += n
	}
	close(batches)
	wg.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	if _, err := db.Pool.Exec(ctx, `ANALYZE cases, case_events, stage_timings`); err != nil {
		return res, fmt.Errorf("seed cases: analyze: %w", err)
	}
	return res, nil
}

// bulkOrg is the organisation the generated cases are routed through.
type bulkOrg struct {
	categories []bulkCategory
	weights    []float64 // how often each category is filed, summing to 1
	services   map[int64]*bulkService
	serviceIDs []int64 // sorted, for transfers
}

type bulkCategory struct {
	code       string
	kinds      []dimos.Kind
	serviceID  int64
	autoAssign bool
	days       float64 // completion target in working days
	clockDays  float64 // the completion clock's limit in working days (clockLimit)
}

type bulkService struct {
	id       int64
	director int64
	clerks   []int64
}

func (db *DB) loadBulkOrg(ctx context.Context) (*bulkOrg, error) {
	org := &bulkOrg{services: map[int64]*bulkService{}}
	rows, err := db.Pool.Query(ctx, `SELECT s.id, s.director_id, coalesce(array_agg(e.id ORDER BY e.id)
			FILTER (WHERE e.role = 'clerk' AND e.active), '{}')
		FROM services s LEFT JOIN employees e ON e.service_id = s.id
		WHERE s.director_id IS NOT NULL GROUP BY s.id ORDER BY s.id`)
	if err != nil {
		return nil, fmt.Errorf("seed cases: services: %w", err)
	}
	for rows.Next() {
		s := &bulkService{}
		if err := rows.Scan(&s.id, &s.director, &s.clerks); err != nil {
			return nil, err
		}
		org.services[s.id] = s
		org.serviceIDs = append(org.serviceIDs, s.id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = db.Pool.Query(ctx, `SELECT code, kinds, service_id, auto_assign, target_completion_days::float8,
			statutory_days::float8
		FROM categories WHERE active ORDER BY sort, code`)
	if err != nil {
		return nil, fmt.Errorf("seed cases: categories: %w", err)
	}
	var total float64
	for rows.Next() {
		var c bulkCategory
		var kinds []string
		var statutory float64
		if err := rows.Scan(&c.code, &kinds, &c.serviceID, &c.autoAssign, &c.days, &statutory); err != nil {
			return nil, err
		}
		c.clockDays = clockLimit(c.days, statutory)
		if org.services[c.serviceID] == nil {
			continue // a service without a director receives nothing
		}
		for _, k := range kinds {
			c.kinds = append(c.kinds, dimos.Kind(k))
		}
		w := categoryWeight(c.code)
		org.categories = append(org.categories, c)
		org.weights = append(org.weights, w)
		total += w
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(org.categories) == 0 {
		return nil, errors.New("seed cases: no active category of a service with a director (load the demo municipality first)")
	}
	for i := range org.weights {
		org.weights[i] /= total
	}
	return org, nil
}

// bulkBatch is one transaction's worth of generated cases.
type bulkBatch struct {
	cases []*genCase
}

// numberBulkBatch numbers the batch's cases from the counters and takes their ids
// from the sequence. It commits at once, so that the batches are numbered in the
// order of their submission times whatever order they are written in; a batch that
// then fails to be written leaves a gap in the numbers.
func (db *DB) numberBulkBatch(ctx context.Context, b *bulkBatch) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		// Numbers: reserve a run per year from the counter, as SubmitCase does one by one.
		perYear := map[int]int{}
		for _, c := range b.cases {
			perYear[c.submitted.In(athens).Year()]++
		}
		years := make([]int, 0, len(perYear))
		for y := range perYear {
			years = append(years, y)
		}
		sort.Ints(years)
		next := map[int]int{}
		for _, y := range years {
			var last int
			if err := tx.QueryRow(ctx, `INSERT INTO case_numbers (year, last) VALUES ($1, $2)
				ON CONFLICT (year) DO UPDATE SET last = case_numbers.last + excluded.last
				RETURNING last`, y, perYear[y]).Scan(&last); err != nil {
				return fmt.Errorf("case numbers: %w", err)
			}
			next[y] = last - perYear[y] + 1
		}
		rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('cases', 'id')) FROM generate_series(1, $1)`, len(b.cases))
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("case ids: %w", err)
		}
		for i, c := range b.cases {
			c.id = ids[i]
			y := c.submitted.In(athens).Year()
			c.number = dimos.FormatCaseNumber(y, next[y])
			next[y]++
			if c.kind == dimos.KindCertificate && c.protocolAt != nil {
				c.protocol = "Π-" + c.number
			}
		}
		return nil
	})
}

// copyBulkBatch copies a numbered batch's cases, events and timings in one transaction.
func (db *DB) copyBulkBatch(ctx context.Context, b *bulkBatch, super bool) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if super {
			if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
				return err
			}
			if err := copyEventsAndTimings(ctx, tx, b); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = origin`); err != nil {
				return err
			}
			return copyCases(ctx, tx, b)
		}
		if err := copyCases(ctx, tx, b); err != nil {
			return err
		}
		return copyEventsAndTimings(ctx, tx, b)
	})
}

func copyCases(ctx context.Context, tx pgx.Tx, b *bulkBatch) error {
	rows := make([][]any, 0, len(b.cases))
	for _, c := range b.cases {
		rows = append(rows, c.row())
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"cases"}, []string{"id", "number", "kind", "category_code", "channel",
		"subject", "body", "desired_action", "anonymous", "contact_first_name", "contact_last_name", "contact_email",
		"contact_phone", "lang", "stage", "status", "stage_seq", "service_id", "assignee_id", "answer", "submitted_at",
		"completed_at", "workflow_started_at", "protocol_number", "protocol_date", "due_date", "rating", "rating_remark",
		"lat", "lon", "address", "purpose", "delivery", "clock_deadline_at", "clock_paused_at", "clock_paused_us"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("copy cases: %w", err)
	}
	return nil
}

func copyEventsAndTimings(ctx context.Context, tx pgx.Tx, b *bulkBatch) error {
	var events, timings [][]any
	for _, c := range b.cases {
		for _, e := range c.events {
			body := e.body
			if e.typ == "protocol_registered" {
				body = c.protocol
			}
			events = append(events, []any{c.id, e.at, e.typ, nullID(e.actor), nullID(e.employee), nullID(e.service),
				e.public, body, e.byCitizen})
		}
		for i, t := range c.timings {
			timings = append(timings, []any{c.id, i + 1, string(t.stage), nullID(t.service), nullID(t.employee),
				t.entered, t.left})
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"case_events"}, []string{"case_id", "at", "type", "actor_id",
		"employee_id", "service_id", "public", "body", "by_citizen"}, pgx.CopyFromRows(events)); err != nil {
		return fmt.Errorf("copy case events: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_timings"}, []string{"case_id", "seq", "stage", "service_id",
		"employee_id", "entered_at", "left_at"}, pgx.CopyFromRows(timings)); err != nil {
		return fmt.Errorf("copy stage timings: %w", err)
	}
	return nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// genCase is one generated case with its history.
type genCase struct {
	id                   int64
	number               string
	kind                 dimos.Kind
	category             string
	channel              dimos.Channel
	subject, body        string
	action               string
	anonymous            bool
	first, last          string
	email, phone         string
	lang                 string
	lat, lon             float64
	address              string
	purpose              string
	delivery             dimos.Delivery
	submitted            time.Time
	stage                dimos.Stage
	service, assignee    int64
	answer               string
	completed            *time.Time
	protocol             string
	protocolAt, due      *time.Time
	rating               *int16
	ratingRemark         string
	events               []genEvent
	timings              []genTiming
	holderSvc, holderEmp int64
	clockDays            float64
}

type genEvent struct {
	at                       time.Time
	typ                      string
	actor, employee, service int64
	public, byCitizen        bool
	body                     string
}

type genTiming struct {
	stage             dimos.Stage
	service, employee int64
	entered           time.Time
	left              *time.Time
}

func (c *genCase) row() []any {
	var protocol any
	if c.protocol != "" {
		protocol = c.protocol
	}
	var rating any
	if c.rating != nil {
		rating = *c.rating
	}
	// The completion clock, as SubmitCase and every RecordTransition would have left
	// it: replayed over the stage visits, like Migrate's backfill of older cases.
	k := caseClock{submitted: c.submitted, limitDays: c.clockDays}
	for _, t := range c.timings {
		k = k.enter(t.stage, t.entered)
	}
	return []any{c.id, c.number, string(c.kind), c.category, string(c.channel), c.subject, c.body, c.action,
		c.anonymous, c.first, c.last, c.email, c.phone, c.lang, string(c.stage), string(c.stage.Status()),
		len(c.timings), nullID(c.service), nullID(c.assignee), c.answer, c.submitted, c.completed,
		c.submitted.Add(150 * time.Millisecond), protocol, c.protocolAt, c.due, rating, c.ratingRemark,
		c.lat, c.lon, c.address, c.purpose, string(c.delivery), k.deadline(), k.pausedAt, k.paused.Microseconds()}
}

// generator makes cases; it is not safe for concurrent use.
type generator struct {
	r   *rand.Rand
	org *bulkOrg
	now time.Time
}

// stalledShare is the share of cases left open at some stage however old they are
// (forgotten, waiting for a contractor); the recent ones are open because their
// lifecycle has not ended yet. Together about a tenth of the cases are open.
const stalledShare = 0.08

func (g *generator) newCase(at time.Time) *genCase {
	r := g.r
	cat := g.org.categories[g.pick(g.org.weights)]
	c := &genCase{category: cat.code, submitted: at, lang: "el", clockDays: cat.clockDays}
	c.kind = cat.kinds[r.IntN(len(cat.kinds))]
	if len(cat.kinds) > 1 && r.Float64() < 0.45 { // complaints and requests outnumber suggestions
		c.kind = cat.kinds[0]
	}
	c.channel = []dimos.Channel{dimos.ChannelPortal, dimos.ChannelOpen311, dimos.ChannelIVR, dimos.ChannelDesk}[g.pick(channelWeights)]
	c.anonymous = c.kind != dimos.KindCertificate && c.channel != dimos.ChannelDesk && r.Float64() < 0.07
	g.writeText(c, cat)
	if !c.anonymous {
		g.contact(c)
	}
	g.lifecycle(c, cat)
	return c
}

var channelWeights = []float64{0.55, 0.15, 0.15, 0.15} // portal, open311, ivr, desk

func (g *generator) pick(weights []float64) int {
	x := g.r.Float64()
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func (g *generator) one(s []string) string { return s[g.r.IntN(len(s))] }

// writeText composes the subject, text and desired action from fragments of the
// category, a street of the town and a point near it.
func (g *generator) writeText(c *genCase, cat bulkCategory) {
	r := g.r
	street := g.one(bulkStreets)
	no := 1 + r.IntN(120)
	c.address = fmt.Sprintf("%s %d, Άγιος Νικόλαος", street, no)
	// Points within about 1.5 km of the town centre.
	c.lat = math.Round((bulkCentreLat+(r.Float64()-0.5)*0.027)*1e6) / 1e6
	c.lon = math.Round((bulkCentreLon+(r.Float64()-0.5)*0.033)*1e6) / 1e6
	t, ok := bulkTexts[cat.code]
	if !ok {
		t = bulkTexts["general"]
	}
	if r.Float64() < 0.03 && len(t.en) > 0 {
		c.lang = "en"
		c.subject = fill(g.one(t.en), street)
		c.body = c.subject + ". " + g.one(bulkEnglishDetails)
		c.action = "Please take care of it."
	} else {
		c.subject = fill(g.one(t.subjects), street)
		c.body = fmt.Sprintf("%s %s %s %s", g.one(t.details), fmt.Sprintf(g.one(bulkWhere), street, no),
			g.one(bulkSince), g.one(bulkClosing))
		c.action = g.one(t.actions)
	}
	if c.kind == dimos.KindCertificate {
		c.purpose = g.one(bulkPurposes)
		c.delivery = dimos.Deliveries[r.IntN(len(dimos.Deliveries))]
	}
	if c.kind == dimos.KindSuggestion {
		c.subject = "Πρόταση: " + c.subject
	}
}

// fill puts the street into a template that names one.
func fill(template, street string) string {
	if strings.Contains(template, "%s") {
		return fmt.Sprintf(template, street)
	}
	return template
}

func (g *generator) contact(c *genCase) {
	r := g.r
	var n bulkName
	if r.IntN(2) == 0 {
		n = bulkName{g.one(bulkMaleFirst), g.one(bulkMaleLast)}
	} else {
		n = bulkName{g.one(bulkFemaleFirst), g.one(bulkFemaleLast)}
	}
	c.first, c.last = n.first, n.last
	if c.channel != dimos.ChannelIVR || r.IntN(3) == 0 {
		c.email = fmt.Sprintf("citizen%07d@example.gr", r.IntN(10_000_000))
	}
	if c.email == "" || r.IntN(2) == 0 {
		c.phone = fmt.Sprintf("69%08d", r.IntN(100_000_000))
	}
}

type bulkName struct{ first, last string }

// lifecycle writes the case's history as the workflow would have, stopping at now:
// a case whose next step would come later is still open, resting where it is.
func (g *generator) lifecycle(c *genCase, cat bulkCategory) {
	r := g.r
	svc := g.org.services[cat.serviceID]
	// stopAfter > 0 leaves the case stalled after that many stage visits.
	stopAfter := 0
	if r.Float64() < stalledShare {
		stopAfter = 2 + r.IntN(4)
	}
	t := c.submitted
	// enter opens a stage visit at t+d and reports whether the case got there.
	enter := func(d time.Duration, stage dimos.Stage, svcID, emp int64, e genEvent) bool {
		if stopAfter > 0 && len(c.timings) >= stopAfter {
			return false
		}
		at := t.Add(d).Truncate(time.Microsecond)
		if at.After(g.now) {
			return false
		}
		t = at
		if n := len(c.timings); n > 0 {
			c.timings[n-1].left = &at
		}
		if svcID != 0 {
			c.holderSvc = svcID
		}
		if emp != 0 {
			c.holderEmp = emp
		}
		c.timings = append(c.timings, genTiming{stage: stage, service: c.holderSvc, employee: c.holderEmp, entered: at})
		c.stage = stage
		e.at = at
		c.events = append(c.events, e)
		return true
	}
	change := func(d time.Duration, e genEvent) bool {
		at := t.Add(d).Truncate(time.Microsecond)
		if at.After(g.now) {
			return false
		}
		t = at
		e.at = at
		c.events = append(c.events, e)
		return true
	}
	defer func() { c.service, c.assignee = c.holderSvc, c.holderEmp }()

	enter(0, dimos.StageReceived, 0, 0, genEvent{typ: "received", public: true})
	if c.kind == dimos.KindCertificate {
		if !enter(g.secs(1, 3), dimos.StageAwaitingProtocol, 0, 0, genEvent{typ: "awaiting_protocol"}) {
			return
		}
		if !change(g.secs(2, 90), genEvent{typ: "protocol_registered", public: true}) {
			return
		}
		at := t
		c.protocolAt = &at
	}
	if !enter(g.secs(1, 5), dimos.StageRouted, svc.id, svc.director,
		genEvent{typ: "routed", public: true, employee: svc.director, service: svc.id}) {
		return
	}
	transferred := false
	for {
		clerk := svc.director
		if len(svc.clerks) > 0 {
			clerk = svc.clerks[r.IntN(len(svc.clerks))]
		}
		if cat.autoAssign && !transferred {
			if !enter(g.secs(1, 5), dimos.StageAssigned, 0, clerk, genEvent{typ: "assigned_auto", public: true, employee: clerk}) {
				return
			}
		} else if !enter(g.days(0.8), dimos.StageAssigned, 0, clerk,
			genEvent{typ: "assigned", public: true, actor: svc.director, employee: clerk}) {
			return
		}
		if !enter(g.days(0.3), dimos.StageInProgress, 0, 0, genEvent{typ: "in_progress", public: true, actor: clerk}) {
			return
		}
		if !change(g.days(0.05), genEvent{typ: "comment", public: true, actor: clerk, body: g.one(bulkPublicComments)}) {
			return
		}
		if r.Float64() < 0.25 && !change(g.days(0.5), genEvent{typ: "comment", actor: clerk, body: g.one(bulkInternalComments)}) {
			return
		}
		if transferred || r.Float64() >= 0.06 {
			break
		}
		// Not ours: to another service, whose director routes it again.
		other := g.org.services[g.org.serviceIDs[r.IntN(len(g.org.serviceIDs))]]
		if other.id == svc.id {
			break
		}
		svc, transferred = other, true
		if !enter(g.days(0.5), dimos.StageRouted, svc.id, svc.director, genEvent{typ: "transferred", public: true,
			actor: c.holderEmp, employee: svc.director, service: svc.id, body: g.one(bulkTransferReasons)}) {
			return
		}
	}
	if r.Float64() < 0.1 {
		// A question to the citizen: most answer, some never do and the case closes.
		if !enter(g.days(1), dimos.StageWaitingCitizen, 0, 0,
			genEvent{typ: "info_requested", public: true, actor: c.holderEmp, body: g.one(bulkQuestions)}) {
			return
		}
		if r.Float64() < 0.15 {
			if enter(21*24*time.Hour, dimos.StageRejected, 0, 0, genEvent{typ: "closed_no_reply", public: true}) {
				g.finish(c, t, "")
			}
			return
		}
		if !change(g.days(2), genEvent{typ: "citizen_comment", public: true, byCitizen: true, body: g.one(bulkCitizenReplies)}) {
			return
		}
		if !enter(g.secs(1, 3), dimos.StageInProgress, 0, 0, genEvent{typ: "citizen_replied", public: true, byCitizen: true}) {
			return
		}
	}
	if r.Float64() < 0.2 {
		due := t.Add(g.days(cat.days / 2)).Truncate(time.Microsecond)
		if !change(g.days(0.2), genEvent{typ: "due_date_set", public: true, actor: c.holderEmp}) {
			return
		}
		c.due = &due
	}
	work := g.days(max(cat.days, 1) * 0.6)
	if r.Float64() < 0.05 {
		reason := g.one(bulkRejections)
		if enter(work, dimos.StageRejected, 0, 0, genEvent{typ: "rejected", public: true, actor: c.holderEmp, body: reason}) {
			g.finish(c, t, reason)
		}
		return
	}
	answer := g.one(bulkAnswers)
	if !enter(work, dimos.StageCompleted, 0, 0, genEvent{typ: "completed", public: true, actor: c.holderEmp}) {
		return
	}
	g.finish(c, t, answer)
	if r.Float64() < 0.3 {
		stars := int16(1 + g.pick([]float64{0.08, 0.07, 0.15, 0.3, 0.4}))
		if change(g.days(2), genEvent{typ: "rated", public: true, byCitizen: true}) {
			c.rating = &stars
			if stars <= 2 {
				c.ratingRemark = "Άργησε πολύ."
			}
		}
	}
}

func (g *generator) finish(c *genCase, at time.Time, answer string) {
	c.completed = &at
	c.answer = answer
}

// days draws an exponential duration with the given mean in days.
func (g *generator) days(mean float64) time.Duration {
	return time.Duration(g.r.ExpFloat64() * mean * float64(24*time.Hour))
}

// secs draws a whole number of seconds between lo and hi: the workflow's own steps.
func (g *generator) secs(lo, hi int) time.Duration {
	return time.Duration(lo+g.r.IntN(hi-lo+1)) * time.Second
}
