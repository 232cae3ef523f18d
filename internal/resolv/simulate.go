package resolv

import (
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Timeout is the Rcode of a try that got no reply in time.
const Timeout = -1

// NotSent is the Rcode of a question an Exchanger did not send: in
// Sequential and Reopen mode, the questions after one that got no reply
// (glibc sends the next only after a reply to the previous).
const NotSent = -2

// Reply is what one try of a question got.
type Reply struct {
	// Rcode is the response code, or Timeout.
	Rcode int
	// Answers counts the answer records (of the type, or CNAMEs to it).
	Answers int
	// Lame: NOERROR without any record and with neither AA nor RA set;
	// glibc and Go take it for a bad server and try the next one.
	Lame bool
	// Elapsed is the time to the reply (live runs only).
	Elapsed time.Duration
	// TCP: the UDP reply was truncated and the question asked again over TCP.
	TCP bool
}

// hasData reports whether the reply carries addresses.
func (r Reply) hasData() bool { return r.Rcode == dns.RcodeSuccess && r.Answers > 0 && !r.Lame }

// RcodeString names an rcode the way the JSON output does: NOERROR (with
// records), NODATA (NOERROR without), NXDOMAIN, SERVFAIL, REFUSED, ...,
// TIMEOUT.
func (r Reply) RcodeString() string {
	switch {
	case r.Rcode == Timeout:
		return "TIMEOUT"
	case r.Rcode == dns.RcodeSuccess && r.Answers == 0:
		return "NODATA"
	}
	if s, ok := dns.RcodeToString[r.Rcode]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", r.Rcode)
}

// AnswerFunc answers a question for a dry run: the rcode (or Timeout) and
// the number of answer records.
type AnswerFunc func(name string, qtype uint16) (rcode int, answers int)

// Exchanger sends questions and returns one reply per question, in order.
// mode says how a client puts them on the wire (in Sequential and Reopen
// mode, the questions after one without a reply are not sent: NotSent);
// timeout is how long the client waits for each reply.
type Exchanger interface {
	Exchange(qs []Question, mode SendMode, timeout time.Duration) []Reply
}

type funcExchanger AnswerFunc

func (f funcExchanger) Exchange(qs []Question, mode SendMode, _ time.Duration) []Reply {
	out := make([]Reply, len(qs))
	stopped := false
	for i, q := range qs {
		if stopped {
			out[i] = Reply{Rcode: NotSent}
			continue
		}
		rc, n := f(q.Name, q.Type)
		out[i] = Reply{Rcode: rc, Answers: n}
		stopped = rc == Timeout && (mode == Sequential || mode == Reopen)
	}
	return out
}

// Query is one packet the client sent and what came back.
type Query struct {
	Question
	Reply
	// Try counts the sends of this question in this walk, from 1.
	Try int
}

// Flag is something in the answers that changes what the client does.
type Flag struct {
	// Kind: timeout, gives-up-early, skips-family, server-error, lame,
	// inconsistent-rcodes.
	Kind string
	// Query is the index in Result.Queries it is about, -1 for none.
	Query   int
	Message string
}

// Result is one simulated or live lookup.
type Result struct {
	Name  string
	Model Model
	View  View
	// Queries are the packets sent, in order.
	Queries []Query
	// Resolved: the call returns addresses (dig: an answer).
	Resolved bool
	// ResolvedBy is the name that answered, fully qualified; "" if none.
	ResolvedBy string
	// Error is what the call returns when it fails (EAI_NONAME, EAI_AGAIN,
	// NXDOMAIN, ...).
	Error string
	// Stop says why the client stopped where it did.
	Stop string
	// Wasted counts the packets that did not ask ResolvedBy (or, when
	// nothing resolved, the name as given with a trailing dot), retries of
	// those included.
	Wasted int
	// Stall is the time the client waits for replies that do not come
	// (modelled from the timeouts, not measured).
	Stall time.Duration
	Flags []Flag
}

// Needed is the number of packets a client that asked only the right name
// would have sent.
func (r *Result) Needed() int { return len(r.Queries) - r.Wasted }

// Simulate runs the lookup of name by model m with config cfg, answering
// each question with answer: the dry run.
func Simulate(cfg Config, name string, m Model, answer AnswerFunc) Result {
	return Run(cfg, name, m, funcExchanger(answer))
}

// SimulateView is Simulate with the client's view already made (and
// possibly changed, e.g. another timeout).
func SimulateView(v View, name string, m Model, answer AnswerFunc) Result {
	return RunView(v, name, m, funcExchanger(answer))
}

// Run runs the lookup of name by model m with config cfg, asking ex: the
// same order and the same continue/stop rules as the client.
func Run(cfg Config, name string, m Model, ex Exchanger) Result {
	return RunView(cfg.View(m), name, m, ex)
}

// RunView is Run with the client's view of the config already made (and
// possibly changed: a live run sends everything to one server, with its
// own timeout).
func RunView(v View, name string, m Model, ex Exchanger) Result {
	e := &engine{v: v, m: m, ex: ex, mode: m.SendMode(v), res: Result{Name: name, Model: m, View: v}}
	if err := CheckName(name); err != nil {
		e.res.Error = err.Error()
		e.res.Stop = "the name is not valid: nothing is sent"
		return e.res
	}
	walks := m.qtypes(v)
	if m.Libc == Musl && m.Call == GetHostByName {
		e.runMuslGethostbyname(name)
		e.finish(name)
		return e.res
	}
	var stops []string
	for w, types := range walks {
		e.walk, e.types = w, types
		// getent hosts with no-aaaa: the AF_INET6 walk asks A, and no A
		// answer is an IPv6 address.
		e.dataUseless = m.Call == GetentHosts && v.NoAAAA && w == 0
		ok := e.run(name)
		stops = append(stops, e.res.Stop)
		if ok {
			break
		}
		if w+1 < len(walks) {
			stops[w] = fmt.Sprintf("the %s walk failed (%s), so getent asks again for %s", typeName(types[0]), stops[w], typeName(walks[w+1][0]))
		}
	}
	e.res.Stop = strings.Join(stops, "; then ")
	e.finish(name)
	return e.res
}

// runMuslGethostbyname is musl's gethostbyname: gethostbyname2_r in a
// loop that starts with a 95-byte buffer and doubles it on ERANGE, doing
// the whole lookup again each time. The buffer holds 4 pointers, a
// pointer and an address per address plus one, the name as given and the
// canonical name: a long name does not fit the first buffer, so its
// lookup is made twice.
func (e *engine) runMuslGethostbyname(name string) {
	e.types = []uint16{dns.TypeA}
	size := 63
	note := ""
	defer func() { e.res.Stop += note }()
	for range 4 {
		size += size + 1
		buflen := size - 32 // sizeof(struct hostent)
		if !e.run(name) {
			return
		}
		cnt := 0
		for _, q := range e.res.Queries {
			if q.Name == e.res.ResolvedBy && q.Type == dns.TypeA && q.hasData() {
				cnt = q.Answers
			}
		}
		need := 4*8 + (cnt+1)*(8+4) + len(name) + 1 + len(strings.TrimSuffix(e.res.ResolvedBy, ".")) + 1
		if need <= buflen {
			return
		}
		note += fmt.Sprintf("; musl's gethostbyname needs %d bytes for the result, its buffer has %d: it looks the name up again with a bigger one", need, buflen)
	}
}

type status int

const (
	stOK       status = iota
	stNX              // NXDOMAIN: every client moves on
	stNoData          // NOERROR without addresses
	stServfail        // SERVFAIL (glibc TRY_AGAIN with SERVFAIL)
	stTimeout         // no reply
	stRefused         // REFUSED, FORMERR, NOTIMP, ... (glibc NO_RECOVERY, musl EAI_FAIL)
	stSkipped         // nothing sent
	stMixedNX         // musl: one reply NXDOMAIN, another with addresses
)

type engine struct {
	v     View
	m     Model
	ex    Exchanger
	walk  int
	types []uint16
	// mode is how a candidate's questions go out; glibc changes it after
	// a lost reply.
	mode SendMode
	// dataUseless: answers do not count as addresses in this walk.
	dataUseless bool
	res         Result
	cand        int
}

// send sends qs once (one try) and records the packets.
func (e *engine) send(qs []Question, tries []int, mode SendMode, timeout time.Duration) []Reply {
	rs := e.ex.Exchange(qs, mode, timeout)
	lost := 0
	for i, q := range qs {
		if rs[i].Rcode == NotSent {
			continue
		}
		e.res.Queries = append(e.res.Queries, Query{Question: q, Reply: rs[i], Try: tries[i]})
		if rs[i].Rcode == Timeout {
			lost++
		}
	}
	switch {
	case lost > 0 && (mode == Together || mode == Apart):
		// Questions sent together are waited for together.
		e.res.Stall += timeout
	case lost > 0:
		e.res.Stall += time.Duration(lost) * timeout
	}
	return rs
}

// retryable: the client tries again (next server or next attempt).
func (e *engine) retryable(r Reply) bool {
	switch e.m.dialect() {
	case dialectDig:
		return r.Rcode == Timeout
	default: // glibc and Go: anything but a real answer or NXDOMAIN
		return !(r.Rcode == dns.RcodeNameError || (r.Rcode == dns.RcodeSuccess && !r.Lame))
	}
}

// accepted: a reply that ends the question at this server (an answer,
// NODATA or NXDOMAIN); anything else makes glibc and Go try again.
func accepted(r Reply) bool {
	return r.Rcode == dns.RcodeNameError || (r.Rcode == dns.RcodeSuccess && !r.Lame)
}

// ask sends the candidate's questions with the client's retries and
// returns the last reply of each.
func (e *engine) ask(c Candidate) []Reply {
	qs := make([]Question, len(e.types))
	for i, t := range e.types {
		qs[i] = Question{Name: c.Name, Type: t, Candidate: e.cand, Walk: e.walk}
	}
	switch e.m.dialect() {
	case dialectMusl:
		return e.askMusl(qs)
	case dialectGlibc:
		return e.askGlibc(qs)
	}
	// Go (tryOneName per type) and dig: each question on its own, again on
	// the next server or attempt until a reply is accepted (dig: until any
	// reply comes).
	final := make([]Reply, len(qs))
	done := make([]bool, len(qs))
	tries := make([]int, len(qs))
	rounds := e.v.Attempts * max(len(e.v.Nameservers), 1)
	if e.m.dialect() == dialectDig {
		rounds = e.v.Attempts
	}
	for range rounds {
		var pend []Question
		var idx, pt []int
		for i := range qs {
			if !done[i] {
				tries[i]++
				pend, idx, pt = append(pend, qs[i]), append(idx, i), append(pt, tries[i])
			}
		}
		if len(pend) == 0 {
			break
		}
		var rs []Reply
		if e.mode == Sequential {
			// Go single-request: one question after the other, each from
			// its own socket, the next even when one got no reply.
			for j := range pend {
				rs = append(rs, e.send(pend[j:j+1], pt[j:j+1], Apart, e.v.Timeout)...)
			}
		} else {
			rs = e.send(pend, pt, e.mode, e.v.Timeout)
		}
		for j, i := range idx {
			final[i] = rs[j]
			if !e.retryable(rs[j]) {
				done[i] = true
			}
		}
	}
	return final
}

// askGlibc is __res_context_send / send_dg for one candidate. The
// questions go out together, or one after the other (single-request: the
// next only after a reply to the previous). A round in which no reply is
// accepted (NOERROR or NXDOMAIN) is repeated on the next server, attempts
// times over the list. A round in which one reply is accepted ends the
// candidate: an error reply beside it is dropped. Except when the other
// reply timed out: glibc then switches to single-request and repeats the
// round, then to single-request-reopen and repeats it again (for the rest
// of the process; neither counts as an attempt), and only then does
// without the missing reply. The last round decides (see try).
func (e *engine) askGlibc(qs []Question) []Reply {
	final := make([]Reply, len(qs))
	tries := make([]int, len(qs))
	rounds := e.v.Attempts * max(len(e.v.Nameservers), 1)
	for r := 0; r < rounds; {
		pt := make([]int, len(qs))
		for i := range qs {
			pt[i] = tries[i] + 1
		}
		rs := e.send(qs, pt, e.mode, e.v.Timeout)
		for i := range qs {
			if rs[i].Rcode != NotSent {
				tries[i]++
			}
		}
		copy(final, rs)
		got, lost := 0, 0
		for _, x := range rs {
			switch {
			case accepted(x):
				got++
			case x.Rcode == Timeout:
				lost++
			}
		}
		switch {
		case got == len(qs):
			return final
		case got > 0 && lost > 0 && e.mode != Reopen:
			if e.mode == Together {
				e.mode = Sequential
			} else {
				e.mode = Reopen
			}
			e.res.Flags = append(e.res.Flags, Flag{Kind: "timeout", Query: len(e.res.Queries) - 1,
				Message: fmt.Sprintf("one reply for %s never came while the other did: glibc asks again, %s, for the rest of the process (what options single-request / single-request-reopen do from the start)", qs[0].Name, e.mode)})
			continue // the switch is not an attempt
		case got > 0:
			return final
		}
		r++
	}
	return final
}

// askMusl is __res_msend_rc: every question to every nameserver at once,
// again every timeout/attempts for those without an accepted reply
// (NOERROR or NXDOMAIN). A SERVFAIL is asked again at once, up to twice
// the number of questions per round; REFUSED and the rest are ignored.
// After timeout, a question without an accepted reply has failed.
func (e *engine) askMusl(qs []Question) []Reply {
	nns := max(len(e.v.Nameservers), 1)
	final := make([]Reply, len(qs))
	done := make([]bool, len(qs))
	tries := make([]int, len(qs))
	interval := e.v.Timeout / time.Duration(e.v.Attempts)
	var waited time.Duration
	for range e.v.Attempts {
		var queue []int // question indexes, in the order sent
		for i := range qs {
			if !done[i] {
				for range nns {
					queue = append(queue, i)
				}
			}
		}
		if len(queue) == 0 {
			break
		}
		budget := 2 * len(qs)
		batch := queue
		for len(batch) > 0 {
			pend := make([]Question, len(batch))
			pt := make([]int, len(batch))
			for j, i := range batch {
				tries[i]++
				pend[j], pt[j] = qs[i], tries[i]
			}
			rs := e.ex.Exchange(pend, Together, interval)
			var again []int
			for j, i := range batch {
				e.res.Queries = append(e.res.Queries, Query{Question: pend[j], Reply: rs[j], Try: pt[j]})
				if done[i] {
					continue
				}
				final[i] = rs[j]
				switch rs[j].Rcode {
				case dns.RcodeSuccess, dns.RcodeNameError:
					done[i] = true
				case dns.RcodeServerFailure:
					if budget > 0 {
						budget--
						again = append(again, i)
					}
				}
			}
			batch = again
		}
		for i := range qs {
			if !done[i] {
				waited += interval
				break
			}
		}
	}
	e.res.Stall += waited
	return final
}

// try asks one candidate and classifies the outcome for the walk.
func (e *engine) try(cands []Candidate, i int) status {
	c := cands[i]
	e.cand = i
	if c.Skip != "" {
		if e.m.dialect() == dialectMusl && strings.HasSuffix(c.Name, "..") {
			// musl 1.2.3 hands the failed encoding to the sender, which
			// sends nothing and waits out the timeout: EAI_AGAIN.
			e.res.Stall += e.v.Timeout
			return stTimeout
		}
		return stSkipped
	}
	rs := e.ask(c)
	anyData := false
	for _, r := range rs {
		anyData = anyData || r.hasData()
	}
	anyData = anyData && !e.dataUseless
	switch e.m.dialect() {
	case dialectMusl:
		return muslStatus(rs, anyData)
	case dialectGo:
		if anyData {
			return stOK
		}
		return goStatus(rs)
	case dialectDig:
		return digStatus(rs[0])
	}
	if anyData {
		return stOK
	}
	return glibcStatus(rs)
}

// muslStatus is name_from_dns, A first, then AAAA: a reply missing at the
// timeout is EAI_AGAIN (musl accepts only NOERROR and NXDOMAIN, so
// SERVFAIL and REFUSED end up missing too); any NXDOMAIN ends the
// candidate; anything else is EAI_FAIL. anyData: a reply has addresses
// that count in this walk.
func muslStatus(rs []Reply, anyData bool) status {
	for _, r := range rs {
		switch r.Rcode {
		case dns.RcodeSuccess:
		case dns.RcodeNameError:
			if anyData {
				return stMixedNX
			}
			return stNX
		case dns.RcodeServerFailure:
			return stServfail
		case Timeout, dns.RcodeRefused:
			return stTimeout
		default:
			return stRefused
		}
	}
	if anyData {
		return stOK
	}
	return stNoData
}

// digStatus is dig's reading of its one reply.
func digStatus(r Reply) status {
	switch {
	case r.hasData():
		return stOK
	case r.Rcode == dns.RcodeSuccess:
		return stNoData
	case r.Rcode == dns.RcodeNameError:
		return stNX
	case r.Rcode == dns.RcodeServerFailure:
		return stServfail
	case r.Rcode == Timeout:
		return stTimeout
	}
	return stRefused
}

// glibcStatus is __res_context_query on what send_dg returned, when no
// reply has addresses: the accepted replies of the last round (an error or
// a missing reply beside an accepted one is dropped). The A reply decides,
// or the AAAA reply when the A reply is NOERROR. With no accepted reply: a
// timeout is TRY_AGAIN (ends the search list), SERVFAIL is TRY_AGAIN with
// SERVFAIL (the walk goes on), anything else NO_RECOVERY (ends the search
// list).
func glibcStatus(rs []Reply) status {
	var acc []Reply
	for _, r := range rs {
		if accepted(r) {
			acc = append(acc, r)
		}
	}
	if len(acc) > 0 {
		sel := acc[0]
		if len(acc) > 1 && sel.Rcode == dns.RcodeSuccess {
			sel = acc[1]
		}
		if sel.Rcode == dns.RcodeNameError {
			return stNX
		}
		return stNoData
	}
	switch sel := rs[0]; {
	case sel.Rcode == Timeout:
		return stTimeout
	case sel.Rcode == dns.RcodeServerFailure || sel.Lame:
		return stServfail
	}
	return stRefused
}

// goStatus is how the Go resolver reads a candidate's replies when none
// has addresses: the first timeout or error reply decides; without one, a
// SERVFAIL or lame reply outranks NODATA, which outranks NXDOMAIN.
func goStatus(rs []Reply) status {
	st := stNX
	for _, r := range rs {
		switch {
		case r.Rcode == Timeout:
			return stTimeout
		case r.Rcode == dns.RcodeServerFailure || r.Lame:
			st = stServfail
		case r.Rcode == dns.RcodeSuccess:
			if st == stNX {
				st = stNoData
			}
		case r.Rcode != dns.RcodeNameError:
			return stRefused
		}
	}
	return st
}

var statusWords = map[status]string{
	stNX: "NXDOMAIN", stNoData: "NODATA", stServfail: "SERVFAIL", stTimeout: "no reply",
	stRefused: "an error reply", stSkipped: "a name it cannot send", stMixedNX: "NXDOMAIN for one type and addresses for the other",
}

func (e *engine) resolved(c Candidate) bool {
	e.res.Resolved, e.res.ResolvedBy, e.res.Error = true, c.Name, ""
	e.res.Stop = fmt.Sprintf("%s answered with addresses", c.Name)
	if e.m.Call == Dig {
		e.res.Stop = fmt.Sprintf("%s answered", c.Name)
	}
	return true
}

// run walks the candidates as the client does; true when resolved.
func (e *engine) run(name string) bool {
	cands := Candidates(e.v, name, e.m)
	switch e.m.dialect() {
	case dialectMusl:
		return e.runMusl(name, cands)
	case dialectGo:
		return e.runGo(name, cands)
	case dialectDig:
		return e.runDig(cands)
	}
	return e.runGlibc(name, cands)
}

func remaining(cands []Candidate, i int) int { return len(cands) - i - 1 }

func (e *engine) giveUp(cands []Candidate, i int, st status, why string) {
	left := remaining(cands, i)
	if left > 0 && st != stNX && st != stOK {
		e.res.Flags = append(e.res.Flags, Flag{Kind: "gives-up-early", Query: len(e.res.Queries) - 1,
			Message: fmt.Sprintf("%s stops at %s on %s (%s): %d more candidate(s) never asked", e.m, cands[i].Name, statusWords[st], why, left)})
	}
}

// runGlibc is __res_context_search.
func (e *engine) runGlibc(name string, cands []Candidate) bool {
	if strings.HasSuffix(name, ".") {
		return e.runGlibcRooted(cands)
	}
	var s glibcSearch
	i := 0
	if !cands[0].Search {
		// dots >= ndots: the name as is first.
		st := e.try(cands, 0)
		if st == stOK {
			return e.resolved(cands[0])
		}
		s.saved = glibcHerrno[st]
		i = 1
	}
	i, resolved := e.glibcSearchList(cands, i, &s)
	if resolved {
		return true
	}
	for ; i < len(cands); i++ {
		st := e.try(cands, i)
		if st == stOK {
			return e.resolved(cands[i])
		}
		s.last = glibcHerrno[st]
	}
	e.res.Error = e.glibcError(s.herrno())
	e.res.Stop = fmt.Sprintf("every candidate failed (%d asked)", len(cands))
	return false
}

// glibcHerrno is the h_errno glibc's resolver sets for a candidate's
// status.
var glibcHerrno = map[status]string{stNX: "HOST_NOT_FOUND", stNoData: "NO_DATA", stServfail: "TRY_AGAIN", stTimeout: "TRY_AGAIN", stRefused: "NO_RECOVERY", stSkipped: "NO_RECOVERY"}

// glibcError is what the call returns for h_errno herrno: getaddrinfo
// turns it into an EAI_ code, the gethostbyname family returns it as is.
func (e *engine) glibcError(herrno string) string {
	if e.m.Call != GetAddrInfo {
		return herrno
	}
	switch herrno {
	case "TRY_AGAIN":
		return "EAI_AGAIN"
	case "NO_RECOVERY":
		return "EAI_FAIL"
	}
	return "EAI_NONAME"
}

// glibcSearch is what __res_context_search keeps across candidates to
// choose the h_errno of a lookup in which every candidate failed.
type glibcSearch struct {
	saved       string // of the name as is, when asked first (saved_herrno)
	gotNoData   bool   // a search name had no addresses (got_nodata)
	gotServfail bool   // a search name got SERVFAIL (got_servfail)
	last        string // of the last candidate asked
}

// herrno is the h_errno of the failed lookup: that of the name as is when
// it was asked first, else NO_DATA or TRY_AGAIN when a search name said
// so, else that of the last candidate.
func (s *glibcSearch) herrno() string {
	switch {
	case s.saved != "":
		return s.saved
	case s.gotNoData:
		return "NO_DATA"
	case s.gotServfail:
		return "TRY_AGAIN"
	}
	return s.last
}

// runGlibcRooted asks a name with a trailing dot, the only candidate.
func (e *engine) runGlibcRooted(cands []Candidate) bool {
	st := e.try(cands, 0)
	if st == stOK {
		return e.resolved(cands[0])
	}
	e.res.Error = e.glibcError(glibcHerrno[st])
	e.res.Stop = fmt.Sprintf("%s: %s, and a name with a trailing dot is asked only as is", cands[0].Name, statusWords[st])
	return false
}

// glibcSearchList asks the search names from cands[i] on, in order, and
// returns the index of the first candidate after them; resolved: one of
// them answered. NXDOMAIN, NODATA and SERVFAIL move on to the next; any
// other failure ends the search list.
func (e *engine) glibcSearchList(cands []Candidate, i int, s *glibcSearch) (next int, resolved bool) {
	for ; i < len(cands) && cands[i].Search; i++ {
		st := e.try(cands, i)
		if st == stOK {
			return i, e.resolved(cands[i])
		}
		s.last = glibcHerrno[st]
		switch st {
		case stNX:
		case stNoData:
			s.gotNoData = true
		case stServfail:
			s.gotServfail = true
		default:
			// A timeout, an error reply or a name it cannot encode; the
			// name as is is still asked if it comes last.
			return e.endSearchList(cands, i, st), false
		}
	}
	return i, false
}

// endSearchList flags the search names after cands[i] that glibc does not
// ask, having ended the search list there on st, and returns the index of
// the first candidate after the search names.
func (e *engine) endSearchList(cands []Candidate, i int, st status) (next int) {
	next = i + 1
	for next < len(cands) && cands[next].Search {
		next++
	}
	if rest := next - i - 1; rest > 0 {
		e.res.Flags = append(e.res.Flags, Flag{Kind: "gives-up-early", Query: len(e.res.Queries) - 1,
			Message: fmt.Sprintf("glibc ends the search list at %s on %s: %d more search domain(s) never asked", cands[i].Name, statusWords[st], rest)})
	}
	return next
}

// runMusl is name_from_dns_search: only NXDOMAIN moves on.
func (e *engine) runMusl(name string, cands []Candidate) bool {
	errs := map[status]string{stNoData: "EAI_NODATA", stServfail: "EAI_AGAIN", stTimeout: "EAI_AGAIN", stRefused: "EAI_FAIL"}
	if e.m.Call == GetHostByName {
		errs = map[status]string{stNoData: "NO_DATA", stServfail: "TRY_AGAIN", stTimeout: "TRY_AGAIN", stRefused: "NO_RECOVERY"}
	}
	for i, c := range cands {
		st := e.try(cands, i)
		switch st {
		case stOK:
			return e.resolved(c)
		case stNX, stSkipped:
			continue
		case stMixedNX:
			e.res.Flags = append(e.res.Flags, Flag{Kind: "skips-family", Query: len(e.res.Queries) - 1,
				Message: fmt.Sprintf("musl drops the addresses of %s because one of its replies is NXDOMAIN, and moves on: the server must answer NODATA, not NXDOMAIN, for the type a name lacks", c.Name)})
			continue
		}
		e.giveUp(cands, i, st, "musl moves on only after NXDOMAIN")
		e.res.Error = errs[st]
		e.res.Stop = fmt.Sprintf("%s: %s, and musl moves on only after NXDOMAIN", c.Name, statusWords[st])
		if st == stNoData {
			e.res.Stop += " (musl before 1.2.4 reports NODATA as not found)"
		}
		if c.Skip != "" {
			e.res.Stop = fmt.Sprintf("%s: %s; musl gives up with EAI_AGAIN after the timeout", c.Name, c.Skip)
		}
		return false
	}
	e.res.Error = "EAI_NONAME"
	if e.m.Call == GetHostByName {
		e.res.Error = "HOST_NOT_FOUND"
	}
	e.res.Stop = fmt.Sprintf("every candidate was NXDOMAIN (%d asked)", len(cands))
	return false
}

// runGo is goLookupIPCNAMEOrder: every failure moves on.
func (e *engine) runGo(name string, cands []Candidate) bool {
	first := ""
	for i, c := range cands {
		st := e.try(cands, i)
		if st == stOK {
			return e.resolved(c)
		}
		msg := "no such host"
		switch st {
		case stTimeout:
			msg = "i/o timeout"
		case stServfail:
			msg = "server misbehaving"
		case stRefused:
			msg = "server misbehaving"
		}
		if first == "" || c.Name == strings.TrimSuffix(name, ".")+"." {
			first = msg
		}
	}
	e.res.Error = first
	e.res.Stop = fmt.Sprintf("no candidate had addresses (%d asked); Go moves on after every failure", len(cands))
	return false
}

// runDig is dig +search: only NXDOMAIN moves on.
func (e *engine) runDig(cands []Candidate) bool {
	for i, c := range cands {
		st := e.try(cands, i)
		switch st {
		case stOK:
			return e.resolved(c)
		case stNX:
			continue
		}
		e.giveUp(cands, i, st, "dig +search moves on only after NXDOMAIN")
		e.res.Error = statusWords[st]
		e.res.Stop = fmt.Sprintf("%s: %s, and dig +search moves on only after NXDOMAIN", c.Name, statusWords[st])
		return false
	}
	e.res.Error = "NXDOMAIN"
	e.res.Stop = fmt.Sprintf("every candidate was NXDOMAIN (%d asked)", len(cands))
	return false
}

// finish counts the wasted packets and flags what the answers did.
func (e *engine) finish(name string) {
	r := &e.res
	target := r.ResolvedBy
	if target == "" {
		target = strings.TrimSuffix(name, ".") + "."
	}
	needed := map[uint16]bool{}
	for _, q := range r.Queries {
		if strings.EqualFold(q.Name, target) && !needed[q.Type] {
			needed[q.Type] = true
		}
	}
	r.Wasted = len(r.Queries) - len(needed)

	timeouts := 0
	for i, q := range r.Queries {
		switch {
		case q.Rcode == Timeout:
			timeouts++
			r.Flags = append(r.Flags, Flag{Kind: "timeout", Query: i, Message: fmt.Sprintf("no reply to %s %s: the client waits %s for it (with timeout:5, the 5 s stall)", dns.TypeToString[q.Type], q.Name, e.tryTimeout())})
		case q.Lame:
			r.Flags = append(r.Flags, Flag{Kind: "lame", Query: i, Message: fmt.Sprintf("%s %s: NOERROR without records, AA or RA: glibc and Go take it for a broken server and try again", dns.TypeToString[q.Type], q.Name)})
		case q.Rcode == dns.RcodeServerFailure:
			r.Flags = append(r.Flags, Flag{Kind: "server-error", Query: i, Message: fmt.Sprintf("SERVFAIL for %s %s: %s", dns.TypeToString[q.Type], q.Name, e.servfailMeans())})
		case q.Rcode == dns.RcodeRefused:
			r.Flags = append(r.Flags, Flag{Kind: "server-error", Query: i, Message: fmt.Sprintf("REFUSED for %s %s: %s", dns.TypeToString[q.Type], q.Name, e.refusedMeans())})
		}
	}
	// The same name answered NXDOMAIN for one type and NOERROR for another.
	seen := map[string]map[int]bool{}
	for _, q := range r.Queries {
		if q.Rcode == dns.RcodeNameError || q.Rcode == dns.RcodeSuccess {
			k := strings.ToLower(q.Name)
			if seen[k] == nil {
				seen[k] = map[int]bool{}
			}
			seen[k][q.Rcode] = true
		}
	}
	for i, q := range r.Queries {
		k := strings.ToLower(q.Name)
		if s := seen[k]; s != nil && s[dns.RcodeNameError] && s[dns.RcodeSuccess] {
			delete(seen, k)
			msg := fmt.Sprintf("%s is NXDOMAIN for one type and NOERROR for another: a server bug", q.Name)
			if e.m.Libc == Musl && e.m.Call != Dig {
				msg += "; musl then skips the family that had addresses"
			}
			r.Flags = append(r.Flags, Flag{Kind: "inconsistent-rcodes", Query: i, Message: msg})
		}
	}
}

// tryTimeout is how long the client waits for one try's reply.
func (e *engine) tryTimeout() time.Duration {
	if e.m.dialect() == dialectMusl {
		return e.v.Timeout / time.Duration(e.v.Attempts) // then it sends again
	}
	return e.v.Timeout
}

func (e *engine) servfailMeans() string {
	switch e.m.dialect() {
	case dialectMusl:
		return "musl asks again, then fails the whole lookup with EAI_AGAIN after the timeout"
	case dialectGo:
		return "Go tries the next server, then the next candidate"
	case dialectDig:
		return "dig +search stops here"
	}
	return "glibc tries the next server and attempt, then the next candidate"
}

func (e *engine) refusedMeans() string {
	switch e.m.dialect() {
	case dialectMusl:
		return "musl ignores the reply and waits for the timeout, then fails with EAI_AGAIN"
	case dialectGo:
		return "Go tries the next server, then the next candidate"
	case dialectDig:
		return "dig +search stops here"
	}
	return "glibc tries the next server; if all refuse, the search list ends"
}
