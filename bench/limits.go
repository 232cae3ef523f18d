package main

// limitsText explains the zone profiles in RESULTS.md. It names what the
// profiles show rather than figures, which the run above gives.
const limitsText = `Reading them:

- **Memory** (steady RSS and the re-list peak): the snapshot keeps, per name, its records (miekg/dns RR
  values with their provenance), an answer map and a pre-packed wire template per (name, type); a headless
  service has a per-pod name and a PTR name per endpoint, each with its own records and template. The heap
  profile shows which of these dominate. The process also keeps the informers' (trimmed) objects, and Go's
  collector lets the heap grow to about twice what is live (GOGC=100) before it collects. CoreDNS keeps one
  trimmed object per Service and EndpointSlice and builds every answer per query. During a re-list the
  informers refill their caches and the zone is rebuilt while the old snapshot is still served, so both are
  alive at the peak. Reaching 0.5x CoreDNS needs the engine to hold answers once, packed (provenance can be
  derived again when "explain" asks), and to answer per-pod and PTR names from the endpoint list rather than
  from a node each; a GOMEMLIMIT would bound the collector's headroom.
- **Start-to-ready** is the informers' list plus "zone.Build" of the whole state (its time above); CoreDNS
  answers from its informer cache as soon as that is synced.
- **Programming latency** is the time of "zone.Update" for the changed service (above, for the
  1,000-endpoint headless service) plus the wait behind the previous updates: at 20 changes a second an
  update that takes tens of milliseconds, with the collector running beside it on two shared cores, queues
  the next ones. The CPU profile shows where an update's time goes.

All three are in internal/zone and internal/source/kube; the server and the metrics (the query path) are
not what limits them.
`
