package controller

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// derivePods plays the workload controllers. A workload whose pods (or, for
// a Deployment, ReplicaSet) the input already holds, as a dump of a live
// cluster would, is not expanded again: an object naming it as its
// controller says so. StatefulSet pod names are predictable, so written
// pods simply replace the derived ones of the same name.
func (b *builder) derivePods(objs []Object) {
	controlled := map[cluster.ObjectRef]bool{}
	for _, o := range objs {
		var owner *cluster.ObjectRef
		switch {
		case o.Pod != nil:
			owner = o.Pod.Owner
		case o.Workload != nil:
			owner = o.Workload.Owner
		}
		if owner != nil {
			controlled[*owner] = true
		}
	}
	for _, o := range b.workloads {
		if o.Ref.Kind != "StatefulSet" && controlled[o.Ref] {
			continue
		}
		for i := range podCount(o.Ref.Kind, o.Workload) {
			pod := workloadPod(o, i)
			key := nsName{pod.Namespace, pod.Name}
			if e, ok := b.pods[key]; ok {
				if e.from != nil {
					b.fail(o.Ref, o.Origin, "%s: pod %s/%s would also be created by %s at %s", o.Ref, pod.Namespace, pod.Name, e.from.Ref, e.from.Origin)
				}
				continue // a written pod replaces the derived one
			}
			b.pods[key] = &podEntry{pod: pod, from: o}
		}
	}
}

// podCount is how many pods a workload controller keeps: spec.replicas
// (1 when unset), one for a DaemonSet (there are no nodes to count), and
// for a Job its parallelism but no more than its completions, none while
// it is suspended.
func podCount(kind string, w *Workload) int {
	if kind == "DaemonSet" {
		return 1
	}
	n := 1
	if w.Replicas != nil {
		n = max(int(*w.Replicas), 0)
	}
	if kind != "Job" {
		return n
	}
	if w.Completions != nil {
		n = min(n, max(int(*w.Completions), 0))
	}
	if w.Suspended {
		n = 0
	}
	return n
}

// workloadPod returns the i-th pod a workload controller would create.
func workloadPod(o *Object, i int) cluster.Pod {
	w, ref := o.Workload, o.Ref
	pod := w.Template
	pod.Namespace = ref.Namespace
	pod.Labels = maps.Clone(pod.Labels)
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Ports = slices.Clone(pod.Ports)
	pod.Owner = &cluster.ObjectRef{Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name}
	pod.Origin = o.Origin
	pod.Origin.Derived = fmt.Sprintf("pod %d of %s", i, ref)
	switch ref.Kind {
	case "StatefulSet":
		statefulSetPod(&pod, ref, w, w.OrdinalStart+i)
	case "Deployment":
		hash := hashSuffix(10, "pod-template-hash", ref.Namespace, ref.Name)
		rs := ref.Name + "-" + hash
		pod.Name = generateName(rs+"-", ref.Namespace, strconv.Itoa(i))
		pod.Labels["pod-template-hash"] = hash
		pod.Owner = &cluster.ObjectRef{Kind: "ReplicaSet", Namespace: ref.Namespace, Name: rs}
	case "Job":
		jobPod(&pod, ref, w, i)
	default: // ReplicaSet, DaemonSet
		pod.Name = generateName(ref.Name+"-", ref.Namespace, strconv.Itoa(i))
	}
	return pod
}

// statefulSetPod gives a StatefulSet's pod its identity: the name
// <set>-<ordinal>, which is also its hostname, and the set's serviceName as
// its subdomain.
func statefulSetPod(pod *cluster.Pod, ref cluster.ObjectRef, w *Workload, ordinal int) {
	pod.Name = ref.Name + "-" + strconv.Itoa(ordinal)
	pod.Hostname = pod.Name
	pod.Subdomain = w.ServiceName
	pod.Labels["statefulset.kubernetes.io/pod-name"] = pod.Name
	pod.Labels["apps.kubernetes.io/pod-index"] = strconv.Itoa(ordinal)
	pod.Origin.Derived = fmt.Sprintf("pod %d of %s", ordinal, ref)
}

// jobPod names a Job's i-th pod; an Indexed Job's pod gets the hostname
// <job>-<index>.
func jobPod(pod *cluster.Pod, ref cluster.ObjectRef, w *Workload, i int) {
	pod.Labels["batch.kubernetes.io/job-name"] = ref.Name
	pod.Labels["job-name"] = ref.Name
	if !w.Indexed {
		pod.Name = generateName(ref.Name+"-", ref.Namespace, strconv.Itoa(i))
		return
	}
	pod.Name = generateName(indexedJobPodPrefix(ref.Name, i), ref.Namespace)
	pod.Hostname = ref.Name + "-" + strconv.Itoa(i)
	pod.Labels["batch.kubernetes.io/job-completion-index"] = strconv.Itoa(i)
}
