package kube

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"google.golang.org/protobuf/encoding/protowire"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// encodeProto encodes an API object as the API server sends it.
func encodeProto(t testing.TB, o runtime.Object) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Encode(o, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sliceList(rv, cont string, names ...string) *discoveryv1.EndpointSliceList {
	l := &discoveryv1.EndpointSliceList{ListMeta: metav1.ListMeta{ResourceVersion: rv, Continue: cont}}
	for i, n := range names {
		es := slice(n, n+"-abc", metav1.Now().Time, fmt.Sprintf("10.0.0.%d", i+1))
		es.ResourceVersion = fmt.Sprint(100 + i)
		l.Items = append(l.Items, *es)
	}
	return l
}

// walkList hands over every item of a list message as it was encoded, in
// order, with the list's metadata.
func TestWalkListReadsEveryItemAndTheMetadata(t *testing.T) {
	in := sliceList("42", "next-page", "a", "b", "c")
	var got []discoveryv1.EndpointSlice
	lm, err := walkList(bytes.NewReader(encodeProto(t, in)), func(b []byte) error {
		var es discoveryv1.EndpointSlice
		if err := es.Unmarshal(b); err != nil {
			return err
		}
		got = append(got, es)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if lm.ResourceVersion != "42" || lm.Continue != "next-page" {
		t.Errorf("list metadata = %+v", lm)
	}
	if len(got) != 3 {
		t.Fatalf("%d items, want 3", len(got))
	}
	for i := range got {
		if got[i].Name != in.Items[i].Name || got[i].ResourceVersion != in.Items[i].ResourceVersion || got[i].Endpoints[0].Addresses[0] != in.Items[i].Endpoints[0].Addresses[0] {
			t.Errorf("item %d = %s/%s %v", i, got[i].Name, got[i].ResourceVersion, got[i].Endpoints)
		}
	}
}

// What is not a Kubernetes protobuf list is an error, not a panic or an
// empty list.
func TestWalkListRejectsWhatIsNoProtobufList(t *testing.T) {
	good := encodeProto(t, sliceList("1", "", "a"))
	for name, body := range map[string][]byte{
		"JSON":         []byte(`{"kind":"EndpointSliceList","items":[]}`),
		"empty":        nil,
		"magic only":   []byte("k8s\x00"),
		"cut short":    good[:len(good)/2],
		"item garbage": append(append([]byte(nil), good...), 0x12, 0xff),
	} {
		if _, err := walkList(bytes.NewReader(body), func([]byte) error { return nil }); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// An item the caller cannot use stops the walk with its error.
func TestWalkListStopsAtTheItemsError(t *testing.T) {
	n := 0
	_, err := walkList(bytes.NewReader(encodeProto(t, sliceList("1", "", "a", "b"))), func([]byte) error {
		n++
		return fmt.Errorf("bad item")
	})
	if err == nil || n != 1 {
		t.Errorf("err %v after %d items", err, n)
	}
}

func FuzzWalkList(f *testing.F) {
	f.Add(encodeProto(f, sliceList("7", "c", "a", "b")))
	f.Add(encodeProto(f, &corev1.ServiceList{ListMeta: metav1.ListMeta{ResourceVersion: "3"}, Items: []corev1.Service{*headless("x")}}))
	f.Add([]byte("k8s\x00\x12\x02\x0a\x00"))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = walkList(bytes.NewReader(body), func(b []byte) error {
			var es discoveryv1.EndpointSlice
			_ = es.Unmarshal(b)
			return nil
		})
	})
}

// listStored follows the API server's pages (continue), asks each page
// as protobuf, and returns what the item function made of every item,
// with the list's resourceVersion.
func TestListStoredFollowsThePages(t *testing.T) {
	pages := map[string]*discoveryv1.EndpointSliceList{
		"":   sliceList("50", "p2", "a", "b"),
		"p2": sliceList("50", "p3", "c"),
		"p3": sliceList("50", "", "d", "e"),
	}
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/apis/discovery.k8s.io/v1/endpointslices") || !strings.Contains(r.Header.Get("Accept"), protobufType) {
			http.Error(w, "unexpected "+r.URL.String()+" "+r.Header.Get("Accept"), http.StatusBadRequest)
			return
		}
		q := r.URL.Query()
		asked = append(asked, q.Get("continue")+"|"+q.Get("resourceVersion")+"|"+q.Get("limit"))
		w.Header().Set("Content-Type", protobufType)
		w.Write(encodeProto(t, pages[q.Get("continue")]))
	}))
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	l, err := listStored(context.Background(), cs.DiscoveryV1().RESTClient(), "endpointslices",
		metav1.ListOptions{ResourceVersion: "10", Limit: 2}, decodeAs[discoveryv1.EndpointSlice], func(o runtime.Object) (runtime.Object, error) {
			es := o.(*discoveryv1.EndpointSlice)
			names = append(names, es.Labels[discoveryv1.LabelServiceName])
			return es, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, " "); got != "a b c d e" || len(l.Items) != 5 || l.ResourceVersion != "50" || l.Continue != "" {
		t.Errorf("items %q (%d), list metadata %+v", got, len(l.Items), l.ListMeta)
	}
	// The first page at the resourceVersion asked; the next ones by their
	// token alone, as client-go's pager asks.
	if got := strings.Join(asked, " "); got != "|10|2 p2||2 p3||2" {
		t.Errorf("pages asked (continue|resourceVersion|limit) = %s", got)
	}
}

// An error status of the API server comes back as the API error (the
// reflector tells an expired resourceVersion by it and lists again).
func TestListStoredReturnsTheAPIError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusGone)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410,"message":"too old resource version"}`)
	}))
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = listStored(context.Background(), cs.DiscoveryV1().RESTClient(), "endpointslices", metav1.ListOptions{ResourceVersion: "1"},
		decodeAs[discoveryv1.EndpointSlice], func(o runtime.Object) (runtime.Object, error) { return o, nil })
	if !isExpired(err) {
		t.Errorf("err = %v, want the API's 410 Expired", err)
	}
}

func isExpired(err error) bool { return apierrors.IsResourceExpired(err) || apierrors.IsGone(err) }

// An API server that answers JSON gets its list read whole, item by item
// the same.
func TestListStoredReadsAJSONList(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"ServiceList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[{"metadata":{"name":"a","namespace":"default"}},{"metadata":{"name":"b","namespace":"default"}}]}`)
	}))
	defer srv.Close()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	l, err := listStored(context.Background(), cs.CoreV1().RESTClient(), "services", metav1.ListOptions{},
		func([]byte) (runtime.Object, error) { return nil, fmt.Errorf("not protobuf") },
		func(o runtime.Object) (runtime.Object, error) {
			names = append(names, o.(*corev1.Service).Name)
			return o, nil
		})
	if err != nil || strings.Join(names, " ") != "a b" || l.ResourceVersion != "9" {
		t.Errorf("names %v, list %+v, err %v", names, l, err)
	}
}

// The list is read as it arrives, whatever the reads return at a time, and
// an item declared larger than any object is refused before it is read.
func TestWalkListReadsAStreamAndBoundsAnItem(t *testing.T) {
	n := 0
	lm, err := walkList(iotest.OneByteReader(bytes.NewReader(encodeProto(t, sliceList("8", "", "a", "b", "c")))), func([]byte) error {
		n++
		return nil
	})
	if err != nil || n != 3 || lm.ResourceVersion != "8" {
		t.Errorf("one byte at a time: %d items, %+v, %v", n, lm, err)
	}
	list := protowire.AppendTag(nil, 2, protowire.BytesType)
	list = protowire.AppendVarint(list, maxListItem+1)
	body := append([]byte("k8s\x00"), protowire.AppendTag(nil, 2, protowire.BytesType)...)
	body = protowire.AppendVarint(body, uint64(len(list)))
	body = append(body, list...)
	if _, err := walkList(bytes.NewReader(body), func([]byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("an item of %d bytes: %v", maxListItem+1, err)
	}
}
