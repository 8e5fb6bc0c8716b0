package reports

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// benchCases is the size of the export the issue asks to hold in bounded memory.
const benchCases = 100_000

// peakHeap samples the heap in use every 2 ms while f runs, and returns the
// highest reading above the heap in use before it started.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	if peak < base.HeapInuse {
		return 0
	}
	return peak - base.HeapInuse
}

// BenchmarkExport writes 100,000 generated case lines as a workbook two ways: through
// WriteXLSX, whose StreamWriter holds a chunk of rows at a time, and through
// excelize's ordinary API (SetCellValue), which keeps the whole sheet in memory until
// it is written. peak-heap-MB is the heap in use at its highest above where it began;
// cpu-s/op is the process's user and system CPU time, which, unlike ns/op, does not
// grow when other processes share the machine.
//
//	go test -run '^$' -bench Export -benchmem ./reports/
func BenchmarkExport(b *testing.B) {
	// The streamed export at a quarter of the size too: its peak should not follow
	// the number of cases.
	for _, n := range []int{benchCases / 4, benchCases} {
		b.Run(fmt.Sprintf("StreamWriter/cases=%d", n), func(b *testing.B) {
			src := fixture()
			src.generated = n
			measure(b, func() error {
				_, err := WriteXLSX(context.Background(), io.Discard, src, fixtureFilter(), "el")
				return err
			})
		})
	}
	b.Run(fmt.Sprintf("SetCellValue/cases=%d", benchCases), func(b *testing.B) {
		measure(b, func() error { return writeWithoutStreaming(io.Discard) })
	})
}

// measure runs export b.N times and reports its peak heap and CPU time.
func measure(b *testing.B, export func() error) {
	var peak uint64
	cpu := cpuTime()
	for b.Loop() {
		peak = max(peak, peakHeap(func() {
			if err := export(); err != nil {
				b.Fatal(err)
			}
		}))
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeWithoutStreaming writes the same case rows as the case sheet of WriteXLSX,
// with the same number formats, one SetCellValue per cell.
func writeWithoutStreaming(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	dateTime, _ := f.NewStyle(&excelize.Style{CustomNumFmt: ptr(fmtDateTime)})
	duration, _ := f.NewStyle(&excelize.Style{CustomNumFmt: ptr(fmtDuration)})
	const sheet = "Sheet1"
	for i, k := range caseColumns {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		if err := f.SetCellValue(sheet, cell, k); err != nil {
			return err
		}
	}
	if err := f.SetColStyle(sheet, "H:I", dateTime); err != nil {
		return err
	}
	if err := f.SetColStyle(sheet, "J:K", duration); err != nil {
		return err
	}
	for i := range benchCases {
		l := generatedLine(i)
		row := []any{l.Number, label("el", "kind.", string(l.Kind)), label("el", "channel.", string(l.Channel)),
			l.Category, l.Service, l.Employee, stageLabel("el", l.Stage), l.SubmittedAt.In(athens), nil, nil, nil,
			yesNo("el", l.Overdue)}
		if !l.ClosedAt.IsZero() {
			row[8], row[9], row[10] = l.ClosedAt.In(athens), l.Completion.WorkingDays, l.Completion.Hours
		}
		for j, v := range row {
			if v == nil {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(j+1, i+2)
			if err := f.SetCellValue(sheet, cell, v); err != nil {
				return err
			}
		}
	}
	_, err := f.WriteTo(w)
	return err
}
