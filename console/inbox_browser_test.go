package console

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"dimos"
)

// TestInboxInBrowser runs static/inbox.js in a real headless Chromium under the
// console's CSP: the keyboard moves between rows and opens one, "/" leaves the
// table, and a case assigned meanwhile appears without a reload.
func TestInboxInBrowser(t *testing.T) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("no browser at %s (run make deps): %v", chromium, err)
	}
	h := newHarness(t, func(cfg *Config) { cfg.InboxRefresh = time.Second })
	// The browser keeps a cookie only until it expires by its own clock.
	h.clock.mu.Lock()
	h.clock.t = time.Now()
	h.clock.mu.Unlock()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h.app.Listener(ln)                  //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() { h.app.Shutdown() }) //nolint:errcheck
	base := "http://" + ln.Addr().String()

	alloc, cancel := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(chromium), chromedp.Headless,
		chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-gpu", true))
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // starts the browser on a context without a timeout
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	selected := `(document.querySelector("#inbox-rows tr[data-selected]") || {dataset: {href: ""}}).dataset.href`
	err = chromedp.Do(ctx, chromedp.Navigate(base+"/console/signin"), chromedp.WaitVisible("#username"))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys("#username", "maria"),
		chromedp.SendKeys("#password", password+"\n"),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.WaitVisible("#inbox-rows"),
		// The script ran: nothing else marks a row.
		chromedp.KeyEvent("j"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := eval(selected); got != casePath(numLight) {
		t.Fatalf("after j: row %q selected, want the overdue %s first", got, numLight)
	}
	if got := eval(`document.activeElement.getAttribute("href")`); got != casePath(numLight) {
		t.Errorf("focus on %q, want the row's link", got)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("j")); err != nil {
		t.Fatal(err)
	}
	if got := eval(selected); got != casePath(numPothole) {
		t.Errorf("after j j: %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("k")); err != nil {
		t.Fatal(err)
	}
	if got := eval(selected); got != casePath(numLight) {
		t.Errorf("after j j k: %q", got)
	}

	// A case assigned to Maria now shows at the next refresh, the selection kept.
	h.cases.mu.Lock()
	h.cases.cases["2026-000009"] = &dimos.Case{ID: 9, Number: "2026-000009", Kind: dimos.KindComplaint, CategoryCode: "roads",
		Channel: dimos.ChannelIVR, Subject: "Νέα υπόθεση από το τηλέφωνο", Stage: dimos.StageAssigned, Status: dimos.StatusInProgress,
		ServiceID: svcTechnical, AssigneeID: idMaria, SubmittedAt: h.clock.Now()}
	h.cases.mu.Unlock()
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](
		`document.querySelector("#inbox-rows").textContent.includes("2026-000009") &&
		 document.querySelector('.count[data-tab="mine"]').textContent === "3"`,
		chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(200*time.Millisecond)))
	if err != nil {
		t.Fatalf("the new case never appeared: %v", err)
	}
	if got := eval(selected); got != casePath(numLight) {
		t.Errorf("after the refresh: %q selected", got)
	}

	// "/" leaves the table for the filters (the harness has no search box).
	if err := chromedp.Do(ctx, chromedp.KeyEvent("/")); err != nil {
		t.Fatal(err)
	}
	if got := eval(`document.activeElement.id`); got != "filter-category" {
		t.Errorf("after /: focus on %q", got)
	}
	// Escape, back to the rows, and Enter opens the selected case.
	err = chromedp.Do(ctx, chromedp.KeyEvent("\x1b"), chromedp.KeyEvent("j"), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible("h1"))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Poll[string](`location.pathname.startsWith("/console/cases/") && location.pathname`,
		chromedp.WithPollingTimeout(5*time.Second)))
	if err != nil {
		t.Fatalf("Enter opened nothing: %v", err)
	}
	if loc != casePath(numLight) && loc != casePath(numPothole) {
		t.Errorf("Enter opened %s", loc)
	}
}
