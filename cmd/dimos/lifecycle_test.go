package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"dimos"
	"dimos/notify"
	"dimos/protocol"
	"dimos/workflows"
)

// TestCertificateLifecycle follows a certificate application through the real parts:
// the protocol registry is down when it arrives (the citizen is told registration is
// pending), the worker is restarted meanwhile, the registry recovers (the citizen is
// told the protocol number), the case is auto-assigned to a clerk, who completes it.
// Exactly these mails and SMS go out, once each, and the case has one protocol number.
func TestCertificateLifecycle(t *testing.T) {
	srv := startTemporal(t, 0)
	s := newStack(t, srv.FrontendAddr(), false)
	ctx := context.Background()
	s.registry.SetMode(protocol.Mode{Name: protocol.ModeFail})
	firstWorker, err := startWorkerWhenReady(ctx, s.tc, s.db, s.out, s.cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}

	// Filed at the service desk for a citizen who came in person.
	c := &dimos.Case{Kind: dimos.KindCertificate, CategoryCode: "cert-birth", Channel: dimos.ChannelDesk,
		Subject: "Πιστοποιητικό γέννησης", Text: "Για εγγραφή σε σχολείο.", Lang: "el",
		Contact: dimos.Contact{FirstName: "Ελένη", LastName: "Παππά", Email: "eleni@example.gr", Phone: "6900000000"}}
	if err := s.db.SubmitCase(ctx, c); err != nil {
		t.Fatal(err)
	}
	d := workflows.Dispatcher{Client: s.tc, Directory: s.db, ReopenDays: 15}

	eventually(t, 30*time.Second, "the citizen told that registration is pending", func() bool {
		return hasKey(s.sms.Messages(), c.Number+"/protocol_pending/citizen")
	})
	if st, err := d.State(ctx, c.Number); err != nil || st.Stage != dimos.StageAwaitingProtocol || !st.ProtocolFailed {
		t.Fatalf("while the registry is down: %+v %v", st, err)
	}
	// A worker crash while the case waits loses nothing.
	firstWorker.Stop()
	s.startWorker()
	s.registry.SetMode(protocol.Mode{Name: protocol.ModeOK})

	clerk1, _ := s.db.EmployeeByUsername(ctx, "registry.clerk1")
	eventually(t, 60*time.Second, "the case registered and auto-assigned", func() bool {
		cs, err := s.db.CaseByNumber(ctx, c.Number)
		return err == nil && cs.Stage == dimos.StageAssigned && cs.Protocol.Number != ""
	})
	cs, _ := s.db.CaseByNumber(ctx, c.Number)
	if cs.AssigneeID != clerk1.ID {
		t.Fatalf("assigned to %d, want the least-loaded clerk %d", cs.AssigneeID, clerk1.ID)
	}
	if regs := s.registry.Registrations(); len(regs) != 1 || regs[c.Number].Number != cs.Protocol.Number {
		t.Fatalf("registry holds %+v, case has %s", regs, cs.Protocol.Number)
	}
	if s.registry.Attempts() < 4 {
		t.Fatalf("%d registration attempts: the registry was down for the first three", s.registry.Attempts())
	}

	by := dimos.Actor{EmployeeID: clerk1.ID, Role: dimos.RoleClerk, ServiceID: clerk1.ServiceID}
	due := time.Now().Add(72 * time.Hour).Truncate(time.Minute)
	if _, err := d.Update(ctx, c.Number, workflows.UpdateSetDueDate, workflows.DueDateRequest{By: by, Due: due}); err != nil {
		t.Fatal(err)
	}
	t.Run("ErrRefusedUpdateComesBackTranslatable", func(t *testing.T) {
		_, err := d.Update(ctx, c.Number, workflows.UpdateComplete, workflows.CompleteRequest{By: by, Answer: " "})
		var de *dimos.Error
		if !errors.As(err, &de) || de.Code != dimos.EINVALID || de.Key != "field.answer.required" {
			t.Fatalf("got %v", err)
		}
	})
	if _, err := d.Update(ctx, c.Number, workflows.UpdateComplete, workflows.CompleteRequest{By: by, Answer: "Το πιστοποιητικό εκδόθηκε· παραλαβή από το ΚΕΠ."}); err != nil {
		t.Fatal(err)
	}

	n := c.Number
	wantCitizen := []string{n + "/received/citizen", n + "/protocol_pending/citizen", n + "/protocol_registered/citizen",
		n + "/assigned/4/citizen", n + "/completed/6/citizen"}
	var dueKey string
	eventually(t, 30*time.Second, "every notification sent", func() bool {
		for _, m := range s.sms.Messages() {
			if strings.HasPrefix(m.Key, n+"/due_date/") {
				dueKey = m.Key
			}
		}
		return len(s.mail.Messages()) >= len(wantCitizen)+2 && dueKey != "" && len(s.sms.Messages()) >= len(wantCitizen)+1
	})
	time.Sleep(500 * time.Millisecond) // anything extra would arrive now
	wantSMS := append(slices.Clone(wantCitizen), dueKey)
	wantMail := append(slices.Clone(wantSMS), n+"/routed/3/director")

	var gotSMS []string
	for _, m := range s.sms.Messages() {
		gotSMS = append(gotSMS, m.Key)
		if m.To != "+306900000000" {
			t.Errorf("SMS to %s", m.To)
		}
	}
	if !sameSet(gotSMS, wantSMS) || s.sms.Duplicates() != 0 {
		t.Fatalf("SMS keys %v (duplicates %d), want %v", gotSMS, s.sms.Duplicates(), wantSMS)
	}
	ids := map[string]string{}
	for _, k := range wantMail {
		ids[notify.MessageID(k, "dimos.example")] = k
	}
	var gotMail []string
	for _, m := range s.mail.Messages() {
		k, ok := ids[m.MessageID]
		if !ok {
			t.Errorf("unexpected mail %q to %v", m.Subject, m.To)
			continue
		}
		gotMail = append(gotMail, k)
		want := "eleni@example.gr"
		if k == n+"/routed/3/director" {
			want = "a.dimitriou@dimos.example" // the director of the Civil Registry
		}
		if len(m.To) != 1 || m.To[0] != want {
			t.Errorf("mail %s went to %v, want %s", k, m.To, want)
		}
	}
	if !sameSet(gotMail, wantMail) {
		t.Fatalf("mails %v, want %v", gotMail, wantMail)
	}
	recordHistory(t, s.tc, workflows.WorkflowID(n), "certificate_lifecycle_local_notify")
	// M16: the mail of the assignment names the clerk, with phone and e-mail.
	for _, m := range s.mail.Messages() {
		if ids[m.MessageID] == n+"/assigned/4/citizen" {
			for _, want := range []string{clerk1.FullName, clerk1.Phone, clerk1.Email} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("assignment mail lacks %q:\n%s", want, m.Text)
				}
			}
		}
	}
}

func hasKey(msgs []dimos.SMS, key string) bool {
	for _, m := range msgs {
		if m.Key == key {
			return true
		}
	}
	return false
}

func sameSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// TestTargetsChangeReachOpenCases: an admin shortens a category's completion target;
// the open case's clock follows at once.
func TestTargetsChangeReachOpenCases(t *testing.T) {
	srv := startTemporal(t, 0)
	s := newStack(t, srv.FrontendAddr(), true)
	ctx := context.Background()
	number := s.submit(complaint)
	d := workflows.Dispatcher{Client: s.tc}
	eventually(t, 20*time.Second, "the case routed", func() bool {
		st, err := d.State(ctx, number)
		return err == nil && st.Stage == dimos.StageRouted
	})
	n, err := retarget(ctx, s.db, d, "potholes", dimos.Targets{AssignDays: 1, ResponseDays: 1, CompletionDays: 3, StatutoryDays: 50})
	if err != nil || n != 1 {
		t.Fatalf("told %d open cases, %v", n, err)
	}
	eventually(t, 10*time.Second, "the new target in the case's clock", func() bool {
		st, err := d.State(ctx, number)
		if err != nil {
			return false
		}
		for _, c := range st.Clocks {
			if c.Name == workflows.ClockCompletion {
				return c.Days == 3
			}
		}
		return false
	})
	cat, _ := s.db.CategoryByCode(ctx, "potholes")
	if cat.Targets.CompletionDays != 3 {
		t.Fatalf("stored targets %+v", cat.Targets)
	}
}

// TestPhoneRecordingReachesTheCase: a case filed on the phone line has its recorded
// message fetched from the provider by the workflow and attached, for the clerk.
func TestPhoneRecordingReachesTheCase(t *testing.T) {
	wav := append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), make([]byte, 256)...)
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(wav) })) //nolint:errcheck
	defer provider.Close()
	srv := startTemporal(t, 0)
	s := newStack(t, srv.FrontendAddr(), false)
	s.cfg.RecordingHosts = []string{"127.0.0.1"}
	s.startWorker()
	ctx := context.Background()
	c := &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "potholes", Channel: dimos.ChannelIVR, Anonymous: true,
		Subject: "Τηλεφωνική καταγγελία", Text: "Ηχογραφημένο μήνυμα."}
	if err := s.db.SubmitCase(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.db.SaveRecording(ctx, c.ID, provider.URL+"/Recordings/RE1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the recording attached", func() bool {
		atts, err := s.db.CaseAttachments(ctx, c.ID)
		return err == nil && len(atts) == 1 && atts[0].ContentType == "audio/wave"
	})
}
