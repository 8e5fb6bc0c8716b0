package notify

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"dimos"
	"dimos/notify/smtptest"
)

const wait = 5 * time.Second

func newMailer(t *testing.T, cfg SMTPConfig) *SMTPMailer {
	t.Helper()
	if cfg.From == "" {
		cfg.From = "noreply@agiosnikolaos.gr"
	}
	if cfg.FromName == "" {
		cfg.FromName = "Δήμος Αγίου Νικολάου"
	}
	m, err := NewSMTPMailer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Now = func() time.Time { return time.Date(2026, 3, 3, 8, 15, 0, 0, time.UTC) }
	return m
}

func greekMail(key string) dimos.Mail {
	return dimos.Mail{
		To:      []string{"citizen@example.gr"},
		Subject: "Η αίτησή σας 2026-000123 ολοκληρώθηκε — «ευχαριστούμε»",
		Text: "Αγαπητή/έ Γεώργιος Κωνσταντινίδης,\n\nΗ απάντηση του Δήμου:\nΗ λακκούβα επισκευάστηκε. " +
			strings.Repeat("Μεγάλη γραμμή κειμένου χωρίς αλλαγή. ", 10) + "\n\nΜε εκτίμηση,\nΔήμος Αγίου Νικολάου\n",
		Key: key,
	}
}

func TestSMTPMailer(t *testing.T) {
	t.Run("GreekRoundTrip", func(t *testing.T) {
		srv := smtptest.Start(t)
		m := newMailer(t, SMTPConfig{Addr: srv.Addr(), StartTLS: StartTLSNever})
		mail := greekMail("case/2026-000123/completed")
		if err := m.SendMail(context.Background(), mail); err != nil {
			t.Fatal(err)
		}
		got := srv.WaitFor(1, wait)[0]
		if got.Subject != mail.Subject {
			t.Errorf("subject %q, want %q", got.Subject, mail.Subject)
		}
		if got.Text != mail.Text {
			t.Errorf("text:\n%q\nwant\n%q", got.Text, mail.Text)
		}
		if got.From != "noreply@agiosnikolaos.gr" || len(got.To) != 1 || got.To[0] != "citizen@example.gr" {
			t.Errorf("envelope from %q to %q", got.From, got.To)
		}
		from, err := got.Header.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Name != "Δήμος Αγίου Νικολάου" || from[0].Address != "noreply@agiosnikolaos.gr" {
			t.Errorf("From header %v (%v)", from, err)
		}
		if date, err := got.Header.Date(); err != nil || !date.Equal(m.Now()) {
			t.Errorf("Date header %v (%v)", date, err)
		}
		if ct, params, _ := got.Header.ContentType(); ct != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
			t.Errorf("content type %s %v", ct, params)
		}
		// Everything on the wire is 7-bit: encoded words in the header, quoted-printable
		// in the body, and no line longer than RFC 5322 allows.
		for i, line := range strings.Split(string(got.Raw), "\r\n") {
			if len(line) > 998 {
				t.Errorf("line %d is %d octets", i, len(line))
			}
			for _, b := range []byte(line) {
				if b > 127 {
					t.Fatalf("8-bit octet on line %d: %q", i, line)
				}
			}
		}
		if !strings.Contains(string(got.Raw), "Subject: =?utf-8?") {
			t.Errorf("subject not RFC 2047 encoded:\n%s", got.Raw)
		}
	})

	t.Run("MessageIDFromKey", func(t *testing.T) {
		srv := smtptest.Start(t)
		m := newMailer(t, SMTPConfig{Addr: srv.Addr()})
		for _, key := range []string{"case/1/received", "case/1/received", "case/1/completed"} {
			if err := m.SendMail(context.Background(), greekMail(key)); err != nil {
				t.Fatal(err)
			}
		}
		got := srv.WaitFor(3, wait)
		if got[0].MessageID != got[1].MessageID {
			t.Errorf("same key, different Message-IDs %q %q", got[0].MessageID, got[1].MessageID)
		}
		if got[0].MessageID == got[2].MessageID {
			t.Errorf("different keys, same Message-ID %q", got[0].MessageID)
		}
		if want := MessageID("case/1/received", "agiosnikolaos.gr"); got[0].MessageID != want {
			t.Errorf("Message-ID %q, want %q", got[0].MessageID, want)
		}
		if id := got[0].MessageID; len(id) != 32+len("@agiosnikolaos.gr") {
			t.Errorf("Message-ID %q: want 32 hex digits", id)
		}
	})

	t.Run("MultipartWhenHTML", func(t *testing.T) {
		srv := smtptest.Start(t)
		m := newMailer(t, SMTPConfig{Addr: srv.Addr()})
		mail := greekMail("k")
		mail.HTML = "<p>Η απάντηση του <b>Δήμου</b></p>\n"
		if err := m.SendMail(context.Background(), mail); err != nil {
			t.Fatal(err)
		}
		got := srv.WaitFor(1, wait)[0]
		if ct, _, _ := got.Header.ContentType(); ct != "multipart/alternative" {
			t.Errorf("content type %q", ct)
		}
		if got.Text != mail.Text || got.HTML != mail.HTML {
			t.Errorf("parts:\n%q\n%q", got.Text, got.HTML)
		}
	})

	t.Run("ErrTemporary", func(t *testing.T) {
		srv := smtptest.Start(t)
		m := newMailer(t, SMTPConfig{Addr: srv.Addr()})
		for _, fail := range []func(int){srv.SetFailing, srv.SetFailingData} {
			fail(451)
			err := m.SendMail(context.Background(), greekMail("k"))
			if err == nil || dimos.ErrorCode(err) == dimos.EINVALID {
				t.Fatalf("451: got %v, want a plain (retryable) error", err)
			}
			if !strings.Contains(err.Error(), "451") {
				t.Errorf("error %q does not say what the server said", err)
			}
			fail(0)
		}
		if len(srv.Messages()) != 0 {
			t.Fatalf("a message was accepted during the failure")
		}
		// The retry goes through once the server recovers.
		if err := m.SendMail(context.Background(), greekMail("k")); err != nil {
			t.Fatal(err)
		}
		srv.WaitFor(1, wait)
	})

	t.Run("ErrRejected", func(t *testing.T) {
		srv := smtptest.Start(t)
		m := newMailer(t, SMTPConfig{Addr: srv.Addr()})
		srv.SetFailing(550)
		err := m.SendMail(context.Background(), greekMail("k"))
		if dimos.ErrorCode(err) != dimos.EINVALID || dimos.ErrorKey(err) != "error.mail.rejected" {
			t.Fatalf("550 on RCPT: got %v, want EINVALID error.mail.rejected", err)
		}
		srv.SetFailing(0)
		srv.SetFailingData(554)
		if err := m.SendMail(context.Background(), greekMail("k")); dimos.ErrorCode(err) != dimos.EINVALID {
			t.Fatalf("554 on DATA: got %v, want EINVALID", err)
		}
		if len(srv.Messages()) != 0 {
			t.Fatalf("a refused message was stored")
		}
	})

	t.Run("ErrRejectedOneOfTwo", func(t *testing.T) {
		srv := smtptest.Start(t)
		m := newMailer(t, SMTPConfig{Addr: srv.Addr()})
		srv.Refuse("gone@example.gr", 550)
		mail := greekMail("k")
		mail.To = []string{"gone@example.gr", "director@agiosnikolaos.gr"}
		err := m.SendMail(context.Background(), mail)
		if dimos.ErrorCode(err) != dimos.EINVALID || !strings.Contains(err.Error(), "gone@example.gr") {
			t.Fatalf("got %v, want EINVALID naming the refused address", err)
		}
		got := srv.WaitFor(1, wait)[0]
		if len(got.To) != 1 || got.To[0] != "director@agiosnikolaos.gr" {
			t.Errorf("delivered to %v", got.To)
		}
	})

	t.Run("ErrBadAddress", func(t *testing.T) {
		srv := smtptest.Start(t)
		m := newMailer(t, SMTPConfig{Addr: srv.Addr()})
		for _, to := range [][]string{nil, {"not an address"}, {"x@example.gr\r\nRCPT TO:<y@example.gr>"}} {
			mail := greekMail("k")
			mail.To = to
			if err := m.SendMail(context.Background(), mail); dimos.ErrorCode(err) != dimos.EINVALID {
				t.Errorf("to %q: got %v, want EINVALID", to, err)
			}
		}
		if srv.Sessions() != 0 {
			t.Errorf("connected for a message that could never be sent")
		}
	})

	t.Run("ErrContextDeadline", func(t *testing.T) {
		// A server that accepts the connection and never says a word.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		m := newMailer(t, SMTPConfig{Addr: ln.Addr().String()})

		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = m.SendMail(ctx, greekMail("k"))
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("returned after %v, deadline was 300ms", took)
		}
		if !errors.Is(err, context.DeadlineExceeded) || dimos.ErrorCode(err) == dimos.EINVALID {
			t.Errorf("got %v, want a retryable deadline error", err)
		}

		// A cancelled context ends the wait too, and so does the configured timeout.
		ctx, cancel = context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		if err := m.SendMail(ctx, greekMail("k")); !errors.Is(err, context.Canceled) {
			t.Errorf("cancel: got %v", err)
		}
		m = newMailer(t, SMTPConfig{Addr: ln.Addr().String(), Timeout: 200 * time.Millisecond})
		start = time.Now()
		if err := m.SendMail(context.Background(), greekMail("k")); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Errorf("config timeout: got %v after %v", err, time.Since(start))
		}
	})

	t.Run("ErrNoServer", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		m := newMailer(t, SMTPConfig{Addr: addr})
		if err := m.SendMail(context.Background(), greekMail("k")); err == nil || dimos.ErrorCode(err) == dimos.EINVALID {
			t.Errorf("got %v, want a retryable error", err)
		}
	})

	t.Run("StartTLSAndAuth", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.WithTLS(), smtptest.WithAuth("dimos", "s3cret"))
		m := newMailer(t, SMTPConfig{Addr: srv.Addr(), StartTLS: StartTLSAlways, TLSConfig: srv.ClientTLS(),
			Username: "dimos", Password: "s3cret", HeloName: "worker.agiosnikolaos.gr"})
		if err := m.SendMail(context.Background(), greekMail("k")); err != nil {
			t.Fatal(err)
		}
		got := srv.WaitFor(1, wait)[0]
		if !got.TLS || got.AuthUser != "dimos" {
			t.Errorf("tls=%v auth=%q", got.TLS, got.AuthUser)
		}
	})

	t.Run("StartTLSAutoUpgrades", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.WithTLS())
		m := newMailer(t, SMTPConfig{Addr: srv.Addr(), TLSConfig: srv.ClientTLS()})
		if err := m.SendMail(context.Background(), greekMail("k")); err != nil {
			t.Fatal(err)
		}
		if got := srv.WaitFor(1, wait)[0]; !got.TLS {
			t.Errorf("auto did not upgrade to TLS")
		}
	})

	t.Run("ErrStartTLSUntrusted", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.WithTLS())
		m := newMailer(t, SMTPConfig{Addr: srv.Addr()}) // system roots: the test certificate is not trusted
		if err := m.SendMail(context.Background(), greekMail("k")); err == nil || dimos.ErrorCode(err) == dimos.EINVALID {
			t.Fatalf("got %v, want a retryable TLS error", err)
		}
		if len(srv.Messages()) != 0 {
			t.Errorf("sent in the clear after a failed STARTTLS")
		}
	})

	t.Run("ErrStartTLSRequired", func(t *testing.T) {
		srv := smtptest.Start(t)
		m := newMailer(t, SMTPConfig{Addr: srv.Addr(), StartTLS: StartTLSAlways})
		if err := m.SendMail(context.Background(), greekMail("k")); err == nil || dimos.ErrorCode(err) == dimos.EINVALID {
			t.Fatalf("got %v, want a retryable error", err)
		}
		if len(srv.Messages()) != 0 {
			t.Errorf("sent without TLS although it was required")
		}
	})

	t.Run("AuthOnLoopbackWithoutTLS", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.WithAuth("dimos", "s3cret"))
		m := newMailer(t, SMTPConfig{Addr: srv.Addr(), StartTLS: StartTLSNever, Username: "dimos", Password: "s3cret"})
		if err := m.SendMail(context.Background(), greekMail("k")); err != nil {
			t.Fatal(err)
		}
		if got := srv.WaitFor(1, wait)[0]; got.TLS || got.AuthUser != "dimos" {
			t.Errorf("tls=%v auth=%q", got.TLS, got.AuthUser)
		}
		m = newMailer(t, SMTPConfig{Addr: srv.Addr(), StartTLS: StartTLSNever, Username: "dimos", Password: "wrong"})
		if err := m.SendMail(context.Background(), greekMail("k")); err == nil || dimos.ErrorCode(err) == dimos.EINVALID {
			t.Errorf("wrong password: got %v, want a retryable error", err)
		}
	})

	t.Run("AuthNeedsTLSOffLoopback", func(t *testing.T) {
		for _, c := range []struct {
			secure bool
			remote net.Addr
			want   bool
		}{
			{false, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25}, true},
			{false, &net.TCPAddr{IP: net.IPv6loopback, Port: 25}, true},
			{false, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 587}, false},
			{true, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 587}, true},
		} {
			if got := authAllowed(c.secure, c.remote); got != c.want {
				t.Errorf("tls=%v remote=%v: got %v", c.secure, c.remote, got)
			}
		}
	})

	t.Run("ErrConfig", func(t *testing.T) {
		for _, cfg := range []SMTPConfig{
			{Addr: "localhost", From: "a@b.gr"},
			{Addr: "localhost:25", From: "Δήμος <a@b.gr>"},
			{Addr: "localhost:25", From: "a@b.gr", StartTLS: "sometimes"},
		} {
			if _, err := NewSMTPMailer(cfg); err == nil {
				t.Errorf("%+v: no error", cfg)
			}
		}
	})
}
