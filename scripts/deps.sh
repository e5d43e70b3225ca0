#!/usr/bin/env bash
# Installs the Debian packages certgate needs to build, test, demo and bench,
# but only those that are missing, so a prepared machine pays nothing.
# Usage: scripts/deps.sh [build|test|bench]
set -euo pipefail
want=(build-essential cmake pkg-config libssl-dev libgnutls28-dev nettle-dev libgmp-dev libuv1-dev libxml2-dev
      libsqlite3-dev libjansson-dev libmimalloc-dev libpq-dev openssl ca-certificates)
case "${1:-build}" in
  test)  want+=(libcmocka-dev curl libcurl4-openssl-dev python3 sqlite3 clang postgresql) ;;
  bench) want+=(libcmocka-dev curl python3 nginx-light haproxy) ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# python3 may come from outside dpkg (pyenv); a working interpreter is enough.
if [[ " ${missing[*]:-} " == *" python3 "* ]] && command -v python3 >/dev/null; then
  missing=("${missing[@]/python3}")
fi
missing=($(printf '%s\n' "${missing[@]:-}" | grep -v '^$' || true))
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps the packaged nginx/haproxy services from starting; we run our own.
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
