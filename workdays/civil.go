package workdays

import (
	"time"
	_ "time/tzdata" // Europe/Athens loads even in a container without zoneinfo
)

// athens is the zone every civil date in dimos belongs to, loaded once and never
// changed. time.LoadLocation prefers the host's zoneinfo and falls back to the
// embedded copy; both agree for Athens, whose rules (the EU's, last Sundays of March
// and October) have not changed since 1981, so workers on different hosts count alike.
var athens = mustLoad("Europe/Athens")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("workdays: load time zone: " + err.Error())
	}
	return loc
}

// day is a civil date counted in days from 1970-01-01 (proleptic Gregorian). Counting
// working days on plain integers keeps the loops free of time zones and allocations;
// the zone matters only when an instant is turned into a date and back.
type day int

const (
	dayLength = 24 * time.Hour
	secPerDay = 24 * 60 * 60
)

// dayOf returns the day number of a date. Out-of-range days and months are normalised
// the way time.Date does (31 April is 1 May).
func dayOf(year int, month time.Month, dom int) day {
	// Midnight UTC is an exact multiple of a day in Unix time, so the division is exact
	// for dates before 1970 too.
	return day(time.Date(year, month, dom, 0, 0, 0, 0, time.UTC).Unix() / secPerDay)
}

func (d day) date() (int, time.Month, int) {
	return time.Unix(int64(d)*secPerDay, 0).UTC().Date()
}

// weekend reports whether d is a Saturday or a Sunday. Day 0 was a Thursday.
func (d day) weekend() bool {
	switch time.Weekday(mod(int(d)+int(time.Thursday), 7)) {
	case time.Saturday, time.Sunday:
		return true
	}
	return false
}

// midnight returns the start of d in Athens. Since 1981 Greek clocks change at 03:00
// and 04:00, so midnight exists and is unique.
func (d day) midnight() time.Time {
	y, m, dom := d.date()
	return time.Date(y, m, dom, 0, 0, 0, 0, athens)
}

// wallClock is a time of day as read on an Athens clock.
type wallClock struct {
	hour, min, sec, nsec int
}

// sinceMidnight is the wall-clock time of day as a duration. It is the reading on the
// clock, not the time elapsed since midnight, so that every working day is worth
// exactly 24h even on the days the clocks change.
func (w wallClock) sinceMidnight() time.Duration {
	return time.Duration(w.hour)*time.Hour + time.Duration(w.min)*time.Minute +
		time.Duration(w.sec)*time.Second + time.Duration(w.nsec)
}

// civil splits t into its Athens civil date and wall-clock time of day.
func civil(t time.Time) (day, wallClock) {
	lt := t.In(athens)
	y, m, dom := lt.Date()
	h, mi, s := lt.Clock()
	return dayOf(y, m, dom), wallClock{h, mi, s, lt.Nanosecond()}
}

// at returns the instant at wall-clock w on d in Athens.
func at(d day, w wallClock) time.Time {
	y, m, dom := d.date()
	return time.Date(y, m, dom, w.hour, w.min, w.sec, w.nsec, athens)
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func mod(a, b int) int {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
