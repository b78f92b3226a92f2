#!/usr/bin/env bash
# Builds the pinned tools (tools/<group>/) that are missing from the cache, then prints the directory
# holding them. Nothing is fetched but Go modules, npm packages and Maven Central artifacts, and
# nothing is written into the work tree: every group builds into its own cache folder, keyed by what
# decides its binaries (its pin files, its recipe below and the toolchain), so a pin change rebuilds
# that group alone.
#
#   scripts/build-tools.sh [GROUP ...]     groups: kubernetes etcd kwok pulumi livekit gitlab-ci-local
#                                          keycloak gatekeeper (default: all of them)
#
# Cache: ${VISIO_TOOLS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/visio-tools}/<hash of every group>/bin.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_GROUPS=(kubernetes etcd kwok pulumi livekit gitlab-ci-local keycloak gatekeeper)
# Bumped when the shared build steps below change what they produce.
GENERATION=1
groups=("$@")
[ "${#groups[@]}" -gt 0 ] || groups=("${ALL_GROUPS[@]}")

cache_root="${VISIO_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/visio-tools}"

# The version a group's go.mod requires of a module.
required() { awk -v m="$2" '$1==m && $2 ~ /^v/ {print $2; exit} $1=="require" && $2==m {print $3; exit}' "tools/$1/go.mod"; }

# Each recipe sets `pkgs` (what to build), and may add to `ldflags` and `tags`.
recipe_kubernetes() {
  local v; v="$(required kubernetes k8s.io/kubernetes)"
  local minor="${v#v1.}"; minor="${minor%%.*}"
  # Without these, --version and discovery report v0.0.0: kwokctl picks flags by it and clients
  # (kubectl, the Pulumi provider) gate features on it.
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
}
recipe_etcd() {
  ldflags+=" -X go.etcd.io/etcd/api/v3/version.GitSHA=$(required etcd go.etcd.io/etcd/server/v3)"
  pkgs=(go.etcd.io/etcd/server/v3)
}
recipe_kwok() {
  # kwokctl's default Kubernetes version: the one built here.
  local kv; kv="$(required kubernetes k8s.io/kubernetes)"
  ldflags+=" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${kv#v}"
  pkgs=(sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl)
}
recipe_pulumi() {
  # As the release is built: the version the CLI reports, no cgo, the release's build tags.
  ldflags+=" -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$(required pulumi github.com/pulumi/pulumi/pkg/v3)"
  tags=(-tags osusergo,grpcnotrace)
  pkgs=(github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}
recipe_livekit() {
  pkgs=(github.com/livekit/livekit-server/cmd/server)
}
recipe_gatekeeper() {
  pkgs=(github.com/open-policy-agent/gatekeeper/v3)
}

binaries() {
  case "$1" in
    kubernetes) echo "kube-apiserver kube-controller-manager kube-scheduler kubectl" ;;
    etcd) echo "etcd" ;;
    kwok) echo "kwok kwokctl" ;;
    pulumi) echo "pulumi" ;;
    livekit) echo "livekit-server" ;;
    gitlab-ci-local) echo "gitlab-ci-local" ;;
    keycloak) echo "kc.sh" ;;
    gatekeeper) echo "gatekeeper" ;;
    *) echo "error: unknown tool group '$1' (known: ${ALL_GROUPS[*]})" >&2; exit 2 ;;
  esac
}

toolchain() {
  case "$1" in
    gitlab-ci-local) node --version ;;
    # A released distribution, unpacked as published: no toolchain goes into it.
    keycloak) echo "maven-central" ;;
    *) go env GOVERSION ;;
  esac
}

group_hash() {
  { cat tools/"$1"/*; declare -f "recipe_$1" 2>/dev/null || true; toolchain "$1"; echo "$GENERATION"; } \
    | sha256sum | cut -c1-16
}

build_go() {
  local group="$1" tmp="$2" ldflags="-s -w" pkgs=() tags=()
  "recipe_$group"
  # One build of several packages shares their compiled dependencies; a lone package names its binary.
  local target="$tmp/"
  [ "${#pkgs[@]}" -eq 1 ] && target="$tmp/$(binaries "$group")"
  # The module proxy is the only source; go.sum is the contract; the machine's Go is the toolchain.
  (cd "tools/$group" && GOFLAGS=-mod=readonly GOTOOLCHAIN=local CGO_ENABLED=0 \
    go build -trimpath "${tags[@]}" -ldflags "$ldflags" -o "$target" "${pkgs[@]}")
}

build_npm() {
  local group="$1" tmp="$2"
  cp "tools/$group/package.json" "tools/$group/package-lock.json" "$tmp/"
  (cd "$tmp" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
  for b in $(binaries "$group"); do ln -s "node_modules/.bin/$b" "$tmp/$b"; done
}

# A pinned distribution archive (tools/<group>/maven.lock: group, artifact, version, sha256), unpacked.
build_maven() {
  local group="$1" tmp="$2" lock="tools/$1/maven.lock"
  pin() { awk -F= -v k="$1" '$1==k {print $2; exit}' "$lock"; }
  local g a v sum; g="$(pin group)" a="$(pin artifact)" v="$(pin version)" sum="$(pin sha256)"
  local file="$a-$v.tar.gz"
  curl -fsSL --retry 3 -o "$tmp/$file" "https://repo.maven.apache.org/maven2/${g//.//}/$a/$v/$file"
  # The lock is the contract: an archive with another digest is never unpacked.
  echo "$sum  $tmp/$file" | sha256sum -c --quiet - >&2 \
    || { echo "error: $file does not have the sha256 pinned in $lock" >&2; exit 2; }
  tar -xzf "$tmp/$file" -C "$tmp" --no-same-owner
  rm "$tmp/$file"
  # The archive holds one top directory; its launcher is exposed under its own name.
  local top; top="$(find "$tmp" -mindepth 1 -maxdepth 1 -type d)"
  mv "$top" "$tmp/dist"
  for b in $(binaries "$group"); do ln -s "dist/bin/$b" "$tmp/$b"; done
}

build_group() {
  local group="$1" out="$2"
  local tmp; tmp="$(mktemp -d "$out.tmp.XXXXXX")"
  echo "building $group" >&2
  local start=$SECONDS
  if [ -f "tools/$group/package.json" ]; then
    command -v npm >/dev/null || { echo "error: building $group needs Node.js and npm" >&2; exit 2; }
    build_npm "$group" "$tmp"
  elif [ -f "tools/$group/maven.lock" ]; then
    command -v curl >/dev/null || { echo "error: fetching $group needs curl" >&2; exit 2; }
    build_maven "$group" "$tmp"
  else
    command -v go >/dev/null || { echo "error: building $group needs Go (tools/$group/go.mod)" >&2; exit 2; }
    build_go "$group" "$tmp"
  fi
  rm -rf "$out" && mv "$tmp" "$out"
  echo "built $group in $((SECONDS - start)) s" >&2
  # Earlier pins of this group are not kept: a Kubernetes build alone is over 300 MB.
  find "$cache_root/groups" -maxdepth 1 -name "$group-*" ! -path "$out" -exec rm -rf {} +
}

all_hash=""
for group in "${ALL_GROUPS[@]}"; do all_hash+="$group:$(group_hash "$group") "; done
bin="$cache_root/$(echo "$all_hash" | sha256sum | cut -c1-16)/bin"
mkdir -p "$bin" "$cache_root/groups"

for group in "${groups[@]}"; do
  dir="$cache_root/groups/$group-$(group_hash "$group")"
  # A Pulumi CLI already on PATH at the pinned release serves as well as one built here.
  if [ "$group" = pulumi ] && [ ! -x "$dir/pulumi" ] && command -v pulumi >/dev/null \
      && [ "$(pulumi version 2>/dev/null)" = "$(required pulumi github.com/pulumi/pulumi/pkg/v3)" ] \
      && [ "$(readlink -f "$(command -v pulumi)")" != "$(readlink -f "$bin/pulumi" 2>/dev/null)" ]; then
    ln -sfn "$(command -v pulumi)" "$bin/pulumi"
    continue
  fi
  missing=0
  for b in $(binaries "$group"); do [ -x "$dir/$b" ] || missing=1; done
  [ "$missing" -eq 0 ] || build_group "$group" "$dir"
  for b in $(binaries "$group"); do ln -sfn "$dir/$b" "$bin/$b"; done
done
echo "$bin"
