package transfer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// Notify limits: each NOTIFY is tried notifyTries times (as CoreDNS), each
// try waiting notifyTimeout for the secondary's answer.
const (
	notifyTries   = 3
	notifyTimeout = 2 * time.Second
)

// Notifier sends NOTIFY for the transferred zones to every target with an
// address when the serial changes. Changes that come while a round of
// NOTIFYs is out are folded into one more round: a secondary asks for the
// newest zone anyway.
type Notifier struct {
	zones   []string
	targets []netip.AddrPort
	log     *slog.Logger
	kick    chan struct{}
	// sent is called after each round (for tests); nil is fine.
	sent func(serial uint32, err error)
	// serial holds the last serial Changed was told of (a one-slot
	// channel as a lock that Changed never waits on for long).
	serial chan uint32
}

// NewNotifier notifies the targets with an address of changes to zones
// (forward zones, canonical).
func NewNotifier(t *Transfer, zones []string, log *slog.Logger) *Notifier {
	n := &Notifier{zones: zones, log: log, kick: make(chan struct{}, 1), serial: make(chan uint32, 1)}
	for _, x := range t.targets {
		if x.Notify.IsValid() {
			n.targets = append(n.targets, x.Notify)
		}
	}
	n.serial <- 0
	return n
}

// Changed records that the zones now have serial; Run sends the NOTIFYs.
// It never blocks.
func (n *Notifier) Changed(serial uint32) {
	<-n.serial
	n.serial <- serial
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Run sends NOTIFYs until ctx is done.
func (n *Notifier) Run(ctx context.Context) {
	if len(n.targets) == 0 {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		}
		serial := <-n.serial
		n.serial <- serial
		err := n.notifyAll(ctx)
		if err != nil {
			n.log.Warn("NOTIFY was not accepted", "serial", serial, "err", err)
		} else {
			n.log.Debug("sent NOTIFY", "serial", serial, "zones", n.zones, "to", len(n.targets))
		}
		if n.sent != nil {
			n.sent(serial, err)
		}
	}
}

// notifyAll notifies every target of every zone, all at once.
func (n *Notifier) notifyAll(ctx context.Context) error {
	errs := make(chan error, len(n.zones)*len(n.targets))
	for _, z := range n.zones {
		for _, to := range n.targets {
			go func() { errs <- Notify(ctx, z, to) }()
		}
	}
	var all error
	for range len(n.zones) * len(n.targets) {
		all = errors.Join(all, <-errs)
	}
	return all
}

// Notify sends one NOTIFY for zone to to over UDP (as CoreDNS, without
// the SOA: the secondary asks for it) and waits for a NOERROR answer,
// notifyTries times at most.
func Notify(ctx context.Context, zone string, to netip.AddrPort) error {
	m := new(dns.Msg)
	m.SetNotify(dns.Fqdn(zone))
	m.Authoritative = true
	c := &dns.Client{Net: "udp", Timeout: notifyTimeout}
	var last error
	for range notifyTries {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r, err := exchange(ctx, c, m, to.String())
		switch {
		case err != nil:
			last = err
		case r.Rcode != dns.RcodeSuccess:
			last = fmt.Errorf("rcode %s", dns.RcodeToString[r.Rcode])
		default:
			return nil
		}
	}
	return fmt.Errorf("NOTIFY for %s to %s: %w", zone, to, last)
}

// exchange is c.ExchangeContext that returns when ctx is cancelled, not
// only at its deadline (miekg/dns reads only the deadline); the exchange
// left behind ends at its own timeout.
func exchange(ctx context.Context, c *dns.Client, m *dns.Msg, addr string) (*dns.Msg, error) {
	type result struct {
		r   *dns.Msg
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, _, err := c.ExchangeContext(ctx, m, addr)
		done <- result{r, err}
	}()
	select {
	case res := <-done:
		return res.r, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
