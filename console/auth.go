package console

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"dimos"
	"dimos/i18n"
)

// Audit actions of this package; each decision on a case names its own (decisions).
const (
	auditSignin       = "signin"
	auditSigninFailed = "signin.failed"
	auditSignout      = "signout"
	auditDownload     = "case.attachment.download"
)

// dummyHash is compared against when the username is unknown, so that the answer
// takes as long as for a real account and does not tell which usernames exist.
var dummyHash = sync.OnceValue(func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte(newToken()), bcrypt.DefaultCost)
	if err != nil {
		panic(err)
	}
	return h
})

type signinView struct {
	pageView
	Username string
	Next     string
	ErrorKey string
}

// signinPage shows the sign-in form, with a fresh double-submit token when the
// browser has none.
func (con *Console) signinPage(c *fiber.Ctx) error {
	st, err := con.current(c)
	if err != nil {
		return con.fail(c, err)
	}
	next := localNext(c.Query("next"))
	if st != nil {
		return c.Redirect(orDefault(next, pathInbox), fiber.StatusSeeOther)
	}
	return con.renderSignin(c, fiber.StatusOK, "", "", next)
}

func (con *Console) renderSignin(c *fiber.Ctx, status int, username, errKey, next string) error {
	token := c.Cookies(cookieCSRF)
	if len(token) != tokenLen {
		token = newToken()
		con.setCookie(c, cookieCSRF, token, con.now().Add(sessionMaxAge))
	}
	back := pathSignin
	if next != "" {
		back += "?next=" + url.QueryEscape(next)
	}
	v := signinView{pageView: con.page(c, back), Username: username, Next: next, ErrorKey: errKey}
	v.CSRF = token
	return con.render(c, status, "signin", v)
}

// signin checks a username and password. Attempts are throttled per account and per
// address before the password is even looked at, so that a locked account stays
// locked for the right password too; every outcome is audited.
func (con *Console) signin(c *fiber.Ctx) error {
	if !sameToken(c.FormValue(fieldCSRF), c.Cookies(cookieCSRF)) {
		return con.errorPage(c, fiber.StatusForbidden, "error.csrf")
	}
	ctx := c.UserContext()
	username := strings.Clone(strings.TrimSpace(c.FormValue("username")))
	password := c.FormValue("password")
	next := localNext(c.FormValue("next"))
	ip := strings.Clone(c.IP())
	now := con.now()

	userKey := "signin:user:" + strings.ToLower(truncate(username, 100))
	ipKey := "signin:ip:" + ip
	if refuse, err := con.throttled(ctx, userKey, ipKey); err != nil {
		return con.fail(c, err)
	} else if refuse {
		con.audit(c, dimos.AuditEntry{Action: auditSigninFailed, Target: truncate(username, 100), Detail: "throttled"})
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(throttleWindow.Seconds())))
		return con.renderSignin(c, fiber.StatusTooManyRequests, username, "error.too_many", next)
	}

	var emp *dimos.Employee
	if username != "" {
		e, err := con.cfg.Directory.EmployeeByUsername(ctx, username)
		switch {
		case err == nil:
			emp = e
		case dimos.ErrorCode(err) != dimos.ENOTFOUND:
			return con.fail(c, err)
		}
	}
	hash := dummyHash()
	if emp != nil {
		hash = []byte(emp.PasswordHash)
	}
	match := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	if emp == nil || !match || !emp.Active {
		for _, key := range []string{userKey, ipKey} {
			if err := con.cfg.Throttle.RecordFailure(ctx, key, now); err != nil {
				return con.fail(c, err)
			}
		}
		e := dimos.AuditEntry{Action: auditSigninFailed, Target: truncate(username, 100)}
		if emp != nil {
			e.EmployeeID = emp.ID
			if match {
				e.Detail = "inactive"
			}
		}
		con.audit(c, e)
		return con.renderSignin(c, fiber.StatusUnauthorized, username, "console.signin.failed", next)
	}

	if err := con.cfg.Throttle.Reset(ctx, userKey); err != nil {
		return con.fail(c, err)
	}
	// A session already in this browser (another tab, another employee at the same
	// counter) ends here rather than linger until it expires.
	if old := c.Cookies(cookieSession); len(old) == tokenLen {
		if err := con.cfg.Sessions.DeleteSession(ctx, tokenHash(old)); err != nil && dimos.ErrorCode(err) != dimos.ENOTFOUND {
			return con.fail(c, err)
		}
	}
	if err := con.startSession(c, emp.ID); err != nil {
		return con.fail(c, err)
	}
	con.audit(c, dimos.AuditEntry{EmployeeID: emp.ID, Action: auditSignin, Target: emp.Username})
	return c.Redirect(orDefault(next, pathInbox), fiber.StatusSeeOther)
}

// throttled reports whether the account or the address failed too often lately.
func (con *Console) throttled(ctx context.Context, userKey, ipKey string) (bool, error) {
	since := con.now().Add(-throttleWindow)
	n, err := con.cfg.Throttle.Failures(ctx, userKey, since)
	if err != nil {
		return false, fmt.Errorf("throttle: %w", err)
	} else if n >= maxUserFailures {
		return true, nil
	}
	if n, err = con.cfg.Throttle.Failures(ctx, ipKey, since); err != nil {
		return false, fmt.Errorf("throttle: %w", err)
	}
	return n >= maxIPFailures, nil
}

// signout ends the session.
func (con *Console) signout(c *fiber.Ctx) error {
	st := staffOf(c)
	if err := con.endSession(c, st.hash); err != nil {
		return con.fail(c, err)
	}
	con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditSignout, Target: st.me.Username})
	return c.Redirect(pathSignin, fiber.StatusSeeOther)
}

// setLang remembers the reader's language for a year and goes back to the page they
// were on, if that is a console page.
func (con *Console) setLang(c *fiber.Ctx) error {
	lang := c.Params("lang")
	if lang != i18n.Greek && lang != i18n.English {
		return con.errorPage(c, fiber.StatusNotFound, "console.error.page_not_found")
	}
	con.setCookie(c, cookieLang, lang, con.now().AddDate(1, 0, 0))
	return c.Redirect(orDefault(localNext(c.Query("next")), "/console/"), fiber.StatusSeeOther)
}

// localNext returns next when it is a path inside the console, and "" otherwise, so
// that no link of ours can send a clerk to another site (an open redirect).
func localNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.ContainsAny(next, "\\\x00\r\n\t") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	if p := path.Clean(u.Path); p != "/console" && !strings.HasPrefix(p, "/console/") {
		return ""
	}
	return strings.Clone(next)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// audit appends to the audit log. A failing log is logged but does not undo what the
// employee did: the action has already happened by now.
func (con *Console) audit(c *fiber.Ctx, e dimos.AuditEntry) {
	e.At = con.now()
	e.IP = strings.Clone(c.IP())
	if err := con.cfg.Audit.Audit(c.UserContext(), e); err != nil {
		con.log.Error("console: audit", "action", e.Action, "target", e.Target, "err", err)
	}
}
