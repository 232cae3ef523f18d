// Command etcd is etcd's server, built from the module version pinned in
// go.mod (the one the Kubernetes release uses), so that the e2e control
// plane runs an etcd that Kubernetes supports: Debian's etcd 3.4 cannot
// answer the API server's progress requests, which disables consistent
// reads from its cache and streaming lists (WatchList) for every client.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
