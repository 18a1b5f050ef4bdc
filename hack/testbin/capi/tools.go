//go:build tools

// Package tools pins the three manager commands (main packages) of sigs.k8s.io/cluster-api, so that go.mod and
// go.sum hold everything `go build sigs.k8s.io/cluster-api/<cmd>` needs.
package tools

import (
	_ "sigs.k8s.io/cluster-api/bootstrap/kubeadm"
	_ "sigs.k8s.io/cluster-api/controlplane/kubeadm"
	_ "sigs.k8s.io/cluster-api/core"
)
