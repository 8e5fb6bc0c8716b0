package reports

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func writeFixtureXLSX(t *testing.T, lang string) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := WriteXLSX(context.Background(), &buf, fixture(), fixtureFilter(), lang)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("WriteXLSX wrote %d cases, want 3", n)
	}
	return buf.Bytes()
}

func TestWriteXLSX(t *testing.T) {
	raw := writeFixtureXLSX(t, "el")
	f, err := excelize.OpenReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	t.Run("Sheets", func(t *testing.T) {
		want := []string{"Αναφορά", "Υπηρεσίες", "Υπάλληλοι", "Κατηγορίες", "Σημεία συμφόρησης", "Πήγαινε-έλα",
			"Τάση", "Υποθέσεις", "Γραφήματα"}
		if got := f.GetSheetList(); !slices.Equal(got, want) {
			t.Fatalf("sheets %q, want %q", got, want)
		}
	})

	// cell checks one cell: its value as shown (formatted), its raw value, whether it
	// is a number, and its number format ("" for none).
	cell := func(t *testing.T, sheet, ref, shown, rawValue string, number bool, numFmt string) {
		t.Helper()
		got, err := f.GetCellValue(sheet, ref)
		if err != nil {
			t.Fatal(err)
		}
		if got != shown {
			t.Errorf("%s!%s shows %q, want %q", sheet, ref, got, shown)
		}
		gotRaw, _ := f.GetCellValue(sheet, ref, excelize.Options{RawCellValue: true})
		if rawValue != "" && gotRaw != rawValue {
			t.Errorf("%s!%s holds %q, want %q", sheet, ref, gotRaw, rawValue)
		}
		typ, _ := f.GetCellType(sheet, ref)
		// A number is a cell without a type attribute (or t="n"); text has one.
		if isNumber := typ == excelize.CellTypeUnset || typ == excelize.CellTypeNumber; shown != "" && isNumber != number {
			t.Errorf("%s!%s: type %v, want number=%v", sheet, ref, typ, number)
		}
		id, _ := f.GetCellStyle(sheet, ref)
		style, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		gotFmt := ""
		if style.CustomNumFmt != nil {
			gotFmt = *style.CustomNumFmt
		}
		if gotFmt != numFmt {
			t.Errorf("%s!%s: number format %q, want %q", sheet, ref, gotFmt, numFmt)
		}
	}
	header := func(t *testing.T, sheet string, lastCol string, rows int, want ...string) {
		t.Helper()
		got, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || !slices.Equal(got[0][:len(want)], want) {
			t.Errorf("%s header %q, want it to start %q", sheet, got[0], want)
		}
		style, _ := f.GetCellStyle(sheet, "A1")
		if s, _ := f.GetStyle(style); s.Font == nil || !s.Font.Bold {
			t.Errorf("%s header is not bold", sheet)
		}
		panes, err := f.GetPanes(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if !panes.Freeze || panes.YSplit != 1 || panes.TopLeftCell != "A2" {
			t.Errorf("%s panes %+v, want the header row frozen", sheet, panes)
		}
		filter := ""
		for _, d := range f.GetDefinedName() {
			if d.Name == "_xlnm._FilterDatabase" && d.Scope == sheet {
				filter = d.RefersTo
			}
		}
		if want := "'" + sheet + "'!$A$1:$" + lastCol + "$" + strconv.Itoa(rows+1); filter != want {
			t.Errorf("%s autofilter %q, want %q", sheet, filter, want)
		}
	}

	t.Run("Services", func(t *testing.T) {
		s := "Υπηρεσίες"
		// 14 fixed columns and a median and a P90 for the two stages visited: R.
		header(t, s, "R", 2, "Κωδικός", "Όνομα", "Παραλήφθηκαν", "Ολοκληρώθηκαν", "Ανοιχτές τώρα", "Εκπρόθεσμες τώρα",
			"Διάμεσος χρόνος ολοκλήρωσης (εργάσιμες)")
		cell(t, s, "O1", "Στον διευθυντή της υπηρεσίας: διάμεσος (εργάσιμες)", "", false, "")
		cell(t, s, "A2", "TECH", "", false, "")
		cell(t, s, "B2", "Τεχνικές Υπηρεσίες", "", false, "")
		cell(t, s, "C2", "12", "12", true, "")
		cell(t, s, "F2", "1", "1", true, "")
		cell(t, s, "G2", "6.5", "6.5", true, "0.0")
		cell(t, s, "H2", "11.3", "11.25", true, "0.0") // shown to one decimal, kept whole
		cell(t, s, "I2", "14.0", "14", true, "0.0")
		cell(t, s, "J2", "156.0", "156", true, "0.0")
		cell(t, s, "M2", "75.0%", "0.75", true, "0.0%")
		cell(t, s, "N2", "100.0%", "1", true, "0.0%")
		cell(t, s, "O2", "1.5", "1.5", true, "0.0")
		cell(t, s, "R2", "7.5", "7.5", true, "0.0")
		// Cleaning completed nothing: no completion time, no share, no in-progress stage.
		cell(t, s, "B3", "Καθαριότητα", "", false, "")
		cell(t, s, "G3", "", "", true, "")
		cell(t, s, "M3", "", "", true, "")
		cell(t, s, "Q3", "", "", true, "")
		cell(t, s, "O3", "0.5", "0.5", true, "0.0")
		// The total, below the filtered range.
		cell(t, s, "A4", "Σύνολο", "", false, "")
		cell(t, s, "C4", "17", "17", true, "")
		cell(t, s, "O4", "1.0", "1", true, "0.0")
		if w, _ := f.GetColWidth(s, "B"); w != 32 {
			t.Errorf("column B width %v, want 32", w)
		}
		if w, _ := f.GetColWidth(s, "C"); w < 10 {
			t.Errorf("column C width %v, want at least 10", w)
		}
	})

	t.Run("Employees", func(t *testing.T) {
		s := "Υπάλληλοι"
		header(t, s, "R", 3, "Κωδικός", "Όνομα")
		cell(t, s, "B3", "Γιώργος Μανουσάκης", "", false, "")
		cell(t, s, "M3", "66.7%", "0.666666666666667", true, "0.0%")
		cell(t, s, "F3", "1", "1", true, "")
	})

	t.Run("Categories", func(t *testing.T) {
		s := "Κατηγορίες"
		header(t, s, "R", 2, "Κωδικός", "Όνομα")
		cell(t, s, "B3", "Αποκομιδή απορριμμάτων", "", false, "")
	})

	t.Run("Bottlenecks", func(t *testing.T) {
		s := "Σημεία συμφόρησης"
		header(t, s, "L", 2, "Σειρά", "Στάδιο", "Ανά", "Κωδικός", "Όνομα", "Υποθέσεις")
		cell(t, s, "A2", "1", "1", true, "")
		cell(t, s, "B2", "Σε επεξεργασία", "", false, "")
		cell(t, s, "C2", "Υπηρεσία", "", false, "")
		cell(t, s, "G2", "4.0", "4", true, "0.0")
		cell(t, s, "J2", "96.0", "96", true, "0.0")
		cell(t, s, "C3", "Υπάλληλος", "", false, "")
		cell(t, s, "E3", "Νίκος Γεωργίου", "", false, "")
	})

	t.Run("PingPong", func(t *testing.T) {
		s := "Πήγαινε-έλα"
		header(t, s, "F", 1, "Αριθμός", "Θέμα", "Ανά", "Μετακινήσεις", "Επιστροφές", "Διαδρομή")
		// In a workbook a subject is typed text: it cannot run as a formula.
		cell(t, s, "B2", "=Λακκούβα που πήγε και ήρθε", "", false, "")
		if formula, _ := f.GetCellFormula(s, "B2"); formula != "" {
			t.Errorf("subject became the formula %q", formula)
		}
		cell(t, s, "D2", "3", "3", true, "")
		cell(t, s, "F2", "TECH → CLEAN → TECH → CLEAN", "", false, "")
	})

	t.Run("Trend", func(t *testing.T) {
		s := "Τάση"
		header(t, s, "G", 6, "Εβδομάδα από", "Κωδικός", "Υπηρεσία", "Παραλήφθηκαν", "Ολοκληρώθηκαν")
		cell(t, s, "A2", "02/03/2026", "46083", true, "dd/mm/yyyy")
		cell(t, s, "C2", "Όλες οι υπηρεσίες", "", false, "")
		cell(t, s, "A5", "23/03/2026", "46104", true, "dd/mm/yyyy")
		cell(t, s, "F5", "8.5", "8.5", true, "0.0")
		cell(t, s, "C6", "Τεχνικές Υπηρεσίες", "", false, "")
		cell(t, s, "F7", "", "", true, "") // nothing completed: no median
	})

	t.Run("Cases", func(t *testing.T) {
		s := "Υποθέσεις"
		header(t, s, "L", 3, "Αριθμός", "Είδος", "Κανάλι", "Κατηγορία", "Υπηρεσία", "Υπάλληλος", "Στάδιο", "Υποβλήθηκε",
			"Έκλεισε", "Χρόνος ολοκλήρωσης (εργάσιμες)", "Χρόνος ολοκλήρωσης (ώρες)", "Εκπρόθεσμη")
		cell(t, s, "A2", "2026-000001", "", false, "")
		cell(t, s, "B2", "Αίτημα", "", false, "")
		cell(t, s, "G2", "Ολοκληρώθηκε", "", false, "")
		// 2 March 2026 09:30 in Athens: serial 46083 and 9.5/24 of a day.
		cell(t, s, "H2", "02/03/2026 09:30", "46083.3958333333", true, "dd/mm/yyyy hh:mm")
		cell(t, s, "I2", "10/03/2026 14:00", "", true, "dd/mm/yyyy hh:mm")
		cell(t, s, "J2", "6.5", "6.5", true, "0.0")
		cell(t, s, "K2", "196.5", "196.5", true, "0.0")
		cell(t, s, "L2", "Όχι", "", false, "")
		// Open: no closing date and no completion time, empty rather than zero.
		cell(t, s, "I3", "", "", true, "")
		cell(t, s, "J3", "", "", true, "")
		cell(t, s, "L3", "Ναι", "", false, "")
		cell(t, s, "F4", `=HYPERLINK("http://evil")`, "", false, "")
		if formula, _ := f.GetCellFormula(s, "F4"); formula != "" {
			t.Errorf("employee became the formula %q", formula)
		}
	})

	t.Run("Summary", func(t *testing.T) {
		s := "Αναφορά"
		cell(t, s, "B3", "02/03/2026 έως 29/03/2026", "", false, "")
		cell(t, s, "B4", "30/03/2026 12:15", "", true, "dd/mm/yyyy hh:mm") // 09:15 UTC is 12:15 in Athens (summer time)
		rows, _ := f.GetRows(s)
		if !strings.Contains(strings.Join(rows[len(rows)-1], " "), "08:00–16:00") {
			t.Errorf("the summary does not state the working-day rule: %q", rows[len(rows)-1])
		}
	})

	t.Run("Chart", func(t *testing.T) {
		z, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		var charts []string
		for _, file := range z.File {
			if strings.HasPrefix(file.Name, "xl/charts/chart") {
				rc, _ := file.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				charts = append(charts, string(b))
			}
		}
		if len(charts) != 2 {
			t.Fatalf("%d charts in the workbook, want 2", len(charts))
		}
		// What the charts plot: the cell ranges (<f>), the chart kind and the titles.
		var refs, texts []string
		bars := 0
		for _, c := range charts {
			d := xml.NewDecoder(strings.NewReader(c))
			var in string
			for {
				tok, err := d.Token()
				if err != nil {
					break
				}
				switch tok := tok.(type) {
				case xml.StartElement:
					in = tok.Name.Local
					if in == "barDir" && len(tok.Attr) == 1 && tok.Attr[0].Value == "col" {
						bars++
					}
				case xml.CharData:
					switch in {
					case "f":
						refs = append(refs, string(tok))
					case "t":
						texts = append(texts, string(tok))
					}
				case xml.EndElement:
					in = ""
				}
			}
		}
		if bars != 2 {
			t.Errorf("%d column charts, want 2", bars)
		}
		for _, want := range []string{"'Υπηρεσίες'!$G$1", "'Υπηρεσίες'!$G$2:$G$3", "'Υπηρεσίες'!$B$2:$B$3",
			"'Υπηρεσίες'!$M$2:$M$3"} {
			if !slices.Contains(refs, want) {
				t.Errorf("charts plot %q, not %q", refs, want)
			}
		}
		for _, want := range []string{"Διάμεσος χρόνος ολοκλήρωσης ανά υπηρεσία", "Ποσοστό ολοκλήρωσης εντός στόχου ανά υπηρεσία"} {
			if !slices.Contains(texts, want) {
				t.Errorf("chart titles %q lack %q", texts, want)
			}
		}
		// The charts sheet draws them.
		rels := ""
		for _, file := range z.File {
			if strings.HasPrefix(file.Name, "xl/drawings/_rels/") {
				rc, _ := file.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				rels += string(b)
			}
		}
		if !strings.Contains(rels, "chart1.xml") || !strings.Contains(rels, "chart2.xml") {
			t.Errorf("no drawing refers to the charts: %s", rels)
		}
	})
}

// The case list is the filter's that was asked, even from a source whose report
// does not carry its filter: never every case of the municipality.
func TestWriteXLSXAsksCasesOfTheFilter(t *testing.T) {
	src := fixture()
	src.forgetful = true
	f := fixtureFilter()
	f.ServiceID, f.Kind = 7, "complaint"
	if _, err := WriteXLSX(context.Background(), io.Discard, src, f, "el"); err != nil {
		t.Fatal(err)
	}
	if len(src.filters) != 2 || src.filters[1] != f {
		t.Errorf("the source was asked %+v, want the report and then the cases of %+v", src.filters, f)
	}
}

func TestWriteXLSXEnglish(t *testing.T) {
	f, err := excelize.OpenReader(bytes.NewReader(writeFixtureXLSX(t, "en")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := []string{"Report", "Services", "Employees", "Categories", "Bottlenecks", "Ping-pong", "Trend", "Cases", "Charts"}
	if got := f.GetSheetList(); !slices.Equal(got, want) {
		t.Fatalf("sheets %q, want %q", got, want)
	}
	for ref, want := range map[string]string{"A1": "Code", "B2": "Technical Services", "O1": "With the service director: median (working days)"} {
		if got, _ := f.GetCellValue("Services", ref); got != want {
			t.Errorf("Services!%s = %q, want %q", ref, got, want)
		}
	}
	if got, _ := f.GetCellValue("Cases", "B3"); got != "Complaint" {
		t.Errorf("Cases!B3 = %q, want Complaint", got)
	}
}

// TestXLSXInLibreOffice opens the workbook in LibreOffice, which reads OOXML on its
// own code, and compares what it shows (the cells as formatted, so the number formats
// are checked too) with the figures of the fixture. It fails when
// soffice is missing: the check matters more than a green run without it.
func TestXLSXInLibreOffice(t *testing.T) {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Fatal("soffice not found: install the Debian package libreoffice-calc-nogui")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "report.xlsx")
	if err := os.WriteFile(in, writeFixtureXLSX(t, "el"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command(soffice, "--headless", "--norestore", "--convert-to",
		"csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1", "--outdir", out, in)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, b)
	}
	read := func(sheet string) [][]string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, "report-"+sheet+".csv"))
		if err != nil {
			entries, _ := os.ReadDir(out)
			t.Fatalf("%v (LibreOffice wrote %v)", err, entries)
		}
		r := csv.NewReader(bytes.NewReader(b))
		r.FieldsPerRecord = -1
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	want := func(rows [][]string, row, col int, value string) {
		t.Helper()
		if row >= len(rows) || col >= len(rows[row]) {
			t.Errorf("no cell at row %d col %d in %q", row+1, col+1, rows)
			return
		}
		if rows[row][col] != value {
			t.Errorf("row %d col %d = %q, want %q", row+1, col+1, rows[row][col], value)
		}
	}
	services := read("Υπηρεσίες")
	want(services, 0, 0, "Κωδικός")
	want(services, 1, 1, "Τεχνικές Υπηρεσίες")
	want(services, 1, 2, "12")
	want(services, 1, 6, "6.5")
	want(services, 1, 7, "11.3")
	want(services, 1, 12, "75.0%")
	want(services, 2, 1, "Καθαριότητα")
	want(services, 2, 6, "")
	want(services, 3, 0, "Σύνολο")
	want(services, 3, 2, "17")

	cases := read("Υποθέσεις")
	if len(cases) != 4 {
		t.Errorf("LibreOffice reads %d rows of cases, want a header and 3", len(cases))
	}
	want(cases, 1, 0, "2026-000001")
	want(cases, 1, 1, "Αίτημα")
	want(cases, 1, 7, "02/03/2026 09:30")
	want(cases, 1, 8, "10/03/2026 14:00")
	want(cases, 1, 9, "6.5")
	want(cases, 2, 8, "")
	want(cases, 2, 11, "Ναι")
	want(cases, 3, 5, `=HYPERLINK("http://evil")`)

	trend := read("Τάση")
	want(trend, 1, 0, "02/03/2026")
	want(trend, 4, 5, "8.5")

	pp := read("Πήγαινε-έλα")
	want(pp, 1, 1, "=Λακκούβα που πήγε και ήρθε")
	want(pp, 1, 5, "TECH → CLEAN → TECH → CLEAN")
}
