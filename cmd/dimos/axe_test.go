package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"dimos"
)

// axeDir is the npm project that runs axe-core in the system chromium; `make deps`
// installs its node_modules with npm ci.
var axeDir = filepath.Join("..", "..", "e2e", "axe")

// axeReport is what e2e/axe/axe.mjs prints.
type axeReport struct {
	Tags  []string
	Pages []struct {
		Path, As, Error string
		Passes          int
		Violations      []struct {
			ID, Impact, Help, HelpURL string
			Nodes                     []struct {
				Target  []any
				HTML    string
				Summary string
			}
		}
	}
}

// sessionCookie signs username in over HTTP and returns the console's session cookie.
func sessionCookie(t *testing.T, base, username string) string {
	t.Helper()
	b := newBrowser(t, base)
	b.signIn(username)
	u, _ := url.Parse(base + "/console/")
	for _, c := range b.http.Jar.Cookies(u) {
		if c.Name == "dimos_staff" {
			return c.Value
		}
	}
	t.Fatalf("no session cookie after signing in as %s", username)
	return ""
}

// TestAccessibility runs axe-core (WCAG 2.0 A/AA, 2.1 AA) in the system chromium over
// the console's pages, each as the role that works on it, and fails on any serious
// or critical violation. The pages are listed in e2e/axe/axe.mjs (PAGES).
func TestAccessibility(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("axe needs %s; `make deps` installs it: %v", chromiumPath, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("axe needs node: %v", err)
	}
	if _, err := os.Stat(filepath.Join(axeDir, "node_modules", "@axe-core", "puppeteer")); err != nil {
		t.Fatalf("e2e/axe has no node_modules; `make deps` runs npm ci there: %v", err)
	}
	srv := startTemporal(t, 0)
	s := newStack(t, srv.FrontendAddr(), true)
	number := s.submit(complaint)
	director := newBrowser(t, s.base)
	director.signIn("tech.director")
	// The case page is checked as its director sees it, with every decision's form.
	eventually(t, 30*time.Second, "the case routed to the director", func() bool {
		_, inbox := director.get("/console/inbox")
		return strings.Contains(inbox, number)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	params := adminPageParams(t, s)
	cmd := exec.CommandContext(ctx, node, append([]string{"axe.mjs", "--base", s.base,
		"--cookie", "director=" + sessionCookie(t, s.base, "tech.director"),
		"--cookie", "admin=" + sessionCookie(t, s.base, "admin"),
		"--case", number, "--query", "λακκουβα", "--chromium", chromiumPath}, params...)...)
	cmd.Dir = axeDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var rep axeReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("axe.mjs: %v, %v\nstdout:\n%s\nstderr:\n%s", runErr, err, stdout.String(), stderr.String())
	}
	if len(rep.Pages) == 0 {
		t.Fatal("axe.mjs checked no page")
	}
	for _, p := range rep.Pages {
		if p.Error != "" {
			t.Errorf("%s (as %s): %s", p.Path, orNone(p.As), p.Error)
			continue
		}
		for _, v := range p.Violations {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, fmt.Sprintf("      %v %s", n.Target, n.HTML))
			}
			msg := fmt.Sprintf("%s (as %s): %s [%s] %s\n    %s\n%s", p.Path, orNone(p.As), v.ID, v.Impact, v.Help, v.HelpURL, strings.Join(where, "\n"))
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Error(msg)
			} else {
				t.Log(msg)
			}
		}
		t.Logf("%s (as %s): %d rules passed, %d violated", p.Path, orNone(p.As), p.Passes, len(p.Violations))
	}
	if runErr != nil && !t.Failed() {
		t.Fatalf("axe.mjs: %v\n%s", runErr, stderr.String())
	}
}

// adminPageParams names, as axe.mjs --param flags, a service, an employee, a
// category and a response template of the seeded directory, so that the admins'
// edit pages are checked with real rows in their forms. The seed has no template:
// one is written for the category.
func adminPageParams(t *testing.T, s *stack) []string {
	t.Helper()
	ctx := context.Background()
	services, err := s.db.AdminServices(ctx)
	if err != nil || len(services) == 0 {
		t.Fatalf("services: %d, %v", len(services), err)
	}
	employees, err := s.db.AdminEmployees(ctx, dimos.EmployeeFilter{Role: dimos.RoleClerk})
	if err != nil || len(employees) == 0 {
		t.Fatalf("employees: %d, %v", len(employees), err)
	}
	categories, err := s.db.AdminCategories(ctx)
	if err != nil || len(categories) == 0 {
		t.Fatalf("categories: %d, %v", len(categories), err)
	}
	tpl := &dimos.ResponseTemplate{CategoryCode: categories[0].Code, Title: "Αποκατάσταση",
		BodyEL: "Η βλάβη αποκαταστάθηκε.", BodyEN: "The damage has been repaired."}
	if err := s.db.SaveResponseTemplate(ctx, tpl); err != nil {
		t.Fatal(err)
	}
	return []string{"--param", "service=" + strconv.FormatInt(services[0].ID, 10),
		"--param", "employee=" + strconv.FormatInt(employees[0].ID, 10),
		"--param", "category=" + categories[0].Code,
		"--param", "template=" + strconv.FormatInt(tpl.ID, 10)}
}

func orNone(role string) string {
	if role == "" {
		return "visitor"
	}
	return role
}
