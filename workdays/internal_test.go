package workdays

import (
	"testing"
	"time"
)

// TestCacheMatchesRules checks the precomputed bitset against the rules it caches,
// day by day over the whole cached range, so the fast path and the fallback used
// outside 1990–2100 can never disagree.
func TestCacheMatchesRules(t *testing.T) {
	for name, cal := range map[string]*Calendar{
		"Greek": Greek(),
		"Local": New(
			[]Local{{Month: time.October, Day: 26, NameEL: "Αγίου Δημητρίου", NameEN: "Saint Demetrius"}, {Month: time.February, Day: 29, NameEL: "x", NameEN: "x"}},
			[]Holiday{{Date: time.Date(2026, time.November, 16, 0, 0, 0, 0, athens), NameEL: "y", NameEN: "y"}},
		),
	} {
		t.Run(name, func(t *testing.T) {
			for d := cacheFirst - 10; d < cacheEnd+10; d++ {
				_, holiday := cal.holidayOn(d)
				if rule := d.weekend() || holiday; cal.isClosed(d) != rule {
					t.Fatalf("%s: cache says closed=%v, rules %v", d.midnight(), cal.isClosed(d), rule)
				}
			}
		})
	}
}

func TestCountOpenMatchesDayByDay(t *testing.T) {
	cal := Greek()
	for _, r := range [][2]day{
		{cacheFirst - 100, cacheFirst + 200},
		{cacheFirst + 3, cacheFirst + 700},
		{cacheEnd - 300, cacheEnd + 50},
		{dayOf(2026, 1, 1), dayOf(2027, 1, 1)},
	} {
		want := 0
		for d := r[0]; d < r[1]; d++ {
			if !cal.isClosed(d) {
				want++
			}
		}
		if got := cal.countOpen(r[0], r[1]); got != want {
			t.Fatalf("countOpen(%s, %s) = %d, want %d", r[0].midnight(), r[1].midnight(), got, want)
		}
	}
}
