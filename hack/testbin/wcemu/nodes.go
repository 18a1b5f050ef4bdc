package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cloudv1 "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/cloud/api/v1alpha1"
	inmemoryruntime "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/runtime"
)

// The static pods kubeadm runs on every control-plane node (KCP checks each is Running and Ready).
var staticPodComponents = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"}

const controlPlaneRole = "node-role.kubernetes.io/control-plane"

// writeInitObjects writes what `kubeadm init` leaves in a cluster that KCP reads: the kubeadm-config ConfigMap
// (the ClusterConfiguration from the init machine's user data) and the RBAC that lets joining nodes read it.
func writeInitObjects(ctx context.Context, c inmemoryruntime.Client, clusterConfiguration string) error {
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: metav1.NamespaceSystem}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: metav1.NamespaceDefault}},
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "kubeadm-config", Namespace: metav1.NamespaceSystem},
			Data:       map[string]string{"ClusterConfiguration": clusterConfiguration},
		},
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "kubeadm:nodes-kubeadm-config", Namespace: metav1.NamespaceSystem},
			Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"},
				ResourceNames: []string{"kubeadm-config"}}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "kubeadm:nodes-kubeadm-config", Namespace: metav1.NamespaceSystem},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "kubeadm:nodes-kubeadm-config"},
			Subjects: []rbacv1.Subject{
				{Kind: rbacv1.GroupKind, Name: "system:bootstrappers:kubeadm:default-node-token"},
				{Kind: rbacv1.GroupKind, Name: "system:nodes"},
			},
		},
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create %T %s: %w", o, o.GetName(), err)
		}
	}
	return nil
}

// ensureNode makes the cluster hold what a booted machine registers: its Node (as its kubelet reports it) and, for
// a control plane, the static pods and the etcd member.
func (e *emulator) ensureNode(ctx context.Context, endpoint, name string, s nodeSpec) error {
	cl, err := e.get(endpoint)
	if err != nil {
		return err
	}
	c := e.mgr.GetResourceGroup(endpoint).GetClient()
	e.mu.Lock()
	if s.Ready {
		delete(cl.downNodes, name)
	} else {
		cl.downNodes[name] = true
	}
	e.mu.Unlock()
	if err := upsertNode(ctx, c, name, s); err != nil {
		return err
	}
	if !s.ControlPlane {
		return nil
	}
	if err := e.ensureEtcdServing(cl, name); err != nil {
		return err
	}
	for _, component := range staticPodComponents {
		if err := ensureStaticPod(ctx, c, component, name, cl.etcdClusterID); err != nil {
			return err
		}
	}
	return ensureEtcdLeader(ctx, c, e.downNodesOf(cl))
}

func upsertNode(ctx context.Context, c inmemoryruntime.Client, name string, s nodeSpec) error {
	node := &corev1.Node{}
	err := c.Get(ctx, client.ObjectKey{Name: name}, node)
	if apierrors.IsNotFound(err) {
		node = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
			Spec: corev1.NodeSpec{ProviderID: s.ProviderID}}
		if s.ControlPlane {
			node.Labels[controlPlaneRole] = ""
			node.Spec.Taints = []corev1.Taint{{Key: controlPlaneRole, Effect: corev1.TaintEffectNoSchedule}}
		}
		node.Status = nodeStatus(nil, s)
		return c.Create(ctx, node)
	}
	if err != nil {
		return err
	}
	status := nodeStatus(&node.Status, s)
	node.Status = status
	return c.Update(ctx, node)
}

// nodeStatus: Ready=True while the kubelet posts status; Unknown once it stops (what the node lifecycle controller
// sets when a kubelet goes silent). lastTransitionTime changes only on a change (MachineHealthCheck times from it).
func nodeStatus(old *corev1.NodeStatus, s nodeSpec) corev1.NodeStatus {
	now := metav1.Now()
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}
	if !s.Ready {
		ready.Status, ready.Reason, ready.Message = corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status."
	}
	if old != nil {
		for _, c := range old.Conditions {
			if c.Type == corev1.NodeReady && c.Status == ready.Status {
				ready.LastTransitionTime = c.LastTransitionTime
			}
		}
	}
	// A kubelet reports its pressure conditions with Ready; Machines count them in NodeHealthy.
	conditions := []corev1.NodeCondition{ready}
	for _, t := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		status := corev1.ConditionFalse
		if !s.Ready {
			status = corev1.ConditionUnknown
		}
		conditions = append(conditions, corev1.NodeCondition{Type: t, Status: status, Reason: "KubeletHasNo" + string(t),
			LastHeartbeatTime: now, LastTransitionTime: ready.LastTransitionTime})
	}
	return corev1.NodeStatus{
		Conditions: conditions,
		NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: s.KubeletVersion},
	}
}

func ensureStaticPod(ctx context.Context, c inmemoryruntime.Client, component, node string, etcdClusterID uint64) error {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      component + "-" + node,
			Namespace: metav1.NamespaceSystem,
			Labels:    map[string]string{"component": component, "tier": "control-plane"},
		},
		Spec: corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
	if component == "etcd" {
		pod.Annotations = map[string]string{
			cloudv1.EtcdClusterIDAnnotationName: strconv.FormatUint(etcdClusterID, 10),
			cloudv1.EtcdMemberIDAnnotationName:  strconv.FormatUint(rand.Uint64N(1<<53)+1, 10),
		}
	}
	if err := c.Create(ctx, pod); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create pod %s: %w", pod.Name, err)
	}
	return nil
}

func (e *emulator) ensureEtcdServing(cl *cluster, node string) error {
	pod := "etcd-" + node
	e.mu.RLock()
	_, ok := cl.etcdServing[pod]
	e.mu.RUnlock()
	if ok {
		return nil
	}
	cert, err := signServing(cl.etcdCA, cl.etcdCAKey, node, []string{"localhost", node, pod}, nil)
	if err != nil {
		return fmt.Errorf("etcd serving certificate for %s: %w", node, err)
	}
	e.mu.Lock()
	cl.etcdServing[pod] = cert
	e.mu.Unlock()
	return nil
}

func (e *emulator) downNodesOf(cl *cluster) map[string]bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := map[string]bool{}
	for k := range cl.downNodes {
		out[k] = true
	}
	return out
}

// ensureEtcdLeader: etcd elects a leader among the live members; the in-memory etcd reports as leader the member
// whose pod has the latest leader-from annotation.
func ensureEtcdLeader(ctx context.Context, c inmemoryruntime.Client, down map[string]bool) error {
	pods, err := etcdPods(ctx, c)
	if err != nil {
		return err
	}
	var leader *corev1.Pod
	var leaderFrom time.Time
	var candidate *corev1.Pod
	for i := range pods {
		p := &pods[i]
		if _, removed := p.Annotations[cloudv1.EtcdMemberRemoved]; removed {
			continue
		}
		if t, err := time.Parse(time.RFC3339, p.Annotations[cloudv1.EtcdLeaderFromAnnotationName]); err == nil && t.After(leaderFrom) {
			leader, leaderFrom = p, t
		}
		if candidate == nil && !down[p.Spec.NodeName] {
			candidate = p
		}
	}
	if candidate == nil || (leader != nil && !down[leader.Spec.NodeName]) {
		return nil
	}
	// RFC3339 has one-second resolution: be strictly after the current leader's time.
	from := time.Now()
	if !from.Truncate(time.Second).After(leaderFrom) {
		from = leaderFrom.Add(time.Second)
	}
	candidate.Annotations[cloudv1.EtcdLeaderFromAnnotationName] = from.Format(time.RFC3339)
	return c.Update(ctx, candidate)
}

func etcdPods(ctx context.Context, c inmemoryruntime.Client) ([]corev1.Pod, error) {
	list := &corev1.PodList{}
	err := c.List(ctx, list, client.InNamespace(metav1.NamespaceSystem), client.MatchingLabels{"component": "etcd"})
	return list.Items, err
}

// deleteNode: the machine is gone. Its Node goes (as the cloud controller manager deletes Nodes whose server is
// gone), with its static pods. Its etcd member does not: etcd keeps the members of dead machines (unreachable, never
// leader) until someone removes them, as KCP does with MemberRemove before it deletes a Machine. The in-memory etcd
// keeps a member as annotations on its pod, so the etcd pod stays until its member has been removed.
func (e *emulator) deleteNode(ctx context.Context, endpoint, name string) error {
	cl, err := e.get(endpoint)
	if err != nil {
		return err
	}
	c := e.mgr.GetResourceGroup(endpoint).GetClient()
	objs := []client.Object{&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}}
	for _, component := range staticPodComponents {
		if component != "etcd" {
			objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: component + "-" + name, Namespace: metav1.NamespaceSystem}})
		}
	}
	memberLeft, err := etcdMemberLeft(ctx, c, name)
	if err != nil {
		return err
	}
	if !memberLeft {
		objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "etcd-" + name, Namespace: metav1.NamespaceSystem}})
	}
	for _, o := range objs {
		if err := c.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %T %s: %w", o, o.GetName(), err)
		}
	}
	e.mu.Lock()
	if memberLeft {
		cl.downNodes[name] = true // its member answers nobody, and is never elected leader
	} else {
		delete(cl.etcdServing, "etcd-"+name)
		delete(cl.downNodes, name)
	}
	e.mu.Unlock()
	return ensureEtcdLeader(ctx, c, e.downNodesOf(cl))
}

// etcdMemberLeft: the node ran an etcd member that nobody has removed yet.
func etcdMemberLeft(ctx context.Context, c inmemoryruntime.Client, node string) (bool, error) {
	pod := &corev1.Pod{}
	if err := c.Get(ctx, objectKey(metav1.NamespaceSystem, "etcd-"+node), pod); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("get etcd pod of %s: %w", node, err)
	}
	_, removed := pod.Annotations[cloudv1.EtcdMemberRemoved]
	return !removed, nil
}

func objectKey(namespace, name string) client.ObjectKey {
	return client.ObjectKey{Namespace: namespace, Name: name}
}
