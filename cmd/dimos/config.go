package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"dimos/console"
)

// config is everything dimos reads from its environment. Every variable is listed in
// the README with its default; the defaults work on a developer's machine.
type config struct {
	HTTPAddr            string        // DIMOS_HTTP_ADDR
	DatabaseURL         string        // DATABASE_URL
	DataDir             string        // DIMOS_DATA_DIR
	TemporalAddress     string        // TEMPORAL_ADDRESS; "" in dev = embedded server
	TemporalNamespace   string        // TEMPORAL_NAMESPACE
	TemporalUIURL       string        // TEMPORAL_UI_URL; in dev the embedded UI's
	EmbeddedPort        int           // DIMOS_TEMPORAL_PORT: the embedded server's frontend port
	EmbeddedUIPort      int           // DIMOS_TEMPORAL_UI_PORT: its Web UI port; -1 = none
	SecureCookies       bool          // DIMOS_SECURE_COOKIES
	SessionIdle         time.Duration // DIMOS_SESSION_IDLE
	StarterInterval     time.Duration // DIMOS_STARTER_INTERVAL
	StarterWorkers      int           // DIMOS_STARTER_WORKERS
	LogLevel            slog.Level    // DIMOS_LOG_LEVEL
	PublicURL           string        // DIMOS_PUBLIC_URL
	Municipality        string        // DIMOS_MUNICIPALITY
	ReopenDays          int           // DIMOS_REOPEN_DAYS
	SMTPAddr            string        // DIMOS_SMTP_ADDR; "" in dev = the embedded mail sink
	SMTPUsername        string        // DIMOS_SMTP_USERNAME
	SMTPPassword        string        // DIMOS_SMTP_PASSWORD
	SMTPFrom            string        // DIMOS_SMTP_FROM
	SMTPStartTLS        string        // DIMOS_SMTP_STARTTLS
	SMSURL              string        // DIMOS_SMS_URL; "" = no SMS (dev: the embedded simulator)
	SMSToken            string        // DIMOS_SMS_TOKEN
	ProtocolURL         string        // DIMOS_PROTOCOL_URL; "" in dev = the embedded simulator
	ProtocolToken       string        // DIMOS_PROTOCOL_TOKEN
	Open311Jurisdiction string        // DIMOS_OPEN311_JURISDICTION
	RecordingHosts      []string      // DIMOS_IVR_RECORDING_HOSTS
	IVRAuthToken        string        // DIMOS_IVR_AUTH_TOKEN
	IVRSecret           string        // DIMOS_IVR_SECRET
	IVRPublicURL        string        // DIMOS_IVR_PUBLIC_URL
	MapTiles            string        // DIMOS_MAP_TILES
	MapAttribution      string        // DIMOS_MAP_ATTRIBUTION
	DuplicateRadiusM    float64       // DIMOS_DUPLICATE_RADIUS
	TLSCert             string        // DIMOS_TLS_CERT; with TLSKey, serve HTTPS directly
	TLSKey              string        // DIMOS_TLS_KEY
	HTTPRedirectAddr    string        // DIMOS_HTTP_REDIRECT_ADDR; "" = no plain HTTP listener
}

// tls reports whether dimos serves HTTPS itself, from a certificate and key.
func (c config) tls() bool { return c.TLSCert != "" && c.TLSKey != "" }

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
	{"DIMOS_STARTER_WORKERS", "32", "how many case workflows are started at once; about the number of citizens submitting at the same moment"},
	{"DIMOS_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"DIMOS_PUBLIC_URL", "http://127.0.0.1:8080", "how citizens and staff reach dimos; links in mails start with it"},
	{"DIMOS_MUNICIPALITY", "Δήμος", "the municipality's name, as mails are signed"},
	{"DIMOS_REOPEN_DAYS", "15", "days after completion during which the citizen may reopen a case"},
	{"DIMOS_SMTP_ADDR", "", "mail relay host:port; empty in `dev` starts an embedded mail sink, elsewhere means 127.0.0.1:25"},
	{"DIMOS_SMTP_USERNAME", "", "AUTH PLAIN user for the relay; empty for none"},
	{"DIMOS_SMTP_PASSWORD", "", "its password"},
	{"DIMOS_SMTP_FROM", "noreply@dimos.example", "sender address of every mail"},
	{"DIMOS_SMTP_STARTTLS", "auto", "auto, always or never"},
	{"DIMOS_SMS_URL", "", "the SMS gateway's send URL; empty means no SMS (`dev` starts the SMS simulator)"},
	{"DIMOS_SMS_TOKEN", "dev-sms-token", "bearer token for the SMS gateway"},
	{"DIMOS_PROTOCOL_URL", "", "base URL of the protocol registry; empty in `dev` starts the protocol simulator"},
	{"DIMOS_PROTOCOL_TOKEN", "dev-protocol-token", "bearer token for the protocol registry"},
	{"DIMOS_OPEN311_JURISDICTION", "dimos.example", "the jurisdiction_id Open311 clients name"},
	{"DIMOS_IVR_RECORDING_HOSTS", "api.twilio.com", "comma-separated hosts phone recordings may be fetched from"},
	{"DIMOS_IVR_AUTH_TOKEN", "", "the telephony provider's auth token; X-Twilio-Signature is checked when set (set it in production)"},
	{"DIMOS_IVR_SECRET", "", "key that signs the call state between IVR webhooks (32+ random bytes); empty makes one per start"},
	{"DIMOS_IVR_PUBLIC_URL", "", "the base URL the provider calls, exactly (signatures cover it); empty means DIMOS_PUBLIC_URL"},
	{"DIMOS_MAP_TILES", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "tile server URL template of the console's maps; its origin is the only one the CSP lets images come from"},
	{"DIMOS_MAP_ATTRIBUTION", "© OpenStreetMap contributors", "the credit the tiles' licence asks for, shown on every map"},
	{"DIMOS_DUPLICATE_RADIUS", "150", "metres within which open cases of the same category are shown as possible duplicates"},
	{"DIMOS_TLS_CERT", "", "PEM certificate (chain) file; with DIMOS_TLS_KEY, `dev` and `console` serve HTTPS (TLS 1.2+) with HSTS and Secure cookies"},
	{"DIMOS_TLS_KEY", "", "PEM private key file of DIMOS_TLS_CERT"},
	{"DIMOS_HTTP_REDIRECT_ADDR", "", "with TLS, a plain HTTP address (e.g. :80) that redirects every request to HTTPS; empty for none"},
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
		HTTPAddr:            get("DIMOS_HTTP_ADDR"),
		DatabaseURL:         get("DATABASE_URL"),
		DataDir:             get("DIMOS_DATA_DIR"),
		TemporalAddress:     get("TEMPORAL_ADDRESS"),
		TemporalNamespace:   get("TEMPORAL_NAMESPACE"),
		TemporalUIURL:       strings.TrimRight(get("TEMPORAL_UI_URL"), "/"),
		EmbeddedPort:        num("DIMOS_TEMPORAL_PORT"),
		EmbeddedUIPort:      num("DIMOS_TEMPORAL_UI_PORT"),
		SessionIdle:         dur("DIMOS_SESSION_IDLE"),
		StarterInterval:     dur("DIMOS_STARTER_INTERVAL"),
		StarterWorkers:      num("DIMOS_STARTER_WORKERS"),
		PublicURL:           strings.TrimRight(get("DIMOS_PUBLIC_URL"), "/"),
		Municipality:        get("DIMOS_MUNICIPALITY"),
		ReopenDays:          num("DIMOS_REOPEN_DAYS"),
		SMTPAddr:            get("DIMOS_SMTP_ADDR"),
		SMTPUsername:        get("DIMOS_SMTP_USERNAME"),
		SMTPPassword:        get("DIMOS_SMTP_PASSWORD"),
		SMTPFrom:            get("DIMOS_SMTP_FROM"),
		SMTPStartTLS:        get("DIMOS_SMTP_STARTTLS"),
		SMSURL:              get("DIMOS_SMS_URL"),
		SMSToken:            get("DIMOS_SMS_TOKEN"),
		ProtocolURL:         strings.TrimRight(get("DIMOS_PROTOCOL_URL"), "/"),
		ProtocolToken:       get("DIMOS_PROTOCOL_TOKEN"),
		Open311Jurisdiction: get("DIMOS_OPEN311_JURISDICTION"),
		IVRAuthToken:        get("DIMOS_IVR_AUTH_TOKEN"),
		IVRSecret:           get("DIMOS_IVR_SECRET"),
		IVRPublicURL:        strings.TrimRight(get("DIMOS_IVR_PUBLIC_URL"), "/"),
		MapTiles:            get("DIMOS_MAP_TILES"),
		MapAttribution:      get("DIMOS_MAP_ATTRIBUTION"),
		TLSCert:             get("DIMOS_TLS_CERT"),
		TLSKey:              get("DIMOS_TLS_KEY"),
		HTTPRedirectAddr:    get("DIMOS_HTTP_REDIRECT_ADDR"),
	}
	if c.StarterWorkers < 1 {
		errs = append(errs, "DIMOS_STARTER_WORKERS: not a number of at least 1")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, "DIMOS_TLS_CERT and DIMOS_TLS_KEY: set both or neither")
	}
	if c.HTTPRedirectAddr != "" && !c.tls() {
		errs = append(errs, "DIMOS_HTTP_REDIRECT_ADDR: needs DIMOS_TLS_CERT and DIMOS_TLS_KEY")
	}
	if _, err := console.TileOrigin(c.MapTiles); err != nil {
		errs = append(errs, "DIMOS_MAP_TILES: not an http(s) URL template with a plain host (e.g. https://{s}.tile.example.org/{z}/{x}/{y}.png)")
	}
	if r, err := strconv.ParseFloat(get("DIMOS_DUPLICATE_RADIUS"), 64); err != nil || r <= 0 || r > 10_000 {
		errs = append(errs, "DIMOS_DUPLICATE_RADIUS: not a number of metres between 1 and 10000")
	} else {
		c.DuplicateRadiusM = r
	}
	if c.IVRPublicURL == "" {
		c.IVRPublicURL = c.PublicURL
	}
	for _, h := range strings.Split(get("DIMOS_IVR_RECORDING_HOSTS"), ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			c.RecordingHosts = append(c.RecordingHosts, h)
		}
	}
	secure, err := strconv.ParseBool(get("DIMOS_SECURE_COOKIES"))
	if err != nil {
		errs = append(errs, "DIMOS_SECURE_COOKIES: not true or false")
	}
	// Cookies of an HTTPS server are Secure whatever DIMOS_SECURE_COOKIES says.
	c.SecureCookies = secure || c.tls()
	if err := c.LogLevel.UnmarshalText([]byte(get("DIMOS_LOG_LEVEL"))); err != nil {
		errs = append(errs, "DIMOS_LOG_LEVEL: not debug, info, warn or error")
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}
