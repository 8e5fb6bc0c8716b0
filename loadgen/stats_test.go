package loadgen

import (
	"errors"
	"testing"
	"time"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1 // 1..100 ms
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"Empty", nil, 50, 0},
		{"One", ms(7), 99, 7 * time.Millisecond},
		{"MedianOfOdd", ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		// Nearest rank: ceil(0.5·4) = 2nd value, not an interpolation.
		{"MedianOfEven", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"P90Of100", ms(hundred...), 90, 90 * time.Millisecond},
		{"P99Of100", ms(hundred...), 99, 99 * time.Millisecond},
		{"P100", ms(hundred...), 100, 100 * time.Millisecond},
		{"P0IsTheMinimum", ms(3, 8, 9), 0, 3 * time.Millisecond},
		// ceil(0.99·10) = 10: with ten values p99 is the slowest.
		{"P99OfTen", ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 50), 99, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Fatalf("Percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestRecorderStats(t *testing.T) {
	r := NewRecorder()
	// Observed out of order: Stats sorts before taking percentiles.
	for _, d := range ms(40, 10, 30, 20) {
		r.Observe("submit", d, nil)
	}
	r.Observe("submit", time.Hour, errors.New("refused")) // an error counts, its time does not
	r.Observe("assign", 5*time.Millisecond, nil)
	stats := r.Stats(2 * time.Second)
	if len(stats) != 2 || stats[0].Op != "assign" || stats[1].Op != "submit" {
		t.Fatalf("stats: %+v", stats)
	}
	s := stats[1]
	if s.Count != 4 || s.Errors != 1 || s.PerSecond != 2 || s.P50 != 20*time.Millisecond ||
		s.P90 != 40*time.Millisecond || s.P99 != 40*time.Millisecond || s.Max != 40*time.Millisecond {
		t.Fatalf("submit: %+v", s)
	}
}
