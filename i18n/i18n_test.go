package i18n

import "testing"

func TestCatalogue(t *testing.T) {
	t.Run("GreekFirst", func(t *testing.T) {
		if got := T(Lang(""), "status.completed"); got != "Ολοκληρώθηκε" {
			t.Fatalf("default language: got %q", got)
		}
		if got := T(Lang("en-GB,en;q=0.9"), "status.completed"); got != "Completed" {
			t.Fatalf("english: got %q", got)
		}
	})
	t.Run("UnknownKeyShows", func(t *testing.T) {
		if got := T(Greek, "no.such.key"); got != "no.such.key" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("Both", func(t *testing.T) {
		el, en := Both("field.required")
		if el == en || el == "" || en == "" {
			t.Fatalf("el=%q en=%q", el, en)
		}
	})
}
