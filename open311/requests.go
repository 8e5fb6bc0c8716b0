package open311

import (
	"encoding/xml"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
	"dimos/workdays"
)

// requestOut is a service request as GET requests shows it. Empty optional fields
// are left out.
type requestOut struct {
	XMLName           xml.Name `xml:"request" json:"-"`
	ID                string   `xml:"service_request_id" json:"service_request_id"`
	Status            string   `xml:"status" json:"status"`
	StatusNotes       string   `xml:"status_notes" json:"status_notes"`
	ServiceName       string   `xml:"service_name" json:"service_name"`
	ServiceCode       string   `xml:"service_code" json:"service_code"`
	Description       string   `xml:"description,omitempty" json:"description,omitempty"`
	AgencyResponsible string   `xml:"agency_responsible" json:"agency_responsible"`
	RequestedDatetime string   `xml:"requested_datetime" json:"requested_datetime"`
	UpdatedDatetime   string   `xml:"updated_datetime" json:"updated_datetime"`
	ExpectedDatetime  string   `xml:"expected_datetime,omitempty" json:"expected_datetime,omitempty"`
	Address           string   `xml:"address,omitempty" json:"address,omitempty"`
	Lat               *float64 `xml:"lat,omitempty" json:"lat,omitempty"`
	Long              *float64 `xml:"long,omitempty" json:"long,omitempty"`
}

func toRequest(r dimos.ServiceRequest) requestOut {
	out := requestOut{
		ID: r.Number, Status: "open", StatusNotes: i18n.T(i18n.Greek, "stage."+string(r.Stage)),
		ServiceName: r.CategoryNameEL, ServiceCode: r.CategoryCode, Description: clip(r.Text, maxDescriptionLen),
		AgencyResponsible: r.ServiceNameEL, RequestedDatetime: datetime(r.SubmittedAt),
		UpdatedDatetime: datetime(r.UpdatedAt), ExpectedDatetime: datetime(expected(r)), Address: r.Address,
	}
	if r.Closed() {
		out.Status = "closed"
	}
	if r.HasPoint {
		lat, long := r.Lat, r.Lon
		out.Lat, out.Long = &lat, &long
	}
	return out
}

// expected is when an open case should be done: the date its clerk set, or else its
// category's completion target counted in Greek working days from submission (the
// clock without the pauses, which the open API does not see).
func expected(r dimos.ServiceRequest) time.Time {
	switch {
	case r.Closed():
		return time.Time{}
	case !r.DueDate.IsZero():
		return r.DueDate
	case r.CompletionDays > 0:
		return workdays.Greek().AddWorkingDuration(r.SubmittedAt, time.Duration(r.CompletionDays*float64(24*time.Hour)))
	}
	return time.Time{}
}

// clip shortens s to max characters: a portal case may be longer than the
// specification's description allows.
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}

// Limits of GET requests (GeoReport v2): 90 days by default and at most, 1000 answers.
const (
	maxRange = 90 * 24 * time.Hour
	maxIDs   = 1000
)

// query reads a query parameter, refusing invalid UTF-8 and NUL, which PostgreSQL
// refuses in text (a 500 until the fuzzer sent service_code=%00).
func query(c *fiber.Ctx, v *dimos.Validation, name string) string {
	s := strings.TrimSpace(c.Query(name))
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		v.Add(name, "field.utf8")
		return ""
	}
	return s
}

// commaList splits a comma-delimited parameter, dropping empty items.
func commaList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// filter reads the parameters of GET requests. A list of ids overrides every other
// parameter, as the specification says.
func (a *API) filter(c *fiber.Ctx) (dimos.ServiceRequestFilter, error) {
	var v dimos.Validation
	var f dimos.ServiceRequestFilter
	if err := a.checkJurisdiction(query(c, &v, "jurisdiction_id")); err != nil {
		return f, err
	}
	if ids := commaList(query(c, &v, "service_request_id")); len(ids) > 0 {
		if len(ids) > maxIDs {
			v.Add("service_request_id", "open311.error.too_many_ids")
		}
		for _, id := range ids {
			n, ok := dimos.ParseCaseNumber(id)
			if !ok {
				v.Add("service_request_id", "open311.error.request_id")
				break
			}
			f.Numbers = append(f.Numbers, n)
		}
		return f, v.Err()
	}
	f.CategoryCodes = commaList(query(c, &v, "service_code"))
	for _, s := range commaList(query(c, &v, "status")) {
		switch strings.ToLower(s) {
		case "open":
			f.Open = true
		case "closed":
			f.Closed = true
		default:
			v.Add("status", "open311.error.status")
		}
	}
	from := date(&v, "start_date", query(c, &v, "start_date"))
	to := date(&v, "end_date", query(c, &v, "end_date"))
	switch {
	case from.IsZero() && to.IsZero():
		to = a.cfg.Now()
		from = to.Add(-maxRange)
	case to.IsZero():
		to = from.Add(maxRange)
	case from.IsZero():
		from = to.Add(-maxRange)
	}
	if to.Before(from) || to.Sub(from) > maxRange {
		v.Add("end_date", "open311.error.date_range")
	}
	// end_date is inclusive: a request made at that very instant is listed.
	f.From, f.To = from, to.Add(time.Microsecond)
	f.Limit = maxIDs
	return f, v.Err()
}

// date parses a W3C datetime (RFC 3339); "" is the zero time.
func date(v *dimos.Validation, field, s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		v.Add(field, "open311.error.date")
	}
	return t
}

// requests lists service requests: GET requests.{format}.
func (a *API) requests(c *fiber.Ctx) error {
	f, err := formatOf(c)
	if err != nil {
		return a.fail(c, f, err)
	}
	filter, err := a.filter(c)
	if err != nil {
		return a.fail(c, f, err)
	}
	rs, err := a.cfg.Requests.ServiceRequests(c.UserContext(), filter)
	if err != nil {
		return a.fail(c, f, err)
	}
	out := make([]requestOut, 0, len(rs))
	for _, r := range rs {
		out = append(out, toRequest(r))
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return send(c, f, fiber.StatusOK, "service_requests", out)
}

// find returns one request by its number; a malformed number is the client's error,
// an unknown or private one is not found.
func (a *API) find(c *fiber.Ctx, id string) (dimos.ServiceRequest, error) {
	n, ok := dimos.ParseCaseNumber(id)
	if !ok {
		return dimos.ServiceRequest{}, &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid",
			Fields: []dimos.FieldError{{Field: "service_request_id", Key: "open311.error.request_id"}}}
	}
	rs, err := a.cfg.Requests.ServiceRequests(c.UserContext(), dimos.ServiceRequestFilter{Numbers: []string{n}, Limit: 1})
	if err != nil {
		return dimos.ServiceRequest{}, err
	}
	if len(rs) == 0 {
		return dimos.ServiceRequest{}, dimos.Errorf(dimos.ENOTFOUND, "error.case.not_found")
	}
	return rs[0], nil
}

// request shows one service request: GET requests/{id}.{format}.
func (a *API) request(c *fiber.Ctx) error {
	f, err := formatOf(c)
	if err == nil {
		err = a.checkJurisdiction(c.Query("jurisdiction_id"))
	}
	if err != nil {
		return a.fail(c, f, err)
	}
	r, err := a.find(c, c.Params("id"))
	if err != nil {
		return a.fail(c, f, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return send(c, f, fiber.StatusOK, "service_requests", []requestOut{toRequest(r)})
}

type tokenOut struct {
	XMLName xml.Name `xml:"request" json:"-"`
	ID      string   `xml:"service_request_id" json:"service_request_id"`
	Token   string   `xml:"token" json:"token"`
}

// token answers GET tokens/{token}.{format}. dimos files synchronously and answers
// POST with the service_request_id itself, so the only tokens are case numbers, each
// standing for itself.
func (a *API) token(c *fiber.Ctx) error {
	f, err := formatOf(c)
	if err == nil {
		err = a.checkJurisdiction(c.Query("jurisdiction_id"))
	}
	if err != nil {
		return a.fail(c, f, err)
	}
	token := c.Params("token")
	r, err := a.find(c, token)
	if dimos.ErrorCode(err) == dimos.EINVALID {
		err = dimos.Errorf(dimos.ENOTFOUND, "error.case.not_found")
	}
	if err != nil {
		return a.fail(c, f, err)
	}
	return send(c, f, fiber.StatusOK, "service_requests", []tokenOut{{ID: r.Number, Token: token}})
}
