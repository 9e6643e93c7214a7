#!/usr/bin/env bash
# Builds the node's local runtime base image without a registry: a Debian 12 (bookworm) root file system made with
# debootstrap (minbase variant, plus what the .NET runtime and the image's healthcheck need: ca-certificates, libssl3,
# tzdata, curl; libicu72 with --icu), brought up to date from bookworm-updates and bookworm-security, with this
# machine's ASP.NET Core shared runtime (Microsoft.NETCore.App + Microsoft.AspNetCore.App, from `dotnet
# --list-runtimes`) under /usr/share/dotnet, imported with `podman import`.
#
#   sudo docker/build-base.sh                 # localhost/aurigraph-base:bookworm; kept when it already exists
#   sudo docker/build-base.sh --force         # build it again
#
# Options: --image NAME (default localhost/aurigraph-base:bookworm), --force, --icu (the node runs with invariant
# globalization and does not load ICU; add it for apps that do), --mirror URL (default http://deb.debian.org/debian).
# Needs root, debootstrap, podman and runc; Debian packages are cached under /var/cache/aurigraph-base/debs.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
image=${AURIGRAPH_BASE_IMAGE:-localhost/aurigraph-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
dotnet_major=10
force=0
icu=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --image) image=$2; shift 2 ;;
    --force) force=1; shift ;;
    --icu) icu=1; shift ;;
    --mirror) mirror=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-base: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

fail() { echo "build-base: $*" >&2; exit 1; }
export CONTAINERS_CONF=${CONTAINERS_CONF:-$script_dir/podman/containers.conf}
pm() { podman --runtime /usr/bin/runc --cgroup-manager cgroupfs "$@"; }

[[ $(id -u) -eq 0 ]] || fail "needs root (debootstrap, chroot and rootful podman)"
for tool in debootstrap podman chroot tar; do
  command -v "$tool" >/dev/null || fail "'$tool' not found (apt-get install podman runc debootstrap)"
done
[[ -x /usr/bin/runc ]] || fail "/usr/bin/runc not found (apt-get install runc)"

if [[ $force -eq 0 ]] && pm image exists "$image"; then
  echo "build-base: $image already exists ($(pm image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }')); --force builds it again"
  exit 0
fi

# The shared runtime to install: the newest $dotnet_major.x with both frameworks and its host resolver.
command -v dotnet >/dev/null || fail "dotnet not found: the base takes its ASP.NET Core runtime from this machine's dotnet"
dotnet_root=${DOTNET_ROOT:-$(dirname "$(readlink -f "$(command -v dotnet)")")}
runtime=$(dotnet --list-runtimes | awk -v major="$dotnet_major" '$1 == "Microsoft.AspNetCore.App" && index($2, major ".") == 1 { print $2 }' | sort -V | tail -1)
[[ -n $runtime ]] || fail "no Microsoft.AspNetCore.App $dotnet_major.x in 'dotnet --list-runtimes'"
for part in "shared/Microsoft.NETCore.App/$runtime" "shared/Microsoft.AspNetCore.App/$runtime" "host/fxr/$runtime" dotnet; do
  [[ -e $dotnet_root/$part ]] || fail "$dotnet_root/$part is missing (runtime $runtime)"
done

work=$(mktemp -d /var/tmp/aurigraph-base.XXXXXX)
rootfs=$work/rootfs
cleanup() {
  for m in "$rootfs/proc" "$rootfs/sys" "$rootfs/dev/pts"; do
    if mountpoint -q "$m" 2>/dev/null; then umount -l "$m" || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

start=$SECONDS
packages=ca-certificates,curl,libssl3,tzdata,libstdc++6,libgcc-s1,zlib1g
[[ $icu -eq 1 ]] && packages+=,libicu72
cache=/var/cache/aurigraph-base/debs
mkdir -p "$cache"
echo "build-base: debootstrap bookworm (minbase + $packages) from $mirror"
debootstrap --variant=minbase --include="$packages" --cache-dir="$cache" bookworm "$rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }

echo "build-base: updates from bookworm-updates and bookworm-security"
cat > "$rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
# Images stay slim when something is installed later: no manuals, documentation (copyright files excepted) or translations.
cat > "$rootfs/etc/dpkg/dpkg.cfg.d/aurigraph-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
mount -t proc proc "$rootfs/proc"
chroot "$rootfs" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
  'apt-get update -qq && apt-get -y -qq upgrade && apt-get clean' > "$work/upgrade.log" 2>&1 \
  || { tail -20 "$work/upgrade.log" >&2; fail "apt-get upgrade in the root file system failed (log above)"; }
umount "$rootfs/proc"

echo "build-base: ASP.NET Core runtime $runtime from $dotnet_root"
mkdir -p "$rootfs/usr/share/dotnet/shared" "$rootfs/usr/share/dotnet/host/fxr"
cp -a "$dotnet_root/dotnet" "$rootfs/usr/share/dotnet/"
cp -a "$dotnet_root"/LICENSE.txt "$dotnet_root"/ThirdPartyNotices.txt "$rootfs/usr/share/dotnet/" 2>/dev/null || true
cp -a "$dotnet_root/host/fxr/$runtime" "$rootfs/usr/share/dotnet/host/fxr/"
for framework in Microsoft.NETCore.App Microsoft.AspNetCore.App; do
  mkdir -p "$rootfs/usr/share/dotnet/shared/$framework"
  cp -a "$dotnet_root/shared/$framework/$runtime" "$rootfs/usr/share/dotnet/shared/$framework/"
done
ln -sf /usr/share/dotnet/dotnet "$rootfs/usr/bin/dotnet"
chroot "$rootfs" /usr/bin/dotnet --list-runtimes > "$work/runtimes.txt" 2>&1 \
  || { cat "$work/runtimes.txt" >&2; fail "the runtime does not start in the root file system"; }

# What an image does not need: package lists and archives, documentation, manuals, translations, the build's resolver.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
       "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* \
       "$rootfs"/tmp/* "$rootfs"/var/tmp/*
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
: > "$rootfs/etc/resolv.conf"
rm -f "$rootfs/etc/hostname"

echo "build-base: podman import -> $image"
tar --numeric-owner --xattrs -C "$rootfs" -c . | pm import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV DOTNET_RUNNING_IN_CONTAINER=true' \
  --change "ENV DOTNET_VERSION=$runtime" \
  --change "ENV ASPNET_VERSION=$runtime" \
  --change "LABEL org.opencontainers.image.title=aurigraph-base org.opencontainers.image.description=Debian-12-minbase-with-the-ASP.NET-Core-runtime-$runtime" \
  --change 'CMD ["/bin/bash"]' \
  --message "debian bookworm minbase + $packages + ASP.NET Core runtime $runtime" \
  --quiet - "$image" > /dev/null
pm run --rm --network none "$image" dotnet --list-runtimes > "$work/runtimes.txt" 2>&1 \
  || { cat "$work/runtimes.txt" >&2; fail "the imported image does not run dotnet"; }
echo "build-base: $image, $(pm image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'), built in $((SECONDS - start)) s; runtimes:"
sed 's/^/  /' "$work/runtimes.txt"
