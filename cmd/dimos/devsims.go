package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"dimos/notify/mailsink"
	"dimos/notify/smssim"
	"dimos/protocol"
)

// devSimulators stand in, in `dimos dev`, for the outside systems a developer machine
// does not have: a mail sink, the SMS gateway and the protocol registry. Each is a
// real server on loopback, started only for what the configuration leaves empty.
type devSimulators struct {
	mail    *mailsink.Sink
	servers []*http.Server
	lines   []string
}

func startDevSimulators(ctx context.Context, cfg *config, log *slog.Logger) (*devSimulators, error) {
	s := &devSimulators{}
	if cfg.SMTPAddr == "" {
		sink, err := mailsink.Start("127.0.0.1:0", log.With("component", "mail-sink"))
		if err != nil {
			return nil, err
		}
		s.mail, cfg.SMTPAddr, cfg.SMTPStartTLS = sink, sink.Addr(), "never"
		s.lines = append(s.lines, fmt.Sprintf("  mail sink    smtp://%s (simulator: logs every mail, delivers none)", sink.Addr()))
	}
	if cfg.SMSURL == "" {
		base, err := s.serve(ctx, smssim.New(cfg.SMSToken))
		if err != nil {
			return nil, err
		}
		cfg.SMSURL = base + "/sms"
		s.lines = append(s.lines, fmt.Sprintf("  SMS gateway  %s (simulator; POST /control {\"mode\":\"fail\"})", base))
	}
	if cfg.ProtocolURL == "" {
		base, err := s.serve(ctx, protocol.NewSimulator(cfg.ProtocolToken, time.Now))
		if err != nil {
			return nil, err
		}
		cfg.ProtocolURL = base
		s.lines = append(s.lines, fmt.Sprintf("  protocol     %s (simulator; POST %s {\"mode\":\"fail\"})", base, protocol.ControlPath))
	}
	return s, nil
}

func (s *devSimulators) serve(ctx context.Context, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go srv.Serve(ln) //nolint:errcheck // ends with close
	s.servers = append(s.servers, srv)
	return "http://" + ln.Addr().String(), nil
}

func (s *devSimulators) print() {
	for _, l := range s.lines {
		fmt.Println(l)
	}
}

func (s *devSimulators) close() {
	if s.mail != nil {
		s.mail.Close() //nolint:errcheck
	}
	for _, srv := range s.servers {
		srv.Close() //nolint:errcheck
	}
}
