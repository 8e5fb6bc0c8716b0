package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"dimos"
	"dimos/i18n"
)

func TestCertificate(t *testing.T) {
	h := newAccountHarness(t)
	ctx := context.Background()
	citizen(t, h.db, "eleni", "eleni@example.gr", "σωστός-κωδικός")
	nikos := citizen(t, h.db, "nikos", "nikos@example.gr", "σωστός-κωδικός")
	var desk int64
	if err := h.db.Pool.QueryRow(ctx, `SELECT id FROM employees ORDER BY id LIMIT 1`).Scan(&desk); err != nil {
		t.Fatal(err)
	}
	if err := h.db.VerifyCitizen(ctx, nikos.ID, desk, dimos.DocIDCard, "ΑΒ 123456", time.Now()); err != nil {
		t.Fatal(err)
	}
	verification := i18n.T(i18n.Greek, "field.kind.verification")

	t.Run("SignedOut", func(t *testing.T) {
		a := h.get(t, "/certificate")
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/signin?next=/certificate" {
			t.Errorf("status %d, Location %q", a.status, a.header.Get("Location"))
		}
	})

	t.Run("Unverified", func(t *testing.T) {
		session, csrf, token := h.signIn(t, "eleni", "σωστός-κωδικός")
		a := h.get(t, "/certificate", session, csrf)
		if a.status != http.StatusOK || !strings.Contains(a.body, verification) ||
			!strings.Contains(a.body, i18n.T(i18n.Greek, "portal.certificate.verify.step_visit")) ||
			strings.Contains(a.body, `action="/certificate"`) {
			t.Errorf("status %d: %s", a.status, a.body)
		}
		if !strings.Contains(a.body, `href="/certificate"`) {
			t.Error("the header has no link to the certificate page")
		}
		p := h.postTo(t, "/certificate", url.Values{"_csrf": {token}, "category": {"cert-birth"},
			"purpose": {"Για την εφορία"}, "delivery": {"kep"}}, session, csrf)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, verification) || !strings.Contains(p.body, `role="alert"`) {
			t.Errorf("status %d: %s", p.status, p.body)
		}
	})

	session, csrf, token := h.signIn(t, "nikos", "σωστός-κωδικός")

	t.Run("Form", func(t *testing.T) {
		a := h.get(t, "/certificate", session, csrf)
		for _, want := range []string{`action="/certificate"`, `<option value="cert-birth">Πιστοποιητικό γέννησης</option>`,
			"Ταχυδρομικά στη διεύθυνσή σας", "Εγνατίας 12, Θεσσαλονίκη", `value="electronic"`} {
			if !strings.Contains(a.body, want) {
				t.Errorf("form lacks %q", want)
			}
		}
		if strings.Contains(a.body, `value="potholes"`) {
			t.Error("a category without certificates is offered")
		}
	})

	t.Run("ErrRequired", func(t *testing.T) {
		a := h.postTo(t, "/certificate", url.Values{"_csrf": {token}, "category": {"cert-birth"},
			"details": {"Δύο αντίγραφα"}}, session, csrf)
		if a.status != http.StatusBadRequest {
			t.Fatalf("status %d", a.status)
		}
		for _, want := range []string{`id="f-purpose-error"`, `id="f-delivery-error"`, i18n.T(i18n.Greek, "field.required"),
			i18n.T(i18n.Greek, "field.delivery.unknown"), "Δύο αντίγραφα", `<option value="cert-birth" selected>`} {
			if !strings.Contains(a.body, want) {
				t.Errorf("refusal lacks %q: %s", want, a.body)
			}
		}
	})

	t.Run("ErrCSRFMissing", func(t *testing.T) {
		a := h.postTo(t, "/certificate", url.Values{"category": {"cert-birth"}, "purpose": {"Για την εφορία"},
			"delivery": {"post"}}, session, csrf)
		if a.status != http.StatusForbidden {
			t.Errorf("status %d", a.status)
		}
	})

	t.Run("Submitted", func(t *testing.T) {
		a := h.postTo(t, "/certificate", url.Values{"_csrf": {token}, "category": {"cert-birth"},
			"purpose": {"Για την εφορία"}, "delivery": {"post"}}, session, csrf)
		if a.status != http.StatusCreated {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		m := receiptNumber.FindStringSubmatch(a.body)
		if m == nil {
			t.Fatalf("no case number on the receipt: %s", a.body)
		}
		cs, err := h.db.CaseByNumber(ctx, m[1])
		if err != nil {
			t.Fatal(err)
		}
		if cs.Kind != dimos.KindCertificate || cs.CategoryCode != "cert-birth" || cs.Purpose != "Για την εφορία" ||
			cs.Delivery != dimos.DeliveryPost || cs.Subject != "Πιστοποιητικό γέννησης" || cs.Text != "Για την εφορία" ||
			cs.Channel != dimos.ChannelPortal || cs.CitizenID != nikos.ID {
			t.Errorf("stored case: %+v", cs)
		}
	})
}
