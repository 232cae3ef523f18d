package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"gopkg.in/yaml.v3"
)

// Limits bound what one input (every file of one Load, or of one lint run)
// may cost, so that a hostile or broken manifest gives an error naming its
// file and line instead of exhausting memory or the stack.
type Limits struct {
	// MaxBytes bounds the bytes of all the files read; default
	// DefaultMaxBytes.
	MaxBytes int64
	// MaxValues bounds the values (mappings, lists, scalars) of all the
	// documents, aliases expanded; default DefaultMaxValues.
	MaxValues int64
}

// Defaults of Limits, and the bounds that are not options.
const (
	// DefaultMaxBytes: a dump of a few thousand nodes' objects fits.
	DefaultMaxBytes = 64 << 20
	// DefaultMaxValues: about what 64 MiB of ordinary YAML holds; each
	// value costs about 100 bytes decoded.
	DefaultMaxValues = 4 << 20
	// MaxAliasValues bounds the values that YAML aliases add, over the
	// whole input: anchors in real manifests repeat a few labels or an
	// env list, while a few lines of nested aliases ("billion laughs")
	// can ask for billions.
	MaxAliasValues = 1 << 18
	// MaxDepth bounds how deeply values nest. No Kubernetes object nests
	// beyond a few dozen levels (CRD schemas included); the bound keeps
	// every recursive step far from the stack limit.
	MaxDepth = 1000
)

func (l Limits) normalize() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxValues <= 0 {
		l.MaxValues = DefaultMaxValues
	}
	return l
}

// Budget accounts one input against its Limits. It is safe for concurrent
// use, so files decoded in parallel share it.
type Budget struct {
	lim    Limits
	bytes  atomic.Int64
	values atomic.Int64
	alias  atomic.Int64
}

// NewBudget returns an empty budget for lim (zero fields: the defaults).
func NewBudget(lim Limits) *Budget { return &Budget{lim: lim.normalize()} }

// errLimit marks the errors of an exceeded limit.
var errLimit = errors.New("limit exceeded")

// takeBytes accounts n bytes read.
func (b *Budget) takeBytes(n int64) error {
	if b.bytes.Add(n) > b.lim.MaxBytes {
		return fmt.Errorf("%w: the manifests are larger than %d bytes in all (--manifest-max-bytes)", errLimit, b.lim.MaxBytes)
	}
	return nil
}

// takeValue accounts one decoded value; alias says an alias made it.
func (b *Budget) takeValue(alias bool) error {
	if alias && b.alias.Add(1) > MaxAliasValues {
		return fmt.Errorf("%w: YAML aliases expand to more than %d values in all (nested aliases?)", errLimit, MaxAliasValues)
	}
	if b.values.Add(1) > b.lim.MaxValues {
		return fmt.Errorf("%w: the manifests hold more than %d values in all (--manifest-max-values)", errLimit, b.lim.MaxValues)
	}
	return nil
}

func errTooDeep() error {
	return fmt.Errorf("%w: values nest deeper than %d levels", errLimit, MaxDepth)
}

// ReadAll reads r within the budget: it stops reading once the input is
// over MaxBytes.
func (b *Budget) ReadAll(r io.Reader) ([]byte, error) {
	left := b.lim.MaxBytes - b.bytes.Load()
	data, err := io.ReadAll(io.LimitReader(r, max(left, 0)+1))
	if err != nil {
		return nil, err
	}
	if err := b.takeBytes(int64(len(data))); err != nil {
		return nil, err
	}
	return data, nil
}

// ReadFile reads a file within the budget: it stops reading once the input
// is over MaxBytes, so a huge file costs no more than the limit.
func (b *Budget) ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return b.ReadAll(f)
}

// exceeded reports whether a limit was reached.
func (b *Budget) exceeded() bool {
	return b.bytes.Load() > b.lim.MaxBytes || b.values.Load() > b.lim.MaxValues || b.alias.Load() > MaxAliasValues
}

// errAliasCycle marks an alias inside the value it names.
var errAliasCycle = errors.New("YAML alias cycle")

// Guard checks a file that another YAML reader (kustomize's) is about to
// read, with this package's bounds: an alias inside the value it names,
// nesting deeper than MaxDepth, alias expansion or values past the budget
// are an *Error at their line, where that reader would recurse until the
// stack overflows or expand aliases until memory runs out. Syntax errors
// and files that are not YAML at all are left to that reader (nil).
func (b *Budget) Guard(file string, data []byte) error {
	if err := b.takeBytes(int64(len(data))); err != nil {
		return &Error{File: file, Err: err}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var y yaml.Node
		if err := dec.Decode(&y); err != nil {
			return nil // the end, or a syntax error: the reader's to report
		}
		c := yamlConverter{budget: b}
		if _, err := c.convert(&y, y.Line, 0, false); err != nil && (errors.Is(err, errLimit) || errors.Is(err, errAliasCycle)) {
			return &Error{File: file, Document: i, Line: errLine(err, y.Line), Err: err}
		}
	}
}
