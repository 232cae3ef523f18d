package main

// limitsText explains the zone profiles in RESULTS.md. It names what the
// profiles show rather than figures, which the run above gives.
const limitsText = `Reading them:

- **Memory** (steady RSS): clusterdns holds the cluster state once, in the informers' caches, converted to
  the cluster model as objects arrive (the model's endpoint and address, and client-go's bookkeeping per
  object; endpoints' targetRefs only with --endpoint-pod-names), and the record engine's snapshot (the heap
  profile above): per service its ready addresses indexed by label and its few stored names (service, ports),
  whose answers are packed when first asked for, so a snapshot under query load holds more than one at rest,
  up to the packed answers of every name asked for; per endpoint one PTR row. Per-endpoint and PTR names are
  answered from these per query. CoreDNS keeps its own trimmed objects and builds every answer per query.
  Both binaries are built static and stripped, as shipped; the resident part of each binary counts in its RSS.
  Sizes held per endpoint: the model's endpoint (72 bytes: conditions a byte each, no nodeName) and its
  address (24), a ready address (32: label, slice, indexes; the address is read from the model), a PTR row
  (48: the address in 16 bytes, service key, label); the strings a slice keeps are packed into one
  allocation, so that the first list does not leave the heap fragmented around them, and the full state is
  read once every event handler has the list (a late handler once made every service build twice). What
  to shrink next: the dashed-IP labels of endpoints without a hostname (computed when asked instead of
  held), the per-service fragment (its Stats in 32-bit counters), the address slice header per endpoint.
- **Re-list peak**: with streaming lists (WatchList, which needs etcd 3.5.13 or later), objects are
  converted as they arrive, and one whose resourceVersion is already stored keeps the stored value: a
  re-list of unchanged objects converts nothing, holds nothing twice and leaves the zone alone. The peak is
  the stream's decoding garbage.
- **Start-to-ready** is the informers' list (the API server streaming every object, each converted as it
  arrives) plus the build of every service's names (its time above, spread over the cores); CoreDNS answers
  from its informer cache as soon as that is synced, so the build is what clusterdns has to make up for. It
  asks the API server not to compress (gzip on both ends costs more than it saves on a cluster network),
  notices the sync within 5 ms, and keeps Go's default collector target until the first state is served.
- **Programming latency**: trigger to served is mostly the API server and the watch (the EndpointSlice
  written, stored, sent), which both servers share: CoreDNS's own figure is nearly all of it. clusterdns's
  part is the "internal" line, event to swap: an update rebuilds only the changed service's names and the
  PTR rows that changed. Half of CoreDNS's end-to-end figure would need that shared pipeline to be faster for
  one server than for the other; no DNS server can meet it.
`
