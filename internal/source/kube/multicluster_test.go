package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/clusterdns/clusterdns/internal/kubeconv"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/miekg/dns"
)

// serviceImport is an unstructured ServiceImport, as the dynamic client
// gives it.
func serviceImport(name, typ string, ips ...any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceImport",
		"metadata": map[string]any{"name": name, "namespace": "default", "resourceVersion": "1"},
		"spec": map[string]any{"type": typ, "ips": ips,
			"ports": []any{map[string]any{"name": "http", "port": int64(80), "protocol": "TCP"}}},
	}}
}

func mcsSlice(svc, cluster string, addrs ...string) *discoveryv1.EndpointSlice {
	es := slice(svc, svc+"-"+cluster, time.Now(), addrs...)
	es.Labels = map[string]string{kubeconv.LabelImportServiceName: svc, kubeconv.LabelSourceCluster: cluster}
	return es
}

// With Options.Multicluster the source reads ServiceImports and their
// MCS EndpointSlices into the multicluster zone, and not into the
// cluster zone.
func TestMulticlusterReadsServiceImports(t *testing.T) {
	client := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
		mcsSlice("db", "east", "10.1.0.5", "10.1.0.6"), mcsSlice("api", "west", "10.2.0.9"))
	client.Resources = []*metav1.APIResourceList{{GroupVersion: kubeconv.ServiceImportGroupVersion.String(),
		APIResources: []metav1.APIResource{{Name: "serviceimports", Namespaced: true, Kind: "ServiceImport"}}}}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{kubeconv.ServiceImportResource: "ServiceImportList"},
		serviceImport("db", "Headless"), serviceImport("api", "ClusterSetIP", "10.42.0.1"))
	src := NewForClient(client, "fake", Options{Multicluster: true})
	src.SetDynamic(dyn)
	z := zone.DefaultOptions()
	z.Zones = []string{"cluster.local.", "clusterset.local."}
	z.MulticlusterZones = []string{"clusterset.local."}
	empty, err := zone.Empty(z)
	if err != nil {
		t.Fatal(err)
	}
	sink := &recordingSink{snap: empty}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, sink) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitAnswer(t, sink, "db.default.svc.clusterset.local.", dns.TypeA, "NOERROR A 10.1.0.5, A 10.1.0.6")
	waitAnswer(t, sink, "db-0.east.db.default.svc.clusterset.local.", dns.TypeA, "NOERROR A 10.1.0.5")
	waitAnswer(t, sink, "api.default.svc.clusterset.local.", dns.TypeA, "NOERROR A 10.42.0.1")
	waitAnswer(t, sink, "db.default.svc.cluster.local.", dns.TypeA, "NXDOMAIN ")
}

// Multicluster zones without the ServiceImport CRD stop the source with
// an error that says so, rather than waiting for a sync that never comes.
func TestMulticlusterWithoutTheCRDSaysSo(t *testing.T) {
	client := fake.NewClientset()
	src := NewForClient(client, "fake", Options{Multicluster: true})
	src.SetDynamic(dynamicfake.NewSimpleDynamicClient(runtime.NewScheme()))
	err := src.Run(context.Background(), &recordingSink{})
	if err == nil || !strings.Contains(err.Error(), "ServiceImport CRD") || !strings.Contains(err.Error(), "multicluster.x-k8s.io/v1alpha1") {
		t.Fatalf("Run = %v, want an error naming the missing CRD", err)
	}
}
