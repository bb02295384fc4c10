#!/usr/bin/env bash
# Install the servers the integration tests start on loopback, from Debian's packages, when missing:
# PostgreSQL (postgres, initdb), Prometheus (prometheus, promtool), Chromium (the console's browser tests,
# driven by Playwright: no browser download), Pango (WeasyPrint's PDF sitrep), and a JDK 17 with Maven (Apache
# Kafka for the streaming tests, whose jars deploy/kafka/fetch.sh takes from Maven Central). Needs root or sudo; without
# them it says what is missing (and tests that need a missing server fail when SEBAC_REQUIRE_SERVERS=1).
set -euo pipefail
want=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || want+=(postgresql)
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || want+=(prometheus)
command -v chromium >/dev/null 2>&1 || want+=(chromium fonts-dejavu-core)
# Pango: WeasyPrint lays out the PDF sitrep with it
# (no `grep -q` in a pipe: under pipefail its early exit fails ldconfig with SIGPIPE)
[ -n "$(ldconfig -p 2>/dev/null | grep libpangoft2-1.0)" ] || want+=(libpango-1.0-0 libpangoft2-1.0-0)
command -v java >/dev/null 2>&1 || want+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || want+=(maven)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "system-deps: missing ${want[*]} and no root/sudo to install them" >&2; exit 0; fi
echo "system-deps: installing ${want[*]} from Debian"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
# Debian starts the packaged services; the tests run their own instances on free ports.
for svc in postgresql prometheus; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
