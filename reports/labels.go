package reports

import (
	"strings"
	"time"
	_ "time/tzdata" // Europe/Athens without the system's zoneinfo (containers)

	"dimos"
	"dimos/i18n"
)

// athens is the clock every date of an export is written in: the municipality's.
var athens = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Athens")
	if err != nil {
		panic(err)
	}
	return loc
}()

// Lang normalises a language argument to "el" or "en": Greek unless English is asked.
func Lang(s string) string { return i18n.Lang(s) }

// label is the catalogue's name of a coded value (stage.routed, kind.request), or
// the code itself when the catalogue does not name it, so that a new code still
// shows rather than an empty cell.
func label(lang, prefix, code string) string {
	if code == "" {
		return ""
	}
	if key := prefix + code; i18n.Has(key) {
		return i18n.T(lang, key)
	}
	return code
}

func stageLabel(lang string, s dimos.Stage) string { return label(lang, "stage.", string(s)) }

func dimensionLabel(lang string, d Dimension) string {
	return label(lang, "export.dimension.", string(d))
}

// name is a row's name in lang, falling back to the other language and then to the key.
func name(lang, key, el, en string) string {
	first, second := el, en
	if lang == i18n.English {
		first, second = en, el
	}
	switch {
	case first != "":
		return first
	case second != "":
		return second
	}
	return key
}

func yesNo(lang string, b bool) string {
	if b {
		return i18n.T(lang, "export.yes")
	}
	return i18n.T(lang, "export.no")
}

// holders is a ping-pong case's route, the way a clerk would write it on paper.
func holders(h []string) string { return strings.Join(h, " → ") }

// tableOf returns the report's table of d, or nil when the report has none.
func (r *Report) tableOf(d Dimension) *Table {
	for i := range r.Tables {
		if r.Tables[i].Dimension == d {
			return &r.Tables[i]
		}
	}
	return nil
}

// stagesOf lists, in lifecycle order, the stages some row of t spent time in, so that
// a table has a column pair for each stage that matters and none for the others.
func stagesOf(t *Table) []dimos.Stage {
	rows := append([]Row{t.Total}, t.Rows...)
	seen := map[dimos.Stage]bool{}
	for _, r := range rows {
		for _, s := range r.Stages {
			seen[s.Stage] = true
		}
	}
	var out []dimos.Stage
	for _, s := range dimos.Stages {
		if seen[s] {
			out = append(out, s)
			delete(seen, s)
		}
	}
	// A stage dimos.Stages does not list (a newer one) goes last rather than nowhere.
	for _, r := range rows {
		for _, s := range r.Stages {
			if seen[s.Stage] {
				out = append(out, s.Stage)
				delete(seen, s.Stage)
			}
		}
	}
	return out
}

// stageSpread is r's spread in stage s, and whether r visited it.
func stageSpread(r Row, s dimos.Stage) (Spread, bool) {
	for _, st := range r.Stages {
		if st.Stage == s {
			return st.Spread, true
		}
	}
	return Spread{}, false
}
