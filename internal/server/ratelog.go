package server

import (
	"log/slog"
	"sync"
	"time"
)

// logEvery is the least time between two lines of one rate-limited log.
const logEvery = 10 * time.Second

// rateLog logs one line per logEvery at most, saying how many events the
// lines it left out stood for: a client that provokes a warning per
// connection must not be able to flood the log.
type rateLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (l *rateLog) warn(log *slog.Logger, msg string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < logEvery {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n, "suppressed_over", logEvery)
	}
	log.Warn(msg, args...)
}
