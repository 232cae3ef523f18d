package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A node is one value of a YAML or JSON document reduced to the JSON data
// model, with the line it was written on. Documents are converted into
// nodes, nodes into JSON for the typed decoder, and decode errors back into
// lines through the byte spans each node occupies in that JSON.
type node struct {
	kind nodeKind
	// line is where the value was introduced: the line of its key for a
	// mapping value, of its item for a sequence item.
	line int
	// text is the string, the number literal or "true"/"false".
	text string
	keys []string // mapNode keys, in document order
	vals []*node  // mapNode values (parallel to keys) or listNode items
	// start and end delimit the node in the JSON written by encodeJSON.
	start, end int
}

type nodeKind uint8

const (
	nullNode nodeKind = iota
	boolNode
	numberNode
	stringNode
	mapNode
	listNode
)

func (k nodeKind) String() string {
	switch k {
	case nullNode:
		return "null"
	case boolNode:
		return "boolean"
	case numberNode:
		return "number"
	case stringNode:
		return "string"
	case mapNode:
		return "mapping"
	default:
		return "list"
	}
}

// get returns the value of key in a mapping, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != mapNode {
		return nil
	}
	if i := slices.Index(n.keys, key); i >= 0 {
		return n.vals[i]
	}
	return nil
}

// lookup follows a path of keys (string) and indices (int) and returns the
// deepest node it reached and whether it reached the end.
func (n *node) lookup(path []any) (*node, bool) {
	cur := n
	for _, seg := range path {
		var next *node
		switch s := seg.(type) {
		case string:
			next = cur.get(s)
		case int:
			if cur.kind == listNode && s >= 0 && s < len(cur.vals) {
				next = cur.vals[s]
			}
		}
		if next == nil {
			return cur, false
		}
		cur = next
	}
	return cur, true
}

// lookupString resolves a field path as Kubernetes prints it
// ("spec.ports[0].port", "metadata.labels.app.kubernetes.io/name") and
// returns the deepest node reached. Keys containing dots are matched
// greedily against the keys the mappings actually have.
func (n *node) lookupString(path string) *node {
	cur := n
	rest := path
	for rest != "" && cur != nil {
		switch {
		case rest[0] == '.':
			rest = rest[1:]
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 || cur.kind != listNode {
				return cur
			}
			i, err := strconv.Atoi(rest[1:end])
			if err != nil || i < 0 || i >= len(cur.vals) {
				return cur
			}
			cur, rest = cur.vals[i], rest[end+1:]
		default:
			if cur.kind != mapNode {
				return cur
			}
			best := -1
			for i, k := range cur.keys {
				if strings.HasPrefix(rest, k) && (len(rest) == len(k) || rest[len(k)] == '.' || rest[len(k)] == '[') {
					if best < 0 || len(k) > len(cur.keys[best]) {
						best = i
					}
				}
			}
			if best < 0 {
				return cur
			}
			cur, rest = cur.vals[best], rest[len(cur.keys[best]):]
		}
	}
	return cur
}

// at returns the innermost node whose JSON span contains offset, with its
// path from n.
func (n *node) at(offset int) (*node, []any) {
	cur := n
	var path []any
	for {
		var next *node
		for i, v := range cur.vals {
			if v.start <= offset && offset < v.end {
				next = v
				if cur.kind == mapNode {
					path = append(path, cur.keys[i])
				} else {
					path = append(path, i)
				}
				break
			}
		}
		if next == nil {
			return cur, path
		}
		cur = next
	}
}

// encodeJSON writes n as JSON and records the span of every node.
func (n *node) encodeJSON() []byte {
	var buf bytes.Buffer
	n.writeJSON(&buf)
	return buf.Bytes()
}

func (n *node) writeJSON(buf *bytes.Buffer) {
	n.start = buf.Len()
	switch n.kind {
	case nullNode:
		buf.WriteString("null")
	case boolNode, numberNode:
		buf.WriteString(n.text)
	case stringNode:
		writeJSONString(buf, n.text)
	case mapNode:
		buf.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, k)
			buf.WriteByte(':')
			n.vals[i].writeJSON(buf)
		}
		buf.WriteByte('}')
	case listNode:
		buf.WriteByte('[')
		for i, v := range n.vals {
			if i > 0 {
				buf.WriteByte(',')
			}
			v.writeJSON(buf)
		}
		buf.WriteByte(']')
	}
	n.end = buf.Len()
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // cannot fail for a string
	buf.Write(b)
}

// posError is an error at a line of the input.
type posError struct {
	line int
	err  error
}

func (e *posError) Error() string { return e.err.Error() }
func (e *posError) Unwrap() error { return e.err }

// yamlConverter turns a yaml.v3 node tree into nodes, accounting every
// value in budget.
type yamlConverter struct {
	budget *Budget
	// expanding holds the anchored nodes being converted: an alias to one
	// of them is a value that contains itself.
	expanding map[*yaml.Node]bool
	// aliasLine is the line of the outermost alias being expanded.
	aliasLine int
}

// yaml11Bools are the plain scalars YAML 1.1 reads as booleans. kubectl
// reads manifests with a YAML 1.1 parser, so an unquoted "yes" in a string
// field is a type error there; it is one here too.
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

// convert converts y, written at line and nested depth deep; alias says
// it is reached through an alias (its values count as alias expansion).
func (c *yamlConverter) convert(y *yaml.Node, line, depth int, alias bool) (*node, error) {
	if depth > MaxDepth {
		return nil, &posError{line, errTooDeep()}
	}
	if y.Kind != yaml.DocumentNode && y.Kind != yaml.AliasNode {
		if err := c.budget.takeValue(alias); err != nil {
			if alias {
				line = c.aliasLine // where the expansion was asked for
			}
			return nil, &posError{line, err}
		}
	}
	if y.Anchor != "" {
		if c.expanding == nil {
			c.expanding = map[*yaml.Node]bool{}
		}
		c.expanding[y] = true
		defer delete(c.expanding, y)
	}
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &node{kind: nullNode, line: y.Line}, nil
		}
		return c.convert(y.Content[0], y.Content[0].Line, depth, alias)
	case yaml.AliasNode:
		return c.alias(y, line, depth, alias)
	case yaml.SequenceNode:
		return c.sequence(y, line, depth, alias)
	case yaml.MappingNode:
		return c.mapping(y, line, depth, alias)
	case yaml.ScalarNode:
		return c.scalar(y, line)
	}
	return nil, &posError{y.Line, fmt.Errorf("unexpected YAML node kind %d", y.Kind)}
}

// alias converts the value an alias refers to, refusing one that contains
// the alias.
func (c *yamlConverter) alias(y *yaml.Node, line, depth int, alias bool) (*node, error) {
	if y.Alias == nil {
		return nil, &posError{y.Line, errors.New("unknown alias")}
	}
	if c.expanding[y.Alias] {
		return nil, &posError{y.Line, fmt.Errorf("%w: *%s refers to a value that contains it (anchored at line %d), so it would never end", errAliasCycle, y.Value, y.Alias.Line)}
	}
	if !alias {
		c.aliasLine = y.Line
	}
	return c.convert(y.Alias, line, depth, true)
}

func (c *yamlConverter) sequence(y *yaml.Node, line, depth int, alias bool) (*node, error) {
	n := &node{kind: listNode, line: line, vals: make([]*node, 0, len(y.Content))}
	for _, item := range y.Content {
		v, err := c.convert(item, item.Line, depth+1, alias)
		if err != nil {
			return nil, err
		}
		n.vals = append(n.vals, v)
	}
	return n, nil
}

// mapping converts a mapping: keys must be scalars and unique; "<<" merge
// keys add the keys the mapping does not have.
func (c *yamlConverter) mapping(y *yaml.Node, line, depth int, alias bool) (*node, error) {
	n := &node{kind: mapNode, line: line}
	seen := map[string]int{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(y.Content); i += 2 {
		k, v := y.Content[i], y.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, &posError{k.Line, errors.New("mapping key is not a scalar")}
		}
		if first, dup := seen[k.Value]; dup {
			return nil, &posError{k.Line, fmt.Errorf("key %q already defined at line %d", k.Value, first)}
		}
		seen[k.Value] = k.Line
		val, err := c.convert(v, k.Line, depth+1, alias)
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, k.Value)
		n.vals = append(n.vals, val)
	}
	for _, m := range merges {
		if err := c.merge(n, m, seen, depth+1, alias); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// merge adds the keys of a "<<" merge value that n does not have yet.
func (c *yamlConverter) merge(n *node, m *yaml.Node, seen map[string]int, depth int, alias bool) error {
	if depth > MaxDepth {
		return &posError{m.Line, errTooDeep()}
	}
	for m.Kind == yaml.AliasNode && m.Alias != nil {
		if c.expanding[m.Alias] {
			return &posError{m.Line, fmt.Errorf("%w: the merge of *%s is inside the mapping it names (anchored at line %d), so it would never end", errAliasCycle, m.Value, m.Alias.Line)}
		}
		if !alias {
			c.aliasLine = m.Line
		}
		m, alias = m.Alias, true
	}
	switch m.Kind {
	case yaml.SequenceNode:
		for _, item := range m.Content {
			if err := c.merge(n, item, seen, depth+1, alias); err != nil {
				return err
			}
		}
		return nil
	case yaml.MappingNode:
		merged, err := c.convert(m, m.Line, depth, alias)
		if err != nil {
			return err
		}
		for i, k := range merged.keys {
			if _, ok := seen[k]; ok {
				continue
			}
			seen[k] = merged.vals[i].line
			n.keys = append(n.keys, k)
			n.vals = append(n.vals, merged.vals[i])
		}
		return nil
	}
	return &posError{m.Line, errors.New("merge key (<<) value is not a mapping")}
}

func (c *yamlConverter) scalar(y *yaml.Node, line int) (*node, error) {
	n := &node{line: line}
	switch y.ShortTag() {
	case "!!null":
		n.kind = nullNode
	case "!!bool":
		var b bool
		if err := y.Decode(&b); err != nil {
			return nil, &posError{y.Line, err}
		}
		n.kind, n.text = boolNode, strconv.FormatBool(b)
	case "!!int":
		var v any
		if err := y.Decode(&v); err != nil {
			return nil, &posError{y.Line, err}
		}
		n.kind = numberNode
		switch v := v.(type) {
		case int:
			n.text = strconv.Itoa(v)
		case int64:
			n.text = strconv.FormatInt(v, 10)
		case uint64:
			n.text = strconv.FormatUint(v, 10)
		case float64:
			return floatNode(n, v, y)
		default:
			return nil, &posError{y.Line, fmt.Errorf("cannot read %q as an integer", y.Value)}
		}
	case "!!float":
		var f float64
		if err := y.Decode(&f); err != nil {
			return nil, &posError{y.Line, err}
		}
		return floatNode(n, f, y)
	default: // !!str, !!timestamp, !!binary and custom tags: keep the text
		if b, ok := yaml11Bools[y.Value]; ok && y.Style == 0 && y.Tag == "!!str" {
			n.kind, n.text = boolNode, strconv.FormatBool(b)
			return n, nil
		}
		n.kind, n.text = stringNode, y.Value
	}
	return n, nil
}

func floatNode(n *node, f float64, y *yaml.Node) (*node, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, &posError{y.Line, fmt.Errorf("%s cannot be represented in JSON", y.Value)}
	}
	b, _ := json.Marshal(f) // finite floats always marshal
	n.kind, n.text = numberNode, string(b)
	return n, nil
}

// jsonReader builds nodes from a JSON text (one value or a stream of values)
// and keeps the line of every value.
type jsonReader struct {
	data   []byte
	dec    *json.Decoder
	lines  lineIndex
	budget *Budget
}

func newJSONReader(data []byte, b *Budget) *jsonReader {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return &jsonReader{data: data, dec: dec, lines: newLineIndex(data), budget: b}
}

// next returns the next top-level value and the line it starts on, or io.EOF.
func (r *jsonReader) next() (*node, int, error) {
	line := r.nextLine()
	tok, err := r.dec.Token()
	if err != nil {
		return nil, line, r.wrap(err)
	}
	n, err := r.value(tok, line, 0)
	return n, line, err
}

// nextLine returns the line of the next token.
func (r *jsonReader) nextLine() int {
	off := int(r.dec.InputOffset())
	for off < len(r.data) && strings.IndexByte(" \t\r\n,:", r.data[off]) >= 0 {
		off++
	}
	return r.lines.line(off)
}

func (r *jsonReader) value(tok json.Token, line, depth int) (*node, error) {
	if depth > MaxDepth {
		return nil, &posError{line, errTooDeep()}
	}
	if err := r.budget.takeValue(false); err != nil {
		return nil, &posError{line, err}
	}
	switch t := tok.(type) {
	case nil:
		return &node{kind: nullNode, line: line}, nil
	case bool:
		return &node{kind: boolNode, line: line, text: strconv.FormatBool(t)}, nil
	case json.Number:
		text := t.String()
		if strings.ContainsAny(text, ".eE") {
			f, err := t.Float64()
			if err != nil {
				return nil, &posError{line, fmt.Errorf("number %s: %w", text, err)}
			}
			b, _ := json.Marshal(f)
			text = string(b)
		}
		return &node{kind: numberNode, line: line, text: text}, nil
	case string:
		return &node{kind: stringNode, line: line, text: t}, nil
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: mapNode, line: line}
			seen := map[string]int{}
			for r.dec.More() {
				keyLine := r.nextLine()
				ktok, err := r.dec.Token()
				if err != nil {
					return nil, r.wrap(err)
				}
				key, _ := ktok.(string) // object keys are always strings
				if first, dup := seen[key]; dup {
					return nil, &posError{keyLine, fmt.Errorf("key %q already defined at line %d", key, first)}
				}
				seen[key] = keyLine
				vtok, err := r.dec.Token()
				if err != nil {
					return nil, r.wrap(err)
				}
				v, err := r.value(vtok, keyLine, depth+1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, key)
				n.vals = append(n.vals, v)
			}
			if _, err := r.dec.Token(); err != nil { // '}'
				return nil, r.wrap(err)
			}
			return n, nil
		case '[':
			n := &node{kind: listNode, line: line}
			for r.dec.More() {
				itemLine := r.nextLine()
				itok, err := r.dec.Token()
				if err != nil {
					return nil, r.wrap(err)
				}
				v, err := r.value(itok, itemLine, depth+1)
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, v)
			}
			if _, err := r.dec.Token(); err != nil { // ']'
				return nil, r.wrap(err)
			}
			return n, nil
		}
	}
	return nil, &posError{line, fmt.Errorf("unexpected JSON token %v", tok)}
}

// wrap attaches a line to a JSON syntax error.
func (r *jsonReader) wrap(err error) error {
	if err == io.EOF {
		return err
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return &posError{r.lines.line(int(syn.Offset) - 1), err}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &posError{r.lines.line(len(r.data)), errors.New("unexpected end of JSON input")}
	}
	return &posError{r.nextLine(), err}
}

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex []int // offsets at which lines start

func newLineIndex(data []byte) lineIndex {
	idx := lineIndex{0}
	for i, b := range data {
		if b == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

func (idx lineIndex) line(offset int) int {
	offset = max(offset, 0)
	i, found := slices.BinarySearch(idx, offset)
	if found {
		return i + 1
	}
	return i
}
