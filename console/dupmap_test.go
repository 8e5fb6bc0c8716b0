package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dimos"
	"dimos/i18n"
	"dimos/workflows"
)

// fakeMap answers from the harness's cases that have a point, applying the scope and
// the filters as the store does.
type fakeMap struct {
	cases *fakeCases
	mu    sync.Mutex
	asked []dimos.MapFilter
}

func (f *fakeMap) OpenCasesOnMap(ctx context.Context, q dimos.MapFilter) ([]dimos.MapCase, error) {
	f.mu.Lock()
	f.asked = append(f.asked, q)
	f.mu.Unlock()
	var out []dimos.MapCase
	for _, c := range f.cases.cases {
		inScope := q.Scope.All || q.Scope.ServiceID != 0 && c.ServiceID == q.Scope.ServiceID ||
			q.Scope.EmployeeID != 0 && c.AssigneeID == q.Scope.EmployeeID
		switch {
		case c.Location == nil, c.Stage.Terminal(), !inScope,
			q.CategoryCode != "" && c.CategoryCode != q.CategoryCode,
			q.ServiceID != 0 && c.ServiceID != q.ServiceID,
			q.Stage != "" && c.Stage != q.Stage:
			continue
		}
		out = append(out, dimos.MapCase{Number: c.Number, Subject: c.Subject, CategoryCode: c.CategoryCode,
			ServiceID: c.ServiceID, Stage: c.Stage, Point: *c.Location})
	}
	slices.SortFunc(out, func(a, b dimos.MapCase) int { return strings.Compare(a.Number, b.Number) })
	return out, nil
}

// fakeDuplicates answers a fixed list and remembers what it was asked.
type fakeDuplicates struct {
	mu    sync.Mutex
	found []dimos.Duplicate
	asked []dimos.DuplicateQuery
}

func (f *fakeDuplicates) PossibleDuplicates(ctx context.Context, q dimos.DuplicateQuery) ([]dimos.Duplicate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, q)
	return f.found, nil
}

// withMap gives the harness's cases points (the pothole and the bins; the lamp has
// none) and a map over them.
func withMap() func(*Config) {
	return func(cfg *Config) {
		cases := cfg.Cases.(*fakeCases)
		cases.cases[numPothole].Location = &dimos.Point{Lat: 35.3394, Lon: 25.1332}
		cases.cases[numBins].Location = &dimos.Point{Lat: 35.3401, Lon: 25.1350}
		cfg.Map = &fakeMap{cases: cases}
	}
}

type mapAnswer struct {
	Cases []mapMarker `json:"cases"`
	Error struct {
		Field   string            `json:"field"`
		Key     string            `json:"key"`
		Message map[string]string `json:"message"`
	} `json:"error"`
}

func getJSON(t *testing.T, b *browser, target string) (int, mapAnswer) {
	t.Helper()
	p := b.get(t, target)
	var a mapAnswer
	if err := json.Unmarshal([]byte(p.Body), &a); err != nil {
		t.Fatalf("GET %s: %d, not JSON: %v\n%s", target, p.StatusCode, err, p.Body)
	}
	return p.StatusCode, a
}

func markerNumbers(a mapAnswer) []string {
	var out []string
	for _, m := range a.Cases {
		out = append(out, m.Number)
	}
	return out
}

func TestMapJSONScope(t *testing.T) {
	h := newHarness(t, withMap())
	for _, tc := range []struct {
		user string
		want []string
	}{
		{"maria", []string{numPothole}},          // clerk of Technical Services
		{"dimitra", []string{numPothole}},        // its director
		{"nikos", []string{numBins}},             // clerk of Cleaning
		{"eleni", []string{numPothole, numBins}}, // manager: every service
		{"kostas", []string{numPothole}},         // desk of Technical Services, like search
	} {
		t.Run(tc.user, func(t *testing.T) {
			status, a := getJSON(t, h.signedIn(t, tc.user), "/console/map.json")
			if status != http.StatusOK || !slices.Equal(markerNumbers(a), tc.want) {
				t.Fatalf("%d %v, want %v", status, markerNumbers(a), tc.want)
			}
		})
	}
	t.Run("MarkerFields", func(t *testing.T) {
		_, a := getJSON(t, h.signedIn(t, "maria"), "/console/map.json")
		m := a.Cases[0]
		if m.URL != pothole || m.Lat != 35.3394 || m.Lon != 25.1332 || m.Category != "Οδοποιία" || m.Stage != i18n.T(i18n.Greek, "stage.routed") {
			t.Errorf("marker %+v", m)
		}
	})
	t.Run("Filters", func(t *testing.T) {
		b := h.signedIn(t, "eleni")
		if _, a := getJSON(t, b, "/console/map.json?category=bins"); !slices.Equal(markerNumbers(a), []string{numBins}) {
			t.Errorf("category: %v", markerNumbers(a))
		}
		if _, a := getJSON(t, b, "/console/map.json?service=1"); !slices.Equal(markerNumbers(a), []string{numPothole}) {
			t.Errorf("service: %v", markerNumbers(a))
		}
		if _, a := getJSON(t, b, "/console/map.json?stage=in_progress"); len(a.Cases) != 0 {
			t.Errorf("stage: %v", markerNumbers(a))
		}
	})
	t.Run("ErrBadFilter", func(t *testing.T) {
		b := h.signedIn(t, "eleni")
		for _, tc := range []struct{ query, field string }{
			{"stage=completed", "stage"}, {"stage=nonsense", "stage"}, {"service=abc", "service"}, {"category=unknown", "category"},
		} {
			status, a := getJSON(t, b, "/console/map.json?"+tc.query)
			if status != http.StatusBadRequest || a.Error.Field != tc.field || a.Error.Message["el"] == "" ||
				a.Error.Message["en"] == "" || a.Error.Message["el"] == a.Error.Message["en"] {
				t.Errorf("%s: %d %+v", tc.query, status, a.Error)
			}
		}
		p := b.get(t, "/console/map?stage=completed")
		wantStatus(t, p, http.StatusBadRequest)
		wantContains(t, p, el("console.map.field.stage"))
	})
}

func TestMapPage(t *testing.T) {
	h := newHarness(t, withMap(), func(cfg *Config) {
		cfg.MapTiles = "https://{s}.tiles.example.gr/{z}/{x}/{y}.png"
		cfg.MapAttribution = `<b>Χάρτες</b> "Δήμου"`
	})
	p := h.signedIn(t, "maria").get(t, "/console/map?category=roads")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p,
		`<a href="/console/map">`+el("console.nav.map")+`</a>`,
		`data-src="/console/map.json?category=roads"`,
		`data-tiles="https://{s}.tiles.example.gr/{z}/{x}/{y}.png"`,
		`data-attribution="&lt;b&gt;Χάρτες&lt;/b&gt; &#34;Δήμου&#34;"`,
		`<script src="/console/static/vendor/leaflet/leaflet.js" defer></script>`,
		`<script src="/console/static/map.js" defer></script>`,
		`<option value="roads" selected>`,
		`<a href="`+pothole+`">`+numPothole+`</a>`,
	)
	wantLacks(t, p, numBins, "<script>")
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://*.tiles.example.gr;") {
		t.Errorf("CSP %q does not let the tiles in", csp)
	}

	t.Run("Unavailable", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		wantStatus(t, b.get(t, "/console/map"), http.StatusServiceUnavailable)
		wantLacks(t, b.get(t, "/console/inbox"), `href="/console/map"`)
	})
}

func TestContentSecurityPolicyTiles(t *testing.T) {
	for _, tc := range []struct {
		tiles, want string
	}{
		{"", "https://tile.openstreetmap.org"},
		{"https://maps.dimos.example.gr:8443/osm/{z}/{x}/{y}.png", "https://maps.dimos.example.gr:8443"},
		{"https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"},
	} {
		h := newHarness(t, func(cfg *Config) { cfg.MapTiles = tc.tiles })
		p := h.browser().get(t, "/console/signin")
		csp := p.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "img-src 'self' data: "+tc.want+";") {
			t.Errorf("tiles %q: CSP %q, want img-src of %s", tc.tiles, csp, tc.want)
		}
		// Scripts stay the console's own: nothing inline, nothing from the tile server.
		if !strings.HasPrefix(csp, "default-src 'self';") || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
			t.Errorf("CSP %q widens more than images", csp)
		}
	}
	for _, bad := range []string{"javascript:alert(1)", "https://a.example; script-src *", "ftp://tiles.example/{z}", "https://", "https://tiles.{s}.example/{z}"} {
		if origin, err := TileOrigin(bad); err == nil {
			t.Errorf("TileOrigin(%q) = %q, want refused", bad, origin)
		}
	}
	h := newHarness(t, func(cfg *Config) { cfg.MapTiles = "https://a.example; script-src *" })
	if csp := h.browser().get(t, "/console/signin").Header.Get("Content-Security-Policy"); strings.Contains(csp, "script-src") || !strings.Contains(csp, "img-src 'self' data:;") {
		t.Errorf("a bad tile template reached the CSP: %q", csp)
	}
}

func TestVendoredLeaflet(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	for path, want := range map[string]string{
		"/console/static/vendor/leaflet/leaflet.js":               "javascript",
		"/console/static/vendor/leaflet/leaflet.css":              "text/css",
		"/console/static/vendor/leaflet/images/marker-icon.png":   "image/png",
		"/console/static/vendor/leaflet/images/marker-shadow.png": "image/png",
		"/console/static/map.js":                                  "javascript",
	} {
		p := b.get(t, path)
		if ct := p.Header.Get("Content-Type"); p.StatusCode != http.StatusOK || !strings.Contains(ct, want) || len(p.Body) < 100 {
			t.Errorf("%s: %d %q (%d bytes), want %s", path, p.StatusCode, ct, len(p.Body), want)
		}
		if p.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
	}
	if ct := b.get(t, "/console/static/vendor/leaflet/images/marker-icon.png").Header.Get("Content-Type"); strings.Contains(ct, "charset") {
		t.Errorf("an image with a charset: %q", ct)
	}
	wantStatus(t, b.get(t, "/console/static/vendor/../../views/layout.html"), http.StatusNotFound)
}

func TestCaseDuplicates(t *testing.T) {
	dups := &fakeDuplicates{found: []dimos.Duplicate{
		{Number: numLight, Subject: "Σβηστή <λάμπα>", Stage: dimos.StageAssigned, DistanceM: 111.4, Similarity: 0.123,
			SubmittedAt: time.Date(2026, 2, 20, 8, 0, 0, 0, time.UTC)},
		{Number: "2026-000009", Subject: "Λακκούβα στην οδό Κνωσού", Stage: dimos.StageRouted, DistanceM: -1, Similarity: 0.87},
	}}
	h := newHarness(t, withMap(), func(cfg *Config) { cfg.Duplicates = dups; cfg.DuplicateRadiusM = 200 })
	b := h.signedIn(t, "maria")
	p := b.get(t, pothole)
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p,
		el("console.duplicates.title"), el("console.duplicates.hint", 200),
		`<a href="/console/cases/`+numLight+`">`+numLight+`</a>`, "Σβηστή &lt;λάμπα&gt;",
		el("console.duplicates.metres", 111), el("console.duplicates.percent", 12), el("console.duplicates.percent", 87),
		`<option value="2026-000009">`,
		// The case's point, for map.js, with the same tiles as the map page.
		`data-lat="35.339400" data-lon="25.133200"`, `data-tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png"`,
		`<script src="/console/static/map.js" defer></script>`,
	)
	if len(dups.asked) != 1 || dups.asked[0].Case.Number != numPothole || dups.asked[0].RadiusM != 200 || dups.asked[0].Limit != 10 {
		t.Errorf("asked %+v", dups.asked)
	}
	// The merge form is the last of the holder's decisions.
	forms := regexpForms.FindAllStringSubmatch(p.Body, -1)
	if len(forms) == 0 || forms[len(forms)-1][1] != "merge" {
		t.Errorf("merge form not last: %v", forms)
	}

	t.Run("NoPointNoMap", func(t *testing.T) {
		p := b.get(t, "/console/cases/"+numLight)
		wantLacks(t, p, "data-map", "leaflet.js")
	})
	t.Run("ClosedCaseHasNone", func(t *testing.T) {
		before := len(dups.asked)
		p := b.get(t, "/console/cases/"+numCompleted)
		wantStatus(t, p, http.StatusOK)
		wantLacks(t, p, el("console.duplicates.title"), `/merge"`)
		if len(dups.asked) != before {
			t.Error("duplicates asked for a closed case")
		}
	})
}

func TestMergeDecision(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn(t, "maria")
	p := b.decide(t, numPothole, "merge", url.Values{"original": {" 2026000003 "}, "reason": {"Ίδιο σημείο."}})
	wantStatus(t, p, http.StatusSeeOther)
	wantLocation(t, p, pothole+"?done=merge")
	calls := h.work.called()
	if len(calls) != 1 || calls[0].Name != workflows.UpdateMerge || calls[0].Number != numPothole {
		t.Fatalf("calls %+v", calls)
	}
	want := workflows.MergeRequest{By: actorOf(h, idMaria), Reason: "Ίδιο σημείο.",
		Original: workflows.MergeOriginal{Number: numLight, CategoryCode: "lighting", Stage: dimos.StageRouted}}
	if got := calls[0].Req.(workflows.MergeRequest); got != want {
		t.Errorf("request %+v, want %+v", got, want)
	}
	if a := h.audit.find("case.merge"); len(a) != 1 || a[0].Target != numPothole || a[0].Detail != "original="+numLight {
		t.Errorf("audit %+v", a)
	}
	wantContains(t, b.get(t, pothole+"?done=merge"), el("console.done.merge"))

	t.Run("ErrOriginal", func(t *testing.T) {
		for _, original := range []string{"", "not-a-number", "2026-999999", numBins} { // the bins are Cleaning's: unknown to Maria
			p := b.decide(t, numPothole, "merge", url.Values{"original": {original}})
			wantStatus(t, p, http.StatusBadRequest)
			key := "error.merge.original_unknown"
			if original == "" {
				key = "field.required"
			}
			wantContains(t, p, `id="merge-original-errors"`, el(key), `aria-invalid="true"`)
			if i18n.T(i18n.Greek, key) == i18n.T(i18n.English, key) {
				t.Errorf("%s reads the same in both languages", key)
			}
		}
		if n := len(h.work.called()); n != 1 {
			t.Errorf("%d updates sent for refused forms", n)
		}
	})
	t.Run("RefusedByTheWorkflow", func(t *testing.T) {
		h.work.err = &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid", Fields: []dimos.FieldError{{Field: "reason", Key: "error.merge.category_reason"}}}
		defer func() { h.work.err = nil }()
		p := b.decide(t, numPothole, "merge", url.Values{"original": {numLight}})
		wantStatus(t, p, http.StatusBadRequest)
		wantContains(t, p, `id="merge-reason-errors"`, el("error.merge.category_reason"), `value="`+numLight+`"`)
	})
}

var regexpForms = regexp.MustCompile(`<form method="post" action="/console/cases/[0-9-]+/([a-z-]+)"`)
