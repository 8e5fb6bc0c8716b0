package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"dimos/protocol"
)

// devProtocolToken is the simulator's token on a developer machine: the default of
// DIMOS_PROTOCOL_TOKEN.
const devProtocolToken = "dev-protocol-token"

// runProtocolSim serves the simulator of the municipality's protocol registry until ctx
// ends, so that a demo can show certificate applications waiting for a registry that is
// down and registering, each with one number, once it is back.
func runProtocolSim(ctx context.Context, cfg config, log *slog.Logger, args []string) error {
	token := cfg.ProtocolToken
	fs := flag.NewFlagSet("protocol-sim", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "address to listen on")
	fs.StringVar(&token, "token", token, "bearer token callers must present (default from DIMOS_PROTOCOL_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if token == "" {
		return errors.New("protocol-sim: the token is empty")
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           protocol.NewSimulator(token, time.Now),
		ReadHeaderTimeout: 10 * time.Second,
		// Requests live in ctx, so that those held in hang mode end with the command.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	base := "http://" + ln.Addr().String()
	shown := "$DIMOS_PROTOCOL_TOKEN" // a real token is not written to the log
	if token == devProtocolToken {
		shown = token
	}
	log.Info("protocol simulator listening",
		"register", "POST "+base+protocol.RegistrationsPath,
		"control", fmt.Sprintf(`curl -H "Authorization: Bearer %s" -d '{"mode": "fail"}' %s%s`, shown, base, protocol.ControlPath),
		"modes", `ok | fail (fail_status, default 503) | hang | slow (delay, default "2s"); GET /control shows mode and counts`)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}
