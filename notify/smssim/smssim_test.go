package smssim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func do(t *testing.T, h http.Handler, method, path, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestSimulator(t *testing.T) {
	const msg = `{"to":"+306912345678","text":"Γεια σας","reference":"r1"}`

	t.Run("StoresOncePerReference", func(t *testing.T) {
		s := New("tok")
		if w := do(t, s, "POST", "/sms", "tok", msg); w.Code != http.StatusAccepted {
			t.Fatalf("first: %d %s", w.Code, w.Body)
		}
		w := do(t, s, "POST", "/sms", "tok", msg)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"duplicate"`) {
			t.Fatalf("repeat: %d %s", w.Code, w.Body)
		}
		if len(s.Messages()) != 1 || s.Duplicates() != 1 {
			t.Fatalf("%d messages, %d duplicates", len(s.Messages()), s.Duplicates())
		}
		var list []map[string]string
		w = do(t, s, "GET", "/sms", "", "")
		if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list) != 1 || list[0]["text"] != "Γεια σας" {
			t.Fatalf("list %s (%v)", w.Body, err)
		}
	})

	t.Run("ErrUnauthorized", func(t *testing.T) {
		s := New("tok")
		for _, tok := range []string{"", "other"} {
			if w := do(t, s, "POST", "/sms", tok, msg); w.Code != http.StatusUnauthorized {
				t.Errorf("token %q: %d", tok, w.Code)
			}
		}
		if len(s.Messages()) != 0 {
			t.Error("stored an unauthorised message")
		}
	})

	t.Run("ErrBadRequest", func(t *testing.T) {
		s := New("")
		for _, body := range []string{`{`, `{"to":"6912345678","text":"x"}`, `{"to":"+306912345678","text":" "}`} {
			if w := do(t, s, "POST", "/sms", "any", body); w.Code != http.StatusBadRequest {
				t.Errorf("%s: %d", body, w.Code)
			}
		}
	})

	t.Run("ControlModes", func(t *testing.T) {
		s := New("tok")
		for mode, code := range map[string]int{"fail": http.StatusServiceUnavailable, "reject": http.StatusBadRequest, "ok": http.StatusAccepted} {
			if w := do(t, s, "POST", "/control", "", `{"mode":"`+mode+`"}`); w.Code != http.StatusOK {
				t.Fatalf("control %s: %d", mode, w.Code)
			}
			if w := do(t, s, "POST", "/sms", "tok", msg); w.Code != code {
				t.Errorf("mode %s: %d, want %d", mode, w.Code, code)
			}
		}
		if w := do(t, s, "POST", "/control", "", `{"mode":"sometimes"}`); w.Code != http.StatusBadRequest {
			t.Errorf("unknown mode: %d", w.Code)
		}
		if s.Failed() != 2 || len(s.Messages()) != 1 {
			t.Errorf("failed %d, messages %d", s.Failed(), len(s.Messages()))
		}
		s.Reset()
		if s.Mode() != ModeOK || len(s.Messages()) != 0 || s.Failed() != 0 {
			t.Error("reset")
		}
	})
}
