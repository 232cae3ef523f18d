package autopath

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/internal/server"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// Model answers one pod's questions as a server with autopath answers
// them, for dry runs: `clusterdns resolve --server-autopath` drives a
// resolver model with Answer, `explain --autopath` asks it about one name.
// It decides with the Expander's Decide and guard and walks with its Walk,
// answering every name, the question's and the steps', with the dry run's
// answer function (the record engine for the cluster zones). Its state is
// the guard's marks, as a server keeps them for one client, and the events.
type Model struct {
	x      *Expander
	snap   *zone.Snapshot
	answer func(name string, qtype uint16) (rcode, answers int)
	// Events has one entry per question answered, in order.
	Events []Event
}

// modelClient is the address the model's questions come from: one pod.
var modelClient = netip.MustParseAddrPort("10.244.0.10:40000")

// modelGuardFor is how long the model's marks last when cfg does not say:
// a dry run's lookup takes microseconds.
const modelGuardFor = time.Minute

// NewModel makes a model of a server with autopath configured as cfg,
// over snap, whose questions and steps are answered by answer (rcode, or
// NoAnswer for a name it cannot answer, and the number of answer
// records). cfg.Clients is ignored: the model's client is a pod.
func NewModel(cfg Config, snap *zone.Snapshot, answer func(name string, qtype uint16) (rcode, answers int)) (*Model, error) {
	cfg.Clients, cfg.Recorder = nil, nil
	if cfg.GuardFor <= 0 {
		cfg.GuardFor = modelGuardFor
	}
	x, err := New(cfg, nil)
	if err != nil {
		return nil, err
	}
	return &Model{x: x, snap: snap, answer: answer}, nil
}

// Asked is one step a walk asked, and its answer.
type Asked struct {
	Name           string
	Rcode, Answers int
}

// Event is what autopath did with one question.
type Event struct {
	Name  string // as asked
	Qtype uint16
	// Considered: the server hands the question to autopath (the cluster
	// zone answers it NXDOMAIN).
	Considered bool
	// Why is Decide's reason not to expand it ("" when expanded, or not
	// considered).
	Why string
	// Step is the question as a first step (when considered).
	Step Step
	// Walk is where the walk ended, Asked the steps it asked, Candidates
	// every name it could have asked (when expanded).
	Walk       Outcome
	Asked      []Asked
	Candidates []string
	// Rcode and Answers are what the client gets.
	Rcode, Answers int
	// Learned: what the event says holds once the server has seen the
	// client walk its search list on its own (Explain).
	Learned bool
}

// Expanded reports whether the server walked for the question.
func (ev *Event) Expanded() bool { return ev.Considered && ev.Why == "" }

// Answer answers a question of the client as the server with autopath
// would; it is a resolv.AnswerFunc.
func (m *Model) Answer(name string, qtype uint16) (int, int) {
	m.x.Observe(modelClient.Addr(), strings.ToLower(dns.Fqdn(name)))
	rcode, answers := m.answer(name, qtype)
	ev := m.decide(name, qtype, rcode, answers)
	m.Events = append(m.Events, ev)
	return ev.Rcode, ev.Answers
}

// Explain is what the server with autopath does with one question, not
// recorded in Events; on a new model, as the first question of a pod
// whose own walk the server has seen (Learned: a pod's first lookup in a
// namespace is not expanded, and says so).
func (m *Model) Explain(name string, qtype uint16) Event {
	rcode, answers := m.answer(name, qtype)
	ev := m.decide(name, qtype, rcode, answers)
	if ev.Why == Unverified && m.x.book != nil {
		m.x.book.know(modelClient.Addr(), ev.Step.Namespace, len(m.x.suffixesOf(ev.Step)))
		ev = m.decide(name, qtype, rcode, answers)
		ev.Learned = true
	}
	return ev
}

func (m *Model) decide(name string, qtype uint16, rcode, answers int) Event {
	ev := Event{Name: name, Qtype: qtype, Rcode: rcode, Answers: answers}
	canon := strings.ToLower(dns.Fqdn(name))
	if !server.Expandable(m.snap.Lookup(canon, qtype)) {
		return ev
	}
	ev.Considered = true
	q := &server.Question{Name: canon, Qtype: qtype, Qclass: dns.ClassINET, Remote: modelClient}
	client := modelClient.Addr()
	st, why := m.x.Decide(q, m.snap)
	m.x.declined(client, st, why)
	ev.Step, ev.Why = st, why
	if why != "" {
		return ev
	}
	ev.Candidates = m.x.Candidates(st)
	ev.Walk = m.x.Walk(st, func(step string) (int, int, bool) {
		rc, n := m.answer(step, qtype)
		ev.Asked = append(ev.Asked, Asked{Name: step, Rcode: rc, Answers: n})
		return rc, n, rc != NoAnswer
	})
	m.x.ended(client, st, ev.Walk)
	ev.Rcode, ev.Answers = ev.Walk.Reply(rcode, answers)
	return ev
}

// String says what autopath did, in a few words: why it did not expand
// the question, or where the walk ended and what the client gets.
func (ev *Event) String() string {
	o := ev.Walk
	switch {
	case !ev.Considered:
		return ""
	case ev.Why != "":
		return "not expanded: " + ev.Why
	case o.CNAME():
		return fmt.Sprintf("expanded: a CNAME to %s and its %d record(s), step %d of the walk", o.Name, o.Answers, o.Saved)
	case o.Expanded():
		return fmt.Sprintf("expanded: %s exists without %s records (NODATA), step %d of the walk", o.Name, typeName(ev.Qtype), o.Saved)
	case o.Name == "":
		return fmt.Sprintf("walked %d name(s), none exists: the NXDOMAIN stays", len(ev.Asked))
	case o.Rcode == NoAnswer:
		return fmt.Sprintf("the walk has no answer for %s: the NXDOMAIN stays", o.Name)
	}
	return fmt.Sprintf("the walk stops at %s (%s): the NXDOMAIN stays", o.Name, rcodeName(o.Rcode))
}

func typeName(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}

func rcodeName(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rc)
}
