package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf16"

	"dimos"
)

// HTTPSMSGateway sends text messages through an HTTP gateway that takes
//
//	POST <URL>  Authorization: Bearer <Token>
//	{"to": "+3069…", "text": "…", "reference": "<event key>"}
//
// and answers 2xx when it has queued the message. The reference is the event key, so
// a gateway that remembers references drops a repeated send.
type HTTPSMSGateway struct {
	URL    string
	Token  string
	Client *http.Client // nil: a client with a 15 s timeout
}

var _ dimos.SMSGateway = (*HTTPSMSGateway)(nil)

// NewHTTPSMSGateway returns a gateway client for url with a bearer token.
func NewHTTPSMSGateway(url, token string) *HTTPSMSGateway {
	return &HTTPSMSGateway{URL: url, Token: token, Client: &http.Client{Timeout: 15 * time.Second}}
}

type smsRequest struct {
	To        string `json:"to"`
	Text      string `json:"text"`
	Reference string `json:"reference"`
}

func errSMSRejected() *dimos.Error { return dimos.Errorf(dimos.EINVALID, "error.sms.rejected") }

// SendSMS posts m to the gateway. A number that is not in international form, or a
// 4xx answer, is an EINVALID *dimos.Error with key error.sms.rejected: the gateway
// refuses this message for good. Exceptions are 401/403 (our token is wrong: an
// operator fixes the configuration and the retry then succeeds), 408 and 429, which
// like 5xx and network failures are plain errors for the caller to retry.
func (g *HTTPSMSGateway) SendSMS(ctx context.Context, m dimos.SMS) error {
	if !isE164(m.To) {
		return fmt.Errorf("sms: number %q is not in international form: %w", m.To, errSMSRejected())
	}
	if strings.TrimSpace(m.Text) == "" {
		return fmt.Errorf("sms: empty text: %w", errSMSRejected())
	}
	body, err := json.Marshal(smsRequest{To: m.To, Text: m.Text, Reference: m.Key})
	if err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.Token)
	client := g.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("sms: post: %w", err)
	}
	defer resp.Body.Close()
	// Read a little of the answer for the log, and drain it so the connection is reused.
	detail, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))

	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusUnauthorized, c == http.StatusForbidden,
		c == http.StatusRequestTimeout, c == http.StatusTooManyRequests:
		return fmt.Errorf("sms: gateway answered %s: %s", resp.Status, bytes.TrimSpace(detail))
	case c >= 400 && c < 500:
		return fmt.Errorf("sms: gateway answered %s: %s: %w", resp.Status, bytes.TrimSpace(detail), errSMSRejected())
	default:
		return fmt.Errorf("sms: gateway answered %s: %s", resp.Status, bytes.TrimSpace(detail))
	}
}

// isE164 reports whether s is + and 8 to 15 digits, the first not 0.
func isE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// NormalizeGreekPhone turns a Greek number as people write it into international
// form: a mobile 69xxxxxxxx becomes +3069xxxxxxxx and a landline 2xxxxxxxxx becomes
// +302xxxxxxxxx. It accepts the prefixes +30, 0030 and 30 (twelve digits), and ignores
// spaces and dashes. Everything else is refused: other countries, and Greek numbers
// that cannot be a person's line (800/801 toll numbers, 1xxxx services, short codes),
// because an SMS to them cannot reach the citizen.
func NormalizeGreekPhone(s string) (string, bool) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ', r == '-':
		case r == '+' && i == 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "+30"):
		d = d[3:]
	case strings.HasPrefix(d, "0030"):
		d = d[4:]
	case strings.HasPrefix(d, "+"):
		return "", false
	case len(d) == 12 && strings.HasPrefix(d, "30"):
		d = d[2:]
	}
	if len(d) != 10 {
		return "", false
	}
	if !strings.HasPrefix(d, "69") && d[0] != '2' {
		return "", false
	}
	return "+30" + d, true
}

// IsGreekMobile reports whether s (as NormalizeGreekPhone returns it) is a Greek
// mobile number, the kind that can receive an SMS.
func IsGreekMobile(s string) bool { return len(s) == 13 && strings.HasPrefix(s, "+3069") }

// gsmBasic is the GSM 03.38 default alphabet; gsmExtended are the characters that
// take an escape and so count twice.
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtended = "^{}\\[~]|€\f"
)

// SMSSegments says how many segments text takes on the air and whether it needs
// UCS-2. GSM-7 text fits 160 characters in one segment and 153 per segment when
// split; anything else (lower-case Greek, for one) is UCS-2: 70 in one, 67 per part.
func SMSSegments(text string) (segments int, ucs2 bool) {
	if text == "" {
		return 0, false
	}
	septets := 0
	for _, r := range text {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			septets++
		case strings.ContainsRune(gsmExtended, r):
			septets += 2
		default:
			ucs2 = true
		}
		if ucs2 {
			break
		}
	}
	if ucs2 {
		units := len(utf16.Encode([]rune(text)))
		if units <= 70 {
			return 1, true
		}
		return (units + 66) / 67, true
	}
	if septets <= 160 {
		return 1, false
	}
	return (septets + 152) / 153, false
}
