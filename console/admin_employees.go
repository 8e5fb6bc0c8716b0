package console

import (
	"net/url"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"dimos"
	"dimos/i18n"
)

// The admins' pages of employees. A password is typed twice, hashed with bcrypt as
// sign-in expects, and never shown again, not even as its hash; a new password and a
// deactivation end the employee's sessions (dimos.AdminStore).

const (
	auditEmployeeCreate     = "admin.employee.create"
	auditEmployeeUpdate     = "admin.employee.update"
	auditEmployeeDeactivate = "admin.employee.deactivate"
	auditEmployeeReactivate = "admin.employee.reactivate"
	auditEmployeePassword   = "admin.employee.password"
)

func employeeAdminPath(id int64) string { return pathAdminEmployees + "/" + strconv.FormatInt(id, 10) }

var (
	employeeFields = []string{"username", "full_name", "email", "phone", "role", "service_id"}
	passwordFields = []string{"password", "password_confirm"}
	staffRoles     = []dimos.Role{dimos.RoleClerk, dimos.RoleDirector, dimos.RoleDesk, dimos.RoleManager, dimos.RoleAdmin}
)

type employeesView struct {
	pageView
	Filter    formState
	Employees []employeeRow
	Roles     []option
	Services  []option
	DoneKey   string
}

type employeeRow struct {
	*dimos.Employee
	RoleKey string
	Service string
	Path    string
}

type employeeView struct {
	pageView
	New          bool
	Action       string
	Employee     *dimos.Employee // nil on the new page
	Form         formState
	PasswordForm formState
	ActiveForm   formState
	Roles        []option
	Services     []option
	DoneKey      string
	MinPassword  int
}

func roleOptions(lang string) []option {
	var out []option
	for _, r := range staffRoles {
		out = append(out, option{Value: string(r), Label: i18n.T(lang, "role."+string(r))})
	}
	return out
}

// serviceOptions are the active services, for the employee and category forms.
func (con *Console) serviceOptions(c *fiber.Ctx, lang string) ([]option, error) {
	svcs, err := con.cfg.Admin.AdminServices(c.UserContext())
	if err != nil {
		return nil, err
	}
	var out []option
	for _, s := range svcs {
		if s.Active {
			out = append(out, option{Value: optionID(s.ID), Label: orDefault(bilingual{s.NameEL, s.NameEN}.name(lang), s.Code)})
		}
	}
	return out, nil
}

// employeesPage lists the employees the filters select: service, role, active.
func (con *Console) employeesPage(c *fiber.Ctx) error {
	store, err := con.admin()
	if err != nil {
		return con.fail(c, err)
	}
	q := url.Values{}
	f := formState{Name: "filter", Values: map[string]string{}}
	for _, n := range []string{"service_id", "role", "active"} {
		if s := c.Query(n); s != "" {
			f.Values[n] = truncate(s, 20)
			q.Set(n, f.Values[n])
		}
	}
	back := pathAdminEmployees
	if len(q) > 0 {
		back += "?" + q.Encode()
	}
	v := employeesView{pageView: con.page(c, back), Filter: f, DoneKey: adminDoneKey(c), Roles: roleOptions(langOf(c))}
	if v.Services, err = con.serviceOptions(c, v.Lang); err != nil {
		return con.fail(c, err)
	}
	var filter dimos.EmployeeFilter
	if s := f.Values["service_id"]; s != "" {
		if filter.ServiceID, err = strconv.ParseInt(s, 10, 64); err != nil || filter.ServiceID <= 0 {
			v.Filter.ErrorKey, v.Filter.Errors = "error.invalid", []dimos.FieldError{{Field: "service_id", Key: "field.type"}}
		}
	}
	if r := dimos.Role(f.Values["role"]); r != "" {
		if !knownRole(r) {
			v.Filter.ErrorKey = "error.invalid"
			v.Filter.Errors = append(v.Filter.Errors, dimos.FieldError{Field: "role", Key: "field.unknown"})
		}
		filter.Role = r
	}
	switch a := f.Values["active"]; a {
	case "", "yes", "no":
		filter.Active = a
	default:
		v.Filter.ErrorKey = "error.invalid"
		v.Filter.Errors = append(v.Filter.Errors, dimos.FieldError{Field: "active", Key: "field.unknown"})
	}
	if v.Filter.Failed() {
		return con.render(c, fiber.StatusBadRequest, "admin-employees", v)
	}
	emps, err := store.AdminEmployees(c.UserContext(), filter)
	if err != nil {
		return con.fail(c, err)
	}
	names := newNamer(con.cfg.Directory, v.Lang)
	for _, e := range emps {
		row := employeeRow{Employee: e, RoleKey: "role." + string(e.Role), Path: employeeAdminPath(e.ID)}
		if row.Service, err = names.service(c.UserContext(), e.ServiceID); err != nil {
			return con.fail(c, err)
		}
		e.PasswordHash = "" // never near a page
		v.Employees = append(v.Employees, row)
	}
	return con.render(c, fiber.StatusOK, "admin-employees", v)
}

func (con *Console) newEmployeeView(c *fiber.Ctx) (employeeView, error) {
	v := employeeView{pageView: con.page(c, pathAdminEmployees+"/new"), New: true, Action: pathAdminEmployees,
		Form:        formState{Name: "employee", fields: slices.Concat(employeeFields, passwordFields), Values: map[string]string{"role": string(dimos.RoleClerk)}},
		Roles:       roleOptions(langOf(c)),
		MinPassword: dimos.MinStaffPasswordLen}
	var err error
	v.Services, err = con.serviceOptions(c, v.Lang)
	return v, err
}

func (con *Console) newEmployeePage(c *fiber.Ctx) error {
	if _, err := con.admin(); err != nil {
		return con.fail(c, err)
	}
	v, err := con.newEmployeeView(c)
	if err != nil {
		return con.fail(c, err)
	}
	return con.render(c, fiber.StatusOK, "admin-employee", v)
}

func (con *Console) employeePage(c *fiber.Ctx) error {
	v, err := con.employeeView(c)
	if err != nil {
		return con.fail(c, err)
	}
	v.DoneKey = adminDoneKey(c)
	return con.render(c, fiber.StatusOK, "admin-employee", v)
}

// employeeView loads the employee of the route into its edit page, without the
// password hash.
func (con *Console) employeeView(c *fiber.Ctx) (employeeView, error) {
	if _, err := con.admin(); err != nil {
		return employeeView{}, err
	}
	id, err := adminPathID(c, "admin.error.employee_not_found")
	if err != nil {
		return employeeView{}, err
	}
	e, err := con.cfg.Directory.EmployeeByID(c.UserContext(), id)
	if dimos.ErrorCode(err) == dimos.ENOTFOUND {
		return employeeView{}, dimos.Errorf(dimos.ENOTFOUND, "admin.error.employee_not_found")
	} else if err != nil {
		return employeeView{}, err
	}
	e.PasswordHash = ""
	v := employeeView{pageView: con.page(c, employeeAdminPath(id)), Action: employeeAdminPath(id), Employee: e,
		Roles: roleOptions(langOf(c)), MinPassword: dimos.MinStaffPasswordLen}
	v.Form = formState{Name: "employee", fields: employeeFields, Values: map[string]string{"username": e.Username,
		"full_name": e.FullName, "email": e.Email, "phone": e.Phone, "role": string(e.Role), "service_id": optionID(e.ServiceID)}}
	v.PasswordForm = formState{Name: "password", fields: passwordFields, Values: map[string]string{}}
	v.ActiveForm = formState{Name: "active", Values: map[string]string{}} // its errors show at its top
	v.Services, err = con.serviceOptions(c, v.Lang)
	return v, err
}

// employeeForm reads the posted employee form.
func employeeForm(c *fiber.Ctx, fields []string) (formState, dimos.Employee, error) {
	f := formState{Name: "employee", fields: fields, Values: adminFormValues(c, employeeFields...)}
	e := dimos.Employee{Username: dimos.NormalizeUsername(f.Values["username"]), FullName: f.Values["full_name"],
		Email: f.Values["email"], Phone: f.Values["phone"], Role: dimos.Role(f.Values["role"])}
	var err error
	e.ServiceID, err = formID(c, "service_id")
	return f, e, err
}

// hashPassword hashes a password as sign-in checks it.
func hashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	return string(h), err
}

func (con *Console) createEmployee(c *fiber.Ctx) error {
	st := staffOf(c)
	store, err := con.admin()
	if err != nil {
		return con.fail(c, err)
	}
	f, e, err := employeeForm(c, slices.Concat(employeeFields, passwordFields))
	e.Active = true
	if err == nil {
		var v dimos.Validation
		for _, check := range []error{e.Validate(), dimos.CheckStaffPassword(e.Username, c.FormValue("password"), c.FormValue("password_confirm"))} {
			if r, _, ok := adminRefusal(check); ok {
				for _, fe := range r.Fields {
					v.Add(fe.Field, fe.Key)
				}
			}
		}
		err = v.Err()
	}
	if err == nil {
		if e.PasswordHash, err = hashPassword(c.FormValue("password")); err != nil {
			return con.fail(c, err)
		}
		err = store.SaveEmployee(c.UserContext(), &e)
	}
	if r, status, ok := adminRefusal(err); ok {
		v, err := con.newEmployeeView(c)
		if err != nil {
			return con.fail(c, err)
		}
		v.Form = withRefusal(f, r)
		return con.render(c, status, "admin-employee", v)
	} else if err != nil {
		return con.fail(c, err)
	}
	var ch auditChanges
	ch.add("full_name", "", e.FullName)
	ch.add("email", "", e.Email)
	ch.add("phone", "", e.Phone)
	ch.add("role", "", e.Role)
	ch.add("service_id", 0, e.ServiceID)
	con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditEmployeeCreate, Target: "employee:" + e.Username, Detail: ch.String()})
	return c.Redirect(employeeAdminPath(e.ID)+"?done=created", fiber.StatusSeeOther)
}

func (con *Console) updateEmployee(c *fiber.Ctx) error {
	st := staffOf(c)
	v, err := con.employeeView(c)
	if err != nil {
		return con.fail(c, err)
	}
	before := v.Employee
	f, e, err := employeeForm(c, employeeFields)
	e.ID, e.Active = before.ID, before.Active
	if err == nil {
		err = e.Validate()
	}
	if err == nil {
		err = con.cfg.Admin.SaveEmployee(c.UserContext(), &e)
	}
	if r, status, ok := adminRefusal(err); ok {
		v.Form = withRefusal(f, r)
		return con.render(c, status, "admin-employee", v)
	} else if err != nil {
		return con.fail(c, err)
	}
	var ch auditChanges
	ch.add("username", before.Username, e.Username)
	ch.add("full_name", before.FullName, e.FullName)
	ch.add("email", before.Email, e.Email)
	ch.add("phone", before.Phone, e.Phone)
	ch.add("role", before.Role, e.Role)
	ch.add("service_id", before.ServiceID, e.ServiceID)
	if len(ch) > 0 {
		con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditEmployeeUpdate, Target: "employee:" + e.Username, Detail: ch.String()})
	}
	return c.Redirect(employeeAdminPath(e.ID)+"?done=saved", fiber.StatusSeeOther)
}

// setEmployeeActive deactivates (active=0) or reactivates (active=1) an employee. An
// admin cannot deactivate themselves: the municipality would be left without anyone
// to undo it.
func (con *Console) setEmployeeActive(c *fiber.Ctx) error {
	st := staffOf(c)
	v, err := con.employeeView(c)
	if err != nil {
		return con.fail(c, err)
	}
	var active bool
	switch c.FormValue("active") {
	case "1":
		active = true
	case "0":
		if v.Employee.ID == st.me.ID {
			err = invalid("active", "admin.field.deactivate_self")
		}
	default:
		err = invalid("active", "field.required")
	}
	if err == nil {
		err = con.cfg.Admin.SetEmployeeActive(c.UserContext(), v.Employee.ID, active)
	}
	if r, status, ok := adminRefusal(err); ok {
		v.ActiveForm = withRefusal(v.ActiveForm, r)
		return con.render(c, status, "admin-employee", v)
	} else if err != nil {
		return con.fail(c, err)
	}
	if active != v.Employee.Active {
		action, done := auditEmployeeReactivate, "reactivated"
		if !active {
			action, done = auditEmployeeDeactivate, "deactivated"
		}
		var ch auditChanges
		ch.add("active", v.Employee.Active, active)
		con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: action, Target: "employee:" + v.Employee.Username, Detail: ch.String()})
		return c.Redirect(employeeAdminPath(v.Employee.ID)+"?done="+done, fiber.StatusSeeOther)
	}
	return c.Redirect(employeeAdminPath(v.Employee.ID), fiber.StatusSeeOther)
}

// setEmployeePassword sets a new password, which ends the employee's sessions. The
// audit says that it changed, never what it is.
func (con *Console) setEmployeePassword(c *fiber.Ctx) error {
	st := staffOf(c)
	v, err := con.employeeView(c)
	if err != nil {
		return con.fail(c, err)
	}
	pw := c.FormValue("password")
	err = dimos.CheckStaffPassword(v.Employee.Username, pw, c.FormValue("password_confirm"))
	if err == nil {
		hash, herr := hashPassword(pw)
		if herr != nil {
			return con.fail(c, herr)
		}
		err = con.cfg.Admin.SetEmployeePassword(c.UserContext(), v.Employee.ID, hash)
	}
	if r, status, ok := adminRefusal(err); ok {
		v.PasswordForm = withRefusal(v.PasswordForm, r)
		return con.render(c, status, "admin-employee", v)
	} else if err != nil {
		return con.fail(c, err)
	}
	con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditEmployeePassword, Target: "employee:" + v.Employee.Username,
		Detail: "password: set; sessions ended"})
	if v.Employee.ID == st.me.ID {
		// Their own session ended with the others: sign in again with the new password.
		return c.Redirect(pathSignin, fiber.StatusSeeOther)
	}
	return c.Redirect(employeeAdminPath(v.Employee.ID)+"?done=password", fiber.StatusSeeOther)
}
