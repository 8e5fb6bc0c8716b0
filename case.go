package dimos

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is what the citizen files (seed 001: Αίτημα | Καταγγελία | Πρόταση, and
// certificate applications).
type Kind string

const (
	KindRequest     Kind = "request"     // Αίτημα
	KindComplaint   Kind = "complaint"   // Καταγγελία
	KindSuggestion  Kind = "suggestion"  // Πρόταση
	KindCertificate Kind = "certificate" // Αίτηση πιστοποιητικού
)

// Kinds lists every kind in the order forms show them.
var Kinds = []Kind{KindRequest, KindComplaint, KindSuggestion, KindCertificate}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// Channel is where a case came in.
type Channel string

const (
	ChannelPortal  Channel = "portal"
	ChannelIVR     Channel = "ivr"
	ChannelOpen311 Channel = "open311"
	ChannelDesk    Channel = "desk"
)

// Status is what a citizen is told when tracking a case (seed 000: εκκρεμεί, σε
// επεξεργασία, ολοκληρώθηκε). The finer Stage says where the case is inside the office.
type Status string

const (
	StatusPending    Status = "pending"
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
)

// Stage is one step of a case's way through the office. Every visit to a stage is a
// StageTiming row, so reports can tell where cases wait.
type Stage string

const (
	StageReceived         Stage = "received"          // stored, not yet routed
	StageAwaitingProtocol Stage = "awaiting_protocol" // waiting for the protocol registry (M11)
	StageRouted           Stage = "routed"            // with the director of the responsible service
	StageAssigned         Stage = "assigned"          // with a clerk who has not acted yet
	StageInProgress       Stage = "in_progress"       // the holder is working on it
	StageWaitingCitizen   Stage = "waiting_citizen"   // information asked of the citizen; clocks paused
	StageCompleted        Stage = "completed"         // answered (M13)
	StageRejected         Stage = "rejected"          // refused or closed with a reason
)

// Stages lists every stage in the order a case normally passes them.
var Stages = []Stage{StageReceived, StageAwaitingProtocol, StageRouted, StageAssigned, StageInProgress,
	StageWaitingCitizen, StageCompleted, StageRejected}

// Status returns the public status of a case in stage s.
func (s Stage) Status() Status {
	switch s {
	case StageReceived, StageAwaitingProtocol, StageRouted:
		return StatusPending
	case StageCompleted, StageRejected:
		return StatusCompleted
	default:
		return StatusInProgress
	}
}

// Terminal reports whether a case in stage s is finished (it may still be reopened).
func (s Stage) Terminal() bool { return s == StageCompleted || s == StageRejected }

// ClockRuns reports whether the municipality's clocks run while a case is in stage s:
// they stop while the office waits for the citizen and once the case is finished.
func (s Stage) ClockRuns() bool { return s != StageWaitingCitizen && !s.Terminal() }

// Delivery is how a certificate reaches the citizen (M7).
type Delivery string

const (
	DeliveryTownHall   Delivery = "town_hall"
	DeliveryKEP        Delivery = "kep"
	DeliveryPost       Delivery = "post"
	DeliveryElectronic Delivery = "electronic"
)

// Point is a place on the map, in WGS 84 degrees.
type Point struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Valid reports whether p is on the globe.
func (p Point) Valid() bool {
	return p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180 && p.Lat == p.Lat && p.Lon == p.Lon
}

// Deliveries lists the ways a certificate can reach the citizen.
var Deliveries = []Delivery{DeliveryTownHall, DeliveryKEP, DeliveryPost, DeliveryElectronic}

// Valid reports whether d is a known delivery.
func (d Delivery) Valid() bool {
	for _, v := range Deliveries {
		if d == v {
			return true
		}
	}
	return false
}

// Contact is how the municipality reaches the citizen who filed a case.
type Contact struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
}

// FullName joins first and last name.
func (c Contact) FullName() string { return strings.TrimSpace(c.FirstName + " " + c.LastName) }

// Case is one citizen submission and its state in the office.
type Case struct {
	ID            int64
	Number        string // YYYY-NNNNNN, assigned when stored
	Kind          Kind
	CategoryCode  string
	Channel       Channel
	Subject       string
	Text          string
	DesiredAction string
	Anonymous     bool
	Contact       Contact
	Lang          string // language the citizen reads: "el" or "en"
	CitizenID     int64  // the account that filed it; 0 for a case filed without one

	// Where: an optional point on the map (M6) and a street address.
	Location *Point
	Address  string
	// Certificate applications (M7): what it is for and how it is delivered.
	Purpose  string
	Delivery Delivery
	// AccessKeyHash is the SHA-256 of the key the citizen received at submission, with
	// which they may comment on, rate or reopen the case. Stored, never read back
	// with the case: AccessKeyHash of the store checks it.
	AccessKeyHash []byte

	Stage       Stage
	Status      Status
	ServiceID   int64  // 0 until routed
	AssigneeID  int64  // 0 while nobody holds it
	Answer      string // the municipality's answer, or the reason of a rejection
	SubmittedAt time.Time
	CompletedAt time.Time // zero while open

	Protocol     ProtocolEntry // zero until registered in the municipality's protocol
	DueDate      time.Time     // expected completion or pickup date; zero if none was set
	Rating       int           // the citizen's rating of the answer, 1–5; 0 if none
	RatingRemark string

	// WorkflowStartedAt is zero until the case's workflow exists in Temporal; a case
	// accepted while Temporal was down waits here until a starter picks it up.
	WorkflowStartedAt time.Time
}

// Limits on submitted text, in characters.
const (
	MaxSubjectLen = 200
	MaxTextLen    = 10000
	MaxActionLen  = 2000
	MaxNameLen    = 100
	MaxAnswerLen  = 20000
)

// Validate checks a submission and reports every bad field at once. It does not know
// the categories; the caller checks that CategoryCode exists.
func (c *Case) Validate() error {
	var v Validation
	if c.Kind == "" {
		v.Add("kind", "field.required")
	} else if !c.Kind.Valid() {
		v.Add("kind", "field.kind.unknown")
	}
	if strings.TrimSpace(c.CategoryCode) == "" {
		v.Add("category", "field.required")
	}
	checkText(&v, "subject", c.Subject, MaxSubjectLen, true)
	checkText(&v, "text", c.Text, MaxTextLen, true)
	checkText(&v, "desired_action", c.DesiredAction, MaxActionLen, false)
	if c.Anonymous {
		if c.Kind == KindCertificate {
			v.Add("anonymous", "field.anonymous.certificate")
		}
	} else {
		checkText(&v, "contact.first_name", c.Contact.FirstName, MaxNameLen, true)
		checkText(&v, "contact.last_name", c.Contact.LastName, MaxNameLen, true)
		if c.Contact.Email == "" && c.Contact.Phone == "" {
			v.Add("contact.email", "field.contact.reachable")
		}
	}
	if c.Location != nil && !c.Location.Valid() {
		v.Add("location", "field.location.range")
	}
	checkText(&v, "address", c.Address, MaxActionLen, false)
	if c.Kind == KindCertificate {
		checkText(&v, "purpose", c.Purpose, MaxActionLen, true)
		if !c.Delivery.Valid() {
			v.Add("delivery", "field.delivery.unknown")
		}
	} else if c.Delivery != "" {
		v.Add("delivery", "field.delivery.certificate_only")
	}
	if c.Contact.Email != "" && !ValidEmail(c.Contact.Email) {
		v.Add("contact.email", "field.email.invalid")
	}
	if c.Contact.Phone != "" && !ValidPhone(c.Contact.Phone) {
		v.Add("contact.phone", "field.phone.invalid")
	}
	return v.Err()
}

func checkText(v *Validation, field, s string, max int, required bool) {
	switch {
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0): // PostgreSQL stores neither
		v.Add(field, "field.utf8")
	case required && strings.TrimSpace(s) == "":
		v.Add(field, "field.required")
	case utf8.RuneCountInString(s) > max:
		v.Add(field, "field.too_long")
	}
}

// ValidEmail reports whether s is a plain address (no display name).
func ValidEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndex(s, "@"):], ".")
}

// ValidPhone accepts 10 to 15 digits with an optional leading +, spaces and dashes
// ignored: Greek numbers are ten digits, international ones longer.
func ValidPhone(s string) bool {
	n := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			n++
		case r == '+' && i == 0, r == ' ', r == '-':
		default:
			return false
		}
	}
	return n >= 10 && n <= 15
}

// FormatCaseNumber renders the number of the seq-th case of year as YYYY-NNNNNN: digits
// only, so a caller can key it on a phone.
func FormatCaseNumber(year, seq int) string { return fmt.Sprintf("%04d-%06d", year, seq) }

// ParseCaseNumber accepts YYYY-NNNNNN, or the same digits without the dash as keyed on
// a phone, and returns the canonical form.
func ParseCaseNumber(s string) (string, bool) {
	s = strings.TrimSpace(s)
	digits := strings.ReplaceAll(s, "-", "")
	if len(digits) < 10 || len(digits) > 14 || strings.Count(s, "-") > 1 {
		return "", false
	}
	if strings.Contains(s, "-") && strings.Index(s, "-") != 4 {
		return "", false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return digits[:4] + "-" + digits[4:], true
}

// CaseEvent is one entry of a case's timeline.
type CaseEvent struct {
	ID         int64
	CaseID     int64
	At         time.Time
	Type       string // received, routed, completed, …
	ActorID    int64  // employee who acted; 0 for the system or the citizen
	ActorName  string // filled when read
	Public     bool   // shown to the citizen
	Body       string
	Service    string // name of the service involved, filled when read
	EmployeeID int64  // employee the event concerns (e.g. the new assignee)
	ByCitizen  bool   // written by the citizen (a comment, a reply, a reopening)
}

// Rating is the citizen's judgement of the answer.
type Rating struct {
	Stars  int
	Remark string
}

// Validate checks a rating.
func (r Rating) Validate() error {
	var v Validation
	if r.Stars < 1 || r.Stars > 5 {
		v.Add("stars", "field.rating.range")
	}
	checkText(&v, "remark", r.Remark, MaxActionLen, false)
	return v.Err()
}

// CaseChange is a change to a case that is not a move between stages: a comment, a
// due date, protocol data, a rating. Key makes it idempotent: a change whose key was
// already applied changes nothing, so an activity may be retried freely.
type CaseChange struct {
	CaseID   int64
	Key      string
	Event    CaseEvent
	DueDate  time.Time      // set when not zero
	Protocol *ProtocolEntry // set when not nil; the first protocol entry is kept
	Rating   *Rating        // set when not nil
}

// StageTiming is one visit of a case to a stage: where it was, who held it, from when
// to when. LeftAt is zero while the case is still there.
type StageTiming struct {
	CaseID     int64
	Seq        int
	Stage      Stage
	ServiceID  int64
	EmployeeID int64
	EnteredAt  time.Time
	LeftAt     time.Time
}

// AttachmentRef names a stored attachment: enough to list it on the timeline and to
// fetch it, never the bytes.
type AttachmentRef struct {
	ID          int64
	Name        string
	ContentType string
	Size        int64
	SHA256      string
}
