package reports

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"dimos/i18n"
)

// WriteCasesCSV writes every case of f, read from src one line at a time, as CSV to
// w: UTF-8 with a byte order mark (without which Excel reads Greek as mojibake),
// CRLF line ends, a header row in lang, dates as "2006-01-02 15:04" in Athens and
// durations with a decimal point, the way the console's audit export writes them.
// It returns the number of cases written.
func WriteCasesCSV(ctx context.Context, w io.Writer, src Source, f Filter, lang string) (int, error) {
	lang = Lang(lang)
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("\uFEFF"); err != nil {
		return 0, err
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true // what Excel writes and expects
	header := make([]string, len(caseColumns))
	for i, k := range caseColumns {
		header[i] = i18n.T(lang, k)
	}
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	n := 0
	err := src.CaseLines(ctx, f, func(l CaseLine) error {
		n++
		closed, days, hours := "", "", ""
		if !l.ClosedAt.IsZero() {
			closed = l.ClosedAt.In(athens).Format(csvTime)
			days, hours = number(l.Completion.WorkingDays), number(l.Completion.Hours)
		}
		return cw.Write([]string{neutral(l.Number), neutral(label(lang, "kind.", string(l.Kind))),
			neutral(label(lang, "channel.", string(l.Channel))), neutral(l.Category), neutral(l.Service), neutral(l.Employee),
			neutral(stageLabel(lang, l.Stage)), l.SubmittedAt.In(athens).Format(csvTime), closed, days, hours,
			yesNo(lang, l.Overdue)})
	})
	if err != nil {
		return n, fmt.Errorf("case lines: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

const csvTime = "2006-01-02 15:04"

// number writes a duration with as many decimals as it has, up to two.
func number(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// neutral keeps a spreadsheet from reading a text value as a formula (CSV injection):
// a value that starts with = + - @ or a tab or carriage return gets a leading
// apostrophe, the convention of the console's audit export. Values in a CSV come
// from the database, where a clerk's or a citizen's typing may have put anything.
func neutral(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
