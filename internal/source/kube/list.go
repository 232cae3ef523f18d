package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// The Services and EndpointSlices are listed by the source itself, not by
// client-go's reflector: the list comes as one protobuf message, and its
// items are read and converted into their stored form one at a time, so
// that at most one decoded API object is alive while a list of any size
// arrives. client-go's streaming list (one watch event per object) took
// 4.2-4.4 s for the 50k-Service benchmark state that the API server sends
// in 0.7 s; its paged list holds every decoded object until the end (a
// start peak of 450-570 MiB there). The watch stays client-go's.

// protobufMagic starts every Kubernetes protobuf message (a runtime.Unknown
// envelope follows).
var protobufMagic = []byte("k8s\x00")

const protobufType = "application/vnd.kubernetes.protobuf"

// walkList reads a Kubernetes protobuf list message (a ServiceList, an
// EndpointSliceList, ...): it calls item with the encoding of every item,
// in order, and returns the list's metadata. It does not decode the items.
func walkList(body []byte, item func([]byte) error) (metav1.ListMeta, error) {
	var lm metav1.ListMeta
	if !bytes.HasPrefix(body, protobufMagic) {
		return lm, errors.New("not a Kubernetes protobuf message")
	}
	// runtime.Unknown: field 2 holds the list's own encoding.
	raw, found, err := bytesField(body[len(protobufMagic):], 2)
	if err != nil {
		return lm, fmt.Errorf("reading the envelope: %w", err)
	}
	if !found {
		return lm, errors.New("the envelope holds no message")
	}
	// A list: field 1 the ListMeta, field 2 each item.
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return lm, fmt.Errorf("reading the list: %w", protowire.ParseError(n))
		}
		raw = raw[n:]
		if typ != protowire.BytesType || (num != 1 && num != 2) {
			if n = protowire.ConsumeFieldValue(num, typ, raw); n < 0 {
				return lm, fmt.Errorf("reading the list's field %d: %w", num, protowire.ParseError(n))
			}
			raw = raw[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(raw)
		if n < 0 {
			return lm, fmt.Errorf("reading the list's field %d: %w", num, protowire.ParseError(n))
		}
		raw = raw[n:]
		if num == 1 {
			if err := lm.Unmarshal(v); err != nil {
				return lm, fmt.Errorf("reading the list's metadata: %w", err)
			}
			continue
		}
		if err := item(v); err != nil {
			return lm, err
		}
	}
	return lm, nil
}

// bytesField returns the first length-delimited field num of a message,
// reading the whole message (a malformed one is an error).
func bytesField(b []byte, num protowire.Number) (v []byte, found bool, err error) {
	for len(b) > 0 {
		n0, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, false, protowire.ParseError(n)
		}
		b = b[n:]
		if n0 == num && typ == protowire.BytesType && !found {
			if v, n = protowire.ConsumeBytes(b); n < 0 {
				return nil, false, protowire.ParseError(n)
			}
			found = true
		} else if n = protowire.ConsumeFieldValue(n0, typ, b); n < 0 {
			return nil, false, protowire.ParseError(n)
		}
		b = b[n:]
	}
	return v, found, nil
}

// eachListed decodes a list in any encoding the client knows (JSON) whole
// and calls keep with each item.
func eachListed(body []byte, keep func(runtime.Object) error) (metav1.ListMeta, error) {
	var lm metav1.ListMeta
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
	if err != nil {
		return lm, err
	}
	la, err := meta.ListAccessor(obj)
	if err != nil {
		return lm, err
	}
	lm.ResourceVersion, lm.Continue = la.GetResourceVersion(), la.GetContinue()
	items, err := meta.ExtractList(obj)
	if err != nil {
		return lm, err
	}
	for _, it := range items {
		if err := keep(it); err != nil {
			return lm, err
		}
	}
	return lm, nil
}

// storedList is what the source's list returns to the reflector: every
// item in its stored form, and the list's resourceVersion.
type storedList struct {
	metav1.ListMeta
	Items []runtime.Object
}

func (l *storedList) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

func (l *storedList) DeepCopyObject() runtime.Object {
	c := *l
	c.Items = append([]runtime.Object(nil), l.Items...)
	return &c
}

// The stored values are runtime.Objects, as list items must be. They are
// never modified, so a copy of the outer value is a deep copy.
func (id *objectID) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

func (s *storedService) DeepCopyObject() runtime.Object { c := *s; return &c }

func (s *storedSlice) DeepCopyObject() runtime.Object { c := *s; return &c }

// listStored lists resource with one GET per page (the API server sends a
// list from its cache whole; pages only when asked for a consistent list)
// and returns what store made of every item. A protobuf list is decoded
// one item at a time (decode); a JSON one, from an API server that does
// not speak protobuf, whole.
func listStored(ctx context.Context, rc rest.Interface, resource string, opts metav1.ListOptions,
	decode func([]byte) (runtime.Object, error), store func(runtime.Object) (runtime.Object, error)) (*storedList, error) {
	out := &storedList{}
	keep := func(o runtime.Object) error {
		st, err := store(o)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, st)
		return nil
	}
	for {
		body, err := rc.Get().Resource(resource).VersionedParams(&opts, scheme.ParameterCodec).
			SetHeader("Accept", protobufType+", application/json").DoRaw(ctx)
		if err != nil {
			return nil, err
		}
		var lm metav1.ListMeta
		if bytes.HasPrefix(body, protobufMagic) {
			lm, err = walkList(body, func(b []byte) error {
				o, err := decode(b)
				if err != nil {
					return fmt.Errorf("decoding an item: %w", err)
				}
				return keep(o)
			})
		} else {
			lm, err = eachListed(body, keep)
		}
		if err != nil {
			return nil, fmt.Errorf("reading the %s list: %w", resource, err)
		}
		out.ResourceVersion = lm.ResourceVersion
		if lm.Continue == "" {
			return out, nil
		}
		// The next page, of the same snapshot (as client-go's pager
		// asks for it).
		opts.Continue = lm.Continue
		opts.ResourceVersion, opts.ResourceVersionMatch = "", ""
	}
}

// listWatch is an informer's ListerWatcher whose list is listStored and
// whose watch is client-go's typed one. client-go must not replace the
// list by its streaming list (IsWatchListSemanticsUnSupported).
type listWatch struct {
	list  func(context.Context, metav1.ListOptions) (runtime.Object, error)
	watch func(context.Context, metav1.ListOptions) (watch.Interface, error)
}

func (l *listWatch) List(o metav1.ListOptions) (runtime.Object, error) {
	return l.list(context.Background(), o)
}

func (l *listWatch) Watch(o metav1.ListOptions) (watch.Interface, error) {
	return l.watch(context.Background(), o)
}

func (l *listWatch) ListWithContext(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
	return l.list(ctx, o)
}

func (l *listWatch) WatchWithContext(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	return l.watch(ctx, o)
}

func (l *listWatch) IsWatchListSemanticsUnSupported() bool { return true }
