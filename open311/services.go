package open311

import (
	"context"
	"encoding/xml"

	"github.com/gofiber/fiber/v2"

	"dimos"
)

type serviceOut struct {
	XMLName     xml.Name `xml:"service" json:"-"`
	Code        string   `xml:"service_code" json:"service_code"`
	Name        string   `xml:"service_name" json:"service_name"`
	Description string   `xml:"description" json:"description"`
	Metadata    bool     `xml:"metadata" json:"metadata"`
	Type        string   `xml:"type" json:"type"`
	Keywords    string   `xml:"keywords" json:"keywords"`
	Group       string   `xml:"group" json:"group"`
}

type definitionOut struct {
	XMLName     xml.Name       `xml:"service_definition" json:"-"`
	ServiceCode string         `xml:"service_code" json:"service_code"`
	Attributes  []attributeOut `xml:"attributes>attribute" json:"attributes"`
}

type attributeOut struct {
	Variable            bool       `xml:"variable" json:"variable"`
	Code                string     `xml:"code" json:"code"`
	Datatype            string     `xml:"datatype" json:"datatype"`
	Required            bool       `xml:"required" json:"required"`
	DatatypeDescription string     `xml:"datatype_description" json:"datatype_description"`
	Order               int        `xml:"order" json:"order"`
	Description         string     `xml:"description" json:"description"`
	Values              []valueOut `xml:"values>value,omitempty" json:"values,omitempty"`
}

type valueOut struct {
	Key  string `xml:"key" json:"key"`
	Name string `xml:"name" json:"name"`
}

// The attributes every service has, the same for all so that clients can rely on
// them: the kind of case, offered where the category accepts more than one, and the
// desired action of the portal's form (M6).
const (
	attrKind          = "kind"
	attrDesiredAction = "desired_action"
)

// citizenKinds are the kinds filed without a verified account; certificate
// applications need one (M3), so their categories are not offered here.
var citizenKinds = []dimos.Kind{dimos.KindRequest, dimos.KindComplaint, dimos.KindSuggestion}

// openKinds returns the kinds the open API may file under cat, in form order.
func openKinds(cat *dimos.Category) []dimos.Kind {
	var out []dimos.Kind
	for _, k := range citizenKinds {
		if cat.Allows(k) {
			out = append(out, k)
		}
	}
	return out
}

// defaultKind is a request where the category takes requests, otherwise its first
// kind (e.g. a category for complaints only).
func defaultKind(cat *dimos.Category) dimos.Kind {
	return openKinds(cat)[0]
}

// attributes defines a category's attributes.
func attributes(cat *dimos.Category) []attributeOut {
	var out []attributeOut
	if kinds := openKinds(cat); len(kinds) > 1 {
		a := attributeOut{Variable: true, Code: attrKind, Datatype: "singlevaluelist",
			DatatypeDescription: both("open311.attr.kind.datatype"), Order: 1, Description: both("open311.attr.kind")}
		for _, k := range kinds {
			a.Values = append(a.Values, valueOut{Key: string(k), Name: both("kind." + string(k))})
		}
		out = append(out, a)
	}
	return append(out, attributeOut{Variable: true, Code: attrDesiredAction, Datatype: "text",
		DatatypeDescription: both("open311.attr.desired_action.datatype"), Order: len(out) + 1,
		Description: both("open311.attr.desired_action")})
}

// offered returns the category if the open API offers it: it exists, is active and
// takes a kind a citizen files without a verified account.
func (a *API) offered(ctx context.Context, code string) (*dimos.Category, error) {
	cat, err := a.cfg.Directory.CategoryByCode(ctx, code)
	if dimos.ErrorCode(err) == dimos.ENOTFOUND || err == nil && len(openKinds(cat)) == 0 {
		return nil, dimos.Errorf(dimos.ENOTFOUND, "open311.error.service_code")
	}
	return cat, err
}

// serviceNames caches the responsible services' names within one request.
type serviceNames struct {
	dir   dimos.Directory
	names map[int64]*dimos.Service
}

func (s *serviceNames) get(ctx context.Context, id int64) (*dimos.Service, error) {
	if sv, ok := s.names[id]; ok {
		return sv, nil
	}
	sv, err := s.dir.ServiceByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.names == nil {
		s.names = map[int64]*dimos.Service{}
	}
	s.names[id] = sv
	return sv, nil
}

func (a *API) services(c *fiber.Ctx) error {
	f, err := formatOf(c)
	if err == nil {
		err = a.checkJurisdiction(c.Query("jurisdiction_id"))
	}
	if err != nil {
		return a.fail(c, f, err)
	}
	ctx := c.UserContext()
	cats, err := a.cfg.Directory.Categories(ctx)
	if err != nil {
		return a.fail(c, f, err)
	}
	names := serviceNames{dir: a.cfg.Directory}
	var out []serviceOut
	for _, cat := range cats {
		if len(openKinds(cat)) == 0 {
			continue
		}
		sv, err := names.get(ctx, cat.ServiceID)
		if err != nil {
			return a.fail(c, f, err)
		}
		out = append(out, serviceOut{Code: cat.Code, Name: cat.NameEL, Description: cat.NameEL + " / " + cat.NameEN,
			Metadata: true, Type: "realtime", Keywords: cat.NameEN, Group: sv.NameEL})
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	return send(c, f, fiber.StatusOK, "services", out)
}

func (a *API) serviceDefinition(c *fiber.Ctx) error {
	f, err := formatOf(c)
	if err == nil {
		err = a.checkJurisdiction(c.Query("jurisdiction_id"))
	}
	if err != nil {
		return a.fail(c, f, err)
	}
	cat, err := a.offered(c.UserContext(), c.Params("code"))
	if err != nil {
		return a.fail(c, f, err)
	}
	d := definitionOut{ServiceCode: cat.Code, Attributes: attributes(cat)}
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	if f == formatXML {
		return sendXML(c, fiber.StatusOK, d)
	}
	return sendJSON(c, fiber.StatusOK, d)
}
