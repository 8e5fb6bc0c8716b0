package intake

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"io"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/jsonapi"
	"dimos/workflows"
)

// The citizen's own case: with the access key given at submission, the citizen reads
// the case, comments and attaches files while it is open, rates the answer and may
// reopen it (M12, M13, M15). The key is a bearer token; only its hash is stored.

// keyThrottle: wrong keys per address within the window before the address is refused.
const (
	keyWindow      = 15 * time.Minute
	maxKeyFailures = 20
)

// newAccessKey returns a random key and its hash.
func newAccessKey() (key string, hash []byte) {
	b := make([]byte, 24)
	rand.Read(b) //nolint:errcheck // crypto/rand never fails on Linux
	key = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(key))
	return key, sum[:]
}

// citizenCase loads the case named in the path and checks that the request may act on
// it: the case's access key, or the signed-in citizen who filed it. Wrong keys are
// throttled per address.
func (a *API) citizenCase(c *fiber.Ctx) (*dimos.Case, error) {
	number, ok := dimos.ParseCaseNumber(c.Params("number"))
	if !ok {
		return nil, &dimos.Error{Code: dimos.EINVALID, Key: "error.case.number",
			Fields: []dimos.FieldError{{Field: "number", Key: "error.case.number"}}}
	}
	ctx := c.UserContext()
	ipKey := "casekey:ip:" + c.IP()
	if a.cfg.Throttle != nil {
		n, err := a.cfg.Throttle.Failures(ctx, ipKey, time.Now().Add(-keyWindow))
		if err != nil {
			return nil, err
		}
		if n >= maxKeyFailures {
			return nil, dimos.Errorf(dimos.ETOOMANY, "error.too_many")
		}
	}
	key, _ := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	cs, err := a.cfg.Cases.CaseByNumber(ctx, number)
	if err != nil {
		return nil, err
	}
	want, err := a.cfg.Cases.AccessKeyHash(ctx, cs.ID)
	if err != nil {
		return nil, err
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(key)))
	keyOK := key != "" && len(want) != 0 && subtle.ConstantTimeCompare(got[:], want) == 1
	if !keyOK && cs.CitizenID != 0 {
		// M15: a signed-in citizen opens their own cases with their account's token.
		if cit, err := a.citizen(c); err == nil && cit != nil && cit.ID == cs.CitizenID {
			keyOK = true
		}
	}
	if !keyOK {
		if a.cfg.Throttle != nil {
			if err := a.cfg.Throttle.RecordFailure(ctx, ipKey, time.Now()); err != nil {
				return nil, err
			}
		}
		return nil, dimos.Errorf(dimos.EUNAUTHORIZED, "error.case.key")
	}
	return cs, nil
}

func (a *API) decodeSmall(c *fiber.Ctx, v any) error { return jsonapi.Decode(c.Body(), v) }

// update sends a citizen's update to the case workflow; while Temporal is down the
// citizen is told to try again, and nothing is lost because nothing was accepted.
func (a *API) update(c *fiber.Ctx, number, name string, req any) error {
	if a.cfg.Work == nil {
		return dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable")
	}
	_, err := a.cfg.Work.Update(c.UserContext(), number, name, req)
	if err != nil && dimos.ErrorCode(err) == dimos.EINTERNAL {
		a.cfg.Log.Warn("case update failed", "case", number, "update", name, "err", err)
		return dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable")
	}
	return err
}

type eventJSON struct {
	At        time.Time `json:"at"`
	Type      string    `json:"type"`
	Text      text      `json:"text"`
	Body      string    `json:"body,omitempty"`
	ByCitizen bool      `json:"by_citizen"`
}

type protocolJSON struct {
	Number string    `json:"number"`
	Date   time.Time `json:"date"`
}

// caseDetail answers GET /api/v1/cases/{number} for the key holder (M15): subject,
// text, answer, protocol data and the public timeline.
func (a *API) caseDetail(c *fiber.Ctx) error {
	cs, err := a.citizenCase(c)
	if err != nil {
		return a.fail(c, err)
	}
	events, err := a.cfg.Cases.CaseEvents(c.UserContext(), cs.ID)
	if err != nil {
		return a.fail(c, err)
	}
	out := fiber.Map{
		"number": cs.Number, "kind": cs.Kind, "category": cs.CategoryCode, "status": cs.Status,
		"status_text": both("status." + string(cs.Status)), "subject": cs.Subject, "text": cs.Text,
		"desired_action": cs.DesiredAction, "answer": cs.Answer, "submitted_at": cs.SubmittedAt,
		"completed_at": nullTime(cs.CompletedAt), "due_date": nullTime(cs.DueDate),
		"location": cs.Location, "address": cs.Address,
	}
	if cs.Kind == dimos.KindCertificate {
		out["purpose"], out["delivery"] = cs.Purpose, cs.Delivery
	}
	if cs.Protocol.Number != "" {
		out["protocol"] = protocolJSON{cs.Protocol.Number, cs.Protocol.Date}
	}
	var timeline []eventJSON
	for _, e := range events {
		if e.Public {
			timeline = append(timeline, eventJSON{At: e.At, Type: e.Type, Text: both("event." + e.Type), Body: e.Body, ByCitizen: e.ByCitizen})
		}
	}
	out["events"] = timeline
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}

func (a *API) citizenComment(c *fiber.Ctx) error {
	cs, err := a.citizenCase(c)
	if err != nil {
		return a.fail(c, err)
	}
	var req struct {
		Text string `json:"text"`
	}
	if err := a.decodeSmall(c, &req); err != nil {
		return a.fail(c, err)
	}
	if err := a.update(c, cs.Number, workflows.UpdateCitizenComment, workflows.CitizenCommentRequest{Text: req.Text}); err != nil {
		return a.fail(c, err)
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"status": "accepted"})
}

// citizenAttach takes a multipart upload (field "file", optional "text"): the file is
// checked and stored first, then recorded on the case with the comment.
func (a *API) citizenAttach(c *fiber.Ctx) error {
	cs, err := a.citizenCase(c)
	if err != nil {
		return a.fail(c, err)
	}
	if a.cfg.Attachments == nil {
		return a.fail(c, dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable"))
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return a.fail(c, &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid", Fields: []dimos.FieldError{{Field: "file", Key: "field.required"}}})
	}
	f, err := fh.Open()
	if err != nil {
		return a.fail(c, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, dimos.MaxAttachmentSize+1))
	if err != nil {
		return a.fail(c, err)
	}
	att, err := dimos.NewAttachment(fh.Filename, data)
	if err != nil {
		return a.fail(c, err)
	}
	att.CaseID, att.ByCitizen, att.Public = cs.ID, true, true
	if err := a.cfg.Attachments.SaveAttachment(c.UserContext(), att); err != nil {
		return a.fail(c, err)
	}
	err = a.update(c, cs.Number, workflows.UpdateCitizenComment, workflows.CitizenCommentRequest{
		Text: c.FormValue("text"), Attachments: []dimos.AttachmentRef{att.AttachmentRef}})
	if err != nil {
		return a.fail(c, err)
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"status": "accepted", "attachment": fiber.Map{
		"id": att.ID, "name": att.Name, "content_type": att.ContentType, "size": att.Size, "sha256": att.SHA256}})
}

func (a *API) rate(c *fiber.Ctx) error {
	cs, err := a.citizenCase(c)
	if err != nil {
		return a.fail(c, err)
	}
	var req struct {
		Stars  int    `json:"stars"`
		Remark string `json:"remark"`
	}
	if err := a.decodeSmall(c, &req); err != nil {
		return a.fail(c, err)
	}
	r := dimos.Rating{Stars: req.Stars, Remark: strings.TrimSpace(req.Remark)}
	if err := r.Validate(); err != nil {
		return a.fail(c, err)
	}
	if err := a.update(c, cs.Number, workflows.UpdateRate, workflows.RateRequest{Rating: r}); err != nil {
		return a.fail(c, err)
	}
	return c.JSON(fiber.Map{"status": "accepted"})
}

func (a *API) reopen(c *fiber.Ctx) error {
	cs, err := a.citizenCase(c)
	if err != nil {
		return a.fail(c, err)
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := a.decodeSmall(c, &req); err != nil {
		return a.fail(c, err)
	}
	if err := a.update(c, cs.Number, workflows.UpdateReopen, workflows.ReopenRequest{Reason: req.Reason}); err != nil {
		return a.fail(c, err)
	}
	return c.JSON(fiber.Map{"status": "accepted"})
}
