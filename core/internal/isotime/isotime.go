// Package isotime writes a time's wall clock as "2006-01-02T15:04:05.000"
// without time.Format's general layout interpreter: the frames and the log
// lines of every DM carry a timestamp, and the interpreter was most of
// their cost (docs/PERFORMANCE.md, section 7). Callers add the zone.
package isotime

import "time"

// AppendMillis appends t's date and clock, in t's own location, to
// millisecond precision, or reports false (b unchanged) for a year outside
// 0–9999, which the layout writes differently.
func AppendMillis(b []byte, t time.Time) ([]byte, bool) {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return b, false
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / int(time.Millisecond)
	return append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10)), true
}
