package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"dimos"
)

// StartTLS policies of SMTPConfig.
const (
	StartTLSAuto   = "auto"   // upgrade when the server offers STARTTLS
	StartTLSAlways = "always" // refuse to send unless the connection can be upgraded
	StartTLSNever  = "never"  // plain connection, e.g. a relay on the same host
)

// SMTPConfig says how SMTPMailer reaches the municipality's mail relay.
type SMTPConfig struct {
	Addr               string // host:port of the relay
	Username, Password string // AUTH PLAIN credentials; empty for an open relay
	From               string // sender address, e.g. noreply@dimos.example.gr
	FromName           string // display name, e.g. "Δήμος Αγίου Νικολάου"
	StartTLS           string // StartTLSAuto (default), StartTLSAlways or StartTLSNever
	Timeout            time.Duration
	HeloName           string // name in EHLO; the host name by default

	// TLSConfig is used for STARTTLS; nil means the system roots and the host of
	// Addr as server name. Tests set it to trust smtptest's certificate.
	TLSConfig *tls.Config
}

// DefaultSMTPTimeout bounds one message, connection to QUIT, when the config sets none.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPMailer sends mail through an SMTP relay. It opens one connection per message:
// notifications are few, and a fresh connection cannot be left half-way in a bad state.
type SMTPMailer struct {
	cfg  SMTPConfig
	from mail.Address
	helo string

	// Now stamps the Date header; tests replace it.
	Now func() time.Time
}

var _ dimos.Mailer = (*SMTPMailer)(nil)

// NewSMTPMailer checks cfg and returns a mailer.
func NewSMTPMailer(cfg SMTPConfig) (*SMTPMailer, error) {
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("smtp config: addr %q: %w", cfg.Addr, err)
	}
	if !dimos.ValidEmail(cfg.From) {
		return nil, fmt.Errorf("smtp config: from %q is not a plain address", cfg.From)
	}
	switch cfg.StartTLS {
	case "":
		cfg.StartTLS = StartTLSAuto
	case StartTLSAuto, StartTLSAlways, StartTLSNever:
	default:
		return nil, fmt.Errorf("smtp config: starttls %q: want auto, always or never", cfg.StartTLS)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultSMTPTimeout
	}
	helo := cfg.HeloName
	if helo == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			helo = h
		} else {
			helo = "localhost"
		}
	}
	return &SMTPMailer{
		cfg:  cfg,
		from: mail.Address{Name: cfg.FromName, Address: cfg.From},
		helo: helo,
		Now:  time.Now,
	}, nil
}

// MessageID derives the Message-ID (without angle brackets) from the event key, so
// that a resend of the same event carries the same Message-ID and the receiving side
// can recognise the duplicate. An empty key gets a random identifier.
func MessageID(key, domain string) string {
	if domain == "" {
		domain = "dimos"
	}
	if key == "" {
		b := make([]byte, 16)
		rand.Read(b)
		return hex.EncodeToString(b) + "@" + domain
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16]) + "@" + domain
}

func errMailRejected() *dimos.Error { return dimos.Errorf(dimos.EINVALID, "error.mail.rejected") }

// SendMail delivers m to the relay. A recipient or message that the relay refuses
// for good (5xx on RCPT or DATA) gives an EINVALID *dimos.Error with key
// error.mail.rejected: retrying cannot help. If only some recipients are refused the
// others still receive the message and the error names the refused ones. Everything
// else — no connection, 4xx, a failed STARTTLS or AUTH, the context ending — is a
// plain error, and the caller retries; the Message-ID stays the same.
func (s *SMTPMailer) SendMail(ctx context.Context, m dimos.Mail) error {
	if len(m.To) == 0 {
		return fmt.Errorf("smtp: no recipients: %w", errMailRejected())
	}
	for _, to := range m.To {
		if !dimos.ValidEmail(to) {
			return fmt.Errorf("smtp: recipient %q: %w", to, errMailRejected())
		}
	}
	msg, err := s.compose(m)
	if err != nil {
		return fmt.Errorf("smtp: compose: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtp: dial %s: %w", s.cfg.Addr, err)
	}
	// net/smtp knows nothing of contexts: the deadline bounds every read and write,
	// and a cancellation closes the connection under a blocked call.
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	err = s.deliver(conn, m, msg)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("smtp %s: %w (%v)", s.cfg.Addr, ctx.Err(), err)
	}
	// The connection deadline can fire a moment before the context notices its own.
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return fmt.Errorf("smtp %s: %w (%v)", s.cfg.Addr, context.DeadlineExceeded, err)
	}
	return err
}

// deliver runs one SMTP session on conn and closes it.
func (s *SMTPMailer) deliver(conn net.Conn, m dimos.Mail, msg []byte) error {
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(s.helo); err != nil {
		return fmt.Errorf("smtp ehlo: %w", err)
	}

	secure := false
	if s.cfg.StartTLS != StartTLSNever {
		if ok, _ := c.Extension("STARTTLS"); ok {
			tc := &tls.Config{}
			if s.cfg.TLSConfig != nil {
				tc = s.cfg.TLSConfig.Clone()
			}
			if tc.ServerName == "" {
				tc.ServerName = host
			}
			if tc.MinVersion == 0 {
				tc.MinVersion = tls.VersionTLS12
			}
			if err := c.StartTLS(tc); err != nil {
				return fmt.Errorf("smtp starttls: %w", err)
			}
			secure = true
		} else if s.cfg.StartTLS == StartTLSAlways {
			return errors.New("smtp starttls: the server does not offer STARTTLS")
		}
	}

	if s.cfg.Username != "" {
		if !authAllowed(secure, conn.RemoteAddr()) {
			return fmt.Errorf("smtp auth: refusing to send the password to %s without TLS", conn.RemoteAddr())
		}
		if ok, mechs := c.Extension("AUTH"); !ok || !hasWord(mechs, "PLAIN") {
			return fmt.Errorf("smtp auth: the server does not offer AUTH PLAIN (offers %q)", mechs)
		}
		if err := c.Auth(plainAuth{s.cfg.Username, s.cfg.Password}); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}

	if err := c.Mail(s.cfg.From); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	var refused []string
	var refusal error
	for _, to := range m.To {
		err := c.Rcpt(to)
		switch {
		case err == nil:
		case permanent(err):
			refused = append(refused, to)
			refusal = err
		default:
			return fmt.Errorf("smtp rcpt %s: %w", to, err)
		}
	}
	if len(refused) == len(m.To) {
		c.Reset()
		c.Quit()
		return fmt.Errorf("smtp rcpt %s: %v: %w", strings.Join(refused, ", "), refusal, errMailRejected())
	}

	w, err := c.Data()
	if err != nil {
		return dataError(err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return dataError(err)
	}
	// The relay has taken the message; a failed QUIT changes nothing.
	c.Quit()

	if len(refused) > 0 {
		return fmt.Errorf("smtp rcpt %s: %v: %w", strings.Join(refused, ", "), refusal, errMailRejected())
	}
	return nil
}

func dataError(err error) error {
	if permanent(err) {
		return fmt.Errorf("smtp data: %v: %w", err, errMailRejected())
	}
	return fmt.Errorf("smtp data: %w", err)
}

// permanent reports whether err is an SMTP 5xx reply.
func permanent(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500 && te.Code < 600
}

// authAllowed is the rule for sending the password: only inside TLS, or to a relay on
// this machine, where nobody sits on the wire.
func authAllowed(secure bool, remote net.Addr) bool {
	if secure {
		return true
	}
	if a, ok := remote.(*net.TCPAddr); ok {
		return a.IP.IsLoopback()
	}
	return false
}

func hasWord(list, word string) bool {
	for _, w := range strings.Fields(list) {
		if strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}

// plainAuth is AUTH PLAIN (RFC 4616). net/smtp's PlainAuth has its own idea of
// "local" (the name given, not the address connected to), so the rule lives in
// authAllowed and this type only speaks the mechanism.
type plainAuth struct{ username, password string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.username + "\x00" + a.password), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}

// compose builds the MIME message: UTF-8 throughout, header words encoded per RFC
// 2047, text as quoted-printable, and multipart/alternative when m has HTML.
func (s *SMTPMailer) compose(m dimos.Mail) ([]byte, error) {
	var h mail.Header
	h.SetDate(s.Now().In(athens))
	h.SetAddressList("From", []*mail.Address{&s.from})
	to := make([]*mail.Address, len(m.To))
	for i, a := range m.To {
		to[i] = &mail.Address{Address: a}
	}
	h.SetAddressList("To", to)
	h.SetSubject(strings.Join(strings.Fields(m.Subject), " "))
	h.SetMessageID(MessageID(m.Key, s.cfg.From[strings.LastIndex(s.cfg.From, "@")+1:]))
	// RFC 3834: an automatic message, so that vacation responders stay quiet.
	h.Set("Auto-Submitted", "auto-generated")

	var buf bytes.Buffer
	text := withNewline(m.Text)
	if m.HTML == "" {
		h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		w, err := mail.CreateSingleInlineWriter(&buf, h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(text)); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}

	mw, err := mail.CreateInlineWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	for _, p := range []struct{ typ, body string }{
		{"text/plain", text},
		{"text/html", withNewline(m.HTML)},
	} {
		var ph mail.InlineHeader
		ph.SetContentType(p.typ, map[string]string{"charset": "utf-8"})
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		w, err := mw.CreatePart(ph)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(p.body)); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func withNewline(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}
