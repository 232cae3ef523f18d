package cli

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb syncBuffer
	code = Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestExplainExitCodes(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"explain", "web-0.web.default.svc.cluster.local"}, 0, "NOERROR"},
		{[]string{"explain", "_peer._tcp.web.default.svc.cluster.local", "SRV"}, 0, "SRV"},
		{[]string{"explain", "web.default.svc.cluster.local."}, 0, "web exists (headless)"}, // was "(ClusterIP)"
		{[]string{"explain", "cache-0.cache.default.svc.cluster.local"}, 1, "pod-subdomain-mismatch"},
		{[]string{"explain", "web-2.web.default.svc.cluster.local"}, 1, "pod-not-ready"},
		{[]string{"explain", "service", "default/web"}, 1, "web-2.web.default.svc.cluster.local."},
		{[]string{"explain", "pod", "default/web-0"}, 0, "web-0.web.default.svc.cluster.local."},
		{[]string{"explain", "web.default.svc.cluster.local", "BOGUS"}, 2, "unknown query type"},
		{[]string{"explain", "pod", "nonsense"}, 2, "NAMESPACE/NAME"},
		{[]string{"explain", "pod", "default/ghost"}, 2, "no Pod default/ghost"},
		{[]string{"explain", "--manifests", "/nonexistent", "x.default.svc.cluster.local"}, 2, "nonexistent"},
		{[]string{"explain", "-o", "yaml", "x"}, 2, "--output"},
		// Usage errors and names no resolver could send are 2, as the
		// help says, not "does not resolve".
		{[]string{"explain"}, 2, "accepts between 1 and 2 arg(s)"},
		{[]string{"explain", "a", "A", "extra"}, 2, "accepts between 1 and 2 arg(s)"},
		{[]string{"explain", "--bogus", "x"}, 2, "unknown flag"},
		{[]string{"explain", "a..b"}, 2, "label 2 is empty"},
		{[]string{"explain", strings.Repeat("a", 300) + ".default.svc.cluster.local"}, 2, "at most 63"},
		{[]string{"explain", strings.Repeat("abcdefgh.", 30) + "cluster.local"}, 2, "at most 253"},
		// --autopath: what a server with autopath answers instead of an
		// NXDOMAIN of the first step's shape, or why it does not expand it.
		{[]string{"explain", "--autopath", "--autopath-node-search", "corp.internal", "www.example.com.default.svc.cluster.local."}, 1,
			"then it asks www.example.com.corp.internal., www.example.com., outside the cluster zone (forwarded)"},
		{[]string{"explain", "--autopath", "web-2.web.default.svc.cluster.local."}, 1,
			"the server does not expand web-2.web.default.svc.cluster.local.: the name is under an existing Service"},
		{[]string{"explain", "--autopath", "--autopath-exclude-namespace", "default", "x.default.svc.cluster.local."}, 1,
			"the namespace is excluded from autopath"},
		{[]string{"explain", "--autopath-ndots", "3", "x.default.svc.cluster.local."}, 2, "--autopath-ndots goes with --autopath"},
		{[]string{"explain", "--autopath", "--autopath-ndots", "16", "x.default.svc.cluster.local."}, 2, "ndots 16 out of range"},
	} {
		code, out, errOut := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("%v: exit %d, want %d; output lacks %q?\n%s\n%s", c.args, code, c.code, c.want, out, errOut)
		}
	}
}

func TestExplainJSON(t *testing.T) {
	code, out, _ := runCLI(t, "explain", "-o", "json", "cache-0.cache.default.svc.cluster.local")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var r struct {
		Name   string `json:"name"`
		Type   string `json:"type"`
		Rcode  string `json:"rcode"`
		Answer []string
		Path   []map[string]string
		Causes []struct{ Code, Severity, Object, Field, Message, Fix string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Name != "cache-0.cache.default.svc.cluster.local." || r.Type != "A" || r.Rcode != "NXDOMAIN" || len(r.Path) == 0 {
		t.Errorf("unexpected %+v", r)
	}
	if len(r.Causes) == 0 || r.Causes[0].Code != "pod-subdomain-mismatch" || r.Causes[0].Field != "spec.subdomain" || r.Causes[0].Fix == "" {
		t.Errorf("causes %+v", r.Causes)
	}
}

// --server: the same state agrees; a server serving other (stale) manifests
// disagrees; a closed port is unreachable.
func TestExplainServer(t *testing.T) {
	addr, _, _ := startServe(t)
	code, out, _ := runCLI(t, "explain", "--server", addr, "-o", "json", "web-0.web.default.svc.cluster.local")
	if code != 0 || !strings.Contains(out, `"agrees": true`) {
		t.Errorf("same state: exit %d\n%s", code, out)
	}

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "old.yaml"), `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  clusterIP: None
  ports:
    - name: http
      port: 80
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-old
  namespace: default
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
ports:
  - name: http
    port: 80
endpoints:
  - addresses: ["10.9.9.9"]
    hostname: web-0
`)
	stale, _, _ := startServe(t, "--manifests", dir)
	code, out, _ = runCLI(t, "explain", "--server", stale, "web-0.web.default.svc.cluster.local")
	if code != 1 || !strings.Contains(out, "server-disagrees") || !strings.Contains(out, "DISAGREES") {
		t.Errorf("stale server: exit %d\n%s", code, out)
	}

	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.LocalAddr().String()
	ln.Close()
	code, out, _ = runCLI(t, "explain", "--server", closed, "--timeout", "200ms", "web-0.web.default.svc.cluster.local")
	if code != 1 || !strings.Contains(out, "server-unreachable") {
		t.Errorf("unreachable server: exit %d\n%s", code, out)
	}
}
