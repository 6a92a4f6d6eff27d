package logging

import "time"

// SetRepeatsClock replaces r's clock, for tests of the summary interval.
func SetRepeatsClock(r *Repeats, now func() time.Time) { r.now = now }
