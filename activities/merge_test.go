package activities_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"dimos"
	"dimos/activities"
	"dimos/notify"
)

// A citizen whose duplicate was merged into another case hears of that case's later
// changes as its own citizen does, in their own language and once per event and
// channel, however often the activity is retried.
func TestNotifyFollowers(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.acts.Merges = r.db
	original := &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "potholes", Channel: dimos.ChannelPortal,
		Subject: "Λακκούβα στην Εγνατίας", Text: "Μεγάλη.", Lang: "el",
		Contact: dimos.Contact{FirstName: "Ελένη", LastName: "Παππά", Email: "eleni@example.gr", Phone: "6900000000"}}
	duplicate := &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "potholes", Channel: dimos.ChannelPortal,
		Subject: "Pothole on Egnatia", Text: "Big one.", Lang: "en",
		Contact: dimos.Contact{FirstName: "John", LastName: "Smith", Email: "john@example.com", Phone: "6911111111"}}
	anonymous := &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "potholes", Channel: dimos.ChannelPortal,
		Subject: "Λακκούβα", Text: "Ανώνυμα.", Anonymous: true}
	for _, c := range []*dimos.Case{original, duplicate, anonymous} {
		if err := r.db.SubmitCase(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.db.Pool.Exec(ctx, `UPDATE cases SET stage = 'routed' WHERE id = ANY($1)`, []int64{original.ID, duplicate.ID, anonymous.ID}); err != nil {
		t.Fatal(err)
	}
	for _, dup := range []*dimos.Case{duplicate, anonymous} {
		err := r.acts.MergeCase(ctx, dimos.Merge{DuplicateID: dup.ID, OriginalNumber: original.Number, CategoryCode: "potholes", At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
	}

	in := activities.NotifyInput{CaseID: original.ID, Number: original.Number, Event: notify.EventCaseCompleted, Key: "completed/5", To: activities.ToCitizen}
	if _, err := r.db.Pool.Exec(ctx, `UPDATE cases SET answer = 'Επιστρώθηκε.' WHERE id = $1`, original.ID); err != nil {
		t.Fatal(err)
	}
	for range 3 { // retried after a lost reply
		if err := r.acts.Notify(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	msgs := r.mail.Messages()
	var to []string
	for _, m := range msgs {
		to = append(to, m.To...)
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"eleni@example.gr", "john@example.com"}) {
		t.Fatalf("mails to %v, want the citizen and the follower once each", to)
	}
	for _, m := range msgs {
		if m.To[0] != "john@example.com" {
			continue
		}
		if !strings.Contains(m.Text, "John Smith") || !strings.Contains(m.Text, original.Number) || !strings.Contains(m.Subject, "completed") {
			t.Errorf("follower's mail is not theirs, in English, about %s:\n%s\n%s", original.Number, m.Subject, m.Text)
		}
	}
	var phones []string
	for _, s := range r.sms.Messages() {
		phones = append(phones, s.To)
	}
	slices.Sort(phones)
	if !slices.Equal(phones, []string{"+306900000000", "+306911111111"}) || r.sms.Duplicates() != 0 {
		t.Fatalf("SMS to %v (duplicates %d)", phones, r.sms.Duplicates())
	}

	t.Run("MergeRefusalIsFinal", func(t *testing.T) {
		err := r.acts.MergeCase(ctx, dimos.Merge{DuplicateID: original.ID, OriginalNumber: original.Number, CategoryCode: "potholes", At: time.Now()})
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != dimos.EINVALID || appErr.Message() != "error.merge.self" {
			t.Fatalf("got %v, want a non-retryable error.merge.self", err)
		}
	})
}
