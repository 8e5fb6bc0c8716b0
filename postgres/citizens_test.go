package postgres_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"dimos"
	"dimos/postgres/pgtest"
)

func newCitizen(username, email string) *dimos.Citizen {
	return &dimos.Citizen{Username: username, FirstName: "Ελένη", LastName: "Παππά", Email: email,
		MobilePhone: "6900000001", Address: "Εγνατίας 12, Θεσσαλονίκη", PasswordHash: "pw-hash"}
}

func tokenHash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func TestCitizens(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

	eleni := newCitizen("Eleni", "Eleni@Example.gr")
	eleni.PhoneAccessCode = "123456"
	if err := db.CreateCitizen(ctx, eleni); err != nil {
		t.Fatal(err)
	}
	if eleni.ID == 0 || eleni.Username != "eleni" {
		t.Fatalf("created %+v", eleni)
	}

	t.Run("ErrDuplicateUsername", func(t *testing.T) {
		err := db.CreateCitizen(ctx, newCitizen("ELENI", "other@example.gr"))
		if e, ok := err.(*dimos.Error); !ok || e.Code != dimos.ECONFLICT || e.Key != "account.error.username_taken" ||
			len(e.Fields) != 1 || e.Fields[0].Field != "username" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ErrDuplicateEmail", func(t *testing.T) {
		err := db.CreateCitizen(ctx, newCitizen("eleni2", "eleni@example.GR"))
		if dimos.ErrorKey(err) != "account.error.email_taken" || dimos.ErrorCode(err) != dimos.ECONFLICT {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ErrDuplicateAccessCode", func(t *testing.T) {
		c := newCitizen("eleni3", "eleni3@example.gr")
		c.PhoneAccessCode = "123456"
		if err := db.CreateCitizen(ctx, c); dimos.ErrorKey(err) != "account.error.access_code_taken" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("Lookups", func(t *testing.T) {
		for name, get := range map[string]func() (*dimos.Citizen, error){
			"username":    func() (*dimos.Citizen, error) { return db.CitizenByUsername(ctx, " ELENI ") },
			"email":       func() (*dimos.Citizen, error) { return db.CitizenByEmail(ctx, "eleni@example.gr") },
			"access code": func() (*dimos.Citizen, error) { return db.CitizenByAccessCode(ctx, "123456") },
			"id":          func() (*dimos.Citizen, error) { return db.CitizenByID(ctx, eleni.ID) },
		} {
			c, err := get()
			if err != nil || c.ID != eleni.ID || c.FirstName != "Ελένη" || c.PasswordHash != "pw-hash" {
				t.Fatalf("by %s: %+v %v", name, c, err)
			}
		}
		list, err := db.CitizensByMobile(ctx, "6900000001")
		if err != nil || len(list) != 1 || list[0].ID != eleni.ID {
			t.Fatalf("by mobile: %v %v", list, err)
		}
		if _, err := db.CitizenByUsername(ctx, "nobody"); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("unknown: %v", err)
		}
	})

	t.Run("ActivationTokenOnceAndNotExpired", func(t *testing.T) {
		for _, tok := range []struct {
			name    string
			expires time.Time
		}{{"expired", now.Add(-time.Minute)}, {"good", now.Add(48 * time.Hour)}} {
			if err := db.CreateCitizenToken(ctx, dimos.CitizenToken{Hash: tokenHash(tok.name), CitizenID: eleni.ID,
				Kind: dimos.TokenActivation, CreatedAt: now.Add(-time.Hour), ExpiresAt: tok.expires}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ActivateCitizen(ctx, tokenHash("expired"), "pin-hash", now); dimos.ErrorCode(err) != dimos.EUNAUTHORIZED {
			t.Fatalf("expired token: %v", err)
		}
		c, err := db.ActivateCitizen(ctx, tokenHash("good"), "pin-hash", now)
		if err != nil || !c.ActivatedAt.Equal(now) || c.PINHash != "pin-hash" {
			t.Fatalf("activate: %+v %v", c, err)
		}
		if _, err := db.ActivateCitizen(ctx, tokenHash("good"), "other", now); dimos.ErrorCode(err) != dimos.EUNAUTHORIZED {
			t.Fatalf("second use: %v", err)
		}
		// A session token is no activation token.
		if err := db.CreateCitizenToken(ctx, dimos.CitizenToken{Hash: tokenHash("session"), CitizenID: eleni.ID,
			Kind: dimos.TokenSession, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ActivateCitizen(ctx, tokenHash("session"), "x", now); dimos.ErrorCode(err) != dimos.EUNAUTHORIZED {
			t.Fatalf("session as activation: %v", err)
		}
	})

	t.Run("Sessions", func(t *testing.T) {
		c, err := db.CitizenBySession(ctx, tokenHash("session"), now)
		if err != nil || c.ID != eleni.ID {
			t.Fatalf("session: %v %v", c, err)
		}
		if _, err := db.CitizenBySession(ctx, tokenHash("session"), now.Add(2*time.Hour)); dimos.ErrorCode(err) != dimos.EUNAUTHORIZED {
			t.Fatalf("expired session: %v", err)
		}
		if _, err := db.CitizenBySession(ctx, tokenHash("good"), now); dimos.ErrorCode(err) != dimos.EUNAUTHORIZED {
			t.Fatalf("activation token as session: %v", err)
		}
	})

	t.Run("ResetPasswordEndsSessions", func(t *testing.T) {
		if err := db.CreateCitizenToken(ctx, dimos.CitizenToken{Hash: tokenHash("reset"), CitizenID: eleni.ID,
			Kind: dimos.TokenReset, CreatedAt: now, ExpiresAt: now.Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		c, err := db.ResetPassword(ctx, tokenHash("reset"), "new-hash", now)
		if err != nil || c.PasswordHash != "new-hash" {
			t.Fatalf("reset: %+v %v", c, err)
		}
		if _, err := db.CitizenBySession(ctx, tokenHash("session"), now); dimos.ErrorCode(err) != dimos.EUNAUTHORIZED {
			t.Fatalf("session survived the reset: %v", err)
		}
		if _, err := db.ResetPassword(ctx, tokenHash("reset"), "again", now); dimos.ErrorCode(err) != dimos.EUNAUTHORIZED {
			t.Fatalf("second use: %v", err)
		}
	})

	t.Run("Verification", func(t *testing.T) {
		if err := db.RequestVerification(ctx, eleni.ID, dimos.DocPassport, now); err != nil {
			t.Fatal(err)
		}
		var desk int64
		if err := db.Pool.QueryRow(ctx, `SELECT id FROM employees ORDER BY id LIMIT 1`).Scan(&desk); err != nil {
			t.Fatal(err)
		}
		if err := db.VerifyCitizen(ctx, eleni.ID, desk, dimos.DocIDCard, "ΑΒ 123456", now); err != nil {
			t.Fatal(err)
		}
		c, _ := db.CitizenByID(ctx, eleni.ID)
		if !c.Verified() || c.VerifiedBy != desk || c.VerificationDoc != dimos.DocIDCard || c.VerificationDocNumber != "ΑΒ 123456" ||
			!c.VerificationRequestedAt.Equal(now) {
			t.Fatalf("verified: %+v", c)
		}
		if err := db.RequestVerification(ctx, eleni.ID, dimos.DocIDCard, now); dimos.ErrorKey(err) != "account.error.already_verified" {
			t.Fatalf("request when verified: %v", err)
		}
		// A profile change that keeps VerifiedAt keeps the verification …
		c.Address = "Τσιμισκή 1"
		if err := db.UpdateProfile(ctx, c); err != nil {
			t.Fatal(err)
		}
		if c2, _ := db.CitizenByID(ctx, eleni.ID); !c2.Verified() || c2.Address != "Τσιμισκή 1" {
			t.Fatalf("after edit: %+v", c2)
		}
		// … one that clears it withdraws it.
		c.LastName, c.VerifiedAt = "Παππά-Νικολάου", time.Time{}
		if err := db.UpdateProfile(ctx, c); err != nil {
			t.Fatal(err)
		}
		if c2, _ := db.CitizenByID(ctx, eleni.ID); c2.Verified() || c2.VerificationDocNumber != "" || c2.LastName != "Παππά-Νικολάου" {
			t.Fatalf("after name change: %+v", c2)
		}
	})

	t.Run("ErrProfileEmailTaken", func(t *testing.T) {
		other := newCitizen("nikos", "nikos@example.gr")
		if err := db.CreateCitizen(ctx, other); err != nil {
			t.Fatal(err)
		}
		other.Email = "ELENI@example.gr"
		if err := db.UpdateProfile(ctx, other); dimos.ErrorKey(err) != "account.error.email_taken" {
			t.Fatalf("got %v", err)
		}
	})

	var linked *dimos.Case
	t.Run("OwnCasesNewestFirst", func(t *testing.T) {
		for i, subject := range []string{"Πρώτη", "Δεύτερη", "Ξένη"} {
			c := newCase("potholes")
			c.Subject = subject
			c.SubmittedAt = now.Add(time.Duration(i) * time.Hour)
			if err := db.SubmitCase(ctx, c); err != nil {
				t.Fatal(err)
			}
			if subject != "Ξένη" {
				if err := db.LinkCase(ctx, c.ID, eleni.ID); err != nil {
					t.Fatal(err)
				}
				linked = c
			}
		}
		list, err := db.CitizenCases(ctx, eleni.ID)
		if err != nil || len(list) != 2 || list[0].Subject != "Δεύτερη" || list[1].Subject != "Πρώτη" ||
			list[0].Status != dimos.StatusPending || list[0].Number != linked.Number {
			t.Fatalf("cases: %+v %v", list, err)
		}
		if err := db.LinkCase(ctx, 999999, eleni.ID); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("unknown case: %v", err)
		}
	})

	t.Run("Export", func(t *testing.T) {
		x, err := db.ExportCitizen(ctx, eleni.ID)
		if err != nil || x.Citizen.ID != eleni.ID || len(x.Cases) != 2 || len(x.Tokens) == 0 {
			t.Fatalf("export: %+v %v", x, err)
		}
		for _, tok := range x.Tokens {
			if tok.Hash != nil {
				t.Fatal("export carries a token hash")
			}
		}
	})

	t.Run("EraseAnonymisesAndKeepsCases", func(t *testing.T) {
		if err := db.EraseCitizen(ctx, eleni.ID, now); err != nil {
			t.Fatal(err)
		}
		c, err := db.CitizenByID(ctx, eleni.ID)
		if err != nil || c.ErasedAt.IsZero() || c.Username != "" || c.Email != "" || c.FirstName != "" ||
			c.MobilePhone != "" || c.Address != "" || c.PhoneAccessCode != "" || c.PasswordHash != "" || c.PINHash != "" {
			t.Fatalf("erased: %+v %v", c, err)
		}
		cs, err := db.CaseByNumber(ctx, linked.Number)
		if err != nil || cs.Contact != (dimos.Contact{}) || cs.Subject != linked.Subject {
			t.Fatalf("case after erase: %+v %v", cs, err)
		}
		var owner *int64
		if err := db.Pool.QueryRow(ctx, `SELECT citizen_id FROM cases WHERE id = $1`, linked.ID).Scan(&owner); err != nil || owner != nil {
			t.Fatalf("case still linked: %v %v", owner, err)
		}
		var tokens int
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM citizen_tokens WHERE citizen_id = $1`, eleni.ID).Scan(&tokens)
		if tokens != 0 {
			t.Fatalf("%d tokens left", tokens)
		}
		if _, err := db.CitizenByUsername(ctx, "eleni"); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("erased account still signs in: %v", err)
		}
		// The name and address are free again.
		if err := db.CreateCitizen(ctx, newCitizen("eleni", "eleni@example.gr")); err != nil {
			t.Fatalf("re-register: %v", err)
		}
		if err := db.EraseCitizen(ctx, eleni.ID, now); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("second erase: %v", err)
		}
	})
}

func TestDeskQueries(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var desk int64
	if err := db.Pool.QueryRow(ctx, `SELECT id FROM employees ORDER BY id LIMIT 1`).Scan(&desk); err != nil {
		t.Fatal(err)
	}
	create := func(username, last, mobile, afm string, created time.Time, activated bool) *dimos.Citizen {
		t.Helper()
		c := newCitizen(username, username+"@Example.gr")
		c.LastName, c.MobilePhone, c.AFM, c.CreatedAt = last, mobile, afm, created
		if activated {
			c.ActivatedAt = created
		}
		if err := db.CreateCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	older := create("anna", "Παπαδάκη", "6911111111", "090000045", now.Add(-48*time.Hour), true)
	newer := create("anna2", "Παπαδάκη-Ρου", "6911111111", "", now.Add(-24*time.Hour), true)
	other := create("kostas_", "Μαρκάκης", "6922222222", "", now.Add(-12*time.Hour), true)
	sleeper := create("asleep", "Ζαχαρίου", "6933333333", "", now, false)
	erased := create("gone", "Παπαδάκη", "6911111111", "", now, true)
	if err := db.EraseCitizen(ctx, erased.ID, now); err != nil {
		t.Fatal(err)
	}

	ids := func(cs []*dimos.Citizen) []int64 {
		out := []int64{}
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	t.Run("Find", func(t *testing.T) {
		for _, tc := range []struct {
			query string
			want  []int64
		}{
			{"ANNA", []int64{older.ID}},
			{"anna2@example.GR", []int64{newer.ID}},
			{"6911111111", []int64{newer.ID, older.ID}}, // newest first; the erased account is left out
			{"691 111 1111", []int64{newer.ID, older.ID}},
			{"090000045", []int64{older.ID}},
			{"παπαδ", []int64{newer.ID, older.ID}},
			{"Μαρκάκης", []int64{other.ID}},
			{"kostas%", []int64{}}, // LIKE's wildcards are plain characters
			{"ann", []int64{}},     // a user name matches whole, not as a prefix
			{"  ", []int64{}},
		} {
			got, err := db.FindCitizens(ctx, tc.query, 10)
			if err != nil {
				t.Fatalf("%q: %v", tc.query, err)
			}
			if g := ids(got); fmt.Sprint(g) != fmt.Sprint(tc.want) {
				t.Errorf("%q: got %v, want %v", tc.query, g, tc.want)
			}
		}
		if got, err := db.FindCitizens(ctx, "6911111111", 1); err != nil || len(got) != 1 || got[0].ID != newer.ID {
			t.Fatalf("limit: %v %v", ids(got), err)
		}
	})
	t.Run("PendingVerifications", func(t *testing.T) {
		for _, r := range []struct {
			c  *dimos.Citizen
			at time.Time
		}{{newer, now.Add(-3 * time.Hour)}, {older, now.Add(-2 * time.Hour)}, {other, now.Add(-time.Hour)}, {sleeper, now.Add(-4 * time.Hour)}} {
			if err := db.RequestVerification(ctx, r.c.ID, dimos.DocIDCard, r.at); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.VerifyCitizen(ctx, other.ID, desk, dimos.DocPassport, "AB1234567", now); err != nil {
			t.Fatal(err)
		}
		got, err := db.PendingVerifications(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		// Longest waiting first; the verified and the not yet activated are not waiting.
		if g := ids(got); fmt.Sprint(g) != fmt.Sprint([]int64{newer.ID, older.ID}) {
			t.Fatalf("got %v", g)
		}
		if got[0].VerificationDoc != dimos.DocIDCard || !got[0].VerificationRequestedAt.Equal(now.Add(-3*time.Hour)) {
			t.Fatalf("row %+v", got[0])
		}
		if got, _ := db.PendingVerifications(ctx, 1); len(got) != 1 {
			t.Fatalf("limit: %v", ids(got))
		}
	})
}
