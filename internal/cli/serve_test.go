package cli

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var servingRE = regexp.MustCompile(`on (127\.0\.0\.1:\d+) \(UDP and TCP\)`)

// startServe runs "clusterdns serve ARGS --listen 127.0.0.1:0" in-process and
// returns the address it serves on, its stdout and its log.
func startServe(t *testing.T, args ...string) (addr string, out, log *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, log = &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		full := append([]string{"serve"}, args...)
		// Every listener on a free port: a default one (ready :8181 from a
		// Corefile) may be taken by another test or process.
		for _, flag := range []string{"--listen", "--health-addr", "--metrics-addr", "--ready-addr"} {
			if !slices.Contains(args, flag) {
				full = append(full, flag, "127.0.0.1:0")
			}
		}
		done <- Main(ctx, full, strings.NewReader(""), out, log)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("serve did not stop")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingRE.FindStringSubmatch(out.String()); m != nil {
			return m[1], out, log
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d:\n%s", code, log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start:\n%s\n%s", out.String(), log.String())
	return "", nil, nil
}

func query(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	return r
}

func answers(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		f := strings.Split(rr.String(), "\t")
		out = append(out, f[3]+" "+f[4])
	}
	sort.Strings(out)
	return out
}

func TestServeEmbeddedExample(t *testing.T) {
	addr, out, _ := startServe(t)
	for _, c := range []struct {
		name  string
		qtype uint16
		rcode int
		want  []string
	}{
		{"web.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 10.244.0.4", "A 10.244.0.5"}},
		{"_peer._tcp.web.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{"SRV 0 50 7000 web-0.web.default.svc.cluster.local.", "SRV 0 50 7000 web-1.web.default.svc.cluster.local."}},
		{"_http._tcp.web.default.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{"SRV 0 50 8080 web-0.web.default.svc.cluster.local.", "SRV 0 50 8080 web-1.web.default.svc.cluster.local."}},
		{"web-0.web.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 10.244.0.4"}},
		{"web-2.web.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil},
		{"billing.default.svc.cluster.local.", dns.TypeCNAME, dns.RcodeSuccess, []string{"CNAME billing.example.com."}},
		{"primary.legacy.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 192.168.5.10"}},
		{"192-168-5-11.legacy.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 192.168.5.11"}},
		{"cache.default.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{"A 10.244.0.3"}},
		{"cache-0.cache.default.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil},
	} {
		r := query(t, addr, c.name, c.qtype)
		if r.Rcode != c.rcode || strings.Join(answers(r), "|") != strings.Join(c.want, "|") {
			t.Errorf("%s %s: %s %v, want %s %v", c.name, dns.TypeToString[c.qtype], dns.RcodeToString[r.Rcode], answers(r), dns.RcodeToString[c.rcode], c.want)
		}
	}
	r := query(t, addr, "api.default.svc.cluster.local.", dns.TypeA)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("api: %v", r)
	}
	// The banner's dig commands all get answers.
	digRE := regexp.MustCompile(`dig @\S+ -p \d+ (\S+) (\S+)`)
	lines := digRE.FindAllStringSubmatch(out.String(), -1)
	if len(lines) < 4 {
		t.Fatalf("banner has %d dig commands:\n%s", len(lines), out.String())
	}
	for _, l := range lines {
		r := query(t, addr, l[2], dns.StringToType[l[1]])
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			t.Errorf("banner command %q gets no answer: %v", l[0], r)
		}
	}
}

// The README's promise, with the real dig: skipped where dig is missing
// (.ci/run installs it).
func TestServeAnswersDig(t *testing.T) {
	dig, err := exec.LookPath("dig")
	if err != nil {
		t.Skip("dig not installed")
	}
	addr, _, _ := startServe(t)
	host, port, _ := strings.Cut(addr, ":")
	for _, args := range [][]string{
		{"SRV", "_peer._tcp.web.default.svc.cluster.local"},
		{"+tcp", "SRV", "_peer._tcp.web.default.svc.cluster.local"},
	} {
		cmd := exec.Command(dig, append([]string{"@" + host, "-p", port, "+short"}, args...)...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("dig %v: %v\n%s", args, err, b)
		}
		got := strings.Fields(string(b))
		if len(got) != 8 || got[3] != "web-0.web.default.svc.cluster.local." && got[7] != "web-0.web.default.svc.cluster.local." {
			t.Errorf("dig %v printed %q", args, b)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	// Write then rename, as editors and kubectl-style tools do.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

const reloadService = `apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: default
spec:
  clusterIP: %s
  ports:
    - name: pg
      port: 5432
`

func TestServeReloadsAndKeepsLastGoodState(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "db.yaml")
	writeFile(t, file, strings.Replace(reloadService, "%s", "10.96.0.50", 1))
	addr, _, log := startServe(t, "--manifests", dir, "--reload-delay", "20ms")
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		var got []string
		for time.Now().Before(deadline) {
			got = answers(query(t, addr, "db.default.svc.cluster.local.", dns.TypeA))
			if strings.Join(got, "|") == want {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("db A = %v, want %s\nlog:\n%s", got, want, log.String())
	}
	waitFor("A 10.96.0.50")
	writeFile(t, file, strings.Replace(reloadService, "%s", "10.96.0.51", 1))
	waitFor("A 10.96.0.51")

	// A broken edit: logged with file and line, last good state kept.
	writeFile(t, file, "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\nspec:\n  ports: [\n")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.String(), "reload failed") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "reload failed") || !strings.Contains(log.String(), "db.yaml") {
		t.Fatalf("broken edit not reported with its file:\n%s", log.String())
	}
	waitFor("A 10.96.0.51")

	// A new file in the directory is picked up.
	writeFile(t, filepath.Join(dir, "db.yaml"), strings.Replace(reloadService, "%s", "10.96.0.52", 1))
	waitFor("A 10.96.0.52")
}

func TestServeRefusesBrokenManifests(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.yaml")
	writeFile(t, file, "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n    - port: eighty\n")
	var out, log syncBuffer
	code := Main(context.Background(), []string{"serve", "--manifests", dir, "--listen", "127.0.0.1:0"}, strings.NewReader(""), &out, &log)
	if code == 0 {
		t.Fatal("serve exited 0 on a broken manifest")
	}
	if !strings.Contains(log.String(), "bad.yaml:7") {
		t.Errorf("error does not name file and line:\n%s", log.String())
	}
	if strings.Contains(out.String(), "serving") {
		t.Errorf("served despite the error:\n%s", out.String())
	}
}

func TestServeFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--ttl", "4000"},
		{"serve", "--pod-records", "maybe"},
		{"serve", "--pod-cidr", "10.0.0.0/99"},
		{"serve", "--zone", "in-addr.arpa"},
		{"serve", "--listen", "256.0.0.1:53"},
		{"serve", "--manifests", "/nonexistent/path"},
		{"serve", "--gc-percent", "-1"},
		{"serve", "--heap-margin", "-0.1"},
		{"serve", "--log-queries", "2"},
		{"serve", "--max-udp-size", "100"},
		{"serve", "--max-udp-size", "70000"},
		{"serve", "--tcp-max-conns", "0"},
		{"serve", "--tcp-idle-timeout", "0s"},
		{"serve", "--tcp-message-timeout", "-1s"},
		{"serve", "--tcp-max-pending", "0"},
		{"serve", "--http-max-conns", "0"},
		{"serve", "--manifest-max-bytes", "0"},
		{"serve", "--manifest-max-values", "-5"},
	} {
		var out, log syncBuffer
		if code := Main(context.Background(), args, strings.NewReader(""), &out, &log); code == 0 {
			t.Errorf("%v: exit 0", args)
		} else if !strings.Contains(log.String(), "clusterdns:") {
			t.Errorf("%v: no error message: %s", args, log.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var out, log syncBuffer
	if code := Main(context.Background(), []string{"version"}, nil, &out, &log); code != 0 || !strings.HasPrefix(out.String(), "clusterdns ") {
		t.Errorf("version: %d %q %q", code, out.String(), log.String())
	}
}

// On SIGTERM with --lameduck, /ready turns 503 while queries are still
// answered, then serve exits.
func TestServeLameduck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	health := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	out, log := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--health-addr", health, "--metrics-addr", "", "--lameduck", "500ms"}, strings.NewReader(""), out, log)
	}()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := servingRE.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("serve did not start:\n%s", log.String())
	}
	status := func() int {
		resp, err := http.Get("http://" + health + "/ready")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := status(); s != 200 {
		t.Fatalf("/ready = %d before shutdown", s)
	}
	cancel()
	time.Sleep(100 * time.Millisecond)
	if s := status(); s != http.StatusServiceUnavailable {
		t.Errorf("/ready = %d during lame duck, want 503", s)
	}
	if r := query(t, addr, "web.default.svc.cluster.local.", dns.TypeA); len(r.Answer) == 0 {
		t.Errorf("no answer during lame duck")
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not exit after the lame duck period")
	}
}
