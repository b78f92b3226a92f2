#!/usr/bin/env bash
# Sets up everything the platform needs on a fresh Debian machine with Python 3.11, then runs a job:
#   scripts/quickstart.sh plan   -> visio plan --all over every example stack (offline)
#   scripts/quickstart.sh test   -> the whole test suite (installs coturn, dnsmasq, redis, PostgreSQL and
#                                   Java from Debian and builds or fetches the pinned tools of tools/ into a
#                                   cache on first use)
#   scripts/quickstart.sh setup  -> only .venv (used by scripts/local-cluster.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

job="${1:-}"
case "$job" in
  plan|test|setup) ;;
  *) echo "usage: scripts/quickstart.sh plan|test|setup" >&2; exit 2 ;;
esac

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else
    echo "error: installing Debian packages needs root or sudo: $*" >&2; exit 2
  fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  as_root apt-get update -qq
  # Packages are installed for tests to start on loopback; their system services must not start.
  as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  as_root rm -f /usr/sbin/policy-rc.d
}

PYTHON="$(command -v python3.11 || command -v python3)"
if ! "$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
  echo "error: Python 3.11 is required (found $("$PYTHON" --version 2>&1))" >&2; exit 2
fi

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    apt_install python3.11-venv
    "$PYTHON" -m venv .venv
  fi
fi
# The editable install maps each top-level package, so a change of pyproject.toml reinstalls too.
stamp=.venv/.installed
if ! cat requirements.lock pyproject.toml | cmp -s - "$stamp"; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.lock
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
  cat requirements.lock pyproject.toml >"$stamp"
fi

case "$job" in
  setup)
    ;;
  plan)
    exec .venv/bin/visio plan --all --out out/plan
    ;;
  test)
    apt_install coturn dnsmasq-base redis-server redis-tools openssl iproute2 rsync postgresql postgresql-client \
      openjdk-17-jre-headless curl
    # The real control plane and engine (tools/): built on first use into a cache outside the tree.
    scripts/build-tools.sh >/dev/null
    export VISIO_REQUIRE_SERVERS=1
    exec .venv/bin/python -m pytest -q -p no:cacheprovider
    ;;
esac
