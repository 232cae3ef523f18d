package lint

import (
	"strings"
	"testing"
)

// Review of 2026-11, row 7: whether a pod is in DNS only because of
// publishNotReadyAddresses is the EndpointSlice controller's rule
// (controller.Membership): a terminating pod counts, though its Ready
// condition is still true (lint used to skip it).
func TestPublishNotReadyCountsTerminatingAsTheController(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "db.yaml", `apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    app: db
  ports:
    - name: pg
      port: 5432
---
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  labels:
    app: db
  deletionTimestamp: "2026-01-01T00:00:00Z"
spec:
  hostname: db-0
  subdomain: db
  containers:
    - name: db
      image: postgres
status:
  phase: Running
  podIP: 10.244.0.9
  conditions:
    - type: Ready
      status: "True"
`)
	rep := lintPaths(t, Options{}, dir)
	found := false
	for _, f := range rep.Findings {
		if f.Rule == RulePublishNotReady {
			found = true
			if !strings.Contains(f.Message, "pod db-0 is terminating") {
				t.Errorf("message does not name the terminating pod: %s", f.Message)
			}
		}
	}
	if !found {
		t.Fatalf("no %s finding:\n%s", RulePublishNotReady, text(rep))
	}
}
