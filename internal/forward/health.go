package forward

import (
	"context"
	"time"

	"github.com/miekg/dns"
)

// healthcheck starts u's probe loop unless one runs already, the
// forwarder is not started or it is closed (CoreDNS up.Probe.Do).
func (f *Forwarder) healthcheck(u *upstream) {
	if !u.probing.CompareAndSwap(false, true) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started || f.closed.Load() {
		u.probing.Store(false)
		return
	}
	f.wg.Add(1)
	go f.probe(f.ctx, u)
}

// probe checks u until a check succeeds, waiting HealthCheck between
// failed ones.
func (f *Forwarder) probe(ctx context.Context, u *upstream) {
	defer f.wg.Done()
	defer u.probing.Store(false)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if f.check(ctx, u) {
			return
		}
		t.Reset(f.cfg.HealthCheck)
	}
}

// check sends one health check to u and updates its fail count; it
// reports whether u answered. Any reply is healthy, whatever its rcode:
// only a network error or a timeout fails (CoreDNS health.go).
func (f *Forwarder) check(ctx context.Context, u *upstream) bool {
	c := dns.Client{Net: "udp", ReadTimeout: f.cfg.HealthCheckTimeout, WriteTimeout: f.cfg.HealthCheckTimeout}
	if f.cfg.ForceTCP {
		c.Net = "tcp"
	}
	ping := new(dns.Msg)
	ping.SetQuestion(f.cfg.HealthCheckDomain, dns.TypeNS)
	ping.RecursionDesired = !f.cfg.HealthCheckNoRec
	m, _, err := c.ExchangeContext(ctx, ping, u.to)
	if err != nil && m != nil && (m.Response || m.Opcode == dns.OpcodeQuery) {
		err = nil // something DNS came back, even if it did not unpack
	}
	if ctx.Err() != nil {
		return true // closing: neither healthy nor sick, just stop
	}
	if err != nil {
		f.cfg.Recorder.HealthcheckFailure(u.to)
		n := u.fails.Add(1)
		if n == 0 { // wrapped: stay down
			u.fails.Store(^uint32(0))
		}
		if f.cfg.MaxFails > 0 && n == uint32(f.cfg.MaxFails)+1 {
			f.cfg.Logger.Warn("forward: upstream marked down", "upstream", u.to,
				"failed_checks", n, "error", err)
		}
		return false
	}
	if old := u.fails.Swap(0); f.cfg.MaxFails > 0 && old > uint32(f.cfg.MaxFails) {
		f.cfg.Logger.Info("forward: upstream healthy again", "upstream", u.to, "failed_checks", old)
	}
	return true
}
