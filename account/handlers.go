package account

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
	"dimos/jsonapi"
)

// Registration is the body of POST /api/v1/account/register (M1), and what the
// portal's registration form posts to Register.
type Registration struct {
	Username        string `json:"username"`
	Password        string `json:"password"`
	FirstName       string `json:"first_name"`
	LastName        string `json:"last_name"`
	Email           string `json:"email"`
	MobilePhone     string `json:"mobile_phone"`
	Phone           string `json:"phone"`
	Address         string `json:"address"`
	PhoneAccessCode string `json:"phone_access_code"`
	AFM             string `json:"afm"`
	Lang            string `json:"lang"`
}

// parseRegistration decodes and checks a registration, reporting every bad field at
// once. It touches nothing, so it can be fuzzed on its own.
func parseRegistration(body []byte) (*dimos.Citizen, string, error) {
	var r Registration
	if err := jsonapi.Decode(body, &r); err != nil {
		return nil, "", err
	}
	return r.citizen()
}

// citizen checks a registration and returns the account it asks for, with its
// password apart.
func (r Registration) citizen() (*dimos.Citizen, string, error) {
	cit := &dimos.Citizen{
		Username:  dimos.NormalizeUsername(r.Username),
		FirstName: strings.TrimSpace(r.FirstName), LastName: strings.TrimSpace(r.LastName),
		Email: strings.TrimSpace(r.Email), MobilePhone: strings.TrimSpace(r.MobilePhone),
		Phone: strings.TrimSpace(r.Phone), Address: strings.TrimSpace(r.Address),
		PhoneAccessCode: strings.TrimSpace(r.PhoneAccessCode), AFM: strings.TrimSpace(r.AFM),
		Lang: i18n.Lang(r.Lang),
	}
	var pw dimos.Validation
	checkPassword(&pw, "password", r.Password)
	if err := mergeInvalid(cit.Validate(), pw.Err()); err != nil {
		return nil, "", err
	}
	return cit, r.Password, nil
}

func (a *API) register(c *fiber.Ctx) error {
	cit, key, err := a.createAccount(c, func() (*dimos.Citizen, string, error) { return parseRegistration(c.Body()) })
	if err != nil {
		return a.fail(c, err)
	}
	out := message("registered", key)
	out["username"] = cit.Username
	return ok(c, fiber.StatusCreated, out)
}

// Register opens an account from the portal's HTML form exactly as the JSON API
// does (M1, M2): the same throttle on mails per address, the same checks (an
// EINVALID or ECONFLICT *dimos.Error naming the fields), and the activation link
// mailed. It returns the new account and the catalogue key of the sentence to show:
// the link was mailed, or the mail failed and the citizen should ask for it again.
func (a *API) Register(c *fiber.Ctx, r Registration) (*dimos.Citizen, string, error) {
	return a.createAccount(c, r.citizen)
}

// createAccount stores the account that parse returns and mails its activation link,
// under the throttle of mails per address.
func (a *API) createAccount(c *fiber.Ctx, parse func() (*dimos.Citizen, string, error)) (*dimos.Citizen, string, error) {
	ctx := c.UserContext()
	ipKey := mailAddressKey(c.IP())
	if err := a.throttled(ctx, MaxMailsPerAddress, ipKey); err != nil {
		return nil, "", err
	}
	cit, password, err := parse()
	if err != nil {
		return nil, "", err
	}
	if cit.PasswordHash, err = a.hash(password); err != nil {
		return nil, "", err
	}
	cit.CreatedAt = a.cfg.Now()
	if err := a.cfg.Citizens.CreateCitizen(ctx, cit); err != nil {
		return nil, "", err
	}
	if err := a.fault(ctx, ipKey); err != nil {
		return nil, "", err
	}
	key := "account.registered"
	if err := a.sendActivation(ctx, cit); err != nil {
		a.cfg.Log.Error("activation mail failed", "citizen", cit.ID, "err", err)
		key = "account.registered.mail_failed"
	}
	a.cfg.Log.Info("citizen registered", "citizen", cit.ID)
	return cit, key, nil
}

// sendActivation makes a new activation token and mails its link.
func (a *API) sendActivation(ctx context.Context, cit *dimos.Citizen) error {
	token, hash := newToken()
	now := a.cfg.Now()
	expires := now.Add(ActivationTTL)
	if err := a.cfg.Citizens.CreateCitizenToken(ctx, dimos.CitizenToken{
		Hash: hash, CitizenID: cit.ID, Kind: dimos.TokenActivation, CreatedAt: now, ExpiresAt: expires}); err != nil {
		return err
	}
	link := a.cfg.PublicURL + "/api/v1/account/activate?token=" + token
	return a.send(ctx, cit, mailActivation, hash, mailData{Link: link, ExpiresAt: expires})
}

// activate follows the e-mailed link: the account opens and gets its IVR PIN, which
// is mailed with the user name (seed 002).
func (a *API) activate(c *fiber.Ctx) error {
	token := c.Query("token")
	if token == "" {
		return a.fail(c, invalidField("token", "field.required"))
	}
	pin, err := newPIN()
	if err != nil {
		return a.fail(c, err)
	}
	pinHash, err := a.hash(pin)
	if err != nil {
		return a.fail(c, err)
	}
	ctx := c.UserContext()
	hash := hashToken(token)
	// A citizen who clicks the mailed link gets a page, not JSON: the portal's
	// sign-in page, with a sentence saying what happened.
	browser := strings.Contains(c.Get(fiber.HeaderAccept), "text/html")
	cit, err := a.cfg.Citizens.ActivateCitizen(ctx, hash, pinHash, a.cfg.Now())
	if err != nil {
		if browser && dimos.ErrorCode(err) != dimos.EINTERNAL {
			return c.Redirect("/signin?notice=activation_failed", fiber.StatusSeeOther)
		}
		return a.fail(c, err)
	}
	key := "account.activated"
	if err := a.send(ctx, cit, mailWelcome, hash, mailData{PIN: pin}); err != nil {
		a.cfg.Log.Error("welcome mail failed", "citizen", cit.ID, "err", err)
		key = "account.activated.mail_failed"
	}
	a.cfg.Log.Info("citizen activated", "citizen", cit.ID)
	if browser {
		notice := "activated"
		if key != "account.activated" {
			notice = "activated_mail_failed"
		}
		return c.Redirect("/signin?notice="+notice, fiber.StatusSeeOther)
	}
	out := message("activated", key)
	out["username"] = cit.Username
	return ok(c, fiber.StatusOK, out)
}

// forgotRequest names the account by e-mail or user name and says what was forgotten.
type forgotRequest struct {
	Email    string `json:"email"`
	Username string `json:"username"`
	What     string `json:"what"`
}

// forgot always answers 202 to a well-formed request, so that nobody learns whether
// an account exists; the work and the mail happen behind the answer.
func (a *API) forgot(c *fiber.Ctx) error {
	var req forgotRequest
	if err := decodeBody(c, &req); err != nil {
		return a.fail(c, err)
	}
	var v dimos.Validation
	if strings.TrimSpace(req.Email) == "" && strings.TrimSpace(req.Username) == "" {
		v.Add("username", "account.field.login")
	}
	if req.What != "password" && req.What != "pin" {
		v.Add("what", "account.field.what")
	}
	if err := v.Err(); err != nil {
		return a.fail(c, err)
	}
	ctx := c.UserContext()
	ipKey := mailAddressKey(c.IP())
	if err := a.throttled(ctx, MaxMailsPerAddress, ipKey); err != nil {
		return a.fail(c, err)
	}
	if err := a.fault(ctx, ipKey); err != nil {
		return a.fail(c, err)
	}
	var cit *dimos.Citizen
	var err error
	if u := strings.TrimSpace(req.Username); u != "" {
		cit, err = a.cfg.Citizens.CitizenByUsername(ctx, u)
	} else {
		cit, err = a.cfg.Citizens.CitizenByEmail(ctx, strings.TrimSpace(req.Email))
	}
	switch {
	case dimos.ErrorCode(err) == dimos.ENOTFOUND:
	case err != nil:
		return a.fail(c, err)
	case !cit.ErasedAt.IsZero():
	default:
		if err := a.throttled(ctx, MaxMailsPerAccount, mailAccountKey(cit.ID)); err != nil {
			a.cfg.Log.Warn("forgotten credentials: too many mails", "citizen", cit.ID)
			break
		}
		if err := a.fault(ctx, mailAccountKey(cit.ID)); err != nil {
			return a.fail(c, err)
		}
		if err := a.replace(ctx, cit, req.What); err != nil {
			a.cfg.Log.Error("forgotten credentials: mail failed", "citizen", cit.ID, "what", req.What, "err", err)
		}
	}
	return ok(c, fiber.StatusAccepted, message("accepted", "account.forgot.accepted"))
}

// replace mails what a citizen forgot: a new PIN, a password reset link, or — for an
// account never activated — a new activation link.
func (a *API) replace(ctx context.Context, cit *dimos.Citizen, what string) error {
	now := a.cfg.Now()
	switch {
	case !cit.Activated():
		return a.sendActivation(ctx, cit)
	case what == "pin":
		var pin, pinHash string
		for pin == "" || matches(cit.PINHash, pin) { // a new PIN differs from the old one
			var err error
			if pin, err = newPIN(); err != nil {
				return err
			}
		}
		pinHash, err := a.hash(pin)
		if err != nil {
			return err
		}
		if err := a.cfg.Citizens.SetPINHash(ctx, cit.ID, pinHash); err != nil {
			return err
		}
		return a.send(ctx, cit, mailNewPIN, hashToken(pinHash), mailData{PIN: pin})
	default:
		token, hash := newToken()
		expires := now.Add(ResetTTL)
		if err := a.cfg.Citizens.CreateCitizenToken(ctx, dimos.CitizenToken{
			Hash: hash, CitizenID: cit.ID, Kind: dimos.TokenReset, CreatedAt: now, ExpiresAt: expires}); err != nil {
			return err
		}
		// The portal's page reads the token from the link and posts it with the
		// new password to POST /api/v1/account/reset.
		link := a.cfg.PublicURL + "/account/reset?token=" + token
		return a.send(ctx, cit, mailReset, hash, mailData{Link: link, ExpiresAt: expires})
	}
}

type resetRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

func (a *API) reset(c *fiber.Ctx) error {
	var req resetRequest
	if err := decodeBody(c, &req); err != nil {
		return a.fail(c, err)
	}
	var v dimos.Validation
	if req.Token == "" {
		v.Add("token", "field.required")
	}
	checkPassword(&v, "password", req.Password)
	if err := v.Err(); err != nil {
		return a.fail(c, err)
	}
	pwHash, err := a.hash(req.Password)
	if err != nil {
		return a.fail(c, err)
	}
	ctx := c.UserContext()
	cit, err := a.cfg.Citizens.ResetPassword(ctx, hashToken(req.Token), pwHash, a.cfg.Now())
	if err != nil {
		return a.fail(c, err)
	}
	if a.cfg.Throttle != nil { // the owner proved themselves by mail
		if err := a.cfg.Throttle.Reset(ctx, accountKey(cit.Username)); err != nil {
			return a.fail(c, err)
		}
	}
	a.clearCookie(c)
	a.cfg.Log.Info("citizen password reset", "citizen", cit.ID)
	return ok(c, fiber.StatusOK, message("password_changed", "account.reset.done"))
}

// profileJSON is what the citizen sees of their account: never a hash.
type profileJSON struct {
	Username                string     `json:"username"`
	FirstName               string     `json:"first_name"`
	LastName                string     `json:"last_name"`
	Email                   string     `json:"email"`
	MobilePhone             string     `json:"mobile_phone"`
	Phone                   string     `json:"phone"`
	Address                 string     `json:"address"`
	PhoneAccessCode         string     `json:"phone_access_code"`
	AFM                     string     `json:"afm"`
	Lang                    string     `json:"lang"`
	Verified                bool       `json:"verified"`
	VerifiedAt              *time.Time `json:"verified_at"`
	VerificationDoc         string     `json:"verification_doc,omitempty"`
	VerificationRequestedAt *time.Time `json:"verification_requested_at"`
	ActivatedAt             *time.Time `json:"activated_at"`
	CreatedAt               time.Time  `json:"created_at"`
}

func profileOf(c *dimos.Citizen) profileJSON {
	return profileJSON{
		Username: c.Username, FirstName: c.FirstName, LastName: c.LastName, Email: c.Email,
		MobilePhone: c.MobilePhone, Phone: c.Phone, Address: c.Address,
		PhoneAccessCode: c.PhoneAccessCode, AFM: c.AFM, Lang: c.Lang, Verified: c.Verified(),
		VerifiedAt: nullTime(c.VerifiedAt), VerificationDoc: c.VerificationDoc,
		VerificationRequestedAt: nullTime(c.VerificationRequestedAt),
		ActivatedAt:             nullTime(c.ActivatedAt), CreatedAt: c.CreatedAt,
	}
}

func (a *API) profile(c *fiber.Ctx, cit *dimos.Citizen) error {
	return ok(c, fiber.StatusOK, profileOf(cit))
}

// profileChange is the body of PATCH /api/v1/account/profile: the fields sent are
// changed, the others kept. The user name stays what it was.
type profileChange struct {
	FirstName       *string `json:"first_name"`
	LastName        *string `json:"last_name"`
	Email           *string `json:"email"`
	MobilePhone     *string `json:"mobile_phone"`
	Phone           *string `json:"phone"`
	Address         *string `json:"address"`
	PhoneAccessCode *string `json:"phone_access_code"`
	AFM             *string `json:"afm"`
	Lang            *string `json:"lang"`
}

func set(dst *string, src *string) {
	if src != nil {
		*dst = strings.TrimSpace(*src)
	}
}

func (a *API) updateProfile(c *fiber.Ctx, cit *dimos.Citizen) error {
	var ch profileChange
	if err := decodeBody(c, &ch); err != nil {
		return a.fail(c, err)
	}
	next := *cit
	set(&next.FirstName, ch.FirstName)
	set(&next.LastName, ch.LastName)
	set(&next.Email, ch.Email)
	set(&next.MobilePhone, ch.MobilePhone)
	set(&next.Phone, ch.Phone)
	set(&next.Address, ch.Address)
	set(&next.PhoneAccessCode, ch.PhoneAccessCode)
	set(&next.AFM, ch.AFM)
	if ch.Lang != nil {
		next.Lang = *ch.Lang // validated as given; "" or "el"/"en"
	}
	if err := next.Validate(); err != nil {
		return a.fail(c, err)
	}
	// A desk verified this name and tax number; another one needs a new visit (M3).
	if next.FirstName != cit.FirstName || next.LastName != cit.LastName || next.AFM != cit.AFM {
		next.VerifiedAt, next.VerifiedBy = time.Time{}, 0
	}
	if err := a.cfg.Citizens.UpdateProfile(c.UserContext(), &next); err != nil {
		return a.fail(c, err)
	}
	fresh, err := a.cfg.Citizens.CitizenByID(c.UserContext(), cit.ID)
	if err != nil {
		return a.fail(c, err)
	}
	return ok(c, fiber.StatusOK, profileOf(fresh))
}

type verificationRequest struct {
	DocType string `json:"doc_type"`
}

// requestVerification records the citizen's request to be verified at a desk with
// the document they will bring (M3); the desk verifies in the console.
func (a *API) requestVerification(c *fiber.Ctx, cit *dimos.Citizen) error {
	var req verificationRequest
	if err := decodeBody(c, &req); err != nil {
		return a.fail(c, err)
	}
	switch {
	case req.DocType == "":
		return a.fail(c, invalidField("doc_type", "field.required"))
	case !dimos.ValidDoc(req.DocType):
		return a.fail(c, invalidField("doc_type", "account.field.doc_type"))
	}
	ctx := c.UserContext()
	now := a.cfg.Now()
	if err := a.cfg.Citizens.RequestVerification(ctx, cit.ID, req.DocType, now); err != nil {
		return a.fail(c, err)
	}
	n := fmt.Appendf(nil, "%d", now.UnixNano())
	if err := a.send(ctx, cit, mailVerification, n, mailData{Doc: req.DocType}); err != nil {
		a.cfg.Log.Warn("verification mail failed", "citizen", cit.ID, "err", err)
	}
	return ok(c, fiber.StatusAccepted, message("requested", "account.verification.requested"))
}

type protocolJSON struct {
	Number string    `json:"number"`
	Date   time.Time `json:"date"`
}

type caseLineJSON struct {
	Number      string        `json:"number"`
	Kind        dimos.Kind    `json:"kind"`
	Category    string        `json:"category"`
	Subject     string        `json:"subject"`
	Status      dimos.Status  `json:"status"`
	StatusText  jsonapi.Text  `json:"status_text"`
	Protocol    *protocolJSON `json:"protocol"`
	SubmittedAt time.Time     `json:"submitted_at"`
	CompletedAt *time.Time    `json:"completed_at"`
}

// cases lists the citizen's own cases, newest first (M15).
func (a *API) cases(c *fiber.Ctx, cit *dimos.Citizen) error {
	list, err := a.cfg.Citizens.CitizenCases(c.UserContext(), cit.ID)
	if err != nil {
		return a.fail(c, err)
	}
	out := make([]caseLineJSON, 0, len(list))
	for _, s := range list {
		line := caseLineJSON{Number: s.Number, Kind: s.Kind, Category: s.CategoryCode, Subject: s.Subject,
			Status: s.Status, StatusText: both("status." + string(s.Status)), SubmittedAt: s.SubmittedAt,
			CompletedAt: nullTime(s.CompletedAt)}
		if s.Protocol.Number != "" {
			line.Protocol = &protocolJSON{s.Protocol.Number, s.Protocol.Date}
		}
		out = append(out, line)
	}
	return ok(c, fiber.StatusOK, fiber.Map{"cases": out})
}

type exportCaseJSON struct {
	Number        string        `json:"number"`
	Kind          dimos.Kind    `json:"kind"`
	Category      string        `json:"category"`
	Channel       dimos.Channel `json:"channel"`
	Subject       string        `json:"subject"`
	Text          string        `json:"text"`
	DesiredAction string        `json:"desired_action"`
	Contact       dimos.Contact `json:"contact"`
	Status        dimos.Status  `json:"status"`
	Answer        string        `json:"answer"`
	Protocol      *protocolJSON `json:"protocol"`
	SubmittedAt   time.Time     `json:"submitted_at"`
	CompletedAt   *time.Time    `json:"completed_at"`
	Rating        int           `json:"rating,omitempty"`
	RatingRemark  string        `json:"rating_remark,omitempty"`
}

type exportTokenJSON struct {
	Kind      string     `json:"kind"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at"`
}

// export hands the citizen everything kept about them as a JSON download (M4).
func (a *API) export(c *fiber.Ctx, cit *dimos.Citizen) error {
	x, err := a.cfg.Citizens.ExportCitizen(c.UserContext(), cit.ID)
	if err != nil {
		return a.fail(c, err)
	}
	cases := make([]exportCaseJSON, 0, len(x.Cases))
	for _, cs := range x.Cases {
		e := exportCaseJSON{Number: cs.Number, Kind: cs.Kind, Category: cs.CategoryCode, Channel: cs.Channel,
			Subject: cs.Subject, Text: cs.Text, DesiredAction: cs.DesiredAction, Contact: cs.Contact,
			Status: cs.Status, Answer: cs.Answer, SubmittedAt: cs.SubmittedAt, CompletedAt: nullTime(cs.CompletedAt),
			Rating: cs.Rating, RatingRemark: cs.RatingRemark}
		if cs.Protocol.Number != "" {
			e.Protocol = &protocolJSON{cs.Protocol.Number, cs.Protocol.Date}
		}
		cases = append(cases, e)
	}
	tokens := make([]exportTokenJSON, 0, len(x.Tokens))
	for _, t := range x.Tokens {
		tokens = append(tokens, exportTokenJSON{t.Kind, t.CreatedAt, t.ExpiresAt, nullTime(t.UsedAt)})
	}
	p := profileOf(x.Citizen)
	out := fiber.Map{
		"exported_at": a.cfg.Now().UTC(), "municipality": a.cfg.Municipality,
		"account": p, "verification_doc_number": x.Citizen.VerificationDocNumber,
		"cases": cases, "sign_ins_and_links": tokens,
	}
	c.Attachment(fmt.Sprintf("dimos-account-%s.json", cit.Username))
	return ok(c, fiber.StatusOK, out)
}

type eraseRequest struct {
	Password string `json:"password"`
}

// erase anonymises the account at the citizen's request, once they confirm with
// their password (M4); their cases stay, without their contact data, for statistics.
func (a *API) erase(c *fiber.Ctx, cit *dimos.Citizen) error {
	var req eraseRequest
	if err := decodeBody(c, &req); err != nil {
		return a.fail(c, err)
	}
	if req.Password == "" {
		return a.fail(c, invalidField("password", "field.required"))
	}
	if err := a.confirmPassword(c, cit, req.Password); err != nil {
		return a.fail(c, err)
	}
	if err := a.cfg.Citizens.EraseCitizen(c.UserContext(), cit.ID, a.cfg.Now()); err != nil {
		return a.fail(c, err)
	}
	a.clearCookie(c)
	a.cfg.Log.Info("citizen account erased", "citizen", cit.ID)
	return ok(c, fiber.StatusOK, message("erased", "account.erased"))
}
