package controller

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// The index selects exactly the pods a scan of the namespace selects, in
// the same order.
func TestPodIndexSelectsAsAScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var pods []*cluster.Pod
	for i := range 500 {
		labels := map[string]string{}
		for range r.IntN(4) {
			labels[fmt.Sprint("k", r.IntN(3))] = fmt.Sprint("v", r.IntN(3))
		}
		pods = append(pods, &cluster.Pod{Name: fmt.Sprint("p", i), Namespace: fmt.Sprint("ns", r.IntN(3)), Labels: labels})
	}
	ix := NewPodIndex(pods)
	for range 2000 {
		sel := map[string]string{}
		for range r.IntN(4) {
			sel[fmt.Sprint("k", r.IntN(4))] = fmt.Sprint("v", r.IntN(4))
		}
		ns := fmt.Sprint("ns", r.IntN(4))
		var want []*cluster.Pod
		for _, p := range pods {
			if p.Namespace == ns && selectorMatches(sel, p.Labels) {
				want = append(want, p)
			}
		}
		if got := ix.Selected(ns, sel); !slices.Equal(got, want) {
			t.Fatalf("Selected(%s, %v): %d pods, want %d", ns, sel, len(got), len(want))
		}
	}
}
