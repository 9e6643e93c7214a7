#!/usr/bin/env bash
# Puts promtool at deploy/prometheus/tools/bin/promtool for the rule checks (tests/Aurigraph.Node.Tests/Deployment):
# the one binary out of Debian's prometheus package, downloaded with apt-get and unpacked with dpkg-deb, so that no
# Prometheus service, user or configuration is installed. Needs apt-get (its package lists: 'apt-get update', as root,
# when they are missing). Prints the version it put there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="$here/bin/promtool"
if [ -x "$target" ] && "$target" --version >/dev/null 2>&1; then
  "$target" --version | head -n 1
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
download() { apt-get -qq -o APT::Sandbox::User=root download prometheus >/dev/null 2>&1; }
download || { apt-get update -qq >/dev/null && download; }
dpkg-deb -x prometheus_*.deb unpacked
install -D -m 0755 unpacked/usr/bin/promtool "$target"
"$target" --version | head -n 1
