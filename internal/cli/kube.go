package cli

import (
	"errors"
	"log/slog"

	"github.com/clusterdns/clusterdns/internal/source/kube"
	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/spf13/cobra"
)

// kubeFlags select a live cluster as the source.
type kubeFlags struct {
	kubeconfig string
	context    string
	inCluster  bool
}

func (f *kubeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to serve (in a pod, the service account is used without it)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context to use")
	fl.BoolVar(&f.inCluster, "in-cluster", false, "use the pod's service account (the default in a pod when neither --kubeconfig nor --manifests is given)")
}

// live decides whether the source is a live cluster, and refuses
// contradicting flags.
func (f *kubeFlags) live(state *stateFlags) (bool, error) {
	explicit := f.kubeconfig != "" || f.inCluster
	if explicit && !state.embedded() {
		return false, errors.New("--manifests cannot be combined with --kubeconfig or --in-cluster: choose one source")
	}
	if f.context != "" && f.kubeconfig == "" {
		return false, errors.New("--context needs --kubeconfig")
	}
	if f.kubeconfig != "" && f.inCluster {
		return false, errors.New("--kubeconfig and --in-cluster both given: choose one")
	}
	if explicit {
		return true, nil
	}
	if state.embedded() && kube.InClusterAvailable() {
		f.inCluster = true
		return true, nil
	}
	return false, nil
}

func (f *kubeFlags) options(z zone.Options, log *slog.Logger) kube.Options {
	return kube.Options{
		Kubeconfig: f.kubeconfig,
		Context:    f.context,
		InCluster:  f.inCluster && f.kubeconfig == "",
		Pods:       z.PodRecords == zone.PodsVerified,
		TargetRefs: z.EndpointPodNames,
		// The ServiceImport informer starts only for multicluster zones.
		Multicluster: len(z.MulticlusterZones) > 0,
		UserAgent:    "clusterdns/" + versionString(),
		Logger:       log,
	}
}
