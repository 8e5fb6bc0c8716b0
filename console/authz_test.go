package console

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"dimos"
)

// authzRole is one of the five roles, played by an employee of the test municipality.
// The "own" case is Maria's pothole, held by Technical Services (Maria, Dimitra and
// Kostas's service); the "other" case is Nikos's bins, held by Cleaning. Eleni the
// manager and the admin belong to no service.
var authzRoles = []struct {
	role     dimos.Role
	username string
}{
	{dimos.RoleClerk, "maria"},
	{dimos.RoleDirector, "dimitra"},
	{dimos.RoleDesk, "kostas"},
	{dimos.RoleManager, "eleni"},
	{dimos.RoleAdmin, "admin"},
}

// authzRule is who may use a route, one letter per role in authzRoles order
// (clerk, director, desk, manager, admin): Y allowed, - refused with 403. A route
// about a case has a rule for a case of the employee's own service (own) and one for
// a case of another service (other). A report route has a rule for a report of the
// employee's own service, named or not (own), and one for a report that asks for
// another service (other, ?service=CLEAN); any other route has own only.
type authzRule struct {
	own, other string
}

// authzTable is the console's access policy written out by hand, route by route. It
// is deliberately not derived from allowed: it is what allowed must agree with. A
// route the console registers without a row here fails TestAuthorizationMatrix.
var authzTable = map[string]authzRule{
	"GET /console":                                   {own: "YYYYY"}, // home: sends everyone on
	"POST /console/signout":                          {own: "YYYYY"},
	"GET /console/inbox":                             {own: "YYYYY"},
	"GET /console/inbox/rows":                        {own: "YYYYY"},
	"GET /console/search":                            {own: "YYYYY"},
	"GET /console/desk":                              {own: "--Y-Y"},
	"GET /console/desk/citizens/:id":                 {own: "--Y-Y"},
	"POST /console/desk/citizens/:id/verify":         {own: "--Y-Y"},
	"GET /console/admin/api-keys":                    {own: "----Y"},
	"POST /console/admin/api-keys":                   {own: "----Y"},
	"POST /console/admin/api-keys/:id/revoke":        {own: "----Y"},
	"GET /console/admin/audit":                       {own: "----Y"},
	"GET /console/admin/audit.csv":                   {own: "----Y"},
	"GET /console/cases/:number":                     {own: "YYYYY", other: "---YY"},
	"GET /console/cases/:number/attachments/:id":     {own: "YYYYY", other: "---YY"},
	"POST /console/cases/:number/assign":             {own: "YY---", other: "-----"},
	"POST /console/cases/:number/transfer":           {own: "YY---", other: "-----"},
	"POST /console/cases/:number/request-info":       {own: "YY---", other: "-----"},
	"POST /console/cases/:number/due-date":           {own: "YY---", other: "-----"},
	"POST /console/cases/:number/register-protocol":  {own: "YY---", other: "-----"},
	"POST /console/cases/:number/complete":           {own: "YY---", other: "-----"},
	"POST /console/cases/:number/reject":             {own: "YY---", other: "-----"},
	"POST /console/cases/:number/comment":            {own: "YYYY-", other: "---Y-"},
	"POST /console/cases/:number/attachments":        {own: "YYYY-", other: "---Y-"},
	"GET /console/admin/services":                    {own: "----Y"},
	"GET /console/admin/services/new":                {own: "----Y"},
	"POST /console/admin/services":                   {own: "----Y"},
	"GET /console/admin/services/:id":                {own: "----Y"},
	"POST /console/admin/services/:id":               {own: "----Y"},
	"POST /console/admin/services/:id/director":      {own: "----Y"},
	"GET /console/admin/employees":                   {own: "----Y"},
	"GET /console/admin/employees/new":               {own: "----Y"},
	"POST /console/admin/employees":                  {own: "----Y"},
	"GET /console/admin/employees/:id":               {own: "----Y"},
	"POST /console/admin/employees/:id":              {own: "----Y"},
	"POST /console/admin/employees/:id/active":       {own: "----Y"},
	"POST /console/admin/employees/:id/password":     {own: "----Y"},
	"GET /console/admin/categories":                  {own: "----Y"},
	"GET /console/admin/categories/new":              {own: "----Y"},
	"POST /console/admin/categories":                 {own: "----Y"},
	"GET /console/admin/categories/:code":            {own: "----Y"},
	"POST /console/admin/categories/:code":           {own: "----Y"},
	"POST /console/admin/categories/:code/templates": {own: "----Y"},
	"GET /console/admin/templates/:id":               {own: "----Y"},
	"POST /console/admin/templates/:id":              {own: "----Y"},
	"POST /console/admin/templates/:id/delete":       {own: "----Y"},
	"POST /console/cases/:number/merge":              {own: "YY---", other: "-----"},
	"GET /console/map":                               {own: "YYYYY"}, // what it shows is scoped like search
	"GET /console/map.json":                          {own: "YYYYY"},
	"GET /console/reports":                           {own: "-Y-YY", other: "---YY"}, // a director: their own service only
	"GET /console/reports/export.xlsx":               {own: "-Y-YY", other: "---YY"},
	"GET /console/reports/export.csv":                {own: "-Y-YY", other: "---YY"},
	"GET /console/reports/charts/:name":              {own: "-Y-YY", other: "---YY"},
}

// authzSkipped are the routes open to anyone, signed in or not.
var authzSkipped = map[string]bool{
	"GET /console/static/*":   true,
	"GET /console/signin":     true,
	"POST /console/signin":    true,
	"GET /console/lang/:lang": true,
}

func TestAuthorizationMatrix(t *testing.T) {
	var admin *fakeAdmin
	h := newHarness(t, withSearch(&fakeSearcher{}), withMap(), withReports(&fakeReports{}), func(cfg *Config) { cfg.APIKeys = newFakeAPIKeys(cfg.Now) },
		withAdminStore(&admin, &fakeRetarget{}))
	withAdmin(h)
	// An attachment on each case, so that a download reaches the case check.
	attachment := map[string]int64{}
	for _, number := range []string{numPothole, numBins} {
		a := &dimos.Attachment{CaseID: h.cases.cases[number].ID, Data: []byte("%PDF-1.4 plan")}
		a.Name, a.ContentType = "plan.pdf", "application/pdf"
		if err := h.files.SaveAttachment(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		attachment[number] = a.ID
	}

	// Every staff route the console registers, GET and POST (Fiber adds HEAD itself).
	var routes []string
	seen := map[string]bool{}
	for _, r := range h.app.GetRoutes(true) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost || !strings.HasPrefix(r.Path, "/console") {
			continue
		}
		key := r.Method + " " + strings.TrimSuffix(r.Path, "/")
		if authzSkipped[key] || seen[key] {
			continue
		}
		seen[key] = true
		routes = append(routes, key)
	}
	sort.Strings(routes)
	if len(routes) == 0 {
		t.Fatal("no console routes found")
	}
	for _, key := range routes {
		if _, ok := authzTable[key]; !ok {
			t.Errorf("route %s has no row in authzTable: decide who may use it and write it down", key)
		}
	}
	for key := range authzTable {
		if !seen[key] {
			t.Errorf("authzTable names %s, which the console does not register", key)
		}
	}

	for _, who := range authzRoles {
		b := h.signedIn(t, who.username)
		token := b.csrf(t, "/console/inbox")
		for _, key := range routes {
			rule, ok := authzTable[key]
			if !ok {
				continue
			}
			method, pattern, _ := strings.Cut(key, " ")
			type authzCase struct{ name, number, query, want string }
			cases := []authzCase{{"", numPothole, "", rule.own}}
			switch {
			case strings.Contains(pattern, ":number"):
				cases[0].name = "own service"
				cases = append(cases, authzCase{"other service", numBins, "", rule.other})
			case strings.HasPrefix(pattern, "/console/reports"):
				cases[0].name = "own service"
				cases = append(cases, authzCase{"other service", "", "?service=CLEAN", rule.other})
			case rule.other != "":
				t.Fatalf("%s: a rule for another service, but the route names neither a case nor a report", key)
			}
			for _, tc := range cases {
				if len(tc.want) != len(authzRoles) {
					t.Fatalf("%s %s: rule %q needs one letter per role", key, tc.name, tc.want)
				}
				path := strings.NewReplacer(
					":number", tc.number,
					":id/revoke", "1/revoke",
					// The admin pages: the own service's rows, and the template the fake starts with.
					"services/:id", "services/"+strconv.Itoa(svcTechnical),
					"employees/:id", "employees/"+strconv.Itoa(idGiorgos),
					"categories/:code", "categories/roads",
					"templates/:id", "templates/"+strconv.Itoa(tplRoads),
					"charts/:name", "charts/median.png",
					"citizens/:id", "citizens/"+strconv.Itoa(czAnna),
					"attachments/:id", "attachments/"+strconv.FormatInt(attachment[tc.number], 10),
				).Replace(pattern) + tc.query
				var p page
				if method == http.MethodPost {
					p = b.post(t, path, url.Values{fieldCSRF: {token}})
				} else {
					p = b.get(t, path)
				}
				allow := tc.want[roleIndex(who.role)] == 'Y'
				switch {
				case allow && p.StatusCode == http.StatusForbidden:
					t.Errorf("%s as %s (%s) %s: 403, want allowed", key, who.role, who.username, tc.name)
				case allow && p.StatusCode >= 500:
					t.Errorf("%s as %s (%s) %s: %d, want allowed", key, who.role, who.username, tc.name, p.StatusCode)
				case !allow && p.StatusCode != http.StatusForbidden:
					t.Errorf("%s as %s (%s) %s: %d, want 403", key, who.role, who.username, tc.name, p.StatusCode)
				}
				if key == "POST /console/signout" && p.StatusCode == http.StatusSeeOther {
					// Signed out: sign in again for the routes that follow.
					b = h.signedIn(t, who.username)
					token = b.csrf(t, "/console/inbox")
				}
			}
		}
	}
}

func roleIndex(r dimos.Role) int {
	for i, who := range authzRoles {
		if who.role == r {
			return i
		}
	}
	panic("unknown role " + string(r))
}
