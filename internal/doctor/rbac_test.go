package doctor

import (
	"context"
	"os"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"
)

// allows reports whether role grants verb on group/resource (resource
// may be "pods/proxy").
func allows(role *rbacv1.ClusterRole, group, resource, verb string) bool {
	for _, r := range role.Rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}

// deploy/doctor's ClusterRole grants every request the doctor makes, and
// nothing that writes: each API call of a full run (recorded by the fake
// client), the pod proxy and the API server's /metrics.
func TestDeployedRBACAllowsWhatTheDoctorReads(t *testing.T) {
	data, err := os.ReadFile("../../deploy/doctor/clusterrole.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatal(err)
	}
	c := healthy()
	client := fake.NewClientset(c.objects...)
	in, err := Read(context.Background(), client, "https://test", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.samplers(in)
	c.dnsServers(t, in)
	Run(context.Background(), in, Options{})
	seen := 0
	for _, a := range client.Actions() {
		res := a.GetResource()
		if !allows(&role, res.Group, res.Resource, a.GetVerb()) {
			t.Errorf("%s %s/%s is not granted", a.GetVerb(), res.Group, res.Resource)
		}
		seen++
	}
	if seen < 11 {
		t.Errorf("only %d API calls recorded", seen)
	}
	if !allows(&role, "", "pods/proxy", "get") {
		t.Error("pods/proxy get (the DNS pods' /metrics) is not granted")
	}
	if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
		return slices.Contains(r.NonResourceURLs, "/metrics") && slices.Contains(r.Verbs, "get")
	}) {
		t.Error("get /metrics (the API server's) is not granted")
	}
	for _, r := range role.Rules {
		for _, v := range r.Verbs {
			if v != "get" && v != "list" {
				t.Errorf("verb %s granted: the doctor only reads", v)
			}
		}
	}
}
