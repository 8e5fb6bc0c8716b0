package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// FuzzPublicForms sends arbitrary input to what the console reads before anyone has
// signed in: the sign-in form (with the double-submit token, so that the fuzzer gets
// past it to the username, password and next fields), the sign-in page's next, the
// language switch, and any session, token and language cookie. Whatever comes in,
// the answer is a page, a redirect inside the console or a 4xx, never a 5xx, a panic
// or a redirect to another site. The first argument picks the route. Realistic
// requests seed it from testdata/fuzz/FuzzPublicForms too.
func FuzzPublicForms(f *testing.F) {
	token := strings.Repeat("A", tokenLen)
	ok := url.Values{fieldCSRF: {token}, "username": {"maria"}, "password": {password}, "next": {"/console/cases/2026-000001"}}
	for _, s := range []struct {
		route                     uint8
		arg, contentType, body    string
		session, csrf, langCookie string
	}{
		{0, "", fiber.MIMEApplicationForm, ok.Encode(), "", token, ""},
		{0, "", fiber.MIMEApplicationForm, fieldCSRF + "=" + token + "&username=maria&password=wrong", "", token, "en"},
		{0, "", fiber.MIMEApplicationForm, fieldCSRF + "=" + token + "&username=&password=", "", token, ""},
		{0, "", fiber.MIMEApplicationForm, fieldCSRF + "=" + token + "&username=%ff%fe&password=%00&next=//evil.example", "", token, ""},
		{0, "", fiber.MIMEApplicationForm, fieldCSRF + "=" + token + "&username=" + strings.Repeat("μ", 500) + "&next=/console/%2e%2e/x", "", token, ""},
		{0, "", fiber.MIMEApplicationForm, "username=maria&password=" + password, "", "", ""},
		{0, "", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"" + fieldCSRF + "\"\r\n\r\n" + token + "\r\n--x--", "", token, ""},
		{0, "", "text/plain", "%zz&&=", "garbage", "short", "xx"},
		{1, "/console/inbox", "", "", "", "", ""},
		{1, "https://evil.example/", "", "", strings.Repeat("B", tokenLen), "", "el"},
		{1, "/console/\\\\evil.example", "", "", "", "", ""},
		{2, "en", "", "/console/search?q=x", "", "", ""},
		{2, "el", "", "//evil.example", "", "", ""},
		{2, "fr", "", "/console/", "", "", ""},
		{2, "%ff", "", "/console/\r\nSet-Cookie: x=1", "", "", ""},
	} {
		f.Add(s.route, s.arg, s.contentType, s.body, s.session, s.csrf, s.langCookie)
	}
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, route uint8, arg, contentType, body, session, csrf, langCookie string) {
		var req *http.Request
		switch route % 3 {
		case 0:
			req = httptest.NewRequest(http.MethodPost, "/console/signin", strings.NewReader(body))
			req.Header.Set("Content-Type", contentType)
		case 1:
			req = httptest.NewRequest(http.MethodGet, "/console/signin?next="+url.QueryEscape(arg), nil)
		case 2:
			req = httptest.NewRequest(http.MethodGet, "/console/lang/"+url.PathEscape(arg)+"?next="+url.QueryEscape(body), nil)
		}
		var cookies []string
		for name, value := range map[string]string{cookieSession: session, cookieCSRF: csrf, cookieLang: langCookie} {
			if value != "" {
				cookies = append(cookies, name+"="+url.QueryEscape(value))
			}
		}
		req.Header.Set("Cookie", strings.Join(cookies, "; "))
		if len(req.URL.RequestURI())+len(req.Header.Get("Cookie"))+len(contentType) > 3072 {
			// A request head beyond the server's read buffer is refused by fasthttp
			// before any handler; app.Test reports that as an error, not an answer.
			t.Skip("request head larger than the server reads")
		}
		resp, err := h.app.Test(req, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("route %d %q %q %q: %d %.300s", route%3, arg, contentType, body, resp.StatusCode, b)
		}
		if loc := resp.Header.Get("Location"); loc != "" && !strings.HasPrefix(loc, "/console") {
			t.Fatalf("route %d %q %q: redirect to %q, outside the console", route%3, arg, body, loc)
		}
	})
}

// A username no employee can have (a NUL, bytes that are not UTF-8) is refused with
// 400 before the directory or the throttle, which PostgreSQL backs and which answered
// such text with an internal error, a 500. FuzzPublicForms found it.
func TestSigninUnstorableUsername(t *testing.T) {
	h := newHarness(t)
	for _, username := range []string{"mar\x00ia", "\xff\xfe"} {
		p := h.browser().signIn(t, username, password)
		wantStatus(t, p, http.StatusBadRequest)
		wantContains(t, p, "Το κείμενο περιέχει μη έγκυρους χαρακτήρες.")
	}
	if len(h.throttle.failures) != 0 {
		t.Errorf("the throttle recorded %v", h.throttle.failures)
	}
}

// A value PostgreSQL cannot hold (a NUL, broken UTF-8) in any query or form field is
// refused with a 400 that names the field, before a handler can send it to the
// database or, as a comment, to a workflow whose activity would fail on every retry.
func TestUnstorableInputRefused(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn(t, "maria")
	for _, tc := range []struct{ target, field string }{
		{"/console/search?q=%CE%BB%00", "q"},
		{"/console/inbox?category=%FF", "category"},
		{"/console/map.json?st%00age=open", "stage"},
	} {
		p := b.get(t, tc.target)
		wantStatus(t, p, http.StatusBadRequest)
		wantContains(t, p, el("field.utf8"))
		wantContains(t, p, el("console.error.field", tc.field))
	}
	p := b.decide(t, numPothole, "comment", url.Values{"text": {"Αυτοψία\x00"}, "public": {"1"}})
	wantStatus(t, p, http.StatusBadRequest)
	wantContains(t, p, el("console.error.field", "text"))
	if got := h.work.called(); len(got) != 0 {
		t.Errorf("the workflow was sent %+v", got)
	}
	// The same form, storable, goes through.
	p = b.decide(t, numPothole, "comment", url.Values{"text": {"Αυτοψία"}, "public": {"1"}})
	wantStatus(t, p, http.StatusSeeOther)
}
