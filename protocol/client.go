package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"dimos"
)

// DefaultTimeout bounds a registration when NewClient is given no *http.Client and the
// caller's context has no deadline, so that a registry that never answers cannot hold
// an activity for ever.
const DefaultTimeout = 30 * time.Second

// Client registers cases in the municipality's protocol over the wire format of this
// package. It implements dimos.ProtocolRegistry and is safe for concurrent use.
type Client struct {
	base  string
	token string
	http  *http.Client
}

var _ dimos.ProtocolRegistry = (*Client)(nil)

// NewClient returns a client of the registry at baseURL (e.g. http://127.0.0.1:8090)
// that authenticates with token. httpClient may be nil for one with DefaultTimeout.
// Redirects are not followed, whatever httpClient says: a registry that has moved is a
// configuration problem to retry while an operator fixes the URL, and a followed 301 or
// 302 would silently turn the POST into a GET.
func NewClient(baseURL, token string, httpClient *http.Client) *Client {
	var hc http.Client
	if httpClient != nil {
		hc = *httpClient
	} else {
		hc.Timeout = DefaultTimeout
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, http: &hc}
}

// Register asks the registry for the protocol entry of r.CaseNumber, registering the
// case if it is new. It is idempotent: the case number is the idempotency key, so a
// retry after any error returns the entry of the first successful registration.
func (c *Client) Register(ctx context.Context, r dimos.ProtocolRequest) (dimos.ProtocolEntry, error) {
	if strings.TrimSpace(r.CaseNumber) == "" {
		return dimos.ProtocolEntry{}, refused(r.CaseNumber, errors.New("no case number"))
	}
	body, err := json.Marshal(registration{
		CaseNumber: r.CaseNumber, Kind: string(r.Kind), Subject: r.Subject,
		Applicant: r.Applicant, Service: r.Service, ReceivedAt: r.ReceivedAt.UTC(),
	})
	if err != nil {
		return dimos.ProtocolEntry{}, refused(r.CaseNumber, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+RegistrationsPath, bytes.NewReader(body))
	if err != nil { // a malformed base URL: configuration, so retry while it is fixed
		return dimos.ProtocolEntry{}, unavailable(r.CaseNumber, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Idempotency-Key", r.CaseNumber)

	resp, err := c.http.Do(req)
	if err != nil {
		return dimos.ProtocolEntry{}, unavailable(r.CaseNumber, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return dimos.ProtocolEntry{}, unavailable(r.CaseNumber, fmt.Errorf("reading the answer: %w", err))
	}
	if len(answer) > maxBody {
		return dimos.ProtocolEntry{}, unavailable(r.CaseNumber, fmt.Errorf("answer %s is over %d bytes", resp.Status, maxBody))
	}

	switch s := resp.StatusCode; {
	case s == http.StatusOK || s == http.StatusCreated:
		e, err := parseEntry(answer)
		if err != nil {
			return dimos.ProtocolEntry{}, unavailable(r.CaseNumber, fmt.Errorf("malformed answer %s: %w", resp.Status, err))
		}
		return e, nil
	case s >= 400 && s < 500 && !retried4xx[s]:
		return dimos.ProtocolEntry{}, refused(r.CaseNumber, statusError(resp.Status, answer))
	default: // 5xx, the retried 4xx, redirects, other 2xx
		return dimos.ProtocolEntry{}, unavailable(r.CaseNumber, statusError(resp.Status, answer))
	}
}

// retried4xx are the client errors that say nothing about the request itself: a token
// or a URL to fix, or a registry that is busy. The package comment explains the choice.
var retried4xx = map[int]bool{
	http.StatusUnauthorized:     true,
	http.StatusForbidden:        true,
	http.StatusNotFound:         true,
	http.StatusMethodNotAllowed: true,
	http.StatusRequestTimeout:   true,
	http.StatusTooManyRequests:  true,
}

// parseEntry checks an answer before dimos stores it as the case's protocol data for
// good: a registry that answers 200 with nonsense is broken, and a retry is better
// than a blank or garbled number shown to the citizen.
func parseEntry(b []byte) (dimos.ProtocolEntry, error) {
	var e entry
	if err := json.Unmarshal(b, &e); err != nil {
		return dimos.ProtocolEntry{}, err
	}
	number := strings.TrimSpace(e.ProtocolNumber)
	switch {
	case number == "":
		return dimos.ProtocolEntry{}, errors.New("no protocol_number")
	case len(number) > 100 || !utf8.ValidString(number) || strings.IndexFunc(number, unicode.IsControl) >= 0:
		return dimos.ProtocolEntry{}, fmt.Errorf("protocol_number %.100q is not a protocol number", number)
	}
	date, err := time.Parse(time.RFC3339, e.ProtocolDate)
	if err != nil {
		return dimos.ProtocolEntry{}, fmt.Errorf("protocol_date: %w", err)
	}
	return dimos.ProtocolEntry{Number: number, Date: date}, nil
}

// statusError describes an answer for the log: its status and what the registry said.
func statusError(status string, body []byte) error {
	var f failure
	if json.Unmarshal(body, &f) == nil && (f.Error != "" || f.Message != "") {
		return fmt.Errorf("registry answered %s: %s: %s", status, f.Error, f.Message)
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return fmt.Errorf("registry answered %s: %q", status, body)
}

// unavailable means "not now, retry"; the cause stays in the chain for the log and for
// errors.Is (context.DeadlineExceeded, net errors).
func unavailable(caseNumber string, cause error) error {
	return fmt.Errorf("protocol: register case %s: %w: %w", caseNumber, cause,
		&dimos.Error{Code: dimos.EUNAVAILABLE, Key: "error.protocol.unavailable"})
}

// refused means the registry will never register this request as it is.
func refused(caseNumber string, cause error) error {
	return fmt.Errorf("protocol: register case %s: %w: %w", caseNumber, cause,
		&dimos.Error{Code: dimos.EINVALID, Key: "error.protocol.refused"})
}
