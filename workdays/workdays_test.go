package workdays_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"dimos/workdays"
)

var athens = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Athens")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at returns a wall-clock time in Athens.
func at(y int, m time.Month, d, h, mi int) time.Time {
	return time.Date(y, m, d, h, mi, 0, 0, athens)
}

func date(y int, m time.Month, d int) time.Time { return at(y, m, d, 0, 0) }

const day = 24 * time.Hour

func TestOrthodoxEaster(t *testing.T) {
	for _, tc := range []struct {
		year int
		want string
	}{
		{2020, "2020-04-19"},
		{2021, "2021-05-02"},
		{2022, "2022-04-24"},
		{2023, "2023-04-16"},
		{2024, "2024-05-05"},
		{2025, "2025-04-20"},
		{2026, "2026-04-12"},
		{2027, "2027-05-02"},
		{2028, "2028-04-16"},
	} {
		t.Run("Easter"+tc.want[:4], func(t *testing.T) {
			got := workdays.OrthodoxEaster(tc.year)
			if s := got.Format("2006-01-02 15:04 MST"); s != tc.want+" 00:00 EEST" {
				t.Fatalf("got %s, want %s 00:00 EEST", s, tc.want)
			}
			if got.Weekday() != time.Sunday {
				t.Fatalf("%s is a %s", got, got.Weekday())
			}
		})
	}
}

func TestHolidays(t *testing.T) {
	t.Run("Complete2026", func(t *testing.T) {
		want := []struct{ date, nameEL string }{
			{"2026-01-01", "Πρωτοχρονιά"},
			{"2026-01-06", "Θεοφάνεια"},
			{"2026-02-23", "Καθαρά Δευτέρα"},
			{"2026-03-25", "Ευαγγελισμός της Θεοτόκου και Εθνική Επέτειος"},
			{"2026-04-10", "Μεγάλη Παρασκευή"},
			{"2026-04-11", "Μεγάλο Σάββατο"},
			{"2026-04-12", "Κυριακή του Πάσχα"},
			{"2026-04-13", "Δευτέρα του Πάσχα"},
			{"2026-05-01", "Εργατική Πρωτομαγιά"},
			{"2026-06-01", "Αγίου Πνεύματος"},
			{"2026-08-15", "Κοίμηση της Θεοτόκου"},
			{"2026-10-28", "Επέτειος του «Όχι»"},
			{"2026-12-25", "Χριστούγεννα"},
			{"2026-12-26", "Σύναξη της Θεοτόκου"},
		}
		got := workdays.Holidays(2026)
		if len(got) != len(want) {
			t.Fatalf("got %d holidays, want %d: %v", len(got), len(want), got)
		}
		for i, w := range want {
			h := got[i]
			if h.Date.Location().String() != "Europe/Athens" || !h.Date.Equal(date(h.Date.Date())) {
				t.Errorf("%d: date %v is not midnight in Athens", i, h.Date)
			}
			if d := h.Date.Format("2006-01-02"); d != w.date || h.NameEL != w.nameEL || h.NameEN == "" {
				t.Errorf("%d: got %s %q %q, want %s %q", i, d, h.NameEL, h.NameEN, w.date, w.nameEL)
			}
		}
	})

	// May Day in Holy Week or on Easter Sunday/Monday moves to the Tuesday after Easter.
	for _, tc := range []struct {
		name        string
		year        int
		mayDay      string
		firstIsOpen bool // 1 May itself a working day after the move
	}{
		{"MayDayHolyWednesday2024", 2024, "2024-05-07", true},
		{"MayDayHolySaturday2021", 2021, "2021-05-04", false},
		{"MayDayEaster2016", 2016, "2016-05-03", false},
		{"MayDayHolyWednesday2013", 2013, "2013-05-07", true},
		{"MayDayHolySaturday2027", 2027, "2027-05-04", false},
		{"MayDayStays2026", 2026, "2026-05-01", false},
		{"MayDayStays2025", 2025, "2025-05-01", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var found []string
			for _, h := range workdays.Holidays(tc.year) {
				if h.NameEN == "Labour Day" || h.NameEN == "Labour Day (moved)" {
					found = append(found, h.Date.Format("2006-01-02"))
				}
			}
			if len(found) != 1 || found[0] != tc.mayDay {
				t.Fatalf("May Day on %v, want [%s]", found, tc.mayDay)
			}
			cal := workdays.Greek()
			if cal.IsWorkingDay(at(tc.year, time.May, 1, 10, 0)) != tc.firstIsOpen {
				t.Errorf("1 May %d working day = %v, want %v", tc.year, !tc.firstIsOpen, tc.firstIsOpen)
			}
			moved, _ := time.ParseInLocation("2006-01-02", tc.mayDay, athens)
			if cal.IsWorkingDay(moved.Add(10 * time.Hour)) {
				t.Errorf("%s is a working day", tc.mayDay)
			}
		})
	}

	t.Run("SortedEveryYear", func(t *testing.T) {
		for y := 1900; y <= 2200; y++ {
			hs := workdays.Holidays(y)
			if len(hs) != 14 {
				t.Fatalf("%d: %d holidays", y, len(hs))
			}
			for i := 1; i < len(hs); i++ {
				if !hs[i-1].Date.Before(hs[i].Date) {
					t.Fatalf("%d: %s not before %s", y, hs[i-1].Date, hs[i].Date)
				}
			}
		}
	})
}

func TestIsWorkingDay(t *testing.T) {
	cal := workdays.Greek()
	for _, tc := range []struct {
		name string
		t    time.Time
		want bool
	}{
		{"OrdinaryTuesday", at(2026, time.March, 3, 10, 0), true},
		{"Saturday", at(2026, time.March, 7, 10, 0), false},
		{"Sunday", at(2026, time.March, 8, 10, 0), false},
		{"CleanMonday2026", at(2026, time.February, 23, 10, 0), false},
		{"GoodFriday2026", at(2026, time.April, 10, 10, 0), false},
		{"EasterMonday2026", at(2026, time.April, 13, 10, 0), false},
		{"EasterTuesday2026", at(2026, time.April, 14, 10, 0), true},
		{"WhitMonday2026", at(2026, time.June, 1, 10, 0), false},
		{"OchiDay2026", at(2026, time.October, 28, 10, 0), false},
		// 22:30 UTC on Thursday 24 Dec is 00:30 on Christmas Day in Athens.
		{"UTCLateEveningIsAthensChristmas", time.Date(2026, time.December, 24, 22, 30, 0, 0, time.UTC), false},
		{"UTCEveningStillChristmasEve", time.Date(2026, time.December, 24, 21, 30, 0, 0, time.UTC), true},
		{"ChristmasOutsideCache", at(2150, time.December, 25, 10, 0), false},
		{"AnnunciationBeforeCache", at(1985, time.March, 25, 10, 0), false},
		{"OrdinaryDayOutsideCache", at(2150, time.December, 23, 10, 0), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cal.IsWorkingDay(tc.t); got != tc.want {
				t.Fatalf("IsWorkingDay(%s) = %v, want %v", tc.t, got, tc.want)
			}
		})
	}
	t.Run("HolidayOnNamesTheDay", func(t *testing.T) {
		h, ok := cal.HolidayOn(at(2026, time.April, 13, 15, 0))
		if !ok || h.NameEL != "Δευτέρα του Πάσχα" || !h.Date.Equal(date(2026, time.April, 13)) {
			t.Fatalf("got %v %v", h, ok)
		}
		if h, ok := cal.HolidayOn(at(2026, time.March, 7, 10, 0)); ok {
			t.Fatalf("a plain Saturday is no holiday, got %v", h)
		}
	})
}

func TestAddWorkingDays(t *testing.T) {
	cal := workdays.Greek()
	for _, tc := range []struct {
		name string
		from time.Time
		n    int
		want time.Time
	}{
		{"NextDay", at(2026, time.January, 14, 9, 15), 1, at(2026, time.January, 15, 9, 15)},
		{"AcrossWeekend", at(2026, time.January, 16, 14, 0), 1, at(2026, time.January, 19, 14, 0)},
		// Good Friday 10, Holy Saturday 11, Easter 12 and Easter Monday 13 are closed.
		{"AcrossEaster2026", at(2026, time.April, 9, 10, 0), 1, at(2026, time.April, 14, 10, 0)},
		{"EasterMonday2026", at(2026, time.April, 13, 10, 0), 1, at(2026, time.April, 15, 0, 0)},
		// 25, 26 Dec closed, 27 Sunday: Mon 28 (1), Tue 29 (2), Wed 30 (3).
		{"AcrossChristmas", at(2026, time.December, 24, 16, 0), 3, at(2026, time.December, 30, 16, 0)},
		// 1 Jan 2027 Friday, weekend, Mon 4 (1), Tue 5 (2), Epiphany Wed 6, Thu 7 (3).
		{"AcrossNewYear", at(2026, time.December, 31, 9, 0), 3, at(2027, time.January, 7, 9, 0)},
		// Saturday: counting starts at Monday 00:00, one working day later is Tuesday 00:00.
		{"FromSaturday", at(2026, time.January, 17, 10, 0), 1, date(2026, time.January, 20)},
		{"FromSaturdayZero", at(2026, time.January, 17, 10, 0), 0, date(2026, time.January, 19)},
		{"FromHolidayZero", at(2026, time.April, 10, 8, 0), 0, date(2026, time.April, 14)},
		{"ZeroOnWorkingDay", at(2026, time.January, 14, 9, 15), 0, at(2026, time.January, 14, 9, 15)},
		{"BackAcrossEaster", at(2026, time.April, 14, 10, 0), -1, at(2026, time.April, 9, 10, 0)},
		{"BackFromSunday", at(2026, time.January, 18, 10, 0), -1, date(2026, time.January, 16)},
		// The spring change of the clocks (Sunday 29 March) does not move the hour.
		{"AcrossSpringDST", at(2026, time.March, 27, 9, 30), 1, at(2026, time.March, 30, 9, 30)},
		{"AcrossAutumnDST", at(2026, time.October, 23, 9, 30), 1, at(2026, time.October, 26, 9, 30)},
		// 50 working days from Wednesday 18 Feb 2026 11:30, counted by hand:
		//   Feb: Thu 19 (1), Fri 20 (2), Clean Monday 23 closed, 24–27 (3–6)
		//   Mar: 2–6 (7–11), 9–13 (12–16), 16–20 (17–21), 23–24 (22–23),
		//        25 March closed, 26–27 (24–25), 30–31 (26–27)
		//   Apr: 1–3 (28–30), 6–9 (31–34), Good Friday 10 and Easter Monday 13
		//        closed, 14–17 (35–38), 20–24 (39–43), 27–30 (44–47)
		//   May: Labour Day Fri 1 closed, Mon 4 (48), Tue 5 (49), Wed 6 (50).
		{"FiftyDays", at(2026, time.February, 18, 11, 30), 50, at(2026, time.May, 6, 11, 30)},
		{"FiftyDaysBack", at(2026, time.May, 6, 11, 30), -50, at(2026, time.February, 18, 11, 30)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cal.AddWorkingDays(tc.from, tc.n)
			if !got.Equal(tc.want) {
				t.Fatalf("AddWorkingDays(%s, %d) = %s, want %s", tc.from, tc.n, got.In(athens), tc.want)
			}
		})
	}
	t.Run("KeepsCallersLocation", func(t *testing.T) {
		from := time.Date(2026, time.April, 9, 7, 0, 0, 0, time.UTC) // 10:00 Athens (EEST)
		got := cal.AddWorkingDays(from, 1)
		if got.Location() != time.UTC || !got.Equal(at(2026, time.April, 14, 10, 0)) {
			t.Fatalf("got %s", got)
		}
	})
}

func TestWorkingDuration(t *testing.T) {
	cal := workdays.Greek()
	for _, tc := range []struct {
		name string
		a, b time.Time
		want time.Duration
	}{
		{"SameDay", at(2026, time.March, 2, 9, 0), at(2026, time.March, 2, 17, 30), 8*time.Hour + 30*time.Minute},
		{"WholeDay", date(2026, time.March, 2), date(2026, time.March, 3), day},
		{"AcrossHoliday", date(2026, time.March, 24), date(2026, time.March, 26), day},
		// Tue 24 Mar 15:00–24:00 is 9h, 25 March is closed, Thu 26 00:00–09:30 is 9.5h.
		{"PartialAcrossHoliday", at(2026, time.March, 24, 15, 0), at(2026, time.March, 26, 9, 30), 18*time.Hour + 30*time.Minute},
		// Friday 12h + Monday 12h; the clocks went forward on Sunday 29 March and the
		// 71 elapsed hours hold only the working ones.
		{"AcrossSpringDST", at(2026, time.March, 27, 12, 0), at(2026, time.March, 30, 12, 0), day},
		{"AcrossSpringDSTInUTC", time.Date(2026, time.March, 27, 10, 0, 0, 0, time.UTC), time.Date(2026, time.March, 30, 9, 0, 0, 0, time.UTC), day},
		// Clocks back on Sunday 25 October: 73 elapsed hours, 24 working ones.
		{"AcrossAutumnDST", at(2026, time.October, 23, 12, 0), at(2026, time.October, 26, 12, 0), day},
		// Mon 23 – Mon 30 March: 25 March closed, so four working days.
		{"WeekWithDSTAndHoliday", date(2026, time.March, 23), date(2026, time.March, 30), 4 * day},
		{"Weekend", at(2026, time.March, 7, 9, 0), at(2026, time.March, 8, 18, 0), 0},
		{"StartsOnHoliday", at(2026, time.April, 13, 12, 0), at(2026, time.April, 14, 6, 0), 6 * time.Hour},
		{"EqualInstants", at(2026, time.March, 2, 9, 0), at(2026, time.March, 2, 9, 0), 0},
		{"Reversed", at(2026, time.March, 5, 9, 0), at(2026, time.March, 2, 9, 0), 0},
		// 2026 has 365 − 104 weekend days − 10 holidays on weekdays (1, 6 Jan, 23 Feb,
		// 25 Mar, 10, 13 Apr, 1 May, 1 Jun, 28 Oct, 25 Dec) = 251 working days.
		{"Year2026", date(2026, time.January, 1), date(2027, time.January, 1), 251 * day},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cal.WorkingDuration(tc.a, tc.b); got != tc.want {
				t.Fatalf("WorkingDuration(%s, %s) = %s, want %s", tc.a, tc.b, got, tc.want)
			}
		})
	}
	t.Run("WorkingDaysBetween", func(t *testing.T) {
		got := cal.WorkingDaysBetween(at(2026, time.March, 24, 15, 0), at(2026, time.March, 26, 9, 30))
		if want := 18.5 / 24; math.Abs(got-want) > 1e-12 {
			t.Fatalf("got %v, want %v", got, want)
		}
		if got := cal.WorkingDaysBetween(at(2026, time.February, 18, 11, 30), at(2026, time.May, 6, 11, 30)); got != 50 {
			t.Fatalf("got %v, want 50", got)
		}
	})
}

func TestLocalHolidays(t *testing.T) {
	thessaloniki := workdays.New(
		[]workdays.Local{
			{Month: time.October, Day: 26, NameEL: "Αγίου Δημητρίου", NameEN: "Saint Demetrius"},
			{Month: time.March, Day: 25, NameEL: "Τοπική", NameEN: "Local"}, // shadowed by 25 March
			{Month: time.February, Day: 29, NameEL: "Δίσεκτη", NameEN: "Leap day"},
		},
		[]workdays.Holiday{
			// Midnight UTC names the same civil date as midnight in Athens.
			{Date: time.Date(2026, time.November, 16, 0, 0, 0, 0, time.UTC), NameEL: "Έκτακτη αργία", NameEN: "Extraordinary closure"},
		},
	)
	greek := workdays.Greek()

	t.Run("PatronSaint", func(t *testing.T) {
		d := at(2026, time.October, 26, 10, 0) // a Monday
		if !greek.IsWorkingDay(d) || thessaloniki.IsWorkingDay(d) {
			t.Fatalf("26 Oct 2026: national %v, Thessaloniki %v", greek.IsWorkingDay(d), thessaloniki.IsWorkingDay(d))
		}
		h, ok := thessaloniki.HolidayOn(d)
		if !ok || h.NameEL != "Αγίου Δημητρίου" || !h.Date.Equal(date(2026, time.October, 26)) {
			t.Fatalf("got %v %v", h, ok)
		}
		// Fri 23 + 2: Mon 26 local holiday, Tue 27 (1), Ochi Day Wed 28, Thu 29 (2).
		if got, want := thessaloniki.AddWorkingDays(at(2026, time.October, 23, 10, 0), 2), at(2026, time.October, 29, 10, 0); !got.Equal(want) {
			t.Fatalf("Thessaloniki: got %s, want %s", got, want)
		}
		if got, want := greek.AddWorkingDays(at(2026, time.October, 23, 10, 0), 2), at(2026, time.October, 27, 10, 0); !got.Equal(want) {
			t.Fatalf("national: got %s, want %s", got, want)
		}
		if got := thessaloniki.WorkingDuration(at(2026, time.October, 23, 12, 0), at(2026, time.October, 26, 12, 0)); got != 12*time.Hour {
			t.Fatalf("duration over the patron saint's day: %s", got)
		}
	})
	t.Run("PatronSaintOutsideCache", func(t *testing.T) {
		if thessaloniki.IsWorkingDay(at(2150, time.October, 26, 10, 0)) { // a Monday
			t.Fatal("26 Oct 2150 is a working day")
		}
	})
	t.Run("NationalNameWins", func(t *testing.T) {
		h, ok := thessaloniki.HolidayOn(at(2026, time.March, 25, 10, 0))
		if !ok || h.NameEN != "Annunciation and Independence Day" {
			t.Fatalf("got %v %v", h, ok)
		}
	})
	t.Run("LeapDayOnlyInLeapYears", func(t *testing.T) {
		if thessaloniki.IsWorkingDay(at(2028, time.February, 29, 10, 0)) { // a Tuesday
			t.Fatal("29 Feb 2028 is a working day")
		}
		if !thessaloniki.IsWorkingDay(at(2026, time.March, 2, 10, 0)) {
			t.Fatal("1 March stands in for 29 February in a common year")
		}
	})
	t.Run("OneOff", func(t *testing.T) {
		d := at(2026, time.November, 16, 10, 0) // a Monday
		if !greek.IsWorkingDay(d) || thessaloniki.IsWorkingDay(d) {
			t.Fatal("one-off closure not applied")
		}
		if thessaloniki.IsWorkingDay(at(2026, time.November, 17, 10, 0)) == false {
			t.Fatal("the one-off closure spilled onto the next day")
		}
	})
	t.Run("CalendarHolidays", func(t *testing.T) {
		hs := thessaloniki.Holidays(2026)
		// 14 national, the local 25 March listed beside the national one, 26 October and
		// 16 November; no 29 February in 2026.
		if len(hs) != 14+3 {
			t.Fatalf("got %d: %v", len(hs), hs)
		}
		var names []string
		for _, h := range hs {
			if h.Date.Month() >= time.October {
				names = append(names, h.Date.Format("01-02 ")+h.NameEN)
			}
		}
		want := []string{"10-26 Saint Demetrius", "10-28 Ochi Day", "11-16 Extraordinary closure", "12-25 Christmas Day", "12-26 Synaxis of the Theotokos"}
		if len(names) != len(want) {
			t.Fatalf("got %v", names)
		}
		for i := range want {
			if names[i] != want[i] {
				t.Fatalf("got %v, want %v", names, want)
			}
		}
	})
	t.Run("InputsCopied", func(t *testing.T) {
		locals := []workdays.Local{{Month: time.October, Day: 26, NameEL: "Αγίου Δημητρίου", NameEN: "Saint Demetrius"}}
		cal := workdays.New(locals, nil)
		locals[0].Day = 27
		if cal.IsWorkingDay(at(2026, time.October, 26, 10, 0)) || !cal.IsWorkingDay(at(2026, time.October, 27, 10, 0)) {
			t.Fatal("calendar changed with its input")
		}
	})
	t.Run("InvalidLocalPanics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("31 April accepted")
			}
		}()
		workdays.New([]workdays.Local{{Month: time.April, Day: 31, NameEL: "x", NameEN: "x"}}, nil)
	})
}

// TestAddWorkingDaysRoundTrip checks, for random instants and counts, the promise the
// service-level clocks rely on: from the starting point t' (t, or the next working
// day's 00:00 when t is closed), n working days later is exactly n×24h of working time,
// and counting back n working days returns to t'.
func TestAddWorkingDaysRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(2690, 1999))
	calendars := map[string]*workdays.Calendar{
		"Greek": workdays.Greek(),
		"Thessaloniki": workdays.New(
			[]workdays.Local{{Month: time.October, Day: 26, NameEL: "Αγίου Δημητρίου", NameEN: "Saint Demetrius"}},
			[]workdays.Holiday{{Date: date(2026, time.November, 16), NameEL: "Έκτακτη αργία", NameEN: "Extraordinary closure"}},
		),
	}
	lo := time.Date(1985, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2110, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for _, name := range []string{"Greek", "Thessaloniki"} {
		cal := calendars[name]
		t.Run(name, func(t *testing.T) {
			for i := 0; i < 5000; i++ {
				tm := time.Unix(lo+rng.Int64N(hi-lo), rng.Int64N(1e9)).UTC()
				n := rng.IntN(400)
				start := cal.AddWorkingDays(tm, 0)
				if !cal.IsWorkingDay(start) || start.Before(tm) {
					t.Fatalf("start %s for %s", start, tm)
				}
				end := cal.AddWorkingDays(tm, n)
				if !end.Equal(cal.AddWorkingDays(start, n)) {
					t.Fatalf("from %s: %s differs from counting from %s", tm, end, start)
				}
				if got := cal.WorkingDuration(start, end); got != time.Duration(n)*day {
					t.Fatalf("WorkingDuration(%s, %s) = %s, want %d days", start, end, got, n)
				}
				if back := cal.AddWorkingDays(end, -n); !back.Equal(start) {
					t.Fatalf("%s − %d = %s, want %s", end, n, back, start)
				}
				// Splitting the interval anywhere changes nothing.
				mid := start.Add(time.Duration(rng.Int64N(int64(end.Sub(start)) + 1)))
				if a, b := cal.WorkingDuration(start, mid), cal.WorkingDuration(mid, end); a+b != time.Duration(n)*day {
					t.Fatalf("split at %s: %s + %s", mid, a, b)
				}
			}
		})
	}
}

func BenchmarkAddWorkingDays50(b *testing.B) {
	cal := workdays.Greek()
	from := at(2026, time.February, 18, 11, 30)
	b.ReportAllocs()
	for b.Loop() {
		cal.AddWorkingDays(from, 50)
	}
}

func BenchmarkWorkingDurationYear(b *testing.B) {
	cal := workdays.Greek()
	from, to := at(2026, time.January, 5, 9, 0), at(2027, time.January, 5, 9, 0)
	b.ReportAllocs()
	for b.Loop() {
		cal.WorkingDuration(from, to)
	}
}

func TestAddWorkingDuration(t *testing.T) {
	c := workdays.Greek()
	athensTZ, _ := time.LoadLocation("Europe/Athens")
	tests := []struct {
		name string
		from time.Time
		d    time.Duration
		want time.Time
	}{
		{"SameDay", time.Date(2026, 3, 2, 9, 0, 0, 0, athensTZ), 3 * time.Hour, time.Date(2026, 3, 2, 12, 0, 0, 0, athensTZ)},
		{"HalfDayOverWeekend", time.Date(2026, 3, 6, 18, 0, 0, 0, athensTZ), 12 * time.Hour, time.Date(2026, 3, 9, 6, 0, 0, 0, athensTZ)},
		{"FromSaturday", time.Date(2026, 3, 7, 15, 0, 0, 0, athensTZ), 24 * time.Hour, time.Date(2026, 3, 10, 0, 0, 0, 0, athensTZ)},
		// Thursday 9 April 2026 10:00 + 1.5 working days: Friday is Good Friday, Monday
		// Easter Monday, so 14h of Thursday, then Tuesday 14 April until 22:00.
		{"AcrossEaster", time.Date(2026, 4, 9, 10, 0, 0, 0, athensTZ), 36 * time.Hour, time.Date(2026, 4, 14, 22, 0, 0, 0, athensTZ)},
		{"ToMidnight", time.Date(2026, 3, 2, 12, 0, 0, 0, athensTZ), 12 * time.Hour, time.Date(2026, 3, 3, 0, 0, 0, 0, athensTZ)},
		{"Zero", time.Date(2026, 3, 7, 15, 0, 0, 0, athensTZ), 0, time.Date(2026, 3, 7, 15, 0, 0, 0, athensTZ)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.AddWorkingDuration(tt.from, tt.d)
			if !got.Equal(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("InverseOfWorkingDuration", func(t *testing.T) {
		from := time.Date(2026, 12, 20, 17, 45, 0, 0, time.UTC)
		for h := 1; h < 24*60; h += 7 {
			d := time.Duration(h)*time.Hour + 13*time.Minute
			if got := c.WorkingDuration(from, c.AddWorkingDuration(from, d)); got != d {
				t.Fatalf("%v: WorkingDuration of the result is %v", d, got)
			}
		}
	})
}
