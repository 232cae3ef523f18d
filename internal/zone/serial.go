package zone

import "time"

// NextSerial returns the SOA serial of the snapshot that follows one whose
// serial is prev, made at now. The policy, like CoreDNS's: the time in epoch
// seconds, but always forward, at least prev+1, so that two changes within
// one second, or a clock set back, still give every snapshot a serial a
// secondary sees as newer. (prev+1 wraps past 2^32-1 to 0, which RFC 1982
// serial arithmetic counts as forward; epoch seconds reach it in 2106.)
//
// Sources do not set serials: the serving loop that publishes snapshots
// numbers them with NextSerial, so the policy has this one owner.
func NextSerial(prev uint32, now time.Time) uint32 {
	next := uint32(now.Unix())
	if next <= prev {
		next = prev + 1
	}
	return next
}
