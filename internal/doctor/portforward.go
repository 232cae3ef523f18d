package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// PortForwarder forwards a local port on 127.0.0.1 to a pod's TCP port
// through the API server's pods/portforward (SPDY, as kubectl
// port-forward), for the doctor on a laptop, where pod IPs are not routed.
func PortForwarder(cfg *rest.Config, client kubernetes.Interface) func(ctx context.Context, pod *corev1.Pod, port int) (string, func(), error) {
	return func(ctx context.Context, pod *corev1.Pod, port int) (string, func(), error) {
		transport, upgrader, err := spdy.RoundTripperFor(cfg)
		if err != nil {
			return "", nil, fmt.Errorf("port-forward to %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		url := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("portforward").URL()
		dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
		stopCh, readyCh := make(chan struct{}), make(chan struct{})
		fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(port)}, stopCh, readyCh, io.Discard, io.Discard)
		if err != nil {
			return "", nil, fmt.Errorf("port-forward to %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		done := make(chan error, 1)
		go func() { done <- fw.ForwardPorts() }()
		stop := func() { close(stopCh) }
		select {
		case <-readyCh:
		case err := <-done:
			if err == nil {
				err = errors.New("ended before it was ready")
			}
			return "", nil, fmt.Errorf("port-forward to %s/%s: %w", pod.Namespace, pod.Name, err)
		case <-ctx.Done():
			stop()
			return "", nil, ctx.Err()
		}
		ports, err := fw.GetPorts()
		if err != nil || len(ports) == 0 {
			stop()
			return "", nil, fmt.Errorf("port-forward to %s/%s: no local port: %v", pod.Namespace, pod.Name, err)
		}
		return "127.0.0.1:" + strconv.Itoa(int(ports[0].Local)), stop, nil
	}
}
