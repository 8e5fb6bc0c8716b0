package console

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
)

// Cookies the console sets. All are scoped to /console, HttpOnly and SameSite=Lax.
const (
	cookieSession = "dimos_staff"
	cookieCSRF    = "dimos_csrf" // double-submit token of the sign-in form
	cookieLang    = "lang"
)

// tokenLen is the length of a base64url token of 32 random bytes.
var tokenLen = base64.RawURLEncoding.EncodedLen(32)

// newToken returns 32 random bytes, base64url-encoded.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails: crypto/rand aborts the program rather than return short
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenHash is what the session store keeps instead of the token, so that a leaked
// table does not let anyone sign in.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// signedIn is the employee behind a request and their session.
type signedIn struct {
	hash    []byte
	session *dimos.StaffSession
	me      *dimos.Employee
}

// current returns the signed-in employee of the request, or nil when there is none:
// no cookie, an unknown or expired session, or an employee no longer active. A live
// session is extended by the idle timeout, never beyond sessionMaxAge after sign-in.
// Only a failing store is an error.
func (con *Console) current(c *fiber.Ctx) (*signedIn, error) {
	if st := staffOf(c); st != nil {
		return st, nil
	}
	token := c.Cookies(cookieSession)
	if len(token) != tokenLen {
		return nil, nil
	}
	ctx := c.UserContext()
	hash := tokenHash(token)
	s, err := con.cfg.Sessions.SessionByTokenHash(ctx, hash)
	if dimos.ErrorCode(err) == dimos.ENOTFOUND {
		con.clearCookie(c, cookieSession)
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	now := con.now()
	if !now.Before(s.ExpiresAt) || !now.Before(s.LastSeenAt.Add(con.idle)) || !now.Before(s.CreatedAt.Add(sessionMaxAge)) {
		return nil, con.endSession(c, hash)
	}
	me := s.Employee
	if me == nil || !me.Active {
		return nil, con.endSession(c, hash)
	}
	if now.Sub(s.LastSeenAt) >= min(sessionTouchEvery, con.idle/10) {
		expires := con.expiry(s.CreatedAt, now)
		if err := con.cfg.Sessions.TouchSession(ctx, hash, now, expires); err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
		s.LastSeenAt, s.ExpiresAt = now, expires
	}
	return &signedIn{hash: hash, session: s, me: me}, nil
}

// sessionTouchEvery is how old a session's last sight may be before a request writes
// it again (a tenth of the idle timeout, when that is shorter). Written on every
// request, it was a sixth of the statements a case's lifecycle sends PostgreSQL, each
// a commit of its own; a session now ends idle up to this much before the idle
// timeout after its last request.
const sessionTouchEvery = time.Minute

// expiry is when a session created at created and seen at seen ends if left idle.
func (con *Console) expiry(created, seen time.Time) time.Time {
	idle, hard := seen.Add(con.idle), created.Add(sessionMaxAge)
	if idle.After(hard) {
		return hard
	}
	return idle
}

// startSession creates a session for employee id and gives the browser its token.
func (con *Console) startSession(c *fiber.Ctx, id int64) error {
	now := con.now()
	token := newToken()
	s := dimos.StaffSession{
		EmployeeID: id,
		CSRFToken:  newToken(),
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  con.expiry(now, now),
	}
	if err := con.cfg.Sessions.CreateSession(c.UserContext(), tokenHash(token), s); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	con.setCookie(c, cookieSession, token, time.Time{})
	return nil
}

// endSession forgets the session with the given hash and clears its cookie.
func (con *Console) endSession(c *fiber.Ctx, hash []byte) error {
	con.clearCookie(c, cookieSession)
	if err := con.cfg.Sessions.DeleteSession(c.UserContext(), hash); err != nil && dimos.ErrorCode(err) != dimos.ENOTFOUND {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// setCookie sets a console cookie; a zero expires makes it last until the browser
// closes, which suits shared counter computers.
func (con *Console) setCookie(c *fiber.Ctx, name, value string, expires time.Time) {
	c.Cookie(&fiber.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/console",
		Expires:  expires,
		Secure:   con.cfg.SecureCookies,
		HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode,
	})
}

func (con *Console) clearCookie(c *fiber.Ctx, name string) {
	con.setCookie(c, name, "", time.Unix(0, 0))
}
