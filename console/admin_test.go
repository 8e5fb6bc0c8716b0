package console

import (
	"errors"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"dimos"
)

func adminHarness(t *testing.T) (*harness, *fakeAdmin, *fakeRetarget) {
	t.Helper()
	var fa *fakeAdmin
	rt := &fakeRetarget{}
	h := newHarness(t, withAdminStore(&fa, rt))
	withAdmin(h)
	return h, fa, rt
}

// onlyAudit returns the one entry with the action, failing otherwise.
func onlyAudit(t *testing.T, h *harness, action string) dimos.AuditEntry {
	t.Helper()
	got := h.audit.find(action)
	if len(got) != 1 {
		t.Fatalf("audit %s: %d entries, want 1: %+v", action, len(got), got)
	}
	if got[0].EmployeeID != idAdmin || got[0].IP == "" || got[0].At.IsZero() {
		t.Errorf("audit %s: who, when or where missing: %+v", action, got[0])
	}
	return got[0]
}

// unescaped is the page's text with HTML entities decoded, for Greek and quotes.
func unescapedBody(p page) string { return html.UnescapeString(p.Body) }

func TestAdminServices(t *testing.T) {
	h, fa, _ := adminHarness(t)
	b := h.signedIn(t, "admin")
	token := b.csrf(t, "/console/admin/services/new")

	t.Run("Create", func(t *testing.T) {
		p := b.post(t, "/console/admin/services", url.Values{fieldCSRF: {token}, "code": {"URBAN"},
			"name_el": {"Πολεοδομία"}, "name_en": {"Town planning"}, "email": {"urban@dimos.example"}, "active": {"1"}})
		wantStatus(t, p, http.StatusSeeOther)
		s, err := fa.AdminService(t.Context(), fa.nextID)
		if err != nil || s.NameEL != "Πολεοδομία" || !s.Active {
			t.Fatalf("stored %+v, %v", s, err)
		}
		wantLocation(t, p, serviceAdminPath(s.ID)+"?done=created")
		e := onlyAudit(t, h, auditServiceCreate)
		if e.Target != "service:URBAN" || !strings.Contains(e.Detail, `name_el: "" → "Πολεοδομία"`) {
			t.Errorf("audit %+v", e)
		}
		list := b.get(t, "/console/admin/services")
		wantStatus(t, list, http.StatusOK)
		wantContains(t, list, "Πολεοδομία", "Town planning", `<th scope="col">`)
	})
	t.Run("ErrCodeTaken", func(t *testing.T) {
		p := b.post(t, "/console/admin/services", url.Values{fieldCSRF: {token}, "code": {"TECH"},
			"name_el": {"Άλλη"}, "name_en": {"Other"}})
		wantStatus(t, p, http.StatusConflict)
		body := unescapedBody(p)
		if !strings.Contains(body, "Ο κωδικός χρησιμοποιείται ήδη.") || !strings.Contains(body, `value="Άλλη"`) {
			t.Errorf("conflict page lacks the field's message or the typed value:\n%s", body)
		}
		wantContains(t, p, `id="service-code-errors"`, `aria-invalid="true"`)
	})
	t.Run("ErrInvalidInEnglish", func(t *testing.T) {
		b.get(t, "/console/lang/en")
		defer b.get(t, "/console/lang/el")
		p := b.post(t, "/console/admin/services", url.Values{fieldCSRF: {token}, "code": {"a b"}, "name_en": {"X"}, "email": {"nope"}})
		wantStatus(t, p, http.StatusBadRequest)
		body := unescapedBody(p)
		for _, s := range []string{"The code takes only Latin letters", "This field is required", "e-mail"} {
			if !strings.Contains(strings.ToLower(body), strings.ToLower(s)) {
				t.Errorf("400 page lacks %q", s)
			}
		}
	})
	t.Run("EditAuditsBeforeAfter", func(t *testing.T) {
		path := serviceAdminPath(svcCleaning)
		p := b.post(t, path, url.Values{fieldCSRF: {token}, "code": {"CLEAN"}, "name_el": {"Καθαριότητα"},
			"name_en": {"Cleaning and green spaces"}, "email": {"clean@dimos.example"}, "active": {"1"}})
		wantStatus(t, p, http.StatusSeeOther)
		e := onlyAudit(t, h, auditServiceUpdate)
		want := []string{`name_en: "Cleaning" → "Cleaning and green spaces"`, `email: "" → "clean@dimos.example"`}
		for _, w := range want {
			if !strings.Contains(e.Detail, w) {
				t.Errorf("detail %q lacks %q", e.Detail, w)
			}
		}
		if strings.Contains(e.Detail, "name_el") {
			t.Errorf("detail names an unchanged field: %q", e.Detail)
		}
	})
	t.Run("Director", func(t *testing.T) {
		path := serviceAdminPath(svcTechnical) + "/director"
		p := b.post(t, path, url.Values{fieldCSRF: {token}, "director": {strconv.Itoa(idMaria)}})
		wantStatus(t, p, http.StatusBadRequest)
		if !strings.Contains(unescapedBody(p), "Προϊστάμενος μπορεί να είναι μόνο ενεργός υπάλληλος") {
			t.Error("refusal of a clerk as director lacks its reason")
		}
		p = b.post(t, path, url.Values{fieldCSRF: {token}, "director": {strconv.Itoa(idDimitra)}})
		wantStatus(t, p, http.StatusSeeOther)
		if got := h.dir.services[svcTechnical].DirectorID; got != idDimitra {
			t.Fatalf("director %d", got)
		}
		e := onlyAudit(t, h, auditServiceDirector)
		if !strings.Contains(e.Detail, `"0 " → "5 Δήμητρα Κλάδου"`) {
			t.Errorf("detail %q", e.Detail)
		}
		page := b.get(t, serviceAdminPath(svcTechnical))
		wantContains(t, page, `<option value="5" selected>`)
	})
}

func TestAdminEmployees(t *testing.T) {
	h, fa, _ := adminHarness(t)
	b := h.signedIn(t, "admin")
	token := b.csrf(t, "/console/admin/employees/new")
	newEmployee := func(pw, confirm string) url.Values {
		return url.Values{fieldCSRF: {token}, "username": {"Anna.K"}, "full_name": {"Άννα Κυριακίδου"},
			"email": {"anna@dimos.example"}, "phone": {"2841012345"}, "role": {"clerk"},
			"service_id": {strconv.Itoa(svcWater)}, "password": {pw}, "password_confirm": {confirm}}
	}
	const annaPassword = "Καλοκαίρι-στην-Κρήτη-1"

	t.Run("ErrPassword", func(t *testing.T) {
		for _, tc := range []struct{ pw, confirm, msg string }{
			{"σύντομος", "σύντομος", "τουλάχιστον 12 χαρακτήρες"},
			{annaPassword, annaPassword + "x", "Οι δύο κωδικοί δεν ταιριάζουν"},
			{"anna.k", "anna.k", "τουλάχιστον 12"},
		} {
			p := b.post(t, "/console/admin/employees", newEmployee(tc.pw, tc.confirm))
			wantStatus(t, p, http.StatusBadRequest)
			if !strings.Contains(unescapedBody(p), tc.msg) {
				t.Errorf("password %q: page lacks %q", tc.pw, tc.msg)
			}
			wantLacks(t, p, tc.pw) // a password is never typed back into the page
		}
		if n := len(h.audit.find(auditEmployeeCreate)); n != 0 {
			t.Fatalf("refused forms audited %d times", n)
		}
	})
	t.Run("ErrServiceRequired", func(t *testing.T) {
		v := newEmployee(annaPassword, annaPassword)
		v.Set("service_id", "")
		p := b.post(t, "/console/admin/employees", v)
		wantStatus(t, p, http.StatusBadRequest)
		wantContains(t, p, `id="employee-service-errors"`)
	})
	t.Run("CreateThenSignIn", func(t *testing.T) {
		p := b.post(t, "/console/admin/employees", newEmployee(annaPassword, annaPassword))
		wantStatus(t, p, http.StatusSeeOther)
		e := onlyAudit(t, h, auditEmployeeCreate)
		if e.Target != "employee:anna.k" || strings.Contains(e.Detail, annaPassword) || strings.Contains(e.Detail, "$2") {
			t.Errorf("audit %+v", e)
		}
		// The hash is bcrypt's, as sign-in checks it: the new clerk signs in.
		anna := h.browser()
		if p := anna.signIn(t, "anna.k", annaPassword); p.StatusCode != http.StatusSeeOther {
			t.Fatalf("new employee cannot sign in: %d", p.StatusCode)
		}
		page := b.get(t, p.Header.Get("Location"))
		wantStatus(t, page, http.StatusOK)
		wantContains(t, page, "anna.k", "Άννα Κυριακίδου")
		wantLacks(t, page, "$2a$", "$2b$")
	})
	t.Run("ErrUsernameTaken", func(t *testing.T) {
		v := newEmployee(annaPassword, annaPassword)
		v.Set("username", "maria")
		p := b.post(t, "/console/admin/employees", v)
		wantStatus(t, p, http.StatusConflict)
		if !strings.Contains(unescapedBody(p), "Το όνομα χρήστη χρησιμοποιείται ήδη.") {
			t.Error("409 lacks the username's message")
		}
	})
	t.Run("Filter", func(t *testing.T) {
		p := b.get(t, "/console/admin/employees?role=clerk&service_id="+strconv.Itoa(svcTechnical)+"&active=yes")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, "Μαρία Παπαδοπούλου", "Γιώργος Μανουσάκης")
		wantLacks(t, p, "Νίκος Γεωργίου", "Δήμητρα Κλάδου", "Πέτρος Συνταξιούχος", "$2a$")
		wantStatus(t, b.get(t, "/console/admin/employees?role=king"), http.StatusBadRequest)
	})
	t.Run("Edit", func(t *testing.T) {
		p := b.post(t, employeeAdminPath(idGiorgos), url.Values{fieldCSRF: {token}, "username": {"giorgos"},
			"full_name": {"Γιώργος Μανουσάκης"}, "email": {"giorgos@dimos.example"}, "role": {"director"},
			"service_id": {strconv.Itoa(svcTechnical)}})
		wantStatus(t, p, http.StatusSeeOther)
		if r := h.dir.employees[idGiorgos].Role; r != dimos.RoleDirector {
			t.Fatalf("role %s", r)
		}
		e := onlyAudit(t, h, auditEmployeeUpdate)
		if !strings.Contains(e.Detail, `role: "clerk" → "director"`) {
			t.Errorf("detail %q", e.Detail)
		}
	})
	t.Run("DeactivationEndsSessions", func(t *testing.T) {
		nikos := h.signedIn(t, "nikos")
		wantStatus(t, nikos.get(t, "/console/inbox"), http.StatusOK)
		p := b.post(t, employeeAdminPath(idNikos)+"/active", url.Values{fieldCSRF: {token}, "active": {"0"}})
		wantStatus(t, p, http.StatusSeeOther)
		onlyAudit(t, h, auditEmployeeDeactivate)
		wantStatus(t, nikos.get(t, "/console/inbox"), http.StatusSeeOther) // to sign in
		if p := h.browser().signIn(t, "nikos", password); p.StatusCode == http.StatusSeeOther {
			t.Fatal("a deactivated employee signed in")
		}
		p = b.post(t, employeeAdminPath(idNikos)+"/active", url.Values{fieldCSRF: {token}, "active": {"1"}})
		wantStatus(t, p, http.StatusSeeOther)
		onlyAudit(t, h, auditEmployeeReactivate)
		h.signedIn(t, "nikos")
	})
	t.Run("ErrDeactivateSelf", func(t *testing.T) {
		p := b.post(t, employeeAdminPath(idAdmin)+"/active", url.Values{fieldCSRF: {token}, "active": {"0"}})
		wantStatus(t, p, http.StatusBadRequest)
		if !h.dir.employees[idAdmin].Active {
			t.Fatal("the admin deactivated themselves")
		}
	})
	t.Run("PasswordEndsSessions", func(t *testing.T) {
		maria := h.signedIn(t, "maria")
		const fresh = "Νέος-κωδικός-Μαρίας-2026"
		p := b.post(t, employeeAdminPath(idMaria)+"/password", url.Values{fieldCSRF: {token}, "password": {fresh}, "password_confirm": {fresh}})
		wantStatus(t, p, http.StatusSeeOther)
		e := onlyAudit(t, h, auditEmployeePassword)
		if strings.Contains(e.Detail, fresh) || strings.Contains(e.Detail, fa.dir.employees[idMaria].PasswordHash) {
			t.Fatalf("the audit holds the password or its hash: %q", e.Detail)
		}
		wantStatus(t, maria.get(t, "/console/inbox"), http.StatusSeeOther)
		if p := h.browser().signIn(t, "maria", password); p.StatusCode == http.StatusSeeOther {
			t.Fatal("the old password still works")
		}
		if p := h.browser().signIn(t, "maria", fresh); p.StatusCode != http.StatusSeeOther {
			t.Fatalf("the new password does not work: %d", p.StatusCode)
		}
		p = b.post(t, employeeAdminPath(idMaria)+"/password", url.Values{fieldCSRF: {token}, "password": {"short"}, "password_confirm": {"short"}})
		wantStatus(t, p, http.StatusBadRequest)
	})
}

func TestAdminCategories(t *testing.T) {
	h, fa, rt := adminHarness(t)
	b := h.signedIn(t, "admin")
	token := b.csrf(t, "/console/admin/categories/new")
	roads := func(completion string) url.Values {
		return url.Values{fieldCSRF: {token}, "name_el": {"Οδοποιία"}, "name_en": {"Roads"}, "kinds": {"request", "complaint"},
			"service_id": {strconv.Itoa(svcTechnical)}, "assign_days": {"1"}, "response_days": {"2,5"},
			"completion_days": {completion}, "statutory_days": {""}, "info_reply_days": {"15"}, "active": {"1"}}
	}

	t.Run("TargetsChangedRetargetsOpenCases", func(t *testing.T) {
		p := b.post(t, categoryAdminPath("roads"), roads("10"))
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, categoryAdminPath("roads")+"?done=saved")
		calls := rt.called()
		// roads has the open pothole (workflow running) and a completed case.
		want := dimos.Targets{AssignDays: 1, ResponseDays: 2.5, CompletionDays: 10, StatutoryDays: 50, InfoReplyDays: 15}
		if len(calls) != 1 || !slices.Equal(calls[0].Numbers, []string{numPothole}) || calls[0].Targets != want {
			t.Fatalf("retarget calls %+v, want [%s] with %+v", calls, numPothole, want)
		}
		e := onlyAudit(t, h, auditCategoryUpdate)
		for _, w := range []string{`completion_days: "0" → "10"`, `kinds: "" → "request,complaint"`, "open cases told: 1/1"} {
			if !strings.Contains(e.Detail, w) {
				t.Errorf("detail %q lacks %q", e.Detail, w)
			}
		}
	})
	t.Run("NamesOnlyTellNoCase", func(t *testing.T) {
		v := roads("10")
		v.Set("name_en", "Road works")
		wantStatus(t, b.post(t, categoryAdminPath("roads"), v), http.StatusSeeOther)
		if n := len(rt.called()); n != 1 {
			t.Fatalf("retarget called %d times after a change of name", n)
		}
	})
	t.Run("RoutingChanged", func(t *testing.T) {
		v := roads("10")
		v.Set("name_en", "Road works")
		v.Set("service_id", strconv.Itoa(svcCleaning))
		wantStatus(t, b.post(t, categoryAdminPath("roads"), v), http.StatusSeeOther)
		c, _ := fa.AdminCategory(t.Context(), "roads")
		if c.ServiceID != svcCleaning {
			t.Fatalf("routing %d", c.ServiceID)
		}
		if d := h.audit.find(auditCategoryUpdate); !strings.Contains(d[len(d)-1].Detail, `service_id: "1" → "2"`) {
			t.Errorf("detail %q", d[len(d)-1].Detail)
		}
	})
	t.Run("RetargetFailureSaidOnPage", func(t *testing.T) {
		rt.mu.Lock()
		rt.err = errors.New("temporal down")
		rt.mu.Unlock()
		defer func() { rt.mu.Lock(); rt.err = nil; rt.mu.Unlock() }()
		p := b.post(t, categoryAdminPath("roads"), roads("12"))
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, categoryAdminPath("roads")+"?done=retarget_failed")
		page := b.get(t, p.Header.Get("Location"))
		if !strings.Contains(unescapedBody(page), "δεν ενημερώθηκαν όλες οι ανοιχτές υποθέσεις") {
			t.Error("the page does not say that cases were not told")
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		v := roads("60")
		v.Set("assign_days", "δύο")
		v.Del("kinds")
		p := b.post(t, categoryAdminPath("roads"), v)
		wantStatus(t, p, http.StatusBadRequest)
		body := unescapedBody(p)
		for _, w := range []string{"Γράψτε αριθμό ημερών", "Επιλέξτε τουλάχιστον ένα είδος", "δεν μπορεί να ξεπερνά τη νόμιμη προθεσμία", `value="δύο"`} {
			if !strings.Contains(body, w) {
				t.Errorf("400 page lacks %q", w)
			}
		}
		if c, _ := fa.AdminCategory(t.Context(), "roads"); c.Targets.CompletionDays == 60 {
			t.Fatal("a refused form was saved")
		}
	})
	t.Run("CreateAndConflict", func(t *testing.T) {
		v := roads("20")
		v.Set("code", "graffiti")
		v.Set("name_el", "Γκράφιτι")
		wantStatus(t, b.post(t, "/console/admin/categories", v), http.StatusSeeOther)
		if c, err := fa.AdminCategory(t.Context(), "graffiti"); err != nil || c.NameEL != "Γκράφιτι" || !c.Allows(dimos.KindComplaint) {
			t.Fatalf("created %+v, %v", c, err)
		}
		onlyAudit(t, h, auditCategoryCreate)
		p := b.post(t, "/console/admin/categories", v)
		wantStatus(t, p, http.StatusConflict)
		wantContains(t, p, `id="category-code-errors"`)
		list := b.get(t, "/console/admin/categories")
		wantContains(t, list, "graffiti", "Γκράφιτι")
	})
}

func TestAdminTemplates(t *testing.T) {
	h, fa, _ := adminHarness(t)
	b := h.signedIn(t, "admin")
	token := b.csrf(t, categoryAdminPath("lighting"))

	p := b.post(t, categoryAdminPath("lighting")+"/templates", url.Values{fieldCSRF: {token}, "title": {"Αλλαγή λαμπτήρα"},
		"body_el": {"Ο λαμπτήρας αντικαταστάθηκε."}, "body_en": {"The lamp was replaced."}})
	wantStatus(t, p, http.StatusSeeOther)
	tps, _ := fa.ResponseTemplates(t.Context(), "lighting")
	if len(tps) != 1 {
		t.Fatalf("templates %+v", tps)
	}
	lamp := tps[0]
	if e := onlyAudit(t, h, auditTemplateCreate); !strings.Contains(e.Detail, `title: "" → "Αλλαγή λαμπτήρα"`) {
		t.Errorf("detail %q", e.Detail)
	}
	wantStatus(t, b.post(t, categoryAdminPath("lighting")+"/templates", url.Values{fieldCSRF: {token}, "title": {"Κενό"}}),
		http.StatusBadRequest)

	t.Run("Edit", func(t *testing.T) {
		p := b.post(t, templateAdminPath(lamp.ID), url.Values{fieldCSRF: {token}, "title": {"Αλλαγή λαμπτήρα"},
			"body_el": {"Ο λαμπτήρας αντικαταστάθηκε σήμερα."}, "body_en": {"The lamp was replaced."}})
		wantStatus(t, p, http.StatusSeeOther)
		e := onlyAudit(t, h, auditTemplateUpdate)
		if !strings.Contains(e.Detail, `body_el: "Ο λαμπτήρας αντικαταστάθηκε." → "Ο λαμπτήρας αντικαταστάθηκε σήμερα."`) {
			t.Errorf("detail %q", e.Detail)
		}
	})

	t.Run("PrefillOnCasePage", func(t *testing.T) {
		maria := h.signedIn(t, "maria")
		// The light case is in English: the template's English text fills the answer.
		cp := maria.get(t, casePath(numLight))
		wantStatus(t, cp, http.StatusOK)
		link := "?form=complete&amp;template=" + strconv.FormatInt(lamp.ID, 10) + "#complete-title"
		wantContains(t, cp, link, "Αλλαγή λαμπτήρα")
		wantLacks(t, cp, "The lamp was replaced.</textarea>")
		filled := maria.get(t, casePath(numLight)+"?template="+strconv.FormatInt(lamp.ID, 10)+"&form=complete")
		wantStatus(t, filled, http.StatusOK)
		wantContains(t, filled, `name="answer"`, ">The lamp was replaced.</textarea>")
		// The pothole is in Greek and fills the rejection, which then shows open.
		pothole := maria.get(t, casePath(numPothole)+"?template="+strconv.Itoa(tplRoads)+"&form=reject")
		wantStatus(t, pothole, http.StatusOK)
		wantContains(t, pothole, ">Το οδόστρωμα επισκευάστηκε από το συνεργείο του Δήμου.</textarea>")
		// A template of another category fills nothing.
		other := maria.get(t, casePath(numPothole)+"?template="+strconv.FormatInt(lamp.ID, 10)+"&form=complete")
		wantLacks(t, other, "The lamp was replaced.", "Ο λαμπτήρας")
	})

	t.Run("Delete", func(t *testing.T) {
		wantStatus(t, b.post(t, templateAdminPath(lamp.ID)+"/delete", url.Values{fieldCSRF: {token}}), http.StatusBadRequest)
		p := b.post(t, templateAdminPath(lamp.ID)+"/delete", url.Values{fieldCSRF: {token}, "confirm": {"1"}})
		wantStatus(t, p, http.StatusSeeOther)
		onlyAudit(t, h, auditTemplateDelete)
		if _, err := fa.ResponseTemplate(t.Context(), lamp.ID); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("deleted template: %v", err)
		}
		wantStatus(t, b.get(t, templateAdminPath(lamp.ID)), http.StatusNotFound)
	})
}

// TestAdminCSRF: every admin form refuses a post without its session's token, and
// changes nothing.
func TestAdminCSRF(t *testing.T) {
	h, fa, rt := adminHarness(t)
	b := h.signedIn(t, "admin")
	for _, path := range []string{"/console/admin/services", serviceAdminPath(svcTechnical), serviceAdminPath(svcTechnical) + "/director",
		"/console/admin/employees", employeeAdminPath(idMaria), employeeAdminPath(idMaria) + "/active",
		employeeAdminPath(idMaria) + "/password", "/console/admin/categories", categoryAdminPath("roads"),
		categoryAdminPath("roads") + "/templates", templateAdminPath(tplRoads), templateAdminPath(tplRoads) + "/delete"} {
		for _, token := range []string{"", "forged"} {
			p := b.post(t, path, url.Values{fieldCSRF: {token}, "code": {"X"}, "name_el": {"Χ"}, "name_en": {"X"},
				"active": {"0"}, "confirm": {"1"}, "title": {"X"}, "body_el": {"X"}, "completion_days": {"3"}})
			wantStatus(t, p, http.StatusForbidden)
		}
	}
	if len(h.audit.entries) != 1 || h.audit.entries[0].Action != auditSignin {
		t.Errorf("refused posts were audited: %+v", h.audit.entries)
	}
	if !h.dir.employees[idMaria].Active || len(rt.called()) != 0 || len(fa.templates) != 1 {
		t.Error("a refused post changed something")
	}
}
