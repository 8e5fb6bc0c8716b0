package loadgen

import (
	"slices"
	"testing"
)

func TestTurns(t *testing.T) {
	// The default mix over ten cases: six portal, two Open311, two phone, interleaved.
	tr := newTurns(Mix{Portal: 0.6, Open311: 0.2, IVR: 0.2})
	var got []channel
	for range 10 {
		got = append(got, tr.next())
	}
	want := []channel{onPortal, onOpen311, onPortal, onPhone, onPortal, onPortal, onOpen311, onPortal, onPhone, onPortal}
	if !slices.Equal(got, want) {
		t.Errorf("default mix: %v, want %v", got, want)
	}
	// Any weights: after each full round of the weights' sum, the counts are exact, and
	// a channel weighed 0 never comes.
	for _, m := range []Mix{{1, 1, 1}, {3, 0, 1}, {0, 0, 1}, {5, 2, 3}} {
		tr := newTurns(m)
		round := int(m.Portal + m.Open311 + m.IVR)
		var n [3]int
		for range 4 * round {
			n[tr.next()]++
		}
		if w := [3]int{4 * int(m.Portal), 4 * int(m.Open311), 4 * int(m.IVR)}; n != w {
			t.Errorf("mix %v over %d cases: %v, want %v", m, 4*round, n, w)
		}
	}
}
