package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"dimos"
	"dimos/i18n"
)

func TestInboxTabs(t *testing.T) {
	h := newHarness(t)
	maria, eleni := h.signedIn(t, "maria"), h.signedIn(t, "eleni")

	t.Run("ClerkTabsAndCounts", func(t *testing.T) {
		p := maria.get(t, "/console/inbox")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p,
			`href="/console/inbox?tab=mine" aria-current="page"`, `href="/console/inbox?tab=service"`,
			`href="/console/inbox?tab=waiting"`, `href="/console/inbox?tab=overdue"`,
			// Maria holds two open cases; one is past its deadline.
			`<span class="count" data-tab="mine">2</span>`, `<span class="count" data-tab="overdue">1</span>`,
			i18n.T("el", "inbox.rule")[:40],
			`class="clock clock-overdue">`+fmt.Sprintf(i18n.T("el", "inbox.clock.overdue"), 1),
			`<script src="/console/static/inbox.js" defer></script>`,
		)
		wantLacks(t, p, "tab=all", numBins)
		if csp := p.Header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe") || !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
	})
	t.Run("OverdueTab", func(t *testing.T) {
		p := maria.get(t, "/console/inbox?tab=overdue")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, numLight, `aria-current="page">`+i18n.T("el", "inbox.tab.overdue"))
		wantLacks(t, p, `<a href="/console/cases/`+numPothole+`">`)
	})
	t.Run("ManagerAll", func(t *testing.T) {
		p := eleni.get(t, "/console/inbox?tab=all")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, numBins, numPothole, `<span class="count" data-tab="all">3</span>`)
		// A manager belongs to no service: no service tab.
		wantLacks(t, p, "tab=service")
		if q := h.cases.queries[len(h.cases.queries)-1]; !q.Scope.All || q.Tab != dimos.InboxAll {
			t.Errorf("query %+v", q)
		}
	})
	t.Run("ErrAllForClerk", func(t *testing.T) {
		p := maria.get(t, "/console/inbox?tab=all")
		wantStatus(t, p, http.StatusForbidden)
		wantLacks(t, p, numBins)
	})
	t.Run("FiltersReachTheStore", func(t *testing.T) {
		p := maria.get(t, "/console/inbox?tab=mine&category=roads&stage=routed&status=pending&channel=portal&kind=request&from=2026-03-01&to=2026-03-02")
		wantStatus(t, p, http.StatusOK)
		q := h.cases.queries[len(h.cases.queries)-1]
		want := dimos.InboxFilters{Category: "roads", Stage: dimos.StageRouted, Status: dimos.StatusPending,
			Channel: dimos.ChannelPortal, Kind: dimos.KindRequest,
			From: time.Date(2026, 3, 1, 0, 0, 0, 0, athens), To: time.Date(2026, 3, 3, 0, 0, 0, 0, athens)}
		if q.Filters != want {
			t.Errorf("filters %+v, want %+v", q.Filters, want)
		}
		// The form shows them again, and the tab links keep them.
		wantContains(t, p, `<option value="roads" selected>`, `<option value="routed" selected>`,
			`value="2026-03-01"`, `href="/console/inbox?category=roads&amp;channel=portal&amp;from=2026-03-01&amp;kind=request&amp;stage=routed&amp;status=pending&amp;tab=overdue&amp;to=2026-03-02"`)
	})
}

func TestInboxFilterErrors(t *testing.T) {
	h := newHarness(t)
	maria := h.signedIn(t, "maria")
	tests := []struct {
		name, query, field, msg string
	}{
		{"ErrTab", "tab=everything", "tab", "inbox.error.tab"},
		{"ErrCategory", "category=nope", "category", "inbox.error.category"},
		{"ErrStage", "stage=flying", "stage", "inbox.error.stage"},
		{"ErrClosedStage", "stage=completed", "stage", "inbox.error.stage"},
		{"ErrStatus", "status=completed", "status", "inbox.error.status"},
		{"ErrChannel", "channel=fax", "channel", "inbox.error.channel"},
		{"ErrKind", "kind=praise", "kind", "inbox.error.kind"},
		{"ErrFrom", "from=1/3/2026", "from", "inbox.error.date"},
		{"ErrTo", "to=2026-13-01", "to", "inbox.error.date"},
		{"ErrRange", "from=2026-03-05&to=2026-03-01", "to", "inbox.error.range"},
		{"ErrCursor", "after=yesterday", "page", "inbox.error.page"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.cases.queries)
			for _, path := range []string{"/console/inbox?", "/console/inbox/rows?"} {
				p := maria.get(t, path+tc.query)
				wantStatus(t, p, http.StatusBadRequest)
				if strings.HasPrefix(path, "/console/inbox?") {
					wantContains(t, p, `<a href="#filter-`+tc.field+`">`+i18n.T("el", "inbox.filter."+tc.field)+"</a>: "+
						i18n.T("el", tc.msg))
				}
			}
			if len(h.cases.queries) != before {
				t.Error("the store was asked despite a bad filter")
			}
		})
	}
	t.Run("AllAtOnceInEnglish", func(t *testing.T) {
		b := h.signedIn(t, "maria")
		b.get(t, "/console/lang/en?next=/console/inbox")
		p := b.get(t, "/console/inbox?kind=praise&channel=fax")
		wantStatus(t, p, http.StatusBadRequest)
		wantContains(t, p, `<html lang="en">`,
			"Kind</a>: "+i18n.T("en", "inbox.error.kind"), "Channel</a>: "+i18n.T("en", "inbox.error.channel"),
			`id="filter-kind" name="kind" aria-invalid="true"`)
	})
}

func TestInboxRowsFragment(t *testing.T) {
	h := newHarness(t)
	maria := h.signedIn(t, "maria")
	p := maria.get(t, "/console/inbox/rows?tab=mine")
	wantStatus(t, p, http.StatusOK)
	if !strings.HasPrefix(strings.TrimSpace(p.Body), `<div id="inbox-live">`) {
		t.Errorf("fragment starts %q", p.Body[:min(len(p.Body), 60)])
	}
	wantContains(t, p, `<tbody id="inbox-rows">`, `<tr data-href="/console/cases/`+numLight+`">`,
		`<span class="count" data-tab="mine">2</span>`)
	wantLacks(t, p, "<html", "<header", "<form")

	// A new case assigned to Maria shows on the next refresh.
	h.cases.mu.Lock()
	h.cases.cases["2026-000009"] = &dimos.Case{ID: 9, Number: "2026-000009", Kind: dimos.KindComplaint, CategoryCode: "roads",
		Channel: dimos.ChannelIVR, Subject: "Νέα υπόθεση", Stage: dimos.StageAssigned, Status: dimos.StatusInProgress,
		ServiceID: svcTechnical, AssigneeID: idMaria, SubmittedAt: h.clock.Now()}
	h.cases.mu.Unlock()
	p = maria.get(t, "/console/inbox/rows?tab=mine")
	wantContains(t, p, "2026-000009", "Νέα υπόθεση", `<span class="count" data-tab="mine">3</span>`, "Τηλέφωνο (IVR)")

	t.Run("ErrSignedOut", func(t *testing.T) {
		p := h.browser().get(t, "/console/inbox/rows")
		wantStatus(t, p, http.StatusSeeOther)
	})
	t.Run("ErrForbiddenTab", func(t *testing.T) {
		wantStatus(t, maria.get(t, "/console/inbox/rows?tab=all"), http.StatusForbidden)
	})
}

func TestInboxPaging(t *testing.T) {
	h := newHarness(t)
	h.cases.mu.Lock()
	for i := range 55 {
		n := fmt.Sprintf("2026-%06d", 100+i)
		h.cases.cases[n] = &dimos.Case{ID: int64(100 + i), Number: n, Kind: dimos.KindRequest, CategoryCode: "roads",
			Channel: dimos.ChannelPortal, Subject: "Υπόθεση " + n, Stage: dimos.StageAssigned, Status: dimos.StatusInProgress,
			ServiceID: svcTechnical, AssigneeID: idGiorgos, SubmittedAt: h.clock.Now()}
	}
	h.cases.mu.Unlock()
	giorgos := h.signedIn(t, "giorgos")
	first := giorgos.get(t, "/console/inbox?kind=request")
	wantStatus(t, first, http.StatusOK)
	wantContains(t, first, "2026-000100", "2026-000149", `rel="next"`)
	wantLacks(t, first, "2026-000150", `rel="prev"`)
	next := hrefOf(t, first.Body, `rel="next"`)
	if !strings.Contains(next, "kind=request") || !strings.Contains(next, "after=") {
		t.Fatalf("next link %q does not keep the filters", next)
	}
	second := giorgos.get(t, next)
	wantStatus(t, second, http.StatusOK)
	wantContains(t, second, "2026-000150", "2026-000154", `rel="prev"`)
	wantLacks(t, second, "2026-000149<", `rel="next"`)
	if q := h.cases.queries[len(h.cases.queries)-1]; q.After == nil || q.After.ID != 149 {
		t.Errorf("second page query %+v", q)
	}
}

// hrefOf returns the unescaped href of the first link carrying attr.
func hrefOf(t *testing.T, body, attr string) string {
	t.Helper()
	i := strings.Index(body, attr)
	if i < 0 {
		t.Fatalf("no link with %s", attr)
	}
	start := strings.LastIndex(body[:i], `href="`) + len(`href="`)
	end := strings.Index(body[start:], `"`)
	href := strings.ReplaceAll(body[start:start+end], "&amp;", "&")
	if _, err := url.Parse(href); err != nil {
		t.Fatal(err)
	}
	return href
}

func TestInboxScript(t *testing.T) {
	h := newHarness(t)
	p := h.browser().get(t, "/console/static/inbox.js")
	wantStatus(t, p, http.StatusOK)
	if ct := p.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("content type %q", ct)
	}
	// The script reads its settings from the page and talks to the fragment endpoint.
	wantContains(t, p, `getAttribute("data-rows-url")`, `"inbox-live"`, `"keydown"`, "setInterval")
	page := h.signedIn(t, "maria").get(t, "/console/inbox")
	wantContains(t, page, `data-rows-url="/console/inbox/rows"`, `data-refresh="15"`, `id="inbox-live"`, `id="inbox-rows"`,
		`id="inbox-shortcuts"`, `class="skip" href="#main"`)
}
