#!/usr/bin/env bash
# The README's test command: installs the test peers Maven cannot bring (src/test/resources/test-peers.txt: kcat,
# Chromium, mosquitto, ...) when they are missing, then runs every test: mvn -B verify (unit tests with Surefire,
# integration tests *IT with Failsafe). .ci/run calls it.
#
# On Debian/Ubuntu the peers are installed with apt (as root, or through sudo). Elsewhere, or without the rights,
# it says what is missing and runs the suite anyway: a test whose peer is missing then FAILS with the install hint.
# Options: --no-install (never install), any other argument goes to Maven (e.g. -Dit.test=Hl7MllpInboundIT).
# To run without some peers on purpose: -Dcmm.test.allow-missing-peers=true (those tests are then skipped).
set -euo pipefail
cd "$(dirname "$0")/.."

install=yes
maven_args=()
for arg in "$@"; do
  case "$arg" in
    --no-install) install=no ;;
    *) maven_args+=("$arg") ;;
  esac
done

found() {
  local name
  for name in "$@"; do
    command -v "$name" >/dev/null 2>&1 && return 0
    [ -x "/usr/sbin/$name" ] && return 0
  done
  return 1
}

missing=()
packages=()
while read -r peer package executables; do
  case "$peer" in ''|'#'*) continue ;; esac
  # shellcheck disable=SC2086
  if ! found $executables; then
    missing+=("$peer")
    packages+=("$package")
  fi
done < src/test/resources/test-peers.txt
# Java and Maven themselves, when the script runs on a bare Debian machine (CI)
command -v java >/dev/null 2>&1 || packages+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || packages+=(maven)

if [ ${#packages[@]} -gt 0 ]; then
  if [ "$install" = yes ] && command -v apt-get >/dev/null 2>&1; then
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else sudo=(false); fi
    fi
    if [ "${sudo[*]}" != false ]; then
      echo "Installing the test peers: ${packages[*]}"
      "${sudo[@]}" apt-get update -q
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}"
    else
      echo "Cannot install ${packages[*]} (not root, no sudo): install them, or their tests fail" >&2
    fi
  else
    echo "Missing test peers: ${missing[*]:-none} (packages: ${packages[*]}); install them, or their tests fail" >&2
  fi
fi

# The npm tools and peers the tests run (issue 13: @asyncapi/parser validates /asyncapi.yaml; issue 16:
# web-push-testing, the Web Push service), pinned by src/test/node's lock file; installed here once, before the two
# failsafe JVMs start (each test installs them itself only when this step could not: no npm, --no-install).
if [ "$install" = yes ] && command -v npm >/dev/null 2>&1 && { [ ! -d src/test/node/node_modules/@asyncapi/parser ] \
    || [ ! -d src/test/node/node_modules/web-push-testing ]; }; then
  (cd src/test/node && npm ci --no-audit --no-fund --ignore-scripts)
fi

java -version 2>&1 | sed -n 1p
mvn -v | sed -n 1p
exec mvn -B verify ${maven_args[@]+"${maven_args[@]}"}
