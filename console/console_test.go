package console

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"dimos"
	"dimos/i18n"
	"dimos/workflows"
)

func TestSignin(t *testing.T) {
	t.Run("Success", func(t *testing.T) {
		h := newHarness(t)
		h.throttle.failures["signin:user:maria"] = []time.Time{h.clock.Now().Add(-time.Minute)}
		b := h.browser()
		p := b.signIn(t, "maria", password)
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, "/console/inbox")

		c := cookieOf(p, "dimos_staff")
		if c == nil {
			t.Fatal("no dimos_staff cookie")
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/console" || c.Secure {
			t.Errorf("cookie attributes: %+v", c)
		}
		if len(c.Value) != 43 {
			t.Errorf("token %q is not 32 bytes in base64url", c.Value)
		}
		sum := sha256.Sum256([]byte(c.Value))
		s, ok := h.sessions.sessions[string(sum[:])]
		if !ok || s.EmployeeID != idMaria || s.CSRFToken == "" {
			t.Fatalf("session stored under sha256(token): %v %+v", ok, s)
		}
		if _, raw := h.sessions.sessions[c.Value]; raw {
			t.Error("the raw token is stored")
		}
		if !s.ExpiresAt.Equal(h.clock.Now().Add(30 * time.Minute)) {
			t.Errorf("expires %v, want idle timeout from now", s.ExpiresAt)
		}
		if got := h.audit.find("signin"); len(got) != 1 || got[0].EmployeeID != idMaria || !got[0].At.Equal(h.clock.Now()) {
			t.Errorf("audit: %+v", got)
		}
		if h.throttle.count("signin:user:maria") != 0 {
			t.Error("the account's failures were not reset")
		}
		wantStatus(t, b.get(t, "/console/inbox"), http.StatusOK)
	})

	t.Run("SecureCookies", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.SecureCookies = true })
		b := h.browser()
		if c := cookieOf(b.get(t, "/console/signin"), "dimos_csrf"); c == nil || !c.Secure || !c.HttpOnly {
			t.Errorf("csrf cookie: %+v", c)
		}
		if c := cookieOf(b.signIn(t, "maria", password), "dimos_staff"); c == nil || !c.Secure {
			t.Errorf("session cookie: %+v", c)
		}
	})

	t.Run("NextPage", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		p := b.get(t, "/console/cases/"+numPothole)
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, "/console/signin?next=%2Fconsole%2Fcases%2F"+numPothole)
		token := b.csrf(t, p.Header.Get("Location"))
		p = b.post(t, "/console/signin", url.Values{"username": {"maria"}, "password": {password}, "_csrf": {token},
			"next": {"/console/cases/" + numPothole}})
		wantLocation(t, p, "/console/cases/"+numPothole)

		b = h.browser()
		token = b.csrf(t, "/console/signin")
		p = b.post(t, "/console/signin", url.Values{"username": {"maria"}, "password": {password}, "_csrf": {token},
			"next": {"https://evil.example/console/"}})
		wantLocation(t, p, "/console/inbox")
	})

	t.Run("ErrWrongPassword", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		p := b.signIn(t, "Maria", "λάθος")
		wantStatus(t, p, http.StatusUnauthorized)
		wantContains(t, p, "Λάθος όνομα χρήστη ή κωδικός πρόσβασης.", `value="Maria"`)
		if cookieOf(p, "dimos_staff") != nil || h.sessions.count() != 0 {
			t.Error("a session was started")
		}
		// The fake directory is case-sensitive, so "Maria" is unknown to it; the
		// throttle key is lower-cased all the same.
		if h.throttle.count("signin:user:maria") != 1 {
			t.Errorf("account failures: %v", h.throttle.failures)
		}
		if n := countPrefix(h.throttle.failures, "signin:ip:"); n != 1 {
			t.Errorf("address failures: %d in %v", n, h.throttle.failures)
		}
		if got := h.audit.find("signin.failed"); len(got) != 1 || got[0].Target != "Maria" || got[0].EmployeeID != 0 {
			t.Errorf("audit: %+v", got)
		}

		p = b.signIn(t, "maria", "λάθος")
		wantStatus(t, p, http.StatusUnauthorized)
		if got := h.audit.find("signin.failed"); len(got) != 2 || got[1].EmployeeID != idMaria {
			t.Errorf("audit of a known account: %+v", got)
		}
		if h.throttle.count("signin:user:maria") != 2 {
			t.Errorf("account failures: %v", h.throttle.failures)
		}
	})

	t.Run("ErrInactive", func(t *testing.T) {
		h := newHarness(t)
		h.dir.setActive(idMaria, false)
		p := h.browser().signIn(t, "maria", password)
		wantStatus(t, p, http.StatusUnauthorized)
		if h.sessions.count() != 0 {
			t.Error("an inactive employee got a session")
		}
	})

	t.Run("ErrTooManyForAccount", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		for i := 0; i < 5; i++ {
			wantStatus(t, b.signIn(t, "maria", "λάθος"), http.StatusUnauthorized)
		}
		p := b.signIn(t, "maria", password)
		wantStatus(t, p, http.StatusTooManyRequests)
		wantContains(t, p, i18n.T("el", "error.too_many"))
		if p.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		if cookieOf(p, "dimos_staff") != nil || h.sessions.count() != 0 {
			t.Error("a session was started")
		}
		if got := h.audit.find("signin.failed"); len(got) != 6 || got[5].Detail != "throttled" {
			t.Errorf("audit: %+v", got)
		}
		// Another account from another address is not affected.
		wantStatus(t, h.browser().signIn(t, "giorgos", password), http.StatusSeeOther)

		// The window is fifteen minutes.
		h.clock.Advance(15*time.Minute + time.Second)
		wantStatus(t, b.signIn(t, "maria", password), http.StatusSeeOther)
	})

	t.Run("ErrTooManyForAddress", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		for i := 0; i < 20; i++ {
			wantStatus(t, b.signIn(t, "nobody"+string(rune('a'+i)), "λάθος"), http.StatusUnauthorized)
		}
		wantStatus(t, b.signIn(t, "maria", password), http.StatusTooManyRequests)
	})
}

func countPrefix(m map[string][]time.Time, prefix string) int {
	n := 0
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			n += len(v)
		}
	}
	return n
}

func TestCSRF(t *testing.T) {
	h := newHarness(t)
	maria := h.signedIn(t, "maria")
	mariaToken := maria.csrf(t, "/console/inbox")
	wrongToken := "A" + mariaToken[1:]
	if wrongToken == mariaToken {
		wrongToken = "B" + mariaToken[1:]
	}
	giorgos := h.signedIn(t, "giorgos")
	complete := "/console/cases/" + numPothole + "/complete"

	tests := []struct {
		name string
		b    *browser
		path string
		form url.Values
	}{
		{"ErrCSRFMissing", maria, complete, url.Values{"answer": {"Επισκευάστηκε."}}},
		{"ErrCSRFWrong", maria, complete, url.Values{"answer": {"Επισκευάστηκε."}, "_csrf": {wrongToken}}},
		{"ErrCSRFOtherSession", giorgos, "/console/signout", url.Values{"_csrf": {mariaToken}}},
		{"ErrCSRFMissingOnSignout", maria, "/console/signout", url.Values{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.b.post(t, tt.path, tt.form)
			wantStatus(t, p, http.StatusForbidden)
			wantContains(t, p, i18n.T("el", "error.csrf"))
		})
	}
	if calls := h.work.called(); len(calls) != 0 {
		t.Errorf("Work.Update called without a valid token: %+v", calls)
	}
	if h.sessions.count() != 2 || len(h.audit.find("signout")) != 0 {
		t.Error("a session ended without a valid token")
	}

	t.Run("ErrCSRFSigninNoCookie", func(t *testing.T) {
		b := h.browser()
		token := b.csrf(t, "/console/signin")
		delete(b.jar, "dimos_csrf")
		p := b.post(t, "/console/signin", url.Values{"username": {"maria"}, "password": {password}, "_csrf": {token}})
		wantStatus(t, p, http.StatusForbidden)
	})
	t.Run("ErrCSRFSigninMismatch", func(t *testing.T) {
		b := h.browser()
		b.csrf(t, "/console/signin")
		p := b.post(t, "/console/signin", url.Values{"username": {"maria"}, "password": {password}, "_csrf": {newToken()}})
		wantStatus(t, p, http.StatusForbidden)
		wantContains(t, p, i18n.T("el", "error.csrf"))
	})
	t.Run("ErrCSRFSigninMissing", func(t *testing.T) {
		b := h.browser()
		b.csrf(t, "/console/signin")
		p := b.post(t, "/console/signin", url.Values{"username": {"maria"}, "password": {password}})
		wantStatus(t, p, http.StatusForbidden)
	})
	t.Run("ValidToken", func(t *testing.T) {
		p := maria.post(t, "/console/signout", url.Values{"_csrf": {mariaToken}})
		wantStatus(t, p, http.StatusSeeOther)
	})
}

func TestInbox(t *testing.T) {
	h := newHarness(t)

	t.Run("OnlyMineOverdueFirst", func(t *testing.T) {
		p := h.signedIn(t, "maria").get(t, "/console/inbox")
		wantStatus(t, p, http.StatusOK)
		got := h.cases.queries[len(h.cases.queries)-1]
		if got.Tab != dimos.InboxMine || got.Scope != (dimos.InboxScope{EmployeeID: idMaria, ServiceID: svcTechnical}) || got.Limit != 50 {
			t.Errorf("query %+v", got)
		}
		wantLacks(t, p, numBins, "Ξέχειλοι κάδοι", numCompleted)
		// The light was filed in February and is past its deadline: it comes first.
		i3, i1 := strings.Index(p.Body, numLight), strings.Index(p.Body, numPothole)
		if i1 < 0 || i3 < 0 || i3 > i1 {
			t.Errorf("order of cases: %d %d", i3, i1)
		}
		wantContains(t, p,
			`<a href="/console/cases/`+numPothole+`">`+numPothole+`</a>`,
			"Οδοποιία", "Αίτημα", "Στον διευθυντή", "Διαδικτυακή πύλη", "Μαρία Παπαδοπούλου",
			// 09:00 UTC is 11:00 in Athens in winter.
			`<time datetime="2026-03-02T09:00:00Z">02/03/2026 11:00</time>`,
			`<th scope="col">Θέμα</th>`,
		)
	})

	t.Run("EscapesHTML", func(t *testing.T) {
		p := h.signedIn(t, "maria").get(t, "/console/inbox")
		wantLacks(t, p, "<script>alert(1)</script>")
		wantContains(t, p, "&lt;script&gt;alert(1)&lt;/script&gt; Λακκούβα στην οδό Κνωσού")
	})

	t.Run("Empty", func(t *testing.T) {
		p := h.signedIn(t, "giorgos").get(t, "/console/inbox")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, i18n.T("el", "inbox.empty.mine"))
		wantLacks(t, p, "<table")
	})

	t.Run("ErrSignedOut", func(t *testing.T) {
		p := h.browser().get(t, "/console/inbox")
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, "/console/signin?next=%2Fconsole%2Finbox")
	})

	t.Run("ErrStore", func(t *testing.T) {
		b := h.signedIn(t, "maria")
		h.cases.err = errors.New("pq: relation cases does not exist")
		defer func() { h.cases.err = nil }()
		p := b.get(t, "/console/inbox")
		wantStatus(t, p, http.StatusInternalServerError)
		wantContains(t, p, i18n.T("el", "error.internal"))
		wantLacks(t, p, "relation")
	})
}

func TestCasePage(t *testing.T) {
	h := newHarness(t)
	users := map[string]*browser{}
	for _, u := range []string{"maria", "nikos", "eleni", "giorgos"} {
		users[u] = h.signedIn(t, u)
	}

	access := []struct {
		name   string
		user   string
		number string
		want   int
	}{
		{"Assignee", "maria", numPothole, http.StatusOK},
		{"SameService", "giorgos", numPothole, http.StatusOK},
		{"Manager", "eleni", numPothole, http.StatusOK},
		{"ErrOtherService", "nikos", numPothole, http.StatusForbidden},
		{"ErrOtherServiceBack", "maria", numBins, http.StatusForbidden},
		{"ErrUnknown", "maria", "2026-999999", http.StatusNotFound},
		{"ErrBadNumber", "maria", "abc", http.StatusNotFound},
		{"DigitsOnly", "maria", "2026000001", http.StatusOK},
	}
	for _, tt := range access {
		t.Run(tt.name, func(t *testing.T) {
			p := users[tt.user].get(t, "/console/cases/"+tt.number)
			wantStatus(t, p, tt.want)
			switch tt.want {
			case http.StatusForbidden:
				wantContains(t, p, i18n.T("el", "error.forbidden"))
				wantLacks(t, p, "Ξέχειλοι", "Λακκούβα")
			case http.StatusNotFound:
				wantContains(t, p, i18n.T("el", "error.case.not_found"))
			}
		})
	}

	t.Run("EveryField", func(t *testing.T) {
		p := users["maria"].get(t, "/console/cases/"+numPothole)
		wantContains(t, p,
			"&lt;script&gt;alert(1)&lt;/script&gt; Λακκούβα", "Μεγάλη λακκούβα μπροστά στο νούμερο 12.",
			"Επισκευή του οδοστρώματος", "Αίτημα", "Οδοποιία", "Διαδικτυακή πύλη",
			"Στον διευθυντή της υπηρεσίας", "Εκκρεμεί", "Τεχνικές Υπηρεσίες", "Μαρία Παπαδοπούλου",
			"02/03/2026 11:00", "Νίκη Αλεξίου", "niki@example.gr", "2841012345",
			// timeline
			"Η υπόθεση καταχωρίστηκε.", "Η υπόθεση διαβιβάστηκε στην αρμόδια υπηρεσία.", "Προς &lt;b&gt;έλεγχο&lt;/b&gt;",
			// stage timings: received 1 minute, routed from 11:01 until now (14:00 Athens)
			"1 λεπ.", "2 ώρ. 59 λεπ.", i18n.T("el", "console.timings.ongoing"),
			// workflow
			"case-"+numPothole,
			`href="http://127.0.0.1:8233/namespaces/default/workflows/case-`+numPothole+`"`,
			// the assignee's completion form
			`<textarea id="answer" name="answer"`, `action="/console/cases/`+numPothole+`/complete"`,
		)
		wantLacks(t, p, "<script>", "<b>έλεγχο")
	})

	t.Run("NoFormForOthers", func(t *testing.T) {
		for _, u := range []string{"giorgos", "eleni"} {
			p := users[u].get(t, "/console/cases/"+numPothole)
			wantLacks(t, p, `name="answer"`)
		}
	})

	t.Run("NoFormWhenCompleted", func(t *testing.T) {
		p := users["maria"].get(t, "/console/cases/"+numCompleted)
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, "Θα εξεταστεί.", "20/01/2026 10:00")
		wantLacks(t, p, `name="answer"`)
	})

	t.Run("AnonymousWithPhone", func(t *testing.T) {
		p := users["nikos"].get(t, "/console/cases/"+numBins)
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, i18n.T("el", "console.case.anonymous"), "2841099999")
		wantLacks(t, p, "niki@example.gr")
	})

	t.Run("NoTemporalLink", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.TemporalUIURL = "" })
		p := h.signedIn(t, "maria").get(t, "/console/cases/"+numPothole)
		wantContains(t, p, "case-"+numPothole)
		wantLacks(t, p, "/namespaces/")
	})

	t.Run("Namespace", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.Namespace = "dimos-prod" })
		p := h.signedIn(t, "maria").get(t, "/console/cases/"+numPothole)
		wantContains(t, p, `http://127.0.0.1:8233/namespaces/dimos-prod/workflows/case-`+numPothole)
	})

	t.Run("ErrStore", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		h.cases.err = errors.New("connection refused to 10.0.0.5")
		p := b.get(t, "/console/cases/"+numPothole)
		wantStatus(t, p, http.StatusInternalServerError)
		wantContains(t, p, i18n.T("el", "error.internal"))
		wantLacks(t, p, "10.0.0.5")
	})
}

func TestComplete(t *testing.T) {
	complete := "/console/cases/" + numPothole + "/complete"

	t.Run("Success", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		token := b.csrf(t, "/console/cases/"+numPothole)
		p := b.post(t, complete, url.Values{"_csrf": {token}, "answer": {"Η λακκούβα επισκευάστηκε στις 3/3."}})
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, "/console/cases/"+numPothole+"?done=complete")
		want := []updateCall{{Number: numPothole, Name: "complete", Req: workflows.CompleteRequest{
			By:     dimos.Actor{EmployeeID: idMaria, Name: "Μαρία Παπαδοπούλου", Role: dimos.RoleClerk, ServiceID: svcTechnical},
			Answer: "Η λακκούβα επισκευάστηκε στις 3/3.",
		}}}
		if got := h.work.called(); !reflect.DeepEqual(got, want) {
			t.Errorf("Work.Update calls:\n got %+v\nwant %+v", got, want)
		}
		if got := h.audit.find("case.complete"); len(got) != 1 || got[0].Target != numPothole || got[0].EmployeeID != idMaria {
			t.Errorf("audit: %+v", got)
		}
	})

	t.Run("ErrValidationKeepsAnswer", func(t *testing.T) {
		h := newHarness(t)
		h.work.err = &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid",
			Fields: []dimos.FieldError{{Field: "answer", Key: "field.answer.required"}}}
		b := h.signedIn(t, "maria")
		token := b.csrf(t, "/console/cases/"+numPothole)
		p := b.post(t, complete, url.Values{"_csrf": {token}, "answer": {"  <b>μισή</b> απάντηση"}})
		wantStatus(t, p, http.StatusBadRequest)
		wantContains(t, p,
			"Ορισμένα πεδία δεν είναι σωστά συμπληρωμένα.",
			"Γράψτε την απάντηση προς τον πολίτη.",
			`aria-invalid="true">  &lt;b&gt;μισή&lt;/b&gt; απάντηση</textarea>`,
			`name="_csrf" value="`+token+`"`,
		)
		if len(h.work.called()) != 1 || len(h.audit.find("case.complete")) != 0 {
			t.Error("a refused completion was audited")
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		h := newHarness(t)
		h.work.err = dimos.Errorf(dimos.ECONFLICT, "error.case.closed")
		b := h.signedIn(t, "maria")
		token := b.csrf(t, "/console/cases/"+numPothole)
		p := b.post(t, complete, url.Values{"_csrf": {token}, "answer": {"Απάντηση"}})
		wantStatus(t, p, http.StatusConflict)
		wantContains(t, p, "Η υπόθεση έχει ήδη ολοκληρωθεί.", ">Απάντηση</textarea>")
	})

	t.Run("ErrInternalKeepsAnswer", func(t *testing.T) {
		h := newHarness(t)
		h.work.err = errors.New("temporal: dial tcp 10.1.2.3:7233: connection refused")
		b := h.signedIn(t, "maria")
		token := b.csrf(t, "/console/cases/"+numPothole)
		p := b.post(t, complete, url.Values{"_csrf": {token}, "answer": {"Κείμενο που δεν χάνεται"}})
		wantStatus(t, p, http.StatusInternalServerError)
		wantContains(t, p, i18n.T("el", "error.internal"), "Κείμενο που δεν χάνεται")
		wantLacks(t, p, "10.1.2.3")
	})

	t.Run("ErrNotAssignee", func(t *testing.T) {
		h := newHarness(t)
		for _, u := range []string{"giorgos", "eleni", "nikos"} {
			b := h.signedIn(t, u)
			token := b.csrf(t, "/console/inbox")
			p := b.post(t, complete, url.Values{"_csrf": {token}, "answer": {"Απάντηση"}})
			wantStatus(t, p, http.StatusForbidden)
		}
		if calls := h.work.called(); len(calls) != 0 {
			t.Errorf("Work.Complete called: %+v", calls)
		}
	})

	t.Run("ErrUnknownCase", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		token := b.csrf(t, "/console/inbox")
		p := b.post(t, "/console/cases/2026-999999/complete", url.Values{"_csrf": {token}, "answer": {"x"}})
		wantStatus(t, p, http.StatusNotFound)
	})

	t.Run("ErrSignedOut", func(t *testing.T) {
		h := newHarness(t)
		p := h.browser().post(t, complete, url.Values{"answer": {"x"}})
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, "/console/signin")
		if len(h.work.called()) != 0 {
			t.Error("Work.Complete called")
		}
	})
}

func TestSession(t *testing.T) {
	t.Run("IdleTimeout", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		for i := 0; i < 3; i++ {
			h.clock.Advance(29 * time.Minute)
			wantStatus(t, b.get(t, "/console/inbox"), http.StatusOK) // each request extends the session
		}
		h.clock.Advance(30 * time.Minute)
		p := b.get(t, "/console/inbox")
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, "/console/signin?next=%2Fconsole%2Finbox")
		if h.sessions.count() != 0 || h.sessions.deleted != 1 {
			t.Error("the expired session was not deleted")
		}
		if _, ok := b.jar["dimos_staff"]; ok {
			t.Error("the expired session's cookie was not cleared")
		}
	})

	t.Run("LastSightWrittenOnceAMinute", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		touched := func() int {
			h.sessions.mu.Lock()
			defer h.sessions.mu.Unlock()
			return h.sessions.touched
		}
		before := touched()
		for range 3 {
			h.clock.Advance(19 * time.Second)
			wantStatus(t, b.get(t, "/console/inbox"), http.StatusOK)
		}
		if n := touched() - before; n != 0 {
			t.Errorf("%d writes within the first minute after sign-in, want none", n)
		}
		h.clock.Advance(3 * time.Second) // a minute and more since sign-in
		wantStatus(t, b.get(t, "/console/inbox"), http.StatusOK)
		wantStatus(t, b.get(t, "/console/inbox"), http.StatusOK)
		if n := touched() - before; n != 1 {
			t.Errorf("%d writes after a minute, want one", n)
		}
		// The session now runs the idle timeout from that write.
		h.clock.Advance(29 * time.Minute)
		wantStatus(t, b.get(t, "/console/inbox"), http.StatusOK)
	})

	t.Run("ShortIdleTimeoutStillExtended", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.IdleTimeout = 50 * time.Second })
		b := h.signedIn(t, "maria")
		for range 4 {
			h.clock.Advance(40 * time.Second)
			wantStatus(t, b.get(t, "/console/inbox"), http.StatusOK)
		}
		h.clock.Advance(51 * time.Second)
		wantStatus(t, b.get(t, "/console/inbox"), http.StatusSeeOther)
	})

	t.Run("CustomIdleTimeout", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.IdleTimeout = 5 * time.Minute })
		b := h.signedIn(t, "maria")
		h.clock.Advance(6 * time.Minute)
		wantStatus(t, b.get(t, "/console/inbox"), http.StatusSeeOther)
	})

	t.Run("AbsoluteTimeout", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		for elapsed := 25 * time.Minute; elapsed < 12*time.Hour; elapsed += 25 * time.Minute {
			h.clock.Advance(25 * time.Minute)
			wantStatus(t, b.get(t, "/console/inbox"), http.StatusOK)
		}
		h.clock.Advance(25 * time.Minute)
		wantStatus(t, b.get(t, "/console/inbox"), http.StatusSeeOther)
	})

	t.Run("Signout", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		token := b.csrf(t, "/console/inbox")
		p := b.post(t, "/console/signout", url.Values{"_csrf": {token}})
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, "/console/signin")
		if h.sessions.count() != 0 {
			t.Error("session kept")
		}
		if got := h.audit.find("signout"); len(got) != 1 || got[0].EmployeeID != idMaria {
			t.Errorf("audit: %+v", got)
		}
		wantStatus(t, b.get(t, "/console/inbox"), http.StatusSeeOther)
	})

	t.Run("SigninReplacesSession", func(t *testing.T) {
		// Two tabs show the sign-in form; Maria signs in in one, Giorgos in the other.
		h := newHarness(t)
		b := h.browser()
		token := b.csrf(t, "/console/signin")
		p := b.post(t, "/console/signin", url.Values{"username": {"maria"}, "password": {password}, "_csrf": {token}})
		wantStatus(t, p, http.StatusSeeOther)
		p = b.post(t, "/console/signin", url.Values{"username": {"giorgos"}, "password": {password}, "_csrf": {token}})
		wantStatus(t, p, http.StatusSeeOther)
		if h.sessions.count() != 1 || h.sessions.deleted != 1 {
			t.Errorf("sessions: %d kept, %d deleted", h.sessions.count(), h.sessions.deleted)
		}
		wantContains(t, b.get(t, "/console/inbox"), "Γιώργος Μανουσάκης")
	})

	t.Run("ErrDeactivated", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		h.dir.setActive(idMaria, false)
		wantStatus(t, b.get(t, "/console/inbox"), http.StatusSeeOther)
		if h.sessions.count() != 0 {
			t.Error("session of a deactivated employee kept")
		}
	})

	t.Run("ErrForgedCookie", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		b.jar["dimos_staff"] = newToken()
		wantStatus(t, b.get(t, "/console/inbox"), http.StatusSeeOther)
	})
}

func TestHome(t *testing.T) {
	h := newHarness(t)
	wantLocation(t, h.browser().get(t, "/console/"), "/console/signin")
	b := h.signedIn(t, "maria")
	wantLocation(t, b.get(t, "/console/"), "/console/inbox")
	wantLocation(t, b.get(t, "/console/signin"), "/console/inbox")
}

func TestLanguage(t *testing.T) {
	t.Run("GreekByDefault", func(t *testing.T) {
		h := newHarness(t)
		p := h.browser().get(t, "/console/signin")
		wantContains(t, p, `<html lang="el">`, "Σύνδεση προσωπικού",
			`href="/console/lang/en?next=%2fconsole%2fsignin" lang="en" hreflang="en">English</a>`)
		if p.Header.Get("Content-Language") != "el" {
			t.Errorf("Content-Language %q", p.Header.Get("Content-Language"))
		}
	})

	t.Run("SwitchToEnglishAndBack", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		p := b.get(t, "/console/lang/en?next=/console/cases/"+numPothole)
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, "/console/cases/"+numPothole)
		if c := cookieOf(p, "lang"); c == nil || c.Value != "en" || c.Path != "/console" {
			t.Fatalf("lang cookie %+v", c)
		}
		p = b.get(t, "/console/cases/"+numPothole)
		wantContains(t, p, `<html lang="en">`, "Case "+numPothole, "Roads", "Technical Services", "Pending",
			"2 h 59 min", ">Ελληνικά</a>", "Signed in as Μαρία Παπαδοπούλου (Clerk)")
		wantLacks(t, p, "Εκκρεμεί")

		b.get(t, "/console/lang/el?next=/console/inbox")
		wantContains(t, b.get(t, "/console/inbox"), `<html lang="el">`, "<h1>Εισερχόμενα</h1>")
	})

	t.Run("ErrOpenRedirect", func(t *testing.T) {
		h := newHarness(t)
		for _, next := range []string{
			"https://evil.example/console/",
			"//evil.example/console/",
			"/\\evil.example/",
			"javascript:alert(1)",
			"/consolex/",
			"/console/../evil",
			"/console/%2e%2e/evil",
			"",
		} {
			p := h.browser().get(t, "/console/lang/en?next="+url.QueryEscape(next))
			wantStatus(t, p, http.StatusSeeOther)
			wantLocation(t, p, "/console/")
		}
	})

	t.Run("ErrUnknownLanguage", func(t *testing.T) {
		h := newHarness(t)
		p := h.browser().get(t, "/console/lang/fr?next=/console/inbox")
		wantStatus(t, p, http.StatusNotFound)
		if cookieOf(p, "lang") != nil {
			t.Error("lang cookie set")
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn(t, "maria")
	paths := []struct {
		path    string
		status  int
		noStore bool
	}{
		{"/console/signin", http.StatusSeeOther, true},
		{"/console/inbox", http.StatusOK, true},
		{"/console/cases/" + numPothole, http.StatusOK, true},
		{"/console/cases/" + numBins, http.StatusForbidden, true},
		{"/console/no/such/page", http.StatusNotFound, true},
		{"/console/static/console.css", http.StatusOK, false},
	}
	for _, tt := range paths {
		t.Run(strings.TrimPrefix(tt.path, "/console/"), func(t *testing.T) {
			p := b.get(t, tt.path)
			wantStatus(t, p, tt.status)
			csp := p.Header.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("CSP %q lacks %q", csp, d)
				}
			}
			for k, v := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "same-origin",
				"X-Frame-Options":        "DENY",
			} {
				if got := p.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if got := p.Header.Get("Cache-Control") == "no-store"; got != tt.noStore {
				t.Errorf("Cache-Control %q", p.Header.Get("Cache-Control"))
			}
		})
	}

	t.Run("Stylesheet", func(t *testing.T) {
		p := b.get(t, "/console/static/console.css")
		if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
			t.Errorf("Content-Type %q", ct)
		}
		wantContains(t, p, ":focus-visible", "@media print")
		wantStatus(t, b.get(t, "/console/static/nope.css"), http.StatusNotFound)
	})
}

// TestCatalogue renders every page in both languages and looks for catalogue keys
// that were shown instead of their sentences, which is how i18n.T reports a missing
// translation.
func TestCatalogue(t *testing.T) {
	rawKey := regexp.MustCompile(`\b(console|error|field|status|kind|stage|channel|event|role|clock)\.[a-z_]+(\.[a-z_]+)*\b`)
	for _, lang := range []string{"el", "en"} {
		t.Run(lang, func(t *testing.T) {
			h := newHarness(t)
			h.work.err = &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid",
				Fields: []dimos.FieldError{{Field: "answer", Key: "field.answer.required"}}}
			anon := h.browser()
			anon.get(t, "/console/lang/"+lang)
			b := h.signedIn(t, "maria")
			b.get(t, "/console/lang/"+lang)
			token := b.csrf(t, "/console/inbox")
			giorgos := h.signedIn(t, "giorgos")
			giorgos.get(t, "/console/lang/"+lang)
			h.work.state = workflows.CaseState{InfoDeadline: h.clock.Now(), ReopenUntil: h.clock.Now(), ProtocolFailed: true,
				Clocks: []workflows.Clock{
					{Name: "assign", Days: 1, MetAt: h.clock.Now()},
					{Name: "response", Days: 2, Deadline: h.clock.Now(), Warned: true, Breached: true, Escalated: true},
					{Name: "completion", Days: 3},
					{Name: "statutory", Days: 50, Deadline: h.clock.Now()},
				}}
			h.cases.events[1] = append(h.cases.events[1],
				dimos.CaseEvent{Type: "citizen_comment", ByCitizen: true, Body: "x"},
				dimos.CaseEvent{Type: "assigned", ActorID: idMaria, EmployeeID: idGiorgos})
			h.cases.cases[numPothole].Rating = 5
			h.cases.cases[numPothole].DueDate = h.clock.Now()
			for _, a := range []*dimos.Attachment{
				{AttachmentRef: dimos.AttachmentRef{Name: "a.pdf", ContentType: "application/pdf", Size: 3 << 20}, CaseID: 1, UploadedBy: idMaria},
				{AttachmentRef: dimos.AttachmentRef{Name: "b.png", ContentType: "image/png", Size: 3 << 10}, CaseID: 1, ByCitizen: true, Public: true},
				{AttachmentRef: dimos.AttachmentRef{Name: "c.txt", ContentType: "text/plain; charset=utf-8", Size: 12}, CaseID: 1},
				{AttachmentRef: dimos.AttachmentRef{Name: "d.xlsx", ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}, CaseID: 1},
				{AttachmentRef: dimos.AttachmentRef{Name: "e.odt", ContentType: "application/vnd.oasis.opendocument.text"}, CaseID: 1},
				{AttachmentRef: dimos.AttachmentRef{Name: "f.bin", ContentType: "application/vnd.ms-cab-compressed"}, CaseID: 1},
			} {
				h.files.SaveAttachment(t.Context(), a) //nolint:errcheck // the fake does not fail
			}
			dimitra := h.signedIn(t, "dimitra")
			dimitra.get(t, "/console/lang/"+lang)
			kostas := h.signedIn(t, "kostas")
			kostas.get(t, "/console/lang/"+lang)
			deskToken := kostas.csrf(t, "/console/desk")
			var refusals []page
			for _, r := range routes {
				f := url.Values{"_csrf": {token}}
				for k, v := range r.form {
					f[k] = v
				}
				refusals = append(refusals, b.post(t, "/console/cases/"+numPothole+"/"+r.route, f))
			}
			refusals = append(refusals,
				b.post(t, "/console/cases/"+numPothole+"/due-date", url.Values{"_csrf": {token}, "due_date": {"x"}, "due_time": {"y"}}),
				b.upload(t, "/console/cases/"+numPothole+"/attachments", url.Values{"_csrf": {token}}, "x.exe", exeFile),
				b.upload(t, "/console/cases/"+numCompleted+"/attachments", url.Values{"_csrf": {token}}, "x.pdf", pdfFile),
			)
			pages := []page{
				anon.get(t, "/console/signin"),
				anon.signIn(t, "maria", "λάθος"),
				b.get(t, "/console/inbox"),
				giorgos.get(t, "/console/inbox"),
				b.get(t, "/console/cases/"+numPothole),
				b.get(t, "/console/cases/"+numCompleted),
				b.get(t, "/console/cases/"+numBins),
				b.get(t, "/console/cases/2026-999999"),
				b.get(t, "/console/nowhere"),
				b.post(t, "/console/cases/"+numPothole+"/complete", url.Values{"_csrf": {token}, "answer": {""}}),
				b.get(t, "/console/cases/"+numPothole+"?done=register-protocol"),
				b.get(t, "/console/cases/"+numLight),
				b.get(t, "/console/cases/"+numPothole+"/attachments/999"),
				dimitra.get(t, "/console/cases/"+numPothole),
				giorgos.get(t, "/console/cases/"+numPothole),
				kostas.get(t, "/console/desk"),
				kostas.get(t, "/console/desk?q=6911111111"),
				kostas.get(t, "/console/desk?q=nobody"),
				kostas.get(t, "/console/desk?q=x"),
				kostas.get(t, "/console/desk/citizens/11"),
				kostas.get(t, "/console/desk/citizens/12"),
				kostas.get(t, "/console/desk/citizens/999"),
				kostas.post(t, "/console/desk/citizens/10/verify", url.Values{"_csrf": {deskToken}, "doc_type": {"x"}}),
				kostas.post(t, "/console/desk/citizens/12/verify", url.Values{"_csrf": {deskToken}}),
				b.get(t, "/console/desk"),
			}
			pages = append(pages, refusals...)
			for _, p := range pages {
				body := strings.ReplaceAll(p.Body, "console.css", "")
				if k := rawKey.FindString(body); k != "" {
					t.Errorf("%s %s shows the key %q", p.Request.Method, p.Request.URL, k)
				}
				if !strings.Contains(body, `<html lang="`+lang+`">`) {
					t.Errorf("%s %s is not in %s", p.Request.Method, p.Request.URL, lang)
				}
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		d      time.Duration
		el, en string
	}{
		{0, "0 λεπ.", "0 min"},
		{59 * time.Second, "0 λεπ.", "0 min"},
		{45 * time.Minute, "45 λεπ.", "45 min"},
		{2*time.Hour + 5*time.Minute, "2 ώρ. 5 λεπ.", "2 h 5 min"},
		{3*24*time.Hour + 7*time.Hour + 59*time.Minute, "3 ημ. 7 ώρ.", "3 d 7 h"},
		{-time.Minute, "0 λεπ.", "0 min"},
	}
	for _, tt := range tests {
		if got := duration("el", tt.d); got != tt.el {
			t.Errorf("el %v: %q, want %q", tt.d, got, tt.el)
		}
		if got := duration("en", tt.d); got != tt.en {
			t.Errorf("en %v: %q, want %q", tt.d, got, tt.en)
		}
	}
}
