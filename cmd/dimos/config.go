package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// config is everything dimos reads from its environment. Every variable is listed in
// the README with its default; the defaults work on a developer's machine.
type config struct {
	HTTPAddr          string        // DIMOS_HTTP_ADDR
	DatabaseURL       string        // DATABASE_URL
	DataDir           string        // DIMOS_DATA_DIR
	TemporalAddress   string        // TEMPORAL_ADDRESS; "" in dev = embedded server
	TemporalNamespace string        // TEMPORAL_NAMESPACE
	TemporalUIURL     string        // TEMPORAL_UI_URL; in dev the embedded UI's
	EmbeddedPort      int           // DIMOS_TEMPORAL_PORT: the embedded server's frontend port
	EmbeddedUIPort    int           // DIMOS_TEMPORAL_UI_PORT: its Web UI port; -1 = none
	SecureCookies     bool          // DIMOS_SECURE_COOKIES
	SessionIdle       time.Duration // DIMOS_SESSION_IDLE
	StarterInterval   time.Duration // DIMOS_STARTER_INTERVAL
	LogLevel          slog.Level    // DIMOS_LOG_LEVEL
}

// envVars documents the variables in the order the README lists them.
var envVars = []struct{ Name, Default, Doc string }{
	{"DIMOS_HTTP_ADDR", "127.0.0.1:8080", "address of the HTTP server (console and citizen API)"},
	{"DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dimos?sslmode=disable", "PostgreSQL; the database is created if missing"},
	{"DIMOS_DATA_DIR", "./data", "where `dimos dev` keeps the embedded Temporal server's SQLite file"},
	{"TEMPORAL_ADDRESS", "", "Temporal frontend host:port; empty in `dev` starts an embedded server, elsewhere means 127.0.0.1:7233"},
	{"TEMPORAL_NAMESPACE", "default", "Temporal namespace"},
	{"TEMPORAL_UI_URL", "", "Temporal Web UI, linked from case pages; `dev` sets it to the embedded UI"},
	{"DIMOS_TEMPORAL_PORT", "7233", "frontend port of the embedded Temporal server (`dev`)"},
	{"DIMOS_TEMPORAL_UI_PORT", "8233", "Web UI port of the embedded Temporal server (`dev`); -1 for none"},
	{"DIMOS_SECURE_COOKIES", "false", "mark cookies Secure (set behind TLS)"},
	{"DIMOS_SESSION_IDLE", "30m", "staff sessions end after this long without activity"},
	{"DIMOS_STARTER_INTERVAL", "5s", "how often accepted cases without a workflow are retried"},
	{"DIMOS_LOG_LEVEL", "info", "debug, info, warn or error"},
}

func loadConfig() (config, error) {
	get := func(name string) string {
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		for _, v := range envVars {
			if v.Name == name {
				return v.Default
			}
		}
		panic("undocumented variable " + name)
	}
	var errs []string
	num := func(name string) int {
		n, err := strconv.Atoi(get(name))
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: not a number", name))
		}
		return n
	}
	dur := func(name string) time.Duration {
		d, err := time.ParseDuration(get(name))
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Sprintf("%s: not a positive duration (e.g. 30m)", name))
		}
		return d
	}
	c := config{
		HTTPAddr:          get("DIMOS_HTTP_ADDR"),
		DatabaseURL:       get("DATABASE_URL"),
		DataDir:           get("DIMOS_DATA_DIR"),
		TemporalAddress:   get("TEMPORAL_ADDRESS"),
		TemporalNamespace: get("TEMPORAL_NAMESPACE"),
		TemporalUIURL:     strings.TrimRight(get("TEMPORAL_UI_URL"), "/"),
		EmbeddedPort:      num("DIMOS_TEMPORAL_PORT"),
		EmbeddedUIPort:    num("DIMOS_TEMPORAL_UI_PORT"),
		SessionIdle:       dur("DIMOS_SESSION_IDLE"),
		StarterInterval:   dur("DIMOS_STARTER_INTERVAL"),
	}
	secure, err := strconv.ParseBool(get("DIMOS_SECURE_COOKIES"))
	if err != nil {
		errs = append(errs, "DIMOS_SECURE_COOKIES: not true or false")
	}
	c.SecureCookies = secure
	if err := c.LogLevel.UnmarshalText([]byte(get("DIMOS_LOG_LEVEL"))); err != nil {
		errs = append(errs, "DIMOS_LOG_LEVEL: not debug, info, warn or error")
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}
