// Package hosts answers names from an /etc/hosts-style file and inline
// entries as CoreDNS 1.14.2's hosts plugin (plugin/hosts) does, as a
// library the server calls on its query path.
//
// What it does not do: it parses no Corefile (internal/corefile reads the
// `hosts` block into a corefile.Hosts, from which New builds), it writes
// no DNS message header and answers no query itself (Lookup says what
// CoreDNS would do; the server sends it), it has no next plugin to call
// (ActionNext tells the server to hand the query on), and it exports no
// metrics (Entries and ModTime are what coredns_hosts_entries and
// coredns_hosts_reload_timestamp_seconds report).
//
// # Table
//
// The table holds the hosts file's entries first and the inline entries
// after them, each in the order written, duplicates kept: that is the
// order of the records in an answer (hostsfile.go:224-258). A line of the
// file is what hostsfile.go:155-203 takes: text from the first '#' on is
// dropped, the rest split on white space; a line with fewer than two
// fields, or whose first field is not an IP address once everything from a
// '%' on (an IPv6 zone) is cut off, is skipped. An IPv4-mapped IPv6
// address (::ffff:10.0.0.1) is the IPv4 address. Each further field is a
// name, lower-cased and made fully qualified; a name outside the zones is
// dropped. Unless NoReverse, every kept name is also a PTR target of its
// address.
//
// # Answers (Lookup)
//
// Lookup decides as ServeDNS (hosts.go:24-73):
//
//   - A, AAAA and every type but PTR for a name outside the zones: next,
//     whatever Fallthrough says.
//   - PTR for an address (in-addr.arpa. or ip6.arpa. name, inside the zones
//     or not) that has names: the PTR records. Without names, or for a name
//     that is no address: next, whatever Fallthrough says.
//   - A or AAAA for a name in the table: its records of that type. If it
//     has none (AAAA for a name with IPv4 addresses only), and for any
//     other type (MX, TXT, ...): NOERROR with no record and no SOA
//     (NODATA); both authoritative.
//   - A name in the zones that the table does not hold: next if it is under
//     a Fallthrough zone, else SERVFAIL. CoreDNS would send NXDOMAIN but
//     has no SOA for it (hosts.go:61-63); its server then writes a
//     SERVFAIL that is not authoritative (core/dnsserver/server.go:409-417).
//
// Every record carries the configured TTL. The owner of every record is
// the question name, lower-cased.
//
// # Reload
//
// New reads the file once. Run then re-reads it every Reload when its
// modification time or size changed (hostsfile.go:110-144), and swaps the
// new table in atomically; Lookup never waits. Reload 0 disables it, as in
// CoreDNS. The inline entries are part of every table.
//
// # Limits and differences from CoreDNS
//
//   - A file over MaxFileSize bytes, or with more than MaxEntries names
//     kept, is an error: New fails and Run logs it and keeps the last good
//     table. CoreDNS has no limit.
//   - A file that exists but cannot be read is an error for New too
//     (CoreDNS serves the inline entries alone). A file that does not
//     exist is not: it is logged, and the inline entries are served, as in
//     CoreDNS (setup.go:97-103). Run keeps the last good table while the
//     file is missing or unreadable and logs the change once, where
//     CoreDNS keeps it silently; an error while reading keeps it too,
//     where CoreDNS would take the lines read before the error.
//   - A line over 64 KiB ends the reading there, as in CoreDNS (a
//     bufio.Scanner's limit): the lines before it are used. It is logged.
//   - A name no question can ask for is dropped: one that is not a valid
//     domain name (an empty label, a label over 63 octets, more than 255
//     octets) or that ends in an escaped dot ("a\" becomes "a\." when
//     fully qualified). CoreDNS keeps them, where only a PTR answer finds
//     them, and it then fails to pack the answer and sends nothing.
//   - AppendAnswer writes owners as a compression pointer to the question,
//     so they take the client's case and are two octets each; CoreDNS
//     writes them lower-cased in full while the message fits.
package hosts
