#!/usr/bin/env bash
# Resolve the JVM jars clnet needs (Delta Lake for Spark 4.1 / Scala 2.13) from Maven Central
# into deploy/jars/lib, once. Jars whose artifact the pyspark distribution already ships are
# left out, so Spark's own versions win. The resulting list is what Spark gets as spark.jars
# locally and what a cluster gets with spark-submit --jars (see deploy/jars.txt).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-$here/../.venv/bin/python}"
spark_jars="$("$python" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')"
out="$here/jars/lib"
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT

mvn -q -B -Dstyle.color=never -f "$here/jars/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$staging"

rm -rf "$out" && mkdir -p "$out"
for jar in "$staging"/*.jar; do
  name="$(basename "$jar" .jar)"
  artifact="${name%-[0-9]*}"            # RoaringBitmap-0.9.25 -> RoaringBitmap
  if compgen -G "$spark_jars/${artifact}-[0-9]*.jar" >/dev/null; then
    continue                            # Spark ships its own version of this artifact
  fi
  cp "$jar" "$out/"
done
(cd "$out" && ls -1 *.jar) > "$here/jars.txt"
echo "resolved $(wc -l < "$here/jars.txt") jars into $out"
