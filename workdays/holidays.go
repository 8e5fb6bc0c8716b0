package workdays

import (
	"slices"
	"time"
)

// Holiday is a named day on which public services are closed. Date is the civil date
// as midnight in Europe/Athens, because a holiday is a date on the Greek calendar, not
// an instant: reading it in any other zone could shift it to the previous day.
type Holiday struct {
	Date   time.Time
	NameEL string
	NameEN string
}

// OrthodoxEaster returns Orthodox Easter Sunday of year at 00:00 Europe/Athens.
//
// The Orthodox Church keeps the Julian computus, so the date is computed on the Julian
// calendar (Meeus) and then converted to the Gregorian calendar. The gap between the
// two calendars is year/100 - year/400 - 2 days in March–December: 13 days for
// 1900–2099, 14 for 2100–2199. Using the general gap rather than a fixed +13 keeps the
// function correct for any Gregorian year instead of failing silently after 2099.
func OrthodoxEaster(year int) time.Time {
	return orthodoxEaster(year).midnight()
}

func orthodoxEaster(year int) day {
	a := mod(year, 4)
	b := mod(year, 7)
	c := mod(year, 19)
	d := (19*c + 15) % 30
	e := (2*a + 4*b - d + 34) % 7
	month := (d + e + 114) / 31
	dom := (d+e+114)%31 + 1
	julianToGregorian := floorDiv(year, 100) - floorDiv(year, 400) - 2
	return dayOf(year, time.Month(month), dom) + day(julianToGregorian)
}

// Offsets of the movable holidays from Orthodox Easter Sunday.
const (
	cleanMondayOffset   = -48
	goodFridayOffset    = -2
	holySaturdayOffset  = -1
	easterMondayOffset  = 1
	easterTuesdayOffset = 2
	whitMondayOffset    = 50
	holyMondayOffset    = -6
)

// nationalCount is the number of national holidays in every year: eight fixed dates and
// six movable ones. May Day may move but is never dropped, and no two of them can fall
// on the same date (Clean Monday is at latest 22 March, 25 March is never in Holy Week,
// and May Day is moved off Holy Week and Easter).
const nationalCount = 14

// entry is a holiday as a day number, the form all the counting works on.
type entry struct {
	day    day
	nameEL string
	nameEN string
}

func (e entry) holiday() Holiday {
	return Holiday{Date: e.day.midnight(), NameEL: e.nameEL, NameEN: e.nameEN}
}

// national returns the national holidays of year sorted by date. It returns an array,
// not a slice, so that the per-day fallback for years outside the cache does not
// allocate.
func national(year int) [nationalCount]entry {
	easter := orthodoxEaster(year)
	mayDay := entry{dayOf(year, time.May, 1), "Εργατική Πρωτομαγιά", "Labour Day"}
	// May Day in Holy Week or on Easter Sunday or Monday is moved to the Tuesday after
	// Easter (Τρίτη του Πάσχα), as the Ministries of Labour and of the Interior decided
	// in 2013 and 2024 (1 May on Holy Wednesday → 7 May), 2016 (on Easter Sunday →
	// 3 May) and 2021 (on Holy Saturday → 4 May). The window starts at Holy Monday,
	// not Good Friday: 2024 and 2013 moved from a Wednesday. Only the Tuesday is then a
	// May Day holiday; 1 May itself stays closed only if it is Good Friday, Holy
	// Saturday, Easter or Easter Monday in its own right.
	if mayDay.day >= easter+holyMondayOffset && mayDay.day <= easter+easterMondayOffset {
		mayDay = entry{easter + easterTuesdayOffset, "Εργατική Πρωτομαγιά (μετάθεση)", "Labour Day (moved)"}
	}
	list := [nationalCount]entry{
		{dayOf(year, time.January, 1), "Πρωτοχρονιά", "New Year's Day"},
		{dayOf(year, time.January, 6), "Θεοφάνεια", "Epiphany"},
		{easter + cleanMondayOffset, "Καθαρά Δευτέρα", "Clean Monday"},
		{dayOf(year, time.March, 25), "Ευαγγελισμός της Θεοτόκου και Εθνική Επέτειος", "Annunciation and Independence Day"},
		{easter + goodFridayOffset, "Μεγάλη Παρασκευή", "Good Friday"},
		{easter + holySaturdayOffset, "Μεγάλο Σάββατο", "Holy Saturday"},
		{easter, "Κυριακή του Πάσχα", "Easter Sunday"},
		{easter + easterMondayOffset, "Δευτέρα του Πάσχα", "Easter Monday"},
		mayDay,
		{easter + whitMondayOffset, "Αγίου Πνεύματος", "Whit Monday"},
		{dayOf(year, time.August, 15), "Κοίμηση της Θεοτόκου", "Dormition of the Theotokos"},
		{dayOf(year, time.October, 28), "Επέτειος του «Όχι»", "Ochi Day"},
		{dayOf(year, time.December, 25), "Χριστούγεννα", "Christmas Day"},
		{dayOf(year, time.December, 26), "Σύναξη της Θεοτόκου", "Synaxis of the Theotokos"},
	}
	// The order above is by date except for May Day, which falls before Good Friday
	// when Easter is as late as 8 May (1 May is then Palm Sunday). An insertion sort
	// puts it in place without allocating.
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].day < list[j-1].day; j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
	return list
}

// Holidays returns the national holidays of year, sorted by date: the days every
// public service in Greece is closed besides Saturdays and Sundays. Holy Saturday,
// Easter Sunday and any fixed holiday that falls on a weekend are listed too, because
// the list is what a citizen or clerk expects to see; they change no count.
func Holidays(year int) []Holiday {
	nat := national(year)
	out := make([]Holiday, 0, len(nat))
	for _, e := range nat {
		out = append(out, e.holiday())
	}
	return out
}

// Local is a holiday of one municipality that recurs every year on the same date,
// typically the feast of its patron saint (26 October, Άγιος Δημήτριος, in
// Thessaloniki). A Local on 29 February is a holiday in leap years only.
type Local struct {
	Month  time.Month
	Day    int
	NameEL string
	NameEN string
}

// valid reports whether Month/Day is a date in some year (29 February counts).
func (l Local) valid() bool {
	if l.Month < time.January || l.Month > time.December || l.Day < 1 {
		return false
	}
	return l.Day <= daysIn(2000, l.Month) // 2000 is a leap year
}

// Holidays returns every holiday of the calendar in year, sorted by date: the
// national ones, the municipality's annual ones and the one-off days. When two share a
// date both are listed, national first, so a report can show why the day was closed.
func (c *Calendar) Holidays(year int) []Holiday {
	nat := national(year)
	out := make([]Holiday, 0, len(nat)+len(c.annual)+2)
	for _, e := range nat {
		out = append(out, e.holiday())
	}
	for _, l := range c.annual {
		if l.Day > daysIn(year, l.Month) {
			continue // 29 February in a common year
		}
		out = append(out, Holiday{Date: dayOf(year, l.Month, l.Day).midnight(), NameEL: l.NameEL, NameEN: l.NameEN})
	}
	first, end := dayOf(year, time.January, 1), dayOf(year+1, time.January, 1)
	i, _ := slices.BinarySearch(c.oneOffDays, first)
	for ; i < len(c.oneOffDays) && c.oneOffDays[i] < end; i++ {
		out = append(out, c.oneOff[i])
	}
	slices.SortStableFunc(out, func(a, b Holiday) int { return a.Date.Compare(b.Date) })
	return out
}
