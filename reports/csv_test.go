package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
)

func TestWriteCasesCSV(t *testing.T) {
	var buf bytes.Buffer
	src := fixture()
	n, err := WriteCasesCSV(context.Background(), &buf, src, fixtureFilter(), "el")
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("wrote %d cases, want 3", n)
	}
	raw := buf.String()
	if !strings.HasPrefix(raw, "\uFEFF") {
		t.Fatal("no byte order mark: Excel would read Greek as mojibake")
	}
	if !strings.Contains(raw, "\r\n") {
		t.Error("lines do not end in CRLF")
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(raw, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Αριθμός", "Είδος", "Κανάλι", "Κατηγορία", "Υπηρεσία", "Υπάλληλος", "Στάδιο", "Υποβλήθηκε", "Έκλεισε",
			"Χρόνος ολοκλήρωσης (εργάσιμες)", "Χρόνος ολοκλήρωσης (ώρες)", "Εκπρόθεσμη"},
		{"2026-000001", "Αίτημα", "Διαδικτυακή πύλη", "roads", "TECH", "maria", "Ολοκληρώθηκε", "2026-03-02 09:30", "2026-03-10 14:00",
			"6.5", "196.5", "Όχι"},
		{"2026-000002", "Καταγγελία", "Τηλέφωνο", "bins", "CLEAN", "nikos", "Στον διευθυντή της υπηρεσίας",
			"2026-03-03 08:00", "", "", "", "Ναι"},
		// A value that looks like a formula is neutralised with an apostrophe.
		{"2026-000003", "Πρόταση", "Γκισέ εξυπηρέτησης", "roads", "TECH", `'=HYPERLINK("http://evil")`, "Σε επεξεργασία",
			"2026-03-04 11:45", "", "", "", "Όχι"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %q", len(rows), len(want), rows)
	}
	for i := range want {
		if !slices.Equal(rows[i], want[i]) {
			t.Errorf("row %d:\n got %q\nwant %q", i, rows[i], want[i])
		}
	}
}

func TestNeutral(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+30 2841": "'+30 2841", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"Λακκούβα": "Λακκούβα", "": "", "2026-000001": "2026-000001",
	} {
		if got := neutral(in); got != want {
			t.Errorf("neutral(%q) = %q, want %q", in, got, want)
		}
	}
}
