package zone

import (
	"math"
	"testing"
	"time"
)

func TestNextSerial(t *testing.T) {
	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	for _, c := range []struct {
		name string
		prev uint32
		now  time.Time
		want uint32
	}{
		{"first snapshot: the time", 0, at(1_800_000_000), 1_800_000_000},
		{"a later second: the time", 1_800_000_000, at(1_800_000_007), 1_800_000_007},
		{"the same second: one more", 1_800_000_000, at(1_800_000_000), 1_800_000_001},
		{"the same second again: one more again", 1_800_000_001, at(1_800_000_000), 1_800_000_002},
		{"the clock set back: still forward", 1_800_000_000, at(1_700_000_000), 1_800_000_001},
		{"fractions of a second do not count", 1_800_000_000, time.Unix(1_800_000_000, 999_999_999), 1_800_000_001},
		{"past the last serial: wraps to 0 (forward in RFC 1982)", math.MaxUint32, at(1_800_000_000), 0},
	} {
		if got := NextSerial(c.prev, c.now); got != c.want {
			t.Errorf("%s: NextSerial(%d, %d) = %d, want %d", c.name, c.prev, c.now.Unix(), got, c.want)
		}
	}
}
