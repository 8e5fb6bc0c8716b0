package portal

import (
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/workflows"
)

// myCaseAttach takes a file (and an optional comment) for an open case (M12): the
// file is checked by what its bytes are and stored first, then recorded on the case
// with the comment, as the JSON API does.
func (p *Portal) myCaseAttach(c *fiber.Ctx) error {
	cs, err := p.postedCase(c)
	if cs == nil {
		return err
	}
	text := strings.Clone(strings.TrimSpace(c.FormValue("text")))
	f := caseForm{name: "attach", fields: map[string]string{"file": "file", "text": "attach_text"}, main: "file",
		input: map[string]string{"attach_text": text}}
	if cs.Status == dimos.StatusCompleted {
		return p.refuseErr(c, cs, f, dimos.Errorf(dimos.ECONFLICT, "error.case.closed"))
	}
	if p.cfg.Attachments == nil || p.cfg.Work == nil {
		return p.refuseCase(c, cs, f, fiber.StatusServiceUnavailable, nil, tryAgain[f.name])
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return p.refuseCase(c, cs, f, fiber.StatusBadRequest, map[string][]string{"file": {"field.required"}}, "")
	}
	file, err := fh.Open()
	if err != nil {
		return p.fail(c, err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, dimos.MaxAttachmentSize+1))
	if err != nil {
		return p.fail(c, err)
	}
	att, err := dimos.NewAttachment(fh.Filename, data)
	if err != nil {
		return p.refuseErr(c, cs, f, err)
	}
	att.CaseID, att.ByCitizen, att.Public = cs.ID, true, true
	if err := p.cfg.Attachments.SaveAttachment(c.UserContext(), att); err != nil {
		return p.fail(c, err)
	}
	return p.sendCase(c, cs, f, workflows.UpdateCitizenComment, workflows.CitizenCommentRequest{
		Text: text, Attachments: []dimos.AttachmentRef{att.AttachmentRef}}, "attached")
}

// myCaseRate rates the municipality's answer of a completed case, 1 to 5 stars with
// an optional remark.
func (p *Portal) myCaseRate(c *fiber.Ctx) error {
	cs, err := p.postedCase(c)
	if cs == nil {
		return err
	}
	stars := strings.Clone(strings.TrimSpace(c.FormValue("stars")))
	remark := strings.Clone(strings.TrimSpace(c.FormValue("remark")))
	f := caseForm{name: "rate", fields: map[string]string{"stars": "stars", "remark": "remark"}, main: "stars",
		input: map[string]string{"stars": stars, "remark": remark}}
	n, _ := strconv.Atoi(stars) // anything but a number is 0, out of range
	r := dimos.Rating{Stars: n, Remark: remark}
	if err := r.Validate(); err != nil {
		return p.refuseErr(c, cs, f, err)
	}
	return p.sendCase(c, cs, f, workflows.UpdateRate, workflows.RateRequest{Rating: r}, "rated")
}

// myCaseReopen reopens a completed case with the citizen's reason, within the reopen
// window the workflow keeps.
func (p *Portal) myCaseReopen(c *fiber.Ctx) error {
	cs, err := p.postedCase(c)
	if cs == nil {
		return err
	}
	reason := strings.Clone(strings.TrimSpace(c.FormValue("reason")))
	f := caseForm{name: "reopen", fields: map[string]string{"reason": "reason"}, main: "reason",
		input: map[string]string{"reason": reason}}
	if reason == "" {
		return p.refuseCase(c, cs, f, fiber.StatusBadRequest, map[string][]string{"reason": {"field.required"}}, "")
	}
	return p.sendCase(c, cs, f, workflows.UpdateReopen, workflows.ReopenRequest{Reason: reason}, "reopened")
}
