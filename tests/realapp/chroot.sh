#!/usr/bin/env bash
# Build (once, cached) a Debian trixie chroot with real GIMP 3 and Krita 5.2, and run commands in it.
#   chroot.sh build            -> prints the chroot root (builds it if missing or stale)
#   chroot.sh run CMD...       -> runs CMD as the unprivileged user 'artist' inside it
# Needs root (debootstrap). The cache lives outside the repository.
set -euo pipefail
ROOT="${ADASTYLE_CHROOT:-/var/cache/adastyle/trixie-apps}"
PKGS="gimp krita python3-pyqt5 xvfb xauth xdotool imagemagick"
STAMP="$ROOT/.adastyle-stamp"

mirror() {
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

build() {
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PKGS" ]; then echo "$ROOT"; return; fi
  command -v debootstrap >/dev/null || { apt-get update -qq >&2; apt-get install -y -qq debootstrap >&2; }
  local part="$ROOT.partial"
  rm -rf "$part"; mkdir -p "$(dirname "$ROOT")"
  debootstrap --variant=minbase trixie "$part" "$(mirror)" >&2
  printf '#!/bin/sh\nexit 101\n' > "$part/usr/sbin/policy-rc.d"; chmod +x "$part/usr/sbin/policy-rc.d"
  mount -t proc proc "$part/proc"
  trap 'umount "$part/proc" 2>/dev/null || true' EXIT
  chroot "$part" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $PKGS && apt-get clean" >&2
  umount "$part/proc"; trap - EXIT
  chroot "$part" /usr/sbin/useradd -m -u 4242 -s /bin/bash artist
  echo "$PKGS" > "$part/.adastyle-stamp"
  rm -rf "$ROOT"; mv "$part" "$ROOT"
  echo "$ROOT"
}

run() {
  build >/dev/null
  # One run at a time: each run mounts /dev and /proc and unmounts them when it ends.
  exec 9>"$ROOT.lock"
  flock 9
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  mountpoint -q "$ROOT/dev" || mount --rbind /dev "$ROOT/dev"
  cleanup() { umount -R "$ROOT/dev" 2>/dev/null || umount -l "$ROOT/dev" 2>/dev/null || true; umount "$ROOT/proc" 2>/dev/null || true; }
  trap cleanup EXIT
  # A clean slate: nothing of an earlier run (an Xvfb, a stale X lock) may leak into this one.
  pkill -KILL -u 4242 2>/dev/null || true
  rm -rf "$ROOT"/tmp/.X*-lock "$ROOT"/tmp/.X11-unix/X* 2>/dev/null || true
  local rt="$ROOT/tmp/runtime-artist"; mkdir -p "$rt"; chown 4242:4242 "$rt"; chmod 700 "$rt"
  chroot --userspec=4242:4242 "$ROOT" /usr/bin/env -i HOME=/home/artist LANG=C.UTF-8 PATH=/usr/bin:/bin \
    XDG_RUNTIME_DIR=/tmp/runtime-artist ${CHROOT_ENV:-} "$@"
}

case "${1:-}" in
  build) build ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 build | run CMD..." >&2; exit 2 ;;
esac
