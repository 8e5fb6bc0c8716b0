package console

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"dimos"
)

// fakeSearcher answers every search with its hits and records what it was asked.
type fakeSearcher struct {
	mu    sync.Mutex
	hits  []dimos.SearchHit
	asked []searchCall
}

type searchCall struct {
	q     string
	scope dimos.SearchScope
	limit int
}

func (f *fakeSearcher) SearchCases(ctx context.Context, q string, scope dimos.SearchScope, limit int) ([]dimos.SearchHit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, searchCall{q, scope, limit})
	return f.hits, nil
}

func (f *fakeSearcher) calls() []searchCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]searchCall(nil), f.asked...)
}

func withSearch(f *fakeSearcher) func(*Config) { return func(cfg *Config) { cfg.Search = f } }

func searchPath(q string) string { return "/console/search?q=" + url.QueryEscape(q) }

func TestSearchPage(t *testing.T) {
	f := &fakeSearcher{hits: []dimos.SearchHit{{
		Number: numPothole, Subject: "<script>alert(1)</script> Λακκούβα στην οδό Κνωσού",
		Status: dimos.StatusPending, Stage: dimos.StageRouted, CategoryCode: "roads",
		SubmittedAt: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Rank: 0.6,
		Headline: `<script>alert(2)</script> Μεγάλη <mark>λακκούβα</mark> & <b>βαθιά</b> <mark>ΛΑΚΚΟΥΒΕΣ`,
	}}}
	h := newHarness(t, withSearch(f))

	t.Run("HitsHighlightedAndEscaped", func(t *testing.T) {
		p := h.signedIn(t, "maria").get(t, searchPath("λακκούβα"))
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p,
			`<a href="/console/cases/2026-000001">2026-000001</a>`,
			"&lt;script&gt;alert(1)&lt;/script&gt; Λακκούβα στην οδό Κνωσού",
			"&lt;script&gt;alert(2)&lt;/script&gt; Μεγάλη <mark>λακκούβα</mark> &amp; &lt;b&gt;βαθιά&lt;/b&gt; <mark>ΛΑΚΚΟΥΒΕΣ</mark>",
			`class="status status-pending"`, "Οδοποιία", "02/03/2026 11:00",
			`value="λακκούβα"`, "Αποτελέσματα: 1 για «λακκούβα»")
		wantLacks(t, p, "<script>", "<b>")
	})
	t.Run("ScopeFollowsRole", func(t *testing.T) {
		for _, tc := range []struct {
			username string
			want     dimos.SearchScope
		}{
			{"maria", dimos.SearchScope{ServiceID: svcTechnical, EmployeeID: idMaria}},
			{"nikos", dimos.SearchScope{ServiceID: svcCleaning, EmployeeID: idNikos}},
			{"dimitra", dimos.SearchScope{ServiceID: svcTechnical, EmployeeID: idDimitra}},
			{"kostas", dimos.SearchScope{ServiceID: svcTechnical, EmployeeID: idKostas}},
			{"eleni", dimos.SearchScope{All: true}},
		} {
			t.Run(tc.username, func(t *testing.T) {
				before := len(f.calls())
				wantStatus(t, h.signedIn(t, tc.username).get(t, searchPath("  κάδοι  ")), http.StatusOK)
				calls := f.calls()[before:]
				if len(calls) != 1 {
					t.Fatalf("%d searches, want 1", len(calls))
				}
				if got := calls[0]; got.scope != tc.want || got.q != "κάδοι" || got.limit != searchLimit {
					t.Errorf("searched %+v, want scope %+v for κάδοι", got, tc.want)
				}
			})
		}
	})
	t.Run("EmptyQueryShowsFormOnly", func(t *testing.T) {
		before := len(f.calls())
		b := h.signedIn(t, "maria")
		for _, target := range []string{"/console/search", searchPath("   ")} {
			p := b.get(t, target)
			wantStatus(t, p, http.StatusOK)
			wantContains(t, p, `id="search-q"`, "Πληκτρολογήστε αριθμό υπόθεσης")
			wantLacks(t, p, "search-results", "Δεν βρέθηκε", "Αποτελέσματα")
		}
		if n := len(f.calls()) - before; n != 0 {
			t.Errorf("empty query ran %d searches", n)
		}
	})
	t.Run("HeaderBoxOnEveryPage", func(t *testing.T) {
		for _, username := range []string{"maria", "dimitra", "kostas", "eleni"} {
			wantContains(t, h.signedIn(t, username).get(t, "/console/inbox"),
				`action="/console/search" role="search"`, `<label for="header-q"`)
		}
	})
	t.Run("SignedOutGoesToSignIn", func(t *testing.T) {
		p := h.browser().get(t, searchPath("x"))
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, "/console/signin?next="+url.QueryEscape(searchPath("x")))
	})
}

func TestSearchNoResults(t *testing.T) {
	h := newHarness(t, withSearch(&fakeSearcher{}))
	p := h.signedIn(t, "maria").get(t, searchPath("<i>ανύπαρκτο</i>"))
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `role="status"`, "Δεν βρέθηκε υπόθεση για «&lt;i&gt;ανύπαρκτο&lt;/i&gt;».")
	wantLacks(t, p, "<i>ανύπαρκτο", "search-results")
}

func TestSearchUnavailable(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn(t, "maria")
	wantLacks(t, b.get(t, "/console/inbox"), `action="/console/search"`)
	wantStatus(t, b.get(t, searchPath("λακκούβα")), http.StatusServiceUnavailable)
}

func TestSplitHeadline(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []fragment
	}{
		{"", nil},
		{"απλό κείμενο", []fragment{{Text: "απλό κείμενο"}}},
		{"α <mark>β</mark> γ", []fragment{{Text: "α "}, {Text: "β", Match: true}, {Text: " γ"}}},
		{"<mark>β</mark><mark>γ", []fragment{{Text: "β", Match: true}, {Text: "γ", Match: true}}},
		{"α</mark> β", []fragment{{Text: "α β"}}},
	} {
		got := splitHeadline(tc.in)
		if len(got) != len(tc.want) {
			t.Errorf("splitHeadline(%q) = %+v, want %+v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("splitHeadline(%q) = %+v, want %+v", tc.in, got, tc.want)
				break
			}
		}
	}
}
