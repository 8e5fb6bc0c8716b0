// Package chaos holds the fault tests of dimos: they build the real dimos binary, run
// its processes (the Temporal server, the worker, the console, the protocol registry
// simulator) against PostgreSQL, a mail server and an SMS gateway, break one of them in
// the middle of a run — kill -9 the worker, stop Temporal during intake, restart
// PostgreSQL, take the protocol registry or the mail server down for a long stretch —
// and then check that every accepted case completes, that no mail, SMS or protocol
// number went out twice, and that no stage-timing row was lost or doubled.
//
// The tests carry the build tag chaos: `make chaos` runs them (go test -tags chaos
// ./chaos/). A server a scenario needs that is missing fails it; nothing is skipped.
package chaos
