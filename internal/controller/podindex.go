package controller

import "github.com/clusterdns/clusterdns/internal/cluster"

// PodIndex finds the pods a label selector selects without scanning every
// pod of the namespace: pods are indexed by namespace and by each label
// pair, and a selector is matched only against the pods holding its
// rarest pair. With a Service per workload, scanning made deriving
// slices (and lint's selector checks) quadratic in the objects.
type PodIndex struct {
	byNS   map[string][]*cluster.Pod
	byPair map[podLabel][]*cluster.Pod
}

type podLabel struct{ namespace, key, value string }

// NewPodIndex indexes pods; each namespace keeps the order pods are given in.
func NewPodIndex(pods []*cluster.Pod) *PodIndex {
	ix := &PodIndex{byNS: map[string][]*cluster.Pod{}, byPair: map[podLabel][]*cluster.Pod{}}
	for _, p := range pods {
		ix.byNS[p.Namespace] = append(ix.byNS[p.Namespace], p)
		for k, v := range p.Labels {
			l := podLabel{p.Namespace, k, v}
			ix.byPair[l] = append(ix.byPair[l], p)
		}
	}
	return ix
}

// Selected returns the pods of namespace ns whose labels hold every pair of
// selector, in index order; an empty selector selects every pod of the
// namespace (as the controller's labels.Set does). Callers that want
// "selects nothing" for an empty selector check that first.
func (ix *PodIndex) Selected(ns string, selector map[string]string) []*cluster.Pod {
	candidates := ix.byNS[ns]
	for k, v := range selector {
		c := ix.byPair[podLabel{ns, k, v}]
		if len(c) < len(candidates) {
			candidates = c
		}
		if len(c) == 0 {
			return nil
		}
	}
	var out []*cluster.Pod
	for _, p := range candidates {
		if selectorMatches(selector, p.Labels) {
			out = append(out, p)
		}
	}
	return out
}
