package dimos

import (
	"context"
	"time"
)

// APIKey identifies an outside client of the open API (an Open311 app, a partner's
// system). The key itself is shown once, when it is issued; the store keeps only its
// SHA-256, and Prefix, its first characters, so that staff can tell keys apart.
type APIKey struct {
	ID        int64
	Name      string
	Prefix    string
	CreatedAt time.Time
	RevokedAt time.Time // zero while the key works
	CreatedBy int64     // employee who issued it; 0 for the command line
	RevokedBy int64     // employee who withdrew it
}

// Revoked reports whether the key was withdrawn.
func (k APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// MaxAPIKeyNameLen limits the name staff give a key, in characters.
const MaxAPIKeyNameLen = 100

// APIKeyStore issues, lists, revokes and checks API keys.
type APIKeyStore interface {
	// CreateAPIKey issues a key named name. The key is returned once and never again.
	CreateAPIKey(ctx context.Context, name string, createdBy int64) (key string, k APIKey, err error)
	// RevokeAPIKey withdraws a key; revoking a revoked key changes nothing. ENOTFOUND
	// for an unknown id.
	RevokeAPIKey(ctx context.Context, id int64, by int64) error
	// APIKeys lists every key, newest first, revoked ones included.
	APIKeys(ctx context.Context) ([]APIKey, error)
	// CheckAPIKey returns the key's record; EUNAUTHORIZED when it is unknown or revoked.
	CheckAPIKey(ctx context.Context, key string) (APIKey, error)
}

// ServiceRequest is a case as the open API (Open311 GeoReport v2) shows it to anyone:
// what, where, how far along, and who is responsible; never who filed it.
type ServiceRequest struct {
	Number         string
	Kind           Kind
	CategoryCode   string
	CategoryNameEL string
	CategoryNameEN string
	Channel        Channel
	Stage          Stage
	// Text is the citizen's description. The store fills it only for cases filed
	// through the open API, whose authors published it themselves; the text of a
	// portal or phone case stays private.
	Text          string
	ServiceNameEL string // the service holding the case, or the category's service
	ServiceNameEN string
	SubmittedAt   time.Time
	UpdatedAt     time.Time // the last event of the case's timeline
	DueDate       time.Time // zero when none was set
	// CompletionDays is the category's completion target in working days (0: none),
	// from which the open API tells when an open case is expected to be done.
	CompletionDays float64
	HasPoint       bool // Lat and Lon are set
	Lat, Lon       float64
	Address        string
}

// Closed reports whether the case is finished, the open API's "closed".
func (r ServiceRequest) Closed() bool { return r.Stage.Terminal() }

// ServiceRequestFilter selects the cases the open API lists. Numbers, when given,
// select those cases and nothing else counts.
type ServiceRequestFilter struct {
	Numbers       []string
	CategoryCodes []string  // any of them; all when empty
	From, To      time.Time // submitted in [From, To); zero leaves that end open
	Open, Closed  bool      // which statuses to include; both false means both
	Limit         int
}

// ServiceRequestStore is what the open API reads beyond the CaseStore.
// Only cases that may be public are found: no certificate applications, and no
// anonymous cases except those filed through the open API itself.
type ServiceRequestStore interface {
	// ServiceRequests lists the matching cases, newest first.
	ServiceRequests(ctx context.Context, f ServiceRequestFilter) ([]ServiceRequest, error)
}
