//go:build tools

// Package tools pins upstream CAPO's manager (its main package is the module root) and ORC's module (whose
// images.openstack.k-orc.cloud CRD upstream CAPO needs at run time), so that go.mod and go.sum hold everything
// `go build sigs.k8s.io/cluster-api-provider-openstack` needs. Used only by `npm run bench:upstream`.
package tools

import (
	_ "github.com/k-orc/openstack-resource-controller/v2/api/v1alpha1"
	_ "sigs.k8s.io/cluster-api-provider-openstack"
)
