package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/intake"
	"dimos/postgres"
	"dimos/postgres/pgtest"
	"dimos/workflows"
)

// fakeWork records the updates the citizen API sends; the workflow's own behaviour is
// tested in workflows/ and end to end in cmd/dimos.
type fakeWork struct {
	mu      sync.Mutex
	updates []sentUpdate
	refuse  error
}

type sentUpdate struct {
	number, name string
	req          any
}

func (f *fakeWork) Update(_ context.Context, number, name string, req any) (workflows.Done, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return workflows.Done{}, f.refuse
	}
	f.updates = append(f.updates, sentUpdate{number, name, req})
	return workflows.Done{}, nil
}

type citizenHarness struct {
	app  *fiber.App
	db   *postgres.DB
	work *fakeWork
}

func newCitizenHarness(t testing.TB) (*citizenHarness, string, string) {
	h := &citizenHarness{db: pgtest.New(t, true), work: &fakeWork{}}
	h.app = fiber.New(fiber.Config{BodyLimit: 11 << 20, DisablePreParseMultipartForm: true})
	intake.New(intake.Config{Cases: h.db, Directory: h.db, Work: h.work, Attachments: h.db, Throttle: h.db}).Mount(h.app)
	code, body := h.call(t, "POST", "/api/v1/cases", "", "application/json", strings.NewReader(good))
	if code != http.StatusCreated {
		t.Fatalf("submit: %d %v", code, body)
	}
	key, _ := body["access_key"].(string)
	if len(key) < 30 {
		t.Fatalf("no access key in %v", body)
	}
	return h, body["number"].(string), key
}

func (h *citizenHarness) call(t testing.TB, method, path, key, contentType string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	req.Header.Set("Content-Type", contentType)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := h.app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("not JSON: %s", raw)
	}
	return resp.StatusCode, out
}

func upload(t *testing.T, name string, data []byte, text string) (io.Reader, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	f, _ := w.CreateFormFile("file", name)
	f.Write(data)              //nolint:errcheck
	w.WriteField("text", text) //nolint:errcheck
	w.Close()
	return &buf, w.FormDataContentType()
}

func TestCitizenCase(t *testing.T) {
	h, number, key := newCitizenHarness(t)
	path := "/api/v1/cases/" + number

	t.Run("Detail", func(t *testing.T) {
		code, body := h.call(t, "GET", path, key, "", nil)
		if code != http.StatusOK || body["subject"] != "Σβηστή λάμπα" || body["status"] != "pending" {
			t.Fatalf("%d %v", code, body)
		}
		events := body["events"].([]any)
		if len(events) != 1 || events[0].(map[string]any)["type"] != "received" {
			t.Fatalf("timeline %v", events)
		}
	})
	t.Run("ErrNoKey", func(t *testing.T) {
		if code, _ := h.call(t, "GET", path, "", "", nil); code != http.StatusUnauthorized {
			t.Fatalf("%d", code)
		}
	})
	t.Run("Comment", func(t *testing.T) {
		code, body := h.call(t, "POST", path+"/comments", key, "application/json", strings.NewReader(`{"text":"Ο στύλος είναι ο 14."}`))
		if code != http.StatusCreated {
			t.Fatalf("%d %v", code, body)
		}
		last := h.work.updates[len(h.work.updates)-1]
		if last.number != number || last.name != workflows.UpdateCitizenComment || last.req.(workflows.CitizenCommentRequest).Text != "Ο στύλος είναι ο 14." {
			t.Fatalf("sent %+v", last)
		}
	})
	t.Run("Attach", func(t *testing.T) {
		body, ct := upload(t, "φωτογραφία.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "Η φωτογραφία")
		code, out := h.call(t, "POST", path+"/attachments", key, ct, body)
		if code != http.StatusCreated {
			t.Fatalf("%d %v", code, out)
		}
		req := h.work.updates[len(h.work.updates)-1].req.(workflows.CitizenCommentRequest)
		if len(req.Attachments) != 1 || req.Attachments[0].ContentType != "image/png" || req.Text != "Η φωτογραφία" {
			t.Fatalf("sent %+v", req)
		}
		stored, err := h.db.Attachment(context.Background(), req.Attachments[0].ID)
		if err != nil || !stored.ByCitizen || !stored.Public || stored.Name != "φωτογραφία.png" {
			t.Fatalf("stored %+v %v", stored, err)
		}
	})
	t.Run("ErrAttachExecutable", func(t *testing.T) {
		before := len(h.work.updates)
		body, ct := upload(t, "invoice.pdf", []byte("MZ\x90\x00\x03\x00\x00\x00"), "")
		code, out := h.call(t, "POST", path+"/attachments", key, ct, body)
		if code != http.StatusBadRequest || !slicesEqual(errorFields(t, out), []string{"file:field.file.type"}) || len(h.work.updates) != before {
			t.Fatalf("%d %v", code, out)
		}
	})
	t.Run("ErrRatingRange", func(t *testing.T) {
		code, out := h.call(t, "POST", path+"/rating", key, "application/json", strings.NewReader(`{"stars":9}`))
		if code != http.StatusBadRequest || !slicesEqual(errorFields(t, out), []string{"stars:field.rating.range"}) {
			t.Fatalf("%d %v", code, out)
		}
	})
	t.Run("WorkflowRefusalIsTheCitizensError", func(t *testing.T) {
		h.work.refuse = &dimos.Error{Code: dimos.ECONFLICT, Key: "error.case.open"}
		defer func() { h.work.refuse = nil }()
		code, out := h.call(t, "POST", path+"/reopen", key, "application/json", strings.NewReader(`{"reason":"Δεν έγινε τίποτα."}`))
		if code != http.StatusConflict || out["error"].(map[string]any)["message"].(map[string]any)["el"] != "Η υπόθεση δεν έχει ολοκληρωθεί ακόμη." {
			t.Fatalf("%d %v", code, out)
		}
	})
}

// TestCaseKeyThrottled: guessing keys is slowed down per address.
func TestCaseKeyThrottled(t *testing.T) {
	h, number, key := newCitizenHarness(t)
	path := "/api/v1/cases/" + number
	var code int
	for range 20 {
		code, _ = h.call(t, "GET", path, "wrong-key", "", nil)
		if code != http.StatusUnauthorized {
			t.Fatalf("wrong key: %d", code)
		}
	}
	if code, _ = h.call(t, "GET", path, key, "", nil); code != http.StatusTooManyRequests {
		t.Fatalf("after 20 wrong keys even the right one must wait: %d", code)
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSignedInSubmission: a signed-in citizen's case carries their details and is
// linked to their account; certificates need a verified one (M3, M6).
func TestSignedInSubmission(t *testing.T) {
	db := pgtest.New(t, true)
	ctx := context.Background()
	cit := &dimos.Citizen{Username: "eleni", FirstName: "Ελένη", LastName: "Παππά", Email: "eleni@example.gr",
		MobilePhone: "6900000002", Address: "Εγνατίας 12, Θεσσαλονίκη", Lang: "el"}
	if err := db.CreateCitizen(ctx, cit); err != nil {
		t.Fatal(err)
	}
	verified := false
	app := fiber.New()
	intake.New(intake.Config{Cases: db, Directory: db, Citizen: func(c *fiber.Ctx) (*dimos.Citizen, error) {
		if c.Get("Authorization") != "Bearer good" {
			return nil, dimos.Errorf(dimos.EUNAUTHORIZED, "error.unauthorized")
		}
		got := *cit
		if verified {
			got.VerifiedAt = time.Now()
		}
		return &got, nil
	}}).Mount(app)
	h := &citizenHarness{app: app, db: db}
	submit := func(body, token string) (int, map[string]any) {
		return h.call(t, "POST", "/api/v1/cases", token, "application/json", strings.NewReader(body))
	}
	const noContact = `{"kind":"complaint","category":"cleaning","subject":"Σκουπίδια","text":"Δεν περνά το απορριμματοφόρο."}`

	code, body := submit(noContact, "good")
	if code != http.StatusCreated {
		t.Fatalf("%d %v", code, body)
	}
	cs, _ := db.CaseByNumber(ctx, body["number"].(string))
	if cs.CitizenID != cit.ID || cs.Contact.Email != "eleni@example.gr" || cs.Contact.Phone != "6900000002" {
		t.Fatalf("case %+v", cs)
	}
	t.Run("ErrBadToken", func(t *testing.T) {
		if code, _ := submit(noContact, "bad"); code != http.StatusUnauthorized {
			t.Fatalf("%d", code)
		}
	})
	const cert = `{"kind":"certificate","category":"cert-birth","subject":"Πιστοποιητικό γέννησης","text":"Για το σχολείο.",
		"purpose":"Εγγραφή σε σχολείο","delivery":"kep"}`
	t.Run("ErrCertificateUnverified", func(t *testing.T) {
		code, body := submit(cert, "good")
		if code != http.StatusBadRequest || !slicesEqual(errorFields(t, body), []string{"kind:field.kind.verification"}) {
			t.Fatalf("%d %v", code, body)
		}
	})
	t.Run("ErrCertificateWithoutAccount", func(t *testing.T) {
		withContact := strings.Replace(cert, `}`, `,"contact":{"first_name":"Α","last_name":"Β","email":"a@example.gr"}}`, 1)
		code, body := submit(withContact, "")
		if code != http.StatusBadRequest || !slicesEqual(errorFields(t, body), []string{"kind:field.kind.unknown"}) {
			t.Fatalf("%d %v", code, body)
		}
	})
	t.Run("CertificateVerified", func(t *testing.T) {
		verified = true
		code, body := submit(cert, "good")
		if code != http.StatusCreated {
			t.Fatalf("%d %v", code, body)
		}
		cs, _ := db.CaseByNumber(ctx, body["number"].(string))
		if cs.Purpose != "Εγγραφή σε σχολείο" || cs.Delivery != dimos.DeliveryKEP {
			t.Fatalf("certificate stored as %+v", cs)
		}
	})
	t.Run("ErrCertificateDelivery", func(t *testing.T) {
		code, body := submit(strings.Replace(cert, `"kep"`, `"pigeon"`, 1), "good")
		if code != http.StatusBadRequest || !slicesEqual(errorFields(t, body), []string{"delivery:field.delivery.unknown"}) {
			t.Fatalf("%d %v", code, body)
		}
	})
}

// TestOwnCaseWithAccountToken: the citizen who filed a case opens it with their
// account's token (M15); another citizen's token does not open it.
func TestOwnCaseWithAccountToken(t *testing.T) {
	db := pgtest.New(t, true)
	ctx := context.Background()
	owner := &dimos.Citizen{Username: "owner", FirstName: "Ελένη", LastName: "Παππά", Email: "owner@example.gr",
		MobilePhone: "6900000003", Address: "Εγνατίας 12", Lang: "el"}
	other := &dimos.Citizen{Username: "other", FirstName: "Νίκος", LastName: "Ιωάννου", Email: "other@example.gr",
		MobilePhone: "6900000004", Address: "Τσιμισκή 1", Lang: "el"}
	for _, c := range []*dimos.Citizen{owner, other} {
		if err := db.CreateCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	app := fiber.New()
	intake.New(intake.Config{Cases: db, Directory: db, Throttle: db, Citizen: func(c *fiber.Ctx) (*dimos.Citizen, error) {
		switch c.Get("Authorization") {
		case "Bearer owner-token":
			return owner, nil
		case "Bearer other-token":
			return other, nil
		}
		return nil, dimos.Errorf(dimos.EUNAUTHORIZED, "error.unauthorized")
	}}).Mount(app)
	h := &citizenHarness{app: app, db: db}
	code, body := h.call(t, "POST", "/api/v1/cases", "owner-token", "application/json",
		strings.NewReader(`{"kind":"complaint","category":"cleaning","subject":"Σκουπίδια","text":"Δεν περνά το απορριμματοφόρο."}`))
	if code != http.StatusCreated {
		t.Fatalf("%d %v", code, body)
	}
	path := "/api/v1/cases/" + body["number"].(string)
	if code, out := h.call(t, "GET", path, "owner-token", "", nil); code != http.StatusOK || out["subject"] != "Σκουπίδια" {
		t.Fatalf("owner: %d %v", code, out)
	}
	if code, _ := h.call(t, "GET", path, "other-token", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("another citizen opened the case: %d", code)
	}
}
