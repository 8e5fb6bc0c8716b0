package postgres_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"dimos/postgres/pgtest"
)

// BenchmarkSubmitCase stores cases through SubmitCase, without HTTP or workflows: from
// one goroutine, as a quiet day's submissions arrive, and from 32 at once, as a
// burst's do. The cases are of several categories, channels and kinds (mixedCase),
// so that they count in different report and inbox rows.
func BenchmarkSubmitCase(b *testing.B) {
	db := pgtest.New(b, true)
	var filed atomic.Int64
	submit := func() error {
		return db.SubmitCase(context.Background(), mixedCase(int(filed.Add(1))))
	}
	b.Run("One", func(b *testing.B) {
		for b.Loop() {
			if err := submit(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ThirtyTwo", func(b *testing.B) {
		b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := submit(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
