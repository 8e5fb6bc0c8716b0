package activities

import (
	"context"
	"fmt"
	"html"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"dimos"
	"dimos/i18n"
	"dimos/reports"
)

// WeeklyReportInput names the week a weekly delay report covers: [From, To), Athens
// civil days (Monday to the next Monday).
type WeeklyReportInput struct {
	From, To time.Time
}

// WeeklyReportResult says how many managers the report was mailed to.
type WeeklyReportResult struct {
	Managers int
	Sent     int // mails that went out now; a retry finds the others already sent
}

// MailWeeklyReport computes the delay report of a week and mails a summary, Greek
// first then English, as text and as an HTML table, to every active manager. Each
// mail is sent once per week and manager, however often the activity is retried.
func (a *Activities) MailWeeklyReport(ctx context.Context, in WeeklyReportInput) (WeeklyReportResult, error) {
	if a.Reports == nil {
		return WeeklyReportResult{}, refusal(dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable"))
	}
	r, err := a.Reports.Report(ctx, reports.Filter{From: in.From, To: in.To})
	if err != nil {
		return WeeklyReportResult{}, fmt.Errorf("weekly report: %w", err)
	}
	managers, err := a.Directory.EmployeesByRole(ctx, dimos.RoleManager)
	if err != nil {
		return WeeklyReportResult{}, fmt.Errorf("weekly report: managers: %w", err)
	}
	m := weeklyMail(r, in, a.Municipality, a.ConsoleURL)
	week := in.From.Format("2006-01-02")
	res := WeeklyReportResult{Managers: len(managers)}
	for _, e := range managers {
		if !dimos.ValidEmail(e.Email) {
			continue
		}
		key := "weekly-report/" + week + "/" + strconv.FormatInt(e.ID, 10)
		mail := m
		mail.To, mail.Key = []string{e.Email}, key
		sent := false
		err := a.send(ctx, key, "email", e.Email, func() error {
			sent = true
			return a.Mailer.SendMail(ctx, mail)
		})
		if err != nil {
			return res, err
		}
		if sent {
			res.Sent++
		}
	}
	return res, nil
}

// weeklyMail writes the summary: per service, received, completed, median and p90
// completion in working days, share within target, overdue now; the worst
// bottlenecks; the number of cases that bounced; a link to the full report.
func weeklyMail(r *reports.Report, in WeeklyReportInput, municipality, consoleURL string) dimos.Mail {
	last := in.To.AddDate(0, 0, -1)
	period := in.From.Format("02/01") + "–" + last.Format("02/01/2006")
	link := ""
	if consoleURL != "" {
		link = strings.TrimRight(consoleURL, "/") + "/reports?" + url.Values{
			"from": {in.From.Format("2006-01-02")}, "to": {last.Format("2006-01-02")}}.Encode()
	}
	var text, body strings.Builder
	for i, lang := range []string{i18n.Greek, i18n.English} {
		if i > 0 {
			text.WriteString("\n----------------------------------------\n\n")
			body.WriteString("<hr>\n")
		}
		writeWeekly(&text, &body, r, lang, period, municipality, link)
	}
	return dimos.Mail{
		Subject: i18n.T(i18n.Greek, "mail.weekly.subject", period) + " · " + i18n.T(i18n.English, "mail.weekly.subject", period),
		Text:    text.String(),
		HTML:    "<!doctype html>\n<html lang=\"el\"><body>\n" + body.String() + "</body></html>\n",
	}
}

func writeWeekly(text, body *strings.Builder, r *reports.Report, lang, period, municipality, link string) {
	t := func(key string, args ...any) string { return i18n.T(lang, key, args...) }
	intro := t("mail.weekly.intro", period, municipality)
	fmt.Fprintf(text, "%s\n\n", intro)
	fmt.Fprintf(body, "<div lang=\"%s\">\n<p>%s</p>\n", lang, html.EscapeString(intro))

	header := []string{t("console.reports.dim.service"), t("console.reports.col.received"), t("console.reports.col.completed"),
		t("console.reports.col.median_wd"), t("console.reports.col.p90_wd"), t("console.reports.col.target"),
		t("console.reports.col.overdue")}
	var rows [][]string
	if len(r.Tables) > 0 {
		tb := r.Tables[0]
		for _, row := range tb.Rows {
			name := row.NameEL
			if lang == i18n.English && row.NameEN != "" {
				name = row.NameEN
			}
			if row.Key == "" {
				name = t("console.reports.no_service")
			}
			rows = append(rows, weeklyCells(lang, name, row))
		}
		rows = append(rows, weeklyCells(lang, t("console.reports.total"), tb.Total))
	}
	widths := make([]int, len(header))
	for _, row := range append([][]string{header}, rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	line := func(cells []string) {
		for i, c := range cells {
			if i > 0 {
				text.WriteString(" | ")
			}
			text.WriteString(c + strings.Repeat(" ", widths[i]-len([]rune(c))))
		}
		text.WriteString("\n")
	}
	line(header)
	for _, row := range rows {
		line(row)
	}
	body.WriteString("<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">\n<thead><tr>")
	for _, h := range header {
		fmt.Fprintf(body, "<th>%s</th>", html.EscapeString(h))
	}
	body.WriteString("</tr></thead>\n<tbody>\n")
	for _, row := range rows {
		body.WriteString("<tr>")
		for i, c := range row {
			tag := "td"
			if i == 0 {
				tag = "th"
			}
			fmt.Fprintf(body, "<%s>%s</%s>", tag, html.EscapeString(c), tag)
		}
		body.WriteString("</tr>\n")
	}
	body.WriteString("</tbody>\n</table>\n")

	if len(r.Bottlenecks) > 0 {
		title := t("console.reports.bottlenecks")
		fmt.Fprintf(text, "\n%s:\n", title)
		fmt.Fprintf(body, "<h3>%s</h3>\n<ol>\n", html.EscapeString(title))
		for _, b := range r.Bottlenecks[:min(3, len(r.Bottlenecks))] {
			name := b.NameEL
			if lang == i18n.English && b.NameEN != "" {
				name = b.NameEN
			}
			s := t("mail.weekly.bottleneck", t("stage."+string(b.Stage)), name, num(lang, b.Wait.Median.WorkingDays, 1), b.Wait.N)
			fmt.Fprintf(text, "- %s\n", s)
			fmt.Fprintf(body, "<li>%s</li>\n", html.EscapeString(s))
		}
		body.WriteString("</ol>\n")
	}
	pp := t("mail.weekly.pingpong", len(r.PingPongs))
	rule := t("mail.weekly.rule")
	fmt.Fprintf(text, "\n%s\n%s\n", pp, rule)
	fmt.Fprintf(body, "<p>%s</p>\n<p><small>%s</small></p>\n", html.EscapeString(pp), html.EscapeString(rule))
	if link != "" {
		s := t("mail.weekly.link")
		fmt.Fprintf(text, "%s: %s\n", s, link)
		fmt.Fprintf(body, "<p><a href=\"%s\">%s</a></p>\n", html.EscapeString(link), html.EscapeString(s))
	}
	body.WriteString("</div>\n")
}

func weeklyCells(lang, name string, r reports.Row) []string {
	c := []string{name, strconv.Itoa(r.Received), strconv.Itoa(r.Completed), "", "", "—", strconv.Itoa(r.OverdueNow)}
	if r.Completed > 0 {
		c[3], c[4] = num(lang, r.Completion.Median.WorkingDays, 1), num(lang, r.Completion.P90.WorkingDays, 1)
	}
	if !math.IsNaN(r.WithinTarget) {
		c[5] = num(lang, r.WithinTarget*100, 0) + "%"
	}
	return c
}

// num prints f with prec decimals, with a decimal comma in Greek.
func num(lang string, f float64, prec int) string {
	s := strconv.FormatFloat(f, 'f', prec, 64)
	if lang == i18n.Greek {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}
