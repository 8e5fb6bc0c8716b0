package dimos_test

import (
	"slices"
	"strings"
	"testing"

	"dimos"
)

func TestValidAFM(t *testing.T) {
	tests := []struct {
		name string
		afm  string
		want bool
	}{
		{"Valid", "094019245", true},
		{"ValidOther", "090000045", true},
		{"ValidSequence", "123456783", true},
		// 1·256 + 9·2 = 274 = 24·11 + 10: a remainder of ten gives check digit 0.
		{"ValidRemainderTenGivesZero", "100000090", true},
		{"ErrCheckDigit", "094019246", false},
		{"ErrSequence", "123456789", false},
		{"ErrAllZeros", "000000000", false},
		{"ErrShort", "09401924", false},
		{"ErrLong", "0940192450", false},
		{"ErrLetter", "09401924A", false},
		{"ErrSpaces", "094 019 245", false},
		{"ErrGreekDigits", "٠٩٤٠١٩٢٤٥", false},
		{"ErrEmpty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dimos.ValidAFM(tt.afm); got != tt.want {
				t.Fatalf("ValidAFM(%q) = %v, want %v", tt.afm, got, tt.want)
			}
		})
	}
}

func TestCitizenValidate(t *testing.T) {
	valid := func() dimos.Citizen {
		return dimos.Citizen{Username: "eleni.pappa", FirstName: "Ελένη", LastName: "Παππά",
			Email: "eleni@example.gr", MobilePhone: "6900000001", Address: "Εγνατίας 12, Θεσσαλονίκη"}
	}
	tests := []struct {
		name   string
		change func(*dimos.Citizen)
		want   []string
	}{
		{"Valid", func(*dimos.Citizen) {}, nil},
		{"ValidWithOptionals", func(c *dimos.Citizen) {
			c.Phone, c.PhoneAccessCode, c.AFM, c.Lang = "2310000000", "123456", "094019245", "en"
		}, nil},
		{"ErrEverythingMissing", func(c *dimos.Citizen) { *c = dimos.Citizen{} }, []string{
			"username:field.required", "first_name:field.required", "last_name:field.required",
			"email:field.required", "mobile_phone:field.required", "address:field.required"}},
		{"ErrEverythingWrong", func(c *dimos.Citizen) {
			*c = dimos.Citizen{Username: "Ελένη", FirstName: strings.Repeat("λ", dimos.MaxNameLen+1), LastName: "abc\xff",
				Email: "eleni@", MobilePhone: "69", Phone: "abc", Address: "  ", PhoneAccessCode: "12a4",
				AFM: "123456789", Lang: "de", VerificationDoc: "driving_licence"}
		}, []string{
			"username:account.field.username", "first_name:field.too_long", "last_name:field.utf8",
			"email:field.email.invalid", "mobile_phone:field.phone.invalid", "phone:field.phone.invalid",
			"address:field.required", "phone_access_code:account.field.access_code", "afm:account.field.afm",
			"lang:account.field.lang", "doc_type:account.field.doc_type"}},
		{"ErrUsernameShort", func(c *dimos.Citizen) { c.Username = "ab" }, []string{"username:account.field.username"}},
		{"ErrUsernameUppercase", func(c *dimos.Citizen) { c.Username = "Eleni" }, []string{"username:account.field.username"}},
		{"ErrUsernameLeadingDot", func(c *dimos.Citizen) { c.Username = ".eleni" }, []string{"username:account.field.username"}},
		{"ErrAccessCodeShort", func(c *dimos.Citizen) { c.PhoneAccessCode = "123" }, []string{"phone_access_code:account.field.access_code"}},
		{"ErrEmailDisplayName", func(c *dimos.Citizen) { c.Email = "Eleni <eleni@example.gr>" }, []string{"email:field.email.invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			got := fields(c.Validate())
			if !slices.Equal(got, tt.want) {
				t.Fatalf("fields:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestNormalizeUsername(t *testing.T) {
	if got := dimos.NormalizeUsername("  Eleni.Pappa "); got != "eleni.pappa" {
		t.Fatalf("got %q", got)
	}
}
