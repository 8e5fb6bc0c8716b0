package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// browser is a staff member's browser: it keeps cookies and sends back the CSRF
// token of the form it was shown. It follows no redirects, so a decision is timed
// as the POST the console answers with 303, not with the page that follows.
type browser struct {
	base string
	http *http.Client
}

func newBrowser(base string, timeout time.Duration) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{base: base, http: &http.Client{Jar: jar, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(ctx context.Context, method, path string, body io.Reader, contentType string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, body)
	if err != nil {
		return 0, "", err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), err
}

func (b *browser) get(ctx context.Context, path string) (int, string, error) {
	return b.do(ctx, http.MethodGet, path, nil, "")
}

var (
	csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	issuedKey = regexp.MustCompile(`id="issued-key" value="([^"]+)"`)
)

// postForm posts fields with the CSRF token of page, as the browser would.
func (b *browser) postForm(ctx context.Context, path, page string, fields map[string]string) (int, string, error) {
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		return 0, "", errors.New("no CSRF token on the page")
	}
	form := url.Values{"_csrf": {html.UnescapeString(m[1])}}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		form.Set(k, fields[k])
	}
	return b.do(ctx, http.MethodPost, path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

func (b *browser) signIn(ctx context.Context, username, password string) error {
	_, page, err := b.get(ctx, "/console/signin")
	if err != nil {
		return err
	}
	code, _, err := b.postForm(ctx, "/console/signin", page, map[string]string{"username": username, "password": password})
	if err == nil && code != http.StatusSeeOther {
		err = fmt.Errorf("sign-in as %s answered %d", username, code)
	}
	return err
}

// decide posts a decision form of a case page; the console answers 303 when the
// workflow took it.
func (b *browser) decide(ctx context.Context, number, name, page string, fields map[string]string) error {
	code, body, err := b.postForm(ctx, "/console/cases/"+number+"/"+name, page, fields)
	switch {
	case err != nil:
		return err
	case code == http.StatusConflict:
		return fmt.Errorf("%s of %s: %w: %s", name, number, errConflict, excerpt(body))
	case code != http.StatusSeeOther:
		return fmt.Errorf("%s of %s answered %d: %s", name, number, code, excerpt(body))
	}
	return nil
}

// errConflict is the console's 409: the workflow refused the decision in its state.
var errConflict = errors.New("refused by the workflow (409)")

// excerpt is the start of an error page's main text, for the first-error line.
func excerpt(body string) string {
	if i := strings.Index(body, `role="alert"`); i >= 0 {
		body = body[i:]
	}
	body = regexp.MustCompile(`<[^>]+>|\s+`).ReplaceAllString(body, " ")
	if len(body) > 200 {
		body = body[:200]
	}
	return strings.TrimSpace(body)
}

var optionRe = regexp.MustCompile(`<option value="(\d+)"[^>]*>([^<]*)</option>`)

// optionFor finds the value of the assignment form's option that names fullName.
func optionFor(page, fullName string) (string, bool) {
	start := strings.Index(page, `name="employee"`)
	if start < 0 {
		return "", false
	}
	end := strings.Index(page[start:], "</select>")
	if end < 0 {
		return "", false
	}
	for _, m := range optionRe.FindAllStringSubmatch(page[start:start+end], -1) {
		if strings.Contains(html.UnescapeString(m[2]), fullName) {
			return m[1], true
		}
	}
	return "", false
}

// The citizens' side.

var (
	streets = []string{"Ρούσσου Κουνδούρου", "25ης Μαρτίου", "Κονδυλάκη", "Ερμού", "Κοραή", "Λασιθίου", "Ιδομενέως"}
	firsts  = []string{"Ελένη", "Γιώργος", "Μαρία", "Νίκος", "Κατερίνα", "Μανώλης"}
	lasts   = []string{"Παππά", "Μαυράκης", "Σφακιανάκη", "Δασκαλάκης", "Τζανάκη", "Αλεξάκης"}
)

func (a *actor) person() (first, last, email, phone string) {
	a.seq++
	return firsts[a.r.IntN(len(firsts))], lasts[a.r.IntN(len(lasts))],
		fmt.Sprintf("loadgen%d@example.gr", a.r.IntN(1_000_000)), fmt.Sprintf("69%08d", a.r.IntN(100_000_000))
}

// PortalBody is the JSON of the n-th of a portal's submissions (POST /api/v1/cases),
// of a kind in a category: each from another citizen, on one of a few streets, and
// one in three with a phone and a point on the map. loadgen's citizens file these,
// and BenchmarkIntake POSTs them.
func PortalBody(n int, category, kind string) []byte {
	street := streets[n%len(streets)]
	contact := map[string]string{"first_name": firsts[n%len(firsts)], "last_name": lasts[n/len(firsts)%len(lasts)],
		"email": fmt.Sprintf("citizen%d@example.gr", n)}
	body := map[string]any{"kind": kind, "category": category,
		"subject": "Πρόβλημα στην οδό " + street, "text": fmt.Sprintf("Παρακαλώ ελέγξτε το σημείο στην οδό %s %d.", street, n%90+1),
		"desired_action": "Αποκατάσταση", "contact": contact}
	if n%3 == 0 {
		contact["phone"] = fmt.Sprintf("69%08d", n%100_000_000)
		body["location"] = map[string]float64{"lat": 35.19 + float64(n%100)/10000, "lon": 25.71 + float64(n%70)/10000}
	}
	b, _ := json.Marshal(body)
	return b
}

func (a *actor) submitPortal(ctx context.Context, category string) (string, error) {
	body := PortalBody(a.r.IntN(1_000_000), category, "complaint")
	code, resp, err := a.post(ctx, "/api/v1/cases", "application/json", body)
	if err != nil {
		return "", err
	}
	var out struct{ Number string }
	if code != http.StatusCreated || json.Unmarshal([]byte(resp), &out) != nil || out.Number == "" {
		return "", fmt.Errorf("portal answered %d: %.200s", code, resp)
	}
	return out.Number, nil
}

func (a *actor) submitOpen311(ctx context.Context, category string) (string, error) {
	first, last, email, phone := a.person()
	street := streets[a.r.IntN(len(streets))]
	form := url.Values{"api_key": {a.g.cfg.Open311Key}, "jurisdiction_id": {a.g.cfg.Jurisdiction},
		"service_code": {category}, "lat": {strconv.FormatFloat(35.19+a.r.Float64()/100, 'f', 6, 64)},
		"long": {strconv.FormatFloat(25.71+a.r.Float64()/100, 'f', 6, 64)}, "address_string": {street + " 12"},
		"description": {"Αναφορά από εφαρμογή κινητού για την οδό " + street + "."},
		"first_name":  {first}, "last_name": {last}, "email": {email}, "phone": {phone}}
	code, resp, err := a.post(ctx, "/open311/v2/requests.json", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if err != nil {
		return "", err
	}
	var out []struct {
		ID string `json:"service_request_id"`
	}
	if code != http.StatusCreated || json.Unmarshal([]byte(resp), &out) != nil || len(out) != 1 || out[0].ID == "" {
		return "", fmt.Errorf("open311 answered %d: %.200s", code, resp)
	}
	return out[0].ID, nil
}

func (a *actor) post(ctx context.Context, path, contentType string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := a.citizen.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), err
}

func (a *actor) expectStatus(ctx context.Context, number, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/api/v1/cases/"+number+"/status", nil)
	if err != nil {
		return err
	}
	resp, err := a.citizen.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct{ Status string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return err
	}
	if out.Status != want {
		return fmt.Errorf("case %s is %q, not %q", number, out.Status, want)
	}
	return nil
}

// twiml is the part of a TwiML answer the caller follows: the next action and what
// was said.
type twiml struct {
	Gather []struct {
		Action string   `xml:"action,attr"`
		Say    []string `xml:"Say"`
	} `xml:"Gather"`
	Record []struct {
		Action string `xml:"action,attr"`
	} `xml:"Record"`
	Say []string `xml:"Say"`
}

var spokenNumber = regexp.MustCompile(`(\d(?: \d){3}), (\d(?: \d){5,})`)

// call is a phone call from a caller the municipality does not know: at the menu
// 2 (requests and complaints), the category's place in the list, a recorded
// message, 4 to submit, 1 to be called back; the number is spoken at the end.
// Every webhook is timed on its own too.
func (a *actor) call(ctx context.Context, category string) (string, error) {
	sid := fmt.Sprintf("CA%032x", a.r.Uint64())
	from := fmt.Sprintf("+3069%08d", a.r.IntN(100_000_000))
	rec := a.g.recBase + sid + ".wav"
	steps := []url.Values{
		{},                      // the greeting offers the access code: no
		{"Digits": {"2"}},       // identify: go on without it
		{"Digits": {"2"}},       // menu: requests and complaints
		{"Digits": {"@"}},       // category: filled in below
		{"RecordingUrl": {rec}}, // the recording
		{"Digits": {"4"}},       // review: submit
		{"Digits": {"1"}},       // call me back
	}
	next := a.base + "/ivr/voice"
	var said []string
	var last twiml
	for i, form := range steps {
		form.Set("CallSid", sid)
		form.Set("From", from)
		form.Set("To", "+302841000000")
		if form.Get("Digits") == "@" {
			digit, ok := topicDigit(last, a.g.names[category])
			if !ok {
				return "", fmt.Errorf("the phone menu does not offer %s", category)
			}
			form.Set("Digits", digit)
		}
		var t twiml
		err := a.timed("ivr.webhook", func() error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, next, strings.NewReader(form.Encode()))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := a.citizen.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("webhook %d answered %d", i, resp.StatusCode)
			}
			return xml.NewDecoder(resp.Body).Decode(&t)
		})
		if err != nil {
			return "", err
		}
		said = append(said, t.Say...)
		last = t
		switch {
		case i == len(steps)-1:
		case len(t.Record) > 0 && steps[i+1].Has("RecordingUrl"):
			next = a.local(t.Record[0].Action)
		case len(t.Gather) > 0:
			next = a.local(t.Gather[0].Action)
		default:
			return "", fmt.Errorf("webhook %d gave no way on: %v", i, t.Say)
		}
	}
	m := spokenNumber.FindStringSubmatch(strings.Join(said, " "))
	if m == nil {
		return "", fmt.Errorf("the call ended without a case number: %v", said)
	}
	return strings.ReplaceAll(m[1], " ", "") + "-" + strings.ReplaceAll(m[2], " ", ""), nil
}

// local points an action URL of the phone line at the console this actor drives:
// the actions name DIMOS_IVR_PUBLIC_URL, which a provider reaches through the
// municipality's front door and a load generator need not.
func (a *actor) local(action string) string {
	u, err := url.Parse(action)
	if err != nil {
		return action
	}
	return a.base + u.RequestURI()
}

var topicItem = regexp.MustCompile(`(\d+)\.?\s*$`)

// topicDigit finds the key the category prompt gives for the category named name.
func topicDigit(t twiml, name string) (string, bool) {
	for _, g := range t.Gather {
		for _, s := range g.Say {
			if m := topicItem.FindStringSubmatch(s); m != nil && strings.Contains(s, name) {
				return m[1], true
			}
		}
	}
	return "", false
}

// phoneMenu calls once to hear which categories the phone menu offers for
// complaints (it names only the first few), and keeps those with staff.
func (g *gen) phoneMenu(ctx context.Context) ([]string, error) {
	a := g.newActor(1 << 40)
	a.base = g.bases[0]
	sid := fmt.Sprintf("CA%032x", a.r.Uint64())
	next := a.base + "/ivr/voice"
	var t twiml
	for _, digits := range []string{"", "2", "2"} {
		form := url.Values{"CallSid": {sid}, "From": {"+306900000000"}, "To": {"+302841000000"}}
		if digits != "" {
			form.Set("Digits", digits)
		}
		resp, err := http.Post(next, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		t = twiml{}
		err = xml.NewDecoder(resp.Body).Decode(&t)
		resp.Body.Close()
		if err != nil || len(t.Gather) == 0 {
			return nil, fmt.Errorf("phone menu: %v", err)
		}
		next = a.local(t.Gather[0].Action)
	}
	var offered []string
	for _, code := range g.categories {
		if _, ok := topicDigit(t, g.names[code]); ok {
			offered = append(offered, code)
		}
	}
	if len(offered) == 0 {
		return nil, errors.New("the phone menu offers none of the categories with staff")
	}
	return offered, nil
}

// categoryNames reads the Greek name of every category from the citizen API.
func (g *gen) categoryNames(ctx context.Context) (map[string]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.cfg.BaseURL+"/api/v1/categories", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []struct {
		Code string
		Name struct{ El string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("categories: %w", err)
	}
	names := map[string]string{}
	for _, c := range out {
		names[c.Code] = c.Name.El
	}
	return names, nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
