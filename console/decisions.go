package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/workflows"
)

// decision is one staff decision on a case: a form of the case page, posted to
// /console/cases/:number/<name> and carried to the case's workflow as an Update.
type decision struct {
	name   string // the route under the case, the form's name and its ?done= value
	act    action
	update string // the workflow update
	audit  string // the audit log's action
	notice string // catalogue key of the notice shown once it took effect
	// keep are the form fields given back after a refusal, so nothing typed is lost.
	keep []string
	// fields are the form's inputs that show their own errors; a refusal about any
	// other field shows at the top of the form.
	fields []string
	// request builds the update's request from the form. An *dimos.Error refuses the
	// form as the workflow would (a date that does not parse); detail is what the
	// audit log records beside the action.
	request func(c *fiber.Ctx, cs *dimos.Case, by dimos.Actor) (req any, detail string, err error)
}

// decisionTimeout bounds the wait for the workflow to take a decision. An update
// runs a few database activities, so this is generous; a Temporal that does not
// answer gets the clerk an error page with their text kept, not a request that hangs
// until the server's write timeout.
const decisionTimeout = 20 * time.Second

// decisions lists every decision the case page offers.
func (con *Console) decisions() []decision {
	return []decision{
		{name: "assign", act: actAssign, update: workflows.UpdateAssign, audit: "case.assign",
			notice: "console.done.assign", keep: []string{"employee", "note"}, fields: []string{"employee", "note"},
			request: assignRequest},
		{name: "transfer", act: actTransfer, update: workflows.UpdateTransfer, audit: "case.transfer",
			notice: "console.done.transfer", keep: []string{"service", "reason"}, fields: []string{"service", "reason"},
			request: transferRequest},
		{name: "comment", act: actComment, update: workflows.UpdateComment, audit: "case.comment",
			notice: "console.done.comment", keep: []string{"text", "public"}, fields: []string{"text"},
			request: commentRequest},
		{name: "request-info", act: actRequestInfo, update: workflows.UpdateRequestInfo, audit: "case.request_info",
			notice: "console.done.request_info", keep: []string{"question", "reply_days"}, fields: []string{"question", "reply_days"},
			request: requestInfoRequest},
		{name: "due-date", act: actSetDueDate, update: workflows.UpdateSetDueDate, audit: "case.due_date",
			notice: "console.done.due_date", keep: []string{"due_date", "due_time", "reason"}, fields: []string{"due", "reason"},
			request: dueDateRequest},
		{name: "register-protocol", act: actRegisterProtocol, update: workflows.UpdateRegisterProtocol, audit: "case.register_protocol",
			notice: "console.done.register_protocol",
			request: func(_ *fiber.Ctx, _ *dimos.Case, by dimos.Actor) (any, string, error) {
				return workflows.ActorRequest{By: by}, "", nil
			}},
		{name: "complete", act: actCompleteCase, update: workflows.UpdateComplete, audit: "case.complete",
			notice: "console.done.complete", keep: []string{"answer"}, fields: []string{"answer"},
			request: completeRequest},
		{name: "reject", act: actReject, update: workflows.UpdateReject, audit: "case.reject",
			notice: "console.done.reject", keep: []string{"reason"}, fields: []string{"reason"},
			request: rejectRequest},
		{name: "attachments", act: actAttach, update: workflows.UpdateAttach, audit: "case.attach",
			notice: "console.done.attach", keep: []string{"public"}, fields: []string{"file"},
			request: con.attachRequest},
		{name: "merge", act: actMerge, update: workflows.UpdateMerge, audit: "case.merge",
			notice: "console.done.merge", keep: []string{"original", "reason"}, fields: []string{"original", "reason"},
			request: con.mergeRequest},
	}
}

// decision returns the decision with the given name.
func (con *Console) decision(name string) (decision, bool) {
	for _, d := range con.decisions() {
		if d.name == name {
			return d, true
		}
	}
	return decision{}, false
}

// decide takes one decision: the case must be within the employee's reach for the
// act, the form becomes the update's request with the employee as its actor, and
// the workflow decides. What it accepts is audited and the browser goes back to the
// case (303, so a reload does not post again); what it refuses re-renders the case
// with the reason beside the form and the form as it was typed.
func (con *Console) decide(d decision) fiber.Handler {
	return func(c *fiber.Ctx) error {
		st := staffOf(c)
		cs, err := con.caseFor(c, st, d.act)
		if err != nil {
			return con.fail(c, err)
		}
		by := dimos.Actor{EmployeeID: st.me.ID, Name: st.me.FullName, Role: st.me.Role, ServiceID: st.me.ServiceID}
		req, detail, err := d.request(c, cs, by)
		if err == nil {
			ctx, cancel := context.WithTimeout(c.UserContext(), decisionTimeout)
			_, err = con.cfg.Work.Update(ctx, cs.Number, d.update, req)
			cancel()
			if dimos.ErrorCode(err) == dimos.ENOTFOUND {
				// The case was just read, so it is its workflow that is missing: it has
				// ended, or it has not started yet.
				err = dimos.Errorf(dimos.ENOTFOUND, "console.error.workflow_gone")
			}
		}
		if err == nil {
			con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: d.audit, Target: cs.Number, Detail: detail})
			return c.Redirect(casePath(cs.Number)+"?done="+d.name, fiber.StatusSeeOther)
		}
		return con.refused(c, st, cs, d, err)
	}
}

// refused re-renders the case page after a decision failed. A refusal the employee
// can act on keeps its status and sentence; anything else is logged and shown as an
// internal error, with the form kept all the same.
func (con *Console) refused(c *fiber.Ctx, st *signedIn, cs *dimos.Case, d decision, err error) error {
	f := formState{Name: d.name, Values: map[string]string{}, fields: d.fields}
	for _, k := range d.keep {
		f.Values[k] = strings.Clone(c.FormValue(k))
	}
	status := fiber.StatusInternalServerError
	var refusal *dimos.Error
	if errors.As(err, &refusal) && refusal.Code != dimos.EINTERNAL {
		status = dimos.HTTPStatus(refusal.Code)
		f.ErrorKey, f.Errors = errorKey(err), refusal.Fields
		if len(refusal.Fields) > 0 {
			f.ErrorKey = "error.invalid" // each field says what is wrong with it
		}
	} else {
		con.log.Error("console: decision", "decision", d.name, "case", cs.Number, "employee", st.me.ID, "err", err)
		f.ErrorKey = "error.internal"
	}
	v, verr := con.caseView(c, st, cs)
	if verr != nil {
		return con.fail(c, verr)
	}
	v.Failed = f
	return con.render(c, status, "case", v)
}

// formState is one form of the case page: the values it shows and, after a refusal,
// why it was refused.
type formState struct {
	Name     string
	ErrorKey string
	Values   map[string]string
	Errors   []dimos.FieldError
	fields   []string // inputs that show their own errors
}

// Value is what the named input shows.
func (f formState) Value(name string) string { return f.Values[name] }

// Checked reports whether the named checkbox is ticked.
func (f formState) Checked(name string) bool { return f.Values[name] != "" }

// Invalid reports whether the refusal concerned the field.
func (f formState) Invalid(field string) bool { return len(f.errorKeys(field)) > 0 }

// fieldErrors is what the field-errors partial shows: the id the input points at
// with aria-describedby, and the sentences.
type fieldErrors struct {
	ID   string
	Keys []string
}

// ErrorsFor returns the errors of field, for the input with the given id.
func (f formState) ErrorsFor(field, id string) fieldErrors {
	return fieldErrors{ID: id + "-errors", Keys: f.errorKeys(field)}
}

func (f formState) errorKeys(field string) []string {
	var keys []string
	for _, e := range f.Errors {
		if e.Field == field {
			keys = append(keys, e.Key)
		}
	}
	return keys
}

// OtherErrors are the reasons about fields the form has no input for, shown at its
// top.
func (f formState) OtherErrors() []string {
	var keys []string
outer:
	for _, e := range f.Errors {
		for _, field := range f.fields {
			if e.Field == field {
				continue outer
			}
		}
		keys = append(keys, e.Key)
	}
	return keys
}

// Failed reports whether this form's decision was refused.
func (f formState) Failed() bool { return f.ErrorKey != "" }

// defaultDueTime is the time the due-date form proposes: early afternoon, within the
// offices' opening hours, for a pickup as for a completion.
const defaultDueTime = "14:00"

// defaultForms are the values the forms show before anything is typed.
func defaultForms(cs *dimos.Case) map[string]formState {
	due := formState{Name: "due-date", Values: map[string]string{"due_time": defaultDueTime}}
	if !cs.DueDate.IsZero() {
		t := cs.DueDate.In(athens)
		due.Values["due_date"], due.Values["due_time"] = t.Format(dateLayout), t.Format(timeLayout)
	}
	return map[string]formState{"due-date": due}
}

// Layouts of the date and time inputs.
const (
	dateLayout = "2006-01-02"
	timeLayout = "15:04"
)

// --- the requests ---

// invalid refuses one field the way a workflow validator does.
func invalid(field, key string) error {
	return &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid", Fields: []dimos.FieldError{{Field: field, Key: key}}}
}

// formText returns a text field, copied: Fiber's values live only as long as the
// request, and a request struct outlives it.
func formText(c *fiber.Ctx, name string) string { return strings.Clone(c.FormValue(name)) }

// formChecked reports whether a checkbox was ticked.
func formChecked(c *fiber.Ctx, name string) bool { return c.FormValue(name) != "" }

// formID reads the id of a select; nothing chosen is 0, which the workflow refuses
// as a missing field.
func formID(c *fiber.Ctx, name string) (int64, error) {
	s := strings.TrimSpace(c.FormValue(name))
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid(name, "field.type")
	}
	return id, nil
}

func assignRequest(c *fiber.Ctx, _ *dimos.Case, by dimos.Actor) (any, string, error) {
	id, err := formID(c, "employee")
	if err != nil {
		return nil, "", err
	}
	return workflows.AssignRequest{By: by, EmployeeID: id, Note: formText(c, "note")},
		"employee=" + strconv.FormatInt(id, 10), nil
}

func transferRequest(c *fiber.Ctx, _ *dimos.Case, by dimos.Actor) (any, string, error) {
	id, err := formID(c, "service")
	if err != nil {
		return nil, "", err
	}
	return workflows.TransferRequest{By: by, ServiceID: id, Reason: formText(c, "reason")},
		"service=" + strconv.FormatInt(id, 10), nil
}

func commentRequest(c *fiber.Ctx, _ *dimos.Case, by dimos.Actor) (any, string, error) {
	public := formChecked(c, "public")
	return workflows.CommentRequest{By: by, Text: formText(c, "text"), Public: public}, visibility(public), nil
}

func visibility(public bool) string {
	if public {
		return "public"
	}
	return "internal"
}

// requestInfoRequest reads the reply period in whole working days; an empty field
// leaves it to the category.
func requestInfoRequest(c *fiber.Ctx, _ *dimos.Case, by dimos.Actor) (any, string, error) {
	var days float64
	if s := strings.TrimSpace(c.FormValue("reply_days")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, "", invalid("reply_days", "field.reply_days.range")
		}
		days = float64(n)
	}
	return workflows.RequestInfoRequest{By: by, Question: formText(c, "question"), ReplyDays: days},
		"reply_days=" + strconv.FormatFloat(days, 'f', -1, 64), nil
}

// dueDateRequest reads a date and a time as the municipality's clock shows them.
func dueDateRequest(c *fiber.Ctx, _ *dimos.Case, by dimos.Actor) (any, string, error) {
	date, clock := strings.TrimSpace(c.FormValue("due_date")), strings.TrimSpace(c.FormValue("due_time"))
	if date == "" || clock == "" {
		return nil, "", invalid("due", "field.required")
	}
	due, err := time.ParseInLocation(dateLayout+" "+timeLayout, date+" "+clock, athens)
	if err != nil {
		// Some browsers send seconds when the input's step asks for them.
		due, err = time.ParseInLocation(dateLayout+" "+timeLayout+":05", date+" "+clock, athens)
	}
	if err != nil {
		return nil, "", invalid("due", "console.field.due.invalid")
	}
	return workflows.DueDateRequest{By: by, Due: due, Reason: formText(c, "reason")}, due.UTC().Format(time.RFC3339), nil
}

func completeRequest(c *fiber.Ctx, _ *dimos.Case, by dimos.Actor) (any, string, error) {
	return workflows.CompleteRequest{By: by, Answer: formText(c, "answer")}, "", nil
}

func rejectRequest(c *fiber.Ctx, _ *dimos.Case, by dimos.Actor) (any, string, error) {
	return workflows.RejectRequest{By: by, Reason: formText(c, "reason")}, "", nil
}

// attachRequest stores the uploaded file and names it in the request: the file goes
// to the attachment store, never into the workflow's history. Its type is what its
// bytes say, not what the browser claims. A closed case is refused before anything
// is stored, as the workflow would refuse it after.
func (con *Console) attachRequest(c *fiber.Ctx, cs *dimos.Case, by dimos.Actor) (any, string, error) {
	if con.cfg.Attachments == nil {
		return nil, "", dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable")
	}
	if cs.Stage.Terminal() {
		return nil, "", dimos.Errorf(dimos.ECONFLICT, "error.case.closed")
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return nil, "", invalid("file", "field.required")
	}
	f, err := fh.Open()
	if err != nil {
		return nil, "", fmt.Errorf("open upload: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, dimos.MaxAttachmentSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("read upload: %w", err)
	}
	a, err := dimos.NewAttachment(fh.Filename, data)
	if err != nil {
		return nil, "", err
	}
	public := formChecked(c, "public")
	a.CaseID, a.UploadedBy, a.Public = cs.ID, by.EmployeeID, public
	if err := con.cfg.Attachments.SaveAttachment(c.UserContext(), a); err != nil {
		return nil, "", fmt.Errorf("save attachment: %w", err)
	}
	return workflows.AttachRequest{By: by, Attachment: a.AttachmentRef, Public: public},
		fmt.Sprintf("attachment=%d %s", a.ID, visibility(public)), nil
}
