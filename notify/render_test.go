package notify

import (
	"strings"
	"testing"
	"time"
	"unicode"
)

// realistic is a case as the municipality of Agios Nikolaos would see it.
func realistic() Data {
	at := time.Date(2026, 3, 3, 8, 15, 0, 0, time.UTC) // 10:15 in Athens
	return Data{
		Municipality:   "Δήμος Αγίου Νικολάου",
		CaseNumber:     "2026-000123",
		Kind:           "complaint",
		Category:       "Οδοποιία",
		Service:        "Διεύθυνση Τεχνικών Υπηρεσιών",
		Channel:        "portal",
		Subject:        "Λακκούβα στην οδό Κουνδούρου",
		Text:           "Στη διασταύρωση Κουνδούρου και 28ης Οκτωβρίου υπάρχει βαθιά λακκούβα.\nΚινδυνεύουν οι μοτοσικλετιστές.",
		DesiredAction:  "Άμεση επισκευή του οδοστρώματος",
		Answer:         "Η λακκούβα επισκευάστηκε από το συνεργείο του Δήμου στις 10/03.",
		Comment:        "Παρακαλούμε στείλτε μας φωτογραφία του σημείου.",
		Reason:         "Ο δρόμος ανήκει στο επαρχιακό δίκτυο της Περιφέρειας Κρήτης.",
		Employee:       Person{"Κωνσταντίνα Παπαδοπούλου-Χατζηδάκη", "+30 28410 34012", "k.papadopoulou@agiosnikolaos.gr"},
		CitizenName:    "Γεώργιος Κωνσταντινίδης",
		RecipientName:  "Νικόλαος Αλεξίου",
		ProtocolNumber: "ΔΤΥ/4512/2026",
		ProtocolDate:   at,
		DueDate:        at.Add(10 * 24 * time.Hour),
		ReplyBy:        at.Add(4 * 24 * time.Hour),
		SubmittedAt:    at,
		TrackURL:       "https://e-dimos.agiosnikolaos.gr/track/2026-000123",
		TrackPhone:     "2841340000",
		ConsoleURL:     "https://console.agiosnikolaos.gr/cases/2026-000123",
	}
}

// latin is the same case for a citizen who reads English, with Latin names.
func latin() Data {
	d := realistic()
	d.Municipality = "Municipality of Agios Nikolaos"
	d.Category, d.Service = "Roads", "Technical Services"
	d.Subject, d.Text = "Pothole on Koundourou street", "There is a deep pothole at the crossing."
	d.CitizenName, d.RecipientName = "Anna Schmidt", "Nikolaos Alexiou"
	d.Employee = Person{"Konstantina Papadopoulou", "+30 28410 34012", "k.papadopoulou@agiosnikolaos.gr"}
	d.ProtocolNumber = "4512/2026"
	d.DesiredAction, d.Answer = "Repair it", "The pothole was repaired on 10/03."
	d.Comment, d.Reason = "Please send us a photo of the spot.", "The road belongs to the Region of Crete."
	return d
}

func TestRender(t *testing.T) {
	certificate := realistic()
	certificate.Kind = "certificate"
	minimal := Data{CaseNumber: "2026-000007", Kind: "request", Subject: "Φωτισμός", Text: "Σβηστή λάμπα.",
		Answer: "Έγινε.", Comment: "Σχόλιο.", Reason: "Λόγος.", Employee: Person{Name: "Ε. Ιωάννου"},
		ProtocolNumber: "17", DueDate: time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)}
	long := realistic()
	long.Employee.Name = "Αικατερίνη-Παναγιώτα Κωνσταντινοπούλου-Παπαχριστοδούλου"
	long.ProtocolNumber = "ΔΙΕΥΘΥΝΣΗ-ΤΕΧΝΙΚΩΝ-ΥΠΗΡΕΣΙΩΝ/2026/000004512"

	cases := []struct {
		name string
		lang string
		data Data
	}{
		{"GreekComplaint", "el", realistic()},
		{"GreekCertificate", "el", certificate},
		{"GreekMinimal", "el", minimal},
		{"GreekLongNames", "el", long},
		{"EnglishLatin", "en", latin()},
		{"EnglishGreekNames", "en", realistic()},
		{"EnglishMinimal", "en", minimal},
		{"EnglishLongNames", "en", long},
	}
	for _, c := range cases {
		for _, event := range Events {
			t.Run(c.name+"/"+event, func(t *testing.T) {
				m, err := Render(event, c.lang, c.data)
				if err != nil {
					t.Fatal(err)
				}
				for what, s := range map[string]string{"subject": m.Subject, "text": m.Text, "sms": m.SMS} {
					for _, bad := range []string{"<no value>", "{{", "}}", "%!", "<nil>"} {
						if strings.Contains(s, bad) {
							t.Errorf("%s contains %q:\n%s", what, bad, s)
						}
					}
				}
				if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") {
					t.Errorf("subject %q: want one non-empty line", m.Subject)
				}
				if !strings.Contains(m.Subject, c.data.CaseNumber) || !strings.Contains(m.Text, c.data.CaseNumber) {
					t.Errorf("case number missing:\n%s\n%s", m.Subject, m.Text)
				}
				if c.data.Municipality != "" && !strings.Contains(m.Text, c.data.Municipality) {
					t.Errorf("municipality missing:\n%s", m.Text)
				}
				if !strings.HasSuffix(m.Text, "\n") || strings.Contains(m.Text, "\n\n\n") {
					t.Errorf("text layout:\n%q", m.Text)
				}
				// The template's own words are in the language asked for.
				greekWords := strings.Contains(m.Text, "υπόθεσ") || strings.Contains(m.Text, "σας")
				if (c.lang == "el") != greekWords {
					t.Errorf("language %s, Greek words %v:\n%s", c.lang, greekWords, m.Text)
				}
				if c.name == "EnglishLatin" && hasGreek(m.Subject+m.Text+m.SMS) {
					t.Errorf("Greek letters in English message with Latin data:\n%s\n%s\n%s", m.Subject, m.Text, m.SMS)
				}

				if !ForCitizen(event) {
					if m.SMS != "" {
						t.Errorf("staff event has an SMS: %q", m.SMS)
					}
					return
				}
				// M16: the citizen is told who handles the case.
				if event != EventCaseReceived && !strings.Contains(m.Text, c.data.Employee.Name) {
					t.Errorf("employee %q not named:\n%s", c.data.Employee.Name, m.Text)
				}
				if m.SMS == "" || !strings.Contains(m.SMS, c.data.CaseNumber) {
					t.Fatalf("sms %q: want the case number", m.SMS)
				}
				segments, ucs2 := SMSSegments(m.SMS)
				if segments > MaxSMSSegments {
					t.Errorf("sms takes %d segments (ucs2=%v, %d chars): %s", segments, ucs2, len([]rune(m.SMS)), m.SMS)
				}
				if c.name == "EnglishLatin" && (ucs2 || segments != 1) {
					t.Errorf("English sms: %d segments, ucs2=%v: %s", segments, ucs2, m.SMS)
				}
			})
		}
	}
}

func hasGreek(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Greek) {
			return true
		}
	}
	return false
}

func TestRenderContent(t *testing.T) {
	d := realistic()
	t.Run("AthensTime", func(t *testing.T) {
		m, err := Render(EventCaseReceived, "el", d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Text, "03/03/2026 10:15") { // UTC+2 in winter
			t.Errorf("submitted at not in Athens time:\n%s", m.Text)
		}
		s := d
		s.Kind = "certificate"
		s.DueDate = time.Date(2026, 7, 1, 9, 30, 0, 0, time.UTC) // UTC+3 in summer
		m, err = Render(EventDueDateChanged, "el", s)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Text, "01/07/2026 12:30") || !strings.Contains(m.Subject, "παραλαβής") {
			t.Errorf("pickup date:\n%s\n%s", m.Subject, m.Text)
		}
	})
	t.Run("AssignedNamesEmployee", func(t *testing.T) {
		for _, lang := range []string{"el", "en"} {
			m, err := Render(EventCaseAssigned, lang, d)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{d.Employee.Name, d.Employee.Phone, d.Employee.Email} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("%s mail lacks %q:\n%s", lang, want, m.Text)
				}
			}
			if !strings.Contains(m.SMS, d.Employee.Name) || !strings.Contains(m.SMS, d.Employee.Phone) {
				t.Errorf("%s sms lacks the employee: %s", lang, m.SMS)
			}
		}
	})
	t.Run("DirectorFacts", func(t *testing.T) {
		m, err := Render(EventCaseRoutedDirector, "el", d)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{d.CaseNumber, "Καταγγελία", d.Category, d.Subject, "Στη διασταύρωση Κουνδούρου",
			"Ηλεκτρονική πύλη", "03/03/2026 10:15", d.ConsoleURL, d.CitizenName} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("director mail lacks %q:\n%s", want, m.Text)
			}
		}
		d := d
		d.Text = strings.Repeat("Πολύ μεγάλο κείμενο καταγγελίας. ", 100)
		m, err = Render(EventCaseRoutedDirector, "el", d)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(m.Text, "Πολύ μεγάλο") > 25 || !strings.Contains(m.Text, "…") {
			t.Errorf("long text not cut to an excerpt:\n%s", m.Text)
		}
	})
	t.Run("DefaultMunicipality", func(t *testing.T) {
		d := d
		d.Municipality, d.CitizenName = "", ""
		m, err := Render(EventCaseCompleted, "el", d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Text, "Με εκτίμηση,\nΔήμος\n") || !strings.Contains(m.Text, "Αγαπητή κυρία, αγαπητέ κύριε,") {
			t.Errorf("defaults:\n%s", m.Text)
		}
	})
	t.Run("LanguageFallsBackToGreek", func(t *testing.T) {
		el, _ := Render(EventComment, "el", d)
		for _, lang := range []string{"", "fr", "el-GR"} {
			m, err := Render(EventComment, lang, d)
			if err != nil || m != el {
				t.Errorf("lang %q: err %v, not the Greek message", lang, err)
			}
		}
		m, _ := Render(EventComment, "en-GB", d)
		if !strings.HasPrefix(m.Subject, "New message") {
			t.Errorf("en-GB: %q", m.Subject)
		}
	})
	t.Run("InfoReminderWithoutQuestion", func(t *testing.T) {
		d := d
		d.Comment = ""
		for lang, want := range map[string]string{"el": "Σας υπενθυμίζουμε", "en": "This is a reminder"} {
			m, err := Render(EventInfoRequested, lang, d)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(m.Text, want) || !strings.Contains(m.Text, "07/03/2026") {
				t.Errorf("%s reminder:\n%s", lang, m.Text)
			}
		}
	})
	t.Run("SubjectStaysOneLine", func(t *testing.T) {
		d := d
		d.Subject = "Πρώτη γραμμή\r\nBcc: someone@example.com"
		m, err := Render(EventCaseRoutedDirector, "el", d)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			t.Errorf("subject %q", m.Subject)
		}
	})
	t.Run("SMSFallsBackWhenLong", func(t *testing.T) {
		d := d
		d.Employee.Name = strings.Repeat("Παπαδοπούλου ", 12)
		for _, e := range Events {
			if !ForCitizen(e) {
				continue
			}
			m, err := Render(e, "el", d)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := SMSSegments(m.SMS); n > MaxSMSSegments || !strings.Contains(m.SMS, d.CaseNumber) {
				t.Errorf("%s: %d segments: %s", e, n, m.SMS)
			}
		}
	})
}

func TestRenderErrors(t *testing.T) {
	t.Run("ErrUnknownEvent", func(t *testing.T) {
		if _, err := Render("case_exploded", "el", realistic()); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("ErrCaseNumberRequired", func(t *testing.T) {
		d := realistic()
		d.CaseNumber = ""
		if _, err := Render(EventCaseReceived, "el", d); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("ErrFieldRequired", func(t *testing.T) {
		for event, clear := range map[string]func(*Data){
			EventCaseAssigned:       func(d *Data) { d.Employee.Name = "" },
			EventProtocolRegistered: func(d *Data) { d.ProtocolNumber = "" },
			EventComment:            func(d *Data) { d.Comment = " " },
			EventDueDateChanged:     func(d *Data) { d.DueDate = time.Time{} },
			EventCaseCompleted:      func(d *Data) { d.Answer = "" },
			EventCaseRejected:       func(d *Data) { d.Reason = "" },
		} {
			d := realistic()
			clear(&d)
			if _, err := Render(event, "en", d); err == nil {
				t.Errorf("%s: no error", event)
			}
		}
	})
}

func TestSMSSegments(t *testing.T) {
	for _, c := range []struct {
		name     string
		text     string
		segments int
		ucs2     bool
	}{
		{"Empty", "", 0, false},
		{"GSM160", strings.Repeat("a", 160), 1, false},
		{"GSM161", strings.Repeat("a", 161), 2, false},
		{"GSM306", strings.Repeat("a", 306), 2, false},
		{"GSM307", strings.Repeat("a", 307), 3, false},
		{"GSMExtendedCountsTwice", strings.Repeat("€", 80), 1, false},
		{"GSMExtendedOverflow", strings.Repeat("€", 81), 2, false},
		{"GreekCapitalsAreGSM", "ΔΦΓΛΩΠΨΣΘΞ", 1, false},
		{"Greek70", strings.Repeat("α", 70), 1, true},
		{"Greek71", strings.Repeat("α", 71), 2, true},
		{"Greek134", strings.Repeat("α", 134), 2, true},
		{"Greek135", strings.Repeat("α", 135), 3, true},
		{"OneGreekLetterMakesUCS2", strings.Repeat("a", 100) + "ά", 2, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, u := SMSSegments(c.text)
			if n != c.segments || u != c.ucs2 {
				t.Errorf("got %d segments ucs2=%v, want %d ucs2=%v", n, u, c.segments, c.ucs2)
			}
		})
	}
}
