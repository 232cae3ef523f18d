package doctor

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Endpoint publication lag.
const (
	// lagRecent: only slices written this recently are measured (events
	// of the last hour; an older write tells of another time).
	lagRecent = time.Hour
	// lagUnrelated: a write this long after its trigger was not for that
	// trigger (a later write that kept the annotation).
	lagUnrelated = 10 * time.Minute
	lagSource    = "seed: headless records' 5 s failover (the SIG-Scalability DNS programming SLI has no published value)"
)

// sliceLag is when the EndpointSlice controller last wrote a slice and how
// long after the change that triggered it.
type sliceLag struct {
	name string
	lag  time.Duration
}

// controllerWrite is the last time the EndpointSlice controller (its field
// manager) wrote es, to the second (managedFields' precision).
func controllerWrite(es *discoveryv1.EndpointSlice) (time.Time, bool) {
	var last time.Time
	for _, mf := range es.ManagedFields {
		if mf.Time != nil && mf.Time.After(last) {
			last = mf.Time.Time
		}
	}
	return last, !last.IsZero()
}

// checkSliceLag measures, from the objects alone, how long the
// EndpointSlice controller took to publish the last change of each
// recently written slice: its endpoints.kubernetes.io/last-change-trigger-
// time annotation (when the pod or Service changed) against the slice's
// last write (managedFields). A cluster DNS cannot answer a change before
// its slice is written, whatever its own speed.
func checkSliceLag(_ context.Context, in *Input, c *Check) {
	if why := in.need(ResEndpointSlices); why != "" {
		c.notRun(why)
		return
	}
	var lags []sliceLag
	for i := range in.EndpointSlices {
		es := &in.EndpointSlices[i]
		if es.Labels[discoveryv1.LabelManagedBy] != "endpointslice-controller.k8s.io" {
			continue
		}
		ts, ok := es.Annotations[corev1.EndpointsLastChangeTriggerTime]
		if !ok {
			continue
		}
		trigger, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			continue
		}
		written, ok := controllerWrite(es)
		if !ok || in.Now.Sub(written) > lagRecent {
			continue
		}
		// The write time is truncated to the second: a write within the
		// trigger's second is no lag.
		lag := written.Sub(trigger.Truncate(time.Second))
		if lag < 0 || lag > lagUnrelated {
			continue
		}
		lags = append(lags, sliceLag{es.Namespace + "/" + es.Name, lag})
	}
	if len(lags) == 0 {
		c.notRun("no EndpointSlice written by the controller in the last hour carries its trigger time")
		return
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i].lag > lags[j].lag })
	p50 := lags[len(lags)/2].lag
	c.Summary = fmt.Sprintf("%d slice(s) written in the last hour: the EndpointSlice controller published a change %v after it at the median, %v at most (to the second)", len(lags), p50, lags[0].lag)
	var slow, objects []string
	for _, l := range lags {
		if l.lag > failover {
			slow = append(slow, fmt.Sprintf("EndpointSlice %s: written %v after the change", l.name, l.lag))
			if len(objects) < 3 {
				objects = append(objects, "EndpointSlice/"+l.name)
			}
		}
	}
	if len(slow) == 0 {
		return
	}
	sev := SeverityWarning
	const shown = 10
	ev := slow[:min(len(slow), shown)]
	if len(slow) > shown {
		ev = append(ev, fmt.Sprintf("... and %d more", len(slow)-shown))
	}
	c.add(Finding{Code: "endpointslice-lag", Severity: sev, Objects: objects, Evidence: ev,
		Threshold: &Threshold{Value: fmt.Sprintf("%v at most", lags[0].lag), Limit: failover.String(), Source: lagSource},
		Message:   fmt.Sprintf("the EndpointSlice controller published %d change(s) more than %v after they happened: every cluster DNS answers the old endpoints that long, whatever its own speed", len(slow), failover),
		Fix:       "look at kube-controller-manager's load and its --concurrent-endpointslice-syncs, and at the API server's write latency",
		Explains:  []string{SymptomStaleIP}})
}
