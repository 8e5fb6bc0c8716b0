// Package smtptest runs a real SMTP server inside a test process, so that mail code is
// tested over the wire against go-smtp rather than against a mock. It keeps every
// accepted message, parsed with go-message (Greek and other charsets decoded), and can
// be told to answer with failures so that retries can be tested.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode ISO-8859-7, Windows-1253 …
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From      string   // envelope sender (MAIL FROM)
	To        []string // envelope recipients (RCPT TO)
	Header    mail.Header
	Subject   string // decoded
	Text      string // decoded text/plain body, line ends as \n
	HTML      string // decoded text/html body, if any
	MessageID string // without angle brackets
	Raw       []byte // the DATA as received
	TLS       bool   // the message came over a TLS connection
	AuthUser  string // the user that authenticated, if any
}

// Server is a running SMTP server on 127.0.0.1.
type Server struct {
	t         testing.TB
	srv       *smtp.Server
	ln        net.Listener
	username  string
	password  string
	clientTLS *tls.Config

	mu       sync.Mutex
	msgs     []Message
	changed  chan struct{} // closed and replaced whenever msgs grows
	rcptCode int
	dataCode int
	refuse   map[string]int
	sessions int
}

// Option configures Start.
type Option func(*Server)

// WithTLS offers STARTTLS with a self-signed certificate for 127.0.0.1; ClientTLS
// returns a client configuration that trusts it.
func WithTLS() Option {
	return func(s *Server) {
		cert, pool := selfSigned(s.t)
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.clientTLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	}
}

// WithAuth requires AUTH PLAIN with these credentials before MAIL FROM. The server
// accepts AUTH without TLS too, as a relay on loopback may.
func WithAuth(username, password string) Option {
	return func(s *Server) { s.username, s.password = username, password }
}

// Start listens on 127.0.0.1:0 and serves until the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, changed: make(chan struct{}), refuse: map[string]int{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "smtptest.local"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.MaxRecipients = 100
	for _, o := range opts {
		o(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.ln = ln
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// ClientTLS is a TLS client configuration that trusts the server's certificate; nil
// unless the server was started WithTLS.
func (s *Server) ClientTLS() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// SetFailing makes the server answer every RCPT with code (e.g. 451 temporary, 550
// permanent); 0 accepts again.
func (s *Server) SetFailing(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcptCode = code
}

// SetFailingData makes the server answer the end of DATA with code; 0 accepts again.
func (s *Server) SetFailingData(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataCode = code
}

// Refuse makes the server answer RCPT of one address with code; 0 accepts it again.
func (s *Server) Refuse(addr string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.refuse, strings.ToLower(addr))
	} else {
		s.refuse[strings.ToLower(addr)] = code
	}
}

// Sessions counts the SMTP sessions opened so far (one per EHLO after connect or
// STARTTLS), to tell whether a client tried at all.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor waits until at least n messages arrived and returns them; it fails the
// test after timeout. Call it from the test's goroutine.
func (s *Server) WaitFor(n int, timeout time.Duration) []Message {
	s.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		msgs, changed := append([]Message(nil), s.msgs...), s.changed
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs
		}
		select {
		case <-changed:
		case <-deadline.C:
			s.t.Fatalf("smtptest: %d of %d messages after %v", len(msgs), n, timeout)
			return msgs
		}
	}
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.sessions++
	s.mu.Unlock()
	return &session{s: s, conn: c}, nil
}

func (s *Server) failure(code int) error {
	if code/100 == 4 {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: "smtptest: try again later"}
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: "smtptest: refused"}
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	authed string
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.username || password != ss.s.password {
			return smtp.ErrAuthFailed
		}
		ss.authed = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.username != "" && ss.authed == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	code, refuse := ss.s.rcptCode, ss.s.refuse[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if code != 0 {
		return ss.s.failure(code)
	}
	if refuse != 0 {
		return ss.s.failure(refuse)
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	code := ss.s.dataCode
	ss.s.mu.Unlock()
	if code != 0 {
		return ss.s.failure(code)
	}
	m, err := Parse(raw)
	if err != nil {
		ss.s.t.Errorf("smtptest: unreadable message: %v\n%s", err, raw)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "smtptest: unreadable message"}
	}
	m.From, m.To = ss.from, append([]string(nil), ss.to...)
	_, m.TLS = ss.conn.TLSConnectionState()
	m.AuthUser = ss.authed

	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, m)
	close(ss.s.changed)
	ss.s.changed = make(chan struct{})
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// Parse reads a raw RFC 5322 message into a Message (without the envelope fields).
func Parse(raw []byte) (Message, error) {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	defer r.Close()
	m := Message{Raw: raw, Header: r.Header}
	if m.Subject, err = r.Header.Subject(); err != nil {
		return m, fmt.Errorf("subject: %w", err)
	}
	if m.MessageID, err = r.Header.MessageID(); err != nil {
		return m, fmt.Errorf("message-id: %w", err)
	}
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil && !message.IsUnknownCharset(err) {
			return m, err
		}
		h, ok := p.Header.(*mail.InlineHeader)
		if !ok {
			continue
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			return m, err
		}
		text := strings.ReplaceAll(string(body), "\r\n", "\n")
		switch t, _, _ := h.ContentType(); t {
		case "text/plain", "":
			m.Text = text
		case "text/html":
			m.HTML = text
		}
	}
	return m, nil
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("smtptest: key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("smtptest: certificate: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("smtptest: certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
