// Package mailsink is a mail-server simulator for `dimos dev`: a real SMTP server on
// loopback that accepts every message, logs who it was for and its subject, and keeps
// the latest ones in memory. It lets a newcomer see the mails dimos sends without a
// mail relay; it delivers nothing.
package mailsink

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	_ "github.com/emersion/go-message/charset" // decode the Greek charsets
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
)

// keep is how many messages the sink remembers.
const keep = 200

// Message is a mail the sink accepted.
type Message struct {
	At      time.Time
	To      []string
	Subject string
	Text    string
}

// Sink is a running mail sink.
type Sink struct {
	srv *smtp.Server
	ln  net.Listener
	log *slog.Logger

	mu   sync.Mutex
	msgs []Message
}

// Start listens on addr (e.g. 127.0.0.1:2525, or port 0 for any) and serves until
// Close.
func Start(addr string, log *slog.Logger) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Sink{ln: ln, log: log}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sink: s}, nil }))
	s.srv.Domain = "mailsink.local"
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	s.srv.MaxMessageBytes = 10 << 20
	go s.srv.Serve(ln) //nolint:errcheck // ends with Close
	return s, nil
}

// Addr is the host:port the sink listens on.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// closeGrace is how long Close waits for the mails being handed over.
const closeGrace = 5 * time.Second

// Close stops the server: it takes no new connection, and lets those open finish the
// mail they are handing over and quit, for up to closeGrace. Closing them in the
// middle of a mail lost it, and made the SMTP library panic on the session the close
// had taken away.
func (s *Sink) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// Messages returns the latest messages, oldest first.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

func (s *Sink) add(m Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	if len(s.msgs) > keep {
		s.msgs = s.msgs[len(s.msgs)-keep:]
	}
	s.mu.Unlock()
	s.log.Info("mail sink received a mail", "to", m.To, "subject", m.Subject)
}

type session struct {
	sink *Sink
	to   []string
}

func (*session) AuthPlain(string, string) error              { return nil }
func (*session) Mail(string, *smtp.MailOptions) error        { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *session) Reset()                                    { s.to = nil }
func (*session) Logout() error                               { return nil }
func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{At: time.Now(), To: s.to}
	if mr, err := mail.CreateReader(bytes.NewReader(raw)); err == nil {
		m.Subject, _ = mr.Header.Subject()
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if h, ok := p.Header.(*mail.InlineHeader); ok {
				if ct, _, _ := h.ContentType(); ct == "text/plain" {
					b, _ := io.ReadAll(p.Body)
					m.Text = string(b)
				}
			}
		}
	}
	s.sink.add(m)
	return nil
}
