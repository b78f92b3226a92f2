#!/usr/bin/env bash
# Builds the pinned Go tools (tools/<group>/go.mod + go.sum) that are missing from the cache, then
# prints the directory holding them. Nothing is fetched but Go modules, and nothing is written into the
# work tree: every group builds into its own cache folder, keyed by what decides its binaries (its
# go.mod, go.sum, this script and the Go toolchain), so a pin change rebuilds that group alone.
#
#   scripts/build-tools.sh [GROUP ...]     groups: kubernetes etcd kwok pulumi (default: all of them)
#
# Cache: ${VISIO_TOOLS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/visio-tools}/<hash of every group>/bin.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_GROUPS=(kubernetes etcd kwok pulumi)
groups=("$@")
[ "${#groups[@]}" -gt 0 ] || groups=("${ALL_GROUPS[@]}")

if ! command -v go >/dev/null; then
  echo "error: building the tools needs Go (go.mod files under tools/ name the version)" >&2; exit 2
fi
# The module proxy is the only source; go.sum is the contract; the machine's Go is the toolchain.
export GOFLAGS=-mod=readonly GOTOOLCHAIN=local CGO_ENABLED=0

cache_root="${VISIO_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/visio-tools}"
go_version="$(go env GOVERSION)"

group_hash() {
  cat "tools/$1/go.mod" "tools/$1/go.sum" scripts/build-tools.sh | { cat; echo "$go_version"; } \
    | sha256sum | cut -c1-16
}

# The version a group's go.mod requires of a module.
required() { awk -v m="$2" '$1==m && $2 ~ /^v/ {print $2; exit} $1=="require" && $2==m {print $3; exit}' "tools/$1/go.mod"; }

binaries() {
  case "$1" in
    kubernetes) echo "kube-apiserver kube-controller-manager kube-scheduler kubectl" ;;
    etcd) echo "etcd" ;;
    kwok) echo "kwok kwokctl" ;;
    pulumi) echo "pulumi" ;;
    *) echo "error: unknown tool group '$1' (known: ${ALL_GROUPS[*]})" >&2; exit 2 ;;
  esac
}

build_group() {
  local group="$1" out="$2" ldflags="-s -w" pkgs=() tags=()
  case "$group" in
    kubernetes)
      local v; v="$(required kubernetes k8s.io/kubernetes)"
      local minor="${v#v1.}"; minor="${minor%%.*}"
      # Without these, --version and discovery report v0.0.0: kwokctl picks flags by it and clients
      # (kubectl, the Pulumi provider) gate features on it.
      for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ldflags+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
      done
      for b in $(binaries kubernetes); do pkgs+=("k8s.io/kubernetes/cmd/$b"); done ;;
    etcd)
      local v; v="$(required etcd go.etcd.io/etcd/server/v3)"
      ldflags+=" -X go.etcd.io/etcd/api/v3/version.GitSHA=${v}"
      pkgs=(go.etcd.io/etcd/server/v3) ;;
    kwok)
      # kwokctl's default Kubernetes version: the one built here.
      local kv; kv="$(required kubernetes k8s.io/kubernetes)"
      ldflags+=" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${kv#v}"
      pkgs=(sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl) ;;
    pulumi)
      # As the release is built: the version the CLI reports, no cgo, the release's build tags.
      local v; v="$(required pulumi github.com/pulumi/pulumi/pkg/v3)"
      ldflags+=" -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v"
      tags=(-tags osusergo,grpcnotrace)
      pkgs=(github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) ;;
  esac
  local tmp; tmp="$(mktemp -d "$out.tmp.XXXXXX")"
  echo "building $group (${pkgs[*]})" >&2
  local start=$SECONDS
  # One build of several packages shares their compiled dependencies; a lone package names its binary.
  local target="$tmp/"
  [ "${#pkgs[@]}" -eq 1 ] && target="$tmp/$(binaries "$group")"
  (cd "tools/$group" && go build -trimpath "${tags[@]}" -ldflags "$ldflags" -o "$target" "${pkgs[@]}")
  rm -rf "$out" && mv "$tmp" "$out"
  echo "built $group in $((SECONDS - start)) s" >&2
}

all_hash=""
for group in "${ALL_GROUPS[@]}"; do all_hash+="$group:$(group_hash "$group") "; done
bin="$cache_root/$(echo "$all_hash" | sha256sum | cut -c1-16)/bin"
mkdir -p "$bin"

for group in "${groups[@]}"; do
  dir="$cache_root/groups/$group-$(group_hash "$group")"
  missing=0
  for b in $(binaries "$group"); do [ -x "$dir/$b" ] || missing=1; done
  [ "$missing" -eq 0 ] || build_group "$group" "$dir"
  for b in $(binaries "$group"); do ln -sfn "$dir/$b" "$bin/$b"; done
done
echo "$bin"
