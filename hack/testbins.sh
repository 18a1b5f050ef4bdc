#!/usr/bin/env bash
# Provides the binaries and CRDs the integration tests (and `capo demo`) run against:
#   .cache/testbin/k8s-<version>/{kube-apiserver,etcd}   built from the Go module proxy
#   .cache/testbin/capi-<version>/crds/*.yaml            Cluster API's CRDs, from the module cache
#   .cache/testbin/capi-<version>/bin/*-controller       Cluster API's core, kubeadm bootstrap and kubeadm
#                                                        control-plane managers, built from the Go module proxy
#   .cache/testbin/capi-<version>/bin/workload-cluster-emulator
#                                                        our workload-cluster emulator (hack/testbin/wcemu), on the
#                                                        public packages of CAPI's in-memory provider
#   .cache/testbin/capi-<version>/bin/clusterctl         clusterctl of the same release (hack/testbin/clusterctl)
#   .cache/testbin/capi-<version>/bin/kustomize          kustomize, the version CAPI's Makefile releases with
#                                                        (hack/testbin/kustomize)
#   .cache/testbin/capi-<version>/clusterctl-repository/ a clusterctl local repository: CAPI's core, kubeadm
#                                                        bootstrap and kubeadm control-plane components, rendered by
#                                                        that kustomize from the CAPI module's config/default as
#                                                        CAPI's `make release-manifests` does, and metadata.yaml
#   .cache/testbin/cert-manager-<version>/crds/*.yaml    cert-manager's CRDs (the version clusterctl installs by
#                                                        default), from the cert-manager Go module
#   .cache/testbin/cert-manager-<version>/bin/cert-manager-{controller,cainjector}
#                                                        cert-manager's controller and CA injector of that version
#                                                        (thin mains over its public packages: hack/testbin/cert-manager-*)
#   .cache/testbin/capo-upstream-<version>/bin/capo-manager
#                                                        upstream CAPO's manager (hack/testbin/capo-upstream), for
#                                                        `npm run bench:upstream` only: built only on request (below)
#   .cache/testbin/capo-upstream-<version>/crds/*.yaml   its CRDs (config/crd/bases, with the contract label its
#                                                        kustomization adds) and ORC's images CRD, which it needs
#   .cache/testbin/paths.json                            where all of the above is (read by src/testenv/testbins.ts)
#
# Versions are pinned in the wrapper modules under hack/testbin/ (go.mod + go.sum are committed), so a build is
# reproducible and needs only the Go module proxy (or a warm module cache). Everything is cached keyed by version and
# by a hash of the wrapper module, so a second run only checks files and takes a second or two.
#
# Environment:
#   KUBEBUILDER_ASSETS   a directory holding kube-apiserver and etcd: used instead of building them
#   CAPO_TESTBIN_DIR     cache root (default: <repo>/.cache/testbin)
#   CAPO_TESTBIN_WITHOUT_CAPI_MANAGERS=1
#                        do not build Cluster API's managers nor clusterctl (paths.json then says null for them)
#   CAPO_TESTBIN_WITH_UPSTREAM_CAPO=1
#                        also build upstream CAPO's manager and fetch its CRDs (the side-by-side benchmark); without
#                        it, paths.json records them only if they are built and current already
#
# Usage: hack/testbins.sh [--quiet]   (prints where everything is; --quiet prints only errors)
set -euo pipefail

# Cluster API CRDs we install: core, kubeadm bootstrap, kubeadm control plane (paths inside the CAPI module).
# The addons and ipam CRDs are there because CAPI core's manager watches (and CRD-migrates) those kinds at start.
CAPI_CRD_FILES=(
  core/config/crd/bases/cluster.x-k8s.io_clusters.yaml
  core/config/crd/bases/cluster.x-k8s.io_clusterclasses.yaml
  core/config/crd/bases/cluster.x-k8s.io_machines.yaml
  core/config/crd/bases/cluster.x-k8s.io_machinesets.yaml
  core/config/crd/bases/cluster.x-k8s.io_machinedeployments.yaml
  core/config/crd/bases/cluster.x-k8s.io_machinehealthchecks.yaml
  core/config/crd/bases/cluster.x-k8s.io_machinepools.yaml
  core/config/crd/bases/cluster.x-k8s.io_machinedrainrules.yaml
  core/config/crd/bases/addons.cluster.x-k8s.io_clusterresourcesets.yaml
  core/config/crd/bases/addons.cluster.x-k8s.io_clusterresourcesetbindings.yaml
  core/config/crd/bases/ipam.cluster.x-k8s.io_ipaddresses.yaml
  core/config/crd/bases/ipam.cluster.x-k8s.io_ipaddressclaims.yaml
  bootstrap/kubeadm/config/crd/bases/bootstrap.cluster.x-k8s.io_kubeadmconfigs.yaml
  bootstrap/kubeadm/config/crd/bases/bootstrap.cluster.x-k8s.io_kubeadmconfigtemplates.yaml
  controlplane/kubeadm/config/crd/bases/controlplane.cluster.x-k8s.io_kubeadmcontrolplanes.yaml
  controlplane/kubeadm/config/crd/bases/controlplane.cluster.x-k8s.io_kubeadmcontrolplanetemplates.yaml
)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WRAPPERS="$ROOT/hack/testbin"
CACHE="${CAPO_TESTBIN_DIR:-$ROOT/.cache/testbin}"
QUIET=0
[[ "${1:-}" == "--quiet" ]] && QUIET=1

say() { [[ $QUIET == 1 ]] || echo "testbins: $*" >&2; }
die() { echo "testbins: error: $*" >&2; exit 1; }

# The version a wrapper module pins for a module path, read from its go.mod (the one source of truth).
pinned_version() { # <wrapper dir> <module path>
  local v
  v="$(awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1/go.mod")"
  [[ -n "$v" ]] || die "$1/go.mod does not require $2"
  echo "$v"
}

K8S_VERSION="$(pinned_version "$WRAPPERS/kube-apiserver" k8s.io/kubernetes)"
ETCD_VERSION="$(pinned_version "$WRAPPERS/etcd" go.etcd.io/etcd/server/v3)"
CAPI_VERSION="$(pinned_version "$WRAPPERS/capi" sigs.k8s.io/cluster-api)"
BIN_DIR="$CACHE/k8s-$K8S_VERSION"
CAPI_DIR="$CACHE/capi-$CAPI_VERSION"

require_go() {
  if ! command -v go >/dev/null 2>&1; then
    die "Go is not installed, and it is needed once to build kube-apiserver $K8S_VERSION and etcd $ETCD_VERSION
  (and to fetch Cluster API $CAPI_VERSION's CRDs and build its managers) from the Go module proxy.
  Install Go >= 1.26 from https://go.dev/dl/ (Debian's golang-go package is too old) and make sure 'go' is on PATH.
  (KUBEBUILDER_ASSETS=<dir with kube-apiserver and etcd> skips building those two, not the Cluster API parts.)"
  fi
  local have minor
  have="$(cd / && go env GOVERSION)" # outside any module: the installed toolchain, not one go.mod asks for
  minor="$(echo "$have" | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
  if [[ -n "$minor" && "$minor" -lt 26 ]]; then
    if [[ "$(go env GOTOOLCHAIN)" == local* ]]; then
      die "$have is too old: the wrapper modules need Go >= 1.26. Install it from https://go.dev/dl/ (Debian's
  golang-go is too old), or unset GOTOOLCHAIN=local so that go fetches the go1.26 toolchain from the module proxy."
    fi
    say "$have is older than 1.26: go will fetch the toolchain go.mod asks for from the module proxy"
  fi
}

# -buildvcs=false: the wrapper modules sit in our git checkout; its git state is not the binaries' version.
GO_BUILD_FLAGS=(-trimpath -buildvcs=false)

# A hash of the wrapper module and the build flags: if either changed, the cached binary is stale.
wrapper_hash() { # <wrapper dir> <ldflags>
  { cat "$1"/go.mod "$1"/go.sum "$1"/*.go; echo "${GO_BUILD_FLAGS[*]} $2"; } | sha256sum | cut -c1-16
}

# The official build stamps the version with -X; without it kube-apiserver's /version says v0.0.0-master.
k8s_version_ldflags() {
  local v="$K8S_VERSION" major minor pkg flags=""
  major="$(echo "$v" | cut -d. -f1 | tr -d v)"
  minor="$(echo "$v" | cut -d. -f2)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  echo "$flags"
}

# Builds one command inside a wrapper module into the cache, atomically (a killed build leaves no half binary).
build_wrapper() { # <wrapper dir> <package> <output path> <extra ldflags>
  local dir="$1" pkg="$2" out="$3" ldflags="$4" start
  require_go
  start=$SECONDS
  say "building $(basename "$out") ($pkg) in ${dir#"$ROOT"/} ... (a cold build takes minutes)"
  mkdir -p "$(dirname "$out")"
  (cd "$dir" && go build "${GO_BUILD_FLAGS[@]}" -ldflags="-s -w $ldflags" -o "$out.tmp.$$" "$pkg") ||
    { rm -f "$out.tmp.$$"; die "go build of $pkg failed (see above)"; }
  mv -f "$out.tmp.$$" "$out"
  wrapper_hash "$dir" "$ldflags" >"$out.stamp"
  say "built $out in $((SECONDS - start))s"
}

# Ensures a cached binary exists and was built from the current wrapper module.
ensure_binary() { # <name> <wrapper dir> <package> [extra ldflags] [output dir, default $BIN_DIR]
  local name="$1" dir="$2" pkg="$3" ldflags="${4:-}" out="${5:-$BIN_DIR}/$1"
  if [[ -x "$out" && -f "$out.stamp" && "$(cat "$out.stamp")" == "$(wrapper_hash "$dir" "$ldflags")" ]]; then
    say "$name: cached ($out)"
    return
  fi
  build_wrapper "$dir" "$pkg" "$out" "$ldflags"
}

ensure_k8s_binaries() {
  if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
    if [[ -x "$KUBEBUILDER_ASSETS/kube-apiserver" && -x "$KUBEBUILDER_ASSETS/etcd" ]]; then
      KUBE_APISERVER="$KUBEBUILDER_ASSETS/kube-apiserver"
      ETCD="$KUBEBUILDER_ASSETS/etcd"
      # Report what these binaries are, not what we would have built.
      K8S_VERSION="$("$KUBE_APISERVER" --version | awk '{ print $2 }')"
      ETCD_VERSION="v$("$ETCD" --version | awk 'NR == 1 { print $3 }')"
      say "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
      return
    fi
    say "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable kube-apiserver and etcd; building them instead"
  fi
  ensure_binary kube-apiserver "$WRAPPERS/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$(k8s_version_ldflags)"
  ensure_binary etcd "$WRAPPERS/etcd" .
  KUBE_APISERVER="$BIN_DIR/kube-apiserver"
  ETCD="$BIN_DIR/etcd"
}

# Copies a CRD, dropping a top-level `spec.conversion` block if there is one: a conversion webhook needs CAPI's
# webhook Service, which the test control plane does not run. (CAPI v1.14's bases have none: the webhook stanza is
# added by kustomize patches, which we do not apply. The strip keeps us safe if a release ships it inline.)
# With contract labels ("v1beta1 v1beta2"), adds the `cluster.x-k8s.io/<contract>: <contract>` labels that CAPI's
# kustomization adds to the kubeadm providers' CRDs: CAPI core resolves a controlPlaneRef/configRef's API version
# from them, and without them never reads the KubeadmControlPlane.
copy_crd_without_conversion() { # <src> <dst> [contract labels]
  if [[ -n "${3:-}" ]] && grep -q '^  labels:' "$1"; then
    die "$1 already has metadata.labels; teach copy_crd_without_conversion to merge them"
  fi
  awk -v contracts="${3:-}" '
    /^metadata:$/ && contracts != "" {
      print; print "  labels:"
      n = split(contracts, c, " ")
      for (i = 1; i <= n; i++) print "    cluster.x-k8s.io/" c[i] ": " c[i]
      next
    }
    /^  conversion:/ { skip = 1; next }
    skip && /^(  [^ ]|[^ ])/ { skip = 0 }
    !skip { print }
  ' "$1" >"$2"
}

# The contract labels CAPI's own kustomization (config/crd/kustomization.yaml) gives a CRD file, if any.
capi_contract_labels() { # <path inside the CAPI module>
  case "$1" in
    bootstrap/* | controlplane/*) echo "v1beta1 v1beta2" ;;
  esac
}

ensure_capi_crds() {
  local crd_dir="$CAPI_DIR/crds" stamp="$CAPI_DIR/crds.stamp" want mod_dir f
  # "contract-labels": bump when the copy's transformation changes, so cached copies are redone.
  want="$(printf '%s\n' "$CAPI_VERSION" contract-labels "${CAPI_CRD_FILES[@]}" | sha256sum | cut -c1-16)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    say "Cluster API $CAPI_VERSION CRDs: cached ($crd_dir)"
    return
  fi
  require_go
  say "fetching sigs.k8s.io/cluster-api@$CAPI_VERSION into the module cache"
  # Outside any module, so no go.mod/go.sum is touched; -json prints where the module cache put the module.
  local scratch
  scratch="$(mktemp -d)"
  mod_dir="$(cd "$scratch" && go mod download -json "sigs.k8s.io/cluster-api@$CAPI_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  rmdir "$scratch"
  [[ -n "$mod_dir" && -d "$mod_dir" ]] || die "go mod download sigs.k8s.io/cluster-api@$CAPI_VERSION gave no module directory"
  rm -rf "$crd_dir.tmp" && mkdir -p "$crd_dir.tmp"
  for f in "${CAPI_CRD_FILES[@]}"; do
    [[ -f "$mod_dir/$f" ]] || die "CRD $f not found in sigs.k8s.io/cluster-api@$CAPI_VERSION ($mod_dir)"
    copy_crd_without_conversion "$mod_dir/$f" "$crd_dir.tmp/$(basename "$f")" "$(capi_contract_labels "$f")"
  done
  rm -rf "$crd_dir" && mv "$crd_dir.tmp" "$crd_dir"
  echo "$want" >"$stamp"
  say "Cluster API $CAPI_VERSION CRDs: ${#CAPI_CRD_FILES[@]} files in $crd_dir"
}

# CAPI's release build stamps its version package the same way; without it the managers log "Version:  (git commit: )".
capi_version_ldflags() {
  local v="$CAPI_VERSION" pkg=sigs.k8s.io/cluster-api/version
  echo "-X $pkg.gitVersion=$v -X $pkg.gitMajor=$(echo "$v" | cut -d. -f1 | tr -d v)" \
    "-X $pkg.gitMinor=$(echo "$v" | cut -d. -f2) -X $pkg.gitTreeState=clean"
}

# Cluster API's three managers, named like upstream's images. One `go build` each (their main packages are named
# core, kubeadm and kubeadm, so one multi-package build into a directory would clash); they share the build cache.
ensure_capi_managers() {
  local ldflags bin_dir="$CAPI_DIR/bin"
  ldflags="$(capi_version_ldflags)"
  ensure_binary cluster-api-controller "$WRAPPERS/capi" sigs.k8s.io/cluster-api/core "$ldflags" "$bin_dir"
  ensure_binary kubeadm-bootstrap-controller "$WRAPPERS/capi" sigs.k8s.io/cluster-api/bootstrap/kubeadm \
    "$ldflags" "$bin_dir"
  ensure_binary kubeadm-control-plane-controller "$WRAPPERS/capi" sigs.k8s.io/cluster-api/controlplane/kubeadm \
    "$ldflags" "$bin_dir"
  # Built from its own wrapper module (sigs.k8s.io/cluster-api/test pins the same shared versions as the managers).
  ensure_binary workload-cluster-emulator "$WRAPPERS/wcemu" . "" "$bin_dir"
  # clusterctl, the same Cluster API release (its own wrapper module: the CLI needs more modules than the managers).
  ensure_binary clusterctl "$WRAPPERS/clusterctl" sigs.k8s.io/cluster-api/cmd/clusterctl "$ldflags" "$bin_dir"
  CLUSTERCTL_JSON="$(json_string "$bin_dir/clusterctl")"
  ensure_binary kustomize "$WRAPPERS/kustomize" sigs.k8s.io/kustomize/kustomize/v5 "" "$bin_dir"
  ensure_capi_repository "$bin_dir/kustomize"
  CAPI_REPOSITORY_JSON="$(json_string "$CAPI_DIR/clusterctl-repository")"
  ensure_cert_manager_crds
  CAPI_MANAGERS_JSON="{
    \"core\": $(json_string "$bin_dir/cluster-api-controller"),
    \"kubeadmBootstrap\": $(json_string "$bin_dir/kubeadm-bootstrap-controller"),
    \"kubeadmControlPlane\": $(json_string "$bin_dir/kubeadm-control-plane-controller"),
    \"workloadClusterEmulator\": $(json_string "$bin_dir/workload-cluster-emulator")
  }"
}

# Where `go mod download` put a module (outside any module, so no go.mod/go.sum is touched).
module_dir() { # <module@version>
  local scratch dir
  scratch="$(mktemp -d)"
  dir="$(cd "$scratch" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  rmdir "$scratch"
  [[ -n "$dir" && -d "$dir" ]] || die "go mod download $1 gave no module directory"
  echo "$dir"
}

# CAPI's three providers: the name clusterctl gives each (its directory in a local repository), where its
# config/default is in the CAPI module, its components file and the image name CAPI's release sets.
CAPI_PROVIDERS=(
  "cluster-api core core-components.yaml cluster-api-controller"
  "bootstrap-kubeadm bootstrap/kubeadm bootstrap-components.yaml kubeadm-bootstrap-controller"
  "control-plane-kubeadm controlplane/kubeadm control-plane-components.yaml kubeadm-control-plane-controller"
)

# A clusterctl local repository ({base}/{provider-label}/{version}/{components file, metadata.yaml}) with CAPI's
# release components: `kustomize build <provider>/config/default` as CAPI's `make release-manifests` runs it, with
# the manager image its `manifest-modification` target sets (registry.k8s.io/cluster-api/<name>:<version>), set
# here through an overlay because the module cache is read-only.
ensure_capi_repository() { # <kustomize binary>
  local kustomize="$1" repo="$CAPI_DIR/clusterctl-repository" stamp="$CAPI_DIR/clusterctl-repository.stamp"
  local want mod_dir overlay p label path file image out
  want="$(printf '%s\n' "$CAPI_VERSION" "$(cat "$kustomize.stamp")" "${CAPI_PROVIDERS[@]}" | sha256sum | cut -c1-16)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -d "$repo" ]]; then
    say "Cluster API $CAPI_VERSION clusterctl repository: cached ($repo)"
    return
  fi
  require_go
  mod_dir="$(module_dir "sigs.k8s.io/cluster-api@$CAPI_VERSION")"
  rm -rf "$repo.tmp"
  overlay="$(mktemp -d)"
  for p in "${CAPI_PROVIDERS[@]}"; do
    read -r label path file image <<<"$p"
    out="$repo.tmp/$label/$CAPI_VERSION"
    mkdir -p "$out"
    # kustomize takes no absolute resource paths.
    printf '%s\n' "resources:" "- $(realpath -m --relative-to="$overlay" "$mod_dir/$path/config/default")" "images:" \
      "- name: gcr.io/k8s-staging-cluster-api/$image" "  newName: registry.k8s.io/cluster-api/$image" \
      "  newTag: $CAPI_VERSION" >"$overlay/kustomization.yaml"
    "$kustomize" build "$overlay" >"$out/$file" || { rm -rf "$overlay"; die "kustomize build of $path/config/default failed"; }
    grep -q "image: registry.k8s.io/cluster-api/$image:$CAPI_VERSION" "$out/$file" ||
      { rm -rf "$overlay"; die "$label: the rendered components do not use image $image (did CAPI rename it?)"; }
    cp "$mod_dir/metadata.yaml" "$out/metadata.yaml"
    chmod u+w "$out/metadata.yaml"
  done
  rm -rf "$overlay" "$repo" && mv "$repo.tmp" "$repo"
  echo "$want" >"$stamp"
  say "Cluster API $CAPI_VERSION clusterctl repository: $repo"
}

# cert-manager's CRDs, of the version clusterctl installs by default (read from clusterctl's source, so it follows a
# CAPI bump), from the cert-manager Go module. With them in the apiserver, clusterctl init's cert-manager probe
# passes and it installs no cert-manager (test/integration/clusterctl-init.test.ts explains why that suffices).
ensure_cert_manager_crds() {
  local capi_mod version dir stamp mod_dir
  capi_mod="$(module_dir "sigs.k8s.io/cluster-api@$CAPI_VERSION")"
  version="$(sed -n 's/^[[:space:]]*CertManagerDefaultVersion = "\(v[^"]*\)"$/\1/p' \
    "$capi_mod/cmd/clusterctl/client/config/cert_manager_client.go")"
  [[ -n "$version" ]] || die "cannot read CertManagerDefaultVersion from clusterctl $CAPI_VERSION's source"
  dir="$CACHE/cert-manager-$version/crds"
  stamp="$CACHE/cert-manager-$version/crds.stamp"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
    say "cert-manager $version CRDs: cached ($dir)"
  else
    mod_dir="$(module_dir "github.com/cert-manager/cert-manager@$version")"
    [[ -f "$mod_dir/deploy/crds/cert-manager.io_certificates.yaml" ]] || die "cert-manager $version has no deploy/crds"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    cp "$mod_dir"/deploy/crds/*.yaml "$dir.tmp/"
    chmod u+w "$dir.tmp"/*.yaml
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
    echo "$version" >"$stamp"
    say "cert-manager $version CRDs: $dir"
  fi
  ensure_cert_manager_binaries "$version" "$CACHE/cert-manager-$version/bin"
  CERT_MANAGER_JSON="{ \"version\": \"$version\", \"crdDir\": $(json_string "$dir"),
    \"controller\": $(json_string "$CACHE/cert-manager-$version/bin/cert-manager-controller"),
    \"cainjector\": $(json_string "$CACHE/cert-manager-$version/bin/cert-manager-cainjector") }"
}

# cert-manager's controller and cainjector, of the version clusterctl installs, as thin mains over cert-manager's
# public packages (hack/testbin/cert-manager-*/main.go says why): the tests run them to issue the conversion
# webhook's certificate and inject its CA into our CRDs, as in a cluster where clusterctl installed cert-manager.
ensure_cert_manager_binaries() { # <version clusterctl installs> <bin dir>
  local version="$1" bin_dir="$2" name pinned
  for name in cert-manager-controller cert-manager-cainjector; do
    pinned="$(pinned_version "$WRAPPERS/$name" github.com/cert-manager/cert-manager)"
    [[ "$pinned" == "$version" ]] ||
      die "hack/testbin/$name pins cert-manager $pinned but clusterctl $CAPI_VERSION installs $version; bump its go.mod"
    ensure_binary "$name" "$WRAPPERS/$name" . "" "$bin_dir"
  done
}

# Upstream CAPO (the version hack/testbin/capo-upstream pins): its manager (main.go is the module root), its CRDs
# with the contract label its config/crd/kustomization.yaml adds (cluster.x-k8s.io/v1beta1: v1beta1; CAPI core reads
# the infrastructure objects at that contract), and ORC's images CRD, without which its OpenStackServer controller
# never starts. `build` 0: record what is cached and current, build nothing (UPSTREAM_CAPO_JSON stays null if not).
ensure_upstream_capo() { # <build: 0|1>
  local wrappers="$WRAPPERS/capo-upstream" version orc_version dir out crd_dir stamp want mod_dir orc_dir f
  version="$(pinned_version "$wrappers" sigs.k8s.io/cluster-api-provider-openstack)"
  orc_version="$(pinned_version "$wrappers" github.com/k-orc/openstack-resource-controller/v2)"
  dir="$CACHE/capo-upstream-$version"
  out="$dir/bin/capo-manager"
  crd_dir="$dir/crds"
  stamp="$dir/crds.stamp"
  want="$(printf '%s\n' "$version" "$orc_version" contract-v1beta1 templates | sha256sum | cut -c1-16)"
  local bin_current=0 crds_current=0
  [[ -x "$out" && -f "$out.stamp" && "$(cat "$out.stamp")" == "$(wrapper_hash "$wrappers" "")" ]] && bin_current=1
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && crds_current=1
  if [[ "$1" == 0 ]]; then
    [[ $bin_current == 1 && $crds_current == 1 ]] || return 0
  else
    ensure_binary capo-manager "$wrappers" sigs.k8s.io/cluster-api-provider-openstack "" "$dir/bin"
    if [[ $crds_current == 1 ]]; then
      say "upstream CAPO $version CRDs: cached ($crd_dir)"
    else
      mod_dir="$(module_dir "sigs.k8s.io/cluster-api-provider-openstack@$version")"
      orc_dir="$(module_dir "github.com/k-orc/openstack-resource-controller/v2@$orc_version")"
      rm -rf "$crd_dir.tmp" && mkdir -p "$crd_dir.tmp"
      for f in "$mod_dir"/config/crd/bases/*.yaml; do
        copy_crd_without_conversion "$f" "$crd_dir.tmp/$(basename "$f")" v1beta1
      done
      [[ -f "$orc_dir/config/crd/bases/openstack.k-orc.cloud_images.yaml" ]] || die "ORC $orc_version has no images CRD"
      copy_crd_without_conversion "$orc_dir/config/crd/bases/openstack.k-orc.cloud_images.yaml" \
        "$crd_dir.tmp/openstack.k-orc.cloud_images.yaml"
      rm -rf "$crd_dir" "$dir/templates" && mv "$crd_dir.tmp" "$crd_dir"
      # Its cluster templates (clusterctl ${VAR} syntax), which the benchmark renders.
      cp -r "$mod_dir/templates" "$dir/templates" && chmod -R u+w "$dir/templates"
      echo "$want" >"$stamp"
      say "upstream CAPO $version CRDs (+ ORC $orc_version images): $crd_dir"
    fi
  fi
  UPSTREAM_CAPO_JSON="{ \"version\": \"$version\", \"manager\": $(json_string "$out"), \"crdDir\": $(json_string "$crd_dir"),
    \"templateDir\": $(json_string "$dir/templates") }"
}

json_string() { # JSON-quotes a path (paths with quotes or backslashes are not supported by design: we refuse them)
  [[ "$1" != *'"'* && "$1" != *'\'* ]] || die "path contains a quote or backslash: $1"
  printf '"%s"' "$1"
}

write_paths() {
  local tmp="$CACHE/paths.json.tmp.$$"
  cat >"$tmp" <<EOF
{
  "kubeApiserver": $(json_string "$KUBE_APISERVER"),
  "etcd": $(json_string "$ETCD"),
  "capiCrdDir": $(json_string "$CAPI_DIR/crds"),
  "capiManagers": $CAPI_MANAGERS_JSON,
  "clusterctl": $CLUSTERCTL_JSON,
  "capiRepository": $CAPI_REPOSITORY_JSON,
  "certManager": $CERT_MANAGER_JSON,
  "upstreamCapo": $UPSTREAM_CAPO_JSON,
  "kubernetesVersion": "$K8S_VERSION",
  "etcdVersion": "$ETCD_VERSION",
  "capiVersion": "$CAPI_VERSION"
}
EOF
  mv -f "$tmp" "$CACHE/paths.json"
}

main() {
  local start=$SECONDS
  mkdir -p "$CACHE"
  # Two runs at once (e.g. two terminals) would build twice; serialize them when flock exists.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.lock"
    flock 9
  fi
  ensure_k8s_binaries
  ensure_capi_crds
  CAPI_MANAGERS_JSON=null
  CLUSTERCTL_JSON=null
  CAPI_REPOSITORY_JSON=null
  CERT_MANAGER_JSON=null
  if [[ "${CAPO_TESTBIN_WITHOUT_CAPI_MANAGERS:-}" == 1 ]]; then
    say "CAPI managers: skipped (CAPO_TESTBIN_WITHOUT_CAPI_MANAGERS=1)"
  else
    ensure_capi_managers
  fi
  UPSTREAM_CAPO_JSON=null
  if [[ "${CAPO_TESTBIN_WITH_UPSTREAM_CAPO:-}" == 1 ]]; then ensure_upstream_capo 1; else ensure_upstream_capo 0; fi
  write_paths
  say "kube-apiserver: $KUBE_APISERVER"
  say "etcd:           $ETCD"
  say "CAPI CRDs:      $CAPI_DIR/crds"
  [[ "$CAPI_MANAGERS_JSON" == null ]] || say "CAPI managers:  $CAPI_DIR/bin"
  say "paths:          $CACHE/paths.json (done in $((SECONDS - start))s)"
}

main "$@"
