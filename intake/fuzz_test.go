package intake_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzSubmit feeds the case submission decoder arbitrary bodies: whatever arrives, the
// answer is a 201 or a 4xx, never a 5xx or a panic. Its seeds run in every `go test`;
// `go test -fuzz FuzzSubmit ./intake` explores further.
func FuzzSubmit(f *testing.F) {
	for _, seed := range []string{
		good, `{}`, `[]`, `null`, `"x"`, `{"kind":1}`, `{"contact":[]}`, `{"anonymous":true,"kind":"complaint"}`,
		good + `{}`, "{\"subject\":\"\xff\"}", `{"kind":"request","category":"potholes","subject":"` + strings.Repeat("α", 300) + `"}`,
		`{"kind":"certificate","category":"cert-birth","subject":"s","text":"t"}`, `{"lang":"en","kind":"suggestion"}`,
	} {
		f.Add(seed)
	}
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/v1/cases", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := h.app.Test(req, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 || resp.StatusCode != http.StatusCreated && resp.StatusCode < 400 {
			t.Fatalf("body %q answered %d", body, resp.StatusCode)
		}
	})
}
