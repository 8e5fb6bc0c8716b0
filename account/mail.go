package account

import (
	"bytes"
	"context"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"text/template"
	"time"
	_ "time/tzdata" // Europe/Athens on machines without a zoneinfo database

	"dimos"
	"dimos/i18n"
)

// Mails of the account, each a template file per language under templates/<lang>/;
// the first line of a file is its subject.
const (
	mailActivation   = "activation"   // the activation link (M2)
	mailWelcome      = "welcome"      // user name and IVR PIN after activation (seed 002)
	mailNewPIN       = "new_pin"      // a forgotten PIN replaced (seed 000)
	mailReset        = "reset"        // the password reset link
	mailVerification = "verification" // how to be verified at a desk (M3)
)

var mailNames = []string{mailActivation, mailWelcome, mailNewPIN, mailReset, mailVerification}

// mailData is what the templates may show.
type mailData struct {
	Municipality string
	Name         string
	Username     string
	AccessCode   string
	Link         string
	PIN          string
	Doc          string
	ExpiresAt    time.Time
}

//go:embed templates/*/*.tmpl
var templateFiles embed.FS

var athens = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Athens")
	if err != nil {
		panic(err)
	}
	return loc
}()

var templates = mustParse()

func mustParse() map[string]*template.Template {
	funcs := template.FuncMap{
		"datetime": func(t time.Time) string { return t.In(athens).Format("02/01/2006 15:04") },
	}
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
			src := strings.ReplaceAll(string(b), "\r\n", "\n")
			name, isMail := strings.CutSuffix(strings.TrimSuffix(path.Base(p), ".tmpl"), ".mail")
			if !isMail {
				template.Must(set.New(name).Parse(src))
				continue
			}
			first, body, _ := strings.Cut(src, "\n")
			subject, found := strings.CutPrefix(first, "Subject:")
			if !found {
				panic(fmt.Sprintf("account: %s: first line must be \"Subject: …\"", p))
			}
			template.Must(set.New(name + ".subject").Parse(subject))
			template.Must(set.New(name + ".mail").Parse(body))
		}
		for _, m := range mailNames {
			if set.Lookup(m+".mail") == nil {
				panic(fmt.Sprintf("account: templates/%s lacks %s.mail.tmpl", lang, m))
			}
		}
		sets[lang] = set
	}
	return sets
}

// render executes a mail in the citizen's language.
func render(lang, name string, d mailData) (subject, body string, err error) {
	set := templates[i18n.Lang(lang)]
	var s, b bytes.Buffer
	if err := set.ExecuteTemplate(&s, name+".subject", d); err != nil {
		return "", "", err
	}
	if err := set.ExecuteTemplate(&b, name+".mail", d); err != nil {
		return "", "", err
	}
	return strings.Join(strings.Fields(s.String()), " "), strings.TrimLeft(b.String(), "\n"), nil
}

// mailKey names the event a mail tells of: "account/<id>/<name>/<n>", n telling one
// event from the next of the same kind (a token, a PIN). The mailer turns it into the
// Message-ID, so a resent mail is recognised as the same.
func mailKey(cit *dimos.Citizen, name string, n []byte) string {
	if len(n) > 8 {
		n = n[:8]
	}
	return fmt.Sprintf("account/%d/%s/%s", cit.ID, name, hex.EncodeToString(n))
}

// send renders a mail for the citizen and hands it to the mailer.
func (a *API) send(ctx context.Context, cit *dimos.Citizen, name string, n []byte, d mailData) error {
	if a.cfg.Mailer == nil {
		return errNoMailer
	}
	d.Municipality, d.Name, d.Username = a.cfg.Municipality, cit.FullName(), cit.Username
	if d.AccessCode == "" {
		d.AccessCode = cit.PhoneAccessCode
	}
	subject, body, err := render(cit.Lang, name, d)
	if err != nil {
		return fmt.Errorf("render %s mail: %w", name, err)
	}
	err = a.cfg.Mailer.SendMail(ctx, dimos.Mail{To: []string{cit.Email}, Subject: subject, Text: body, Key: mailKey(cit, name, n)})
	if err != nil {
		return fmt.Errorf("send %s mail: %w", name, err)
	}
	return nil
}
