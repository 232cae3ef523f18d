// Package resolv models what a resolver inside a Kubernetes pod sends for a
// name: the resolv.conf the kubelet writes for the pod (Compose), how each
// client reads it (Config.View), the ordered questions it asks (Expand) and
// where it stops given the answers (Simulate, Run), for three clients:
//
//   - glibc: getaddrinfo (A and AAAA together, or apart with the
//     single-request options), gethostbyname (A), `getent hosts` (an AAAA
//     walk then an A walk);
//   - musl: getaddrinfo and gethostbyname;
//   - Go's pure resolver (net.Resolver with PreferGo, LookupHost);
//
// and BIND's `dig +search` (one type), which parses resolv.conf itself.
//
// The facts are those of shared/reference/resolver-behaviour.md (kubelet
// GetPodDNS; glibc __res_context_search and send_dg; musl
// name_from_dns_search and __res_msend_rc; Go dnsConfig.nameList and
// goLookupIPCNAMEOrder), checked where it matters against the real clients
// (see realresolver_test.go): glibc through getent, musl through a static
// getaddrinfo program built with musl-gcc, Go through net.Resolver.
//
// The package holds no DNS data. Simulate asks an AnswerFunc (the record
// engine, for a dry run); Run asks an Exchanger (Live sends the questions to
// a real server). Advice turns a Result into specific suggestions; explain
// uses it for short names.
package resolv
