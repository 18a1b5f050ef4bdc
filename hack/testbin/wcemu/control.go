package main

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// clusterSpec is what the first control-plane machine's kubeadm init brings (from its user data).
type clusterSpec struct {
	// Endpoint is the controlPlaneEndpoint, host:port.
	Endpoint string `json:"endpoint"`
	// CACert, CAKey, EtcdCACert, EtcdCAKey: PEM, as kubeadm cloud-init writes them to /etc/kubernetes/pki.
	CACert     string `json:"caCert"`
	CAKey      string `json:"caKey"`
	EtcdCACert string `json:"etcdCaCert"`
	EtcdCAKey  string `json:"etcdCaKey"`
	// ClusterConfiguration is kubeadm's ClusterConfiguration document (YAML), stored in kube-system/kubeadm-config.
	ClusterConfiguration string `json:"clusterConfiguration"`
}

// nodeSpec is one booted machine as its kubelet would register it.
type nodeSpec struct {
	ProviderID     string `json:"providerID"`
	ControlPlane   bool   `json:"controlPlane"`
	KubeletVersion string `json:"kubeletVersion"`
	// Ready is false while the server is stopped or in ERROR: the kubelet stops posting status.
	Ready bool `json:"ready"`
}

type servingSpec struct {
	Serving bool `json:"serving"`
}

// controlAPI: the JSON API that src/emulator drives. Every call is idempotent (a desired state, not an event).
//
//	PUT    /clusters/{endpoint}                 clusterSpec: the cluster exists (kubeadm init ran)
//	PUT    /clusters/{endpoint}/serving         servingSpec: OpenStack routes the endpoint to a live API server
//	PUT    /clusters/{endpoint}/nodes/{name}    nodeSpec: the machine joined (or its state changed)
//	DELETE /clusters/{endpoint}/nodes/{name}    the machine is gone
//	DELETE /clusters/{endpoint}                 the cluster is gone
//	GET    /clusters/{endpoint}                 what the cluster holds, and whether the endpoint answers over TLS
func (e *emulator) controlAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { reply(w, map[string]bool{"ok": true}, nil) })
	mux.HandleFunc("PUT /clusters/{endpoint}", func(w http.ResponseWriter, r *http.Request) {
		var s clusterSpec
		if decode(w, r, &s) {
			s.Endpoint = r.PathValue("endpoint")
			reply(w, nil, e.ensureCluster(r.Context(), s))
		}
	})
	mux.HandleFunc("DELETE /clusters/{endpoint}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, e.deleteCluster(r.PathValue("endpoint")))
	})
	mux.HandleFunc("GET /clusters/{endpoint}", func(w http.ResponseWriter, r *http.Request) {
		st, err := e.clusterStatus(r.Context(), r.PathValue("endpoint"))
		reply(w, st, err)
	})
	mux.HandleFunc("PUT /clusters/{endpoint}/serving", func(w http.ResponseWriter, r *http.Request) {
		var s servingSpec
		if decode(w, r, &s) {
			reply(w, nil, e.setServing(r.PathValue("endpoint"), s.Serving))
		}
	})
	mux.HandleFunc("PUT /clusters/{endpoint}/nodes/{name}", func(w http.ResponseWriter, r *http.Request) {
		var s nodeSpec
		if decode(w, r, &s) {
			reply(w, nil, e.ensureNode(r.Context(), r.PathValue("endpoint"), r.PathValue("name"), s))
		}
	})
	mux.HandleFunc("DELETE /clusters/{endpoint}/nodes/{name}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, e.deleteNode(r.Context(), r.PathValue("endpoint"), r.PathValue("name")))
	})
	return mux
}

// errNotFound marks a call about a cluster the emulator does not hold (answered 404).
type errNotFound struct{ what string }

func (e errNotFound) Error() string { return fmt.Sprintf("%s not found", e.what) }

func decode(w http.ResponseWriter, r *http.Request, into any) bool {
	if err := json.NewDecoder(r.Body).Decode(into); err != nil {
		reply(w, nil, fmt.Errorf("bad request body: %w", err))
		return false
	}
	return true
}

func reply(w http.ResponseWriter, body any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		status := http.StatusInternalServerError
		if _, ok := err.(errNotFound); ok {
			status = http.StatusNotFound
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	if body == nil {
		body = map[string]bool{"ok": true}
	}
	_ = json.NewEncoder(w).Encode(body)
}
