#!/usr/bin/env bash
# A Kubernetes cluster on loopback to try a stack before a real one: the real control plane
# (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) built from pinned Go modules, and
# kwok simulating nodes labelled and tainted like a French provider's node pools, so that pods are
# scheduled and become ready, Services get endpoints and Jobs complete.
#
#   scripts/local-cluster.sh up [STACK ...]   build what is missing, start the cluster (idempotent),
#                                              nodes sized for the stacks (default: every example stack);
#                                              prints the kubeconfig path
#   scripts/local-cluster.sh env              shell exports: PATH (kubectl, pulumi), KUBECONFIG, and a
#                                              Pulumi that stays local and offline (home, file backend,
#                                              the example stacks' passphrase, no plugin download)
#   scripts/local-cluster.sh down             stop every process it started and remove its state
#
# State lives in ${VISIO_LOCAL_CLUSTER_DIR:-${XDG_STATE_HOME:-~/.local/state}/visio-local-cluster}.
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=visio
state="${VISIO_LOCAL_CLUSTER_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/visio-local-cluster}"
export KWOK_WORKDIR="$state/kwok"
kubeconfig="$state/kubeconfig"

bin_dir() { scripts/build-tools.sh "$@"; }

running() {
  [ -f "$kubeconfig" ] && [ -x "$state/bin/kubectl" ] \
    && "$state/bin/kubectl" --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null 2>&1
}

cert_manager_crds() {
  # cert-manager's own CRDs at a pinned release (tools/cert-manager), so that Certificates of stacks
  # with visio:tls.issuer are accepted as the real API would accept them.
  local dir
  dir="$(cd tools/cert-manager && GOFLAGS=-mod=readonly go mod download -json github.com/cert-manager/cert-manager \
    | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [ -d "$dir/deploy/crds" ] || { echo "error: cert-manager CRDs not found in the module cache" >&2; exit 2; }
  ls "$dir"/deploy/crds/*.yaml
}

up() {
  local stacks=("$@")
  [ -x .venv/bin/python ] || scripts/quickstart.sh setup >&2
  if [ "${#stacks[@]}" -eq 0 ]; then
    mapfile -t stacks < <(ls stacks | sed -n 's/^Pulumi\.\(.*\)\.yaml$/\1/p')
  fi
  # Validate the stacks before anything starts.
  local nodes; nodes="$(.venv/bin/python -m visio.cluster.localnodes "${stacks[@]}")"
  if ! running; then
    local bin; bin="$(bin_dir)"
    mkdir -p "$state/bin" "$state/pulumi-home" "$state/pulumi-state"
    for b in "$bin"/*; do ln -sfn "$(readlink -f "$b")" "$state/bin/$(basename "$b")"; done
    cat > "$state/kwok.yaml" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  kubeApiserverBinary: $state/bin/kube-apiserver
  kubeControllerManagerBinary: $state/bin/kube-controller-manager
  kubeSchedulerBinary: $state/bin/kube-scheduler
  kubectlBinary: $state/bin/kubectl
  etcdBinary: $state/bin/etcd
  kwokControllerBinary: $state/bin/kwok
EOF
    # Every request is audited, so that "read-only" can be checked against what the server saw.
    cat > "$state/audit-policy.yaml" <<EOF
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
EOF
    if "$state/bin/kwokctl" get clusters 2>/dev/null | grep -qx "$NAME"; then
      "$state/bin/kwokctl" start cluster --name "$NAME" >&2
    else
      "$state/bin/kwokctl" create cluster --name "$NAME" --config "$state/kwok.yaml" \
        --kubeconfig "$kubeconfig" --kube-audit-policy "$state/audit-policy.yaml" --wait 2m >&2
    fi
  fi
  local k=("$state/bin/kubectl" --kubeconfig "$kubeconfig")
  # Nodes and volumes are applied every time: `up` with other stacks adds the pools they need.
  printf '%s\n' "$nodes" | "${k[@]}" apply --server-side --force-conflicts --field-manager visio-local -f - >/dev/null
  # Simulated nodes of an earlier `up` that these stacks do not need go away.
  local wanted; wanted="$(printf '%s\n' "$nodes" | sed -n 's/^    name: \(.*\)$/\1/p' | sort)"
  "${k[@]}" get nodes -l type=kwok -o name | sed 's|^node/||' | sort | comm -23 - <(printf '%s\n' "$wanted") \
    | xargs -r "${k[@]}" delete node >/dev/null
  local crds=(); mapfile -t crds < <(cert_manager_crds)
  for f in "${crds[@]}"; do "${k[@]}" apply --server-side --field-manager visio-local -f "$f" >/dev/null; done
  "${k[@]}" wait --for condition=established --timeout 60s crd --all >/dev/null
  "${k[@]}" wait --for condition=Ready --timeout 120s node --all >/dev/null
  echo "$kubeconfig"
}

env_exports() {
  [ -f "$kubeconfig" ] || { echo "error: no local cluster (run: scripts/local-cluster.sh up)" >&2; exit 2; }
  printf 'export PATH=%q:"$PATH"\n' "$state/bin"
  printf 'export KUBECONFIG=%q\n' "$kubeconfig"
  printf 'export PULUMI_HOME=%q\n' "$state/pulumi-home"
  printf 'export PULUMI_BACKEND_URL=%q\n' "file://$state/pulumi-state"
  printf 'export PULUMI_CONFIG_PASSPHRASE=%q\n' "visio-example-stacks"
  printf 'export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true\n'
  printf 'export PULUMI_SKIP_UPDATE_CHECK=1\n'
}

down() {
  if [ -x "$state/bin/kwokctl" ] && "$state/bin/kwokctl" get clusters 2>/dev/null | grep -qx "$NAME"; then
    "$state/bin/kwokctl" delete cluster --name "$NAME" --kubeconfig "$kubeconfig" >&2
  fi
  rm -rf "$state"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  env) env_exports ;;
  down) down ;;
  *) echo "usage: scripts/local-cluster.sh up [STACK ...] | env | down" >&2; exit 2 ;;
esac
