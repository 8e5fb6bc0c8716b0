package reports

import (
	"bytes"
	"context"
	"encoding/xml"
	"image/png"
	"io"
	"os"
	"strings"
	"testing"
)

func fixtureReport(t *testing.T) *Report {
	t.Helper()
	r, err := fixture().Report(context.Background(), fixtureFilter())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// svgText is every piece of text an SVG document draws.
func svgText(t *testing.T, doc []byte) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var text []string
	in := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("the SVG is not XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			in = tok.Name.Local == "text"
		case xml.CharData:
			if in {
				text = append(text, string(tok))
			}
		case xml.EndElement:
			in = false
		}
	}
	return strings.Join(text, "|")
}

func TestWriteChart(t *testing.T) {
	r := fixtureReport(t)
	// Labels each chart must carry, in Greek and in English.
	labels := map[string]map[string][]string{
		ChartMedian: {
			"el": {"Διάμεσος χρόνος ολοκλήρωσης ανά υπηρεσία", "Τεχνικές Υπηρεσίες (6.5)", "Εργάσιμες ημέρες"},
			"en": {"Median completion time per service", "Technical Services (6.5)", "Working days"},
		},
		ChartStages: {
			"el": {"Τεχνικές Υπηρεσίες (5.5)", "Καθαριότητα (0.5)", "Στον διευθυντή της υπηρεσίας", "Σε επεξεργασία", "1.5", "4.0"},
			"en": {"Technical Services (5.5)", "Cleaning (0.5)", "With the service director", "In progress"},
		},
		ChartTrend: {
			"el": {"Εβδομαδιαία τάση: παραλαβές και ολοκληρώσεις", "Παραλήφθηκαν", "Ολοκληρώθηκαν", "02/03", "23/03"},
			"en": {"Weekly trend: received and completed", "Received", "Completed", "02/03"},
		},
		ChartTarget: {
			"el": {"Ποσοστό ολοκλήρωσης εντός στόχου ανά υπηρεσία", "Τεχνικές Υπηρεσίες (75%)", "100%"},
			"en": {"Share completed within target per service", "Technical Services (75%)"},
		},
	}
	for _, name := range ChartNames {
		for _, lang := range []string{"el", "en"} {
			t.Run(name+"/"+lang, func(t *testing.T) {
				var pngBuf bytes.Buffer
				if err := WriteChart(&pngBuf, r, name, PNG, lang); err != nil {
					t.Fatal(err)
				}
				if dir := os.Getenv("CHARTS_DIR"); dir != "" { // to look at them: CHARTS_DIR=/tmp/charts
					os.WriteFile(dir+"/"+name+"-"+lang+".png", pngBuf.Bytes(), 0o600) //nolint:errcheck
				}
				img, err := png.Decode(&pngBuf)
				if err != nil {
					t.Fatalf("the PNG does not decode: %v", err)
				}
				if b := img.Bounds(); b.Dx() != ChartWidth || b.Dy() != ChartHeight {
					t.Errorf("PNG is %v, want %dx%d", b, ChartWidth, ChartHeight)
				}
				var svg bytes.Buffer
				if err := WriteChart(&svg, r, name, SVG, lang); err != nil {
					t.Fatal(err)
				}
				text := svgText(t, svg.Bytes())
				for _, want := range labels[name][lang] {
					if !strings.Contains(text, want) {
						t.Errorf("SVG lacks %q in its text: %s", want, text)
					}
				}
				if !strings.Contains(svg.String(), "DejaVu Sans") {
					t.Error("the SVG does not name the embedded font")
				}
			})
		}
	}
	// The Cleaning service completed nothing: no median bar, no share bar.
	var svg bytes.Buffer
	if err := WriteChart(&svg, r, ChartTarget, SVG, "el"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(svgText(t, svg.Bytes()), "Καθαριότητα") {
		t.Error("the target chart has a bar for a service that completed nothing")
	}
}

// TestWriteChartGreekGlyphs checks that the Greek labels are drawn with glyphs: the
// same chart in Greek and English differs, and a Greek PNG drawn with go-chart's
// own font (which has no Greek) would be the one with boxes.
func TestWriteChartGreekGlyphs(t *testing.T) {
	f, err := chartFont()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range "ΑΩαωάέήίόύώϊΐ" {
		if f.Index(r) == 0 {
			t.Errorf("the embedded font has no glyph for %q", r)
		}
	}
}

// TestWriteChartEscapes draws names with markup characters: the SVG stays XML and
// shows them as text.
func TestWriteChartEscapes(t *testing.T) {
	r := fixtureReport(t)
	r.Tables[0].Rows[0].NameEL = `Ύδρευση & <script>alert("x")</script>`
	for _, name := range []string{ChartMedian, ChartStages, ChartTarget} {
		var svg bytes.Buffer
		if err := WriteChart(&svg, r, name, SVG, "el"); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(svg.String(), "<script>") {
			t.Errorf("%s: markup of a name went into the SVG", name)
		}
		// go-chart wraps a long name over several lines; read them as one.
		text := strings.NewReplacer("|", "", " ", "").Replace(svgText(t, svg.Bytes()))
		if !strings.Contains(text, `Ύδρευση&<script>alert("x")</script>`) {
			t.Errorf("%s: the name does not show as text", name)
		}
	}
}

func TestWriteChartEmpty(t *testing.T) {
	empty := &Report{Filter: fixtureFilter()}
	for _, name := range ChartNames {
		var svg bytes.Buffer
		if err := WriteChart(&svg, empty, name, SVG, "el"); err != nil {
			t.Fatalf("%s of an empty report: %v", name, err)
		}
		if !strings.Contains(svgText(t, svg.Bytes()), "Χωρίς δεδομένα") {
			t.Errorf("%s of an empty report does not say there is no data", name)
		}
	}
}

func TestParseChartFile(t *testing.T) {
	for file, want := range map[string][2]string{
		"median.png": {"median", "png"}, "stages.svg": {"stages", "svg"}, "trend.png": {"trend", "png"},
		"target.svg": {"target", "svg"}, "median.gif": {}, "pie.png": {}, "median": {}, "../median.png": {},
	} {
		name, format, ok := ParseChartFile(file)
		if ok != (want[0] != "") || name != want[0] || format != want[1] {
			t.Errorf("ParseChartFile(%q) = %q, %q, %v; want %q", file, name, format, ok, want)
		}
	}
}
