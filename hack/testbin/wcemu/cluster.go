package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/cluster-api/util/certs"
	ctrl "sigs.k8s.io/controller-runtime"

	inmemoryruntime "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/runtime"
	inmemoryapi "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/server/api"
	inmemoryetcd "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/server/etcd"
)

// emulator holds every workload cluster, keyed by its controlPlaneEndpoint (host:port).
type emulator struct {
	mgr      inmemoryruntime.Manager
	handler  http.Handler
	mu       sync.RWMutex
	clusters map[string]*cluster
}

// cluster is one workload cluster: its certificates, its resource group in the object store, and its listener.
type cluster struct {
	endpoint  string
	caCert    *x509.Certificate
	caKey     crypto.Signer
	etcdCA    *x509.Certificate
	etcdCAKey crypto.Signer
	// etcdClusterID is the etcd cluster id every member reports.
	etcdClusterID uint64
	apiServing    *tls.Certificate
	// etcdServing holds one serving certificate per etcd pod (etcd-<node>), chained to the etcd CA.
	etcdServing map[string]*tls.Certificate
	// downNodes are nodes whose server is stopped or broken: their pods cannot be reached (port-forward fails).
	downNodes map[string]bool
	server    *http.Server
}

func newEmulator(mgr inmemoryruntime.Manager) *emulator {
	e := &emulator{mgr: mgr, clusters: map[string]*cluster{}}
	resolve := func(host string) (string, error) { return e.resolve(host) }
	log := ctrl.Log.WithName("wcemu")
	api := inmemoryapi.NewAPIServerHandler(mgr, log, resolve)
	etcd := inmemoryetcd.NewEtcdServerHandler(mgr, log, resolve)
	e.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// etcd speaks gRPC (HTTP/2); everything else is the API server.
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			etcd.ServeHTTP(w, r)
			return
		}
		if pod, ok := portForwardTarget(r); ok && e.podOnDownNode(r.Host, pod) {
			// What the real API server answers when the kubelet behind the pod does not answer.
			http.Error(w, fmt.Sprintf("error dialing backend: pod %s: node is not reachable", pod), http.StatusInternalServerError)
			return
		}
		api.ServeHTTP(w, r)
	})
	return e
}

// resolve maps a request's host (the Host header, or the local address for etcd) to its cluster's resource group.
func (e *emulator) resolve(host string) (string, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if _, ok := e.clusters[host]; ok {
		return host, nil
	}
	return "", fmt.Errorf("no workload cluster serves %s", host)
}

func (e *emulator) get(endpoint string) (*cluster, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	c, ok := e.clusters[endpoint]
	if !ok {
		return nil, errNotFound{what: "cluster " + endpoint}
	}
	return c, nil
}

// ensureCluster records the cluster kubeadm init created: certificates, the object store and its init objects.
func (e *emulator) ensureCluster(ctx context.Context, s clusterSpec) error {
	e.mu.Lock()
	if _, ok := e.clusters[s.Endpoint]; ok {
		e.mu.Unlock()
		return nil
	}
	c, err := newCluster(s)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.clusters[s.Endpoint] = c
	e.mgr.AddResourceGroup(s.Endpoint)
	e.mu.Unlock()
	return writeInitObjects(ctx, e.mgr.GetResourceGroup(s.Endpoint).GetClient(), s.ClusterConfiguration)
}

func newCluster(s clusterSpec) (*cluster, error) {
	host, _, err := net.SplitHostPort(s.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", s.Endpoint, err)
	}
	c := &cluster{endpoint: s.Endpoint, etcdServing: map[string]*tls.Certificate{}, downNodes: map[string]bool{},
		etcdClusterID: rand.Uint64N(1<<53) + 1}
	if c.caCert, c.caKey, err = decodeCA(s.CACert, s.CAKey); err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	if c.etcdCA, c.etcdCAKey, err = decodeCA(s.EtcdCACert, s.EtcdCAKey); err != nil {
		return nil, fmt.Errorf("etcd CA: %w", err)
	}
	// Like kubeadm's apiserver.crt: CN kube-apiserver, the endpoint's IP among the SANs.
	c.apiServing, err = signServing(c.caCert, c.caKey, "kube-apiserver", []string{"localhost", "kubernetes",
		"kubernetes.default", "kubernetes.default.svc"}, []net.IP{net.ParseIP(host), net.IPv4(127, 0, 0, 1)})
	return c, err
}

func decodeCA(certPEM, keyPEM string) (*x509.Certificate, crypto.Signer, error) {
	cert, err := certs.DecodeCertPEM([]byte(certPEM))
	if err != nil || cert == nil {
		return nil, nil, fmt.Errorf("certificate is not PEM: %v", err)
	}
	key, err := certs.DecodePrivateKeyPEM([]byte(keyPEM))
	if err != nil || key == nil {
		return nil, nil, fmt.Errorf("key is not PEM: %v", err)
	}
	return cert, key, nil
}

func signServing(ca *x509.Certificate, caKey crypto.Signer, cn string, dns []string, ips []net.IP) (*tls.Certificate, error) {
	key, err := certs.NewPrivateKey()
	if err != nil {
		return nil, err
	}
	cfg := &certs.Config{CommonName: cn, AltNames: certs.AltNames{DNSNames: dns, IPs: ips},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	cert, err := cfg.NewSignedCert(key, ca, caKey)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certs.EncodeCertPEM(cert), certs.EncodePrivateKeyPEM(key))
	return &pair, err
}

// setServing opens or closes the cluster's listener on exactly its endpoint. Closing drops open connections too:
// a client then sees what it sees when a floating IP or a load balancer stops routing to any API server.
func (e *emulator) setServing(endpoint string, serving bool) error {
	c, err := e.get(endpoint)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !serving {
		if c.server != nil {
			_ = c.server.Close()
			c.server = nil
		}
		return nil
	}
	if c.server != nil {
		return nil
	}
	l, err := net.Listen("tcp", endpoint) //nolint:noctx
	if err != nil {
		return fmt.Errorf("listen on %s: %w", endpoint, err)
	}
	c.server = &http.Server{Handler: e.handler, ReadHeaderTimeout: 30 * time.Second, TLSConfig: &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return e.certificateFor(c, h.ServerName) },
	}}
	go func(srv *http.Server) {
		if err := srv.ServeTLS(l, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			ctrl.Log.Error(err, "listener stopped", "endpoint", endpoint)
		}
	}(c.server)
	return nil
}

// certificateFor picks the serving certificate: an etcd member's when the client names an etcd pod (KCP reaches
// etcd through a port-forward whose TLS server name is the pod name), else the API server's.
func (e *emulator) certificateFor(c *cluster, serverName string) (*tls.Certificate, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if cert, ok := c.etcdServing[serverName]; ok {
		return cert, nil
	}
	return c.apiServing, nil
}

func (e *emulator) podOnDownNode(endpoint, pod string) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	c, ok := e.clusters[endpoint]
	if !ok {
		return false
	}
	for node := range c.downNodes {
		if strings.HasSuffix(pod, "-"+node) {
			return true
		}
	}
	return false
}

// portForwardTarget: the pod of a /api/v1/namespaces/<ns>/pods/<pod>/portforward request.
func portForwardTarget(r *http.Request) (string, bool) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 7 && parts[0] == "api" && parts[4] == "pods" && parts[6] == "portforward" {
		return parts[5], true
	}
	return "", false
}

func (e *emulator) deleteCluster(endpoint string) error {
	_ = e.setServing(endpoint, false)
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.clusters[endpoint]; ok {
		delete(e.clusters, endpoint)
		e.mgr.DeleteResourceGroup(endpoint)
	}
	return nil
}

func (e *emulator) closeAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.clusters {
		if c.server != nil {
			_ = c.server.Close()
		}
	}
}
