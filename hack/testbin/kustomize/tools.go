//go:build tools

// Package tools pins kustomize's main package, so that go.mod and go.sum hold everything
// `go build sigs.k8s.io/kustomize/kustomize/v5` needs. The tests render Cluster API's core, kubeadm bootstrap and
// kubeadm control-plane components from the CAPI module's config/default with it, as CAPI's release does.
package tools

import (
	_ "sigs.k8s.io/kustomize/kustomize/v5"
)
