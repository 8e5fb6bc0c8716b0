package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"dimos"
)

// newToken returns a random token for a link or a session and the SHA-256 that is
// stored in its place.
func newToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // crypto/rand never fails on Linux
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// newPIN returns a random IVR PIN of pinDigits digits, leading zeros kept.
func newPIN() (string, error) {
	max := big.NewInt(1)
	for range pinDigits {
		max.Mul(max, big.NewInt(10))
	}
	n, err := rand.Int(rand.Reader, max)
	if err != nil {
		return "", fmt.Errorf("pin: %w", err)
	}
	return fmt.Sprintf("%0*d", pinDigits, n), nil
}

func (a *API) hash(secret string) (string, error) {
	cost := a.cfg.BcryptCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(secret), cost)
	return string(h), err
}

// matches reports whether secret is the one hashed; an empty hash matches nothing.
func matches(hash, secret string) bool {
	return hash != "" && bcrypt.CompareHashAndPassword([]byte(hash), []byte(secret)) == nil
}

// dummyHash is compared against when the account does not exist, so that a wrong
// user name takes as long as a wrong password and does not betray the account.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("dimos-no-such-account"), bcrypt.DefaultCost)

// checkPassword adds the password rules to v: at least 8 characters; at most 72
// bytes, which is all bcrypt reads.
func checkPassword(v *dimos.Validation, field, pw string) {
	switch {
	case pw == "":
		v.Add(field, "field.required")
	case !utf8.ValidString(pw):
		v.Add(field, "field.utf8")
	case utf8.RuneCountInString(pw) < 8:
		v.Add(field, "account.field.password.short")
	case len(pw) > 72:
		v.Add(field, "account.field.password.long")
	}
}

// throttled reports ETOOMANY when any key had max failures within the window.
func (a *API) throttled(ctx context.Context, max int, keys ...string) error {
	if a.cfg.Throttle == nil {
		return nil
	}
	since := a.cfg.Now().Add(-ThrottleWindow)
	for _, k := range keys {
		n, err := a.cfg.Throttle.Failures(ctx, k, since)
		if err != nil {
			return err
		}
		if n >= max {
			return dimos.Errorf(dimos.ETOOMANY, "error.too_many")
		}
	}
	return nil
}

func (a *API) fault(ctx context.Context, keys ...string) error {
	if a.cfg.Throttle == nil {
		return nil
	}
	for _, k := range keys {
		if err := a.cfg.Throttle.RecordFailure(ctx, k, a.cfg.Now()); err != nil {
			return err
		}
	}
	return nil
}

func accountKey(username string) string { return "citizen:login:" + dimos.NormalizeUsername(username) }
func addressKey(ip string) string       { return "citizen:login-ip:" + ip }
func mailAddressKey(ip string) string   { return "citizen:mail-ip:" + ip }
func mailAccountKey(id int64) string    { return fmt.Sprintf("citizen:mail:%d", id) }

// checkSignIn checks a user name and password under the throttle: five failures per
// account or twenty per address within 15 minutes refuse even the right password
// until the window passes.
func (a *API) checkSignIn(c *fiber.Ctx, username, password string) (*dimos.Citizen, error) {
	ctx := c.UserContext()
	akey, ipkey := accountKey(username), addressKey(c.IP())
	if err := a.throttled(ctx, MaxAccountFailures, akey); err != nil {
		return nil, err
	}
	if err := a.throttled(ctx, MaxAddressFailures, ipkey); err != nil {
		return nil, err
	}
	cit, err := a.cfg.Citizens.CitizenByUsername(ctx, username)
	if err != nil && dimos.ErrorCode(err) != dimos.ENOTFOUND {
		return nil, err
	}
	if cit == nil || !matches(cit.PasswordHash, password) {
		if cit == nil {
			bcrypt.CompareHashAndPassword(dummyHash, []byte(password)) //nolint:errcheck // timing only
		}
		if err := a.fault(ctx, akey, ipkey); err != nil {
			return nil, err
		}
		return nil, dimos.Errorf(dimos.EUNAUTHORIZED, "account.error.login")
	}
	if a.cfg.Throttle != nil {
		if err := a.cfg.Throttle.Reset(ctx, akey); err != nil {
			return nil, err
		}
	}
	return cit, nil
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (a *API) login(c *fiber.Ctx) error {
	var req loginRequest
	if err := decodeBody(c, &req); err != nil {
		return a.fail(c, err)
	}
	token, expires, err := a.startSession(c, req.Username, req.Password)
	if err != nil {
		return a.fail(c, err)
	}
	return ok(c, fiber.StatusOK, fiber.Map{"token": token, "token_type": "Bearer", "expires_at": expires})
}

// SignIn signs a citizen in from the portal's HTML form exactly as the JSON login
// does — required fields, the throttle, the check of the password, a new session and
// its cookie — and returns a *dimos.Error the page can show when it refuses:
// EINVALID naming the empty field, EUNAUTHORIZED for a wrong name or password,
// EFORBIDDEN for an account not yet activated, ETOOMANY while throttled.
func (a *API) SignIn(c *fiber.Ctx, username, password string) error {
	_, _, err := a.startSession(c, username, password)
	return err
}

// startSession checks the credentials, stores a new session token and sets it as the
// session cookie; it is the one sign-in of the JSON API and of the portal's pages.
func (a *API) startSession(c *fiber.Ctx, username, password string) (token string, expires time.Time, err error) {
	var v dimos.Validation
	if strings.TrimSpace(username) == "" {
		v.Add("username", "field.required")
	}
	if password == "" {
		v.Add("password", "field.required")
	}
	if err := v.Err(); err != nil {
		return "", time.Time{}, err
	}
	cit, err := a.checkSignIn(c, username, password)
	if err != nil {
		return "", time.Time{}, err
	}
	// Told only to whoever knows the password, so it betrays nothing.
	if !cit.Activated() {
		return "", time.Time{}, dimos.Errorf(dimos.EFORBIDDEN, "account.error.not_activated")
	}
	token, hash := newToken()
	now := a.cfg.Now()
	expires = now.Add(SessionTTL)
	if err := a.cfg.Citizens.CreateCitizenToken(c.UserContext(), dimos.CitizenToken{
		Hash: hash, CitizenID: cit.ID, Kind: dimos.TokenSession, CreatedAt: now, ExpiresAt: expires}); err != nil {
		return "", time.Time{}, err
	}
	c.Cookie(&fiber.Cookie{
		Name: CookieName, Value: token, Path: "/", Expires: expires, HTTPOnly: true,
		Secure: a.cfg.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode,
	})
	a.cfg.Log.Info("citizen signed in", "citizen", cit.ID)
	return token, expires, nil
}

// sessionToken is the bearer token of the request, or else its session cookie;
// fromCookie tells which, because a cookie is sent by the browser on its own.
func sessionToken(c *fiber.Ctx) (token string, fromCookie bool) {
	if t, found := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer "); found {
		return strings.TrimSpace(t), false
	}
	return c.Cookies(CookieName), true
}

// CitizenFromRequest returns the signed-in citizen of a request, by bearer token or
// session cookie; EUNAUTHORIZED when there is none or it expired. The intake API uses
// it to pre-fill a submission with the citizen's details and to link the case.
func (a *API) CitizenFromRequest(c *fiber.Ctx) (*dimos.Citizen, error) {
	token, _ := sessionToken(c)
	if token == "" {
		return nil, dimos.Errorf(dimos.EUNAUTHORIZED, "error.unauthorized")
	}
	return a.cfg.Citizens.CitizenBySession(c.UserContext(), hashToken(token), a.cfg.Now())
}

// signedIn wraps a handler that needs the signed-in citizen. A request that changes
// something on the strength of the cookie alone must be JSON: browsers do not send
// that cross-site without asking, so a foreign page cannot act for the citizen.
func (a *API) signedIn(h func(*fiber.Ctx, *dimos.Citizen) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		_, fromCookie := sessionToken(c)
		if fromCookie && c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
			mt, _, _ := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
			if mt != fiber.MIMEApplicationJSON {
				return a.fail(c, dimos.Errorf(dimos.EFORBIDDEN, "account.error.content_type"))
			}
		}
		cit, err := a.CitizenFromRequest(c)
		if err != nil {
			return a.fail(c, err)
		}
		return h(c, cit)
	}
}

func (a *API) clearCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: CookieName, Value: "", Path: "/", Expires: time.Unix(0, 0), MaxAge: -1,
		HTTPOnly: true, Secure: a.cfg.SecureCookies, SameSite: fiber.CookieSameSiteLaxMode})
}

func (a *API) logout(c *fiber.Ctx, _ *dimos.Citizen) error {
	if err := a.endSession(c); err != nil {
		return a.fail(c, err)
	}
	return ok(c, fiber.StatusOK, message("signed_out", "account.logged_out"))
}

// SignOut ends the session of the request's cookie, if any, and clears the cookie:
// the portal's "sign out" button. Signing out without a session is not an error.
func (a *API) SignOut(c *fiber.Ctx) error {
	if token, _ := sessionToken(c); token == "" {
		a.clearCookie(c)
		return nil
	}
	return a.endSession(c)
}

func (a *API) endSession(c *fiber.Ctx) error {
	token, _ := sessionToken(c)
	if err := a.cfg.Citizens.DeleteCitizenToken(c.UserContext(), hashToken(token)); err != nil {
		return err
	}
	a.clearCookie(c)
	return nil
}

// confirmPassword checks the signed-in citizen's password before a grave action
// (erasure), under the same throttle as sign-in.
func (a *API) confirmPassword(c *fiber.Ctx, cit *dimos.Citizen, password string) error {
	ctx := c.UserContext()
	akey, ipkey := accountKey(cit.Username), addressKey(c.IP())
	if err := a.throttled(ctx, MaxAccountFailures, akey); err != nil {
		return err
	}
	if err := a.throttled(ctx, MaxAddressFailures, ipkey); err != nil {
		return err
	}
	if !matches(cit.PasswordHash, password) {
		if err := a.fault(ctx, akey, ipkey); err != nil {
			return err
		}
		return &dimos.Error{Code: dimos.EFORBIDDEN, Key: "account.error.password",
			Fields: []dimos.FieldError{{Field: "password", Key: "account.error.password"}}}
	}
	return nil
}

var errNoMailer = errors.New("account: no mailer configured")
