// Package corefile reads a CoreDNS Corefile and maps it onto clusterdns's
// configuration, so that the `coredns` ConfigMap of a kubeadm cluster can be
// kept as it is when clusterdns replaces CoreDNS.
//
// Parsing is CoreDNS's own: github.com/coredns/caddy's caddyfile package,
// called as CoreDNS 1.14.2 calls it, so imports, snippets and {$ENV}
// placeholders behave exactly as there. On top of its tokens this package
// reads the server blocks (zones, ports, dns:// prefixes, reverse CIDR keys)
// and, per block, the plugins clusterdns implements: kubernetes, forward,
// cache, errors, health, ready, prometheus, loop, reload, loadbalance, log,
// hosts, rewrite name and autopath (recorded only). Every default is CoreDNS
// 1.14.2's, and each carries the source line it comes from.
//
// What it does not do: it opens no socket, reads no resolv.conf or hosts
// file (a forward TO that is not an address is kept as a file path, read
// when forwarding starts, as CoreDNS reads it at setup), and runs nothing.
// It never accepts a Corefile it would serve differently: a plugin, option
// or transport clusterdns does not implement is a Problem naming its line
// ("Corefile:12: plugin "etcd" is not supported by clusterdns"), as is a bad
// value. All problems are reported, not only the first; only a syntax error
// of the Caddyfile grammar stops the reading, because the caddyfile package
// stops there.
//
// Where this package is stricter than CoreDNS, it is on input CoreDNS
// accepts but ignores or misreads silently: a hosts line that is not an
// address and names, a plugin given twice in a block where CoreDNS keeps
// only the first or last, a negative cache capacity.
//
// Check gives the same reading line by line, for `clusterdns corefile
// check`: what each directive becomes and what is not supported.
package corefile
