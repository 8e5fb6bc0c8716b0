package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"dimos/loadgen"
	"dimos/postgres"
)

// TestLoadgen runs a short load against dimos in the test process: cases filed on
// every channel (portal, Open311 with a key the admin issues in the console, the
// phone line) are worked to completion by directors and clerks in the console.
func TestLoadgen(t *testing.T) {
	srv := startTemporal(t, 0)
	s := newStack(t, srv.FrontendAddr(), true)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const n = 9
	progress := 0
	res, err := loadgen.Run(ctx, loadgen.Config{BaseURL: s.base, Concurrency: 3, Cases: n,
		Mix: loadgen.Mix{Portal: 1, Open311: 1, IVR: 1}, Staff: demoTeams(), Password: postgres.DemoPassword,
		Admin: "admin", Jurisdiction: s.cfg.Open311Jurisdiction, Timeout: 30 * time.Second,
		Progress: func() { progress++ }})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	res.Print(&out)
	t.Log("\n" + out.String())
	if res.Lifecycles != n || res.Failed != 0 || progress != n {
		t.Fatalf("%d lifecycles, %d failed (first: %s), progress %d", res.Lifecycles, res.Failed, res.FirstError, progress)
	}
	// What loadgen says it did is in the database: n completed cases, a third from
	// each channel (the mix is dealt in turns, not drawn by chance).
	var completed int
	perChannel := map[string]int{}
	rows, err := s.db.Pool.Query(ctx, `SELECT channel, count(*) FILTER (WHERE stage = 'completed') FROM cases GROUP BY channel`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ch string
		var c int
		if err := rows.Scan(&ch, &c); err != nil {
			t.Fatal(err)
		}
		perChannel[ch] = c
		completed += c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if completed != n {
		t.Errorf("%d completed cases in the database, want %d", completed, n)
	}
	ops := map[string]loadgen.OpStats{}
	for _, st := range res.Stats {
		ops[st.Op] = st
	}
	if ops["lifecycle"].Count != n || ops["console.complete"].Count != n || ops["lifecycle"].P50 <= 0 {
		t.Errorf("stats: %+v", res.Stats)
	}
	if len(perChannel) != 3 || perChannel["portal"] != n/3 || perChannel["open311"] != n/3 || perChannel["ivr"] != n/3 {
		t.Errorf("completed cases by channel: %v, want %d from each of portal, open311 and ivr", perChannel, n/3)
	}
}
