package mailsink_test

import (
	"context"
	"io"
	"log/slog"
	"net/smtp"
	"testing"
	"time"

	"dimos"
	"dimos/notify"
	"dimos/notify/mailsink"
)

func TestSinkReceivesWhatTheMailerSends(t *testing.T) {
	sink, err := mailsink.Start("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	m, err := notify.NewSMTPMailer(notify.SMTPConfig{Addr: sink.Addr(), From: "noreply@dimos.example", StartTLS: notify.StartTLSNever})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.SendMail(ctx, dimos.Mail{To: []string{"eleni@example.gr"}, Subject: "Υπόθεση 2026-000001", Text: "Καλημέρα σας", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	got := sink.Messages()
	if len(got) != 1 || got[0].Subject != "Υπόθεση 2026-000001" || got[0].To[0] != "eleni@example.gr" || got[0].Text == "" {
		t.Fatalf("sink holds %+v", got)
	}
}

// A mail being handed over when the sink is closed is received before Close returns:
// closing its connection in the middle lost it, and made the SMTP library panic on
// the session the close had taken away.
func TestCloseLetsAMailInFlightFinish(t *testing.T) {
	sink, err := mailsink.Start("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.Dial(sink.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("noreply@dimos.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("eleni@example.gr"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "Subject: Case 2026-000001\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- sink.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) with a mail still being handed over", err)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := io.WriteString(w, "Kalimera\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("the mail in flight at Close: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close still waits after the last connection ended")
	}
	if got := sink.Messages(); len(got) != 1 || got[0].Subject != "Case 2026-000001" {
		t.Fatalf("sink holds %+v", got)
	}
}
