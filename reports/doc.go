// Package reports turns stage timings into delay reports per employee, service and
// category: pure functions from rows to an io.Writer (Excel, charts). It is filled in
// by the reports work; the package exists so the layout is the final one.
package reports
