// Package notify tells people about cases: citizens of every change of their case by
// e-mail and SMS, naming the employee who handles it (M16); directors of a new case
// in their service (M10); staff of deadlines. It renders the messages from embedded
// template files, in Greek or English, and sends them through the root interfaces
// dimos.Mailer (SMTPMailer) and dimos.SMSGateway (HTTPSMSGateway).
//
// Sending only once is the caller's job: an activity records each send keyed by event.
// Here the key only becomes the Message-ID and the SMS reference, so that a resend
// after a crash is recognisable downstream.
package notify

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"text/template"
	"time"
	_ "time/tzdata" // Europe/Athens on machines without a zoneinfo database
	"unicode/utf8"

	"dimos"
	"dimos/i18n"
)

// Events, each a set of template files per language under templates/<lang>/.
const (
	EventCaseReceived       = "case_received"        // citizen: number, how to track it
	EventCaseRoutedDirector = "case_routed_director" // director: basic facts of a new case (M10)
	EventCaseAssigned       = "case_assigned"        // citizen: who handles the case
	EventProtocolPending    = "protocol_pending"     // citizen: registration postponed (M11)
	EventProtocolRegistered = "protocol_registered"  // citizen: protocol number and date
	EventComment            = "comment"              // citizen: public comment of the employee (M12)
	EventInfoRequested      = "info_requested"       // citizen: the municipality asks for information
	EventDueDateChanged     = "due_date_changed"     // citizen: new completion or pickup date (M7)
	EventCaseCompleted      = "case_completed"       // citizen: the answer (M13)
	EventCaseRejected       = "case_rejected"        // citizen: the reason
	EventCaseMerged         = "case_merged"          // citizen: the case that now carries theirs
	EventSLAWarning         = "sla_warning"          // employee: a deadline is near
	EventSLABreach          = "sla_breach"           // director, managers: a deadline passed
)

// Events lists every event.
var Events = []string{
	EventCaseReceived, EventCaseRoutedDirector, EventCaseAssigned, EventProtocolPending,
	EventProtocolRegistered, EventComment, EventInfoRequested, EventDueDateChanged,
	EventCaseCompleted, EventCaseRejected, EventSLAWarning, EventSLABreach, EventCaseMerged,
}

// ForCitizen reports whether event is told to the citizen (by e-mail and SMS) rather
// than to staff (by e-mail only).
func ForCitizen(event string) bool {
	switch event {
	case EventCaseRoutedDirector, EventSLAWarning, EventSLABreach:
		return false
	}
	return true
}

// Person is someone a message names: the handling employee.
type Person struct{ Name, Phone, Email string }

// Data is what the templates may show. Strings are shown as given, so the caller
// passes names (Category, Service) already in the reader's language.
type Data struct {
	Municipality string // e.g. "Δήμος Αγίου Νικολάου"; the templates default to "Δήμος"

	CaseNumber    string
	Kind          string // a dimos.Kind value: request, complaint, suggestion, certificate
	Category      string
	Service       string
	Channel       string // a dimos.Channel value: portal, ivr, open311, desk
	Subject       string
	Text          string
	DesiredAction string

	Answer  string // case_completed
	Comment string // comment; the question of info_requested (empty in a reminder)
	Reason  string // case_rejected; optional for due_date_changed and case_merged

	// OriginalNumber is the case a merged case now follows (case_merged).
	OriginalNumber string

	Employee      Person // the employee who handles the case
	CitizenName   string // empty for a greeting without a name
	RecipientName string // the staff member a staff message goes to

	ProtocolNumber string
	ProtocolDate   time.Time
	DueDate        time.Time // completion, pickup (certificates) or SLA deadline
	ReplyBy        time.Time // info_requested
	SubmittedAt    time.Time

	TrackURL   string // public tracking page of the case
	TrackPhone string // IVR number where the case can be tracked by its number
	ConsoleURL string // the case in the staff console
}

// Message is one rendered notification: the e-mail subject and plain text, and the
// SMS text (empty for staff events, which go by e-mail only).
type Message struct {
	Subject string
	Text    string
	SMS     string
}

// Mail addresses the message as an e-mail; key identifies the event (see dimos.Mail).
func (m Message) Mail(key string, to ...string) dimos.Mail {
	return dimos.Mail{To: to, Subject: m.Subject, Text: m.Text, Key: key}
}

// SMSTo addresses the message's SMS text to one number in international form.
func (m Message) SMSTo(key, to string) dimos.SMS {
	return dimos.SMS{To: to, Text: m.SMS, Key: key}
}

// MaxSMSSegments is how long an SMS may get: two segments, 134 characters of Greek
// (UCS-2). Text that GSM-7 can carry is kept to one segment, 160 characters, when the
// template's shorter forms allow it.
const MaxSMSSegments = 2

// smsFits is the aim for one SMS: one segment of GSM-7, or two of UCS-2, since Greek
// cannot say much in 70 characters.
func smsFits(s string) bool {
	n, ucs2 := SMSSegments(s)
	if ucs2 {
		return n <= MaxSMSSegments
	}
	return n <= 1
}

var athens = mustLocation("Europe/Athens")

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

//go:embed templates/*/*.tmpl
var templateFiles embed.FS

var templates = mustParse()

// view is what a template executes on. An SMS that would not fit is rendered again
// with less: first without Full (links, the employee's e-mail), then without
// WithEmployee (the employee's name and phone, which the e-mail still carries).
type view struct {
	Data
	Full         bool
	WithEmployee bool
}

var funcs = template.FuncMap{
	// date and datetime show a time as people in Greece read it; a zero time is "".
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(athens).Format("02/01/2006")
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(athens).Format("02/01/2006 15:04")
	},
	"oneline": oneline,
	"excerpt": excerpt,
}

func mustParse() map[string]*template.Template {
	sets := map[string]*template.Template{}
	for _, lang := range []string{i18n.Greek, i18n.English} {
		set := template.New(lang).Funcs(funcs).Option("missingkey=error")
		paths, err := fs.Glob(templateFiles, "templates/"+lang+"/*.tmpl")
		if err != nil {
			panic(err)
		}
		for _, p := range paths {
			b, err := templateFiles.ReadFile(p)
			if err != nil {
				panic(err)
			}
			name := strings.TrimSuffix(path.Base(p), ".tmpl")
			src := strings.ReplaceAll(string(b), "\r\n", "\n")
			if event, ok := strings.CutSuffix(name, ".mail"); ok {
				// The first line of a mail template is its subject.
				first, body, _ := strings.Cut(src, "\n")
				subject, ok := strings.CutPrefix(first, "Subject:")
				if !ok {
					panic(fmt.Sprintf("notify: %s: first line must be \"Subject: …\"", p))
				}
				template.Must(set.New(event + ".subject").Parse(subject))
				template.Must(set.New(event + ".mail").Parse(body))
				continue
			}
			template.Must(set.New(name).Parse(src))
		}
		for _, e := range Events {
			if set.Lookup(e+".mail") == nil {
				panic(fmt.Sprintf("notify: no %s mail template for %s", lang, e))
			}
			if ForCitizen(e) && set.Lookup(e+".sms") == nil {
				panic(fmt.Sprintf("notify: no %s sms template for %s", lang, e))
			}
		}
		sets[lang] = set
	}
	return sets
}

// required names the fields an event cannot do without.
var required = map[string][]struct {
	field   string
	missing func(*Data) bool
}{
	EventCaseAssigned:       {{"Employee.Name", func(d *Data) bool { return d.Employee.Name == "" }}},
	EventProtocolRegistered: {{"ProtocolNumber", func(d *Data) bool { return d.ProtocolNumber == "" }}},
	EventComment:            {{"Comment", func(d *Data) bool { return strings.TrimSpace(d.Comment) == "" }}},
	EventDueDateChanged:     {{"DueDate", func(d *Data) bool { return d.DueDate.IsZero() }}},
	EventCaseCompleted:      {{"Answer", func(d *Data) bool { return strings.TrimSpace(d.Answer) == "" }}},
	EventCaseRejected:       {{"Reason", func(d *Data) bool { return strings.TrimSpace(d.Reason) == "" }}},
	EventSLAWarning:         {{"DueDate", func(d *Data) bool { return d.DueDate.IsZero() }}},
	EventSLABreach:          {{"DueDate", func(d *Data) bool { return d.DueDate.IsZero() }}},
}

// Render writes the message for event in lang ("el" unless lang asks for English).
// The SMS, for citizen events, aims at one GSM-7 segment or two UCS-2 ones (smsFits):
// if the full text is longer the template is rendered with less (see view), failing
// that a generic short update is sent; it never exceeds MaxSMSSegments.
func Render(event, lang string, d Data) (Message, error) {
	set := templates[i18n.Lang(lang)]
	if set.Lookup(event+".mail") == nil {
		return Message{}, fmt.Errorf("notify: unknown event %q", event)
	}
	if d.CaseNumber == "" {
		return Message{}, fmt.Errorf("notify: %s: CaseNumber missing", event)
	}
	for _, r := range required[event] {
		if r.missing(&d) {
			return Message{}, fmt.Errorf("notify: %s: %s missing", event, r.field)
		}
	}

	v := view{Data: d, Full: true, WithEmployee: true}
	var m Message
	subject, err := execute(set, event+".subject", v)
	if err != nil {
		return Message{}, err
	}
	m.Subject = oneline(subject)
	text, err := execute(set, event+".mail", v)
	if err != nil {
		return Message{}, err
	}
	m.Text = tidy(text)

	if set.Lookup(event+".sms") != nil {
		if m.SMS, err = renderSMS(set, event, v); err != nil {
			return Message{}, err
		}
	}
	return m, nil
}

func renderSMS(set *template.Template, event string, v view) (string, error) {
	var s string
	for _, attempt := range []struct {
		name               string
		full, withEmployee bool
	}{
		{event + ".sms", true, true},
		{event + ".sms", false, true},
		{event + ".sms", false, false},
		{"update.sms", false, false},
	} {
		v.Full, v.WithEmployee = attempt.full, attempt.withEmployee
		out, err := execute(set, attempt.name, v)
		if err != nil {
			return "", err
		}
		s = oneline(out)
		if smsFits(s) {
			return s, nil
		}
	}
	if n, _ := SMSSegments(s); n <= MaxSMSSegments {
		return s, nil
	}
	// Only an absurd case number gets here; cut rather than send three segments.
	for n, _ := SMSSegments(s); n > MaxSMSSegments; n, _ = SMSSegments(s) {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s, nil
}

func execute(set *template.Template, name string, v view) (string, error) {
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, name, v); err != nil {
		return "", fmt.Errorf("notify: render %s/%s: %w", set.Name(), name, err)
	}
	return buf.String(), nil
}

// oneline folds all white space, line breaks included, into single spaces.
func oneline(s string) string { return strings.Join(strings.Fields(s), " ") }

// excerpt shortens s to at most n characters on one line, cutting at a word and
// marking the cut with an ellipsis.
func excerpt(n int, s string) string {
	s = oneline(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)[:n]
	cut := string(runes)
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:·") + "…"
}

var blankLines = regexp.MustCompile(`\n{3,}`)

// tidy lets templates be written for people to read: it drops trailing spaces, keeps
// at most one blank line in a row and ends the text with one line break.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	s = blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return strings.Trim(s, "\n") + "\n"
}
