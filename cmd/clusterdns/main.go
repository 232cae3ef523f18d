// Command clusterdns serves, explains and checks Kubernetes cluster DNS.
// The commands live in internal/cli; this file only runs them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/clusterdns/clusterdns/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
