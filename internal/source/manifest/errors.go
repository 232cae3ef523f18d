package manifest

import (
	"errors"
	"fmt"
	"slices"
)

// Error is a problem found in a manifest file. Line is 1-based; it is 0 for
// problems with the file as a whole (it cannot be read), in which case
// Document is meaningless.
type Error struct {
	File     string
	Document int // 0-based index of the YAML document or JSON value in File
	Line     int
	Err      error
}

// Error renders the error as "file:line: document N: message".
func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: document %d: %v", e.File, e.Line, e.Document, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Errors returns the *Error values err holds: err itself, or the errors it
// joins. Load and Decode return errors that this unpacks completely.
func Errors(err error) []*Error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*Error
		for _, e := range joined.Unwrap() {
			out = append(out, Errors(e)...)
		}
		return out
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}

// errorList collects errors in the order they are found.
type errorList []*Error

func (l *errorList) add(file string, doc, line int, format string, args ...any) {
	*l = append(*l, &Error{File: file, Document: doc, Line: line, Err: fmt.Errorf(format, args...)})
}

func (l *errorList) addErr(file string, doc, line int, err error) {
	*l = append(*l, &Error{File: file, Document: doc, Line: line, Err: err})
}

// join returns the collected errors as one error, nil if there are none.
func (l errorList) join() error {
	if len(l) == 0 {
		return nil
	}
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// sortByPosition orders errors by file (in first-seen order), then line.
func (l errorList) sortByPosition(fileOrder map[string]int) {
	slices.SortStableFunc(l, func(a, b *Error) int {
		if c := fileOrder[a.File] - fileOrder[b.File]; c != 0 {
			return c
		}
		return a.Line - b.Line
	})
}
