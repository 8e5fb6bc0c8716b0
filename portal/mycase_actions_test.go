package portal_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"dimos"
	"dimos/i18n"
	"dimos/postgres"
	"dimos/workflows"
)

// postFile posts the attach form as a browser does, multipart with the file.
func (h *harness) postFile(t *testing.T, path string, fields map[string]string, name string, data []byte, cookies ...*http.Cookie) answer {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if name != "" {
		fw, err := w.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	for _, c := range cookies {
		if c != nil {
			req.AddCookie(c)
		}
	}
	return h.do(t, req)
}

// complete moves a case to completed with an answer, as the workflow would.
func complete(t *testing.T, db *postgres.DB, cs *dimos.Case) {
	t.Helper()
	err := db.RecordTransition(context.Background(), dimos.Transition{CaseID: cs.ID, Seq: 2, Stage: dimos.StageCompleted,
		At: time.Now(), Answer: "Αποκαταστάθηκε.", Event: dimos.CaseEvent{Type: "completed", Public: true}})
	if err != nil {
		t.Fatal(err)
	}
}

func (w *fakeWork) last(t *testing.T, n int) update {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.updates) != n+1 {
		t.Fatalf("updates %+v, want %d", w.updates, n+1)
	}
	return w.updates[n]
}

func (w *fakeWork) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.updates)
}

var pdf = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

func TestMyCaseAttach(t *testing.T) {
	h := newAccountHarness(t)
	eleni := citizen(t, h.db, "eleni", "eleni@example.gr", "σωστός-κωδικός")
	nikos := citizen(t, h.db, "nikos", "nikos@example.gr", "άλλος-κωδικός")
	open := fileCase(t, h.db, eleni, "Λακκούβα")
	others := fileCase(t, h.db, nikos, "Λακκούβα του Νίκου")
	session, csrf, token := h.signIn(t, "eleni", "σωστός-κωδικός")
	ctx := context.Background()
	path := "/my/cases/" + open.Number + "/attach"

	t.Run("Form", func(t *testing.T) {
		a := h.get(t, "/my/cases/"+open.Number, session, csrf)
		for _, want := range []string{`action="` + path + `"`, `enctype="multipart/form-data"`, `name="file" type="file"`, "Επισύναψη αρχείου"} {
			if !strings.Contains(a.body, want) {
				t.Errorf("case page lacks %q", want)
			}
		}
		if strings.Contains(a.body, "/rate\"") || strings.Contains(a.body, "/reopen\"") {
			t.Error("an open case offers rating or reopening")
		}
	})

	t.Run("PDF", func(t *testing.T) {
		a := h.postFile(t, path, map[string]string{"_csrf": token, "text": " Η φωτογραφία της βλάβης. "}, "βλάβη.pdf", pdf, session, csrf)
		if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/my/cases/"+open.Number+"?attached=1") {
			t.Fatalf("status %d, Location %q: %s", a.status, a.header.Get("Location"), a.body)
		}
		stored, err := h.db.CaseAttachments(ctx, open.ID)
		if err != nil || len(stored) != 1 || stored[0].ContentType != "application/pdf" || !stored[0].ByCitizen || !stored[0].Public {
			t.Fatalf("stored %+v, %v", stored, err)
		}
		u := h.work.last(t, 0)
		req, ok := u.req.(workflows.CitizenCommentRequest)
		if u.number != open.Number || u.name != workflows.UpdateCitizenComment || !ok || req.Text != "Η φωτογραφία της βλάβης." ||
			len(req.Attachments) != 1 || req.Attachments[0].ID != stored[0].ID || req.Attachments[0].ContentType != "application/pdf" ||
			req.Attachments[0].Name != "βλάβη.pdf" {
			t.Errorf("update %+v", u)
		}
		if page := h.get(t, a.header.Get("Location"), session, csrf); !strings.Contains(page.body, i18n.T(i18n.Greek, "portal.mycase.attached")) {
			t.Error("no notice after attaching")
		}
	})

	t.Run("ErrType", func(t *testing.T) {
		exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0, 0xff}, 64)...)
		a := h.postFile(t, path, map[string]string{"_csrf": token, "text": "Κρατήστε με"}, "setup.exe", exe, session, csrf)
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, `id="f-file-error"`) ||
			!strings.Contains(a.body, i18n.T(i18n.Greek, "field.file.type")) || !strings.Contains(a.body, ">Κρατήστε με</textarea>") ||
			!strings.Contains(a.body, `aria-describedby="f-file-hint f-file-error"`) {
			t.Errorf("status %d: %s", a.status, a.body)
		}
		if stored, _ := h.db.CaseAttachments(ctx, open.ID); len(stored) != 1 || h.work.count() != 1 {
			t.Errorf("stored %d, updates %d", len(stored), h.work.count())
		}
	})

	t.Run("ErrNoFile", func(t *testing.T) {
		a := h.postFile(t, path, map[string]string{"_csrf": token}, "", nil, session, csrf)
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, `id="f-file-error"`) || h.work.count() != 1 {
			t.Errorf("status %d", a.status)
		}
	})

	t.Run("ErrCSRFMissing", func(t *testing.T) {
		a := h.postFile(t, path, nil, "other.pdf", append(pdf, '1'), session, csrf)
		if stored, _ := h.db.CaseAttachments(ctx, open.ID); a.status != http.StatusForbidden || len(stored) != 1 || h.work.count() != 1 {
			t.Errorf("status %d, stored %d", a.status, len(stored))
		}
	})

	t.Run("ErrOthersCase", func(t *testing.T) {
		a := h.postFile(t, "/my/cases/"+others.Number+"/attach", map[string]string{"_csrf": token}, "x.pdf", pdf, session, csrf)
		if stored, _ := h.db.CaseAttachments(ctx, others.ID); a.status != http.StatusNotFound || len(stored) != 0 || h.work.count() != 1 {
			t.Errorf("status %d, stored %d", a.status, len(stored))
		}
	})

	t.Run("ErrTemporalDown", func(t *testing.T) {
		h.work.err = context.DeadlineExceeded
		defer func() { h.work.err = nil }()
		a := h.postFile(t, path, map[string]string{"_csrf": token, "text": "Κρατήστε με"}, "βλάβη.pdf", pdf, session, csrf)
		if a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "δοκιμάστε ξανά") || !strings.Contains(a.body, ">Κρατήστε με</textarea>") {
			t.Errorf("status %d: %s", a.status, a.body)
		}
	})

	t.Run("ErrClosed", func(t *testing.T) {
		complete(t, h.db, open)
		if a := h.get(t, "/my/cases/"+open.Number, session, csrf); strings.Contains(a.body, `action="`+path+`"`) {
			t.Error("a completed case offers the attach form")
		}
		a := h.postFile(t, path, map[string]string{"_csrf": token}, "late.pdf", append(pdf, '2'), session, csrf)
		if stored, _ := h.db.CaseAttachments(ctx, open.ID); a.status != http.StatusConflict || len(stored) != 1 {
			t.Errorf("status %d, stored %d", a.status, len(stored))
		}
	})
}

func TestMyCaseRateAndReopen(t *testing.T) {
	h := newAccountHarness(t)
	eleni := citizen(t, h.db, "eleni", "eleni@example.gr", "σωστός-κωδικός")
	nikos := citizen(t, h.db, "nikos", "nikos@example.gr", "άλλος-κωδικός")
	done := fileCase(t, h.db, eleni, "Λακκούβα")
	others := fileCase(t, h.db, nikos, "Λακκούβα του Νίκου")
	complete(t, h.db, done)
	complete(t, h.db, others)
	session, csrf, token := h.signIn(t, "eleni", "σωστός-κωδικός")
	page := "/my/cases/" + done.Number

	t.Run("Forms", func(t *testing.T) {
		a := h.get(t, page, session, csrf)
		for _, want := range []string{`action="` + page + `/rate"`, `action="` + page + `/reopen"`, `type="radio" name="stars" id="f-stars-5" value="5"`,
			"<legend>", "Βαθμολογία της απάντησης", "Επανεξέταση της υπόθεσης"} {
			if !strings.Contains(a.body, want) {
				t.Errorf("case page lacks %q", want)
			}
		}
		if strings.Contains(a.body, page+`/attach"`) {
			t.Error("a completed case offers the attach form")
		}
	})

	t.Run("Rate", func(t *testing.T) {
		a := h.postTo(t, page+"/rate", url.Values{"_csrf": {token}, "stars": {"4"}, "remark": {" Γρήγορα. "}}, session, csrf)
		if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), page+"?rated=1") {
			t.Fatalf("status %d, Location %q", a.status, a.header.Get("Location"))
		}
		u := h.work.last(t, 0)
		req, ok := u.req.(workflows.RateRequest)
		if u.number != done.Number || u.name != workflows.UpdateRate || !ok || req.Rating != (dimos.Rating{Stars: 4, Remark: "Γρήγορα."}) {
			t.Errorf("update %+v", u)
		}
	})

	t.Run("ErrStarsOutOfRange", func(t *testing.T) {
		a := h.postTo(t, page+"/rate", url.Values{"_csrf": {token}, "stars": {"7"}, "remark": {"Κρατήστε με"}}, session, csrf)
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, `id="f-stars-error"`) ||
			!strings.Contains(a.body, i18n.T(i18n.Greek, "field.rating.range")) || !strings.Contains(a.body, ">Κρατήστε με</textarea>") || h.work.count() != 1 {
			t.Errorf("status %d: %s", a.status, a.body)
		}
	})

	t.Run("ErrAlreadyRated", func(t *testing.T) {
		h.work.err = &dimos.Error{Code: dimos.ECONFLICT, Key: "error.case.rated"}
		defer func() { h.work.err = nil }()
		a := h.postTo(t, page+"/rate", url.Values{"_csrf": {token}, "stars": {"2"}}, session, csrf)
		if a.status != http.StatusConflict || !strings.Contains(a.body, i18n.T(i18n.Greek, "error.case.rated")) ||
			!strings.Contains(a.body, `id="f-stars-2" value="2" checked`) {
			t.Errorf("status %d: %s", a.status, a.body)
		}
	})

	t.Run("ErrRateCSRFMissing", func(t *testing.T) {
		if a := h.postTo(t, page+"/rate", url.Values{"stars": {"5"}}, session, csrf); a.status != http.StatusForbidden || h.work.count() != 1 {
			t.Errorf("status %d", a.status)
		}
	})

	t.Run("Reopen", func(t *testing.T) {
		a := h.postTo(t, page+"/reopen", url.Values{"_csrf": {token}, "reason": {" Η λακκούβα άνοιξε ξανά. "}}, session, csrf)
		if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), page+"?reopened=1") {
			t.Fatalf("status %d, Location %q", a.status, a.header.Get("Location"))
		}
		u := h.work.last(t, 1)
		req, ok := u.req.(workflows.ReopenRequest)
		if u.number != done.Number || u.name != workflows.UpdateReopen || !ok || req.Reason != "Η λακκούβα άνοιξε ξανά." {
			t.Errorf("update %+v", u)
		}
	})

	t.Run("ErrReasonRequired", func(t *testing.T) {
		a := h.postTo(t, page+"/reopen", url.Values{"_csrf": {token}, "reason": {"  "}}, session, csrf)
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, `aria-describedby="f-reason-hint f-reason-error"`) || h.work.count() != 2 {
			t.Errorf("status %d", a.status)
		}
	})

	t.Run("ErrReopenWindowPassed", func(t *testing.T) {
		h.work.err = &dimos.Error{Code: dimos.ECONFLICT, Key: "error.case.reopen_closed"}
		defer func() { h.work.err = nil }()
		a := h.postTo(t, page+"/reopen", url.Values{"_csrf": {token}, "reason": {"Κρατήστε με"}}, session, csrf)
		if a.status != http.StatusConflict || !strings.Contains(a.body, `id="f-reason-error"`) ||
			!strings.Contains(a.body, i18n.T(i18n.Greek, "error.case.reopen_closed")) || !strings.Contains(a.body, ">Κρατήστε με</textarea>") {
			t.Errorf("status %d: %s", a.status, a.body)
		}
	})

	t.Run("ErrReopenCSRFMissing", func(t *testing.T) {
		if a := h.postTo(t, page+"/reopen", url.Values{"reason": {"Χωρίς κουπόνι"}}, session, csrf); a.status != http.StatusForbidden || h.work.count() != 2 {
			t.Errorf("status %d", a.status)
		}
	})

	t.Run("ErrOthersCase", func(t *testing.T) {
		a := h.postTo(t, "/my/cases/"+others.Number+"/rate", url.Values{"_csrf": {token}, "stars": {"1"}}, session, csrf)
		b := h.postTo(t, "/my/cases/"+others.Number+"/reopen", url.Values{"_csrf": {token}, "reason": {"Εισβολή"}}, session, csrf)
		if a.status != http.StatusNotFound || b.status != http.StatusNotFound || strings.Contains(a.body+b.body, "Νίκου") || h.work.count() != 2 {
			t.Errorf("status %d, %d", a.status, b.status)
		}
	})

	t.Run("ErrSignedOut", func(t *testing.T) {
		a := h.postTo(t, page+"/reopen", url.Values{"_csrf": {token}, "reason": {"x"}}, csrf)
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/signin?next="+url.QueryEscape(page) {
			t.Errorf("status %d, Location %q", a.status, a.header.Get("Location"))
		}
	})
}
