// Package cli holds the clusterdns commands (cobra): flag parsing, wiring
// sources to the record engine and the server, and what a person reads on
// the terminal. Rules live in package zone, not here.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/clusterdns/clusterdns/internal/zone"
	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = ""

// Exit statuses, the same for every command; each command's help says
// what "no" means for it.
const (
	// exitNo: the command ran and the answer is no (the name does not
	// resolve, the server drifts, lint has findings), or serve stopped on
	// an error.
	exitNo = 1
	// exitUsage: usage or input errors (flags, arguments, inputs that do
	// not read); nothing was checked.
	exitUsage = 2
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as a usage or input error: exit status 2, whatever
// the command. It is the one way commands say so, and cobra's own flag and
// argument errors go through it too (newRoot, usageArgs).
func usageError(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: exitUsage, err: err}
}

// usageArgs makes the errors of a positional-argument check usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		return usageError(check(cmd, args))
	}
}

// failed says the answer is no: exit status 1 with err as the message.
func failed(err error) error { return &exitError{code: exitNo, err: err} }

type streams struct {
	in       io.Reader
	out, err io.Writer
}

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(streams{in: stdin, out: stdout, err: stderr})
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	if cmd == root {
		// The root only finds the command: its errors (an unknown
		// command) are usage errors.
		err = usageError(err)
	}
	fmt.Fprintf(stderr, "clusterdns: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitNo
}

func newRoot(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "clusterdns",
		Short:         "Kubernetes cluster DNS: serve it, explain it, check it",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Every command inherits it: a flag that does not parse is a usage error.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.AddCommand(newServeCmd(s), newExplainCmd(s), newLintCmd(s), newResolveCmd(s), newProbeCmd(s), newCorefileCmd(s), newDoctorCmd(s), newVersionCmd(s))
	return root
}

func versionString() string {
	v := Version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return v
}

func newVersionCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(s.out, "clusterdns %s (Kubernetes DNS schema %s)\n", versionString(), zone.SchemaVersion)
			return nil
		},
	}
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
