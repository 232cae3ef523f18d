package manifest

import (
	"slices"
	"testing"
)

// TestFieldProblemsAreDecodeErrors: FieldProblems returns exactly the value
// errors Decode reports for an object, as the same *Error text, with the
// field path.
func TestFieldProblemsAreDecodeErrors(t *testing.T) {
	const data = `apiVersion: v1
kind: Service
metadata:
  name: Web_1
  namespace: Prod
spec:
  clusterIP: None
  ports:
    - name: Http
      port: 70000
      targetPort: a-very-long-port-name
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  selector:
    matchLabels: {app: d}
  template:
    metadata:
      labels: {app: d}
    spec:
      hostname: Host_1
      subdomain: sub.domain
      dnsPolicy: None
      containers:
        - name: c
          image: i
          ports:
            - name: p--q
              containerPort: 80
`
	objs, err := Decode("m.yaml", []byte(data))
	var decoded []string
	for _, e := range Errors(err) {
		decoded = append(decoded, e.Error())
	}
	var got, paths []string
	for i := range objs {
		for _, p := range objs[i].FieldProblems() {
			got = append(got, p.Err.Error())
			paths = append(paths, p.Path)
		}
	}
	slices.Sort(decoded)
	slices.Sort(got)
	if !slices.Equal(got, decoded) {
		t.Errorf("FieldProblems:\n  %q\nDecode:\n  %q", got, decoded)
	}
	for _, want := range []string{
		"metadata.name", "metadata.namespace", "spec.ports[0].name", "spec.ports[0].port", "spec.ports[0].targetPort",
		"spec.template.spec.hostname", "spec.template.spec.subdomain", "spec.template.spec.containers[0].ports[0].name",
		"spec.template.spec.dnsConfig.nameservers",
	} {
		if !slices.Contains(paths, want) {
			t.Errorf("no problem at %s; have %q", want, paths)
		}
	}
}

func TestDeriveKeepsStateOnProblems(t *testing.T) {
	objs, err := Decode("m.yaml", []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Derive(objs, DefaultOptions())
	if err == nil || st == nil || len(st.Services) != 3 { // a, b and the API server's
		t.Fatalf("Derive: %v, state %+v", err, st)
	}
	if errs := Errors(err); len(errs) != 1 || errs[0].Line != 6 {
		t.Errorf("errors: %v", errs)
	}
}
