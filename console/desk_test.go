package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"dimos"
)

// Citizens of the test municipality, for the desk.
const (
	czAnna    = 10 // activated, asked to be verified with her identity card
	czVasilis = 11 // verified by Kostas with his passport
	czSleeper = 12 // asked, but never activated the account
	czErased  = 13 // erased at their request
	idAdmin   = 8
)

func newFakeCitizens() *fakeCitizens {
	at := func(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }
	return &fakeCitizens{citizens: map[int64]*dimos.Citizen{
		czAnna: {ID: czAnna, Username: "anna", FirstName: "Άννα", LastName: "Καλογεράκη", Email: "anna@example.gr",
			MobilePhone: "6911111111", Phone: "2841011111", Address: "Κνωσού 3, Άγιος Νικόλαος", AFM: "090000045",
			ActivatedAt: at(1, 8), CreatedAt: at(1, 8), VerificationDoc: dimos.DocIDCard, VerificationRequestedAt: at(1, 9)},
		czVasilis: {ID: czVasilis, Username: "vasilis", FirstName: "Βασίλης", LastName: "Ζερβάκης", Email: "vasilis@example.gr",
			MobilePhone: "6922222222", Address: "Ρούσου Κούνδουρου 1", ActivatedAt: at(1, 8), CreatedAt: at(1, 8),
			VerificationRequestedAt: at(1, 9), VerifiedAt: at(1, 10), VerifiedBy: idKostas,
			VerificationDoc: dimos.DocPassport, VerificationDocNumber: "AB1234567"},
		czSleeper: {ID: czSleeper, Username: "sleeper", FirstName: "Μάρκος", LastName: "Υπναράς", Email: "m@example.gr",
			MobilePhone: "6933333333", CreatedAt: at(1, 7), VerificationDoc: dimos.DocPassport, VerificationRequestedAt: at(1, 7)},
		czErased: {ID: czErased, CreatedAt: at(1, 6), ErasedAt: at(1, 11)},
	}}
}

// withAdmin adds an admin to the harness's directory.
func withAdmin(h *harness) {
	h.dir.mu.Lock()
	h.dir.employees[idAdmin] = &dimos.Employee{ID: idAdmin, Username: "admin", FullName: "Άρης Διαχειριστής",
		Role: dimos.RoleAdmin, PasswordHash: passwordHash(), Active: true}
	h.dir.mu.Unlock()
}

var annaPath = "/console/desk/citizens/" + strconv.Itoa(czAnna)

func TestDeskAccess(t *testing.T) {
	h := newHarness(t)
	withAdmin(h)
	for _, tc := range []struct {
		username string
		allowed  bool
	}{
		{"kostas", true}, {"admin", true},
		{"maria", false}, {"dimitra", false}, {"eleni", false},
	} {
		t.Run(tc.username, func(t *testing.T) {
			b := h.signedIn(t, tc.username)
			token := b.csrf(t, "/console/inbox")
			before := len(h.citizens.calls())
			pages := []page{
				b.get(t, "/console/desk"),
				b.get(t, annaPath),
				b.post(t, annaPath+"/verify", url.Values{"_csrf": {token}, "doc_type": {"id_card"},
					"doc_number": {"ΑΒ123456"}, "confirm": {"1"}}),
			}
			inbox := b.get(t, "/console/inbox")
			if !tc.allowed {
				for _, p := range pages {
					wantStatus(t, p, http.StatusForbidden)
					wantLacks(t, p, "Καλογεράκη", "090000045")
				}
				if got := len(h.citizens.calls()); got != before {
					t.Fatalf("VerifyCitizen called %d times for %s", got-before, tc.username)
				}
				wantLacks(t, inbox, `href="/console/desk"`)
				return
			}
			wantStatus(t, pages[0], http.StatusOK)
			wantStatus(t, pages[1], http.StatusOK)
			wantStatus(t, pages[2], http.StatusSeeOther)
			wantContains(t, inbox, `href="/console/desk"`)
			// Back to waiting for the next employee of the table.
			h.citizens.mu.Lock()
			h.citizens.citizens[czAnna].VerifiedAt = time.Time{}
			h.citizens.mu.Unlock()
		})
	}
	t.Run("SignedOut", func(t *testing.T) {
		p := h.browser().get(t, "/console/desk")
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, "/console/signin?next=%2Fconsole%2Fdesk")
	})
	t.Run("UnknownAndErased", func(t *testing.T) {
		b := h.signedIn(t, "kostas")
		for _, target := range []string{"/console/desk/citizens/999", "/console/desk/citizens/x", "/console/desk/citizens/" + strconv.Itoa(czErased)} {
			p := b.get(t, target)
			wantStatus(t, p, http.StatusNotFound)
			wantContains(t, p, "Ο πολίτης δεν βρέθηκε.")
		}
	})
}

func TestDeskPage(t *testing.T) {
	h := newHarness(t)
	b := h.signedIn(t, "kostas")

	t.Run("Pending", func(t *testing.T) {
		p := b.get(t, "/console/desk")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, "Αιτήσεις ταυτοποίησης σε αναμονή", "Άννα Καλογεράκη", annaPath, "Αστυνομική ταυτότητα")
		// The verified and the not activated are not waiting.
		wantLacks(t, p, "Ζερβάκης", "Υπναράς")
	})
	t.Run("SearchByMobile", func(t *testing.T) {
		p := b.get(t, "/console/desk?q="+url.QueryEscape(" 6922222222 "))
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, "Βασίλης Ζερβάκης", "/console/desk/citizens/"+strconv.Itoa(czVasilis), "Ταυτοποιημένος", `value="6922222222"`)
		if q := h.citizens.queries; len(q) == 0 || q[len(q)-1] != "6922222222" {
			t.Fatalf("queries %q", q)
		}
	})
	t.Run("SearchNothing", func(t *testing.T) {
		p := b.get(t, "/console/desk?q=nobody")
		wantContains(t, p, "Δεν βρέθηκε πολίτης για «nobody».")
	})
	t.Run("SearchTooShort", func(t *testing.T) {
		n := len(h.citizens.queries)
		p := b.get(t, "/console/desk?q=K")
		wantContains(t, p, "τουλάχιστον 2 χαρακτήρες", `aria-invalid="true"`)
		if len(h.citizens.queries) != n {
			t.Fatal("a one-letter search reached the store")
		}
	})
	t.Run("CitizenDetails", func(t *testing.T) {
		p := b.get(t, annaPath)
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, "Άννα", "Καλογεράκη", "anna", "anna@example.gr", "6911111111", "2841011111",
			"Κνωσού 3, Άγιος Νικόλαος", "090000045", "01/03/2026 11:00", // requested at 09:00 UTC, Athens time
			`action="/console/desk/citizens/10/verify"`, `name="_csrf"`,
			`<input type="radio" id="doc-id-card" name="doc_type" value="id_card" required checked>`,
			`<label for="doc-number">`, `<label for="verify-confirm">Έλεγξα το έγγραφο αυτοπροσώπως</label>`)
	})
	t.Run("AlreadyVerified", func(t *testing.T) {
		p := b.get(t, "/console/desk/citizens/"+strconv.Itoa(czVasilis))
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, "Κώστας Γκισές", "01/03/2026 12:00", "Διαβατήριο", "…567")
		wantLacks(t, p, "AB1234567", "/verify", `name="doc_number"`)
	})
	t.Run("NotActivated", func(t *testing.T) {
		p := b.get(t, "/console/desk/citizens/"+strconv.Itoa(czSleeper))
		wantContains(t, p, "δεν έχει ενεργοποιηθεί")
		wantLacks(t, p, `name="doc_number"`)
	})
	t.Run("English", func(t *testing.T) {
		b.get(t, "/console/lang/en")
		defer b.get(t, "/console/lang/el")
		wantContains(t, b.get(t, annaPath), "I checked the document in person", "Identity card", "Passport")
	})
}

func TestDeskVerify(t *testing.T) {
	form := func(token, doc, number string, confirm bool) url.Values {
		f := url.Values{"_csrf": {token}, "doc_type": {doc}, "doc_number": {number}}
		if confirm {
			f.Set("confirm", "1")
		}
		return f
	}

	t.Run("Verifies", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "kostas")
		token := b.csrf(t, annaPath)
		p := b.post(t, annaPath+"/verify", form(token, "id_card", " αβ 123-456 ", true))
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, annaPath+"?done=verify")
		calls := h.citizens.calls()
		want := verifyCall{CitizenID: czAnna, EmployeeID: idKostas, Doc: dimos.DocIDCard, Number: "ΑΒ123456", At: h.clock.Now()}
		if len(calls) != 1 || calls[0] != want {
			t.Fatalf("VerifyCitizen calls %+v, want %+v", calls, want)
		}
		audit := h.audit.find("citizen.verify")
		if len(audit) != 1 || audit[0].EmployeeID != idKostas || audit[0].Target != "anna" ||
			!strings.Contains(audit[0].Detail, "id_card") || !strings.Contains(audit[0].Detail, "456") {
			t.Fatalf("audit %+v", audit)
		}
		if strings.Contains(audit[0].Detail, "123456") || strings.Contains(audit[0].Detail, "ΑΒ") {
			t.Fatalf("audit keeps the document number: %q", audit[0].Detail)
		}
		done := b.get(t, annaPath+"?done=verify")
		wantContains(t, done, `role="status"`, "Ο πολίτης ταυτοποιήθηκε", "Κώστας Γκισές", "…456")
		wantLacks(t, done, `name="doc_number"`, "ΑΒ123456")

		// A second post (another tab, a double click) records nothing.
		again := b.post(t, annaPath+"/verify", form(token, "passport", "XY98765", true))
		wantStatus(t, again, http.StatusConflict)
		wantContains(t, again, "ήδη ταυτοποιημένος")
		if n := len(h.citizens.calls()); n != 1 {
			t.Fatalf("VerifyCitizen called %d times", n)
		}
	})
	t.Run("Passport", func(t *testing.T) {
		h := newHarness(t)
		withAdmin(h)
		b := h.signedIn(t, "admin")
		token := b.csrf(t, annaPath)
		wantStatus(t, b.post(t, annaPath+"/verify", form(token, "passport", "ab1234567", true)), http.StatusSeeOther)
		if c := h.citizens.calls(); len(c) != 1 || c[0].Doc != dimos.DocPassport || c[0].Number != "AB1234567" || c[0].EmployeeID != idAdmin {
			t.Fatalf("calls %+v", c)
		}
	})
	t.Run("ErrCSRF", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "kostas")
		for _, token := range []string{"", "forged"} {
			p := b.post(t, annaPath+"/verify", form(token, "id_card", "ΑΒ123456", true))
			wantStatus(t, p, http.StatusForbidden)
		}
		if n := len(h.citizens.calls()); n != 0 {
			t.Fatalf("VerifyCitizen called %d times without a token", n)
		}
		if len(h.audit.find("citizen.verify")) != 0 {
			t.Fatal("audited without a token")
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "kostas")
		token := b.csrf(t, annaPath)
		for _, tc := range []struct {
			name    string
			form    url.Values
			want    []string
			invalid []string // ids of the inputs marked invalid
		}{
			{"ErrNumberRequired", form(token, "id_card", "  ", true),
				[]string{"Το πεδίο είναι υποχρεωτικό."}, []string{"doc-number"}},
			{"ErrNumberShort", form(token, "id_card", "ΑΒ12", true),
				[]string{"5 έως 20 γράμματα", `value="ΑΒ12"`}, []string{"doc-number"}},
			{"ErrNumberCharacters", form(token, "passport", "AB12345!", true),
				[]string{"5 έως 20 γράμματα", `value="AB12345!"`}, []string{"doc-number"}},
			{"ErrConfirmRequired", form(token, "passport", "AB1234567", false),
				[]string{"Επιβεβαιώστε ότι ελέγξατε το έγγραφο αυτοπροσώπως.", `value="AB1234567"`,
					`<input type="radio" id="doc-passport" name="doc_type" value="passport" checked>`}, []string{"verify-confirm"}},
			{"ErrDocType", form(token, "driving_licence", "AB1234567", true),
				[]string{"Επιλέξτε αστυνομική ταυτότητα ή διαβατήριο."}, []string{"doc-type"}},
			{"ErrEverything", form(token, "", "", false),
				[]string{"Το πεδίο είναι υποχρεωτικό.", "Επιβεβαιώστε ότι", "Επιλέξτε αστυνομική ταυτότητα ή διαβατήριο."},
				[]string{"doc-number", "verify-confirm", "doc-type"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := b.post(t, annaPath+"/verify", tc.form)
				wantStatus(t, p, http.StatusBadRequest)
				wantContains(t, p, tc.want...)
				wantContains(t, p, `role="alert"`)
				for _, id := range tc.invalid {
					wantContains(t, p, `id="`+id+`-errors"`, id+`-errors"`)
				}
			})
		}
		if n := len(h.citizens.calls()); n != 0 {
			t.Fatalf("VerifyCitizen called %d times for refused forms", n)
		}
		if len(h.audit.find("citizen.verify")) != 0 {
			t.Fatal("refused forms audited")
		}
	})
	t.Run("ErrNotActivated", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "kostas")
		path := "/console/desk/citizens/" + strconv.Itoa(czSleeper)
		token := b.csrf(t, annaPath)
		p := b.post(t, path+"/verify", form(token, "passport", "AB1234567", true))
		wantStatus(t, p, http.StatusConflict)
		if n := len(h.citizens.calls()); n != 0 {
			t.Fatalf("VerifyCitizen called %d times", n)
		}
	})
}

func TestNormalizeDocNumber(t *testing.T) {
	for in, want := range map[string]string{
		"ab 123456":    "AB123456",
		"αβ-123456":    "ΑΒ123456",
		"Χ00001":       "Χ00001",
		"12345":        "12345",
		"ΑΒΓΔΕΖΗΘ1234": "ΑΒΓΔΕΖΗΘ1234",
	} {
		if got, key := normalizeDocNumber(in); got != want || key != "" {
			t.Errorf("%q: got %q %q, want %q", in, got, key, want)
		}
	}
	for in, key := range map[string]string{
		"":                      "field.required",
		" - ":                   "field.required",
		"1234":                  "console.desk.field.doc_number",
		"123456789012345678901": "console.desk.field.doc_number",
		"ΆΒ12345":               "console.desk.field.doc_number", // accented
		"AB12345/":              "console.desk.field.doc_number",
		"АВ12345":               "console.desk.field.doc_number", // Cyrillic look-alikes
	} {
		if got, k := normalizeDocNumber(in); got != "" || k != key {
			t.Errorf("%q: got %q %q, want refusal %q", in, got, k, key)
		}
	}
}
