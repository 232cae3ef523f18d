// Package forward sends the queries the served zones do not hold to upstream
// DNS servers, as CoreDNS 1.14.2's forward plugin (plugin/forward and
// plugin/pkg/proxy) does: the same choice of upstream per policy, the same
// retry loop, health checks, marking down and back up, pooled connections
// and max_concurrent answer.
//
// What it does not do: it does not cache (the cache sits above it), it does
// not decide which names are forwarded beyond FROM and except (the server
// decides that a name is outside its zones, then asks Match; Exchange
// itself forwards whatever it is given), it does not listen for
// clients, and it does not fit a reply to the client's UDP size (the server
// truncates and sets TC, as CoreDNS's scrub writer does). Plain DNS over
// UDP and TCP only: no tls://, DoH or hostname upstreams.
//
// # Per query (Forwarder.Exchange)
//
// The upstreams are ordered by the policy (random: a coin flip for two, a
// permutation for more; round_robin: a rotating first, the rest in
// configured order; sequential: configured order) and tried in that order,
// wrapping around, until one answers, the query deadline passes, the
// context ends or MaxConnectAttempts failures are reached. An upstream that
// is down is skipped; when all are down one is picked at random anyway
// (CoreDNS "assumes health checking is broken"). Any reply that matches the
// question is returned as is, whatever its rcode, including a TC=1 reply:
// only with PreferUDP is a truncated UDP reply retried over TCP.
//
// Protocol to the upstream: TCP with ForceTCP, else UDP with PreferUDP,
// else the client's protocol. The client's message goes out unchanged (its
// OPT record, DO bit and UDP size included) except for a fresh random ID
// per attempt; the client's ID is put back in the reply. A UDP reply is
// read into max(client's EDNS size, 512) bytes (64 KiB for a TCP client);
// one larger than that comes back as its header and question with empty
// sections and TC=1, as CoreDNS does.
//
// A reply is accepted only if it comes from the upstream's address (UDP
// sockets are connected, so the kernel drops other sources), has the
// attempt's ID, QR=1, one question with the query's name (any case), type
// and class, and unpacks. Anything else is dropped and reading continues
// until the attempt's read deadline.
//
// # Health
//
// A failed attempt starts a probe loop for that upstream (at most one per
// upstream, only after Start and only when MaxFails > 0): a HealthCheckDomain
// NS query (RD unless HealthCheckNoRec) over UDP (TCP with ForceTCP), then
// every HealthCheck interval until one succeeds. Any reply counts as
// healthy, SERVFAIL and REFUSED included; only a network error or timeout
// is a failure. Each failure adds one to the upstream's fail count and a
// success resets it; the upstream is down while the count exceeds MaxFails
// (3 consecutive failed checks with the default 2). A failed query does not
// add to the count by itself.
//
// # Limits
//
//   - Upstreams: at most 15 (MaxUpstreams), after expanding resolv.conf files.
//   - Time per query: QueryTimeout (5 s) for the whole retry loop. Each
//     attempt reads for at most ReadTimeout (2 s), writes for at most 2 s and
//     dials for an adaptive 1-30 s (twice a moving average of dial times),
//     all cut to the query deadline and the context's deadline, so
//     Exchange returns by the deadline (CoreDNS checks its deadline only
//     before an attempt and can take one more read timeout).
//   - Attempts per query: MaxConnectAttempts failures (0: no cap, the
//     1.14.2 default; within the deadline a fast-failing upstream can be
//     retried many times, as in CoreDNS).
//   - Concurrent queries: MaxConcurrent (0: no limit); above it Exchange
//     returns ErrMaxConcurrent at once.
//   - Connections: a query holds one connection at a time, so open
//     connections in use are at most the concurrent queries (MaxConcurrent
//     when set). Idle connections are pooled per upstream and protocol, the
//     oldest reused first (source port diversity), at most MaxIdleConns each
//     (0: no limit, so at most the peak concurrency), and closed once idle
//     longer than Expire (10 s): on reuse, or by a sweep every Expire
//     (clamped to [100 ms, 10 s]) once started. A running health check
//     holds one more socket, for at most a 2 s dial (TCP) and
//     HealthCheckTimeout (1 s) to write and to read; one per upstream.
//   - Memory per query in flight: one pooled 4 KiB buffer, plus the reply;
//     a UDP read for a client that advertises more than 4 KiB, and a TCP
//     reply above it, use a buffer of that size.
//
// # Metrics
//
// Recorder receives the events behind CoreDNS 1.14.2's forward metrics;
// see Recorder for the names and labels they feed.
package forward
