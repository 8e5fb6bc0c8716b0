package loadgen

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// Recorder collects the latency of every operation, safe for concurrent use.
type Recorder struct {
	mu  sync.Mutex
	ops map[string]*samples
}

type samples struct {
	lat    []time.Duration
	errors int
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{ops: map[string]*samples{}} }

// Observe records one operation: how long it took and whether it failed.
func (r *Recorder) Observe(op string, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.ops[op]
	if s == nil {
		s = &samples{}
		r.ops[op] = s
	}
	if err != nil {
		s.errors++
		return
	}
	s.lat = append(s.lat, d)
}

// OpStats are the figures of one operation over a run.
type OpStats struct {
	Op            string
	Count, Errors int
	PerSecond     float64
	P50, P90, P99 time.Duration
	Max           time.Duration
}

// Stats summarises every operation over elapsed, sorted by name.
func (r *Recorder) Stats(elapsed time.Duration) []OpStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]OpStats, 0, len(r.ops))
	for op, s := range r.ops {
		lat := slices.Clone(s.lat)
		slices.Sort(lat)
		st := OpStats{Op: op, Count: len(lat), Errors: s.errors,
			P50: Percentile(lat, 50), P90: Percentile(lat, 90), P99: Percentile(lat, 99)}
		if len(lat) > 0 {
			st.Max = lat[len(lat)-1]
		}
		if elapsed > 0 {
			st.PerSecond = float64(len(lat)) / elapsed.Seconds()
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Op < out[j].Op })
	return out
}

// Percentile is the nearest-rank p-th percentile of sorted: the smallest value that
// at least p percent of the values do not exceed. Zero for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// PrintStats writes the figures as a table.
func PrintStats(w io.Writer, stats []OpStats) {
	fmt.Fprintf(w, "%-22s %8s %6s %9s %10s %10s %10s %10s\n", "operation", "count", "errors", "per s", "p50", "p90", "p99", "max")
	for _, s := range stats {
		fmt.Fprintf(w, "%-22s %8d %6d %9.1f %10s %10s %10s %10s\n", s.Op, s.Count, s.Errors, s.PerSecond,
			round(s.P50), round(s.P90), round(s.P99), round(s.Max))
	}
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}
