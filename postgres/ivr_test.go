package postgres_test

import (
	"context"
	"testing"

	"dimos"
	"dimos/postgres/pgtest"
)

func TestRecordings(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	cs := &dimos.Case{Kind: dimos.KindComplaint, CategoryCode: "potholes", Channel: dimos.ChannelIVR,
		Subject: "Τηλεφωνικό μήνυμα", Text: "Ηχογραφημένο μήνυμα.", Anonymous: true, Lang: "el"}
	if err := db.SubmitCase(ctx, cs); err != nil {
		t.Fatal(err)
	}
	if u, err := db.RecordingOf(ctx, cs.ID); err != nil || u != "" {
		t.Fatalf("before: %q, %v", u, err)
	}
	if err := db.SaveRecording(ctx, cs.ID, "https://api.twilio.com/rec/RE1"); err != nil {
		t.Fatal(err)
	}
	t.Run("SameAgain", func(t *testing.T) {
		if err := db.SaveRecording(ctx, cs.ID, "https://api.twilio.com/rec/RE1"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrOtherURL", func(t *testing.T) {
		if err := db.SaveRecording(ctx, cs.ID, "https://api.twilio.com/rec/RE2"); dimos.ErrorCode(err) != dimos.ECONFLICT {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ErrUnknownCase", func(t *testing.T) {
		if err := db.SaveRecording(ctx, cs.ID+1000, "https://x.example/r"); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ErrEmptyURL", func(t *testing.T) {
		other := *cs
		other.ID = 0
		if err := db.SubmitCase(ctx, &other); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveRecording(ctx, other.ID, ""); dimos.ErrorCode(err) != dimos.EINVALID {
			t.Fatalf("got %v", err)
		}
	})
	if u, err := db.RecordingOf(ctx, cs.ID); err != nil || u != "https://api.twilio.com/rec/RE1" {
		t.Fatalf("after: %q, %v", u, err)
	}
}
