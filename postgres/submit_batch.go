package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Submissions are written in groups: while one group's transaction runs, the
// submissions that arrive meanwhile queue in the process, and the first of them then
// writes them all in one transaction (one commit, one round trip). Sent one by one
// they would only queue inside PostgreSQL on the year's number row, where 32 waiting
// at once cost it about three times the processor time a case (BENCHMARKS.md,
// eleventh session).
//
// A group holds the submissions of one year, whatever their category, channel or
// kind: they all take the year's number row, so they could not have been written
// side by side anyway. Its transaction writes the cases first, then each report and
// inbox row they count in once, with the number of its cases, in the order every
// writer takes those rows (daily rollups, weekly rollups, report_open, inbox_counts,
// each by key; see rollupWrites). So a group can deadlock with nothing that a single
// submission could not, however many rows it takes.

// maxSubmitGroup bounds the cases one transaction writes.
const maxSubmitGroup = 64

// submission is a case waiting to be written with others.
type submission struct {
	args []any // submitCaseSQL's
	// The rows it counts in: received under nobody, open, and unclaimed in the inbox.
	received rollupKey
	open     openKey
	inbox    inboxKey

	id     int64
	number string
	err    error
	taken  bool // in a group being written: it can no longer be withdrawn
	leads  bool // told to write the next group
	// done is closed once the case is written or has failed; lead when it is to
	// write the next group (itself and those queued behind it).
	done, lead chan struct{}
}

// submitGroups are the submissions queued by year, and the years whose group is
// being written; the first submission of a year with none being written writes its
// group.
type submitGroups struct {
	mu      sync.Mutex
	queued  map[int][]*submission
	writing map[int]bool
	// gate is held for reading while a group is written; tests hold it to let
	// submissions queue up.
	gate sync.RWMutex
}

func newSubmitGroups() *submitGroups {
	return &submitGroups{queued: map[int][]*submission{}, writing: map[int]bool{}}
}

// errAlone tells the submissions of a group whose transaction failed before its
// commit to be written one by one, so that a bad case fails alone.
var errAlone = errors.New("postgres: submission group failed")

// submitGroupTimeout bounds a group's transaction, which no submitter's context ends.
const submitGroupTimeout = time.Minute

// submit writes s with the other submissions of its year and sets its id and number.
// Until a group takes it, a submission whose ctx ends is withdrawn and nothing of it
// is stored.
func (g *submitGroups) submit(ctx context.Context, db *DB, year int, s *submission) error {
	s.done, s.lead = make(chan struct{}), make(chan struct{})
	g.mu.Lock()
	g.queued[year] = append(g.queued[year], s)
	first := !g.writing[year]
	g.writing[year] = true
	g.mu.Unlock()
	if first {
		g.write(db, year)
	} else {
		select {
		case <-s.done:
		case <-s.lead:
			g.write(db, year)
		case <-ctx.Done():
			withdrawn, leads := g.withdraw(year, s)
			if withdrawn {
				if leads { // the others behind it still need a writer
					g.write(db, year)
				}
				return ctx.Err()
			}
			<-s.done // taken: its group is being written
		}
	}
	if errors.Is(s.err, errAlone) {
		return db.writeAlone(ctx, s)
	}
	return s.err
}

// withdraw takes a submission out of its queue, unless a group has taken it, and
// tells whether it had been told to write the next group.
func (g *submitGroups) withdraw(year int, s *submission) (withdrawn, leads bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s.taken {
		return false, false
	}
	q := g.queued[year]
	for i, o := range q {
		if o == s {
			g.queued[year] = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	return true, s.leads
}

// write writes the first maxSubmitGroup submissions queued for year as one group,
// then tells the first one left, if any, to write the next.
func (g *submitGroups) write(db *DB, year int) {
	g.mu.Lock()
	q := g.queued[year]
	n := min(len(q), maxSubmitGroup)
	group := q[:n:n]
	g.queued[year] = q[n:]
	for _, s := range group {
		s.taken = true
	}
	g.mu.Unlock()

	if len(group) > 0 {
		g.gate.RLock()
		ctx, cancel := context.WithTimeout(context.Background(), submitGroupTimeout)
		err := db.writeGroup(ctx, group)
		cancel()
		g.gate.RUnlock()
		for _, s := range group {
			s.err = err
			close(s.done)
		}
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	if rest := g.queued[year]; len(rest) > 0 {
		rest[0].leads = true
		close(rest[0].lead)
		return
	}
	delete(g.queued, year)
	delete(g.writing, year)
}

// writeAlone writes one submission in a transaction of its own.
func (db *DB) writeAlone(ctx context.Context, s *submission) error {
	group := []*submission{s}
	err := db.writeGroup(ctx, group)
	if errors.Is(err, errAlone) {
		return errors.Unwrap(err) // the statement's error, or the connection's
	}
	return err
}

// writeGroup writes a group in one transaction, its statements sent together, and
// sets each case's id and number. An error before the commit (a statement refused,
// the connection lost) is an aloneError (errors.Is errAlone): nothing of the group was kept,
// and its cases may be written again one by one. A failed commit may yet have been
// made, so its error is returned as it is: writing the cases again could store them
// twice.
func (db *DB) writeGroup(ctx context.Context, group []*submission) error {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return &aloneError{err}
	}
	defer func() { _ = tx.Rollback(ctx) }() // after the commit, nothing to do
	var rows hotRows
	for _, s := range group {
		rows.b.Queue(submitCaseSQL, s.args...)
	}
	if err := queueGroupCounts(ctx, &rows, group); err != nil {
		return &aloneError{err}
	}
	res := tx.SendBatch(ctx, &rows.b)
	for _, s := range group {
		if err := res.QueryRow().Scan(&s.id, &s.number); err != nil {
			res.Close()
			return &aloneError{err}
		}
	}
	if err := res.Close(); err != nil {
		return &aloneError{fmt.Errorf("report and inbox counts: %w", err)}
	}
	return tx.Commit(ctx)
}

// aloneError is an error of a group before its commit: errors.Is(err, errAlone), and
// errors.Unwrap gives the error itself.
type aloneError struct{ err error }

func (e *aloneError) Error() string        { return errAlone.Error() + ": " + e.err.Error() }
func (e *aloneError) Unwrap() error        { return e.err }
func (e *aloneError) Is(target error) bool { return target == errAlone }

// queueGroupCounts adds the group's cases to the rows they count in: each row once,
// with the number of the group's cases in it, in the order every writer takes them.
func queueGroupCounts(ctx context.Context, tx execer, group []*submission) error {
	var received, weekly []rollupKey
	var open []openKey
	var inbox []inboxKey
	for _, s := range group {
		received = append(received, s.received)
		weekly = append(weekly, s.received.weekly())
		open = append(open, s.open)
		inbox = append(inbox, s.inbox)
	}
	for _, w := range tally(received, rollupKey.compare) {
		if err := bumpCount(ctx, tx, "report_rollups", w.k, w.delta); err != nil {
			return err
		}
	}
	for _, w := range tally(weekly, rollupKey.compare) {
		if err := bumpCount(ctx, tx, "report_rollups_weekly", w.k, w.delta); err != nil {
			return err
		}
	}
	for _, w := range tally(open, openKey.compare) {
		if err := bumpOpen(ctx, tx, w.k, w.delta); err != nil {
			return err
		}
	}
	for _, w := range tally(inbox, inboxKey.compare) {
		if err := bumpInbox(ctx, tx, w.k, w.delta); err != nil {
			return err
		}
	}
	return nil
}

// tally counts the keys, each once, in key order.
func tally[K any](keys []K, compare func(a, b K) int) []countMove[K] {
	slices.SortFunc(keys, compare)
	var out []countMove[K]
	for _, k := range keys {
		if n := len(out); n > 0 && compare(out[n-1].k, k) == 0 {
			out[n-1].delta++
			continue
		}
		out = append(out, countMove[K]{k, 1})
	}
	return out
}
