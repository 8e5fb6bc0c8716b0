package smtptest

import (
	"net/smtp"
	"strings"
	"testing"
	"time"
)

func TestServer(t *testing.T) {
	t.Run("DecodesLegacyGreekCharset", func(t *testing.T) {
		s := Start(t)
		// "Καλημέρα" in ISO-8859-7, quoted-printable, as old mail clients send it.
		raw := "From: a@example.gr\r\nTo: b@example.gr\r\n" +
			"Subject: =?iso-8859-7?Q?=CA=E1=EB=E7=EC=DD=F1=E1?=\r\n" +
			"Message-ID: <id1@example.gr>\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: text/plain; charset=iso-8859-7\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
			"=CA=E1=EB=E7=EC=DD=F1=E1\r\n"
		if err := smtp.SendMail(s.Addr(), nil, "a@example.gr", []string{"b@example.gr"}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
		m := s.WaitFor(1, 5*time.Second)[0]
		if m.Subject != "Καλημέρα" || m.Text != "Καλημέρα\n" || m.MessageID != "id1@example.gr" {
			t.Fatalf("subject %q text %q id %q", m.Subject, m.Text, m.MessageID)
		}
	})

	t.Run("ErrFailing", func(t *testing.T) {
		s := Start(t)
		s.SetFailing(451)
		err := smtp.SendMail(s.Addr(), nil, "a@example.gr", []string{"b@example.gr"}, []byte("Subject: x\r\n\r\nx\r\n"))
		if err == nil || !strings.HasPrefix(err.Error(), "451") {
			t.Fatalf("got %v, want 451", err)
		}
		if len(s.Messages()) != 0 {
			t.Fatal("stored a refused message")
		}
	})
}
