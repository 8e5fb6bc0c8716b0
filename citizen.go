package dimos

import (
	"context"
	"strings"
	"time"
)

// Citizen is a registered citizen's account (M1–M4). Only what the municipality needs
// to reach the citizen and to know who they are is asked (M4); Phone,
// PhoneAccessCode and AFM are optional.
type Citizen struct {
	ID          int64
	Username    string // lowercase; see NormalizeUsername
	FirstName   string
	LastName    string
	Email       string
	MobilePhone string
	Phone       string
	Address     string
	// PhoneAccessCode is the citizen's user name on the IVR: digits only, because it
	// is keyed on a phone (seed 000). Optional.
	PhoneAccessCode string
	// AFM is the Greek tax number (ΑΦΜ), optional; ValidAFM checks its check digit.
	AFM  string
	Lang string // "el" or "en"

	// PasswordHash and PINHash are bcrypt hashes; the PIN is for the IVR.
	PasswordHash string
	PINHash      string

	ActivatedAt time.Time // zero until the citizen followed the e-mailed link (M2)
	// VerifiedAt is set when a service desk saw the citizen's ID card or passport
	// (M3); VerifiedBy is that employee.
	VerifiedAt            time.Time
	VerifiedBy            int64
	VerificationDoc       string // DocIDCard or DocPassport
	VerificationDocNumber string
	// VerificationRequestedAt is when the citizen asked online to be verified.
	VerificationRequestedAt time.Time
	CreatedAt               time.Time
	ErasedAt                time.Time // set when the account was anonymised at the citizen's request
}

// Identity documents a service desk accepts for verification (M3).
const (
	DocIDCard   = "id_card"
	DocPassport = "passport"
)

// ValidDoc reports whether doc is an identity document a desk accepts.
func ValidDoc(doc string) bool { return doc == DocIDCard || doc == DocPassport }

// Limits of a citizen's data, in characters.
const (
	MinUsernameLen = 3
	MaxUsernameLen = 32
	MaxAddressLen  = 300
	MaxEmailLen    = 254
)

// FullName joins first and last name.
func (c *Citizen) FullName() string { return strings.TrimSpace(c.FirstName + " " + c.LastName) }

// Activated reports whether the citizen followed the activation link.
func (c *Citizen) Activated() bool { return !c.ActivatedAt.IsZero() }

// Verified reports whether a service desk verified the citizen's identity; services
// such as certificates open only then (M3).
func (c *Citizen) Verified() bool { return !c.VerifiedAt.IsZero() }

// Contact is how a case filed by the citizen reaches them, for pre-filling a form (M6).
func (c *Citizen) Contact() Contact {
	phone := c.MobilePhone
	if phone == "" {
		phone = c.Phone
	}
	return Contact{FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, Phone: phone}
}

// NormalizeUsername is the form a user name is stored and looked up in: trimmed and
// lowercase, so that "Maria" and "maria" are one account.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Validate checks the citizen's details as registered or edited and reports every bad
// field at once (M1: names, e-mail, user name, mobile phone and postal address are
// required; the other phone, the IVR access code and the AFM are optional).
func (c *Citizen) Validate() error {
	var v Validation
	switch {
	case c.Username == "":
		v.Add("username", "field.required")
	case !validUsername(c.Username):
		v.Add("username", "account.field.username")
	}
	checkText(&v, "first_name", c.FirstName, MaxNameLen, true)
	checkText(&v, "last_name", c.LastName, MaxNameLen, true)
	switch {
	case strings.TrimSpace(c.Email) == "":
		v.Add("email", "field.required")
	case len(c.Email) > MaxEmailLen || !ValidEmail(c.Email):
		v.Add("email", "field.email.invalid")
	}
	switch {
	case strings.TrimSpace(c.MobilePhone) == "":
		v.Add("mobile_phone", "field.required")
	case !ValidPhone(c.MobilePhone):
		v.Add("mobile_phone", "field.phone.invalid")
	}
	if c.Phone != "" && !ValidPhone(c.Phone) {
		v.Add("phone", "field.phone.invalid")
	}
	checkText(&v, "address", c.Address, MaxAddressLen, true)
	if c.PhoneAccessCode != "" && !validAccessCode(c.PhoneAccessCode) {
		v.Add("phone_access_code", "account.field.access_code")
	}
	if c.AFM != "" && !ValidAFM(c.AFM) {
		v.Add("afm", "account.field.afm")
	}
	if c.Lang != "" && c.Lang != "el" && c.Lang != "en" {
		v.Add("lang", "account.field.lang")
	}
	if c.VerificationDoc != "" && !ValidDoc(c.VerificationDoc) {
		v.Add("doc_type", "account.field.doc_type")
	}
	return v.Err()
}

// validUsername accepts 3–32 lowercase Latin letters, digits and . _ -, starting with
// a letter or digit: a name that can be typed on any keyboard and read aloud.
func validUsername(s string) bool {
	if len(s) < MinUsernameLen || len(s) > MaxUsernameLen {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '.' || r == '_' || r == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// validAccessCode accepts 4 to 10 digits: the code is keyed on a phone.
func validAccessCode(s string) bool {
	if len(s) < 4 || len(s) > 10 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ValidAFM reports whether s is a Greek tax number (ΑΦΜ): nine digits whose last is
// the check digit, the sum of the first eight weighted by 2^8 … 2^1, modulo 11,
// modulo 10. All zeros passes the arithmetic but is no one's number.
func ValidAFM(s string) bool {
	if len(s) != 9 || s == "000000000" {
		return false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if i < 8 {
			sum += int(s[i]-'0') << (8 - i)
		}
	}
	return sum%11%10 == int(s[8]-'0')
}

// Kinds of the one-time and session tokens a citizen holds. Only a token's SHA-256 is
// stored, so a leaked table opens no account.
const (
	TokenActivation = "activation" // the e-mailed activation link (M2)
	TokenSession    = "session"    // a signed-in session (bearer or cookie)
	TokenReset      = "reset"      // the e-mailed password reset link
)

// CitizenToken is one stored token.
type CitizenToken struct {
	Hash      []byte // SHA-256 of the token
	CitizenID int64
	Kind      string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero while unused; one-time tokens are used once
}

// CaseSummary is a line of the citizen's list of their own cases (M15).
type CaseSummary struct {
	Number       string
	Kind         Kind
	CategoryCode string
	Subject      string
	Status       Status
	Protocol     ProtocolEntry // zero until registered
	SubmittedAt  time.Time
	CompletedAt  time.Time // zero while open
}

// CitizenExport is everything the municipality keeps about a citizen, as the citizen
// may ask to receive it (M4, GDPR art. 15 and 20).
type CitizenExport struct {
	Citizen *Citizen
	Cases   []*Case
	Tokens  []CitizenToken // without their hashes
}

// CitizenStore keeps citizens' accounts, their tokens and the link of cases to them.
// Unknown citizens and unknown, used or expired tokens are ENOTFOUND or
// EUNAUTHORIZED; an erased account is found by id only.
type CitizenStore interface {
	// CreateCitizen stores a new account and fills c.ID and c.CreatedAt. A taken user
	// name, e-mail or access code is ECONFLICT naming the field.
	CreateCitizen(ctx context.Context, c *Citizen) error
	CitizenByID(ctx context.Context, id int64) (*Citizen, error)
	// CitizenByUsername looks the name up in its normalized form.
	CitizenByUsername(ctx context.Context, username string) (*Citizen, error)
	// CitizenByEmail ignores case.
	CitizenByEmail(ctx context.Context, email string) (*Citizen, error)
	// CitizensByMobile lists the accounts registered with a mobile number: the IVR
	// recognises callers by it (M17); a family may share one.
	CitizensByMobile(ctx context.Context, mobile string) ([]*Citizen, error)
	// CitizenByAccessCode finds the account of an IVR access code.
	CitizenByAccessCode(ctx context.Context, code string) (*Citizen, error)

	// CreateCitizenToken stores a token by its hash.
	CreateCitizenToken(ctx context.Context, t CitizenToken) error
	// ActivateCitizen uses an unexpired activation token once, marks the account
	// activated and stores the hash of its first IVR PIN, all at once.
	ActivateCitizen(ctx context.Context, tokenHash []byte, pinHash string, at time.Time) (*Citizen, error)
	// ResetPassword uses an unexpired reset token once, stores the new password hash
	// and ends every session of the account.
	ResetPassword(ctx context.Context, tokenHash []byte, passwordHash string, at time.Time) (*Citizen, error)
	SetPasswordHash(ctx context.Context, citizenID int64, hash string) error
	SetPINHash(ctx context.Context, citizenID int64, hash string) error
	// UpdateProfile stores the editable details of c; a zero c.VerifiedAt withdraws
	// an earlier verification (the verified name or AFM changed).
	UpdateProfile(ctx context.Context, c *Citizen) error
	// RequestVerification records that the citizen asked to be verified in person
	// with the given document (M3).
	RequestVerification(ctx context.Context, citizenID int64, doc string, at time.Time) error
	// VerifyCitizen records the desk's verification: the employee who saw the
	// document, its type and number.
	VerifyCitizen(ctx context.Context, citizenID, employeeID int64, doc, number string, at time.Time) error

	// CitizenBySession returns the account of an unexpired session token;
	// EUNAUTHORIZED otherwise.
	CitizenBySession(ctx context.Context, tokenHash []byte, now time.Time) (*Citizen, error)
	// DeleteCitizenToken ends a session (or drops any token), and sweeps tokens that
	// expired long ago.
	DeleteCitizenToken(ctx context.Context, tokenHash []byte) error
	// EndCitizenSessions ends every session of the account.
	EndCitizenSessions(ctx context.Context, citizenID int64) error

	// CitizenCases lists the citizen's own cases, newest first (M15).
	CitizenCases(ctx context.Context, citizenID int64) ([]CaseSummary, error)
	// LinkCase makes a case the citizen's own, for the case submitted while signed in.
	LinkCase(ctx context.Context, caseID, citizenID int64) error
	// ExportCitizen gathers everything kept about the citizen.
	ExportCitizen(ctx context.Context, citizenID int64) (*CitizenExport, error)
	// EraseCitizen anonymises the account: personal fields are cleared, ErasedAt is
	// set, every token ends, and the citizen's cases lose their contact data and
	// their link to the account but stay for the statistics.
	EraseCitizen(ctx context.Context, citizenID int64, at time.Time) error
}
