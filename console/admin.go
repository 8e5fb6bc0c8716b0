package console

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
)

// The admins' pages of the directory: services and their directors, employees,
// categories with their routing and clocks, and each category's response templates
// (admin_employees.go, admin_categories.go). Every change is audited with the fields
// it changed, before and after; a refused form comes back with what was typed and
// each field's reason, 400 when the input is wrong and 409 when a code or username
// is taken.

// Retargeter tells the workflows of open cases that their category's clocks changed;
// workflows.Dispatcher implements it.
type Retargeter interface {
	Retarget(ctx context.Context, numbers []string, t dimos.Targets) (int, error)
}

const (
	pathAdminServices   = "/console/admin/services"
	pathAdminEmployees  = "/console/admin/employees"
	pathAdminCategories = "/console/admin/categories"
	pathAdminTemplates  = "/console/admin/templates"

	auditServiceCreate   = "admin.service.create"
	auditServiceUpdate   = "admin.service.update"
	auditServiceDirector = "admin.service.director"
)

func serviceAdminPath(id int64) string { return pathAdminServices + "/" + strconv.FormatInt(id, 10) }

func (con *Console) admin() (dimos.AdminStore, error) {
	if con.cfg.Admin == nil {
		return nil, dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable")
	}
	return con.cfg.Admin, nil
}

// mountAdmin registers the admins' directory pages; Mount calls it.
func (con *Console) mountAdmin(g fiber.Router) {
	svc, emp, cat := con.staff(actAdminServices), con.staff(actAdminEmployees), con.staff(actAdminCategories)
	g.Get("/admin/services", svc, con.servicesPage)
	g.Get("/admin/services/new", svc, con.newServicePage)
	g.Post("/admin/services", svc, con.checkCSRF, con.createService)
	g.Get("/admin/services/:id", svc, con.servicePage)
	g.Post("/admin/services/:id", svc, con.checkCSRF, con.updateService)
	g.Post("/admin/services/:id/director", svc, con.checkCSRF, con.setDirector)
	g.Get("/admin/employees", emp, con.employeesPage)
	g.Get("/admin/employees/new", emp, con.newEmployeePage)
	g.Post("/admin/employees", emp, con.checkCSRF, con.createEmployee)
	g.Get("/admin/employees/:id", emp, con.employeePage)
	g.Post("/admin/employees/:id", emp, con.checkCSRF, con.updateEmployee)
	g.Post("/admin/employees/:id/active", emp, con.checkCSRF, con.setEmployeeActive)
	g.Post("/admin/employees/:id/password", emp, con.checkCSRF, con.setEmployeePassword)
	g.Get("/admin/categories", cat, con.categoriesPage)
	g.Get("/admin/categories/new", cat, con.newCategoryPage)
	g.Post("/admin/categories", cat, con.checkCSRF, con.createCategory)
	g.Get("/admin/categories/:code", cat, con.categoryPage)
	g.Post("/admin/categories/:code", cat, con.checkCSRF, con.updateCategory)
	g.Post("/admin/categories/:code/templates", cat, con.checkCSRF, con.createTemplate)
	g.Get("/admin/templates/:id", cat, con.templatePage)
	g.Post("/admin/templates/:id", cat, con.checkCSRF, con.updateTemplate)
	g.Post("/admin/templates/:id/delete", cat, con.checkCSRF, con.deleteTemplate)
}

// --- shared by the admin pages ---

// input describes one text input of an admin form for the admin-input partial.
type adminInput struct {
	Form      formState
	Name, ID  string
	LabelKey  string
	HintKey   string
	Type      string // text, email, tel, number, password or textarea
	Required  bool
	MaxLength int
	Auto      string // the autocomplete attribute, "off" when empty
}

// Input describes the form's input name for the admin-input partial; opts are, in
// order, the type (text when empty), "required", and a hint key.
func (f formState) Input(name, id, label string, opts ...string) adminInput {
	in := adminInput{Form: f, Name: name, ID: id, LabelKey: label, Type: "text", MaxLength: dimos.MaxNameLen, Auto: "off"}
	if len(opts) > 0 && opts[0] != "" {
		in.Type = opts[0]
	}
	if len(opts) > 1 {
		in.Required = opts[1] == "required"
	}
	if len(opts) > 2 {
		in.HintKey = opts[2]
	}
	switch in.Type {
	case "textarea":
		in.MaxLength = dimos.MaxTemplateBodyLen
	case "password":
		in.MaxLength, in.Auto = dimos.MaxPasswordBytes, "new-password"
	}
	return in
}

// DescribedBy is the input's aria-describedby: its hint and its errors.
func (in adminInput) DescribedBy() string {
	var ids []string
	if in.HintKey != "" {
		ids = append(ids, in.ID+"-hint")
	}
	if in.Form.Invalid(in.Name) {
		ids = append(ids, in.ID+"-errors")
	}
	return strings.Join(ids, " ")
}

// refused reports a save the admin can correct, with its status: 400 for a bad
// field, 409 for a code or username already taken.
func adminRefusal(err error) (*dimos.Error, int, bool) {
	var e *dimos.Error
	if errors.As(err, &e) && (e.Code == dimos.EINVALID || e.Code == dimos.ECONFLICT) {
		return e, dimos.HTTPStatus(e.Code), true
	}
	return nil, 0, false
}

// refusedForm puts a refusal on the form that caused it.
func withRefusal(f formState, e *dimos.Error) formState {
	f.ErrorKey, f.Errors = e.Key, e.Fields
	if e.Key == "" {
		f.ErrorKey = "error.invalid"
	}
	return f
}

// auditChanges writes the audit detail of an edit: each changed field as
// "field: before → after", so that the log alone tells what an admin changed.
type auditChanges []string

func (c *auditChanges) add(field string, before, after any) {
	b, a := fmt.Sprint(before), fmt.Sprint(after)
	if b != a {
		*c = append(*c, fmt.Sprintf("%s: %q → %q", field, b, a))
	}
}

func (c auditChanges) String() string { return truncate(strings.Join(c, "; "), 2000) }

// pathID reads the numeric id of the route; anything else is the page not found.
func adminPathID(c *fiber.Ctx, notFoundKey string) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, dimos.Errorf(dimos.ENOTFOUND, notFoundKey)
	}
	return id, nil
}

// doneKey is the notice of the ?done= query, from the admin pages' own list.
func adminDoneKey(c *fiber.Ctx) string {
	if d := c.Query("done"); d != "" && i18n.Has("admin.done."+d) {
		return "admin.done." + d
	}
	return ""
}

// formValues copies the named fields of the posted form, trimmed: Fiber's values
// live only as long as the request.
func adminFormValues(c *fiber.Ctx, names ...string) map[string]string {
	v := make(map[string]string, len(names))
	for _, n := range names {
		v[n] = strings.TrimSpace(strings.Clone(c.FormValue(n)))
	}
	return v
}

// --- services ---

type servicesView struct {
	pageView
	Services []serviceRow
	DoneKey  string
}

type serviceRow struct {
	dimos.ServiceRecord
	Director string
	Path     string
}

type serviceView struct {
	pageView
	New          bool
	Action       string
	Service      dimos.ServiceRecord
	Form         formState
	DirectorForm formState
	Directors    []option // the service's active directors
	DoneKey      string
}

func (con *Console) servicesPage(c *fiber.Ctx) error {
	store, err := con.admin()
	if err != nil {
		return con.fail(c, err)
	}
	ctx := c.UserContext()
	svcs, err := store.AdminServices(ctx)
	if err != nil {
		return con.fail(c, err)
	}
	v := servicesView{pageView: con.page(c, pathAdminServices), DoneKey: adminDoneKey(c)}
	names := newNamer(con.cfg.Directory, v.Lang)
	for _, s := range svcs {
		row := serviceRow{ServiceRecord: s, Path: serviceAdminPath(s.ID)}
		if row.Director, err = names.employee(ctx, s.DirectorID); err != nil {
			return con.fail(c, err)
		}
		v.Services = append(v.Services, row)
	}
	return con.render(c, fiber.StatusOK, "admin-services", v)
}

var serviceFields = []string{"code", "name_el", "name_en", "email", "active"}

func (con *Console) newServicePage(c *fiber.Ctx) error {
	if _, err := con.admin(); err != nil {
		return con.fail(c, err)
	}
	v := serviceView{pageView: con.page(c, pathAdminServices+"/new"), New: true, Action: pathAdminServices,
		Form: formState{Name: "service", Values: map[string]string{"active": "1"}, fields: serviceFields}}
	return con.render(c, fiber.StatusOK, "admin-service", v)
}

func (con *Console) servicePage(c *fiber.Ctx) error {
	v, err := con.serviceView(c)
	if err != nil {
		return con.fail(c, err)
	}
	v.DoneKey = adminDoneKey(c)
	return con.render(c, fiber.StatusOK, "admin-service", v)
}

// serviceView loads the service of the route into its edit page.
func (con *Console) serviceView(c *fiber.Ctx) (serviceView, error) {
	store, err := con.admin()
	if err != nil {
		return serviceView{}, err
	}
	id, err := adminPathID(c, "admin.error.service_not_found")
	if err != nil {
		return serviceView{}, err
	}
	ctx := c.UserContext()
	s, err := store.AdminService(ctx, id)
	if err != nil {
		return serviceView{}, err
	}
	v := serviceView{pageView: con.page(c, serviceAdminPath(id)), Action: serviceAdminPath(id), Service: s}
	v.Form = formState{Name: "service", fields: serviceFields, Values: map[string]string{
		"code": s.Code, "name_el": s.NameEL, "name_en": s.NameEN, "email": s.Email, "active": checkedValue(s.Active)}}
	v.DirectorForm = formState{Name: "director", fields: []string{"director"},
		Values: map[string]string{"director": optionID(s.DirectorID)}}
	directors, err := store.AdminEmployees(ctx, dimos.EmployeeFilter{ServiceID: id, Role: dimos.RoleDirector, Active: "yes"})
	if err != nil {
		return v, err
	}
	for _, e := range directors {
		v.Directors = append(v.Directors, option{Value: optionID(e.ID), Label: orDefault(e.FullName, e.Username)})
	}
	return v, nil
}

func checkedValue(b bool) string {
	if b {
		return "1"
	}
	return ""
}

func optionID(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// serviceForm reads the posted service form.
func serviceForm(c *fiber.Ctx) (formState, dimos.ServiceRecord) {
	f := formState{Name: "service", fields: serviceFields, Values: adminFormValues(c, serviceFields...)}
	s := dimos.ServiceRecord{Service: dimos.Service{Code: f.Values["code"], NameEL: f.Values["name_el"],
		NameEN: f.Values["name_en"], Email: f.Values["email"]}, Active: f.Values["active"] != ""}
	return f, s
}

func (con *Console) createService(c *fiber.Ctx) error {
	st := staffOf(c)
	store, err := con.admin()
	if err != nil {
		return con.fail(c, err)
	}
	f, s := serviceForm(c)
	err = s.Validate()
	if err == nil {
		err = store.SaveService(c.UserContext(), &s)
	}
	if e, status, ok := adminRefusal(err); ok {
		v := serviceView{pageView: con.page(c, pathAdminServices+"/new"), New: true, Action: pathAdminServices,
			Form: withRefusal(f, e)}
		return con.render(c, status, "admin-service", v)
	} else if err != nil {
		return con.fail(c, err)
	}
	var ch auditChanges
	ch.add("name_el", "", s.NameEL)
	ch.add("name_en", "", s.NameEN)
	ch.add("email", "", s.Email)
	ch.add("active", false, s.Active)
	con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditServiceCreate, Target: "service:" + s.Code, Detail: ch.String()})
	return c.Redirect(serviceAdminPath(s.ID)+"?done=created", fiber.StatusSeeOther)
}

func (con *Console) updateService(c *fiber.Ctx) error {
	st := staffOf(c)
	v, err := con.serviceView(c)
	if err != nil {
		return con.fail(c, err)
	}
	before := v.Service
	f, s := serviceForm(c)
	s.ID, s.DirectorID = before.ID, before.DirectorID
	err = s.Validate()
	if err == nil {
		err = con.cfg.Admin.SaveService(c.UserContext(), &s)
	}
	if e, status, ok := adminRefusal(err); ok {
		v.Form = withRefusal(f, e)
		return con.render(c, status, "admin-service", v)
	} else if err != nil {
		return con.fail(c, err)
	}
	var ch auditChanges
	ch.add("code", before.Code, s.Code)
	ch.add("name_el", before.NameEL, s.NameEL)
	ch.add("name_en", before.NameEN, s.NameEN)
	ch.add("email", before.Email, s.Email)
	ch.add("active", before.Active, s.Active)
	if len(ch) > 0 {
		con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditServiceUpdate, Target: "service:" + s.Code, Detail: ch.String()})
	}
	return c.Redirect(serviceAdminPath(s.ID)+"?done=saved", fiber.StatusSeeOther)
}

func (con *Console) setDirector(c *fiber.Ctx) error {
	st := staffOf(c)
	v, err := con.serviceView(c)
	if err != nil {
		return con.fail(c, err)
	}
	f := formState{Name: "director", fields: []string{"director"}, Values: adminFormValues(c, "director")}
	id, err := formID(c, "director")
	if err == nil {
		err = con.cfg.Admin.SetServiceDirector(c.UserContext(), v.Service.ID, id)
	}
	if e, status, ok := adminRefusal(err); ok {
		v.DirectorForm = withRefusal(f, e)
		return con.render(c, status, "admin-service", v)
	} else if err != nil {
		return con.fail(c, err)
	}
	if id != v.Service.DirectorID {
		names := newNamer(con.cfg.Directory, langOf(c))
		before, err := names.employee(c.UserContext(), v.Service.DirectorID)
		if err != nil {
			return con.fail(c, err)
		}
		after, err := names.employee(c.UserContext(), id)
		if err != nil {
			return con.fail(c, err)
		}
		var ch auditChanges
		ch.add("director", fmt.Sprintf("%d %s", v.Service.DirectorID, before), fmt.Sprintf("%d %s", id, after))
		con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditServiceDirector,
			Target: "service:" + v.Service.Code, Detail: ch.String()})
	}
	return c.Redirect(serviceAdminPath(v.Service.ID)+"?done=director", fiber.StatusSeeOther)
}
