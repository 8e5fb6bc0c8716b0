package intake_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/intake"
	"dimos/postgres"
	"dimos/postgres/pgtest"
)

type harness struct {
	app    *fiber.App
	db     *postgres.DB
	mu     sync.Mutex
	kicked []string
}

func newHarness(t testing.TB) *harness {
	h := &harness{db: pgtest.New(t, true)}
	h.app = fiber.New(fiber.Config{DisablePreParseMultipartForm: true}) // as cmd/dimos serves it
	intake.New(intake.Config{Cases: h.db, Directory: h.db, Kick: func(c *dimos.Case) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.kicked = append(h.kicked, c.Number)
	}, Checks: map[string]dimos.Health{"postgres": h.db, "temporal": down{}}}).Mount(h.app)
	return h
}

type down struct{}

func (down) Ping(context.Context) error { return errors.New("connection refused") }

func (h *harness) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %s", method, path, raw)
	}
	return resp.StatusCode, out
}

// errorFields lists "field:code" of an error answer, and checks that every message
// is there in both languages.
func errorFields(t *testing.T, body map[string]any) []string {
	t.Helper()
	e, _ := body["error"].(map[string]any)
	if e == nil {
		t.Fatalf("no error object in %v", body)
	}
	msg, _ := e["message"].(map[string]any)
	if msg["el"] == "" || msg["en"] == "" || msg["el"] == msg["en"] {
		t.Fatalf("error message not in Greek and English: %v", msg)
	}
	var out []string
	fs, _ := e["fields"].([]any)
	for _, f := range fs {
		f := f.(map[string]any)
		m := f["message"].(map[string]any)
		if m["el"] == "" || m["en"] == "" {
			t.Fatalf("field message missing a language: %v", f)
		}
		out = append(out, f["field"].(string)+":"+f["code"].(string))
	}
	return out
}

const good = `{"kind":"request","category":"street-lighting","subject":"Σβηστή λάμπα","text":"Ο στύλος 14 δεν ανάβει.",
	"contact":{"first_name":"Νίκος","last_name":"Ιωάννου","phone":"6900000001"}}`

func TestSubmit(t *testing.T) {
	h := newHarness(t)

	t.Run("Accepted", func(t *testing.T) {
		code, body := h.do(t, "POST", "/api/v1/cases", good)
		if code != http.StatusCreated || body["status"] != "pending" {
			t.Fatalf("%d %v", code, body)
		}
		number := body["number"].(string)
		cs, err := h.db.CaseByNumber(context.Background(), number)
		if err != nil || cs.Channel != dimos.ChannelPortal || cs.Contact.Phone != "6900000001" {
			t.Fatalf("stored %+v %v", cs, err)
		}
		if !slices.Contains(h.kicked, number) {
			t.Fatal("the starter was not told of the accepted case")
		}
	})

	t.Run("MapPoint", func(t *testing.T) {
		body := strings.Replace(good, `"text":`, `"location":{"lat":40.6401,"lon":22.9444},"address":"Εγνατίας 12","text":`, 1)
		code, out := h.do(t, "POST", "/api/v1/cases", body)
		if code != http.StatusCreated {
			t.Fatalf("%d %v", code, out)
		}
		cs, _ := h.db.CaseByNumber(context.Background(), out["number"].(string))
		if cs.Location == nil || cs.Location.Lat != 40.6401 || cs.Location.Lon != 22.9444 || cs.Address != "Εγνατίας 12" {
			t.Fatalf("stored %+v %+v", cs.Location, cs.Address)
		}
	})

	t.Run("AnonymousKeepsNoContact", func(t *testing.T) {
		code, body := h.do(t, "POST", "/api/v1/cases", `{"kind":"suggestion","category":"general","subject":"Παγκάκια",
			"text":"Περισσότερα παγκάκια στην πλατεία.","anonymous":true,"contact":{"first_name":"Κ","email":"k@example.gr"}}`)
		if code != http.StatusCreated || body["trackable"] != false {
			t.Fatalf("%d %v", code, body)
		}
		cs, _ := h.db.CaseByNumber(context.Background(), body["number"].(string))
		if cs.Contact != (dimos.Contact{}) {
			t.Fatalf("anonymous case kept contact data: %+v", cs.Contact)
		}
		code, status := h.do(t, "GET", "/api/v1/cases/"+cs.Number+"/status", "")
		if code != http.StatusForbidden || !slices.Equal(errorFields(t, status), nil) {
			t.Fatalf("tracking an anonymous case: %d %v", code, status)
		}
	})

	bad := []struct {
		name string
		body string
		want []string
	}{
		{"ErrNotJSON", `kind=request`, nil},
		{"ErrTrailingData", good + ` {}`, nil},
		{"ErrEmptyBody", ``, nil},
		{"ErrWrongType", `{"kind":"request","anonymous":"yes"}`, []string{"anonymous:field.type"}},
		{"ErrUnknownField", `{"kind":"request","priority":1}`, []string{"priority:field.unknown"}},
		{"ErrInvalidUTF8", strings.Replace(good, "Σβηστή", "\xff\xfe", 1), nil},
		{"ErrUnknownCategory", strings.Replace(good, "street-lighting", "moon-landing", 1), []string{"category:field.category.unknown"}},
		{"ErrCategoryKind", strings.Replace(good, `"kind":"request"`, `"kind":"suggestion"`, 1), []string{"category:field.category.kind"}},
		{"ErrCertificateNeedsAccount", strings.Replace(strings.Replace(good, `"kind":"request"`, `"kind":"certificate","purpose":"Σχολείο","delivery":"kep"`, 1), "street-lighting", "cert-birth", 1), []string{"kind:field.kind.unknown"}},
		{"ErrMapPointOffTheGlobe", strings.Replace(good, `"text":`, `"location":{"lat":91,"lon":22},"text":`, 1), []string{"location:field.location.range"}},
		{"ErrDeliveryOnRequest", strings.Replace(good, `"text":`, `"delivery":"post","text":`, 1), []string{"delivery:field.delivery.certificate_only"}},
		{"ErrAllFieldsAtOnce", `{}`, []string{"kind:field.required", "category:field.required", "subject:field.required",
			"text:field.required", "contact.first_name:field.required", "contact.last_name:field.required", "contact.email:field.contact.reachable"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.kicked)
			code, body := h.do(t, "POST", "/api/v1/cases", tt.body)
			if code != http.StatusBadRequest {
				t.Fatalf("status %d: %v", code, body)
			}
			if got := errorFields(t, body); !slices.Equal(got, tt.want) {
				t.Fatalf("fields %v, want %v", got, tt.want)
			}
			if len(h.kicked) != before {
				t.Fatal("a refused submission was passed on")
			}
		})
	}
}

func TestStatus(t *testing.T) {
	h := newHarness(t)
	_, body := h.do(t, "POST", "/api/v1/cases", good)
	number := body["number"].(string)

	code, st := h.do(t, "GET", "/api/v1/cases/"+strings.ReplaceAll(number, "-", "")+"/status", "")
	if code != http.StatusOK || st["number"] != number || st["status"] != "pending" {
		t.Fatalf("%d %v", code, st)
	}
	if txt := st["status_text"].(map[string]any); txt["el"] != "Εκκρεμεί" || txt["en"] != "Pending" {
		t.Fatalf("status text %v", txt)
	}
	t.Run("ErrNumberFormat", func(t *testing.T) {
		if code, body := h.do(t, "GET", "/api/v1/cases/abc/status", ""); code != http.StatusBadRequest {
			t.Fatalf("%d %v", code, body)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if code, body := h.do(t, "GET", "/api/v1/cases/1999-000001/status", ""); code != http.StatusNotFound {
			t.Fatalf("%d %v", code, body)
		}
	})
}

func TestHealthAndCategories(t *testing.T) {
	h := newHarness(t)
	code, body := h.do(t, "GET", "/healthz", "")
	checks := body["checks"].(map[string]any)
	if code != http.StatusOK || body["status"] != "degraded" || checks["postgres"] != "ok" || checks["temporal"] != "unavailable" {
		t.Fatalf("with Temporal down: %d %v", code, body)
	}
	req := httptest.NewRequest("GET", "/api/v1/categories", nil)
	resp, err := h.app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	var cats []struct {
		Code  string
		Name  struct{ EL, EN string }
		Kinds []string
	}
	if err := json.NewDecoder(resp.Body).Decode(&cats); err != nil || len(cats) != len(postgres.DemoCategories) {
		t.Fatalf("%d categories, %v", len(cats), err)
	}
	if cats[0].Code != "potholes" || cats[0].Name.EL != "Λακκούβες στο οδόστρωμα" || cats[0].Name.EN == "" || len(cats[0].Kinds) == 0 {
		t.Fatalf("first category %+v", cats[0])
	}
}

func TestStarter(t *testing.T) {
	db := pgtest.New(t, true)
	ctx := context.Background()
	var numbers []string
	for range 3 {
		c := &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "potholes", Channel: dimos.ChannelPortal, Subject: "s", Text: "t", Anonymous: true}
		if err := db.SubmitCase(ctx, c); err != nil {
			t.Fatal(err)
		}
		numbers = append(numbers, c.Number)
	}
	var mu sync.Mutex
	up := false
	var started []string
	// One worker, so that the order of the starts is the order the sweep takes them in.
	s := intake.NewStarter(intake.Starter{Cases: db, Interval: 20 * time.Millisecond, Workers: 1, Start: func(_ context.Context, c *dimos.Case) error {
		mu.Lock()
		defer mu.Unlock()
		if !up {
			return errors.New("temporal unreachable")
		}
		started = append(started, c.Number)
		return nil
	}})
	s.Sweep(ctx)
	if waiting, _ := db.CasesAwaitingWorkflow(ctx, nil, 10); len(waiting) != 3 {
		t.Fatalf("after a failed sweep %d cases wait, want 3", len(waiting))
	}
	mu.Lock()
	up = true
	mu.Unlock()
	s.Sweep(ctx)
	if !slices.Equal(started, numbers) {
		t.Fatalf("started %v, want oldest first %v", started, numbers)
	}
	if waiting, _ := db.CasesAwaitingWorkflow(ctx, nil, 10); len(waiting) != 0 {
		t.Fatalf("%d cases still wait after Temporal came back", len(waiting))
	}
}
