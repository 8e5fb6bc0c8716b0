package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"dimos"
	"dimos/postgres"
	"dimos/postgres/pgtest"
)

func wantFieldError(t *testing.T, err error, code, field, key string) {
	t.Helper()
	e, ok := err.(*dimos.Error)
	if !ok || e.Code != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
	for _, f := range e.Fields {
		if f.Field == field && f.Key == key {
			return
		}
	}
	t.Fatalf("err = %v, want field %s: %s", err, field, key)
}

func TestAdminServices(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)

	s := &dimos.ServiceRecord{Service: dimos.Service{Code: " urban ", NameEL: "Πολεοδομία", NameEN: "Town planning",
		Email: "urban@dimos.example"}, Active: true}
	if err := db.SaveService(ctx, s); err != nil {
		t.Fatal(err)
	}
	t.Run("Created", func(t *testing.T) {
		got, err := db.AdminService(ctx, s.ID)
		if err != nil || got.Code != "urban" || got.NameEL != "Πολεοδομία" || !got.Active || got.DirectorID != 0 {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("ErrCodeTaken", func(t *testing.T) {
		err := db.SaveService(ctx, &dimos.ServiceRecord{Service: dimos.Service{Code: "tech", NameEL: "Α", NameEN: "A"}, Active: true})
		wantFieldError(t, err, dimos.ECONFLICT, "code", "admin.field.code_taken")
		edit := *s
		edit.Code = "water"
		wantFieldError(t, db.SaveService(ctx, &edit), dimos.ECONFLICT, "code", "admin.field.code_taken")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		err := db.SaveService(ctx, &dimos.ServiceRecord{Service: dimos.Service{Code: "a b", NameEL: "", NameEN: "A", Email: "x@"}})
		wantFieldError(t, err, dimos.EINVALID, "code", "admin.field.code")
		wantFieldError(t, err, dimos.EINVALID, "name_el", "field.required")
		wantFieldError(t, err, dimos.EINVALID, "email", "field.email.invalid")
	})
	t.Run("ErrDeactivateRouted", func(t *testing.T) {
		tech := serviceByCode(t, db, "tech")
		tech.Active = false
		wantFieldError(t, db.SaveService(ctx, &tech), dimos.ECONFLICT, "active", "admin.field.service_routed")
	})
	t.Run("Deactivated", func(t *testing.T) {
		s.Active = false
		if err := db.SaveService(ctx, s); err != nil {
			t.Fatal(err)
		}
		list, err := db.Services(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range list {
			if x.ID == s.ID {
				t.Fatal("a withdrawn service is still offered for transfers")
			}
		}
		// A category cannot be routed to it.
		c := dimos.CategoryRecord{Category: dimos.Category{Code: "building", NameEL: "Αυθαίρετα", NameEN: "Unlicensed building",
			Kinds: []dimos.Kind{dimos.KindComplaint}, ServiceID: s.ID}, Active: true}
		wantFieldError(t, db.CreateCategory(ctx, c), dimos.EINVALID, "service_id", "admin.field.service_inactive")
	})
	t.Run("Director", func(t *testing.T) {
		tech := serviceByCode(t, db, "tech")
		clerk, _ := db.EmployeeByUsername(ctx, "tech.clerk1")
		waterDirector, _ := db.EmployeeByUsername(ctx, "water.director")
		for _, id := range []int64{clerk.ID, waterDirector.ID} {
			wantFieldError(t, db.SetServiceDirector(ctx, tech.ID, id), dimos.EINVALID, "director", "admin.field.director")
		}
		if err := db.SetServiceDirector(ctx, tech.ID, 0); err != nil {
			t.Fatal(err)
		}
		if r, _ := db.RoutingForService(ctx, tech.ID); r.DirectorID != 0 {
			t.Fatalf("vacated post: %+v", r)
		}
		director, _ := db.EmployeeByUsername(ctx, "tech.director")
		if err := db.SetServiceDirector(ctx, tech.ID, director.ID); err != nil {
			t.Fatal(err)
		}
		if r, _ := db.RoutingForService(ctx, tech.ID); r.DirectorID != director.ID {
			t.Fatalf("filled post: %+v", r)
		}
		if err := db.SetServiceDirector(ctx, 999999, 0); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("unknown service: %v", err)
		}
	})
}

func serviceByCode(t *testing.T, db *postgres.DB, code string) dimos.ServiceRecord {
	t.Helper()
	list, err := db.AdminServices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Code == code {
			return s
		}
	}
	t.Fatalf("no service %s", code)
	return dimos.ServiceRecord{}
}

func TestAdminEmployees(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	tech := serviceByCode(t, db, "tech")
	water := serviceByCode(t, db, "water")

	e := &dimos.Employee{Username: " Tech.Clerk3 ", FullName: "Ιωάννης Νέος", Email: "i.neos@dimos.example",
		Phone: "2310000104", ServiceID: tech.ID, Role: dimos.RoleClerk, PasswordHash: "$2a$04$hash", Active: true}
	if err := db.SaveEmployee(ctx, e); err != nil {
		t.Fatal(err)
	}
	t.Run("Created", func(t *testing.T) {
		got, err := db.EmployeeByID(ctx, e.ID)
		if err != nil || got.Username != "tech.clerk3" || got.ServiceID != tech.ID || !got.Active || got.PasswordHash != "$2a$04$hash" {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("ErrUsernameTaken", func(t *testing.T) {
		dup := *e
		dup.ID, dup.Username = 0, "tech.clerk1"
		wantFieldError(t, db.SaveEmployee(ctx, &dup), dimos.ECONFLICT, "username", "admin.field.username_taken")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		bad := &dimos.Employee{Username: "Χ", Email: "no", Role: dimos.RoleClerk, PasswordHash: "x"}
		err := db.SaveEmployee(ctx, bad)
		for _, f := range [][2]string{{"username", "admin.field.username"}, {"full_name", "field.required"},
			{"email", "field.email.invalid"}, {"service_id", "admin.field.service_required"}} {
			wantFieldError(t, err, dimos.EINVALID, f[0], f[1])
		}
	})
	t.Run("Filter", func(t *testing.T) {
		clerks, err := db.AdminEmployees(ctx, dimos.EmployeeFilter{ServiceID: tech.ID, Role: dimos.RoleClerk, Active: "yes"})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range clerks {
			names = append(names, c.Username)
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"tech.clerk1", "tech.clerk2", "tech.clerk3"}) {
			t.Fatalf("tech clerks: %v", names)
		}
	})
	t.Run("DeactivationEndsSessions", func(t *testing.T) {
		now := time.Now().UTC()
		for _, tok := range []string{"a", "b"} {
			if err := db.CreateSession(ctx, []byte(tok+"-hash"), dimos.StaffSession{EmployeeID: e.ID, CSRFToken: tok,
				CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.SetEmployeeActive(ctx, e.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionByTokenHash(ctx, []byte("a-hash")); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("session after deactivation: %v", err)
		}
		inactive, err := db.AdminEmployees(ctx, dimos.EmployeeFilter{Active: "no"})
		if err != nil || len(inactive) != 1 || inactive[0].ID != e.ID {
			t.Fatalf("inactive: %v, %v", inactive, err)
		}
		if err := db.SetEmployeeActive(ctx, e.ID, true); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.EmployeeByID(ctx, e.ID); !got.Active {
			t.Fatal("not reactivated")
		}
		if err := db.SetEmployeeActive(ctx, 999999, false); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("unknown employee: %v", err)
		}
	})
	t.Run("PasswordEndsSessions", func(t *testing.T) {
		now := time.Now().UTC()
		if err := db.CreateSession(ctx, []byte("c-hash"), dimos.StaffSession{EmployeeID: e.ID, CSRFToken: "c",
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetEmployeePassword(ctx, e.ID, "$2a$04$other"); err != nil {
			t.Fatal(err)
		}
		got, _ := db.EmployeeByID(ctx, e.ID)
		if got.PasswordHash != "$2a$04$other" {
			t.Fatalf("hash %q", got.PasswordHash)
		}
		if _, err := db.SessionByTokenHash(ctx, []byte("c-hash")); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("session after new password: %v", err)
		}
	})
	t.Run("DirectorMovedLeavesPost", func(t *testing.T) {
		d, _ := db.EmployeeByUsername(ctx, "tech.director")
		d.ServiceID = water.ID
		if err := db.SaveEmployee(ctx, d); err != nil {
			t.Fatal(err)
		}
		if r, _ := db.RoutingForService(ctx, tech.ID); r.DirectorID != 0 {
			t.Fatalf("tech still directed by a water employee: %+v", r)
		}
		w, _ := db.EmployeeByUsername(ctx, "water.director")
		if err := db.SetEmployeeActive(ctx, w.ID, false); err != nil {
			t.Fatal(err)
		}
		if r, _ := db.RoutingForService(ctx, water.ID); r.DirectorID != 0 {
			t.Fatalf("water directed by a deactivated employee: %+v", r)
		}
	})
}

func TestAdminCategories(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	tech := serviceByCode(t, db, "tech")
	water := serviceByCode(t, db, "water")

	c := dimos.CategoryRecord{Category: dimos.Category{Code: "graffiti", NameEL: "Γκράφιτι", NameEN: "Graffiti",
		Kinds: []dimos.Kind{dimos.KindRequest, dimos.KindComplaint}, ServiceID: tech.ID,
		Targets: dimos.Targets{AssignDays: 1, ResponseDays: 3, CompletionDays: 20, InfoReplyDays: 10}, AutoAssign: true}, Active: true}
	if err := db.CreateCategory(ctx, c); err != nil {
		t.Fatal(err)
	}
	t.Run("Created", func(t *testing.T) {
		got, err := db.CategoryByCode(ctx, "graffiti")
		if err != nil {
			t.Fatal(err)
		}
		want := c.Targets
		want.StatutoryDays = dimos.StatutoryDays
		if got.Targets != want || !got.AutoAssign || got.ServiceID != tech.ID || !slices.Equal(got.Kinds, c.Kinds) {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("ErrCodeTaken", func(t *testing.T) {
		dup := c
		dup.Code = "potholes"
		wantFieldError(t, db.CreateCategory(ctx, dup), dimos.ECONFLICT, "code", "admin.field.code_taken")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		bad := c
		bad.Code, bad.Kinds = "Bad Code", nil
		bad.Targets = dimos.Targets{CompletionDays: 60, StatutoryDays: 50, AssignDays: -1}
		err := db.CreateCategory(ctx, bad)
		for _, f := range [][2]string{{"code", "admin.field.code"}, {"kinds", "admin.field.kinds_required"},
			{"assign_days", "admin.field.days_range"}, {"completion_days", "admin.field.completion_after_statutory"}} {
			wantFieldError(t, err, dimos.EINVALID, f[0], f[1])
		}
	})
	t.Run("UpdateReturnsOpenCases", func(t *testing.T) {
		// Three potholes: one open with a workflow, one open awaiting its workflow, one completed.
		var numbers []string
		for i := 0; i < 3; i++ {
			cs := &dimos.Case{Kind: dimos.KindRequest, CategoryCode: "potholes", Channel: dimos.ChannelPortal,
				Subject: "Λακκούβα", Text: "Στην οδό Εγνατίας.", Lang: "el",
				Contact: dimos.Contact{FirstName: "Άννα", LastName: "Π", Email: "anna@example.gr"}}
			if err := db.SubmitCase(ctx, cs); err != nil {
				t.Fatal(err)
			}
			numbers = append(numbers, cs.Number)
			if i != 1 {
				if err := db.MarkWorkflowStarted(ctx, cs.ID, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := db.Pool.Exec(ctx, `UPDATE cases SET stage = 'completed' WHERE number = $1`, numbers[2]); err != nil {
			t.Fatal(err)
		}
		p, err := db.AdminCategory(ctx, "potholes")
		if err != nil {
			t.Fatal(err)
		}
		p.Targets.CompletionDays = 7
		p.ServiceID = water.ID
		p.NameEN = "Road holes"
		open, err := db.UpdateCategory(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(open, numbers[:1]) {
			t.Fatalf("open cases told: %v, want %v", open, numbers[:1])
		}
		got, _ := db.AdminCategory(ctx, "potholes")
		if got.Targets.CompletionDays != 7 || got.ServiceID != water.ID || got.NameEN != "Road holes" {
			t.Fatalf("updated: %+v", got)
		}
		if r, _ := db.RoutingFor(ctx, "potholes"); r.ServiceID != water.ID {
			t.Fatalf("routing after update: %+v", r)
		}
	})
	t.Run("Deactivated", func(t *testing.T) {
		g, _ := db.AdminCategory(ctx, "graffiti")
		g.Active = false
		if _, err := db.UpdateCategory(ctx, g); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CategoryByCode(ctx, "graffiti"); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("withdrawn category still offered: %v", err)
		}
		all, _ := db.AdminCategories(ctx)
		if all[len(all)-1].Code != "graffiti" || all[len(all)-1].Active {
			t.Fatalf("withdrawn category should list last: %+v", all[len(all)-1])
		}
	})
	t.Run("Templates", func(t *testing.T) {
		tp := &dimos.ResponseTemplate{CategoryCode: "potholes", Title: " Αποκατάσταση ", BodyEL: "Η λακκούβα επισκευάστηκε."}
		if err := db.SaveResponseTemplate(ctx, tp); err != nil {
			t.Fatal(err)
		}
		other := &dimos.ResponseTemplate{CategoryCode: "potholes", Title: "Αρμοδιότητα Περιφέρειας",
			BodyEL: "Ο δρόμος ανήκει στην Περιφέρεια.", BodyEN: "The road belongs to the Region."}
		if err := db.SaveResponseTemplate(ctx, other); err != nil {
			t.Fatal(err)
		}
		list, err := db.ResponseTemplates(ctx, "potholes")
		if err != nil || len(list) != 2 || list[0].Title != "Αποκατάσταση" || list[1].ID != other.ID {
			t.Fatalf("list %+v, %v", list, err)
		}
		if list[1].Body("en") != "The road belongs to the Region." || list[0].Body("en") != "Η λακκούβα επισκευάστηκε." {
			t.Fatal("Body picks the wrong language")
		}
		tp.BodyEN = "The pothole was repaired."
		if err := db.SaveResponseTemplate(ctx, tp); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.ResponseTemplate(ctx, tp.ID); got.BodyEN != "The pothole was repaired." {
			t.Fatalf("updated: %+v", got)
		}
		wantFieldError(t, db.SaveResponseTemplate(ctx, &dimos.ResponseTemplate{CategoryCode: "potholes"}),
			dimos.EINVALID, "body_el", "field.required")
		if err := db.SaveResponseTemplate(ctx, &dimos.ResponseTemplate{CategoryCode: "nope", Title: "x", BodyEL: "y"}); dimos.ErrorCode(err) != dimos.EINVALID {
			t.Fatalf("unknown category: %v", err)
		}
		if err := db.DeleteResponseTemplate(ctx, tp.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ResponseTemplate(ctx, tp.ID); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("deleted template: %v", err)
		}
		if err := db.DeleteResponseTemplate(ctx, tp.ID); dimos.ErrorCode(err) != dimos.ENOTFOUND {
			t.Fatalf("deleted twice: %v", err)
		}
	})
}
