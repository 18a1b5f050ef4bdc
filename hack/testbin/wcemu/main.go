// Command wcemu emulates the workload clusters that kubeadm would boot on simulated OpenStack servers, so that the
// real Cluster API managers (KubeadmControlPlane, MachineDeployment, MachineHealthCheck) can finish their lifecycle.
//
// It serves each cluster's API server (and its etcd, reached through port-forward like the real one) with the public
// packages of Cluster API's in-memory provider (sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg): an object
// store, an API server handler and an etcd handler. What a booted machine registers (Node, static pods, etcd member,
// kubeadm-config) is written here, driven by the TypeScript side (src/emulator) over a small JSON API on a unix
// socket: the TypeScript side reads servers' user data and the simulator's data path, and says what exists.
//
// Each cluster gets its own TLS listener bound exactly to its controlPlaneEndpoint (for example 172.24.4.10:6443),
// opened only while OpenStack routes that endpoint to a live control-plane node. Run it inside the Cluster API
// managers' private network namespace (where the floating-IP range is routed to lo), so that nothing listens
// outside it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	inmemoryruntime "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/runtime"
)

// readyLine is printed on stdout once the control socket accepts requests (src/emulator waits for it).
const readyLine = "wcemu: ready"

func main() {
	socket := flag.String("control-socket", "", "unix socket path of the control API (required)")
	verbose := flag.Bool("v", false, "log every request of the emulated API servers")
	flag.Parse()
	if *socket == "" {
		fmt.Fprintln(os.Stderr, "wcemu: --control-socket is required")
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.UseDevMode(*verbose)))
	if err := run(*socket); err != nil {
		fmt.Fprintf(os.Stderr, "wcemu: %v\n", err)
		os.Exit(1)
	}
}

func run(socket string) error {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	mgr := inmemoryruntime.NewManager(scheme)
	if err := mgr.Start(ctx); err != nil {
		return err
	}
	emu := newEmulator(mgr)
	_ = os.Remove(socket)
	l, err := net.Listen("unix", socket) //nolint:noctx
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: emu.controlAPI(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		emu.closeAll()
		_ = srv.Close()
	}()
	fmt.Println(readyLine)
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
