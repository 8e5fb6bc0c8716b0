package console

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"dimos"
)

// auditHarness has an admin and a log of 60 entries: sign-ins of Maria and Nikos on
// the first of March and decisions on cases on the second, in Athens time.
func auditHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	withAdmin(h)
	athensDay := func(day, hour, min int) time.Time { return time.Date(2026, 3, day, hour, min, 0, 0, athens) }
	add := func(e dimos.AuditEntry) { h.audit.Audit(t.Context(), e) } //nolint:errcheck // the fake does not fail
	for i := range 30 {
		add(dimos.AuditEntry{At: athensDay(1, 8, i), EmployeeID: idMaria, Action: auditSignin, Target: "maria", IP: "10.0.0.1"})
	}
	for i := range 29 {
		add(dimos.AuditEntry{At: athensDay(2, 9, i), EmployeeID: idNikos, Action: "case.comment", Target: numBins, IP: "10.0.0.2"})
	}
	add(dimos.AuditEntry{At: athensDay(2, 23, 30), Action: auditSigninFailed, Target: "=HYPERLINK(\"x\")", IP: "203.0.113.9"})
	return h
}

func TestAuditPage(t *testing.T) {
	t.Run("NewestFirstWithNamesAndLabels", func(t *testing.T) {
		h := auditHarness(t)
		b := h.signedIn(t, "admin")
		p := b.get(t, pathAudit)
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, "Νίκος Γεωργίου", "Σχόλιο σε υπόθεση", "<code class=\"muted\">case.comment</code>", numBins,
			"10.0.0.2", "Αποτυχημένη σύνδεση", "203.0.113.9", "=HYPERLINK(&#34;x&#34;)", `href="/console/admin/audit?before=`)
		// 60 entries plus the admin's sign-in: the first page has the 50 newest, and
		// Maria's oldest sign-ins are on the next.
		if n := strings.Count(p.Body, "<time datetime="); n != auditPageSize {
			t.Errorf("first page has %d rows, want %d", n, auditPageSize)
		}
		if !strings.Contains(p.Body, `<a href="/console/admin/audit">`) {
			t.Error("header lacks the audit link for an admin")
		}
		views := h.audit.find(auditAuditView)
		if len(views) != 1 || views[0].EmployeeID != idAdmin {
			t.Fatalf("audit.view entries: %+v", views)
		}
		// The next page: older than the last row shown, from the link itself.
		next := linkAfter(t, p.Body, `rel="next"`)
		p2 := b.get(t, next)
		wantStatus(t, p2, http.StatusOK)
		wantContains(t, p2, "Μαρία Παπαδοπούλου", "Σύνδεση")
		wantLacks(t, p2, "Νίκος Γεωργίου", `rel="next"`)
		if n := strings.Count(p2.Body, "<time datetime="); n != 61-auditPageSize {
			t.Errorf("second page has %d rows, want %d", n, 61-auditPageSize)
		}
	})
	t.Run("Filters", func(t *testing.T) {
		h := auditHarness(t)
		b := h.signedIn(t, "admin")
		p := b.get(t, pathAudit+"?user=NIKOS&action=case.&target="+numBins+"&from=2026-03-02&to=2026-03-02")
		wantStatus(t, p, http.StatusOK)
		wantLacks(t, p, "Μαρία Παπαδοπούλου", `rel="next"`)
		if n := strings.Count(p.Body, "<time datetime="); n != 29 {
			t.Errorf("%d rows, want Nikos's 29 comments", n)
		}
		f := h.audit.filters[len(h.audit.filters)-1]
		wantFrom := time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC) // midnight in Athens (UTC+2)
		if f.Username != "nikos" || f.ActionPrefix != "case." || f.Target != numBins ||
			!f.From.Equal(wantFrom) || !f.To.Equal(wantFrom.Add(24*time.Hour)) {
			t.Errorf("filter %+v", f)
		}
		// The CSV link carries the same filters.
		wantContains(t, p, `href="/console/admin/audit.csv?action=case.&amp;from=2026-03-02&amp;target=`+numBins+`&amp;to=2026-03-02&amp;user=NIKOS"`)
	})
	t.Run("ErrBadDate", func(t *testing.T) {
		h := auditHarness(t)
		b := h.signedIn(t, "admin")
		p := b.get(t, pathAudit+"?from=1/3/2026")
		wantStatus(t, p, http.StatusBadRequest)
		wantContains(t, p, "ΕΕΕΕ-ΜΜ-ΗΗ", `value="1/3/2026"`)
		wantLacks(t, p, "10.0.0.1")
	})
	t.Run("ErrForbiddenToManager", func(t *testing.T) {
		h := auditHarness(t)
		b := h.signedIn(t, "eleni")
		wantStatus(t, b.get(t, pathAudit), http.StatusForbidden)
		wantStatus(t, b.get(t, pathAuditCSV), http.StatusForbidden)
		if p := b.get(t, "/console/inbox"); strings.Contains(p.Body, pathAudit) {
			t.Error("header links a manager to the audit log")
		}
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		h := newHarness(t, func(cfg *Config) { cfg.AuditLog = nil })
		withAdmin(h)
		b := h.signedIn(t, "admin")
		wantStatus(t, b.get(t, pathAudit), http.StatusServiceUnavailable)
	})
}

func TestAuditCSV(t *testing.T) {
	h := auditHarness(t)
	b := h.signedIn(t, "admin")
	p := b.get(t, pathAuditCSV+"?action=signin")
	wantStatus(t, p, http.StatusOK)
	if ct := p.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := p.Header.Get("Content-Disposition"); cd != `attachment; filename="audit-20260302-1400.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if !strings.HasPrefix(p.Body, "\uFEFFid,Πότε,Ποιος,") {
		t.Fatalf("CSV does not start with a BOM and the Greek header:\n%.200q", p.Body)
	}
	lines := strings.Split(strings.TrimSuffix(p.Body, "\r\n"), "\r\n")
	// Header, the failed sign-in, the admin's own sign-in, Maria's 30 (not one page:
	// every matching row).
	if len(lines) != 1+1+1+30 {
		t.Fatalf("%d lines, want 33:\n%s", len(lines), p.Body)
	}
	wantLine := `60,2026-03-02 23:30:00,,,signin.failed,Αποτυχημένη σύνδεση,"'=HYPERLINK(""x"")",,203.0.113.9`
	if lines[2] != wantLine {
		t.Errorf("line 2:\n%s\nwant\n%s", lines[2], wantLine)
	}
	if want := "1,2026-03-01 08:00:00,Μαρία Παπαδοπούλου,maria,signin,Σύνδεση,maria,,10.0.0.1"; lines[len(lines)-1] != want {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
	}
	exports := h.audit.find(auditAuditExport)
	if len(exports) != 1 || exports[0].EmployeeID != idAdmin || exports[0].Detail != "action=signin rows=32" {
		t.Errorf("audit.export entries: %+v", exports)
	}
	if views := h.audit.find(auditAuditView); len(views) != 0 {
		t.Errorf("an export was audited as a view: %+v", views)
	}
}

// linkAfter returns the href of the link whose tag holds marker.
func linkAfter(t *testing.T, body, marker string) string {
	t.Helper()
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no link %s", marker)
	}
	start := strings.LastIndex(body[:i], `href="`)
	end := strings.Index(body[start+6:], `"`)
	return strings.ReplaceAll(body[start+6:start+6+end], "&amp;", "&")
}
