package console

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dimos"
)

// download sends an attachment of a case to an employee who may see the case. The
// attachment must belong to the case in the address: an id of another case is not
// found, so that reaching one case does not open the files of every other.
func (con *Console) download(c *fiber.Ctx) error {
	st := staffOf(c)
	cs, err := con.caseFor(c, st, actDownload)
	if err != nil {
		return con.fail(c, err)
	}
	notFound := dimos.Errorf(dimos.ENOTFOUND, "error.attachment.not_found")
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 || con.cfg.Attachments == nil {
		return con.fail(c, notFound)
	}
	a, err := con.cfg.Attachments.Attachment(c.UserContext(), id)
	switch {
	case dimos.ErrorCode(err) == dimos.ENOTFOUND, err == nil && a.CaseID != cs.ID:
		return con.fail(c, notFound)
	case err != nil:
		return con.fail(c, err)
	}
	con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditDownload, Target: cs.Number,
		Detail: "attachment=" + strconv.FormatInt(a.ID, 10)})
	c.Set(fiber.HeaderContentType, orDefault(a.ContentType, "application/octet-stream"))
	c.Set(fiber.HeaderContentDisposition, contentDisposition(a.Name))
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	// Should a browser render the file after all, it runs nothing and loads nothing.
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; sandbox")
	return c.Send(a.Data)
}

// contentDisposition makes the browser save the file under its own name: a plain
// ASCII filename for old clients, and filename* (RFC 5987, UTF-8) for the Greek
// names most files have.
func contentDisposition(name string) string {
	var ascii, ext strings.Builder
	for _, r := range name {
		if r >= 0x20 && r < 0x7f && r != '"' && r != '\\' && r != '%' {
			ascii.WriteRune(r)
		} else {
			ascii.WriteByte('_')
		}
	}
	for _, b := range []byte(name) {
		if attrChar(b) {
			ext.WriteByte(b)
		} else {
			ext.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(b)|0x100, 16)[1:]))
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}

// attrChar reports whether b may stand unescaped in an RFC 5987 value.
func attrChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}
