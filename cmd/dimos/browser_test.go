package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"dimos"
	"dimos/postgres"
)

// chromiumPath is Debian's chromium, which `make deps` installs. The browser tests
// fail without it, never skip: a console nobody has clicked through is not tested.
const chromiumPath = "/usr/bin/chromium"

// shotDir is where a failed browser test leaves a screenshot of its last page, at the
// root of the repository (gitignored).
var shotDir = filepath.Join("..", "..", ".shot")

// newChrome starts a headless chromium for the test, in a fresh profile, and stops it
// when the test ends; if the test failed, the page it was on is saved to shotDir.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser tests need %s; `make deps` installs it (apt-get install chromium): %v", chromiumPath, err)
	}
	profile, err := os.MkdirTemp("", "dimos-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		// chromium's children may write into the profile for a moment after it stops.
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, without a deadline
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		sctx, done := context.WithTimeout(ctx, 10*time.Second)
		defer done()
		png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Logf("no screenshot: %v", err)
			return
		}
		name := regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.Name(), "_") + ".png"
		if err := os.MkdirAll(shotDir, 0o755); err == nil {
			if err := os.WriteFile(filepath.Join(shotDir, name), png, 0o644); err == nil {
				t.Logf("screenshot of the last page: .shot/%s", name)
			}
		}
	})
	return ctx
}

// run runs one browser action with a deadline, failing the test with what it was
// doing.
func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(actx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// do runs browser steps that return nothing.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	run(t, ctx, what, chromedp.Steps(steps...))
}

// waitUntil polls a JavaScript condition on the page until it holds: after a click or
// a key that submits a form, it tells the new page from the old.
func waitUntil(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(actx, chromedp.Evaluate[bool](`document.readyState === "complete" && !!(`+js+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (%s): %v", what, js, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bodyText is what the reader sees on the page.
func bodyText(t *testing.T, ctx context.Context) string {
	t.Helper()
	return run(t, ctx, "read the page", chromedp.Evaluate[string](`document.body.innerText`))
}

// TestBrowserCaseToCompletion is a director's morning in a real browser: sign in, see
// a citizen's new case in the inbox, open it, assign it to a clerk, comment, complete
// it with an answer (by keyboard alone, as the console must allow), see it completed,
// and find it again by searching in Greek without accents.
func TestBrowserCaseToCompletion(t *testing.T) {
	srv := startTemporal(t, 0)
	s := newStack(t, srv.FrontendAddr(), true)
	ctx := newChrome(t)
	number := s.submit(complaint)
	casePath := "/console/cases/" + number
	caseLink := `document.querySelector('a[href="` + casePath + `"]')`

	do(t, ctx, "sign in",
		chromedp.Navigate(s.base+"/console/signin"),
		chromedp.SendKeys(chromedp.CSS("#username"), "tech.director"),
		chromedp.SendKeys(chromedp.CSS("#password"), postgres.DemoPassword),
		chromedp.Click(chromedp.CSS(`form[action="/console/signin"] button[type=submit]`)),
	)
	waitUntil(t, ctx, "the signed-in header", `document.querySelector('form[action="/console/signout"]')`)

	// The workflow routes the case to the director within a moment; the inbox shows
	// it on the next load.
	eventually(t, 30*time.Second, "the case in the director's inbox", func() bool {
		do(t, ctx, "open the inbox", chromedp.Navigate(s.base+"/console/inbox"))
		return run(t, ctx, "look for the case", chromedp.Evaluate[bool](`!!`+caseLink))
	})

	do(t, ctx, "open the case", chromedp.Click(chromedp.CSS(`a[href="`+casePath+`"]`)))
	waitUntil(t, ctx, "the case page", `location.pathname === "`+casePath+`" && document.querySelector("h1")`)
	if page := bodyText(t, ctx); !strings.Contains(page, "Λακκούβα στην Εγνατίας") {
		t.Fatalf("the case page lacks the subject:\n%s", page)
	}

	clerk, err := s.db.EmployeeByUsername(context.Background(), "tech.clerk1")
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "assign to a clerk",
		chromedp.Click(chromedp.CSS(`details:has(form[action$="/assign"]) > summary`)),
		chromedp.WaitVisible(chromedp.CSS("#assign-employee")),
		chromedp.SetValue(chromedp.CSS("#assign-employee"), strconv.FormatInt(clerk.ID, 10)),
		chromedp.Click(chromedp.CSS(`form[action$="/assign"] button[type=submit]`)),
	)
	waitUntil(t, ctx, "the assignment done", `location.search === "?done=assign"`)
	if page := bodyText(t, ctx); !strings.Contains(page, clerk.FullName) {
		t.Fatalf("the case page does not name the assignee %q:\n%s", clerk.FullName, page)
	}

	comment := "Το συνεργείο θα πάει την Τρίτη."
	do(t, ctx, "comment",
		chromedp.SendKeys(chromedp.CSS("#comment-text"), comment),
		chromedp.Click(chromedp.CSS(`form[action$="/comment"] button[type=submit]`)),
	)
	waitUntil(t, ctx, "the comment done", `location.search === "?done=comment"`)
	if page := bodyText(t, ctx); !strings.Contains(page, comment) {
		t.Fatalf("the timeline lacks the comment:\n%s", page)
	}

	// Keyboard only: focus the answer, type it, Tab to the form's button, press Enter.
	answer := "Η λακκούβα επιστρώθηκε στις 3/3. Ευχαριστούμε."
	do(t, ctx, "write the answer", chromedp.Focus(chromedp.CSS("#answer")), chromedp.KeyEvent(answer), chromedp.KeyEvent(kb.Tab))
	if on := run(t, ctx, "find the focus", chromedp.Evaluate[bool](
		`document.activeElement.matches('form[action$="/complete"] button[type=submit]')`)); !on {
		t.Fatal("Tab from the answer does not reach the complete button")
	}
	do(t, ctx, "complete by Enter", chromedp.KeyEvent(kb.Enter))
	waitUntil(t, ctx, "the completion done", `location.search === "?done=complete"`)
	waitUntil(t, ctx, "the completed status", `document.querySelector("h1 .status-completed")`)
	if page := bodyText(t, ctx); !strings.Contains(page, answer) {
		t.Fatalf("the case page lacks the answer:\n%s", page)
	}
	if got := s.status(number); got != "completed" {
		t.Fatalf("the citizen API says %s after completion", got)
	}
	cs, err := s.db.CaseByNumber(context.Background(), number)
	if err != nil || cs.Stage != dimos.StageCompleted || cs.AssigneeID != clerk.ID || cs.Answer != answer {
		t.Fatalf("stored case: %+v, %v", cs, err)
	}

	// Search without accents, from the header box, by keyboard: Enter submits.
	do(t, ctx, "search",
		chromedp.Focus(chromedp.CSS("#header-q")),
		chromedp.KeyEvent("λακκουβα"),
		chromedp.KeyEvent(kb.Enter),
	)
	waitUntil(t, ctx, "the search results", `location.pathname === "/console/search" && document.querySelector("ol.search-results")`)
	marks := run(t, ctx, "read the highlights", chromedp.Evaluate[[]string](`
		[...document.querySelectorAll("ol.search-results li")]
			.filter(li => li.querySelector('a[href="`+casePath+`"]'))
			.flatMap(li => [...li.querySelectorAll("mark")].map(m => m.textContent))`))
	if len(marks) == 0 {
		t.Fatalf("the case is not among the results, or nothing in it is highlighted:\n%s", bodyText(t, ctx))
	}
	for _, m := range marks {
		if !strings.HasPrefix(strings.ToLower(m), "λακκούβ") {
			t.Errorf("highlighted %q, which is not the word searched for", m)
		}
	}
}
