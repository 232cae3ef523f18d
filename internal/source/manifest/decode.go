package manifest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	sigsjson "sigs.k8s.io/json"

	"github.com/clusterdns/clusterdns/internal/cluster"
	"github.com/clusterdns/clusterdns/internal/controller"
	"github.com/clusterdns/clusterdns/internal/kubeconv"
)

// Object is one Kubernetes object read from a manifest, before anything is
// derived from it. Items of a List are objects of their own.
type Object struct {
	File     string
	Document int // 0-based index of the YAML document or JSON value in File
	Line     int // line the object starts on

	APIVersion string
	Kind       string
	// Namespace is metadata.namespace, "default" if a namespaced kind leaves
	// it out, "" for Namespaces.
	Namespace string
	Name      string

	// Typed is the object decoded into its k8s.io/api type (*corev1.Service,
	// *appsv1.StatefulSet, ...) with Namespace defaulted, or nil for a kind
	// this package does not read.
	Typed runtime.Object

	tree *node
	// conv is the object as the control plane is given it (package
	// kubeconv converted it); nil for kinds this package does not read.
	conv *controller.Object
}

// Known reports whether the object is of a kind this package reads.
func (o *Object) Known() bool { return o.Typed != nil }

// Ref returns the object reference ("Service default/web").
func (o *Object) Ref() cluster.ObjectRef {
	return cluster.ObjectRef{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// Origin returns where the object was read.
func (o *Object) Origin() cluster.Origin {
	return cluster.Origin{File: o.File, Document: o.Document, Line: o.Line}
}

// FieldLine returns the line of a field given as Kubernetes prints field
// paths ("spec.ports[0].targetPort"). For a field that is not written it
// returns the line of its nearest written parent.
func (o *Object) FieldLine(fieldPath string) int {
	if o.tree == nil {
		return o.Line
	}
	return o.tree.lookupString(fieldPath).line
}

// kindInfo describes a kind this package reads.
type kindInfo struct {
	apiVersion string
	namespaced bool
	new        func() runtime.Object
}

var knownKinds = map[string]kindInfo{
	"Namespace": {"v1", false, func() runtime.Object { return new(corev1.Namespace) }},
	"Service":   {"v1", true, func() runtime.Object { return new(corev1.Service) }},
	"Pod":       {"v1", true, func() runtime.Object { return new(corev1.Pod) }},
	//lint:ignore SA1019 legacy v1 Endpoints are still written by users; they are mirrored into slices
	"Endpoints":     {"v1", true, func() runtime.Object { return new(corev1.Endpoints) }},
	"EndpointSlice": {"discovery.k8s.io/v1", true, func() runtime.Object { return new(discoveryv1.EndpointSlice) }},
	"StatefulSet":   {"apps/v1", true, func() runtime.Object { return new(appsv1.StatefulSet) }},
	"Deployment":    {"apps/v1", true, func() runtime.Object { return new(appsv1.Deployment) }},
	"ReplicaSet":    {"apps/v1", true, func() runtime.Object { return new(appsv1.ReplicaSet) }},
	"DaemonSet":     {"apps/v1", true, func() runtime.Object { return new(appsv1.DaemonSet) }},
	"Job":           {"batch/v1", true, func() runtime.Object { return new(batchv1.Job) }},
	"ServiceImport": {"multicluster.x-k8s.io/v1alpha1", true, func() runtime.Object { return new(kubeconv.ServiceImport) }},
}

// document is one YAML document or JSON value of a file.
type document struct {
	index int
	line  int
	root  *node
}

// Decode parses the bytes of one manifest file into its objects, in file
// order, without deriving anything. YAML files may hold several documents;
// JSON files one value or a stream of values. Lists are flattened into their
// items. Objects of kinds this package does not read are returned with a nil
// Typed and are not checked beyond apiVersion and kind.
//
// The error joins an *Error for every problem found; the objects that could
// be decoded are returned even then.
//
// The input is bounded by the default Limits; DecodeWithin decodes one file
// of a larger input.
func Decode(file string, data []byte) ([]Object, error) {
	b := NewBudget(Limits{})
	if err := b.takeBytes(int64(len(data))); err != nil {
		return nil, &Error{File: file, Err: err}
	}
	return DecodeWithin(b, file, data)
}

// DecodeWithin is Decode for one file of an input whose values are
// accounted in b (the file's bytes are not: Budget.ReadFile and
// Budget.ReadAll account them as they read). An exceeded limit is an error
// at the line where the input went over it, and ends the file.
func DecodeWithin(b *Budget, file string, data []byte) ([]Object, error) {
	d := decoder{file: file, budget: b}
	data, err := utf8Text(data)
	if err != nil {
		return nil, &Error{File: file, Line: 1, Err: err}
	}
	for _, doc := range d.documents(data) {
		if doc.root.kind == nullNode {
			continue // empty document
		}
		if doc.root.kind != mapNode {
			d.errs.add(file, doc.index, doc.line, "document is a %s, not an object", doc.root.kind)
			continue
		}
		d.object(doc, doc.root)
	}
	d.errs.sortByPosition(nil)
	return d.objs, d.errs.join()
}

type decoder struct {
	file   string
	budget *Budget
	objs   []Object
	errs   errorList
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlParserProblems are the messages of yaml.v3's parser (as opposed to
// its scanner), whose line numbers it reports 0-based.
var yamlParserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// documents splits data into documents. A syntax error ends the file: what
// follows it cannot be read reliably.
func (d *decoder) documents(data []byte) []document {
	if isJSON(d.file, data) {
		docs, err := d.jsonDocuments(data)
		if err == nil || strings.EqualFold(path.Ext(d.file), ".json") || errors.Is(err, errLimit) {
			if err != nil {
				d.errs = append(d.errs, err)
			}
			return docs
		}
		// Not JSON after all (a YAML flow mapping, say): read it as YAML.
	}
	var docs []document
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var y yaml.Node
		err := dec.Decode(&y)
		if err == io.EOF {
			return docs
		}
		if err != nil {
			line := 1
			msg := err.Error()
			if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = msg[len(m[0]):]
				if yamlParserProblems[msg] {
					line++ // yaml.v3 prints parser (not scanner) error lines 0-based
				}
				if msg == "found a tab character that violates indentation" {
					line = tabIndentLine(data, line)
				}
				// At the end of the input the parser's line is one past it.
				line = min(line, yamlLines(data))
			}
			msg = "YAML syntax error: " + strings.TrimPrefix(msg, "yaml: ")
			d.errs.add(d.file, i, line, "%s", msg)
			return docs
		}
		c := yamlConverter{budget: d.budget}
		root, err := c.convert(&y, y.Line, 0, false)
		if err != nil {
			d.errs.addErr(d.file, i, errLine(err, y.Line), err)
			if errors.Is(err, errLimit) {
				return docs
			}
			continue
		}
		line := y.Line
		if len(y.Content) > 0 && root.kind != nullNode {
			line = y.Content[0].Line
		}
		docs = append(docs, document{index: i, line: line, root: root})
	}
}

// jsonDocuments reads a JSON value or stream of values. A syntax error ends
// it; the values before it are returned.
func (d *decoder) jsonDocuments(data []byte) ([]document, *Error) {
	r := newJSONReader(data, d.budget)
	var docs []document
	for i := 0; ; i++ {
		root, line, err := r.next()
		if err == io.EOF {
			return docs, nil
		}
		if errors.Is(err, errLimit) {
			return docs, &Error{File: d.file, Document: i, Line: errLine(err, line), Err: err}
		}
		if err != nil {
			return docs, &Error{File: d.file, Document: i, Line: errLine(err, line), Err: fmt.Errorf("JSON syntax error: %w", err)}
		}
		docs = append(docs, document{index: i, line: line, root: root})
	}
}

// isJSON reports whether a file is to be read as JSON: by its extension, or,
// for other names, by starting with '{' or '['.
func isJSON(file string, data []byte) bool {
	switch strings.ToLower(path.Ext(file)) {
	case ".json":
		return true
	case ".yaml", ".yml":
		return false
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	return len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[')
}

// utf8Text returns data as UTF-8 without its byte order mark. YAML
// allows UTF-16 marked by its BOM (editors on Windows write it); yaml.v3
// reads it, but every line this package reports and every byte offset it
// scans is of UTF-8 text, so UTF-16 is converted first (unpaired
// surrogates become U+FFFD, as in any decoder).
func utf8Text(data []byte) ([]byte, error) {
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}):
		order = binary.LittleEndian
	case bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		order = binary.BigEndian
	default:
		return bytes.TrimPrefix(data, []byte("\ufeff")), nil
	}
	data = data[2:]
	if len(data)%2 != 0 {
		return nil, fmt.Errorf("the file is UTF-16 (by its byte order mark) but has an odd number of bytes (%d after the mark)", len(data))
	}
	units := make([]uint16, len(data)/2)
	for i := range units {
		units[i] = order.Uint16(data[2*i:])
	}
	out := make([]byte, 0, len(data)+len(data)/2)
	for _, r := range utf16.Decode(units) {
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}

// yamlLines is the number of lines of data as YAML counts them: CR LF,
// CR, LF and the Unicode line breaks each end one.
func yamlLines(data []byte) int {
	n := 1
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '\n':
			n++
		case '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			n++
		}
	}
	for _, br := range []string{"\u0085", "\u2028", "\u2029"} {
		n += bytes.Count(data, []byte(br))
	}
	return n
}

// tabIndentLine finds the line of the tab that yaml.v3 reports as
// "found a tab character that violates indentation": it gives the line
// where the scalar before the tab started, so the tab is on the first line
// from there whose indentation holds one.
func tabIndentLine(data []byte, reported int) int {
	for i, l := range bytes.Split(data, []byte("\n")) {
		if i+1 <= reported {
			continue
		}
		indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 {
			return i + 1
		}
	}
	return reported
}

func errLine(err error, fallback int) int {
	var pe *posError
	if errors.As(err, &pe) && pe.line > 0 {
		return pe.line
	}
	return fallback
}

// object reads the object a document holds.
func (d *decoder) object(doc document, n *node) {
	fail := func(at *node, format string, args ...any) { d.errs.add(d.file, doc.index, at.line, format, args...) }
	apiVersion, kind := n.get("apiVersion"), n.get("kind")
	switch {
	case kind == nil || kind.kind == nullNode || kind.text == "":
		fail(n, "object has no kind")
	case kind.kind != stringNode:
		fail(kind, "kind: must be a string, got %s", kind.kind)
	case apiVersion == nil || apiVersion.kind == nullNode || apiVersion.text == "":
		fail(n, "%s has no apiVersion", kind.text)
	case apiVersion.kind != stringNode:
		fail(apiVersion, "apiVersion: must be a string, got %s", apiVersion.kind)
	default:
		d.typedObject(doc, n, apiVersion.text, kind.text)
	}
}

// typedObject reads an object whose apiVersion and kind are known to be
// strings: a list is flattened, an object of a kind this package reads is
// decoded and converted, any other is kept by its name.
func (d *decoder) typedObject(doc document, n *node, apiVersion, kind string) {
	if items := n.get("items"); strings.HasSuffix(kind, "List") && (items != nil || isKnownList(kind)) {
		d.listItems(doc, items, apiVersion, kind)
		return
	}
	obj := Object{File: d.file, Document: doc.index, Line: n.line, APIVersion: apiVersion, Kind: kind, tree: n}
	info, known := knownKinds[kind]
	if !known {
		d.unknownObject(doc, n, obj)
		return
	}
	if apiVersion != info.apiVersion {
		at := n.get("apiVersion")
		if at == nil {
			at = n
		}
		d.errs.add(d.file, doc.index, at.line, "unknown apiVersion %q for %s (want %s)", apiVersion, kind, info.apiVersion)
		return
	}
	if d.knownObject(doc, n, &obj, info) {
		d.objs = append(d.objs, obj)
	}
}

// listItems reads the items of a List or of a typed list (ServiceList).
func (d *decoder) listItems(doc document, items *node, apiVersion, kind string) {
	fail := func(at *node, format string, args ...any) { d.errs.add(d.file, doc.index, at.line, format, args...) }
	if items == nil || items.kind == nullNode {
		return
	}
	if items.kind != listNode {
		fail(items, "items: must be a list, got %s", items.kind)
		return
	}
	elemKind := strings.TrimSuffix(kind, "List")
	for _, item := range items.vals {
		if item.kind != mapNode {
			fail(item, "item of %s is a %s, not an object", kind, item.kind)
			continue
		}
		// Items of typed lists (ServiceList) may leave out kind and
		// apiVersion; items of a List may not.
		itemAPIVersion, itemKind := apiVersion, elemKind
		if v := item.get("kind"); v != nil {
			if v.kind != stringNode {
				fail(v, "kind: must be a string, got %s", v.kind)
				continue
			}
			itemKind = v.text
		}
		if a := item.get("apiVersion"); a != nil {
			if a.kind != stringNode {
				fail(a, "apiVersion: must be a string, got %s", a.kind)
				continue
			}
			itemAPIVersion = a.text
		} else if itemKind != elemKind {
			itemAPIVersion = ""
		}
		if itemKind == "" {
			fail(item, "object has no kind")
			continue
		}
		if itemAPIVersion == "" {
			fail(item, "%s has no apiVersion", itemKind)
			continue
		}
		d.typedObject(doc, item, itemAPIVersion, itemKind)
	}
}

// unknownObject keeps an object of a kind this package does not read,
// named by its metadata; a kind that differs from a known one only in case
// is an error.
func (d *decoder) unknownObject(doc document, n *node, obj Object) {
	for k := range knownKinds {
		if strings.EqualFold(k, obj.Kind) {
			at := n.get("kind")
			if at == nil {
				at = n // an item of a typed list, whose kind it implies
			}
			d.errs.add(d.file, doc.index, at.line, "unknown kind %q (did you mean %s?)", obj.Kind, k)
			return
		}
	}
	meta := n.get("metadata")
	if v := meta.get("name"); v != nil && v.kind == stringNode {
		obj.Name = v.text
	}
	if v := meta.get("namespace"); v != nil && v.kind == stringNode {
		obj.Namespace = v.text
	}
	d.objs = append(d.objs, obj)
}

// knownObject decodes an object of a kind this package reads into its
// type, defaults its namespace and converts it (package kubeconv),
// reporting each problem at the line of its field. It reports false when
// the object cannot be used at all.
func (d *decoder) knownObject(doc document, n *node, obj *Object, info kindInfo) bool {
	typed := info.new()
	if !d.decodeTyped(doc, n, treeRef(n, obj.Kind, info.namespaced), typed) {
		return false
	}
	meta := typed.(metav1.Object)
	if meta.GetName() == "" {
		at := n.get("metadata")
		if at == nil {
			at = n
		}
		if meta.GetGenerateName() != "" {
			d.errs.add(d.file, doc.index, at.line, "%s has no metadata.name (generateName is not supported: names must be known)", obj.Kind)
		} else {
			d.errs.add(d.file, doc.index, at.line, "%s has no metadata.name", obj.Kind)
		}
		return false
	}
	if !info.namespaced {
		meta.SetNamespace("")
	} else if meta.GetNamespace() == "" {
		meta.SetNamespace("default")
	}
	obj.Name, obj.Namespace, obj.Typed = meta.GetName(), meta.GetNamespace(), typed
	conv, problems, _ := kubeconv.Convert(typed)
	conv.Ref, conv.Origin = obj.Ref(), obj.Origin()
	obj.conv = &conv
	for _, p := range problems {
		at, _ := n.lookup(p.Path)
		d.errs.add(d.file, doc.index, at.line, "%s: %s: %s", obj.Ref(), p.Path, p.Message)
	}
	return true
}

// treeRef names an object that could not be decoded by what its metadata
// says: "Service default/web", or just the kind.
func treeRef(n *node, kind string, namespaced bool) string {
	meta := n.get("metadata")
	name := meta.get("name")
	if name == nil || name.kind != stringNode || name.text == "" {
		return kind
	}
	ref := cluster.ObjectRef{Kind: kind, Name: name.text}
	if namespaced {
		ref.Namespace = "default"
		if ns := meta.get("namespace"); ns != nil && ns.kind == stringNode && ns.text != "" {
			ref.Namespace = ns.text
		}
	}
	return ref.String()
}

func isKnownList(kind string) bool {
	if kind == "List" {
		return true
	}
	_, ok := knownKinds[strings.TrimSuffix(kind, "List")]
	return ok
}

// decodeTyped decodes n into typed the way the API server does: field names
// are case-sensitive, unknown and duplicate fields are errors.
// what names the object in messages.
func (d *decoder) decodeTyped(doc document, n *node, what string, typed runtime.Object) bool {
	data := n.encodeJSON()
	strictErrs, err := sigsjson.UnmarshalStrict(data, typed)
	if err != nil {
		line, msg := describeDecodeError(n, err, typed)
		d.errs.add(d.file, doc.index, line, "%s: %s", what, msg)
		return false
	}
	for _, se := range strictErrs {
		line, msg := n.line, se.Error()
		var fe sigsjson.FieldError
		if errors.As(se, &fe) {
			line = n.lookupString(fe.FieldPath()).line
			if hint := fieldHint(reflect.TypeOf(typed), fe.FieldPath()); hint != "" {
				msg += " (did you mean " + hint + "?)"
			}
		}
		d.errs.add(d.file, doc.index, line, "%s: %s", what, msg)
	}
	return true // unknown fields are errors, but the rest of the object is good
}

// describeDecodeError finds the line of a typed decode error and phrases it
// with the field path and the value written.
func describeDecodeError(n *node, err error, typed runtime.Object) (int, string) {
	var ute *json.UnmarshalTypeError
	if !errors.As(err, &ute) {
		// An error of a custom unmarshaler (Time, Quantity): if it quotes a
		// value written once in the object, that is where it is.
		if m := quotedRE.FindStringSubmatch(err.Error()); m != nil {
			if at, p, ok := findString(n, m[1]); ok {
				return at.line, kubeconv.Path(p).String() + ": " + err.Error()
			}
		}
		return n.line, err.Error()
	}
	at, p := n.at(int(ute.Offset) - 1)
	if f := fieldsOf(p); ute.Field != "" && f != ute.Field && !strings.HasPrefix(f, ute.Field+".") {
		// The error came from a custom unmarshaler (intstr, Quantity) whose
		// offset is relative to the value: find the value by its field path.
		at, p = findField(n, strings.Split(ute.Field, "."), nil)
		if at == nil {
			return n.line, err.Error()
		}
	}
	want := typeName(ute.Type)
	msg := fmt.Sprintf("%s: cannot use %s as %s", kubeconv.Path(p), describeValue(at), want)
	switch {
	case at.kind == boolNode && want == "string":
		msg += " (unquoted true/false/yes/no/on/off are booleans in YAML as kubectl reads it: quote the value)"
	case at.kind == numberNode && want == "string":
		msg += " (quote the value)"
	}
	return at.line, msg
}

var quotedRE = regexp.MustCompile(`"([^"]+)"`)

// findString returns the only string value equal to text, if there is
// exactly one.
func findString(n *node, text string) (*node, []any, bool) {
	var found *node
	var foundPath []any
	count := 0
	var walk func(n *node, p []any)
	walk = func(n *node, p []any) {
		switch n.kind {
		case stringNode:
			if n.text == text {
				found, foundPath = n, p
				count++
			}
		case mapNode:
			for i, v := range n.vals {
				walk(v, kubeconv.Path(p).At(n.keys[i]))
			}
		case listNode:
			for i, v := range n.vals {
				walk(v, kubeconv.Path(p).At(i))
			}
		}
	}
	walk(n, nil)
	return found, foundPath, count == 1
}

func describeValue(n *node) string {
	switch n.kind {
	case stringNode:
		return fmt.Sprintf("string %q", n.text)
	case numberNode:
		return "number " + n.text
	case boolNode:
		return "boolean " + n.text
	}
	return n.kind.String()
}

func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "list"
	}
	return t.Kind().String()
}

// fieldsOf renders a path without its indices, as encoding/json names fields.
func fieldsOf(p []any) string {
	var parts []string
	for _, seg := range p {
		if s, ok := seg.(string); ok {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ".")
}

// findField finds the first value at a field path (indices left out),
// preferring one whose kind is not a plain string or integer.
func findField(n *node, fields []string, p []any) (*node, []any) {
	var first *node
	var firstPath []any
	var walk func(n *node, fields []string, p []any) bool
	walk = func(n *node, fields []string, p []any) bool {
		if n.kind == listNode {
			for i, v := range n.vals {
				if walk(v, fields, append(p[:len(p):len(p)], i)) {
					return true
				}
			}
			return false
		}
		if len(fields) == 0 {
			if first == nil {
				first, firstPath = n, p
			}
			suspicious := n.kind == boolNode || n.kind == mapNode || n.kind == listNode ||
				(n.kind == numberNode && strings.ContainsAny(n.text, ".eE"))
			if suspicious {
				first, firstPath = n, p
			}
			return suspicious
		}
		v := n.get(fields[0])
		if v == nil {
			return false
		}
		return walk(v, fields[1:], append(p[:len(p):len(p)], fields[0]))
	}
	walk(n, fields, p)
	return first, firstPath
}

// fieldHint returns the JSON name of a field of the typed object that
// matches the last element of an unknown field path but for case.
func fieldHint(t reflect.Type, fieldPath string) string {
	segs := strings.Split(regexp.MustCompile(`\[\d+\]`).ReplaceAllString(fieldPath, ""), ".")
	for i, seg := range segs {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return ""
		}
		names := jsonFields(t)
		if i == len(segs)-1 {
			for name := range names {
				if strings.EqualFold(name, seg) {
					return name
				}
			}
			return ""
		}
		ft, ok := names[seg]
		if !ok {
			return ""
		}
		t = ft
	}
	return ""
}

// jsonFields maps the JSON names of a struct's fields, inlined ones
// included, to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" && f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
