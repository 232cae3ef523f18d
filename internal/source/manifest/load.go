package manifest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/clusterdns/clusterdns/internal/cluster"
)

// StdinName is the file name given to what is read from "-".
const StdinName = "<stdin>"

// Load reads the manifests at paths and returns the state a cluster holding
// them would have. A path is a file (read whatever its extension), a
// directory (searched recursively for *.yaml, *.yml and *.json, skipping
// hidden directories) or "-" for stdin.
//
// The error joins an *Error for every problem found in any file (see
// Errors); the state is nil then. Invalid options and a cancelled ctx give
// plain errors.
func Load(ctx context.Context, paths []string, stdin io.Reader, opts Options) (*cluster.State, error) {
	opts, err := opts.normalize()
	if err != nil {
		return nil, fmt.Errorf("loading manifests: %w", err)
	}
	l := loader{fileOrder: map[string]int{}, budget: NewBudget(opts.Limits)}
	stdinRead := false
	seen := map[string]bool{} // a file is read once, however it is named
	for _, p := range paths {
		if p == "-" {
			if stdinRead || stdin == nil {
				continue
			}
			stdinRead = true
			data, err := l.budget.ReadAll(stdin)
			if err != nil {
				l.errs.add(StdinName, 0, 0, "reading: %v", err)
				if errors.Is(err, errLimit) {
					return nil, l.errs.join()
				}
				continue
			}
			l.decode(StdinName, data)
			continue
		}
		files, errs := collectFiles([]string{p}, seen)
		l.errs = append(l.errs, errs...)
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			data, err := l.budget.ReadFile(f)
			if err != nil {
				l.errs.add(f, 0, 0, "reading: %v", unwrapPathError(err))
				if errors.Is(err, errLimit) {
					return nil, l.errs.join()
				}
				continue
			}
			l.decode(f, data)
		}
	}
	return l.finish(ctx, opts)
}

// LoadFS is Load over a file system: every *.yaml, *.yml and *.json file in
// fsys, outside hidden directories. File names in errors and origins are
// paths within fsys.
func LoadFS(ctx context.Context, fsys fs.FS, opts Options) (*cluster.State, error) {
	opts, err := opts.normalize()
	if err != nil {
		return nil, fmt.Errorf("loading manifests: %w", err)
	}
	l := loader{fileOrder: map[string]int{}, budget: NewBudget(opts.Limits)}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			l.errs.add(p, 0, 0, "reading: %v", unwrapPathError(err))
			return nil
		}
		if d.IsDir() {
			if p != "." && isHidden(d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		if !hasManifestExt(p) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			l.errs.add(p, 0, 0, "reading: %v", unwrapPathError(err))
			return nil
		}
		if err := l.budget.takeBytes(int64(len(data))); err != nil {
			l.errs.add(p, 0, 0, "reading: %v", err)
			return fs.SkipAll
		}
		l.decode(p, data)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l.finish(ctx, opts)
}

// Files returns the files Load would read for paths, in the order it would
// read them: for a file watcher. "-" is left out.
func Files(paths []string) ([]string, error) {
	out, errs := collectFiles(paths, map[string]bool{})
	return out, errs.join()
}

// collectFiles lists the files to read for paths, leaving out those in seen
// (cleaned paths) and adding the others to it.
func collectFiles(paths []string, seen map[string]bool) ([]string, errorList) {
	var out []string
	var errs errorList
	add := func(p string) {
		if c := filepath.Clean(p); !seen[c] {
			seen[c] = true
			out = append(out, p)
		}
	}
	for _, root := range paths {
		if root == "-" {
			continue
		}
		info, err := os.Stat(root)
		if err != nil {
			errs.add(root, 0, 0, "%v", unwrapPathError(err))
			continue
		}
		if !info.IsDir() {
			add(root) // named explicitly: read whatever its extension
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				errs.add(p, 0, 0, "%v", unwrapPathError(err))
				return nil
			}
			if d.IsDir() {
				if p != root && isHidden(d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if !hasManifestExt(p) {
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				// Follow links to files (a mounted ConfigMap is made of them).
				if info, err := os.Stat(p); err != nil || !info.Mode().IsRegular() {
					return nil
				}
			} else if !d.Type().IsRegular() {
				return nil
			}
			add(p)
			return nil
		})
		if err != nil {
			errs.add(root, 0, 0, "%v", err)
		}
	}
	return out, errs
}

func isHidden(name string) bool { return strings.HasPrefix(name, ".") }

func hasManifestExt(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// unwrapPathError drops the path from an *fs.PathError: Error names the file.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// loader accumulates the objects and errors of the files of one Load.
type loader struct {
	objs      []Object
	errs      errorList
	fileOrder map[string]int
	budget    *Budget
}

func (l *loader) decode(file string, data []byte) {
	if _, ok := l.fileOrder[file]; !ok {
		l.fileOrder[file] = len(l.fileOrder)
	}
	objs, err := DecodeWithin(l.budget, file, data)
	l.objs = append(l.objs, objs...)
	l.errs = append(l.errs, Errors(err)...)
}

func (l *loader) finish(ctx context.Context, opts Options) (*cluster.State, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l.budget.exceeded() {
		// The objects are a part of the input: deriving from them would
		// only add errors that are not there.
		l.errs.sortByPosition(l.fileOrder)
		return nil, l.errs.join()
	}
	st, errs := build(l.objs, opts, l.errs)
	if len(errs) > 0 {
		errs.sortByPosition(l.fileOrder)
		return nil, errs.join()
	}
	return st, nil
}
