package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Submissions are written in groups: while one group's transaction runs, the
// submissions that arrive meanwhile queue in the process, and the first of them then
// writes them all in one transaction (one commit, one round trip). Sent one by one
// they would only queue inside PostgreSQL on the year's number row, where 32 waiting
// at once cost it about three times the processor time a case (BENCHMARKS.md,
// eleventh session).
//
// A group holds only submissions that count in the same rows besides their case,
// those of one key (SubmitCase): its transaction then takes the rows a single submission takes, in the
// same order, however many cases it writes, so it can deadlock with nothing that a
// single submission could not. Groups of different rows run side by side, and queue
// on the number row as single submissions do.

// maxSubmitGroup bounds the cases one transaction writes.
const maxSubmitGroup = 64

// submission is a case waiting to be written with others.
type submission struct {
	args   []any
	id     int64
	number string
	err    error
	taken  bool // in a group being written: it can no longer be withdrawn
	leads  bool // told to write the next group
	// done is closed once the case is written or has failed; lead when it is to
	// write the next group (itself and those queued behind it).
	done, lead chan struct{}
}

// submitGroups are the submissions queued by key, and the keys whose group is being
// written; the first submission of a key with none being written writes its group.
type submitGroups struct {
	mu      sync.Mutex
	queued  map[string][]*submission
	writing map[string]bool
	// gate is held for reading while a group is written; tests hold it to let
	// submissions queue up.
	gate sync.RWMutex
}

func newSubmitGroups() *submitGroups {
	return &submitGroups{queued: map[string][]*submission{}, writing: map[string]bool{}}
}

// errAlone tells the submissions of a group whose transaction failed before its
// commit to be written one by one, so that a bad case fails alone.
var errAlone = errors.New("postgres: submission group failed")

// submitGroupTimeout bounds a group's transaction, which no submitter's context ends.
const submitGroupTimeout = time.Minute

// submit writes a case's submitCaseSQL (args) with others of the same key and returns
// its id and number. Until a group takes it, a submission whose ctx ends is withdrawn
// and nothing of it is stored.
func (g *submitGroups) submit(ctx context.Context, db *DB, key string, args []any) (int64, string, error) {
	s := &submission{args: args, done: make(chan struct{}), lead: make(chan struct{})}
	g.mu.Lock()
	g.queued[key] = append(g.queued[key], s)
	first := !g.writing[key]
	g.writing[key] = true
	g.mu.Unlock()
	if first {
		g.write(db, key)
	} else {
		select {
		case <-s.done:
		case <-s.lead:
			g.write(db, key)
		case <-ctx.Done():
			withdrawn, leads := g.withdraw(key, s)
			if withdrawn {
				if leads { // the others behind it still need a writer
					g.write(db, key)
				}
				return 0, "", ctx.Err()
			}
			<-s.done // taken: its group is being written
		}
	}
	if errors.Is(s.err, errAlone) {
		return db.submitOne(ctx, args)
	}
	return s.id, s.number, s.err
}

// withdraw takes a submission out of its queue, unless a group has taken it, and
// tells whether it had been told to write the next group.
func (g *submitGroups) withdraw(key string, s *submission) (withdrawn, leads bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s.taken {
		return false, false
	}
	q := g.queued[key]
	for i, o := range q {
		if o == s {
			g.queued[key] = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	return true, s.leads
}

// write writes the first maxSubmitGroup submissions queued under key as one group,
// then tells the first one left, if any, to write the next.
func (g *submitGroups) write(db *DB, key string) {
	g.mu.Lock()
	q := g.queued[key]
	n := min(len(q), maxSubmitGroup)
	group := q[:n:n]
	g.queued[key] = q[n:]
	for _, s := range group {
		s.taken = true
	}
	g.mu.Unlock()

	if len(group) > 0 {
		g.gate.RLock()
		err := db.writeGroup(group)
		g.gate.RUnlock()
		for _, s := range group {
			s.err = err
			close(s.done)
		}
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	if rest := g.queued[key]; len(rest) > 0 {
		rest[0].leads = true
		close(rest[0].lead)
		return
	}
	delete(g.queued, key)
	delete(g.writing, key)
}

// writeGroup writes a group in one transaction, its statements sent together. An
// error before the commit (a statement refused, the connection lost) wraps errAlone:
// nothing of the group was kept, and its cases may be written again one by one. A
// failed commit may yet have been made, so its error is returned as it is: writing
// the cases again could store them twice.
func (db *DB) writeGroup(group []*submission) error {
	ctx, cancel := context.WithTimeout(context.Background(), submitGroupTimeout)
	defer cancel()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", errAlone, err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // after the commit, nothing to do
	b := &pgx.Batch{}
	for _, s := range group {
		b.Queue(submitCaseSQL, s.args...)
	}
	res := tx.SendBatch(ctx, b)
	for _, s := range group {
		if err := res.QueryRow().Scan(&s.id, &s.number); err != nil {
			res.Close()
			return fmt.Errorf("%w: %w", errAlone, err)
		}
	}
	if err := res.Close(); err != nil {
		return fmt.Errorf("%w: %w", errAlone, err)
	}
	return tx.Commit(ctx)
}

// submitOne writes one submission alone.
func (db *DB) submitOne(ctx context.Context, args []any) (id int64, number string, err error) {
	err = db.Pool.QueryRow(ctx, submitCaseSQL, args...).Scan(&id, &number)
	return id, number, err
}
