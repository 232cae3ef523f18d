// Package examples holds the example cluster that "clusterdns serve" loads
// when no source is given: manifests a newcomer can read, query and break.
package examples

import "embed"

// Cluster is the example cluster's manifests (cluster/*.yaml).
//
//go:embed cluster
var Cluster embed.FS
