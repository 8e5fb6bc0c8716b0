package console

import (
	"crypto/subtle"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"dimos"
)

// action is something an employee does in the console. Every staff route names its
// action, and allowed decides it, so the whole access policy reads in one place.
type action int

const (
	actSignOut action = iota
	actViewInbox
	actViewCase
	actDownload // an attachment of a case
	// Decisions of the case's holder.
	actAssign
	actTransfer
	actRequestInfo
	actSetDueDate
	actRegisterProtocol
	actCompleteCase
	actReject
	// Decisions open to every member of the holding service.
	actComment
	actAttach
	// The service desk's: find citizens and verify their identity in person (M3).
	actDesk
	actVerifyCitizen
	// The admins': issue and revoke the Open311 API keys of outside clients.
	actAPIKeys
	// Search across cases (M19); what it finds is limited by searchScope.
	actSearch
	// The admins': read and export the audit log.
	actAuditLog
	// The admins': manage services and their directors, employees, and categories
	// with their routing, clocks and response templates.
	actAdminServices
	actAdminEmployees
	actAdminCategories
	// The holder's: merge a duplicate case into its original.
	actMerge
	// The map of open cases; what it shows is limited by searchScope.
	actViewMap
	// The delay reports (M18), their charts and exports: managers and admins across
	// services, directors for their own service (the handler pins the filter).
	actReports
	// Delay reports' files (M18): export a report as Excel or CSV, and draw its
	// charts; what they cover is held to their service by parseReportQuery.
	actExportReport
	actReportCharts
)

// allowed is the console's access policy: whether me may do act, and, when the act
// concerns a case, whether on cs. A nil cs asks only whether the act is open to me at
// all; routes ask that first and ask again once they have loaded the case.
//
// A case is visible to its assignee, to every employee of the service that holds it
// (colleagues cover for each other) and to managers and admins, who read across
// services (M18, M20). Citizens' accounts are the service desks' and the admins'
// alone (M3, M4); API keys the admins' alone. The decisions mirror the workflow's validators, so that the
// page offers only what the workflow will accept: the holder (the assignee, or the
// director of the holding service) decides where the case goes and how it ends, and
// the answer goes to the citizen under their name (M16); any member of the holding
// service, and managers, may comment and attach files. The workflow still has the
// last word on the stage: a closed case refuses there, with its own message.
func allowed(me *dimos.Employee, act action, cs *dimos.Case) bool {
	if me == nil || !me.Active || !knownRole(me.Role) {
		return false
	}
	switch act {
	case actSignOut, actViewInbox, actSearch, actViewMap:
		return true
	case actViewCase, actDownload:
		if cs == nil {
			return true
		}
		return cs.AssigneeID == me.ID ||
			(cs.ServiceID != 0 && cs.ServiceID == me.ServiceID) ||
			me.Role == dimos.RoleManager || me.Role == dimos.RoleAdmin
	case actAssign, actTransfer, actRequestInfo, actSetDueDate, actRegisterProtocol, actCompleteCase, actReject, actMerge:
		if cs == nil {
			return true
		}
		return holds(me, cs) && allowed(me, actViewCase, cs)
	case actComment, actAttach:
		if cs == nil {
			return true
		}
		return member(me, cs) && allowed(me, actViewCase, cs)
	case actDesk, actVerifyCitizen:
		// Only the desks see a citizen's identity document, and admins, who stand in
		// for them; case work gives no reason to browse the register of citizens (M4).
		return me.Role == dimos.RoleDesk || me.Role == dimos.RoleAdmin
	case actAuditLog:
		// The log tells who looked at which case and who signed in from where; it is
		// read by those who answer for the system, the admins.
		return me.Role == dimos.RoleAdmin
	case actAdminServices, actAdminEmployees, actAdminCategories:
		// Who works where, with which powers, and where cases go: the organisation
		// itself, which only admins change.
		return me.Role == dimos.RoleAdmin
	case actReports, actExportReport, actReportCharts:
		// Managers answer for every service's delays and admins for the system; a
		// director answers for one service, and sees its report only (the console
		// holds their filter to it). Clerks and desks are measured, not measuring.
		return me.Role == dimos.RoleManager || me.Role == dimos.RoleAdmin ||
			me.Role == dimos.RoleDirector && me.ServiceID != 0
	case actAPIKeys:
		// A key lets an outside system file cases in the municipality's name; only
		// admins, who answer for the system, hand one out or take it back.
		return me.Role == dimos.RoleAdmin
	}
	return false
}

// searchScope is which cases a search by me may return: the cases me may view
// (actViewCase), that is every case for managers and admins, and otherwise those of
// me's service and those assigned to me.
func searchScope(me *dimos.Employee) dimos.SearchScope {
	if me.Role == dimos.RoleManager || me.Role == dimos.RoleAdmin {
		return dimos.SearchScope{All: true}
	}
	return dimos.SearchScope{ServiceID: me.ServiceID, EmployeeID: me.ID}
}

// holds reports whether me decides on cs: its assignee, or the director of the
// service that holds it (workflows: holds).
func holds(me *dimos.Employee, cs *dimos.Case) bool {
	return cs.AssigneeID != 0 && cs.AssigneeID == me.ID ||
		me.Role == dimos.RoleDirector && me.ServiceID != 0 && me.ServiceID == cs.ServiceID
}

// member reports whether me may comment on cs and attach files: the holder, anyone
// of the holding service, and managers (workflows: member).
func member(me *dimos.Employee, cs *dimos.Case) bool {
	return holds(me, cs) || me.ServiceID != 0 && me.ServiceID == cs.ServiceID || me.Role == dimos.RoleManager
}

func knownRole(r dimos.Role) bool {
	switch r {
	case dimos.RoleClerk, dimos.RoleDirector, dimos.RoleDesk, dimos.RoleManager, dimos.RoleAdmin:
		return true
	}
	return false
}

const localStaff = "console.staff"

// staff admits a request only from a signed-in employee whom allowed lets do act. A
// visitor without a session is sent to sign in, and comes back here afterwards.
func (con *Console) staff(act action) fiber.Handler {
	return func(c *fiber.Ctx) error {
		st, err := con.current(c)
		if err != nil {
			return con.fail(c, err)
		}
		if st == nil {
			to := pathSignin
			if c.Method() == fiber.MethodGet {
				to += "?next=" + url.QueryEscape(c.OriginalURL())
			}
			return c.Redirect(to, fiber.StatusSeeOther)
		}
		if !allowed(st.me, act, nil) {
			return con.errorPage(c, fiber.StatusForbidden, "error.forbidden")
		}
		c.Locals(localStaff, st)
		return c.Next()
	}
}

// staffOf returns the signed-in employee that staff put on the request.
func staffOf(c *fiber.Ctx) *signedIn {
	st, _ := c.Locals(localStaff).(*signedIn)
	return st
}

// checkCSRF refuses a staff form that does not carry its session's token, so that
// another site cannot post in a clerk's name.
func (con *Console) checkCSRF(c *fiber.Ctx) error {
	st := staffOf(c)
	if st == nil || !sameToken(c.FormValue(fieldCSRF), st.session.CSRFToken) {
		return con.errorPage(c, fiber.StatusForbidden, "error.csrf")
	}
	return c.Next()
}

// sameToken compares two tokens in constant time; an empty token never matches.
func sameToken(got, want string) bool {
	if got == "" || want == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

const fieldCSRF = "_csrf"

// caseFor loads the case named in the route and checks that the signed-in employee
// may do act on it. A malformed or unknown number is ENOTFOUND, a case out of reach
// EFORBIDDEN; fail turns either into its page.
func (con *Console) caseFor(c *fiber.Ctx, st *signedIn, act action) (*dimos.Case, error) {
	number, ok := dimos.ParseCaseNumber(c.Params("number"))
	if !ok {
		return nil, dimos.Errorf(dimos.ENOTFOUND, "error.case.not_found")
	}
	cs, err := con.cfg.Cases.CaseByNumber(c.UserContext(), number)
	if dimos.ErrorCode(err) == dimos.ENOTFOUND {
		return nil, dimos.Errorf(dimos.ENOTFOUND, "error.case.not_found")
	} else if err != nil {
		return nil, err
	}
	if !allowed(st.me, act, cs) {
		return nil, dimos.Errorf(dimos.EFORBIDDEN, "error.forbidden")
	}
	return cs, nil
}
