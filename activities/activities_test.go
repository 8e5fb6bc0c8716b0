package activities_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"dimos"
	"dimos/activities"
	"dimos/notify"
	"dimos/notify/smssim"
	"dimos/notify/smtptest"
	"dimos/postgres"
	"dimos/postgres/pgtest"
	"dimos/protocol"
)

// The activities against the real things: PostgreSQL, an SMTP server, the SMS gateway
// simulator and the protocol registry simulator, all over loopback.
type rig struct {
	db       *postgres.DB
	acts     *activities.Activities
	mail     *smtptest.Server
	sms      *smssim.Simulator
	registry *protocol.Simulator
	c        *dimos.Case
}

func newRig(t *testing.T) *rig {
	r := &rig{db: pgtest.New(t, true), mail: smtptest.Start(t), sms: smssim.New("sms-token"),
		registry: protocol.NewSimulator("reg-token", time.Now)}
	smsSrv := httptest.NewServer(r.sms)
	t.Cleanup(smsSrv.Close)
	regSrv := httptest.NewServer(r.registry)
	t.Cleanup(regSrv.Close)
	mailer, err := notify.NewSMTPMailer(notify.SMTPConfig{Addr: r.mail.Addr(), From: "noreply@dimos.example", StartTLS: notify.StartTLSNever})
	if err != nil {
		t.Fatal(err)
	}
	r.acts = &activities.Activities{Cases: r.db, Directory: r.db, Notifications: r.db, Mailer: mailer,
		SMS: notify.NewHTTPSMSGateway(smsSrv.URL+"/sms", "sms-token"), Protocol: protocol.NewClient(regSrv.URL, "reg-token", nil),
		Municipality: "Δήμος Δοκιμών", PortalURL: "https://dimos.example"}
	r.c = &dimos.Case{Kind: dimos.KindCertificate, CategoryCode: "cert-birth", Channel: dimos.ChannelDesk, Subject: "Πιστοποιητικό γέννησης",
		Text: "Για το σχολείο.", Lang: "el", Contact: dimos.Contact{FirstName: "Ελένη", LastName: "Παππά", Email: "eleni@example.gr", Phone: "6900000000"}}
	if err := r.db.SubmitCase(context.Background(), r.c); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNotify(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	in := activities.NotifyInput{CaseID: r.c.ID, Number: r.c.Number, Event: notify.EventCaseReceived, Key: "received", To: activities.ToCitizen}

	t.Run("OncePerEventAndChannel", func(t *testing.T) {
		for range 3 { // the activity retried after a lost reply
			if err := r.acts.Notify(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		msgs := r.mail.Messages()
		if len(msgs) != 1 || msgs[0].To[0] != "eleni@example.gr" || msgs[0].MessageID != notify.MessageID(r.c.Number+"/received/citizen", "dimos.example") {
			t.Fatalf("mails %+v", msgs)
		}
		if sms := r.sms.Messages(); len(sms) != 1 || sms[0].To != "+306900000000" || r.sms.Duplicates() != 0 {
			t.Fatalf("SMS %+v (duplicates %d)", sms, r.sms.Duplicates())
		}
	})

	t.Run("RetriedWhileTheMailServerFails", func(t *testing.T) {
		in := in
		in.Event, in.Key = notify.EventProtocolPending, "protocol_pending"
		r.mail.SetFailing(451)
		if err := r.acts.Notify(ctx, in); err == nil {
			t.Fatal("a temporary SMTP failure must be returned, so the activity retries")
		}
		// The mail server's outage does not hold up the SMS.
		if n := len(r.sms.Messages()); n != 2 {
			t.Fatalf("%d SMS while the mail server fails, want 2", n)
		}
		r.mail.SetFailing(0)
		if err := r.acts.Notify(ctx, in); err != nil {
			t.Fatal(err)
		}
		if n := len(r.mail.Messages()); n != 2 {
			t.Fatalf("%d mails, want 2", n)
		}
		if n, d := len(r.sms.Messages()), r.sms.Duplicates(); n != 2 || d != 0 {
			t.Fatalf("%d SMS, %d duplicates after the retry, want 2 and none", n, d)
		}
	})

	t.Run("PermanentRefusalIsNotRetried", func(t *testing.T) {
		in := in
		in.Event, in.Key, in.Comment = notify.EventComment, "comment/1", "Θα σας καλέσουμε."
		r.mail.Refuse("eleni@example.gr", 550)
		defer r.mail.Refuse("eleni@example.gr", 0)
		if err := r.acts.Notify(ctx, in); err != nil {
			t.Fatalf("a refused address cannot get better by retrying: %v", err)
		}
	})

	t.Run("DirectorGetsTheFacts", func(t *testing.T) {
		route, _ := r.db.RoutingFor(ctx, "cert-birth")
		if err := r.db.RecordTransition(ctx, dimos.Transition{CaseID: r.c.ID, Seq: 2, Stage: dimos.StageRouted, At: time.Now(),
			ServiceID: route.ServiceID, EmployeeID: route.DirectorID, Event: dimos.CaseEvent{Type: "routed"}}); err != nil {
			t.Fatal(err)
		}
		before := len(r.mail.Messages())
		err := r.acts.Notify(ctx, activities.NotifyInput{CaseID: r.c.ID, Number: r.c.Number, Event: notify.EventCaseRoutedDirector, Key: "routed/2", To: activities.ToDirector})
		if err != nil {
			t.Fatal(err)
		}
		msgs := r.mail.Messages()
		if len(msgs) != before+1 || msgs[len(msgs)-1].To[0] != "a.dimitriou@dimos.example" {
			t.Fatalf("director mail: %+v", msgs[before:])
		}
		// received, protocol_pending and the comment (its mail was refused, its SMS
		// went); staff get no SMS.
		if len(r.sms.Messages()) != 3 {
			t.Fatalf("SMS %d", len(r.sms.Messages()))
		}
	})

	t.Run("SentIsRecordedThroughADatabaseBlip", func(t *testing.T) {
		// The mail goes out, then the database fails for a moment: the record is
		// retried within the activity, so its retry does not send the mail again.
		flaky := &flakyMarks{NotificationLog: r.db, fails: 2}
		acts := *r.acts
		acts.Notifications = flaky
		in := in
		in.Event, in.Key, in.Comment = notify.EventComment, "comment/blip", "Ελέγχουμε."
		before := len(r.mail.Messages())
		if err := acts.Notify(ctx, in); err != nil {
			t.Fatal(err)
		}
		if err := acts.Notify(ctx, in); err != nil { // a retry after all
			t.Fatal(err)
		}
		if n := len(r.mail.Messages()) - before; n != 1 || flaky.fails != 0 {
			t.Fatalf("%d mails, %d record failures left; want 1 and 0", n, flaky.fails)
		}
	})

	t.Run("ConcurrentRunsSendOnce", func(t *testing.T) {
		// A local try the workflow gave up on (its few seconds ran out) may still be
		// sending when the activity that took over runs the same notification: in
		// one process the two take turns, and the second finds the first's record.
		in := in
		in.Event, in.Key, in.Comment = notify.EventComment, "comment/concurrent", "Ερχόμαστε."
		mails, sms := len(r.mail.Messages()), len(r.sms.Messages())
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() { errs <- r.acts.Notify(ctx, in) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if m, s, d := len(r.mail.Messages())-mails, len(r.sms.Messages())-sms, r.sms.Duplicates(); m != 1 || s != 1 || d != 0 {
			t.Fatalf("%d mails, %d SMS, %d duplicate SMS; want 1, 1, 0", m, s, d)
		}
	})

	t.Run("SentIsRecordedAfterTheCallerGaveUp", func(t *testing.T) {
		// The local try's deadline passes just after the mail went out: the record
		// is still written, so the activity that takes over sends nothing again.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		late := &flakyMarks{NotificationLog: r.db, fails: 1, onFail: cancel}
		acts := *r.acts
		acts.Notifications = late
		in := in
		in.Event, in.Key, in.Comment = notify.EventComment, "comment/late", "Σήμερα."
		mails, sms := len(r.mail.Messages()), len(r.sms.Messages())
		acts.Notify(cctx, in) //nolint:errcheck // cut short: it may fail, as the local try does
		if err := r.acts.Notify(ctx, in); err != nil {
			t.Fatal(err)
		}
		if m, s := len(r.mail.Messages())-mails, len(r.sms.Messages())-sms; m != 1 || s != 1 || r.sms.Duplicates() != 0 {
			t.Fatalf("%d mails, %d SMS (duplicates %d); want 1 and 1", m, s, r.sms.Duplicates())
		}
	})

	t.Run("AnonymousCaseTellsNobody", func(t *testing.T) {
		anon := &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "potholes", Channel: dimos.ChannelPortal, Subject: "s", Text: "t", Anonymous: true}
		if err := r.db.SubmitCase(ctx, anon); err != nil {
			t.Fatal(err)
		}
		before := len(r.mail.Messages())
		if err := r.acts.Notify(ctx, activities.NotifyInput{CaseID: anon.ID, Number: anon.Number, Event: notify.EventCaseReceived, Key: "received", To: activities.ToCitizen}); err != nil {
			t.Fatal(err)
		}
		if len(r.mail.Messages()) != before {
			t.Fatal("mail sent for an anonymous case")
		}
	})
}

func TestRegisterProtocol(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	in := activities.RegisterInput{CaseID: r.c.ID, Number: r.c.Number}

	r.registry.SetMode(protocol.Mode{Name: protocol.ModeFail})
	if _, err := r.acts.RegisterProtocol(ctx, in); dimos.ErrorCode(err) != dimos.EUNAVAILABLE {
		t.Fatalf("registry down: %v", err)
	}
	r.registry.SetMode(protocol.Mode{Name: protocol.ModeOK})
	first, err := r.acts.RegisterProtocol(ctx, in)
	if err != nil || first.Number == "" {
		t.Fatalf("%+v %v", first, err)
	}
	attempts := r.registry.Attempts()
	again, err := r.acts.RegisterProtocol(ctx, in)
	if err != nil || again.Number != first.Number || !again.Date.Equal(first.Date) {
		t.Fatalf("second registration %+v %v, want %+v", again, err, first)
	}
	if r.registry.Attempts() != attempts {
		t.Fatal("a registered case was sent to the registry again")
	}
	cs, _ := r.db.CaseByNumber(ctx, r.c.Number)
	if cs.Protocol.Number != first.Number {
		t.Fatalf("case holds %q", cs.Protocol.Number)
	}
}

func TestCheckAssignee(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	clerk, _ := r.db.EmployeeByUsername(ctx, "registry.clerk1")
	other, _ := r.db.EmployeeByUsername(ctx, "tech.clerk1")
	if e, err := r.acts.CheckAssignee(ctx, activities.AssigneeInput{ServiceID: clerk.ServiceID, EmployeeID: clerk.ID}); err != nil || e.ID != clerk.ID || e.PasswordHash != "" {
		t.Fatalf("%+v %v", e, err)
	}
	if _, err := r.acts.CheckAssignee(ctx, activities.AssigneeInput{ServiceID: clerk.ServiceID, EmployeeID: other.ID}); err == nil {
		t.Fatal("a clerk of another service was accepted")
	}
}

// flakyMarks fails its first records of a sent notification, as a database that
// restarts would.
type flakyMarks struct {
	dimos.NotificationLog
	fails  int
	onFail func() // if set, called at each failure
}

func (f *flakyMarks) MarkNotificationSent(ctx context.Context, key, channel, recipient string, at time.Time) error {
	if f.fails > 0 {
		f.fails--
		if f.onFail != nil {
			f.onFail()
		}
		return errors.New("conn closed")
	}
	return f.NotificationLog.MarkNotificationSent(ctx, key, channel, recipient, at)
}

// recordings is a RecordingStore in memory: the telephony side is not this test's.
type recordings map[int64]string

func (r recordings) SaveRecording(_ context.Context, id int64, url string) error {
	r[id] = url
	return nil
}
func (r recordings) RecordingOf(_ context.Context, id int64) (string, error)   { return r[id], nil }
func (r recordings) CaseWithRecording(context.Context, string) (string, error) { return "", nil }

func TestFetchRecording(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	wav := append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), make([]byte, 64)...)
	fails := 1
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case req.URL.Path == "/missing":
			http.NotFound(w, req)
		case fails > 0:
			fails--
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			w.Write(wav) //nolint:errcheck
		}
	}))
	defer provider.Close()
	recs := recordings{r.c.ID: provider.URL + "/rec1"}
	r.acts.Recordings, r.acts.Attachments, r.acts.RecordingHosts = recs, r.db, []string{"127.0.0.1"}
	in := activities.FetchInput{CaseID: r.c.ID, Number: r.c.Number}

	if err := r.acts.FetchRecording(ctx, in); err == nil {
		t.Fatal("a 503 from the provider must be retried")
	}
	for range 2 { // the second run finds it attached already
		if err := r.acts.FetchRecording(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	atts, _ := r.db.CaseAttachments(ctx, r.c.ID)
	if len(atts) != 1 || atts[0].ContentType != "audio/wave" || atts[0].Name != "recording-"+r.c.Number+".wav" {
		t.Fatalf("attachments %+v", atts)
	}
	t.Run("ErrHostNotAllowed", func(t *testing.T) {
		recs[r.c.ID] = "http://169.254.169.254/latest/meta-data"
		if err := r.acts.FetchRecording(ctx, in); !temporal.IsApplicationError(err) {
			t.Fatalf("got %v, want a non-retryable refusal", err)
		}
	})
	t.Run("ErrMissingIsNotRetried", func(t *testing.T) {
		recs[r.c.ID] = provider.URL + "/missing"
		var appErr *temporal.ApplicationError
		if err := r.acts.FetchRecording(ctx, in); !errors.As(err, &appErr) || !appErr.NonRetryable() {
			t.Fatalf("got %v", err)
		}
	})
}
