package mailsink_test

import (
	"context"
	"log/slog"
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
