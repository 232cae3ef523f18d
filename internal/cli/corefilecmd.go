package cli

import (
	"fmt"

	"github.com/clusterdns/clusterdns/internal/corefile"
	"github.com/spf13/cobra"
)

func newCorefileCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "corefile",
		Short: "Work with CoreDNS Corefiles",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check PATH",
		Short: "Say what each line of a Corefile becomes in clusterdns, and what it does not support",
		Long: `check reads a Corefile as CoreDNS 1.14.2 reads it (imports, snippets,
{$ENV}) and prints, line by line, what each directive becomes in clusterdns,
then every line clusterdns does not support or cannot read, with its
position. serve --corefile refuses the same lines.

Exit status: 0 when clusterdns serves the Corefile as written, 1 when a line
is not supported or not valid, 2 on usage errors.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(_ *cobra.Command, args []string) error {
			rep := corefile.CheckFile(args[0])
			if err := rep.WriteText(s.out); err != nil {
				return err
			}
			if !rep.OK() {
				return failed(fmt.Errorf("%s: %d line(s) clusterdns does not serve as written", args[0], len(rep.Problems)))
			}
			cfg, err := corefile.ParseFile(args[0])
			if err != nil {
				return failed(err)
			}
			if err := (&serveCorefile{cfg: cfg}).check(); err != nil {
				fmt.Fprintln(s.out, err)
				return failed(fmt.Errorf("%s: serve cannot run it yet", args[0]))
			}
			return nil
		},
	})
	return cmd
}
