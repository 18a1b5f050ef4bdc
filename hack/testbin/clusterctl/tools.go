//go:build tools

// Package tools pins clusterctl's main package of sigs.k8s.io/cluster-api, so that go.mod and go.sum hold everything
// `go build sigs.k8s.io/cluster-api/cmd/clusterctl` needs.
package tools

import (
	_ "sigs.k8s.io/cluster-api/cmd/clusterctl"
)
