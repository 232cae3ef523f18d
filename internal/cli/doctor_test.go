package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/doctor"
)

// doctor against an API server that has no cluster DNS: exit 1, the JSON
// report says why (dns.found at error), and what it could not read is
// "not run" with the reason, not a silent pass.
func TestDoctorWithoutClusterDNS(t *testing.T) {
	api := startFakeAPI(t)
	code, out, errOut := runCLI(t, "doctor", "--kubeconfig", api.kubeconfig(t), "-o", "json", "--metrics-window", "10ms")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	var r doctor.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	statuses := map[string]doctor.Status{}
	var found *doctor.Check
	for i, c := range r.Checks {
		statuses[c.ID] = c.Status
		if c.ID == "dns.found" {
			found = &r.Checks[i]
		}
	}
	if found == nil || found.Status != doctor.StatusFail || found.Findings[0].Code != "dns-service-missing" {
		t.Errorf("dns.found: %+v", found)
	}
	if statuses["dns.replicas"] != doctor.StatusNotRun || statuses["controlplane.list-latency"] != doctor.StatusNotRun {
		t.Errorf("statuses %v", statuses)
	}
	if !strings.Contains(errOut, "doctor: listing nodes") {
		t.Errorf("no progress on stderr: %s", errOut)
	}
}

func TestDoctorUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"doctor", "-o", "yaml", "--kubeconfig", "x"}, `--output "yaml"`},
		{[]string{"doctor", "--context", "c"}, "--context needs --kubeconfig"},
		{[]string{"doctor", "--dns-via", "carrier-pigeon", "--kubeconfig", "x"}, `--dns-via "carrier-pigeon"`},
		{[]string{"doctor", "extra"}, "unknown command"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %s", tc.args, code, errOut)
		}
	}
}
