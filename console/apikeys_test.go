package console

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"dimos"
)

// fakeAPIKeys keeps keys in memory, newest first, as the store's contract says.
type fakeAPIKeys struct {
	mu      sync.Mutex
	keys    []dimos.APIKey
	secrets map[int64]string
	revokes []revokeCall
	next    int64
	now     func() time.Time
}

type revokeCall struct{ ID, By int64 }

func newFakeAPIKeys(now func() time.Time) *fakeAPIKeys {
	return &fakeAPIKeys{secrets: map[int64]string{}, next: 100, now: now, keys: []dimos.APIKey{
		{ID: 2, Name: "Εφαρμογή FixMyStreet", Prefix: "dimos_fixmys", CreatedAt: time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC), CreatedBy: idAdmin},
		{ID: 1, Name: "Παλιός συνεργάτης", Prefix: "dimos_oldold", CreatedAt: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC),
			RevokedAt: time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC)},
	}}
}

func (f *fakeAPIKeys) CreateAPIKey(ctx context.Context, name string, createdBy int64) (string, dimos.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	key := "dimos_abcdef" + "SECRET" + strings.Repeat("x", 30) + string(rune('a'+f.next%26))
	k := dimos.APIKey{ID: f.next, Name: name, Prefix: key[:12], CreatedAt: f.now(), CreatedBy: createdBy}
	f.keys = append([]dimos.APIKey{k}, f.keys...)
	f.secrets[k.ID] = key
	return key, k, nil
}

func (f *fakeAPIKeys) RevokeAPIKey(ctx context.Context, id int64, by int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revokes = append(f.revokes, revokeCall{id, by})
	for i := range f.keys {
		if f.keys[i].ID == id {
			if f.keys[i].RevokedAt.IsZero() {
				f.keys[i].RevokedAt, f.keys[i].RevokedBy = f.now(), by
			}
			return nil
		}
	}
	return errNotFound
}

func (f *fakeAPIKeys) APIKeys(ctx context.Context) ([]dimos.APIKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]dimos.APIKey(nil), f.keys...), nil
}

func (f *fakeAPIKeys) CheckAPIKey(ctx context.Context, key string) (dimos.APIKey, error) {
	return dimos.APIKey{}, dimos.Errorf(dimos.EUNAUTHORIZED, "error.unauthorized")
}

func (f *fakeAPIKeys) created() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.secrets)
}

func (f *fakeAPIKeys) revoked() []revokeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]revokeCall(nil), f.revokes...)
}

// newAPIKeysHarness is a harness with an admin and a store of API keys.
func newAPIKeysHarness(t *testing.T) (*harness, *fakeAPIKeys) {
	t.Helper()
	var keys *fakeAPIKeys
	h := newHarness(t, func(cfg *Config) {
		keys = newFakeAPIKeys(cfg.Now)
		cfg.APIKeys = keys
	})
	withAdmin(h)
	return h, keys
}

const pathKeys = "/console/admin/api-keys"

func TestAPIKeysAccess(t *testing.T) {
	h, keys := newAPIKeysHarness(t)
	for _, tc := range []struct {
		username string
		allowed  bool
	}{
		{"admin", true},
		{"maria", false}, {"dimitra", false}, {"kostas", false}, {"eleni", false},
	} {
		t.Run(tc.username, func(t *testing.T) {
			b := h.signedIn(t, tc.username)
			token := b.csrf(t, "/console/inbox")
			created, revoked := keys.created(), len(keys.revoked())
			pages := []page{
				b.get(t, pathKeys),
				b.post(t, pathKeys, url.Values{"_csrf": {token}, "name": {"Δοκιμή " + tc.username}}),
				b.post(t, pathKeys+"/2/revoke", url.Values{"_csrf": {token}, "confirm": {"1"}}),
			}
			inbox := b.get(t, "/console/inbox")
			if !tc.allowed {
				for _, p := range pages {
					wantStatus(t, p, http.StatusForbidden)
					wantLacks(t, p, "FixMyStreet", "SECRET")
				}
				if keys.created() != created || len(keys.revoked()) != revoked {
					t.Fatalf("the store was written for %s", tc.username)
				}
				wantLacks(t, inbox, `href="/console/admin/api-keys"`)
				return
			}
			wantStatus(t, pages[0], http.StatusOK)
			wantStatus(t, pages[1], http.StatusOK)
			wantStatus(t, pages[2], http.StatusSeeOther)
			wantContains(t, inbox, `href="/console/admin/api-keys"`)
		})
	}
	t.Run("SignedOut", func(t *testing.T) {
		p := h.browser().get(t, pathKeys)
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, "/console/signin?next=%2Fconsole%2Fadmin%2Fapi-keys")
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		h := newHarness(t)
		withAdmin(h)
		b := h.signedIn(t, "admin")
		token := b.csrf(t, "/console/inbox")
		wantLacks(t, b.get(t, "/console/inbox"), `href="/console/admin/api-keys"`)
		wantStatus(t, b.get(t, pathKeys), http.StatusServiceUnavailable)
		wantStatus(t, b.post(t, pathKeys, url.Values{"_csrf": {token}, "name": {"x"}}), http.StatusServiceUnavailable)
		wantStatus(t, b.post(t, pathKeys+"/2/revoke", url.Values{"_csrf": {token}, "confirm": {"1"}}), http.StatusServiceUnavailable)
	})
}

func TestAPIKeysPage(t *testing.T) {
	h, _ := newAPIKeysHarness(t)
	b := h.signedIn(t, "admin")
	p := b.get(t, pathKeys)
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "Κλειδιά API (Open311)",
		"Εφαρμογή FixMyStreet", "dimos_fixmys…", "01/02/2026 10:00", "Άρης Διαχειριστής", "Ενεργό",
		"Παλιός συνεργάτης", "dimos_oldold…", "από τη γραμμή εντολών", "Ανακλήθηκε", "15/01/2026 10:00",
		`action="/console/admin/api-keys"`, `<label for="apikey-name">`, `maxlength="100"`,
		`action="/console/admin/api-keys/2/revoke"`, `<input type="checkbox" id="revoke-2" name="confirm" value="1" required>`,
		`<label for="revoke-2">`)
	// A revoked key has nothing left to revoke.
	wantLacks(t, p, "/console/admin/api-keys/1/revoke")

	b.get(t, "/console/lang/en")
	wantContains(t, b.get(t, pathKeys), "API keys (Open311)", "Issue key", "from the command line", "Revoked")
}

func TestAPIKeysIssue(t *testing.T) {
	t.Run("ShownOnce", func(t *testing.T) {
		h, keys := newAPIKeysHarness(t)
		b := h.signedIn(t, "admin")
		token := b.csrf(t, pathKeys)
		p := b.post(t, pathKeys, url.Values{"_csrf": {token}, "name": {"  Εφαρμογή κινητού  "}})
		wantStatus(t, p, http.StatusOK)
		if p.Header.Get("Location") != "" {
			t.Fatal("the issue answered with a redirect")
		}
		if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("Cache-Control %q", cc)
		}
		keys.mu.Lock()
		var k dimos.APIKey
		for _, kk := range keys.keys {
			if kk.Name == "Εφαρμογή κινητού" {
				k = kk
			}
		}
		secret := keys.secrets[k.ID]
		keys.mu.Unlock()
		if secret == "" || k.CreatedBy != idAdmin {
			t.Fatalf("key %+v created wrongly (trimmed name, by the admin)", k)
		}
		wantContains(t, p, `value="`+secret+`"`, "δεν θα εμφανιστεί ξανά", "api_key", "POST /open311/v2/requests",
			"Νέο κλειδί: Εφαρμογή κινητού")
		if n := strings.Count(p.Body, secret); n != 1 {
			t.Fatalf("the key shows %d times on its page", n)
		}

		list := b.get(t, pathKeys)
		wantContains(t, list, "Εφαρμογή κινητού", k.Prefix+"…")
		wantLacks(t, list, secret, "δεν θα εμφανιστεί ξανά")

		audit := h.audit.find("apikey.create")
		if len(audit) != 1 || audit[0].EmployeeID != idAdmin || audit[0].Target != "Εφαρμογή κινητού" || audit[0].Detail != k.Prefix {
			t.Fatalf("audit %+v", audit)
		}
		h.audit.mu.Lock()
		defer h.audit.mu.Unlock()
		for _, e := range h.audit.entries {
			if strings.Contains(e.Target+e.Detail, secret) || strings.Contains(e.Target+e.Detail, "SECRET") {
				t.Fatalf("audit entry %+v keeps the key", e)
			}
		}
	})
	t.Run("ErrCSRF", func(t *testing.T) {
		h, keys := newAPIKeysHarness(t)
		b := h.signedIn(t, "admin")
		for _, token := range []string{"", "forged"} {
			wantStatus(t, b.post(t, pathKeys, url.Values{"_csrf": {token}, "name": {"Εφαρμογή"}}), http.StatusForbidden)
		}
		if keys.created() != 0 || len(h.audit.find("apikey.create")) != 0 {
			t.Fatal("a key was issued without a token")
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		h, keys := newAPIKeysHarness(t)
		b := h.signedIn(t, "admin")
		token := b.csrf(t, pathKeys)
		long := strings.Repeat("κ", dimos.MaxAPIKeyNameLen+1)
		for _, tc := range []struct {
			name, value string
			want        []string
		}{
			{"ErrNameRequired", "   ", []string{"Το πεδίο είναι υποχρεωτικό."}},
			{"ErrNameTooLong", long, []string{"Το όνομα έχει έως 100 χαρακτήρες.", `value="` + long + `"`}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := b.post(t, pathKeys, url.Values{"_csrf": {token}, "name": {tc.value}})
				wantStatus(t, p, http.StatusBadRequest)
				wantContains(t, p, tc.want...)
				wantContains(t, p, `role="alert"`, `id="apikey-name-errors"`, `aria-invalid="true"`,
					`aria-describedby="apikey-name-hint apikey-name-errors"`)
			})
		}
		// Exactly the limit is fine.
		wantStatus(t, b.post(t, pathKeys, url.Values{"_csrf": {token}, "name": {long[len("κ"):]}}), http.StatusOK)
		if keys.created() != 1 {
			t.Fatalf("%d keys issued, want only the valid one", keys.created())
		}
	})
}

func TestAPIKeysRevoke(t *testing.T) {
	t.Run("Revokes", func(t *testing.T) {
		h, keys := newAPIKeysHarness(t)
		b := h.signedIn(t, "admin")
		token := b.csrf(t, pathKeys)
		p := b.post(t, pathKeys+"/2/revoke", url.Values{"_csrf": {token}, "confirm": {"1"}})
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, pathKeys+"?done=revoke")
		if got := keys.revoked(); len(got) != 1 || got[0] != (revokeCall{ID: 2, By: idAdmin}) {
			t.Fatalf("revokes %+v", got)
		}
		audit := h.audit.find("apikey.revoke")
		if len(audit) != 1 || audit[0].EmployeeID != idAdmin || audit[0].Target != "Εφαρμογή FixMyStreet" ||
			!strings.Contains(audit[0].Detail, "dimos_fixmys") {
			t.Fatalf("audit %+v", audit)
		}
		done := b.get(t, pathKeys+"?done=revoke")
		wantContains(t, done, `role="status"`, "Το κλειδί ανακλήθηκε", "</time> · Άρης Διαχειριστής") // who revoked it
		wantLacks(t, done, "/console/admin/api-keys/2/revoke")
	})
	t.Run("ErrConfirmRequired", func(t *testing.T) {
		h, keys := newAPIKeysHarness(t)
		b := h.signedIn(t, "admin")
		token := b.csrf(t, pathKeys)
		p := b.post(t, pathKeys+"/2/revoke", url.Values{"_csrf": {token}})
		wantStatus(t, p, http.StatusBadRequest)
		wantContains(t, p, "Επιβεβαιώστε την ανάκληση", `id="revoke-2-errors"`, `aria-describedby="revoke-2-errors" aria-invalid="true"`)
		if len(keys.revoked()) != 0 || len(h.audit.find("apikey.revoke")) != 0 {
			t.Fatal("revoked without confirmation")
		}
	})
	t.Run("ErrCSRF", func(t *testing.T) {
		h, keys := newAPIKeysHarness(t)
		b := h.signedIn(t, "admin")
		for _, token := range []string{"", "forged"} {
			wantStatus(t, b.post(t, pathKeys+"/2/revoke", url.Values{"_csrf": {token}, "confirm": {"1"}}), http.StatusForbidden)
		}
		if len(keys.revoked()) != 0 || len(h.audit.find("apikey.revoke")) != 0 {
			t.Fatal("revoked without a token")
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		h, keys := newAPIKeysHarness(t)
		b := h.signedIn(t, "admin")
		token := b.csrf(t, pathKeys)
		for _, id := range []string{"999", "x", "0"} {
			p := b.post(t, pathKeys+"/"+id+"/revoke", url.Values{"_csrf": {token}, "confirm": {"1"}})
			wantStatus(t, p, http.StatusNotFound)
			wantContains(t, p, "Το κλειδί δεν βρέθηκε.")
		}
		if len(keys.revoked()) != 0 {
			t.Fatal("the store was asked to revoke an unknown key")
		}
	})
}

// TestAPIKeysCatalogue renders every state of the page in both languages and looks
// for catalogue keys shown instead of their sentences, as TestCatalogue does.
func TestAPIKeysCatalogue(t *testing.T) {
	rawKey := regexp.MustCompile(`\b(console|error|field)\.[a-z_]+(\.[a-z_]+)*\b`)
	for _, lang := range []string{"el", "en"} {
		t.Run(lang, func(t *testing.T) {
			h, _ := newAPIKeysHarness(t)
			b := h.signedIn(t, "admin")
			b.get(t, "/console/lang/"+lang)
			token := b.csrf(t, pathKeys)
			for _, p := range []page{
				b.get(t, pathKeys),
				b.get(t, pathKeys+"?done=revoke"),
				b.post(t, pathKeys, url.Values{"_csrf": {token}, "name": {"Εφαρμογή"}}),
				b.post(t, pathKeys, url.Values{"_csrf": {token}, "name": {""}}),
				b.post(t, pathKeys, url.Values{"_csrf": {token}, "name": {strings.Repeat("x", 101)}}),
				b.post(t, pathKeys+"/2/revoke", url.Values{"_csrf": {token}}),
				b.post(t, pathKeys+"/999/revoke", url.Values{"_csrf": {token}, "confirm": {"1"}}),
			} {
				if m := rawKey.FindString(strings.ReplaceAll(p.Body, "console.css", "")); m != "" {
					t.Errorf("%s %s shows the key %q", p.Request.Method, p.Request.URL, m)
				}
				if !strings.Contains(p.Body, `lang="`+lang+`"`) {
					t.Errorf("%s %s is not in %s", p.Request.Method, p.Request.URL, lang)
				}
			}
		})
	}
}
