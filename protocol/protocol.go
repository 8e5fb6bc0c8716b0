// Package protocol registers cases in the municipality's protocol (πρωτόκολλο, the
// official document registry) over HTTP (M11), and simulates that registry for tests
// and demos.
//
// The registry is an outside service that may be down for days; dimos retries with
// back-off, so every registration carries the case number as its idempotency key and a
// case gets exactly one protocol number however often it is retried. We own both sides
// of the wire: Client speaks it, Simulator answers it, and the adapter in front of the
// real registry answers it too.
//
// # Wire format, version 1
//
// A registration is one request:
//
//	POST {base}/v1/registrations
//	Authorization: Bearer <token>
//	Idempotency-Key: <case number>
//	Content-Type: application/json
//
//	{
//	  "case_number": "2026-000123",     required; the same as Idempotency-Key
//	  "kind":        "certificate",     required; request|complaint|suggestion|certificate
//	  "subject":     "Πιστοποιητικό οικογενειακής κατάστασης",   required
//	  "applicant":   "Μαρία Παπαδοπούλου",   empty for an anonymous case
//	  "service":     "registry",        code of the responsible service; may be empty
//	  "received_at": "2026-11-22T08:15:00Z"  required, RFC 3339
//	}
//
// Unknown fields are ignored, so that either side may add one first. The answer is
//
//	201 Created   the case is registered now
//	200 OK        the case was registered before; the first entry is returned as it was
//
//	{"protocol_number": "1532/22-11-2026", "protocol_date": "2026-11-22T10:15:03+02:00"}
//
// A protocol number reads like a Greek municipal one, <serial>/<dd-mm-yyyy>: the serial
// counts from 1 in each calendar year and the date is the day of registration, both in
// Greek time (Europe/Athens). A case number registered again keeps its first entry,
// whatever the second request says.
//
// Failures carry a JSON body {"error": "<code>", "message": "<text for the log>"}:
//
//	400 invalid_request    the request is wrong and will stay wrong (refused for good)
//	401 unauthorized       missing or wrong bearer token
//	404 not_found          no such endpoint (a wrong base URL)
//	405 method_not_allowed
//	413 too_large          request body over 64 KiB
//	429, 5xx               the registry cannot register now; try again later
//	503 unavailable        the registry is down or in maintenance
//
// # How the client reads the answers
//
// Register returns an error with code dimos.EUNAVAILABLE ("not now, retry") for network
// errors, timeouts, 5xx, 429, redirects and any 2xx that is not a well-formed entry. It
// returns dimos.EINVALID with key "error.protocol.refused" only when the registry looked
// at this request and refused it: 400, 409, 413, 415, 422 and any other 4xx except these,
// which are problems of configuration or of the moment and are retried while an operator
// fixes them: 401 and 403 (token), 404 and 405 (base URL), 408 (timeout) and 429.
// Refusing a citizen's application for good because a token expired would be the worse
// mistake; the error text names the status so that the log shows what to fix.
package protocol

import (
	"time"
	_ "time/tzdata" // Europe/Athens without the system's zoneinfo (containers)
)

// Paths of the wire format.
const (
	RegistrationsPath = "/v1/registrations"
	ControlPath       = "/control" // Simulator only
)

// maxBody bounds every body either side reads: a registration and its answer are a few
// hundred bytes, so anything near this size is a fault, not a document.
const maxBody = 64 << 10

// athens is the municipality's clock: the year of a protocol serial and the date in a
// protocol number are those in Greece at the moment of registration.
var athens = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Athens")
	if err != nil {
		panic(err)
	}
	return loc
}()

// registration is the body of POST /v1/registrations.
type registration struct {
	CaseNumber string    `json:"case_number"`
	Kind       string    `json:"kind"`
	Subject    string    `json:"subject"`
	Applicant  string    `json:"applicant"`
	Service    string    `json:"service"`
	ReceivedAt time.Time `json:"received_at"`
}

// entry is the body of a 200 or 201 answer.
type entry struct {
	ProtocolNumber string `json:"protocol_number"`
	ProtocolDate   string `json:"protocol_date"` // RFC 3339
}

// failure is the body of every 4xx and 5xx answer.
type failure struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}
