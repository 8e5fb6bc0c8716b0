package workflows_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"dimos"
	"dimos/activities"
	"dimos/notify"
	"dimos/notify/smssim"
	"dimos/notify/smtptest"
	"dimos/postgres/pgtest"
	"dimos/workflows"
)

// TestMergedCitizenFollowsTheOriginal runs both workflows with the real activities
// on PostgreSQL, a real SMTP server and the SMS simulator: the duplicate is merged
// while the original is being worked, its citizen is told where their case went, and
// when the original is completed its answer reaches both citizens, once each by mail
// and by SMS.
func TestMergedCitizenFollowsTheOriginal(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	mail := smtptest.Start(t)
	sms := smssim.New("sms-token")
	smsSrv := httptest.NewServer(sms)
	t.Cleanup(smsSrv.Close)
	mailer, err := notify.NewSMTPMailer(notify.SMTPConfig{Addr: mail.Addr(), From: "noreply@dimos.example", StartTLS: notify.StartTLSNever})
	if err != nil {
		t.Fatal(err)
	}
	acts := &activities.Activities{Cases: db, Directory: db, Notifications: db, Merges: db, Mailer: mailer,
		SMS: notify.NewHTTPSMSGateway(smsSrv.URL+"/sms", "sms-token"), Municipality: "Δήμος Δοκιμών", PortalURL: "https://dimos.example"}

	file := func(at time.Time, subject string, contact dimos.Contact, lang string) *dimos.Case {
		c := &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "potholes", Channel: dimos.ChannelPortal,
			Subject: subject, Text: "Μεγάλη λακκούβα.", Contact: contact, Lang: lang, SubmittedAt: at}
		if err := db.SubmitCase(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	original := file(submitted, "Λακκούβα στην Εγνατίας", dimos.Contact{FirstName: "Ελένη", LastName: "Παππά", Email: "eleni@example.gr", Phone: "6900000000"}, "el")
	duplicate := file(submitted, "Pothole on Egnatia", dimos.Contact{FirstName: "John", LastName: "Smith", Email: "john@example.com", Phone: "6911111111"}, "en")
	route, err := db.RoutingFor(ctx, "potholes")
	if err != nil {
		t.Fatal(err)
	}
	director := dimos.Actor{EmployeeID: route.DirectorID, Role: dimos.RoleDirector, ServiceID: route.ServiceID}
	cat, err := db.CategoryByCode(ctx, "potholes")
	if err != nil {
		t.Fatal(err)
	}

	var suite testsuite.WorkflowTestSuite
	newEnv := func() *testsuite.TestWorkflowEnvironment {
		env := suite.NewTestWorkflowEnvironment()
		env.SetStartTime(submitted)
		// The real activities talk to PostgreSQL, SMTP and the SMS gateway; on a busy
		// machine one workflow task can take longer than the default second.
		env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
		env.RegisterActivity(acts)
		return env
	}
	updated := func(env *testsuite.TestWorkflowEnvironment, name string, req any) *outcome {
		out := &outcome{}
		env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { out.rejected = err },
			OnAccept:   func() { out.accepted = true },
			OnComplete: func(_ any, err error) { out.err = err },
		}, req)
		return out
	}

	clerkID, err := db.LeastLoadedClerk(ctx, route.ServiceID)
	if err != nil {
		t.Fatal(err)
	}
	clerk := dimos.Actor{EmployeeID: clerkID, Role: dimos.RoleClerk, ServiceID: route.ServiceID}

	// The duplicate is merged into the original, which has just arrived: its workflow
	// starts after (the test environment runs one workflow at a time).
	dupEnv := newEnv()
	var merge, assign, complete *outcome
	dupEnv.RegisterDelayedCallback(func() {
		merge = updated(dupEnv, workflows.UpdateMerge, workflows.MergeRequest{By: director,
			Original: workflows.MergeOriginal{Number: original.Number, CategoryCode: "potholes", Stage: dimos.StageReceived}})
	}, time.Hour)
	dupEnv.ExecuteWorkflow(workflows.CaseWorkflow, workflows.InputFor(duplicate, cat, 15))
	if err := dupEnv.GetWorkflowError(); err != nil {
		t.Fatalf("duplicate's workflow: %v", err)
	}

	// The original is routed, assigned and completed; each change its citizen hears
	// of, John hears of too.
	origEnv := newEnv()
	origEnv.RegisterDelayedCallback(func() {
		assign = updated(origEnv, workflows.UpdateAssign, workflows.AssignRequest{By: director, EmployeeID: clerkID})
	}, time.Hour)
	origEnv.RegisterDelayedCallback(func() {
		complete = updated(origEnv, workflows.UpdateComplete, workflows.CompleteRequest{By: clerk, Answer: "Επιστρώθηκε."})
	}, 3*time.Hour)
	origEnv.ExecuteWorkflow(workflows.CaseWorkflow, workflows.InputFor(original, cat, 1))
	if err := origEnv.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]*outcome{"merge": merge, "assign": assign, "complete": complete} {
		if o == nil || !o.accepted || o.err != nil {
			t.Fatalf("%s: %+v", name, o)
		}
	}

	dup, err := db.CaseByNumber(ctx, duplicate.Number)
	if err != nil {
		t.Fatal(err)
	}
	if dup.Stage != dimos.StageRejected {
		t.Errorf("duplicate in stage %s, want rejected", dup.Stage)
	}

	// John heard of his own case's receipt and merge, and then of the original's
	// receipt, assignment and completion: in English, under his name, once each.
	var johns []string
	for _, m := range mail.Messages() {
		if m.To[0] == "john@example.com" {
			johns = append(johns, m.Subject)
			if strings.Contains(m.Subject, "completed") && (!strings.Contains(m.Text, "John Smith") || !strings.Contains(m.Text, "Επιστρώθηκε.")) {
				t.Errorf("follower's completion mail:\n%s", m.Text)
			}
		}
	}
	want := []string{"registered with number " + duplicate.Number, "continues as case " + original.Number,
		"registered with number " + original.Number, original.Number, "completed"}
	if len(johns) != len(want) {
		t.Fatalf("John's mails %q, want %d", johns, len(want))
	}
	for i, w := range want {
		if !strings.Contains(johns[i], w) {
			t.Errorf("John's mail %d: %q, want it to say %q", i, johns[i], w)
		}
	}
	var johnSMS int
	for _, s := range sms.Messages() {
		if s.To == "+306911111111" {
			johnSMS++
		}
	}
	if johnSMS != len(want) || sms.Duplicates() != 0 {
		t.Errorf("John's SMS: %d (duplicates %d), want %d", johnSMS, sms.Duplicates(), len(want))
	}
	// Eleni's own notifications are unchanged: the receipt, the assignment, the answer.
	var elenis int
	for _, m := range mail.Messages() {
		if m.To[0] == "eleni@example.gr" {
			elenis++
		}
	}
	if elenis != 3 {
		t.Errorf("Eleni got %d mails, want 3", elenis)
	}
}
