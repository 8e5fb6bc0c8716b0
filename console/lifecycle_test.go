package console

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"dimos"
	"dimos/i18n"
	"dimos/workflows"
)

const pothole = "/console/cases/" + numPothole

// actorOf is the actor the console must send for a signed-in employee.
func actorOf(h *harness, id int64) dimos.Actor {
	e := h.dir.employees[id]
	return dimos.Actor{EmployeeID: e.ID, Name: e.FullName, Role: e.Role, ServiceID: e.ServiceID}
}

// el is a sentence of the catalogue in Greek, as the page escapes it.
func el(key string, args ...any) string {
	return template.HTMLEscapeString(i18n.T(i18n.Greek, key, args...))
}

// decide fetches the case page for its token, then posts form to the decision's route.
func (b *browser) decide(t *testing.T, number, route string, form url.Values) page {
	t.Helper()
	token := b.csrf(t, "/console/cases/"+number)
	f := url.Values{"_csrf": {token}}
	for k, v := range form {
		f[k] = v
	}
	return b.post(t, "/console/cases/"+number+"/"+route, f)
}

func TestDecisions(t *testing.T) {
	athensTime := func(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, athens) }
	tests := []struct {
		name   string
		user   string
		id     int64
		route  string
		form   url.Values
		update string
		req    func(by dimos.Actor) any
		audit  string
		detail string
	}{
		{"Assign", "maria", idMaria, "assign", url.Values{"employee": {"4"}, "note": {"Αυτοψία αύριο το πρωί."}},
			workflows.UpdateAssign, func(by dimos.Actor) any {
				return workflows.AssignRequest{By: by, EmployeeID: idGiorgos, Note: "Αυτοψία αύριο το πρωί."}
			}, "case.assign", "employee=4"},
		{"AssignByDirector", "dimitra", idDimitra, "assign", url.Values{"employee": {"4"}},
			workflows.UpdateAssign, func(by dimos.Actor) any {
				return workflows.AssignRequest{By: by, EmployeeID: idGiorgos}
			}, "case.assign", "employee=4"},
		{"Transfer", "maria", idMaria, "transfer", url.Values{"service": {"3"}, "reason": {"Αφορά αγωγό ύδρευσης."}},
			workflows.UpdateTransfer, func(by dimos.Actor) any {
				return workflows.TransferRequest{By: by, ServiceID: svcWater, Reason: "Αφορά αγωγό ύδρευσης."}
			}, "case.transfer", "service=3"},
		{"CommentPublic", "maria", idMaria, "comment", url.Values{"text": {"Προγραμματίστηκε αυτοψία."}, "public": {"1"}},
			workflows.UpdateComment, func(by dimos.Actor) any {
				return workflows.CommentRequest{By: by, Text: "Προγραμματίστηκε αυτοψία.", Public: true}
			}, "case.comment", "public"},
		{"CommentInternalByColleague", "giorgos", idGiorgos, "comment", url.Values{"text": {"Το είδα κι εγώ."}},
			workflows.UpdateComment, func(by dimos.Actor) any {
				return workflows.CommentRequest{By: by, Text: "Το είδα κι εγώ."}
			}, "case.comment", "internal"},
		{"CommentByManager", "eleni", idEleni, "comment", url.Values{"text": {"Προτεραιότητα."}},
			workflows.UpdateComment, func(by dimos.Actor) any {
				return workflows.CommentRequest{By: by, Text: "Προτεραιότητα."}
			}, "case.comment", "internal"},
		{"RequestInfo", "maria", idMaria, "request-info", url.Values{"question": {"Ποιος είναι ο ακριβής αριθμός;"}, "reply_days": {"10"}},
			workflows.UpdateRequestInfo, func(by dimos.Actor) any {
				return workflows.RequestInfoRequest{By: by, Question: "Ποιος είναι ο ακριβής αριθμός;", ReplyDays: 10}
			}, "case.request_info", "reply_days=10"},
		{"RequestInfoCategoryDays", "maria", idMaria, "request-info", url.Values{"question": {"Φωτογραφία;"}, "reply_days": {""}},
			workflows.UpdateRequestInfo, func(by dimos.Actor) any {
				return workflows.RequestInfoRequest{By: by, Question: "Φωτογραφία;"}
			}, "case.request_info", "reply_days=0"},
		{"SetDueDate", "maria", idMaria, "due-date", url.Values{"due_date": {"2026-03-10"}, "due_time": {"14:30"}, "reason": {"Αναμονή υλικών."}},
			workflows.UpdateSetDueDate, func(by dimos.Actor) any {
				return workflows.DueDateRequest{By: by, Due: athensTime(2026, 3, 10, 14, 30), Reason: "Αναμονή υλικών."}
			}, "case.due_date", "2026-03-10T12:30:00Z"},
		{"RegisterProtocol", "maria", idMaria, "register-protocol", nil,
			workflows.UpdateRegisterProtocol, func(by dimos.Actor) any { return workflows.ActorRequest{By: by} },
			"case.register_protocol", ""},
		{"Complete", "dimitra", idDimitra, "complete", url.Values{"answer": {"Επισκευάστηκε."}},
			workflows.UpdateComplete, func(by dimos.Actor) any {
				return workflows.CompleteRequest{By: by, Answer: "Επισκευάστηκε."}
			}, "case.complete", ""},
		{"Reject", "maria", idMaria, "reject", url.Values{"reason": {"Ιδιωτικός δρόμος."}},
			workflows.UpdateReject, func(by dimos.Actor) any {
				return workflows.RejectRequest{By: by, Reason: "Ιδιωτικός δρόμος."}
			}, "case.reject", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			b := h.signedIn(t, tt.user)
			p := b.decide(t, numPothole, tt.route, tt.form)
			wantStatus(t, p, http.StatusSeeOther)
			wantLocation(t, p, pothole+"?done="+tt.route)

			want := []updateCall{{Number: numPothole, Name: tt.update, Req: tt.req(actorOf(h, tt.id))}}
			if got := h.work.called(); !reflect.DeepEqual(got, want) {
				t.Errorf("Work.Update calls:\n got %#v\nwant %#v", got, want)
			}
			audit := h.audit.find(tt.audit)
			if len(audit) != 1 || audit[0].EmployeeID != tt.id || audit[0].Target != numPothole || audit[0].Detail != tt.detail {
				t.Errorf("audit %s: %+v", tt.audit, audit)
			}
			d, _ := (&Console{}).decision(tt.route)
			wantContains(t, b.get(t, p.Header.Get("Location")), `<div class="notice" role="status"><p>`+el(d.notice)+`</p></div>`)
		})
	}

	t.Run("DueDateInAthens", func(t *testing.T) {
		// In summer Athens is three hours ahead of UTC, in winter two.
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		b.decide(t, numPothole, "due-date", url.Values{"due_date": {"2026-07-01"}, "due_time": {"09:00"}})
		calls := h.work.called()
		if len(calls) != 1 {
			t.Fatalf("calls: %+v", calls)
		}
		if due := calls[0].Req.(workflows.DueDateRequest).Due; !due.Equal(time.Date(2026, 7, 1, 6, 0, 0, 0, time.UTC)) {
			t.Errorf("due %v, want 06:00 UTC", due)
		}
	})

	t.Run("NoNoticeForUnknownDone", func(t *testing.T) {
		h := newHarness(t)
		p := h.signedIn(t, "maria").get(t, pothole+"?done=%3Cscript%3E")
		wantStatus(t, p, http.StatusOK)
		wantLacks(t, p, `class="notice"`, "<script>")
	})
}

// routes are every decision route with a form that the workflow would accept.
var routes = []struct {
	route string
	form  url.Values
}{
	{"assign", url.Values{"employee": {"4"}}},
	{"transfer", url.Values{"service": {"2"}, "reason": {"Λάθος υπηρεσία."}}},
	{"comment", url.Values{"text": {"Σχόλιο."}}},
	{"request-info", url.Values{"question": {"Ερώτηση;"}}},
	{"due-date", url.Values{"due_date": {"2026-03-10"}, "due_time": {"10:00"}}},
	{"register-protocol", url.Values{}},
	{"complete", url.Values{"answer": {"Απάντηση."}}},
	{"reject", url.Values{"reason": {"Αιτιολογία."}}},
}

func TestDecisionAccess(t *testing.T) {
	h := newHarness(t)
	users := map[string]*browser{}
	for _, u := range []string{"maria", "nikos", "giorgos", "eleni"} {
		users[u] = h.signedIn(t, u)
	}
	holderOnly := map[string]bool{"assign": true, "transfer": true, "request-info": true, "due-date": true,
		"register-protocol": true, "complete": true, "reject": true}

	for _, r := range routes {
		t.Run("ErrCSRFMissing/"+r.route, func(t *testing.T) {
			p := users["maria"].post(t, pothole+"/"+r.route, r.form)
			wantStatus(t, p, http.StatusForbidden)
			wantContains(t, p, el("error.csrf"))
		})
		t.Run("ErrCSRFWrong/"+r.route, func(t *testing.T) {
			f := url.Values{"_csrf": {users["nikos"].csrf(t, "/console/inbox")}}
			for k, v := range r.form {
				f[k] = v
			}
			wantStatus(t, users["maria"].post(t, pothole+"/"+r.route, f), http.StatusForbidden)
		})
		t.Run("ErrOtherService/"+r.route, func(t *testing.T) {
			token := users["nikos"].csrf(t, "/console/inbox")
			f := url.Values{"_csrf": {token}}
			for k, v := range r.form {
				f[k] = v
			}
			p := users["nikos"].post(t, pothole+"/"+r.route, f)
			wantStatus(t, p, http.StatusForbidden)
			wantContains(t, p, el("error.forbidden"))
			wantLacks(t, p, "Λακκούβα")
		})
		if holderOnly[r.route] {
			for _, u := range []string{"giorgos", "eleni"} {
				t.Run("ErrNotHolder/"+u+"/"+r.route, func(t *testing.T) {
					token := users[u].csrf(t, "/console/inbox")
					f := url.Values{"_csrf": {token}}
					for k, v := range r.form {
						f[k] = v
					}
					wantStatus(t, users[u].post(t, pothole+"/"+r.route, f), http.StatusForbidden)
				})
			}
		}
		t.Run("ErrSignedOut/"+r.route, func(t *testing.T) {
			p := h.browser().post(t, pothole+"/"+r.route, r.form)
			wantStatus(t, p, http.StatusSeeOther)
			wantLocation(t, p, "/console/signin")
		})
	}
	if calls := h.work.called(); len(calls) != 0 {
		t.Errorf("Work.Update called: %+v", calls)
	}
	for _, e := range h.audit.entries {
		if strings.HasPrefix(e.Action, "case.") {
			t.Errorf("audited: %+v", e)
		}
	}

	t.Run("ErrUnknownCase", func(t *testing.T) {
		token := users["maria"].csrf(t, "/console/inbox")
		p := users["maria"].post(t, "/console/cases/2026-999999/comment", url.Values{"_csrf": {token}, "text": {"x"}})
		wantStatus(t, p, http.StatusNotFound)
	})
}

// fieldRefusal is what the workflow returns when a validator refuses a field.
func fieldRefusal(field, key string) error {
	return &dimos.Error{Code: dimos.EINVALID, Key: key, Fields: []dimos.FieldError{{Field: field, Key: key}}}
}

func TestDecisionRefused(t *testing.T) {
	tests := []struct {
		name   string
		route  string
		form   url.Values
		err    error // the workflow's answer; nil: the console refuses before asking
		status int
		want   []string // on the re-rendered page
		lacks  []string
	}{
		{"ErrTransferWithoutReason", "transfer", url.Values{"service": {"3"}, "reason": {"  "}},
			fieldRefusal("reason", "field.required"), http.StatusBadRequest, []string{
				el("error.invalid"),
				`<ul id="transfer-reason-errors" class="field-errors"><li>` + el("field.required") + `</li></ul>`,
				`aria-describedby="transfer-reason-hint transfer-reason-errors" aria-invalid="true">  </textarea>`,
				`<option value="3" selected>Ύδρευση</option>`,
				`<details class="decision" open>
<summary>` + el("console.transfer.title"),
			}, nil},
		{"ErrTransferSameService", "transfer", url.Values{"service": {"2"}, "reason": {"Μήπως;"}},
			dimos.Errorf(dimos.ECONFLICT, "error.transfer.same"), http.StatusConflict, []string{
				el("error.transfer.same"), `<option value="2" selected>Καθαριότητα</option>`, `>Μήπως;</textarea>`,
			}, nil},
		{"ErrAssignWithoutEmployee", "assign", url.Values{"employee": {""}, "note": {"Σημείωμα που μένει"}},
			fieldRefusal("employee", "field.required"), http.StatusBadRequest, []string{
				`<ul id="assign-employee-errors" class="field-errors"><li>` + el("field.required") + `</li></ul>`,
				`<select id="assign-employee" name="employee" required aria-describedby="assign-employee-errors" aria-invalid="true">`,
				`>Σημείωμα που μένει</textarea>`,
			}, nil},
		{"ErrAssignNotInService", "assign", url.Values{"employee": {"5"}},
			dimos.Errorf(dimos.EINVALID, "error.assign.not_in_service"), http.StatusBadRequest, []string{
				el("error.assign.not_in_service"), `<option value="5" selected>`,
			}, nil},
		{"ErrAssignTamperedEmployee", "assign", url.Values{"employee": {"δύο"}},
			nil, http.StatusBadRequest, []string{`<ul id="assign-employee-errors" class="field-errors"><li>` + el("field.type")}, nil},
		{"ErrCommentTooLong", "comment", url.Values{"text": {"πολύ μεγάλο <κείμενο>"}, "public": {"1"}},
			fieldRefusal("text", "field.too_long"), http.StatusBadRequest, []string{
				`<ul id="comment-text-errors" class="field-errors"><li>` + el("field.too_long") + `</li></ul>`,
				`aria-describedby="comment-text-errors" aria-invalid="true">πολύ μεγάλο &lt;κείμενο&gt;</textarea>`,
				`aria-describedby="comment-public-hint" checked>`,
			}, nil},
		{"ErrNotMemberByWorkflow", "comment", url.Values{"text": {"Κρατημένο κείμενο"}},
			dimos.Errorf(dimos.EFORBIDDEN, "error.case.not_holder"), http.StatusForbidden, []string{
				el("error.case.not_holder"), `>Κρατημένο κείμενο</textarea>`,
			}, nil},
		{"ErrRequestInfoDaysRange", "request-info", url.Values{"question": {"Ερώτηση;"}, "reply_days": {"90"}},
			fieldRefusal("reply_days", "field.reply_days.range"), http.StatusBadRequest, []string{
				`<ul id="info-days-errors" class="field-errors"><li>` + el("field.reply_days.range") + `</li></ul>`,
				`value="90" aria-describedby="info-days-hint info-days-errors" aria-invalid="true">`,
				`>Ερώτηση;</textarea>`,
			}, nil},
		{"ErrRequestInfoDaysNotNumber", "request-info", url.Values{"question": {"Ερώτηση;"}, "reply_days": {"δέκα"}},
			nil, http.StatusBadRequest, []string{el("field.reply_days.range"), `value="δέκα"`}, nil},
		{"ErrRequestInfoWaiting", "request-info", url.Values{"question": {"Ξανά;"}},
			dimos.Errorf(dimos.ECONFLICT, "error.case.waiting"), http.StatusConflict, []string{el("error.case.waiting")}, nil},
		{"ErrDueDateInPast", "due-date", url.Values{"due_date": {"2026-03-01"}, "due_time": {"09:15"}, "reason": {"Λόγος"}},
			fieldRefusal("due", "field.due.past"), http.StatusBadRequest, []string{
				`<ul id="due-errors" class="field-errors"><li>` + el("field.due.past") + `</li></ul>`,
				`value="2026-03-01" aria-describedby="due-hint due-errors" aria-invalid="true">`,
				`value="09:15" aria-describedby="due-hint due-errors" aria-invalid="true">`,
				`>Λόγος</textarea>`,
			}, nil},
		{"ErrDueDateNotADate", "due-date", url.Values{"due_date": {"2026-02-30"}, "due_time": {"10:00"}},
			nil, http.StatusBadRequest, []string{el("console.field.due.invalid"), `value="2026-02-30"`}, nil},
		{"ErrDueDateMissing", "due-date", url.Values{"due_date": {""}, "due_time": {"10:00"}},
			nil, http.StatusBadRequest, []string{`<ul id="due-errors" class="field-errors"><li>` + el("field.required")}, nil},
		{"ErrProtocolAlready", "register-protocol", url.Values{},
			dimos.Errorf(dimos.ECONFLICT, "error.protocol.already"), http.StatusConflict, []string{el("error.protocol.already")}, nil},
		{"ErrRejectWithoutReason", "reject", url.Values{"reason": {""}},
			fieldRefusal("reason", "field.required"), http.StatusBadRequest, []string{
				`<ul id="reject-reason-errors" class="field-errors"><li>` + el("field.required") + `</li></ul>`,
				`aria-describedby="reject-reason-hint reject-reason-errors" aria-invalid="true"></textarea>`,
			}, nil},
		{"ErrCompleteClosed", "complete", url.Values{"answer": {"Αργά"}},
			dimos.Errorf(dimos.ECONFLICT, "error.case.closed"), http.StatusConflict, []string{el("error.case.closed"), ">Αργά</textarea>"}, nil},
		{"ErrWorkflowGone", "comment", url.Values{"text": {"Μετά το τέλος"}},
			&dimos.Error{Code: dimos.ENOTFOUND, Key: "error.case.not_found"}, http.StatusNotFound, []string{
				el("console.error.workflow_gone"), ">Μετά το τέλος</textarea>",
			}, []string{el("error.case.not_found")}},
		{"ErrInternal", "reject", url.Values{"reason": {"Κείμενο που δεν χάνεται"}},
			errors.New("temporal: dial tcp 10.1.2.3:7233: connection refused"), http.StatusInternalServerError, []string{
				el("error.internal"), ">Κείμενο που δεν χάνεται</textarea>",
			}, []string{"10.1.2.3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.work.err = tt.err
			b := h.signedIn(t, "maria")
			p := b.decide(t, numPothole, tt.route, tt.form)
			wantStatus(t, p, tt.status)
			wantContains(t, p, tt.want...)
			wantLacks(t, p, tt.lacks...)
			// Only the refused form is open and shows the refusal; the token is kept.
			if n := strings.Count(p.Body, `role="alert"`); n != 1 {
				t.Errorf("%d alerts on the page, want 1", n)
			}
			wantContains(t, p, `name="_csrf" value="`+b.csrf(t, pothole)+`"`)
			calls := h.work.called()
			if tt.err == nil && len(calls) != 0 {
				t.Errorf("the workflow was asked about a form the console refuses: %+v", calls)
			}
			if tt.err != nil && len(calls) != 1 {
				t.Errorf("Work.Update calls: %+v", calls)
			}
			for _, e := range h.audit.entries {
				if strings.HasPrefix(e.Action, "case.") {
					t.Errorf("a refused decision was audited: %+v", e)
				}
			}
		})
	}
}

// Files as the browser would send them.
var (
	pdfFile = []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	exeFile = append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"), bytes.Repeat([]byte{0}, 64)...)
	jpgFile = append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"), bytes.Repeat([]byte{7}, 2000)...)
)

func TestAttach(t *testing.T) {
	t.Run("PDF", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		token := b.csrf(t, pothole)
		p := b.upload(t, pothole+"/attachments", url.Values{"_csrf": {token}, "public": {"1"}}, `C:\Έγγραφα\Αυτοψία οδού.pdf`, pdfFile)
		wantStatus(t, p, http.StatusSeeOther)
		wantLocation(t, p, pothole+"?done=attachments")

		atts, _ := h.files.CaseAttachments(t.Context(), 1)
		if len(atts) != 1 {
			t.Fatalf("stored: %+v", atts)
		}
		a, _ := h.files.Attachment(t.Context(), atts[0].ID)
		sum := sha256.Sum256(pdfFile)
		wantRef := dimos.AttachmentRef{ID: a.ID, Name: "Αυτοψία οδού.pdf", ContentType: "application/pdf",
			Size: int64(len(pdfFile)), SHA256: hex.EncodeToString(sum[:])}
		if a.AttachmentRef != wantRef || a.CaseID != 1 || a.UploadedBy != idMaria || !a.Public || a.ByCitizen || !bytes.Equal(a.Data, pdfFile) {
			t.Errorf("stored %+v\nwant ref %+v", a, wantRef)
		}
		want := []updateCall{{Number: numPothole, Name: workflows.UpdateAttach,
			Req: workflows.AttachRequest{By: actorOf(h, idMaria), Attachment: wantRef, Public: true}}}
		if got := h.work.called(); !reflect.DeepEqual(got, want) {
			t.Errorf("Work.Update calls:\n got %#v\nwant %#v", got, want)
		}
		if got := h.audit.find("case.attach"); len(got) != 1 || got[0].Target != numPothole || !strings.HasPrefix(got[0].Detail, "attachment=") {
			t.Errorf("audit: %+v", got)
		}

		page := b.get(t, p.Header.Get("Location"))
		wantContains(t, page, el("console.done.attach"),
			`<a href="/console/cases/`+numPothole+`/attachments/`+itoa(a.ID)+`" download>Αυτοψία οδού.pdf</a>`,
			"<td>"+el("console.filetype.pdf")+"</td>", `<td class="num">`+el("console.size.bytes", len(pdfFile))+"</td>",
			"<td>Μαρία Παπαδοπούλου</td>")
	})

	t.Run("InternalByColleague", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "giorgos")
		p := b.upload(t, pothole+"/attachments", url.Values{"_csrf": {b.csrf(t, pothole)}}, "σημείωση.txt", []byte("Εσωτερική σημείωση.\n"))
		wantStatus(t, p, http.StatusSeeOther)
		calls := h.work.called()
		if len(calls) != 1 {
			t.Fatalf("calls: %+v", calls)
		}
		req := calls[0].Req.(workflows.AttachRequest)
		if req.Public || req.By.EmployeeID != idGiorgos || req.Attachment.ContentType != "text/plain; charset=utf-8" {
			t.Errorf("request %+v", req)
		}
		wantContains(t, b.get(t, pothole), `<span class="badge badge-internal">`+el("console.event.internal")+`</span>`)
	})

	t.Run("ErrExe", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		p := b.upload(t, pothole+"/attachments", url.Values{"_csrf": {b.csrf(t, pothole)}, "public": {"1"}}, "έγγραφο.pdf.exe", exeFile)
		wantStatus(t, p, http.StatusBadRequest)
		wantContains(t, p, el("error.invalid"),
			`<ul id="attach-file-errors" class="field-errors"><li>`+el("field.file.type")+`</li></ul>`,
			`aria-describedby="attach-file-hint attach-file-errors" aria-invalid="true">`,
			`<input type="checkbox" id="attach-public" name="public" value="1" checked>`)
		if h.files.count() != 0 || len(h.work.called()) != 0 || len(h.audit.find("case.attach")) != 0 {
			t.Errorf("stored %d, updates %+v", h.files.count(), h.work.called())
		}
	})

	t.Run("ErrNoFile", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		p := b.upload(t, pothole+"/attachments", url.Values{"_csrf": {b.csrf(t, pothole)}}, "", nil)
		wantStatus(t, p, http.StatusBadRequest)
		wantContains(t, p, `<ul id="attach-file-errors" class="field-errors"><li>`+el("field.required"))
		if h.files.count() != 0 || len(h.work.called()) != 0 {
			t.Error("something was stored or sent")
		}
	})

	t.Run("ErrClosedCase", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		p := b.upload(t, "/console/cases/"+numCompleted+"/attachments", url.Values{"_csrf": {b.csrf(t, pothole)}}, "α.pdf", pdfFile)
		wantStatus(t, p, http.StatusConflict)
		wantContains(t, p, el("error.case.closed"))
		if h.files.count() != 0 || len(h.work.called()) != 0 {
			t.Error("a file was stored on a closed case")
		}
	})

	t.Run("ErrCSRFMissing", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "maria")
		p := b.upload(t, pothole+"/attachments", url.Values{}, "α.pdf", pdfFile)
		wantStatus(t, p, http.StatusForbidden)
		if h.files.count() != 0 || len(h.work.called()) != 0 {
			t.Error("a file was stored without a token")
		}
	})

	t.Run("ErrOtherService", func(t *testing.T) {
		h := newHarness(t)
		b := h.signedIn(t, "nikos")
		p := b.upload(t, pothole+"/attachments", url.Values{"_csrf": {b.csrf(t, "/console/inbox")}}, "α.pdf", pdfFile)
		wantStatus(t, p, http.StatusForbidden)
		if h.files.count() != 0 || len(h.work.called()) != 0 {
			t.Error("a file was stored by another service")
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestDownload(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	photo := &dimos.Attachment{AttachmentRef: dimos.AttachmentRef{Name: "Φωτογραφία λακκούβας \"1\".jpg", ContentType: "image/jpeg",
		Size: int64(len(jpgFile))}, CaseID: 1, Data: jpgFile, ByCitizen: true, Public: true, CreatedAt: h.clock.Now()}
	other := &dimos.Attachment{AttachmentRef: dimos.AttachmentRef{Name: "κάδοι.pdf", ContentType: "application/pdf",
		Size: int64(len(pdfFile))}, CaseID: 2, Data: pdfFile, UploadedBy: idNikos}
	for _, a := range []*dimos.Attachment{photo, other} {
		if err := h.files.SaveAttachment(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	maria := h.signedIn(t, "maria")
	link := pothole + "/attachments/" + itoa(photo.ID)

	t.Run("Listed", func(t *testing.T) {
		p := maria.get(t, pothole)
		wantContains(t, p, `<a href="`+link+`" download>Φωτογραφία λακκούβας &#34;1&#34;.jpg</a>`,
			"<td>"+el("console.filetype.image")+"</td>", `<td class="num">`+el("console.size.kb", "2")+"</td>",
			`<span class="badge badge-citizen">`+el("console.event.by_citizen")+`</span>`)
		wantLacks(t, p, "κάδοι.pdf")
	})

	t.Run("Headers", func(t *testing.T) {
		p := maria.get(t, link)
		wantStatus(t, p, http.StatusOK)
		if p.Body != string(jpgFile) {
			t.Error("body differs from the stored file")
		}
		if ct := p.Header.Get("Content-Type"); ct != "image/jpeg" {
			t.Errorf("Content-Type %q", ct)
		}
		if got := p.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("X-Content-Type-Options %q", got)
		}
		cd := p.Header.Get("Content-Disposition")
		disp, params, err := mime.ParseMediaType(cd)
		if err != nil || disp != "attachment" || params["filename"] != photo.Name {
			t.Errorf("Content-Disposition %q: %q %v %v", cd, disp, params, err)
		}
		if !strings.Contains(cd, `filename="__________ _________ _1_.jpg"`) ||
			!strings.Contains(cd, "filename*=UTF-8''%CE%A6%CF%89%CF%84") {
			t.Errorf("Content-Disposition %q lacks the ASCII fallback or the RFC 5987 name", cd)
		}
		if got := h.audit.find("case.attachment.download"); len(got) != 1 || got[0].Target != numPothole {
			t.Errorf("audit: %+v", got)
		}
	})

	t.Run("ErrOtherCase", func(t *testing.T) {
		p := maria.get(t, pothole+"/attachments/"+itoa(other.ID))
		wantStatus(t, p, http.StatusNotFound)
		wantContains(t, p, el("error.attachment.not_found"))
		wantLacks(t, p, string(pdfFile[:8]))
	})

	t.Run("ErrOtherService", func(t *testing.T) {
		p := h.signedIn(t, "nikos").get(t, link)
		wantStatus(t, p, http.StatusForbidden)
		wantLacks(t, p, "JFIF")
	})

	t.Run("ErrUnknown", func(t *testing.T) {
		wantStatus(t, maria.get(t, pothole+"/attachments/999"), http.StatusNotFound)
		wantStatus(t, maria.get(t, pothole+"/attachments/abc"), http.StatusNotFound)
	})

	t.Run("ErrSignedOut", func(t *testing.T) {
		p := h.browser().get(t, link)
		wantStatus(t, p, http.StatusSeeOther)
	})
}

func TestContentDisposition(t *testing.T) {
	tests := []struct{ name, want string }{
		{"report.pdf", `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`},
		{"α β.pdf", `attachment; filename="_ _.pdf"; filename*=UTF-8''%CE%B1%20%CE%B2.pdf`},
		{`a"b\c%d;e.txt`, `attachment; filename="a_b_c_d;e.txt"; filename*=UTF-8''a%22b%5Cc%25d%3Be.txt`},
	}
	for _, tt := range tests {
		if got := contentDisposition(tt.name); got != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestClocks(t *testing.T) {
	utc := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, time.UTC) }
	state := workflows.CaseState{Stage: dimos.StageRouted, Clocks: []workflows.Clock{
		{Name: "assign", Days: 1, MetAt: utc(3, 2, 9, 30)},
		{Name: "response", Days: 2.5, Deadline: utc(3, 4, 21, 0), Warned: true},
		{Name: "completion", Days: 10, Deadline: utc(3, 1, 10, 0), Warned: true, Breached: true, Escalated: true},
		{Name: "statutory", Days: 50, Deadline: utc(5, 11, 9, 0)},
		{Name: "unused", Days: 0},
	}}

	t.Run("FromState", func(t *testing.T) {
		h := newHarness(t)
		h.work.state = state
		p := h.signedIn(t, "maria").get(t, pothole)
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p,
			`<th scope="row">`+el("clock.assign")+`</th>`,
			`<span class="badge badge-met">`+el("console.clock.met")+`</span> <time datetime="2026-03-02T09:30:00Z">02/03/2026 11:30</time>`,
			`<td class="num">`+el("console.clocks.day", "1")+`</td>`,
			`<th scope="row">`+el("clock.response")+`</th>`,
			el("console.clocks.days", "2,5"),
			// 21:00 UTC is 23:00 in Athens
			`<time datetime="2026-03-04T21:00:00Z">04/03/2026 23:00</time>`,
			`<span class="badge badge-warned">`+el("console.clock.warned")+`</span>`,
			`<span class="badge badge-breached">`+el("console.clock.breached")+`</span>`,
			`<span class="badge badge-breached">`+el("console.clock.escalated")+`</span>`,
			`<th scope="row">`+el("clock.statutory")+`</th>`, el("console.clocks.days", "50"),
			`<span class="badge badge-running">`+el("console.clock.running")+`</span>`,
		)
		wantLacks(t, p, "unused", el("console.clocks.unavailable"))
		if h.work.asked != 1 {
			t.Errorf("State asked %d times", h.work.asked)
		}
	})

	t.Run("English", func(t *testing.T) {
		h := newHarness(t)
		h.work.state = state
		b := h.signedIn(t, "maria")
		b.get(t, "/console/lang/en")
		wantContains(t, b.get(t, pothole), "2.5 working days", "Overdue", "first response to the citizen")
	})

	t.Run("WaitingForCitizen", func(t *testing.T) {
		h := newHarness(t)
		h.cases.cases[numPothole].Stage = dimos.StageWaitingCitizen
		h.work.state = workflows.CaseState{Stage: dimos.StageWaitingCitizen, InfoDeadline: utc(3, 20, 13, 0),
			Clocks: []workflows.Clock{{Name: "response", Days: 5}}}
		p := h.signedIn(t, "maria").get(t, pothole)
		wantContains(t, p, `<span class="badge">`+el("console.clock.paused")+`</span>`,
			el("console.clocks.info_deadline")+` <time datetime="2026-03-20T13:00:00Z">20/03/2026 15:00</time>`)
		wantLacks(t, p, `action="/console/cases/`+numPothole+`/request-info"`)
	})

	t.Run("ErrStateFails", func(t *testing.T) {
		h := newHarness(t)
		h.work.stateErr = errors.New("rpc error: dial tcp 10.9.8.7:7233: connection refused")
		p := h.signedIn(t, "maria").get(t, pothole)
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, el("console.clocks.unavailable"), "Λακκούβα", `action="/console/cases/`+numPothole+`/complete"`)
		wantLacks(t, p, "10.9.8.7", el("console.col.deadline"))
	})

	t.Run("ErrWorkflowEnded", func(t *testing.T) {
		h := newHarness(t)
		h.work.stateErr = &dimos.Error{Code: dimos.ENOTFOUND, Key: "error.case.not_found"}
		p := h.signedIn(t, "maria").get(t, pothole)
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, el("console.clocks.ended"))
	})

	t.Run("NotStarted", func(t *testing.T) {
		h := newHarness(t)
		p := h.signedIn(t, "maria").get(t, "/console/cases/"+numLight)
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, el("console.clocks.not_started"))
		if h.work.asked != 0 {
			t.Error("State asked of a case whose workflow has not started")
		}
	})
}

// formsOn returns the decision routes whose forms the page shows.
func formsOn(p page) []string {
	re := regexp.MustCompile(`<form method="post" action="/console/cases/[0-9-]+/([a-z-]+)"`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(p.Body, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return out
}

func TestCaseForms(t *testing.T) {
	all := []string{"assign", "attachments", "comment", "complete", "due-date", "merge", "register-protocol", "reject", "request-info", "transfer"}
	member := []string{"attachments", "comment"}
	tests := []struct {
		name   string
		user   string
		number string
		setup  func(h *harness)
		want   []string
	}{
		{"Assignee", "maria", numPothole, nil, all},
		{"Director", "dimitra", numPothole, nil, all},
		{"Colleague", "giorgos", numPothole, nil, member},
		{"Manager", "eleni", numPothole, nil, member},
		{"Completed", "maria", numCompleted, nil, []string{"comment"}},
		{"Registered", "maria", numPothole, func(h *harness) {
			h.cases.cases[numPothole].Protocol = dimos.ProtocolEntry{Number: "4521/2026", Date: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
		}, []string{"assign", "attachments", "comment", "complete", "due-date", "merge", "reject", "request-info", "transfer"}},
		{"ProtocolRetrying", "maria", numPothole, func(h *harness) { h.work.state.ProtocolFailed = true },
			[]string{"assign", "attachments", "comment", "complete", "due-date", "merge", "reject", "request-info", "transfer"}},
		{"NotRouted", "maria", numPothole, func(h *harness) { h.cases.cases[numPothole].Stage = dimos.StageAwaitingProtocol },
			[]string{"attachments"}},
		{"NoRosterInDirectory", "maria", numPothole, nil,
			[]string{"attachments", "comment", "complete", "due-date", "merge", "register-protocol", "reject", "request-info"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var configure []func(*Config)
			if tt.name == "NoRosterInDirectory" {
				configure = append(configure, func(c *Config) { c.Directory = struct{ dimos.Directory }{c.Directory} })
			}
			h := newHarness(t, configure...)
			if tt.setup != nil {
				tt.setup(h)
			}
			p := h.signedIn(t, tt.user).get(t, "/console/cases/"+tt.number)
			wantStatus(t, p, http.StatusOK)
			if got := formsOn(p); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("forms %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("Choices", func(t *testing.T) {
		h := newHarness(t)
		p := h.signedIn(t, "maria").get(t, pothole)
		wantContains(t, p,
			`<option value="4">Γιώργος Μανουσάκης (`+el("role.clerk")+`)</option>`,
			`<option value="5">Δήμητρα Κλάδου (`+el("role.director")+`)</option>`,
			`<option value="2">Καθαριότητα</option>`, `<option value="3">Ύδρευση</option>`)
		// Not the assignee herself, not the desk, not a former clerk; not the case's own service.
		wantLacks(t, p, `<option value="1">`, `<option value="6">`, `<option value="7">`, `Τεχνικές Υπηρεσίες</option>`)
	})

	t.Run("InternalCommentOnClosedCase", func(t *testing.T) {
		h := newHarness(t)
		p := h.signedIn(t, "maria").get(t, "/console/cases/"+numCompleted)
		wantContains(t, p, el("console.comment.internal_only"))
		wantLacks(t, p, `name="public"`)
	})

	t.Run("Details", func(t *testing.T) {
		h := newHarness(t)
		cs := h.cases.cases[numPothole]
		cs.Protocol = dimos.ProtocolEntry{Number: "4521/2026", Date: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
		cs.DueDate = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
		cs.Rating, cs.RatingRemark = 4, "Γρήγορη <εξυπηρέτηση>"
		p := h.signedIn(t, "maria").get(t, pothole)
		wantContains(t, p,
			el("console.case.protocol.value", "4521/2026")+` · <time datetime="2026-03-02T10:00:00Z">02/03/2026</time>`,
			`<time datetime="2026-03-20T12:00:00Z">20/03/2026 14:00</time>`,
			el("console.case.rating.value", 4), "Γρήγορη &lt;εξυπηρέτηση&gt;",
			// the due-date form proposes the current date, in Athens
			el("console.due_date.change"), `name="due_date" required value="2026-03-20"`, `name="due_time" required value="14:00"`)
	})

	t.Run("ProtocolRetryingShown", func(t *testing.T) {
		h := newHarness(t)
		h.work.state.ProtocolFailed = true
		wantContains(t, h.signedIn(t, "maria").get(t, pothole), el("console.case.protocol.retrying"))
	})
}

func TestTimeline(t *testing.T) {
	raw, err := os.ReadFile("../i18n/catalogue/domain.json")
	if err != nil {
		t.Fatal(err)
	}
	var domain map[string]json.RawMessage
	if err := json.Unmarshal(raw, &domain); err != nil {
		t.Fatal(err)
	}
	var types []string
	for k := range domain {
		if typ, ok := strings.CutPrefix(k, "event."); ok {
			types = append(types, typ)
		}
	}
	sort.Strings(types)
	if len(types) < 20 {
		t.Fatalf("only %d event types in the catalogue", len(types))
	}

	h := newHarness(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var events []dimos.CaseEvent
	for i, typ := range types {
		events = append(events, dimos.CaseEvent{ID: int64(i + 1), CaseID: 1, At: at.Add(time.Duration(i) * time.Minute), Type: typ, Public: true})
	}
	events = append(events,
		dimos.CaseEvent{ID: 100, CaseID: 1, At: at, Type: "citizen_comment", Public: true, ByCitizen: true, Body: "Είναι ακόμη εκεί."},
		dimos.CaseEvent{ID: 101, CaseID: 1, At: at, Type: "comment", Public: false, ActorID: idGiorgos, Body: "Μόνο για εμάς."},
		dimos.CaseEvent{ID: 102, CaseID: 1, At: at, Type: "reassigned", Public: true, ActorID: idDimitra, EmployeeID: idGiorgos, Body: "Κάλυψη άδειας."},
	)
	h.cases.events[1] = events
	p := h.signedIn(t, "maria").get(t, pothole)
	for _, typ := range types {
		if !strings.Contains(p.Body, `<th scope="row">`+el("event."+typ)+`</th>`) {
			t.Errorf("event %s is not shown with its label %q", typ, i18n.T(i18n.Greek, "event."+typ))
		}
	}
	wantContains(t, p,
		`<tr class="event-citizen">`,
		`<td><span class="badge badge-citizen">`+el("console.event.by_citizen")+`</span></td>`,
		`<p class="text">Είναι ακόμη εκεί.</p>`,
		`<tr class="event-internal">`,
		`<td>Γιώργος Μανουσάκης</td>`,
		`<span class="badge badge-internal">`+el("console.event.internal")+`</span>`,
		`<td>Δήμητρα Κλάδου</td>`,
		`<p class="muted">`+el("console.event.to", "Γιώργος Μανουσάκης")+`</p><p class="text">Κάλυψη άδειας.</p>`,
	)
}
