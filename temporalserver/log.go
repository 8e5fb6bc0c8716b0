package temporalserver

import (
	"context"
	"log/slog"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

var _ log.Logger = (*slogLogger)(nil)

// slogLogger adapts the Temporal server's logger interface to slog, passing on
// WARN and above only: at INFO and DEBUG the server logs continuously (shard
// and membership changes, task queue loads) even when idle.
type slogLogger struct {
	l *slog.Logger
	// quiet drops WARN and ERROR records once Stop has begun.
	quiet atomic.Bool
	// starting drops startupNoise until Start has seen the server ready.
	starting atomic.Bool
}

// alwaysNoise are warnings about features this embedded server leaves off on
// purpose (the frontend's HTTP API and with it Nexus).
var alwaysNoise = map[string]bool{
	"HTTP API port has not been set. Nexus HTTP endpoints will not be available. To enable Nexus, follow these instructions: https://github.com/temporalio/temporal/blob/main/docs/architecture/nexus.md#enabling-nexus.": true,
}

// startupNoise are records the services log while they wait for one another
// at start ("Frontend is not healthy yet"); they retry by themselves, and
// Start reports an error if the server does not become ready.
var startupNoise = map[string]bool{
	"service failures":          true,
	"error creating sdk client": true,
}

// newLogger returns the server logger writing to l (nil: discard). Even then
// it is not log.NewNoopLogger, whose Fatal returns (see Fatal below).
func newLogger(l *slog.Logger) *slogLogger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	sl := &slogLogger{l: l.With("component", "temporal")}
	sl.starting.Store(true)
	return sl
}

func (s *slogLogger) Debug(string, ...tag.Tag) {}
func (s *slogLogger) Info(string, ...tag.Tag)  {}
func (s *slogLogger) Warn(msg string, tags ...tag.Tag) {
	s.log(slog.LevelWarn, msg, tags)
}
func (s *slogLogger) Error(msg string, tags ...tag.Tag) {
	s.log(slog.LevelError, msg, tags)
}

// DPanic only panics in the server's development mode; log it as an error.
func (s *slogLogger) DPanic(msg string, tags ...tag.Tag) {
	s.log(slog.LevelError, msg, tags)
}

// Panic and Fatal must not return: the server code after them assumes they
// did not (a Fatal "Failed to start gRPC listener" is followed by use of the
// nil listener). The default zap logger exits the process on Fatal; we panic
// instead, which Start and Stop turn into an error when it happens on their
// goroutine (see catchFatal) and which is no worse than an exit elsewhere.
func (s *slogLogger) Panic(msg string, tags ...tag.Tag) {
	s.log(slog.LevelError, msg, tags)
	panic(fatalPanic{msg: msg})
}

func (s *slogLogger) Fatal(msg string, tags ...tag.Tag) {
	s.log(slog.LevelError, msg, tags)
	panic(fatalPanic{msg: msg})
}

func (s *slogLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if s.quiet.Load() || alwaysNoise[msg] || (s.starting.Load() && startupNoise[msg]) || !s.l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, len(tags))
	for i, t := range tags {
		attrs[i] = slog.Any(t.Key(), t.Value())
	}
	s.l.LogAttrs(ctx, level, msg, attrs...)
}
