package dimos_test

import (
	"slices"
	"strings"
	"testing"

	"dimos"
)

func fields(err error) []string {
	var out []string
	if e, ok := err.(*dimos.Error); ok {
		for _, f := range e.Fields {
			out = append(out, f.Field+":"+f.Key)
		}
	}
	return out
}

func TestCaseValidate(t *testing.T) {
	valid := func() dimos.Case {
		return dimos.Case{Kind: dimos.KindRequest, CategoryCode: "potholes", Subject: "Λακκούβα", Text: "Στην οδό Εγνατίας",
			Contact: dimos.Contact{FirstName: "Ελένη", LastName: "Παππά", Email: "eleni@example.gr"}}
	}
	tests := []struct {
		name   string
		change func(*dimos.Case)
		want   []string
	}{
		{"Valid", func(*dimos.Case) {}, nil},
		{"ValidAnonymousWithoutContact", func(c *dimos.Case) { c.Anonymous = true; c.Contact = dimos.Contact{} }, nil},
		{"ValidPhoneOnly", func(c *dimos.Case) { c.Contact.Email = ""; c.Contact.Phone = "+30 690 000 0000" }, nil},
		{"ErrEverythingMissing", func(c *dimos.Case) { *c = dimos.Case{} }, []string{
			"kind:field.required", "category:field.required", "subject:field.required", "text:field.required",
			"contact.first_name:field.required", "contact.last_name:field.required", "contact.email:field.contact.reachable"}},
		{"ErrKindUnknown", func(c *dimos.Case) { c.Kind = "praise" }, []string{"kind:field.kind.unknown"}},
		{"ErrSubjectTooLong", func(c *dimos.Case) { c.Subject = strings.Repeat("λ", dimos.MaxSubjectLen+1) }, []string{"subject:field.too_long"}},
		{"SubjectAtLimitCountsCharactersNotBytes", func(c *dimos.Case) { c.Subject = strings.Repeat("λ", dimos.MaxSubjectLen) }, nil},
		{"ErrInvalidUTF8", func(c *dimos.Case) { c.Text = "abc\xff" }, []string{"text:field.utf8"}},
		{"ErrNUL", func(c *dimos.Case) { c.Subject = "Λακκούβα\x00" }, []string{"subject:field.utf8"}},
		{"ErrBlankText", func(c *dimos.Case) { c.Text = " \n\t" }, []string{"text:field.required"}},
		{"ErrEmail", func(c *dimos.Case) { c.Contact.Email = "Eleni <eleni@example.gr>" }, []string{"contact.email:field.email.invalid"}},
		{"ErrPhone", func(c *dimos.Case) { c.Contact.Phone = "69-abc" }, []string{"contact.phone:field.phone.invalid"}},
		{"ErrAnonymousCertificate", func(c *dimos.Case) {
			c.Kind, c.Anonymous, c.Purpose, c.Delivery = dimos.KindCertificate, true, "Σχολείο", dimos.DeliveryKEP
		}, []string{"anonymous:field.anonymous.certificate"}},
		{"ErrCertificateWithoutPurposeOrDelivery", func(c *dimos.Case) { c.Kind = dimos.KindCertificate },
			[]string{"purpose:field.required", "delivery:field.delivery.unknown"}},
		{"ValidCertificate", func(c *dimos.Case) {
			c.Kind, c.Purpose, c.Delivery = dimos.KindCertificate, "Σχολείο", dimos.DeliveryElectronic
		}, nil},
		{"ValidMapPoint", func(c *dimos.Case) { c.Location = &dimos.Point{Lat: 35.19, Lon: 25.72} }, nil},
		{"ErrMapPoint", func(c *dimos.Case) { c.Location = &dimos.Point{Lat: 35.19, Lon: 200} }, []string{"location:field.location.range"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			if got := fields(err); !slices.Equal(got, tt.want) {
				t.Fatalf("fields %v, want %v (err %v)", got, tt.want, err)
			}
			if tt.want != nil && dimos.ErrorCode(err) != dimos.EINVALID {
				t.Fatalf("code %q", dimos.ErrorCode(err))
			}
		})
	}
}

func TestCaseNumber(t *testing.T) {
	if got := dimos.FormatCaseNumber(2026, 42); got != "2026-000042" {
		t.Fatalf("format: %s", got)
	}
	if got := dimos.FormatCaseNumber(2026, 1234567); got != "2026-1234567" {
		t.Fatalf("format beyond six digits: %s", got)
	}
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"2026-000042", "2026-000042", true},
		{"2026000042", "2026-000042", true}, // keyed on a phone
		{" 2026-1234567 ", "2026-1234567", true},
		{"2026-42", "", false},
		{"202-6000042", "", false},
		{"2026-00004a", "", false},
		{"2026--000042", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := dimos.ParseCaseNumber(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseCaseNumber(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestStageStatus(t *testing.T) {
	for stage, want := range map[dimos.Stage]dimos.Status{
		dimos.StageReceived: dimos.StatusPending, dimos.StageRouted: dimos.StatusPending, dimos.StageCompleted: dimos.StatusCompleted,
	} {
		if got := stage.Status(); got != want {
			t.Errorf("%s: %s, want %s", stage, got, want)
		}
	}
}
