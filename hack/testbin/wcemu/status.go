package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	cloudv1 "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/cloud/api/v1alpha1"
	inmemoryruntime "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/runtime"
)

type nodeStatusView struct {
	Name         string `json:"name"`
	ProviderID   string `json:"providerID"`
	ControlPlane bool   `json:"controlPlane"`
	Ready        bool   `json:"ready"`
}

type clusterStatusView struct {
	Endpoint string `json:"endpoint"`
	Serving  bool   `json:"serving"`
	// Reachable: a TLS client trusting only the cluster CA gets an answer from https://<endpoint>/ right now.
	Reachable     bool             `json:"reachable"`
	ReachError    string           `json:"reachError,omitempty"`
	Nodes         []nodeStatusView `json:"nodes"`
	EtcdMembers   []string         `json:"etcdMembers"`
	EtcdLeader    string           `json:"etcdLeader"`
	KubeadmConfig bool             `json:"kubeadmConfig"`
}

// clusterStatus reads the cluster back as a client would, and dials its endpoint (from inside the namespace).
func (e *emulator) clusterStatus(ctx context.Context, endpoint string) (*clusterStatusView, error) {
	cl, err := e.get(endpoint)
	if err != nil {
		return nil, err
	}
	c := e.mgr.GetResourceGroup(endpoint).GetClient()
	view := &clusterStatusView{Endpoint: endpoint, Nodes: []nodeStatusView{}, EtcdMembers: []string{}}
	e.mu.RLock()
	view.Serving = cl.server != nil
	e.mu.RUnlock()
	nodes, err := listNodes(ctx, c)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		_, cp := n.Labels[controlPlaneRole]
		v := nodeStatusView{Name: n.Name, ProviderID: n.Spec.ProviderID, ControlPlane: cp}
		for _, cond := range n.Status.Conditions {
			v.Ready = v.Ready || (cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue)
		}
		view.Nodes = append(view.Nodes, v)
	}
	pods, err := etcdPods(ctx, c)
	if err != nil {
		return nil, err
	}
	var leaderFrom time.Time
	for _, p := range pods {
		if _, removed := p.Annotations[cloudv1.EtcdMemberRemoved]; removed {
			continue
		}
		view.EtcdMembers = append(view.EtcdMembers, p.Spec.NodeName)
		if t, err := time.Parse(time.RFC3339, p.Annotations[cloudv1.EtcdLeaderFromAnnotationName]); err == nil && t.After(leaderFrom) {
			view.EtcdLeader, leaderFrom = p.Spec.NodeName, t
		}
	}
	view.KubeadmConfig = c.Get(ctx, objectKey("kube-system", "kubeadm-config"), &corev1.ConfigMap{}) == nil
	if err := probe(ctx, endpoint, cl.caCert); err != nil {
		view.ReachError = err.Error()
	} else {
		view.Reachable = true
	}
	return view, nil
}

func probe(ctx context.Context, endpoint string, ca *x509.Certificate) error {
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+endpoint+"/", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET / answered %d", resp.StatusCode)
	}
	return nil
}

// listNodes lists through unstructured: Nodes written by clients of the emulated API server (KCP labels them) are
// stored unstructured, and the store cannot put those into a typed list.
func listNodes(ctx context.Context, c inmemoryruntime.Client) ([]corev1.Node, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NodeList"))
	if err := c.List(ctx, list); err != nil {
		return nil, err
	}
	out := make([]corev1.Node, 0, len(list.Items))
	for _, u := range list.Items {
		var n corev1.Node
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
