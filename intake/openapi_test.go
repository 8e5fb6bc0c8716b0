package intake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/account"
	"dimos/intake"
)

// openAPIDoc is the part of the document the tests read.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Info       map[string]any                        `json:"info"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas         map[string]map[string]any `json:"schemas"`
		SecuritySchemes map[string]map[string]any `json:"securitySchemes"`
	} `json:"components"`
}

func fetchOpenAPI(t *testing.T) (*http.Response, openAPIDoc, []byte) {
	t.Helper()
	app := fiber.New()
	intake.MountOpenAPI(app)
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var doc openAPIDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	return resp, doc, raw
}

func TestOpenAPIDocument(t *testing.T) {
	resp, doc, raw := fetchOpenAPI(t)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "public") {
		t.Errorf("Cache-Control %q", cc)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || doc.Info["title"] == nil || doc.Info["version"] == nil || len(doc.Paths) == 0 {
		t.Fatalf("openapi %q, info %v, %d paths", doc.OpenAPI, doc.Info, len(doc.Paths))
	}
	for _, s := range []string{"Error", "Text", "CaseNumber"} {
		if doc.Components.Schemas[s] == nil {
			t.Errorf("schema %s missing", s)
		}
	}
	for _, s := range []string{"caseKey", "accountToken"} {
		if doc.Components.SecuritySchemes[s]["scheme"] != "bearer" {
			t.Errorf("security scheme %s is not bearer: %v", s, doc.Components.SecuritySchemes[s])
		}
	}
	// The pattern in the document must be the one the API enforces.
	pattern, _ := doc.Components.Schemas["CaseNumber"]["pattern"].(string)
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Fatalf("case number pattern %q: %v", pattern, err)
	}
	if n := dimos.FormatCaseNumber(2025, 123); !re.MatchString(n) {
		t.Errorf("pattern %q refuses %s", pattern, n)
	}
	// Every reference points at something defined.
	var refs struct {
		Components map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(raw, &refs); err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`"\$ref":\s*"#/components/([^/"]+)/([^"]+)"`).FindAllStringSubmatch(string(raw), -1) {
		if _, ok := refs.Components[m[1]][m[2]]; !ok {
			t.Errorf("dangling $ref #/components/%s/%s", m[1], m[2])
		}
	}
}

// TestOpenAPICoversEveryRoute walks the routes that intake and account really mount
// and requires each under /api/v1 in the document, with its method.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	_, doc, _ := fetchOpenAPI(t)
	app := fiber.New()
	intake.New(intake.Config{}).Mount(app)
	account.New(account.Config{}).Mount(app)
	param := regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)\??`)
	seen := 0
	mounted := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		if r.Method == fiber.MethodHead || !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		seen++
		p := param.ReplaceAllString(r.Path, "{$1}")
		mounted[p] = true
		ops, ok := doc.Paths[p]
		if !ok {
			t.Errorf("%s %s is not in openapi.json", r.Method, p)
			continue
		}
		if _, ok := ops[strings.ToLower(r.Method)]; !ok {
			t.Errorf("%s %s: path documented, method not", r.Method, p)
		}
	}
	if seen < 20 {
		t.Fatalf("only %d routes under /api/v1 mounted; the walk is broken", seen)
	}
	// Nor may the document promise a route that is gone.
	for p := range doc.Paths {
		if strings.HasPrefix(p, "/api/v1/") && !mounted[p] {
			t.Errorf("openapi.json documents %s, which nothing mounts", p)
		}
	}
	if _, ok := doc.Paths["/healthz"]["get"]; !ok {
		t.Error("GET /healthz is not in openapi.json")
	}
}

// TestOpenAPISubmissionFieldsAccepted posts a case with every property the
// Submission schema documents: the strict decoder refuses unknown fields, so a
// property the API no longer takes fails here.
func TestOpenAPISubmissionFieldsAccepted(t *testing.T) {
	_, doc, _ := fetchOpenAPI(t)
	props, _ := doc.Components.Schemas["Submission"]["properties"].(map[string]any)
	values := map[string]any{
		"kind": "request", "category": "potholes", "subject": "Λακκούβα", "text": "Στην πλατεία.",
		"desired_action": "Επισκευή", "anonymous": false, "lang": "el", "address": "Πλατεία Βενιζέλου 1",
		"contact":  map[string]string{"first_name": "Ελένη", "last_name": "Κ", "email": "eleni@example.gr", "phone": "2841022222"},
		"location": map[string]float64{"lat": 35.19, "lon": 25.72},
		"purpose":  "", "delivery": "",
	}
	for name := range props {
		if _, ok := values[name]; !ok {
			t.Errorf("the test has no value for documented property %q; add one", name)
		}
	}
	body, _ := json.Marshal(values)
	h := newHarness(t)
	code, out := h.do(t, http.MethodPost, "/api/v1/cases", string(body))
	if code != http.StatusCreated {
		t.Fatalf("a submission with every documented property: %d %v", code, out)
	}
}
