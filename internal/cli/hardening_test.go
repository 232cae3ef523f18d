package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// childEnv, when set in the environment, makes the test binary run
// clusterdns itself (see TestMain): a JSON object with the arguments and
// the file limit to set first. Tests that need a process of its own (a
// file limit, a crash to survive) run it so.
const childEnv = "CLUSTERDNS_TEST_CHILD"

type childSpec struct {
	Args      []string `json:"args"`
	FileLimit uint64   `json:"fileLimit"`
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		var c childSpec
		if err := json.Unmarshal([]byte(spec), &c); err != nil {
			fmt.Fprintln(os.Stderr, "bad", childEnv, err)
			os.Exit(2)
		}
		if c.FileLimit > 0 {
			rl := syscall.Rlimit{Cur: c.FileLimit, Max: c.FileLimit}
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
				fmt.Fprintln(os.Stderr, "setrlimit:", err)
				os.Exit(2)
			}
		}
		// As cmd/clusterdns: SIGTERM and SIGINT end the context.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, c.Args, os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// child is a clusterdns process run from the test binary.
type child struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	log  *syncBuffer
	done chan error
}

func startChild(t *testing.T, fileLimit uint64, args ...string) *child {
	t.Helper()
	spec, _ := json.Marshal(childSpec{Args: args, FileLimit: fileLimit})
	c := &child{out: &syncBuffer{}, log: &syncBuffer{}, done: make(chan error, 1)}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

// exited reports the child's end, if it has ended.
func (c *child) exited() (error, bool) {
	select {
	case err := <-c.done:
		c.done <- err
		return err, true
	default:
		return nil, false
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitServing waits for the child to print where it serves DNS.
func (c *child) waitServing(t *testing.T) string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := servingRE.FindStringSubmatch(c.out.String()); m != nil {
			return m[1]
		}
		if err, ok := c.exited(); ok {
			t.Fatalf("clusterdns exited (%v):\n%s", err, c.log.String())
		}
	}
	t.Fatalf("clusterdns did not start:\n%s", c.log.String())
	return ""
}

// Under a hard limit of 256 open files, floods of idle DNS TCP
// connections and of idle HTTP keep-alive connections neither stop the
// process nor lock out new clients: UDP is answered, a new TCP client is
// answered, /health answers. Before, accept's EMFILE ended the process
// (exit 1), and HTTP connections had no cap or idle timeout.
func TestServeSurvivesDescriptorExhaustion(t *testing.T) {
	health, metrics := freeAddr(t), freeAddr(t)
	c := startChild(t, 256, "serve", "--listen", "127.0.0.1:0", "--health-addr", health, "--metrics-addr", metrics)
	addr := c.waitServing(t)
	if !strings.Contains(c.log.String(), "lowered to fit the file descriptor limit") {
		t.Errorf("the TCP cap was not fitted to the file limit:\n%s", c.log.String())
	}

	var held []net.Conn
	defer func() {
		for _, h := range held {
			h.Close()
		}
	}()
	for range 600 {
		h, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			continue // the backlog may be full while the server catches up
		}
		held = append(held, h)
	}
	for _, a := range []string{health, metrics} {
		path := "/health"
		if a == metrics {
			path = "/metrics"
		}
		for range 300 {
			h, err := net.DialTimeout("tcp", a, time.Second)
			if err != nil {
				continue
			}
			held = append(held, h)
			// One request, then the connection is held idle (keep-alive).
			fmt.Fprintf(h, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		}
	}
	time.Sleep(200 * time.Millisecond)

	if err, ok := c.exited(); ok {
		t.Fatalf("clusterdns exited under the flood (%v):\n%s", err, tail(c.log.String(), 20))
	}
	if r := query(t, addr, "web.default.svc.cluster.local.", dns.TypeA); len(r.Answer) == 0 {
		t.Errorf("UDP: no answer under the flood")
	}
	tcpOK := false
	for try := 0; try < 5 && !tcpOK; try++ {
		cl := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
		m := new(dns.Msg)
		m.SetQuestion("web.default.svc.cluster.local.", dns.TypeA)
		r, _, err := cl.Exchange(m, addr)
		tcpOK = err == nil && len(r.Answer) > 0
	}
	if !tcpOK {
		t.Errorf("TCP: a new client was not answered under the flood")
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Get("http://" + health + "/health")
	if err != nil {
		t.Errorf("/health under the flood: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("/health under the flood: %d", resp.StatusCode)
		}
	}
	if err, ok := c.exited(); ok {
		t.Fatalf("clusterdns exited under the flood (%v):\n%s", err, tail(c.log.String(), 20))
	}
	if n := strings.Count(c.log.String(), "connection cap reached"); n > 3 {
		t.Errorf("%d log lines about the cap: not rate-limited", n)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// hostileManifests are inputs that once crashed or bloated the loader.
var hostileManifests = map[string]string{
	// A sequence that contains itself.
	"self-alias.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: &a [*a]\n",
	// A mapping whose labels are the mapping.
	"self-meta.yaml": "apiVersion: v1\nkind: Service\nmetadata: &m\n  name: x\n  labels: *m\n",
	// A million nested arrays.
	"deep.json": strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000),
}

// A manifest that once crashed the loader is an error naming its file and
// line, at start: serve exits 1 with the error, it does not crash.
func TestServeRefusesHostileManifests(t *testing.T) {
	for name, content := range hostileManifests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, name), content)
			c := startChild(t, 0, "serve", "--manifests", dir, "--listen", "127.0.0.1:0", "--health-addr", "", "--metrics-addr", "")
			select {
			case err := <-c.done:
				c.done <- err
				ee, ok := err.(*exec.ExitError)
				if !ok || ee.ExitCode() != 1 {
					t.Fatalf("exit %v, want 1:\n%s", err, tail(c.log.String(), 10))
				}
			case <-time.After(30 * time.Second):
				t.Fatal("serve neither failed nor stopped")
			}
			log := c.log.String()
			if !strings.Contains(log, name+":") || strings.Contains(log, "goroutine ") || len(log) > 4096 {
				t.Errorf("want a short error naming %s and its line:\n%s", name, tail(log, 10))
			}
		})
	}
}

// The same inputs dropped into a served directory are reload errors: the
// process keeps serving the last good state.
func TestServeReloadSurvivesHostileManifests(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "db.yaml"), strings.Replace(reloadService, "%s", "10.96.0.50", 1))
	c := startChild(t, 0, "serve", "--manifests", dir, "--listen", "127.0.0.1:0", "--health-addr", "", "--metrics-addr", "", "--reload-delay", "20ms")
	addr := c.waitServing(t)
	for name, content := range hostileManifests {
		writeFile(t, filepath.Join(dir, name), content)
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(c.log.String(), name+":") && time.Now().Before(deadline) {
			if err, ok := c.exited(); ok {
				t.Fatalf("%s: clusterdns exited (%v):\n%s", name, err, tail(c.log.String(), 10))
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(c.log.String(), "reload failed") || !strings.Contains(c.log.String(), name+":") {
			t.Fatalf("%s: no reload error naming the file:\n%s", name, tail(c.log.String(), 10))
		}
		if got := answers(query(t, addr, "db.default.svc.cluster.local.", dns.TypeA)); strings.Join(got, "|") != "A 10.96.0.50" {
			t.Fatalf("%s: db A = %v after the bad reload, want the last good state", name, got)
		}
		os.Remove(filepath.Join(dir, name))
	}
}

// A served directory that is removed and made again is followed again;
// while it is gone, /ready says why and the last good state is served.
// Before, the watch was lost for good after two log lines.
func TestServeFollowsARecreatedDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "manifests")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "db.yaml"), strings.Replace(reloadService, "%s", "10.96.0.50", 1))
	health := freeAddr(t)
	c := startChild(t, 0, "serve", "--manifests", dir, "--listen", "127.0.0.1:0", "--health-addr", health, "--metrics-addr", "", "--reload-delay", "20ms")
	addr := c.waitServing(t)
	ready := func() (int, string) {
		resp, err := http.Get("http://" + health + "/ready")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if ok() {
				return
			}
		}
		code, body := ready()
		t.Fatalf("%s: timed out; /ready %d %q\n%s", what, code, body, tail(c.log.String(), 10))
	}
	if code, _ := ready(); code != 200 {
		t.Fatalf("/ready %d at start", code)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	waitFor("/ready 503 while the directory is gone", func() bool {
		code, body := ready()
		return code == 503 && strings.Contains(body, "not following")
	})
	if got := answers(query(t, addr, "db.default.svc.cluster.local.", dns.TypeA)); strings.Join(got, "|") != "A 10.96.0.50" {
		t.Fatalf("db A = %v while the directory is gone, want the last good state", got)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "db.yaml"), strings.Replace(reloadService, "%s", "10.96.0.51", 1))
	waitFor("the recreated directory's state served", func() bool {
		return strings.Join(answers(query(t, addr, "db.default.svc.cluster.local.", dns.TypeA)), "|") == "A 10.96.0.51"
	})
	// And it is watched again: a later edit is picked up.
	writeFile(t, filepath.Join(dir, "db.yaml"), strings.Replace(reloadService, "%s", "10.96.0.52", 1))
	waitFor("an edit in the recreated directory", func() bool {
		return strings.Join(answers(query(t, addr, "db.default.svc.cluster.local.", dns.TypeA)), "|") == "A 10.96.0.52"
	})
	waitFor("/ready 200 again", func() bool { code, _ := ready(); return code == 200 })
	for _, want := range []string{"stopped following the manifests", "following the manifests again"} {
		if n := strings.Count(c.log.String(), want); n != 1 {
			t.Errorf("%d log lines %q, want one per change of state", n, want)
		}
	}
}
