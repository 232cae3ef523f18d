package kube

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

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

// listBuffer is how much of a list response is read at a time.
const listBuffer = 64 << 10

// maxListItem bounds the encoding of one listed object: the API server
// stores objects of at most 1.5 MiB (etcd's request limit).
const maxListItem = 16 << 20

// walkList reads a Kubernetes protobuf list message (a ServiceList, an
// EndpointSliceList, ...) from r as it arrives: it calls item with the
// encoding of every item, in order (the slice is reused: item must not
// keep it), and returns the list's metadata. Only one item is held at a
// time, whatever the size of the list.
func walkList(r io.Reader, item func([]byte) error) (metav1.ListMeta, error) {
	var lm metav1.ListMeta
	br := bufio.NewReaderSize(r, listBuffer)
	magic := make([]byte, len(protobufMagic))
	if _, err := io.ReadFull(br, magic); err != nil || !bytes.Equal(magic, protobufMagic) {
		return lm, errors.New("not a Kubernetes protobuf message")
	}
	var buf []byte
	// The runtime.Unknown envelope: field 2 holds the list's encoding;
	// the others are skipped.
	found := false
	for {
		num, typ, err := readTag(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return lm, fmt.Errorf("reading the envelope: %w", err)
		}
		if num != 2 || typ != protowire.BytesType || found {
			if err := skipField(br, typ); err != nil {
				return lm, fmt.Errorf("reading the envelope: %w", err)
			}
			continue
		}
		found = true
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return lm, fmt.Errorf("reading the envelope: %w", noEOF(err))
		}
		// The list: field 1 its ListMeta, field 2 each item.
		lr := &limitedByteReader{r: br, n: int64(n)}
		for lr.n > 0 {
			num, typ, err := readTag(lr)
			if err != nil {
				return lm, fmt.Errorf("reading the list: %w", noEOF(err))
			}
			if typ != protowire.BytesType || (num != 1 && num != 2) {
				if err := skipField(lr, typ); err != nil {
					return lm, fmt.Errorf("reading the list's field %d: %w", num, err)
				}
				continue
			}
			size, err := binary.ReadUvarint(lr)
			if err != nil {
				return lm, fmt.Errorf("reading the list's field %d: %w", num, noEOF(err))
			}
			if size > maxListItem {
				return lm, fmt.Errorf("the list's field %d is %d bytes, more than %d", num, size, maxListItem)
			}
			if uint64(cap(buf)) < size {
				buf = make([]byte, size)
			}
			v := buf[:size]
			if _, err := io.ReadFull(lr, v); err != nil {
				return lm, fmt.Errorf("reading the list's field %d: %w", num, noEOF(err))
			}
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
	}
	if !found {
		return lm, errors.New("the envelope holds no message")
	}
	return lm, nil
}

// byteReader is what readTag and skipField read from.
type byteReader interface {
	io.Reader
	io.ByteReader
}

// limitedByteReader reads at most n more bytes of r.
type limitedByteReader struct {
	r *bufio.Reader
	n int64
}

func (l *limitedByteReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}

func (l *limitedByteReader) ReadByte() (byte, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	b, err := l.r.ReadByte()
	if err == nil {
		l.n--
	}
	return b, err
}

// readTag reads a field's tag; io.EOF only when r ends before it.
func readTag(r byteReader) (protowire.Number, protowire.Type, error) {
	v, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, 0, err
	}
	num, typ := protowire.DecodeTag(v)
	if num < protowire.MinValidNumber || num > protowire.MaxValidNumber {
		return 0, 0, fmt.Errorf("field number %d", num)
	}
	return num, typ, nil
}

// skipField reads past a field's value.
func skipField(r byteReader, typ protowire.Type) error {
	var n uint64
	switch typ {
	case protowire.VarintType:
		_, err := binary.ReadUvarint(r)
		return noEOF(err)
	case protowire.Fixed32Type:
		n = 4
	case protowire.Fixed64Type:
		n = 8
	case protowire.BytesType:
		var err error
		if n, err = binary.ReadUvarint(r); err != nil {
			return noEOF(err)
		}
	default:
		return fmt.Errorf("wire type %d", typ)
	}
	if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
		return noEOF(err)
	}
	return nil
}

// noEOF makes an end of input inside a field what it is: a message cut
// short.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// listPage reads one page of the list as it arrives.
func listPage(ctx context.Context, rc rest.Interface, resource string, opts *metav1.ListOptions,
	decode func([]byte) (runtime.Object, error), keep func(runtime.Object) error) (metav1.ListMeta, error) {
	body, err := rc.Get().Resource(resource).VersionedParams(opts, scheme.ParameterCodec).
		SetHeader("Accept", protobufType+", application/json").Stream(ctx)
	if err != nil {
		return metav1.ListMeta{}, err
	}
	defer body.Close()
	// walkList's own size: it reads through this reader, not a second.
	br := bufio.NewReaderSize(body, listBuffer)
	var lm metav1.ListMeta
	if head, _ := br.Peek(len(protobufMagic)); bytes.Equal(head, protobufMagic) {
		lm, err = walkList(br, func(b []byte) error {
			o, err := decode(b)
			if err != nil {
				return fmt.Errorf("decoding an item: %w", err)
			}
			return keep(o)
		})
	} else {
		var all []byte
		if all, err = io.ReadAll(br); err == nil {
			lm, err = eachListed(all, keep)
		}
	}
	if err != nil {
		return lm, fmt.Errorf("reading the %s list: %w", resource, err)
	}
	return lm, nil
}

// decodeAs decodes one protobuf-encoded API object of type T (a listed
// item).
func decodeAs[T any, P interface {
	*T
	runtime.Object
	Unmarshal([]byte) error
}](b []byte) (runtime.Object, error) {
	o := P(new(T))
	return o, o.Unmarshal(b)
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
		lm, err := listPage(ctx, rc, resource, &opts, decode, keep)
		if err != nil {
			return nil, err
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
