package notify

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"dimos"
	"dimos/notify/smssim"
)

func startSim(t *testing.T) (*smssim.Simulator, *httptest.Server) {
	t.Helper()
	sim := smssim.New("gateway-token")
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

func TestHTTPSMSGateway(t *testing.T) {
	sms := dimos.SMS{To: "+306912345678", Text: "Αίτημα 2026-000123: ολοκληρώθηκε.", Key: "case/2026-000123/completed"}

	t.Run("OK", func(t *testing.T) {
		sim, srv := startSim(t)
		g := NewHTTPSMSGateway(srv.URL+"/sms", "gateway-token")
		if err := g.SendSMS(context.Background(), sms); err != nil {
			t.Fatal(err)
		}
		if got := sim.Messages(); len(got) != 1 || got[0] != sms {
			t.Fatalf("simulator holds %+v, want %+v", got, sms)
		}
	})

	t.Run("DuplicateReferenceCountedOnce", func(t *testing.T) {
		sim, srv := startSim(t)
		g := NewHTTPSMSGateway(srv.URL+"/sms", "gateway-token")
		for range 3 {
			if err := g.SendSMS(context.Background(), sms); err != nil {
				t.Fatal(err)
			}
		}
		other := sms
		other.Key = "case/2026-000123/comment/1"
		if err := g.SendSMS(context.Background(), other); err != nil {
			t.Fatal(err)
		}
		if n, d := len(sim.Messages()), sim.Duplicates(); n != 2 || d != 2 {
			t.Fatalf("%d messages, %d duplicates; want 2 and 2", n, d)
		}
	})

	t.Run("ErrGatewayDown", func(t *testing.T) {
		sim, srv := startSim(t)
		g := NewHTTPSMSGateway(srv.URL+"/sms", "gateway-token")
		sim.SetMode(smssim.ModeFail)
		err := g.SendSMS(context.Background(), sms)
		if err == nil || dimos.ErrorCode(err) == dimos.EINVALID {
			t.Fatalf("got %v, want a retryable error", err)
		}
		// Switched back over HTTP, as `dimos dev` users do; the retry goes through.
		resp, err := http.Post(srv.URL+"/control", "application/json", bytes.NewBufferString(`{"mode":"ok"}`))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("control: %v %v", resp, err)
		}
		resp.Body.Close()
		if err := g.SendSMS(context.Background(), sms); err != nil {
			t.Fatal(err)
		}
		if len(sim.Messages()) != 1 {
			t.Fatalf("%d messages", len(sim.Messages()))
		}
	})

	t.Run("ErrRejected", func(t *testing.T) {
		sim, srv := startSim(t)
		g := NewHTTPSMSGateway(srv.URL+"/sms", "gateway-token")
		sim.SetMode(smssim.ModeReject)
		err := g.SendSMS(context.Background(), sms)
		if dimos.ErrorCode(err) != dimos.EINVALID || dimos.ErrorKey(err) != "error.sms.rejected" {
			t.Fatalf("got %v, want EINVALID error.sms.rejected", err)
		}
	})

	t.Run("ErrBadNumber", func(t *testing.T) {
		sim, srv := startSim(t)
		g := NewHTTPSMSGateway(srv.URL+"/sms", "gateway-token")
		for _, to := range []string{"", "6912345678", "+30 691 234 5678", "+0306912345678"} {
			bad := sms
			bad.To = to
			if err := g.SendSMS(context.Background(), bad); dimos.ErrorCode(err) != dimos.EINVALID {
				t.Errorf("to %q: got %v, want EINVALID", to, err)
			}
		}
		if sim.Failed() != 0 || len(sim.Messages()) != 0 {
			t.Errorf("a bad number reached the gateway")
		}
	})

	t.Run("ErrWrongToken", func(t *testing.T) {
		sim, srv := startSim(t)
		g := NewHTTPSMSGateway(srv.URL+"/sms", "stale-token")
		err := g.SendSMS(context.Background(), sms)
		// Our configuration is wrong, not the message: retry once it is fixed.
		if err == nil || dimos.ErrorCode(err) == dimos.EINVALID {
			t.Fatalf("got %v, want a retryable error", err)
		}
		if sim.Failed() != 1 {
			t.Errorf("failed %d", sim.Failed())
		}
	})

	t.Run("ErrNoGateway", func(t *testing.T) {
		_, srv := startSim(t)
		srv.Close()
		g := NewHTTPSMSGateway(srv.URL+"/sms", "gateway-token")
		if err := g.SendSMS(context.Background(), sms); err == nil || dimos.ErrorCode(err) == dimos.EINVALID {
			t.Fatalf("got %v, want a retryable error", err)
		}
	})

	t.Run("ErrContextDeadline", func(t *testing.T) {
		release := make(chan struct{})
		stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release
		}))
		defer stuck.Close()
		defer close(release)
		g := NewHTTPSMSGateway(stuck.URL, "gateway-token")
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := g.SendSMS(ctx, sms)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Fatalf("got %v after %v", err, time.Since(start))
		}
	})
}

func TestNormalizeGreekPhone(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		ok             bool
	}{
		{"Mobile", "6912345678", "+306912345678", true},
		{"MobileSpaces", "691 234 5678", "+306912345678", true},
		{"MobileDashes", "69-1234-5678", "+306912345678", true},
		{"MobilePlus30", "+30 691 234 5678", "+306912345678", true},
		{"Mobile0030", "0030 6912345678", "+306912345678", true},
		{"Mobile30", "306912345678", "+306912345678", true},
		{"MobileTrimmed", "  6912345678 ", "+306912345678", true},
		{"Landline", "2841340000", "+302841340000", true},
		{"LandlineAthens", "210-1234567", "+302101234567", true},
		{"LandlinePlus30", "+302841340000", "+302841340000", true},
		{"ErrTooShort", "691234567", "", false},
		{"ErrTooLong", "69123456789", "", false},
		{"ErrNotMobilePrefix", "6812345678", "", false},
		{"ErrTollFree", "8001234567", "", false},
		{"ErrShortCode", "1510", "", false},
		{"ErrOtherCountry", "+4915123456789", "", false},
		{"ErrOtherCountry00", "004915123456789", "", false},
		{"ErrLetters", "69123456ab", "", false},
		{"ErrParentheses", "(69)12345678", "", false},
		{"ErrPlusInside", "69+12345678", "", false},
		{"ErrEmpty", "", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := NormalizeGreekPhone(c.in)
			if got != c.want || ok != c.ok {
				t.Errorf("NormalizeGreekPhone(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
			}
		})
	}
	if !IsGreekMobile("+306912345678") || IsGreekMobile("+302841340000") {
		t.Error("IsGreekMobile")
	}
}
