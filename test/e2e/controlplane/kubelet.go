package controlplane

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
)

// ManualLabel on a pod (value "manual") keeps the fake kubelet's hands off
// it: the test binds it and writes its status itself. Deletion is still
// completed for it.
const ManualLabel = "e2e.clusterdns.io/kubelet"

// Kubelet plays scheduler and kubelet for the one node: it binds every
// new pod to the node, makes it Running and Ready with a fresh IPv4 and IPv6
// address, and completes deletions (a real kubelet deletes the pod with
// grace period 0 once its containers stopped).
type Kubelet struct {
	cs       kubernetes.Interface
	queue    workqueue.TypedRateLimitingInterface[string]
	informer cache.SharedIndexInformer
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu   sync.Mutex
	next int
	ips  map[types.UID][]string
}

func NewKubelet(cs kubernetes.Interface) *Kubelet {
	return &Kubelet{
		cs:    cs,
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 2*time.Second)),
		ips:   map[types.UID][]string{},
	}
}

func (k *Kubelet) Start(ctx context.Context) error {
	ctx, k.cancel = context.WithCancel(ctx)
	f := informers.NewSharedInformerFactory(k.cs, 0)
	k.informer = f.Core().V1().Pods().Informer()
	enqueue := func(obj any) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			k.queue.Add(key)
		}
	}
	k.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	f.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), k.informer.HasSynced) {
		return fmt.Errorf("fake kubelet: pod informer did not sync")
	}
	for i := 0; i < 4; i++ {
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			for k.work(ctx) {
			}
		}()
	}
	return nil
}

func (k *Kubelet) Stop() {
	if k.cancel != nil {
		k.cancel()
	}
	k.queue.ShutDown()
	k.wg.Wait()
}

func (k *Kubelet) work(ctx context.Context) bool {
	key, quit := k.queue.Get()
	if quit {
		return false
	}
	defer k.queue.Done(key)
	if err := k.sync(ctx, key); err != nil && ctx.Err() == nil {
		k.queue.AddRateLimited(key)
		return true
	}
	k.queue.Forget(key)
	return true
}

func (k *Kubelet) sync(ctx context.Context, key string) error {
	obj, exists, err := k.informer.GetIndexer().GetByKey(key)
	if err != nil || !exists {
		return err
	}
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		err := k.cs.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr(int64(0)),
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	if pod.Labels[ManualLabel] == "manual" {
		return nil
	}
	if pod.Spec.NodeName == "" {
		return BindPod(ctx, k.cs, pod)
	}
	if pod.Status.PodIP == "" {
		_, err := k.SetStatus(ctx, pod.Namespace, pod.Name, k.ipsFor(pod.UID), true)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	return nil
}

// ipsFor gives a pod its addresses, the same ones however often it is asked.
func (k *Kubelet) ipsFor(uid types.UID) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if ips, ok := k.ips[uid]; ok {
		return ips
	}
	ips := k.allocLocked()
	k.ips[uid] = ips
	return ips
}

// AllocIPs returns a new, never used IPv4 and IPv6 address pair.
func (k *Kubelet) AllocIPs() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.allocLocked()
}

func (k *Kubelet) allocLocked() []string {
	k.next++
	n := k.next
	return []string{
		fmt.Sprintf("10.244.%d.%d", n/250, n%250+1),
		fmt.Sprintf("fd00:244::%x", n),
	}
}

// BindPod does what the scheduler does: bind the pod to the node.
func BindPod(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod) error {
	err := cs.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: NodeName},
	}, metav1.CreateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		// Already bound, or gone.
		return nil
	}
	return err
}

// SetStatus writes what a kubelet reports for a running pod: phase Running,
// the IPs, and Ready (and ContainersReady) as given. It returns the time the
// API server accepted the write.
func (k *Kubelet) SetStatus(ctx context.Context, ns, name string, ips []string, ready bool) (time.Time, error) {
	var accepted time.Time
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := k.cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		applyStatus(pod, ips, ready)
		_, err = k.cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		accepted = time.Now()
		return err
	})
	return accepted, err
}

// SetReady flips only the Ready condition of a running pod.
func (k *Kubelet) SetReady(ctx context.Context, ns, name string, ready bool) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := k.cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var ips []string
		for _, ip := range pod.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		applyStatus(pod, ips, ready)
		_, err = k.cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
}

func applyStatus(pod *corev1.Pod, ips []string, ready bool) {
	now := metav1.Now()
	cond := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
		s := corev1.ConditionFalse
		if ok {
			s = corev1.ConditionTrue
		}
		// Keep the transition time when the status does not change.
		for _, c := range pod.Status.Conditions {
			if c.Type == t && c.Status == s {
				return c
			}
		}
		return corev1.PodCondition{Type: t, Status: s, LastTransitionTime: now}
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.HostIP = "127.0.0.1"
	pod.Status.HostIPs = []corev1.HostIP{{IP: "127.0.0.1"}}
	pod.Status.PodIP = ""
	pod.Status.PodIPs = nil
	if len(ips) > 0 {
		pod.Status.PodIP = ips[0]
		for _, ip := range ips {
			pod.Status.PodIPs = append(pod.Status.PodIPs, corev1.PodIP{IP: ip})
		}
	}
	if pod.Status.StartTime == nil {
		pod.Status.StartTime = &now
	}
	pod.Status.Conditions = []corev1.PodCondition{
		cond(corev1.PodScheduled, true),
		cond(corev1.PodInitialized, true),
		cond(corev1.ContainersReady, ready),
		cond(corev1.PodReady, ready),
	}
}

func ptr[T any](v T) *T { return &v }

// Informer is the kubelet's pod informer.
func (k *Kubelet) Informer() cache.SharedIndexInformer { return k.informer }
