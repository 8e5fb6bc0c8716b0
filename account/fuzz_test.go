package account

import (
	"testing"

	"dimos"
)

// FuzzRegister feeds arbitrary bodies to the registration decoder: it never panics,
// never answers with a server error, and what it accepts passes the domain's checks.
func FuzzRegister(f *testing.F) {
	for _, seed := range []string{
		`{"username":"eleni","password":"σωστός-κωδικός","first_name":"Ελένη","last_name":"Παππά","email":"eleni@example.gr","mobile_phone":"6900000001","address":"Εγνατίας 12","afm":"094019245","phone_access_code":"123456","lang":"en"}`,
		`{}`, `[]`, `null`, `{"username":42}`, `{"admin":true}`, "{\"username\":\"a\xffb\"}",
		`{"username":"x"} {}`, `{"password":"` + "\u0000" + `"}`, `{"afm":"000000000"}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cit, pw, err := parseRegistration(body)
		if err != nil {
			if status := dimos.HTTPStatus(dimos.ErrorCode(err)); status >= 500 {
				t.Fatalf("status %d for %q: %v", status, body, err)
			}
			return
		}
		if verr := cit.Validate(); verr != nil {
			t.Fatalf("accepted an invalid citizen: %v", verr)
		}
		if len(pw) < 8 || len(pw) > 72 {
			t.Fatalf("accepted password of %d bytes", len(pw))
		}
	})
}
