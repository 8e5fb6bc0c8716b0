package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"dimos"
	"dimos/postgres"
	"dimos/postgres/pgtest"
	"dimos/reports"
	"dimos/workdays"
)

// The fixed dataset of the delay-report tests: a municipality of two services and
// six cases in the week of Greek Independence Day, Wednesday 25 March 2026, a
// national holiday. Every figure the tests expect is worked out below by hand; a
// working day counts 24h of Athens wall clock on a working day (workdays.WorkingDuration),
// so Wednesday 25 counts nothing. All times are Athens (EET, UTC+2) in March 2026:
// Mon 23, Tue 24, Wed 25 (holiday), Thu 26, Fri 27; the report runs on Mon 30 at 12:00.
//
// Services TECH (director dimitra, clerks maria, giorgos) and CLEAN (clerk nikos).
// Categories roads (TECH; completion target 2 wd, statutory 50) and bins (CLEAN;
// target 1, statutory 3).
//
//	case 1 roads portal complaint, submitted Tue 24 09:00
//	  Tue 24 10:00 routed to TECH/dimitra   received visit 1h
//	  Thu 26 10:00 assigned to maria         routed visit Tue 10:00→Thu 10:00:
//	                                         Tue 14h + Wed 0 (holiday) + Thu 10h = 24h = 1.0 wd; 48h
//	  Thu 26 16:00 completed                 assigned visit 6h = 0.25 wd
//	  completion Tue 09:00→Thu 16:00 = 15h + 0 + 16h = 31h = 1.291667 wd; 55h
//	case 2 roads ivr request, submitted Mon 23 08:00
//	  Mon 23 08:30 routed TECH/dimitra       received 0.5h
//	  Mon 23 12:00 assigned giorgos          routed 3.5h
//	  Mon 23 14:00 in progress               assigned 2h
//	  Tue 24 14:00 waiting for the citizen   in progress 24h = 1.0 wd
//	  Fri 27 14:00 in progress               waiting Tue 10h + Wed 0 + Thu 24h + Fri 14h = 48h = 2.0 wd; 72h
//	  Fri 27 18:00 completed                 in progress 4h
//	  completion Mon 08:00→Fri 18:00 = 16 + 24 + 0 + 24 + 18 = 82h = 3.416667 wd; 106h;
//	  the clock (less the 48h waiting) is 34h = 1.416667 wd ≤ 2: within target
//	case 3 bins portal complaint, submitted Mon 23 09:00 — the ping-pong
//	  Mon 23 10:00 routed CLEAN/nikos        received 1h
//	  Mon 23 12:00 routed TECH/dimitra       routed 2h (at CLEAN)
//	  Tue 24 12:00 routed CLEAN/nikos        routed 24h = 1.0 wd (at TECH)
//	  open; clock at Mon 30 12:00 = Mon 15h + Tue 24 + Wed 0 + Thu 24 + Fri 24 + Mon 12
//	  = 99h = 4.125 wd > 3: overdue now
//	case 4 bins desk request, submitted Wed 25 10:00 (on the holiday)
//	  Thu 26 09:00 routed CLEAN/nikos        received: Wed 0 + Thu 9h = 0.375 wd; 23h
//	  Fri 27 10:00 rejected                  routed Thu 15h + Fri 10h = 25h = 1.041667 wd
//	  completion Wed 10:00→Fri 10:00 = 0 + 24 + 10 = 34h = 1.416667 wd; 48h:
//	  over the target of 1, within the statutory 3
//	case 5 roads portal suggestion, submitted Fri 27 11:00, never routed: open,
//	  clock 13h + 12h = 25h, not overdue
//	case 6 roads portal request, submitted Fri 20 10:00, before the period
//	  Fri 20 11:00 routed TECH/dimitra       received 1h (ended Fri 20: outside)
//	  Tue 24 10:00 completed by dimitra      routed Fri 13h + Mon 24 + Tue 10 = 47h = 1.958333 wd; 95h
//	  completion 14 + 24 + 10 = 48h = 2.0 wd; 96h: within target (2 ≤ 2)
//
// Histogram buckets are a tenth of a working day (2.4h of working time) and one hour;
// medians and p90 are the nearest rank, ceil(q·n)-th value, read as the bucket's
// lower edge: 31h → 31/2.4 = 12.9 → 1.2 wd.
type fixture struct {
	db                   *postgres.DB
	tech, clean          int64
	dimitra, maria       int64
	giorgos, nikos       int64
	numbers              [7]string // numbers[i] is case i
	now, periodFrom, end time.Time
}

func athensAt(day, hour, minute int) time.Time {
	loc, _ := time.LoadLocation("Europe/Athens")
	return time.Date(2026, time.March, day, hour, minute, 0, 0, loc)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	fx := &fixture{db: pgtest.New(t, false), now: athensAt(30, 12, 0), periodFrom: athensAt(23, 0, 0), end: athensAt(30, 0, 0)}
	fx.db.Now = func() time.Time { return fx.now }
	q := func(sql string, args ...any) int64 {
		var id int64
		if err := fx.db.Pool.QueryRow(ctx, sql, args...).Scan(&id); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return id
	}
	fx.tech = q(`INSERT INTO services (code, name_el, name_en) VALUES ('TECH', 'Τεχνικές Υπηρεσίες', 'Technical Services') RETURNING id`)
	fx.clean = q(`INSERT INTO services (code, name_el, name_en) VALUES ('CLEAN', 'Καθαριότητα', 'Cleaning') RETURNING id`)
	emp := func(username, name string, role dimos.Role, svc int64) int64 {
		return q(`INSERT INTO employees (username, full_name, email, service_id, role, password_hash)
			VALUES ($1, $2, $1 || '@dimos.example', $3, $4, 'x') RETURNING id`, username, name, svc, role)
	}
	fx.dimitra = emp("dimitra", "Δήμητρα Κλάδου", dimos.RoleDirector, fx.tech)
	fx.maria = emp("maria", "Μαρία Παπαδοπούλου", dimos.RoleClerk, fx.tech)
	fx.giorgos = emp("giorgos", "Γιώργος Μανουσάκης", dimos.RoleClerk, fx.tech)
	fx.nikos = emp("nikos", "Νίκος Γεωργίου", dimos.RoleClerk, fx.clean)
	for _, c := range []struct {
		code, el, en      string
		svc               int64
		target, statutory float64
		sort              int
	}{{"roads", "Οδοποιία", "Roads", fx.tech, 2, 50, 1}, {"bins", "Κάδοι", "Bins", fx.clean, 1, 3, 2}} {
		if _, err := fx.db.Pool.Exec(ctx, `INSERT INTO categories (code, name_el, name_en, kinds, service_id, sort,
				target_completion_days, statutory_days) VALUES ($1, $2, $3, '{request,complaint,suggestion}', $4, $5, $6, $7)`,
			c.code, c.el, c.en, c.svc, c.sort, c.target, c.statutory); err != nil {
			t.Fatal(err)
		}
	}

	type move struct {
		day, hour, min int
		stage          dimos.Stage
		svc, emp       int64
	}
	file := func(i int, category string, ch dimos.Channel, kind dimos.Kind, submitted time.Time, moves ...move) {
		c := newCase(category)
		c.Channel, c.Kind, c.SubmittedAt = ch, kind, submitted
		c.Subject = fmt.Sprintf("Υπόθεση %d", i)
		if err := fx.db.SubmitCase(ctx, c); err != nil {
			t.Fatal(err)
		}
		fx.numbers[i] = c.Number
		for j, m := range moves {
			err := fx.db.RecordTransition(ctx, dimos.Transition{CaseID: c.ID, Seq: j + 2, Stage: m.stage,
				At: athensAt(m.day, m.hour, m.min), ServiceID: m.svc, EmployeeID: m.emp, Event: dimos.CaseEvent{Type: string(m.stage)}})
			if err != nil {
				t.Fatalf("case %d move %d: %v", i, j, err)
			}
		}
	}
	file(6, "roads", dimos.ChannelPortal, dimos.KindRequest, athensAt(20, 10, 0),
		move{20, 11, 0, dimos.StageRouted, fx.tech, fx.dimitra},
		move{24, 10, 0, dimos.StageCompleted, 0, 0})
	file(1, "roads", dimos.ChannelPortal, dimos.KindComplaint, athensAt(24, 9, 0),
		move{24, 10, 0, dimos.StageRouted, fx.tech, fx.dimitra},
		move{26, 10, 0, dimos.StageAssigned, 0, fx.maria},
		move{26, 16, 0, dimos.StageCompleted, 0, 0})
	file(2, "roads", dimos.ChannelIVR, dimos.KindRequest, athensAt(23, 8, 0),
		move{23, 8, 30, dimos.StageRouted, fx.tech, fx.dimitra},
		move{23, 12, 0, dimos.StageAssigned, 0, fx.giorgos},
		move{23, 14, 0, dimos.StageInProgress, 0, 0},
		move{24, 14, 0, dimos.StageWaitingCitizen, 0, 0},
		move{27, 14, 0, dimos.StageInProgress, 0, 0},
		move{27, 18, 0, dimos.StageCompleted, 0, 0})
	file(3, "bins", dimos.ChannelPortal, dimos.KindComplaint, athensAt(23, 9, 0),
		move{23, 10, 0, dimos.StageRouted, fx.clean, fx.nikos},
		move{23, 12, 0, dimos.StageRouted, fx.tech, fx.dimitra},
		move{24, 12, 0, dimos.StageRouted, fx.clean, fx.nikos})
	file(4, "bins", dimos.ChannelDesk, dimos.KindRequest, athensAt(25, 10, 0),
		move{26, 9, 0, dimos.StageRouted, fx.clean, fx.nikos},
		move{27, 10, 0, dimos.StageRejected, 0, 0})
	file(5, "roads", dimos.ChannelPortal, dimos.KindSuggestion, athensAt(27, 11, 0))
	return fx
}

// sp is a spread as the tests write it: n, then median, p90 and max in working
// days, then the same in hours.
func sp(n int, med, p90, mx, medH, p90H, maxH float64) reports.Spread {
	return reports.Spread{N: n, Median: reports.Duration{WorkingDays: med, Hours: medH},
		P90: reports.Duration{WorkingDays: p90, Hours: p90H}, Max: reports.Duration{WorkingDays: mx, Hours: maxH}}
}

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) < 1e-6
}

func sameSpread(a, b reports.Spread) bool {
	return a.N == b.N && near(a.Median.WorkingDays, b.Median.WorkingDays) && near(a.Median.Hours, b.Median.Hours) &&
		near(a.P90.WorkingDays, b.P90.WorkingDays) && near(a.P90.Hours, b.P90.Hours) &&
		near(a.Max.WorkingDays, b.Max.WorkingDays) && near(a.Max.Hours, b.Max.Hours)
}

// wantRow is a row of a table as worked out by hand.
type wantRow struct {
	key                                   string
	received, completed, backlog, overdue int
	completion                            reports.Spread
	target, statutory                     float64
	stages                                map[dimos.Stage]reports.Spread
}

func checkRow(t *testing.T, where string, got reports.Row, w wantRow) {
	t.Helper()
	if got.Key != w.key || got.Received != w.received || got.Completed != w.completed ||
		got.Backlog != w.backlog || got.OverdueNow != w.overdue {
		t.Errorf("%s: key %q received %d completed %d backlog %d overdue %d; want %q %d %d %d %d", where,
			got.Key, got.Received, got.Completed, got.Backlog, got.OverdueNow, w.key, w.received, w.completed, w.backlog, w.overdue)
	}
	if !sameSpread(got.Completion, w.completion) {
		t.Errorf("%s: completion %+v, want %+v", where, got.Completion, w.completion)
	}
	if !near(got.WithinTarget, w.target) || !near(got.WithinStatutory, w.statutory) {
		t.Errorf("%s: within target %v statutory %v, want %v %v", where, got.WithinTarget, got.WithinStatutory, w.target, w.statutory)
	}
	if len(got.Stages) != len(w.stages) {
		t.Errorf("%s: %d stages %+v, want %d", where, len(got.Stages), got.Stages, len(w.stages))
	}
	for _, s := range got.Stages {
		if want, ok := w.stages[s.Stage]; !ok || !sameSpread(s.Spread, want) {
			t.Errorf("%s: stage %s %+v, want %+v", where, s.Stage, s.Spread, want)
		}
	}
}

var noShare = math.NaN()

func TestReportFixedDataset(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	r, err := fx.db.Report(ctx, reports.Filter{From: fx.periodFrom, To: fx.end})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Tables) != 3 {
		t.Fatalf("%d tables", len(r.Tables))
	}

	// Stage spreads shared by several rows.
	var (
		// received visits ended in the period: cases 1 (1h: bucket 0, 1h), 2 (0.5h: 0, 0h),
		// 3 (1h: 0, 1h), 4 (9h = 0.375: bucket 3, 23h). Ranks: median 2nd, p90 ceil(3.6) = 4th.
		received4 = sp(4, 0, 0.3, 0.375, 1, 23, 23)
		// routed at TECH: 1 (24h: b10, 48h), 2 (3.5h: b1, 3h), 3 (24h: b10, 24h), 6 (47h: b19, 95h)
		// sorted 1,10,10,19 → median (2nd) 1.0, p90 (4th) 1.9, max 47/24; hours 3,24,48,95.
		routedTech = sp(4, 1.0, 1.9, 47.0/24, 24, 95, 95)
		// routed at CLEAN: 3 (2h: b0, 2h), 4 (25h: b10, 25h).
		routedClean = sp(2, 0, 1.0, 25.0/24, 2, 25, 25)
		// assigned: 1 (6h: b2, 6h), 2 (2h: b0, 2h).
		assigned = sp(2, 0, 0.2, 0.25, 2, 6, 6)
		// in progress: case 2, 24h (b10, 24h) and 4h (b1, 4h).
		inProgress = sp(2, 0.1, 1.0, 1.0, 4, 24, 24)
		// waiting for the citizen: case 2, 48h = 2.0 wd over 72h.
		waiting = sp(1, 2.0, 2.0, 2.0, 72, 72, 72)
		// completions: 1 (31h: b12, 55h), 2 (82h: b34, 106h), 4 (34h: b14, 48h), 6 (48h: b20, 96h)
		c1 = sp(1, 1.2, 1.2, 31.0/24, 55, 55, 55)
		c2 = sp(1, 3.4, 3.4, 82.0/24, 106, 106, 106)
		c4 = sp(1, 1.4, 1.4, 34.0/24, 48, 48, 48)
		c6 = sp(1, 2.0, 2.0, 2.0, 96, 96, 96)
		// TECH closed 1, 2, 6: buckets 12, 20, 34 → median 2.0, p90 (3rd) 3.4; hours 55, 96, 106.
		cTech = sp(3, 2.0, 3.4, 82.0/24, 96, 106, 106)
	)

	t.Run("ByService", func(t *testing.T) {
		tb := r.Tables[0]
		if tb.Dimension != reports.ByService || len(tb.Rows) != 3 {
			t.Fatalf("service table %+v", tb)
		}
		// CLEAN holds cases 3 and 4 (received 2); closed 4 (rejected, over its target);
		// 3 is open and overdue.
		checkRow(t, "CLEAN", tb.Rows[0], wantRow{key: "CLEAN", received: 2, completed: 1, backlog: 1, overdue: 1,
			completion: c4, target: 0, statutory: 1, stages: map[dimos.Stage]reports.Spread{dimos.StageRouted: routedClean}})
		// TECH holds 1 and 2; closed 1, 2 and 6 (6 was received before the period), all
		// within target: 3/3.
		checkRow(t, "TECH", tb.Rows[1], wantRow{key: "TECH", received: 2, completed: 3, completion: cTech, target: 1, statutory: 1,
			stages: map[dimos.Stage]reports.Spread{dimos.StageRouted: routedTech, dimos.StageAssigned: assigned,
				dimos.StageInProgress: inProgress, dimos.StageWaitingCitizen: waiting}})
		// No service: case 5, never routed; and every received visit.
		checkRow(t, "none", tb.Rows[2], wantRow{key: "", received: 1, backlog: 1, completion: reports.Spread{},
			target: noShare, statutory: noShare, stages: map[dimos.Stage]reports.Spread{dimos.StageReceived: received4}})
		// Total: 5 received (1–5), 4 closed (1, 2, 4, 6): buckets 12, 14, 20, 34 → median
		// (2nd) 1.4, p90 (4th) 3.4; hours 48, 55, 96, 106. Within target 1, 2, 6 = 3/4.
		// Routed, all six visits: buckets 0,1,10,10,10,19 → median (3rd) 1.0, p90 (6th) 1.9;
		// hours 2,3,24,25,48,95 → 24, 95.
		checkRow(t, "total", tb.Total, wantRow{received: 5, completed: 4, backlog: 2, overdue: 1,
			completion: sp(4, 1.4, 3.4, 82.0/24, 55, 106, 106), target: 0.75, statutory: 1,
			stages: map[dimos.Stage]reports.Spread{dimos.StageReceived: received4,
				dimos.StageRouted: sp(6, 1.0, 1.9, 47.0/24, 24, 95, 95), dimos.StageAssigned: assigned,
				dimos.StageInProgress: inProgress, dimos.StageWaitingCitizen: waiting}})
	})

	t.Run("ByEmployee", func(t *testing.T) {
		tb := r.Tables[1]
		if tb.Dimension != reports.ByEmployee || len(tb.Rows) != 5 {
			t.Fatalf("employee table has %d rows: %+v", len(tb.Rows), tb.Rows)
		}
		// dimitra holds nothing received in the period (3 went back to nikos), closed 6,
		// and every routed visit at TECH was hers.
		checkRow(t, "dimitra", tb.Rows[0], wantRow{key: "dimitra", completed: 1, completion: c6, target: 1, statutory: 1,
			stages: map[dimos.Stage]reports.Spread{dimos.StageRouted: routedTech}})
		// giorgos: case 2; assigned 2h alone (b0, 2h; max 2/24).
		checkRow(t, "giorgos", tb.Rows[1], wantRow{key: "giorgos", received: 1, completed: 1, completion: c2, target: 1, statutory: 1,
			stages: map[dimos.Stage]reports.Spread{dimos.StageAssigned: sp(1, 0, 0, 2.0/24, 2, 2, 2),
				dimos.StageInProgress: inProgress, dimos.StageWaitingCitizen: waiting}})
		// maria: case 1; assigned 6h (b2).
		checkRow(t, "maria", tb.Rows[2], wantRow{key: "maria", received: 1, completed: 1, completion: c1, target: 1, statutory: 1,
			stages: map[dimos.Stage]reports.Spread{dimos.StageAssigned: sp(1, 0.2, 0.2, 0.25, 6, 6, 6)}})
		// nikos: cases 3 and 4; closed 4.
		checkRow(t, "nikos", tb.Rows[3], wantRow{key: "nikos", received: 2, completed: 1, backlog: 1, overdue: 1, completion: c4,
			target: 0, statutory: 1, stages: map[dimos.Stage]reports.Spread{dimos.StageRouted: routedClean}})
		checkRow(t, "nobody", tb.Rows[4], wantRow{key: "", received: 1, backlog: 1, target: noShare, statutory: noShare,
			stages: map[dimos.Stage]reports.Spread{dimos.StageReceived: received4}})
		if tb.Rows[0].NameEL != "Δήμητρα Κλάδου" {
			t.Errorf("employee name %q", tb.Rows[0].NameEL)
		}
	})

	t.Run("ByCategory", func(t *testing.T) {
		tb := r.Tables[2]
		if tb.Dimension != reports.ByCategory || len(tb.Rows) != 2 {
			t.Fatalf("category table %+v", tb)
		}
		// roads: cases 1, 2, 5 received; 1, 2, 6 closed (as TECH). Received visits of 1
		// (b0, 1h) and 2 (b0, 0h): median 1st → 0.0 and 0h, p90 2nd → 0.0 and 1h.
		// Routed 1 (b10, 48h), 2 (b1, 3h), 6 (b19, 95h): median 2nd → 1.0 and 48h; p90 3rd.
		checkRow(t, "roads", tb.Rows[0], wantRow{key: "roads", received: 3, completed: 3, backlog: 1, completion: cTech,
			target: 1, statutory: 1, stages: map[dimos.Stage]reports.Spread{
				dimos.StageReceived: sp(2, 0, 0, 1.0/24, 0, 1, 1), dimos.StageRouted: sp(3, 1.0, 1.9, 47.0/24, 48, 95, 95),
				dimos.StageAssigned: assigned, dimos.StageInProgress: inProgress, dimos.StageWaitingCitizen: waiting}})
		// bins: cases 3, 4. Received 3 (b0, 1h), 4 (b3, 23h); routed 3 at CLEAN (b0, 2h),
		// 3 at TECH (b10, 24h), 4 (b10, 25h): median 2nd → 1.0 and 24h, p90 3rd → 1.0 and 25h.
		checkRow(t, "bins", tb.Rows[1], wantRow{key: "bins", received: 2, completed: 1, backlog: 1, overdue: 1, completion: c4,
			target: 0, statutory: 1, stages: map[dimos.Stage]reports.Spread{
				dimos.StageReceived: sp(2, 0, 0.3, 0.375, 1, 23, 23), dimos.StageRouted: sp(3, 1.0, 1.0, 25.0/24, 24, 25, 25)}})
	})

	t.Run("Bottlenecks", func(t *testing.T) {
		// Ranked by median, then p90, then visits, services before employees, then key:
		// waiting 2.0 (TECH, giorgos), routed 1.0/1.9 (TECH, dimitra), maria's assigned
		// 0.2, in progress 0.1/1.0 (TECH, giorgos), then the medians of 0.0 by p90:
		// routed at CLEAN and nikos's 1.0, TECH's assigned 0.2. The tenth is the last.
		want := []string{"waiting_citizen service TECH", "waiting_citizen employee giorgos",
			"routed service TECH", "routed employee dimitra", "assigned employee maria",
			"in_progress service TECH", "in_progress employee giorgos",
			"routed service CLEAN", "routed employee nikos", "assigned service TECH"}
		var got []string
		for _, b := range r.Bottlenecks {
			got = append(got, fmt.Sprintf("%s %s %s", b.Stage, b.Dimension, b.Key))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("bottlenecks\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if !sameSpread(r.Bottlenecks[2].Wait, routedTech) {
			t.Errorf("routed at TECH waits %+v", r.Bottlenecks[2].Wait)
		}
	})

	t.Run("PingPong", func(t *testing.T) {
		// Case 3 went CLEAN → TECH → CLEAN and nikos → dimitra → nikos: two hand-overs,
		// one back. Case 1 went dimitra → maria: no return, so not listed.
		if len(r.PingPongs) != 2 {
			t.Fatalf("ping-pong %+v", r.PingPongs)
		}
		for i, want := range []struct {
			dim     reports.Dimension
			holders string
		}{{reports.ByService, "CLEAN TECH CLEAN"}, {reports.ByEmployee, "nikos dimitra nikos"}} {
			p := r.PingPongs[i]
			if p.Number != fx.numbers[3] || p.Dimension != want.dim || p.Moves != 2 || p.Returns != 1 ||
				strings.Join(p.Holders, " ") != want.holders || p.Subject != "Υπόθεση 3" {
				t.Errorf("ping-pong %d: %+v", i, p)
			}
		}
	})

	t.Run("Trend", func(t *testing.T) {
		// One week, Monday 23 March: the municipality received 5 and closed 4 (median
		// 1.4); TECH 2 and 3 (2.0); CLEAN 2 and 1 (1.4); unrouted ("-") 1 and 0.
		want := []string{"2026-03-23  5 4 1.4", "2026-03-23 - 1 0 0", "2026-03-23 CLEAN 2 1 1.4", "2026-03-23 TECH 2 3 2"}
		var got []string
		for _, w := range r.Trend {
			got = append(got, fmt.Sprintf("%s %s %d %d %g", w.Start.Format("2006-01-02"), w.ServiceKey, w.Received, w.Completed,
				math.Round(w.MedianCompletion.WorkingDays*10)/10))
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("trend %q, want %q", got, want)
		}
	})

	t.Run("Filters", func(t *testing.T) {
		// CLEAN alone: its row is the whole report.
		r, err := fx.db.Report(ctx, reports.Filter{From: fx.periodFrom, To: fx.end, ServiceID: fx.clean})
		if err != nil {
			t.Fatal(err)
		}
		checkRow(t, "CLEAN total", r.Tables[0].Total, wantRow{received: 2, completed: 1, backlog: 1, overdue: 1, completion: c4,
			target: 0, statutory: 1, stages: map[dimos.Stage]reports.Spread{dimos.StageRouted: routedClean}})
		// Channel ivr: case 2 alone.
		r, err = fx.db.Report(ctx, reports.Filter{From: fx.periodFrom, To: fx.end, Channel: dimos.ChannelIVR})
		if err != nil {
			t.Fatal(err)
		}
		if tot := r.Tables[0].Total; tot.Received != 1 || tot.Completed != 1 || !sameSpread(tot.Completion, c2) {
			t.Errorf("ivr total %+v", tot)
		}
		// Kind suggestion: case 5 alone, open. A period of Tuesday alone: case 1 received;
		// case 6 closed that day.
		r, err = fx.db.Report(ctx, reports.Filter{From: athensAt(24, 0, 0), To: athensAt(25, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if tot := r.Tables[0].Total; tot.Received != 1 || tot.Completed != 1 || !sameSpread(tot.Completion, c6) || tot.Backlog != 0 {
			t.Errorf("Tuesday total %+v", tot)
		}
	})

	t.Run("WorkingDayRuleAcrossTheHoliday", func(t *testing.T) {
		// Case 4 arrived on the holiday: its clock starts at Thursday 00:00, so two
		// calendar days (48h) are 34h of working time, 1.416667 working days. Case 1's
		// 55h span the holiday too: 31h of working time.
		lines := map[string]reports.CaseLine{}
		err := fx.db.CaseLines(ctx, reports.Filter{From: fx.periodFrom, To: fx.end}, func(l reports.CaseLine) error {
			lines[l.Number] = l
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) != 5 {
			t.Fatalf("%d case lines", len(lines))
		}
		for i, want := range map[int]reports.Duration{4: {WorkingDays: 34.0 / 24, Hours: 48}, 1: {WorkingDays: 31.0 / 24, Hours: 55},
			2: {WorkingDays: 82.0 / 24, Hours: 106}} {
			if got := lines[fx.numbers[i]].Completion; !near(got.WorkingDays, want.WorkingDays) || !near(got.Hours, want.Hours) {
				t.Errorf("case %d completion %+v, want %+v", i, got, want)
			}
		}
		if l := lines[fx.numbers[3]]; !l.Overdue || !l.ClosedAt.IsZero() || l.Service != "CLEAN" || l.Employee != "nikos" {
			t.Errorf("case 3 line %+v: want open, overdue, with CLEAN/nikos", l)
		}
		if l := lines[fx.numbers[5]]; l.Overdue || l.Service != "" {
			t.Errorf("case 5 line %+v", l)
		}
	})
}

// rollupSnapshot is the rollup tables as text, in a fixed order.
func rollupSnapshot(t *testing.T, db *postgres.DB) string {
	t.Helper()
	var s string
	err := db.Pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(r::text, E'\n' ORDER BY r::text), '') FROM (
		SELECT day, measure, service_id, employee_id, category_code, channel, kind, n, within_target, within_statutory,
			round(max_days::numeric, 9), round(max_hours::numeric, 9), days_hist, hours_hist FROM report_rollups
		UNION ALL SELECT day, 'weekly ' || measure, service_id, employee_id, category_code, channel, kind, n, within_target,
			within_statutory, round(max_days::numeric, 9), round(max_hours::numeric, 9), days_hist, hours_hist
		FROM report_rollups_weekly
		UNION ALL SELECT NULL, dimension, case_id, returns, holders::text, '', '', 0, 0, 0, 0, 0, '{}', '{}' FROM case_holders
		UNION ALL SELECT day, 'open ' || overdue_day, service_id, employee_id, category_code, channel, kind, n, 0, 0, 0, 0,
			'{}', '{}' FROM report_open
		UNION ALL SELECT NULL, 'overdue at ' || coalesce(report_overdue_at::text, 'closed'), id, 0, number, '', '', 0, 0, 0,
			0, 0, '{}', '{}' FROM cases) r`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRollupsAgreeWithFullRecomputation(t *testing.T) {
	ctx := context.Background()
	t.Run("FixedDataset", func(t *testing.T) {
		fx := newFixture(t)
		before := rollupSnapshot(t, fx.db)
		if err := fx.db.RebuildRollups(ctx); err != nil {
			t.Fatal(err)
		}
		if after := rollupSnapshot(t, fx.db); after != before {
			t.Fatalf("incremental rollups\n%s\nrebuilt\n%s", before, after)
		}
	})

	t.Run("GeneratedDataset", func(t *testing.T) {
		// 400 cases over ten weeks around Easter 2026 (Good Friday 10 April, Easter
		// Monday 13 April), walking random lifecycles: transfers back and forth,
		// reassignments, questions to the citizen, completions, rejections, reopenings.
		fx := newFixture(t)
		rng := rand.New(rand.NewPCG(6, 2026))
		services := []int64{fx.tech, fx.clean}
		staff := map[int64][]int64{fx.tech: {fx.dimitra, fx.maria, fx.giorgos}, fx.clean: {fx.nikos}}
		start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		for i := range 400 {
			c := newCase([]string{"roads", "bins"}[rng.IntN(2)])
			c.Channel = []dimos.Channel{dimos.ChannelPortal, dimos.ChannelIVR, dimos.ChannelDesk, dimos.ChannelOpen311}[rng.IntN(4)]
			c.Kind = []dimos.Kind{dimos.KindRequest, dimos.KindComplaint}[rng.IntN(2)]
			at := start.Add(time.Duration(rng.IntN(70*24)) * time.Hour).Add(time.Duration(i) * time.Second)
			c.SubmittedAt = at
			if err := fx.db.SubmitCase(ctx, c); err != nil {
				t.Fatal(err)
			}
			svc := services[rng.IntN(2)]
			steps := rng.IntN(9)
			for seq := 2; seq < 2+steps; seq++ {
				at = at.Add(time.Duration(1+rng.IntN(96)) * time.Hour).Add(time.Duration(rng.IntN(60)) * time.Minute)
				tr := dimos.Transition{CaseID: c.ID, Seq: seq, At: at, Event: dimos.CaseEvent{Type: "step"}}
				switch k := rng.IntN(10); {
				case seq == 2 || k == 0:
					if seq > 2 {
						svc = services[rng.IntN(2)]
					}
					tr.Stage, tr.ServiceID = dimos.StageRouted, svc
					tr.EmployeeID = staff[svc][0]
				case k <= 2:
					tr.Stage, tr.EmployeeID = dimos.StageAssigned, staff[svc][rng.IntN(len(staff[svc]))]
				case k <= 4:
					tr.Stage = dimos.StageInProgress
				case k == 5:
					tr.Stage = dimos.StageWaitingCitizen
				case k <= 8:
					tr.Stage = dimos.StageCompleted
				default:
					tr.Stage = dimos.StageRejected
				}
				if err := fx.db.RecordTransition(ctx, tr); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Due dates set on some cases, open or closed: they move open cases between the
		// overdue days of report_open.
		rows, err := fx.db.Pool.Query(ctx, `SELECT id, submitted_at FROM cases ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		type dated struct {
			ID        int64
			Submitted time.Time
		}
		all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[dated])
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range all {
			if i%5 != 0 {
				continue
			}
			due := c.Submitted.Add(time.Duration(rng.IntN(40*24)) * time.Hour)
			if err := fx.db.ApplyChange(ctx, dimos.CaseChange{CaseID: c.ID, Key: fmt.Sprintf("due-%d", i), DueDate: due,
				Event: dimos.CaseEvent{Type: "due_date"}}); err != nil {
				t.Fatal(err)
			}
		}
		fx.now = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
		f := reports.Filter{From: start, To: fx.now}
		want, err := fx.db.Report(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		before := rollupSnapshot(t, fx.db)
		if n := strings.Count(before, "\n"); n < 500 {
			t.Fatalf("only %d rollup rows: the generated dataset is too small to mean anything", n)
		}
		// Wipe the rollups, as a COPY load would leave them, and rebuild.
		if _, err := fx.db.Pool.Exec(ctx, `DELETE FROM report_rollups; DELETE FROM case_holders`); err != nil {
			t.Fatal(err)
		}
		if err := fx.db.RebuildRollups(ctx); err != nil {
			t.Fatal(err)
		}
		if after := rollupSnapshot(t, fx.db); after != before {
			t.Fatalf("incremental and rebuilt rollups differ:\n%s", firstDiff(before, after))
		}
		got, err := fx.db.Report(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := fmt.Sprintf("%+v", got.Tables), fmt.Sprintf("%+v", want.Tables); g != w {
			t.Errorf("report after rebuild differs")
		}
		if len(got.PingPongs) == 0 {
			t.Errorf("the generated dataset has no ping-pong")
		}

		// A database from before migration 0018, with daily rollups in the dense form
		// they had before 0021 (int[] indexed by bucket, as subscript assignments built
		// them): 0018 fills the weekly ones from the daily ones, 0021 turns both into
		// pairs, and they are the rows a rebuild makes.
		if _, err := fx.db.Pool.Exec(ctx, `DROP TABLE report_rollups_weekly;
				CREATE FUNCTION pg_temp.hist_dense(h bytea) RETURNS int[] LANGUAGE plpgsql AS $$
				DECLARE
					d int[] := '{}';
					p record;
				BEGIN
					FOR p IN SELECT * FROM hist_pairs(h) ORDER BY bucket LOOP
						d[p.bucket] := p.count;
					END LOOP;
					RETURN d;
				END $$;
				ALTER TABLE report_rollups
					ALTER days_hist DROP DEFAULT, ALTER days_hist TYPE int[] USING pg_temp.hist_dense(days_hist),
					ALTER hours_hist DROP DEFAULT, ALTER hours_hist TYPE int[] USING pg_temp.hist_dense(hours_hist),
					ALTER days_hist SET DEFAULT '{}', ALTER hours_hist SET DEFAULT '{}';
				DROP FUNCTION hist_add(bytea, int); DROP FUNCTION hist_pairs(bytea);
				DELETE FROM schema_migrations WHERE version IN (18, 21)`); err != nil {
			t.Fatal(err)
		}
		var dense string
		if err := fx.db.Pool.QueryRow(ctx, `SELECT days_hist::text FROM report_rollups
				WHERE array_upper(days_hist, 1) > array_lower(days_hist, 1) + 1 LIMIT 1`).Scan(&dense); err != nil || !strings.Contains(dense, "NULL") {
			t.Fatalf("no dense histogram with an empty bucket to migrate (%q): %v", dense, err)
		}
		if err := fx.db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if after := rollupSnapshot(t, fx.db); after != before {
			t.Fatalf("incremental and migrated weekly rollups differ:\n%s", firstDiff(before, after))
		}
		testWeeklyAgreesWithDays(t, fx, start)

		// A category's statutory limit changed moves its open cases between overdue
		// days. (A rebuild would also judge its closed cases by the new limit, which
		// the rollups written when they closed do not: compare the open counts only.)
		if _, err := fx.db.SetCategoryTargets(ctx, "bins", dimos.Targets{CompletionDays: 1, StatutoryDays: 5}); err != nil {
			t.Fatal(err)
		}
		incremental := openSnapshot(t, fx.db)
		if err := fx.db.RebuildRollups(ctx); err != nil {
			t.Fatal(err)
		}
		if rebuilt := openSnapshot(t, fx.db); rebuilt != incremental {
			t.Fatalf("open counts after a new statutory limit differ from a rebuild:\n%s", firstDiff(incremental, rebuilt))
		}
	})
}

// openSnapshot is report_open and the cases' report_overdue_at, as text.
func openSnapshot(t *testing.T, db *postgres.DB) string {
	t.Helper()
	var s string
	err := db.Pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(r::text, E'\n' ORDER BY r::text), '') FROM (
		SELECT day, overdue_day::text, service_id, employee_id, category_code, channel, kind, n FROM report_open
		UNION ALL SELECT NULL, coalesce(report_overdue_at::text, 'closed'), id, 0, number, '', '', 0 FROM cases) r`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testWeeklyAgreesWithDays: a report reading whole weeks from report_rollups_weekly
// and the ends from report_rollups is the report that reads every day, for periods
// aligned to weeks or not, open-ended, shorter than a week, and for every filter.
func testWeeklyAgreesWithDays(t *testing.T, fx *fixture, start time.Time) {
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Athens")
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, loc) }
	periods := []struct{ from, to time.Time }{
		{start, fx.now},                            // Monday to Monday
		{day(3, 4), day(5, 21)},                    // Wednesday to Thursday
		{day(3, 4).Add(13 * time.Hour), day(3, 8)}, // within a week
		{day(3, 9), day(3, 16)},                    // one week exactly
		{day(3, 10), day(3, 17)},                   // a week across two
		{time.Time{}, day(5, 20)},                  // open start
		{day(3, 11), time.Time{}},                  // open end
		{time.Time{}, time.Time{}},                 // everything
	}
	filters := []reports.Filter{{}, {ServiceID: fx.tech}, {Category: "bins"}, {EmployeeID: fx.maria},
		{Channel: dimos.ChannelPortal}, {Kind: dimos.KindComplaint}, {ServiceID: fx.clean, Channel: dimos.ChannelIVR}}
	show := func(r *reports.Report) string {
		return fmt.Sprintf("%+v\n%+v\n%+v", r.Tables, r.Bottlenecks, r.Trend)
	}
	for _, p := range periods {
		for _, f := range filters {
			f.From, f.To = p.from, p.to
			weekly, err := fx.db.Report(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			daily, err := fx.db.ReportFromDays(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if w, d := show(weekly), show(daily); w != d {
				t.Errorf("%v–%v %+v: weekly and daily reports differ:\n%s", p.from, p.to, f, firstDiff(d, w))
			}
		}
	}
	// The whole weeks are read from the weekly table: with the daily rows of those
	// weeks gone, the report is unchanged and the daily-only one is not.
	f := reports.Filter{From: day(3, 4), To: day(5, 21)}
	want, err := fx.db.Report(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.db.Pool.Exec(ctx, `DELETE FROM report_rollups WHERE day >= '2026-03-09' AND day < '2026-05-18'`); err != nil {
		t.Fatal(err)
	}
	got, err := fx.db.Report(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if show(got) != show(want) {
		t.Errorf("the weekly path reads the daily rollups of whole weeks")
	}
	if daily, err := fx.db.ReportFromDays(ctx, f); err != nil || show(daily) == show(want) {
		t.Errorf("the daily path ignores the daily rollups (%v)", err)
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "incremental: " + al[i] + "\nrebuilt:     " + bl[i]
		}
	}
	return fmt.Sprintf("%d lines vs %d", len(al), len(bl))
}

// TestReportClockRunsOutIsWorkingDuration: the instant after which the report counts
// a case's clock past a limit is where WorkingDuration from its submission passes the
// limit: not yet at that instant, past it a microsecond later, over holidays (Easter
// 2026, 25 March), weekends and both changes of the clocks.
func TestReportClockRunsOutIsWorkingDuration(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Athens")
	first, last := time.Date(2026, 1, 1, 0, 0, 0, 0, loc), time.Date(2026, 10, 31, 23, 0, 0, 0, loc)
	cal := workdays.Greek()
	rng := rand.New(rand.NewPCG(7, 2026))
	span := last.Sub(first)
	for range 5000 {
		s := first.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Microsecond)
		budget := time.Duration(rng.Int64N(int64(60 * 24 * time.Hour))).Truncate(time.Microsecond)
		if rng.IntN(4) == 0 { // whole working days, as statutory limits are
			budget = budget.Truncate(24 * time.Hour)
		}
		at := postgres.ReportClockRunsOut(s, budget)
		before, after := cal.WorkingDuration(s, at), cal.WorkingDuration(s, at.Add(time.Microsecond))
		if dst := at.In(loc).Month() == time.March || at.In(loc).Month() == time.October; dst &&
			at.In(loc).Day() >= 25 && at.In(loc).Hour() < 5 {
			continue // the hour skipped in March and repeated in October
		}
		if before > budget || after <= budget {
			t.Fatalf("submitted %v, budget %v: runs out at %v, where the working time is %v and %v a µs later",
				s, budget, at, before, after)
		}
	}
}

// TestOverdueNowAgreesWithStageVisits: on random lifecycles with waits for the
// citizen, the report's backlog and overdue-now, counted from the cases' clocks in
// SQL, are the figures of the case list, which replays each case's stage visits.
func TestOverdueNowAgreesWithStageVisits(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	rng := rand.New(rand.NewPCG(8, 2026))
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for i := range 300 {
		c := newCase([]string{"roads", "bins"}[rng.IntN(2)])
		at := start.Add(time.Duration(rng.IntN(60*24)) * time.Hour).Add(time.Duration(i) * time.Second)
		c.SubmittedAt = at
		if rng.IntN(6) == 0 {
			c.DueDate = at.Add(time.Duration(rng.IntN(30*24)) * time.Hour)
		}
		if err := fx.db.SubmitCase(ctx, c); err != nil {
			t.Fatal(err)
		}
		// Open lifecycles (never closed, so never reopened): routed, worked on, asked
		// the citizen and back, any number of times.
		stages := []dimos.Stage{dimos.StageInProgress, dimos.StageWaitingCitizen}
		for seq := 2; seq < 2+rng.IntN(7); seq++ {
			at = at.Add(time.Duration(1+rng.IntN(120)) * time.Hour).Add(time.Duration(rng.IntN(60)) * time.Minute)
			tr := dimos.Transition{CaseID: c.ID, Seq: seq, At: at, Event: dimos.CaseEvent{Type: "step"}, Stage: stages[rng.IntN(2)]}
			if seq == 2 {
				tr.Stage, tr.ServiceID, tr.EmployeeID = dimos.StageRouted, fx.tech, fx.dimitra
			}
			if err := fx.db.RecordTransition(ctx, tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, now := range []time.Time{time.Date(2026, 4, 20, 9, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)} {
		fx.now = now
		f := reports.Filter{From: start, To: now}
		var backlog, overdue int
		err := fx.db.CaseLines(ctx, f, func(l reports.CaseLine) error {
			if l.ClosedAt.IsZero() && !l.SubmittedAt.After(now) {
				backlog++
				if l.Overdue {
					overdue++
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		r, err := fx.db.Report(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		tot := r.Tables[0].Total
		if tot.Backlog != backlog || tot.OverdueNow != overdue {
			t.Errorf("at %v: report backlog %d overdue %d; the case list's %d and %d", now, tot.Backlog, tot.OverdueNow, backlog, overdue)
		}
		if overdue == 0 || overdue == backlog {
			t.Errorf("at %v: %d of %d overdue: the dataset tells nothing", now, overdue, backlog)
		}
	}
}
