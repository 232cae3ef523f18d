// Package rewrite applies CoreDNS 1.14.2's `rewrite name` rules
// (plugin/rewrite/name.go) to question names and maps the answers back
// (plugin/rewrite/reverter.go), so that a Corefile that aliases names keeps
// answering as CoreDNS answers it.
//
// What it does not do: it reads no Corefile (internal/corefile parses the
// rules and already rejects what CoreDNS rejects), it implements only name
// rules (class, type, edns0, ttl, cname and rcode rules are refused by the
// parser), it answers nothing itself (the SERVFAIL for a rewrite that makes
// an invalid name is the server's to send) and it never copies a message:
// Restore changes the one it is given.
//
// # Question
//
// Rules run in Corefile order on the lower-case, fully qualified name. A
// rule that matches rewrites the name; a stop rule (the default) ends the
// walk, a continue rule hands the new name to the next rule; a rule that
// does not match, stop or continue, is skipped. From and To are CoreDNS's:
// lower-cased and fully qualified for every match type, which makes
// `prefix foo bar` match the first label "foo" only ("foo." is the prefix)
// and `substring old new` match "old." anywhere:
//
//   - exact: the name equals From; it becomes To.
//   - prefix: the name starts with From; To replaces it.
//   - suffix: the name ends with From, not aligned on labels; To replaces it.
//   - substring: every occurrence of From is replaced by To.
//   - regex: the pattern matches anywhere in the name (unanchored); the name
//     becomes To with {0}, {1}, ... replaced, one group after the other, by
//     the match and its groups.
//
// When a rule makes a name that is not a valid domain name (an empty label,
// a label over 63 octets, a name over 255), CoreDNS stops and answers
// SERVFAIL with the client's question; Question then returns "" with ok
// true.
//
// # Answers
//
// Restore does what CoreDNS's ResponseReverter does when the response is
// written. The question name goes back to the original one, unless the only
// matching rules were continue rules none of which rewrites answers (then
// CoreDNS leaves the rewritten question in place, and so does Restore).
// Each record of the answer, authority and additional sections (OPT
// excepted, see below) is then passed through the answer rules of the
// matching rules, last rule first and, within a rule, last answer rule
// first. An answer rule changes either the owner name or the value: the
// target of CNAME, DNAME, SRV, MX, NS, PTR and NAPTR (replacement) records
// and the MNAME of SOA; nothing else (no TXT, no A). The answer rules of a
// rule are:
//
//   - answer auto (always on for exact rules): a name equal to the
//     rewritten name, or ending in "." and the rewritten name, gets the
//     name from before the rule instead. For suffix rules it maps a
//     trailing To back to From in any name, aligned on labels or not, so it
//     also renames records that were never rewritten (a CNAME target
//     elsewhere under To, the SOA of To's zone).
//   - answer name|value REGEX TEMPLATE: a matching name or value is replaced
//     by the expanded template (the whole of it, not just the matched part).
//
// The comparisons are case-sensitive, as CoreDNS's: a record whose owner is
// spelt in another case than the rewritten name keeps it.
//
// OPT records are left alone. CoreDNS passes them through the answer rules
// too, but its scrub writer then sets the OPT owner back to "."
// (request.SizeAndDo), so a client sees the same either way.
//
// The original name Restore puts back is the canonical one given to
// Question. CoreDNS puts back the client's question as received, its case
// (DNS 0x20) included: a server that has the client's question should send
// that, and use Restore for the records.
//
// # Cost
//
// A miss on exact, prefix, suffix and substring rules is one string
// comparison, strings.HasPrefix, HasSuffix or Contains per rule and
// allocates nothing (about 20 ns for four rules). A hit allocates the new
// name (prefix, suffix, substring: one concatenation; exact: nothing) and,
// from the second matching rule of a continue chain on, the list of
// matched rules. A regex rule runs the RE2 matcher on every query: linear
// in the name's length, no allocation on a miss, but about 1 µs for a
// 30-octet name against a pattern such as (.*)-(us-west-1)\.example\. on
// a 2-core CI VM, fifty times a string rule; a hit allocates the submatch
// slice and one string per group expanded into the template. Restore
// allocates only the names it composes (a prefix kept before the original
// name, a swapped suffix, a regex template).
//
// # On the wire
//
// Restore works on a *dns.Msg. An allocation-free version over the packed
// answer would need: the rewritten name and the original kept as wire
// names (length-prefixed labels); a walk of every record of the three
// sections that decompresses each owner and each value named above (their
// offsets in RDATA: SRV after 6 octets, MX after 2, NAPTR after its two
// 16-bit fields and three character-strings, SOA and the others at the
// start) into a stack buffer and compares it with the rewritten name; and,
// since the original name's length differs, a re-encoding of the message
// into a second, caller-owned buffer, with RDLENGTH recomputed and
// compression pointers to moved names rebuilt. Regex answer rules need the
// name in presentation form, and their templates build new strings.
//
// A cheaper way is open to a server that builds its own answers, as for
// the cluster zone: keep the client's question in the packet and write the
// owner names that equal the rewritten name as compression pointers to the
// question (offset 12), so the client reads the original name there. That
// is the same answer as CoreDNS's answer auto when all of these hold: every
// matching rule has answer auto (or is exact) and none has explicit answer
// rules or is a suffix rule; every name CoreDNS would map (a name equal to
// the rewritten one or under it, owner or value) is written as a pointer
// to the question or as labels ending in one; and no other name in the
// answer spells out the rewritten name or, in a continue chain, a name
// between the original and the final one. It differs from CoreDNS when a rule
// has no answer auto (CoreDNS then leaves owners rewritten, the pointer
// maps them anyway), when only continue rules without answer rules matched
// (CoreDNS leaves the question rewritten), for suffix rules (CoreDNS maps
// every name ending in To, the SOA owner and CNAME chains included), and
// for explicit answer rules. Where it is equivalent the names differ only
// in case: the pointer gives the client's spelling, CoreDNS lower case.
package rewrite
