#!/usr/bin/env bash
# Apache Kafka's broker jars for the streaming tests and benchmarks, from Maven Central (deploy/kafka/pom.xml)
# into deploy/kafka/libs/ (ignored by git; SEBAC_KAFKA_LIBS overrides the folder). Cached by the pom's hash:
# nothing is fetched while libs/.pom.sha256 equals sha256(pom.xml). Needs a JDK 17+ and Maven
# (deploy/dev/system-deps.sh installs Debian's); without them it says so and the broker tests skip
# (or fail, with SEBAC_REQUIRE_SERVERS=1).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
libs="${SEBAC_KAFKA_LIBS:-$here/libs}"
want="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
if [ -f "$libs/.pom.sha256" ] && [ "$(cat "$libs/.pom.sha256")" = "$want" ]; then
  exit 0
fi
for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "kafka/fetch: '$tool' not found: no Apache Kafka for the streaming tests" >&2
    exit 0
  fi
done
echo "kafka/fetch: Apache Kafka $(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml") jars from Maven Central"
tmp="$libs.partial.$$"
trap 'rm -rf "$tmp"' EXIT
mvn -q -B -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp"
rm -rf "$libs"
mv "$tmp" "$libs"
echo "$want" > "$libs/.pom.sha256"
