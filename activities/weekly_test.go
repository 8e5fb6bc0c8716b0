package activities_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"dimos"
	"dimos/activities"
	"dimos/notify"
	"dimos/notify/smtptest"
	"dimos/postgres/pgtest"
)

// The weekly report goes out over a real SMTP connection, computed by PostgreSQL
// from a week of two cases of the demo municipality.
func TestMailWeeklyReport(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	srv := smtptest.Start(t)
	mailer, err := notify.NewSMTPMailer(notify.SMTPConfig{Addr: srv.Addr(), From: "noreply@dimos.example", StartTLS: notify.StartTLSNever})
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Athens")
	at := func(day, hour int) time.Time { return time.Date(2026, time.March, day, hour, 0, 0, 0, loc) }
	db.Now = func() time.Time { return at(30, 7) }
	tech, err := db.RoutingFor(ctx, "potholes")
	if err != nil {
		t.Fatal(err)
	}
	// Two potholes in the week of 23 March. The first is routed on Tuesday 24 at 10:00
	// and completed on Thursday 26 at 16:00: 31h of working time across the holiday of
	// Wednesday 25, 1.29 working days, shown as 1.2 (the 0.1-day bucket). The second
	// stays open.
	for i, c := range []*dimos.Case{newCaseAt(at(24, 9)), newCaseAt(at(27, 11))} {
		if err := db.SubmitCase(ctx, c); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			for seq, st := range []dimos.Stage{dimos.StageRouted, dimos.StageCompleted} {
				when := []time.Time{at(24, 10), at(26, 16)}[seq]
				if err := db.RecordTransition(ctx, dimos.Transition{CaseID: c.ID, Seq: seq + 2, Stage: st, At: when,
					ServiceID: tech.ServiceID, EmployeeID: tech.DirectorID, Event: dimos.CaseEvent{Type: string(st)}}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	acts := &activities.Activities{Directory: db, Notifications: db, Mailer: mailer, Reports: db,
		Municipality: "Δήμος Δοκιμών", ConsoleURL: "https://dimos.example/console"}
	in := activities.WeeklyReportInput{From: at(23, 0), To: at(30, 0)}

	res, err := acts.MailWeeklyReport(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Managers != 1 || res.Sent != 1 {
		t.Fatalf("result %+v: the demo has one manager", res)
	}
	msgs := srv.WaitFor(1, 5*time.Second)
	m := msgs[0]
	if len(m.To) != 1 || m.To[0] != "i.raptopoulou@dimos.example" {
		t.Errorf("to %v", m.To)
	}
	if m.Subject != "Εβδομαδιαία αναφορά καθυστερήσεων 23/03–29/03/2026 · Weekly delay report 23/03–29/03/2026" {
		t.Errorf("subject %q", m.Subject)
	}
	el, en := strings.Index(m.Text, "Η αναφορά καθυστερήσεων της εβδομάδας"), strings.Index(m.Text, "The delay report of the week")
	if el < 0 || en < el {
		t.Errorf("Greek first, then English:\n%s", m.Text)
	}
	// Technical Services: received 1 (the open case is not routed yet), completed 1,
	// median and p90 1,2, 100% within target (1.29 ≤ 10), none overdue; the total
	// counts both cases.
	for _, want := range []string{
		"Τεχνικές Υπηρεσίες                     | 1            | 1             | 1,2",
		"Technical Services          | 1        | 1         | 1.2",
		"Στον διευθυντή της υπηρεσίας — Τεχνικές Υπηρεσίες: διάμεσος 1,2 εργάσιμες ημέρες (επισκέψεις: 1)",
		"Υποθέσεις που πήγαν πέρα-δώθε: 0",
		"https://dimos.example/console/reports?from=2026-03-23&to=2026-03-29",
	} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	for _, want := range []string{
		"<tr><th>Τεχνικές Υπηρεσίες</th><td>1</td><td>1</td><td>1,2</td><td>1,2</td><td>100%</td><td>0</td></tr>",
		"<tr><th>Χωρίς υπηρεσία (δεν έχει δρομολογηθεί)</th><td>1</td><td>0</td><td></td><td></td><td>—</td><td>0</td></tr>",
		"<tr><th>Technical Services</th><td>1</td><td>1</td><td>1.2</td><td>1.2</td><td>100%</td><td>0</td></tr>",
		"<th>Σύνολο</th><td>2</td><td>1</td>",
	} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
		}
	}

	// A retry after a lost reply sends nothing again.
	res, err = acts.MailWeeklyReport(ctx, in)
	if err != nil || res.Sent != 0 {
		t.Fatalf("retry: %+v, %v", res, err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d mails after the retry", n)
	}
}

func newCaseAt(at time.Time) *dimos.Case {
	return &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "potholes", Channel: dimos.ChannelPortal,
		Subject: "Λακκούβα", Text: "Μεγάλη λακκούβα.", SubmittedAt: at,
		Contact: dimos.Contact{FirstName: "Ελένη", LastName: "Παππά", Email: "eleni@example.gr"}}
}
