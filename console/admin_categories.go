package console

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
)

// The admins' pages of categories: names, the kinds of case each takes, the service
// its cases are routed to (M10), its clocks and auto-assignment, and its response
// templates. New clocks reach the category's open cases at once: the console hands
// their numbers to Retarget, which signals their workflows; new routing applies to
// the next case routed.

const (
	auditCategoryCreate = "admin.category.create"
	auditCategoryUpdate = "admin.category.update"
	auditTemplateCreate = "admin.template.create"
	auditTemplateUpdate = "admin.template.update"
	auditTemplateDelete = "admin.template.delete"
)

func categoryAdminPath(code string) string { return pathAdminCategories + "/" + url.PathEscape(code) }
func templateAdminPath(id int64) string    { return pathAdminTemplates + "/" + strconv.FormatInt(id, 10) }

var (
	categoryFields = []string{"code", "name_el", "name_en", "kinds", "service_id", "assign_days", "response_days",
		"completion_days", "statutory_days", "info_reply_days", "auto_assign", "active"}
	templateFields = []string{"title", "body_el", "body_en"}
	// targetFields are the clocks of the category form, in the order it shows them.
	targetFields = []string{"assign_days", "response_days", "completion_days", "statutory_days", "info_reply_days"}
)

type categoriesView struct {
	pageView
	Categories []categoryRow
	DoneKey    string
}

type categoryRow struct {
	dimos.CategoryRecord
	KindKeys []string
	Service  string
	Path     string
}

type categoryView struct {
	pageView
	New          bool
	Action       string
	Category     dimos.CategoryRecord
	Form         formState
	Kinds        []dimos.Kind
	Services     []option
	Targets      []string
	Templates    []templateRow
	TemplateForm formState
	DoneKey      string
}

type templateRow struct {
	dimos.ResponseTemplate
	Path string
}

type templateView struct {
	pageView
	Template     dimos.ResponseTemplate
	Category     string // its name
	CategoryPath string
	Form         formState
	DeleteForm   formState
}

func (con *Console) categoriesPage(c *fiber.Ctx) error {
	store, err := con.admin()
	if err != nil {
		return con.fail(c, err)
	}
	ctx := c.UserContext()
	cats, err := store.AdminCategories(ctx)
	if err != nil {
		return con.fail(c, err)
	}
	v := categoriesView{pageView: con.page(c, pathAdminCategories), DoneKey: adminDoneKey(c)}
	names := newNamer(con.cfg.Directory, v.Lang)
	for _, cat := range cats {
		row := categoryRow{CategoryRecord: cat, Path: categoryAdminPath(cat.Code)}
		for _, k := range cat.Kinds {
			row.KindKeys = append(row.KindKeys, "kind."+string(k))
		}
		if row.Service, err = names.service(ctx, cat.ServiceID); err != nil {
			return con.fail(c, err)
		}
		v.Categories = append(v.Categories, row)
	}
	return con.render(c, fiber.StatusOK, "admin-categories", v)
}

// days shows a number of working days as typed back into the form.
func daysValue(d float64) string {
	if d == 0 {
		return ""
	}
	return strconv.FormatFloat(d, 'f', -1, 64)
}

func categoryValues(cat dimos.CategoryRecord) map[string]string {
	t := cat.Targets
	v := map[string]string{"code": cat.Code, "name_el": cat.NameEL, "name_en": cat.NameEN,
		"service_id": optionID(cat.ServiceID), "assign_days": daysValue(t.AssignDays), "response_days": daysValue(t.ResponseDays),
		"completion_days": daysValue(t.CompletionDays), "statutory_days": daysValue(t.Statutory()),
		"info_reply_days": daysValue(t.InfoReplyDays), "auto_assign": checkedValue(cat.AutoAssign), "active": checkedValue(cat.Active)}
	for _, k := range cat.Kinds {
		v["kind:"+string(k)] = "1"
	}
	return v
}

func (con *Console) newCategoryView(c *fiber.Ctx) (categoryView, error) {
	v := categoryView{pageView: con.page(c, pathAdminCategories+"/new"), New: true, Action: pathAdminCategories,
		Kinds: dimos.Kinds, Targets: targetFields,
		Form: formState{Name: "category", fields: categoryFields,
			Values: categoryValues(dimos.CategoryRecord{Active: true, Category: dimos.Category{Targets: dimos.Targets{InfoReplyDays: 15}}})}}
	var err error
	v.Services, err = con.serviceOptions(c, v.Lang)
	return v, err
}

func (con *Console) newCategoryPage(c *fiber.Ctx) error {
	if _, err := con.admin(); err != nil {
		return con.fail(c, err)
	}
	v, err := con.newCategoryView(c)
	if err != nil {
		return con.fail(c, err)
	}
	return con.render(c, fiber.StatusOK, "admin-category", v)
}

func (con *Console) categoryPage(c *fiber.Ctx) error {
	v, err := con.categoryView(c)
	if err != nil {
		return con.fail(c, err)
	}
	v.DoneKey = adminDoneKey(c)
	return con.render(c, fiber.StatusOK, "admin-category", v)
}

// categoryView loads the category of the route, with its templates.
func (con *Console) categoryView(c *fiber.Ctx) (categoryView, error) {
	store, err := con.admin()
	if err != nil {
		return categoryView{}, err
	}
	ctx := c.UserContext()
	code := strings.Clone(c.Params("code"))
	cat, err := store.AdminCategory(ctx, code)
	if dimos.ErrorCode(err) == dimos.ENOTFOUND {
		return categoryView{}, dimos.Errorf(dimos.ENOTFOUND, "field.category.unknown")
	} else if err != nil {
		return categoryView{}, err
	}
	v := categoryView{pageView: con.page(c, categoryAdminPath(code)), Action: categoryAdminPath(code), Category: cat,
		Kinds: dimos.Kinds, Targets: targetFields,
		Form:         formState{Name: "category", fields: categoryFields, Values: categoryValues(cat)},
		TemplateForm: formState{Name: "template", fields: templateFields, Values: map[string]string{}}}
	if v.Services, err = con.serviceOptions(c, v.Lang); err != nil {
		return v, err
	}
	tps, err := store.ResponseTemplates(ctx, code)
	if err != nil {
		return v, err
	}
	for _, tp := range tps {
		v.Templates = append(v.Templates, templateRow{ResponseTemplate: tp, Path: templateAdminPath(tp.ID)})
	}
	return v, nil
}

// categoryForm reads the posted category form. A number of days takes a decimal
// comma as well as a point; an empty one is no target, and an empty statutory limit
// the law's.
func categoryForm(c *fiber.Ctx) (formState, dimos.CategoryRecord, error) {
	f := formState{Name: "category", fields: categoryFields, Values: adminFormValues(c, categoryFields...)}
	cat := dimos.CategoryRecord{Category: dimos.Category{Code: f.Values["code"], NameEL: f.Values["name_el"],
		NameEN: f.Values["name_en"], AutoAssign: f.Values["auto_assign"] != ""}, Active: f.Values["active"] != ""}
	for _, raw := range c.Context().PostArgs().PeekMulti("kinds") {
		k := dimos.Kind(raw)
		f.Values["kind:"+string(k)] = "1"
		cat.Kinds = append(cat.Kinds, k)
	}
	var v dimos.Validation
	var err error
	if cat.ServiceID, err = formID(c, "service_id"); err != nil {
		v.Add("service_id", "field.type")
	}
	targets := []*float64{&cat.Targets.AssignDays, &cat.Targets.ResponseDays, &cat.Targets.CompletionDays,
		&cat.Targets.StatutoryDays, &cat.Targets.InfoReplyDays}
	for i, name := range targetFields {
		s := strings.Replace(f.Values[name], ",", ".", 1)
		if s == "" {
			continue
		}
		d, err := strconv.ParseFloat(s, 64)
		if err != nil {
			v.Add(name, "admin.field.days")
			continue
		}
		*targets[i] = d
	}
	if cat.Targets.StatutoryDays == 0 {
		cat.Targets.StatutoryDays = dimos.StatutoryDays
	}
	return f, cat, v.Err()
}

// validCategory validates the posted category with the form's own errors.
func validCategory(cat dimos.CategoryRecord, formErr error) error {
	var v dimos.Validation
	for _, err := range []error{formErr, cat.Validate()} {
		if r, _, ok := adminRefusal(err); ok {
			for _, fe := range r.Fields {
				v.Add(fe.Field, fe.Key)
			}
		}
	}
	return v.Err()
}

func (con *Console) createCategory(c *fiber.Ctx) error {
	st := staffOf(c)
	store, err := con.admin()
	if err != nil {
		return con.fail(c, err)
	}
	f, cat, err := categoryForm(c)
	err = validCategory(cat, err)
	if err == nil {
		err = store.CreateCategory(c.UserContext(), cat)
	}
	if r, status, ok := adminRefusal(err); ok {
		v, err := con.newCategoryView(c)
		if err != nil {
			return con.fail(c, err)
		}
		v.Form = withRefusal(f, r)
		return con.render(c, status, "admin-category", v)
	} else if err != nil {
		return con.fail(c, err)
	}
	var ch auditChanges
	categoryChanges(&ch, dimos.CategoryRecord{}, cat)
	con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditCategoryCreate, Target: "category:" + cat.Code, Detail: ch.String()})
	return c.Redirect(categoryAdminPath(cat.Code)+"?done=created", fiber.StatusSeeOther)
}

func kindList(kinds []dimos.Kind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

func categoryChanges(ch *auditChanges, before, after dimos.CategoryRecord) {
	ch.add("name_el", before.NameEL, after.NameEL)
	ch.add("name_en", before.NameEN, after.NameEN)
	ch.add("kinds", kindList(before.Kinds), kindList(after.Kinds))
	ch.add("service_id", before.ServiceID, after.ServiceID)
	bt, at := before.Targets, after.Targets
	ch.add("assign_days", bt.AssignDays, at.AssignDays)
	ch.add("response_days", bt.ResponseDays, at.ResponseDays)
	ch.add("completion_days", bt.CompletionDays, at.CompletionDays)
	ch.add("statutory_days", bt.StatutoryDays, at.StatutoryDays)
	ch.add("info_reply_days", bt.InfoReplyDays, at.InfoReplyDays)
	ch.add("auto_assign", before.AutoAssign, after.AutoAssign)
	ch.add("active", before.Active, after.Active)
}

// updateCategory saves a category and, when its clocks changed, tells its open
// cases. The change is saved even if some workflow cannot be told; the page then
// says so, and the admin may save again to retry (the signal is idempotent).
func (con *Console) updateCategory(c *fiber.Ctx) error {
	st := staffOf(c)
	v, err := con.categoryView(c)
	if err != nil {
		return con.fail(c, err)
	}
	before := v.Category
	f, cat, err := categoryForm(c)
	cat.Code = before.Code
	f.Values["code"] = before.Code
	err = validCategory(cat, err)
	var open []string
	if err == nil {
		open, err = con.cfg.Admin.UpdateCategory(c.UserContext(), cat)
	}
	if r, status, ok := adminRefusal(err); ok {
		v.Form = withRefusal(f, r)
		return con.render(c, status, "admin-category", v)
	} else if err != nil {
		return con.fail(c, err)
	}
	var ch auditChanges
	categoryChanges(&ch, before, cat)
	done := "saved"
	if cat.Targets != before.Targets {
		told, err := 0, error(nil)
		if con.cfg.Retarget == nil {
			err = dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable")
		} else if len(open) > 0 {
			told, err = con.cfg.Retarget.Retarget(c.UserContext(), open, cat.Targets)
		}
		ch = append(ch, "open cases told: "+strconv.Itoa(told)+"/"+strconv.Itoa(len(open)))
		if err != nil {
			con.log.Error("console: retarget", "category", cat.Code, "open", len(open), "told", told, "err", err)
			done = "retarget_failed"
		}
	}
	if len(ch) > 0 {
		con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditCategoryUpdate, Target: "category:" + cat.Code, Detail: ch.String()})
	}
	return c.Redirect(categoryAdminPath(cat.Code)+"?done="+done, fiber.StatusSeeOther)
}

// --- response templates ---

func templateForm(c *fiber.Ctx) (formState, dimos.ResponseTemplate) {
	f := formState{Name: "template", fields: templateFields, Values: adminFormValues(c, templateFields...)}
	return f, dimos.ResponseTemplate{Title: f.Values["title"], BodyEL: f.Values["body_el"], BodyEN: f.Values["body_en"]}
}

func (con *Console) createTemplate(c *fiber.Ctx) error {
	st := staffOf(c)
	v, err := con.categoryView(c)
	if err != nil {
		return con.fail(c, err)
	}
	f, tp := templateForm(c)
	tp.CategoryCode = v.Category.Code
	err = tp.Validate()
	if err == nil {
		err = con.cfg.Admin.SaveResponseTemplate(c.UserContext(), &tp)
	}
	if r, status, ok := adminRefusal(err); ok {
		v.TemplateForm = withRefusal(f, r)
		return con.render(c, status, "admin-category", v)
	} else if err != nil {
		return con.fail(c, err)
	}
	var ch auditChanges
	ch.add("id", "", tp.ID)
	ch.add("title", "", tp.Title)
	ch.add("body_el", "", tp.BodyEL)
	ch.add("body_en", "", tp.BodyEN)
	con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditTemplateCreate, Target: "category:" + tp.CategoryCode, Detail: ch.String()})
	return c.Redirect(categoryAdminPath(tp.CategoryCode)+"?done=template_created#templates-title", fiber.StatusSeeOther)
}

// templateView loads the template of the route.
func (con *Console) templateView(c *fiber.Ctx) (templateView, error) {
	store, err := con.admin()
	if err != nil {
		return templateView{}, err
	}
	id, err := adminPathID(c, "admin.error.template_not_found")
	if err != nil {
		return templateView{}, err
	}
	tp, err := store.ResponseTemplate(c.UserContext(), id)
	if err != nil {
		return templateView{}, err
	}
	v := templateView{pageView: con.page(c, templateAdminPath(id)), Template: tp, CategoryPath: categoryAdminPath(tp.CategoryCode),
		Form:       formState{Name: "template", fields: templateFields, Values: map[string]string{"title": tp.Title, "body_el": tp.BodyEL, "body_en": tp.BodyEN}},
		DeleteForm: formState{Name: "delete", fields: []string{"confirm"}, Values: map[string]string{}}}
	cat, err := store.AdminCategory(c.UserContext(), tp.CategoryCode)
	if err != nil {
		return v, err
	}
	v.Category = orDefault(bilingual{cat.NameEL, cat.NameEN}.name(v.Lang), tp.CategoryCode)
	return v, nil
}

func (con *Console) templatePage(c *fiber.Ctx) error {
	v, err := con.templateView(c)
	if err != nil {
		return con.fail(c, err)
	}
	return con.render(c, fiber.StatusOK, "admin-template", v)
}

func (con *Console) updateTemplate(c *fiber.Ctx) error {
	st := staffOf(c)
	v, err := con.templateView(c)
	if err != nil {
		return con.fail(c, err)
	}
	before := v.Template
	f, tp := templateForm(c)
	tp.ID, tp.CategoryCode = before.ID, before.CategoryCode
	err = tp.Validate()
	if err == nil {
		err = con.cfg.Admin.SaveResponseTemplate(c.UserContext(), &tp)
	}
	if r, status, ok := adminRefusal(err); ok {
		v.Form = withRefusal(f, r)
		return con.render(c, status, "admin-template", v)
	} else if err != nil {
		return con.fail(c, err)
	}
	ch := auditChanges{"id: " + strconv.FormatInt(tp.ID, 10)}
	ch.add("title", before.Title, tp.Title)
	ch.add("body_el", before.BodyEL, tp.BodyEL)
	ch.add("body_en", before.BodyEN, tp.BodyEN)
	if len(ch) > 1 {
		con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditTemplateUpdate, Target: "category:" + tp.CategoryCode, Detail: ch.String()})
	}
	return c.Redirect(categoryAdminPath(tp.CategoryCode)+"?done=template_saved#templates-title", fiber.StatusSeeOther)
}

// deleteTemplate removes a template once the admin ticks the box: answers already
// sent keep their text, so nothing refers to it.
func (con *Console) deleteTemplate(c *fiber.Ctx) error {
	st := staffOf(c)
	v, err := con.templateView(c)
	if err != nil {
		return con.fail(c, err)
	}
	if !formChecked(c, "confirm") {
		v.DeleteForm = withRefusal(v.DeleteForm, &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid",
			Fields: []dimos.FieldError{{Field: "confirm", Key: "admin.field.confirm_delete"}}})
		return con.render(c, fiber.StatusBadRequest, "admin-template", v)
	}
	tp := v.Template
	if err := con.cfg.Admin.DeleteResponseTemplate(c.UserContext(), tp.ID); err != nil {
		return con.fail(c, err)
	}
	var ch auditChanges
	ch.add("id", tp.ID, "")
	ch.add("title", tp.Title, "")
	ch.add("body_el", tp.BodyEL, "")
	ch.add("body_en", tp.BodyEN, "")
	con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditTemplateDelete, Target: "category:" + tp.CategoryCode, Detail: ch.String()})
	return c.Redirect(categoryAdminPath(tp.CategoryCode)+"?done=template_deleted#templates-title", fiber.StatusSeeOther)
}

// --- on the case page ---

// templateForms names the case forms a template fills, and the field it fills.
var templateForms = map[string]string{"complete": "answer", "reject": "reason", "comment": "text"}

// templateLinks is what the response-templates partial shows above a case form: a
// link per template that reloads the page with the form filled. A link, not a
// script: the console's CSP allows none inline, and it works without JavaScript.
type templateLinks struct {
	ID    string // of the list, for its label
	Links []option
}

// caseTemplates offers the response templates of the case's category on the case
// page, and fills a form from one when the page is asked with ?template=ID&form=NAME:
// in the citizen's language, when the template has it.
func (con *Console) caseTemplates(c *fiber.Ctx, v *caseView) error {
	if con.cfg.Templates == nil || !(v.Can.Complete || v.Can.Reject || v.Can.Comment) {
		return nil
	}
	tps, err := con.cfg.Templates.ResponseTemplates(c.UserContext(), v.Case.CategoryCode)
	if err != nil {
		return err
	}
	v.Templates = tps
	id, err := strconv.ParseInt(c.Query("template"), 10, 64)
	form := c.Query("form")
	field, ok := templateForms[form]
	if err != nil || !ok || !v.Can.shows(form) {
		return nil
	}
	for _, tp := range tps {
		if tp.ID == id {
			if v.forms == nil {
				v.forms = map[string]formState{}
			}
			v.forms[form] = formState{Name: form, Values: map[string]string{field: tp.Body(i18n.Lang(v.Case.Lang))}}
		}
	}
	return nil
}

// TemplatesFor is the list of template links above the named case form.
func (v caseView) TemplatesFor(form string) templateLinks {
	l := templateLinks{ID: form + "-templates"}
	for _, tp := range v.Templates {
		q := url.Values{"template": {strconv.FormatInt(tp.ID, 10)}, "form": {form}}
		l.Links = append(l.Links, option{Value: casePath(v.Case.Number) + "?" + q.Encode() + "#" + form + "-title", Label: tp.Title})
	}
	return l
}
