#!/usr/bin/env bash
# Pack the Python environment that Spark executors (and a cluster-side driver) run clnet with.
#
#   deploy/pack_env.sh [OUTPUT]       default OUTPUT: deploy/dist/clnet-env.tar.gz
#
# A fresh venv gets this checkout installed as a regular (non-editable) package with its
# runtime dependencies, so the archive holds a copy of clnet_spark and points at nothing in
# the checkout. venv-pack turns the venv into a relocatable tar.gz for
# `spark-submit --archives OUTPUT#environment` with spark.pyspark.python=./environment/bin/python.
#
# venv-pack links, not copies, the Python interpreter: every node needs the same Python
# (3.11) at the same prefix as the one that built the venv, or set PYTHON_PREFIX to where
# the nodes have it (passed to venv-pack --python-prefix).
#
# Left out of the archive: pyspark's jars (about 400 MB). Python workers on a cluster import
# pyspark from the Spark installation that launched them ($SPARK_HOME/python/lib/pyspark.zip
# comes first on their PYTHONPATH), and the JVM side is that installation's.
#
# Environment: PYTHON (interpreter for the venv, default python3.11), PACKER (a Python with
# venv-pack installed, default the interpreter of .venv beside this checkout, else python3),
# PIP_ARGS (extra pip arguments, e.g. an index URL), COMPRESS_LEVEL (gzip level 0-9, default 4).
# The runtime dependencies are installed at the versions the PACKER environment has (pip
# constraints from its freeze), so the driver and the executors run the same pandas, pyarrow...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="${1:-$here/dist/clnet-env.tar.gz}"
python="${PYTHON:-python3.11}"
packer="${PACKER:-}"
if [[ -z "$packer" ]]; then
  packer=python3
  if [[ -x "$repo/.venv/bin/python" ]]; then packer="$repo/.venv/bin/python"; fi
fi
"$packer" -c 'import venv_pack' 2>/dev/null || {
  echo "pack_env.sh: $packer has no venv-pack; install the dev extra (pip install -e '.[dev]')" >&2
  exit 1
}

mkdir -p "$(dirname "$out")"
staging="$(mktemp -d "${TMPDIR:-/tmp}/clnet-pack.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
env_dir="$staging/clnet-env"

started=$(date +%s)
"$python" -m venv "$env_dir"
"$env_dir/bin/python" -m pip install --quiet --upgrade pip
# A copy of the checkout keeps build leftovers (build/, *.egg-info) out of the working tree.
src="$staging/src"
mkdir -p "$src"
cp -r "$repo/pyproject.toml" "$repo/README.md" "$repo/clnet_spark" "$src/"
# Editable installs (clnet itself in a dev venv) are not constraints: leave them out.
"$packer" -m pip list --format=freeze --exclude-editable > "$staging/constraints.txt"
# shellcheck disable=SC2086  # PIP_ARGS is a list of words
"$env_dir/bin/python" -m pip install --quiet -c "$staging/constraints.txt" ${PIP_ARGS:-} "$src"
installed=$(date +%s)

version="$("$env_dir/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
site="lib/python$version/site-packages"
pack_args=(-p "$env_dir" -o "$out" --force --quiet --compress-level "${COMPRESS_LEVEL:-4}"
  --exclude "$site/pyspark/jars/*")
if [[ -n "${PYTHON_PREFIX:-}" ]]; then pack_args+=(--python-prefix "$PYTHON_PREFIX"); fi
"$packer" -m venv_pack "${pack_args[@]}"
finished=$(date +%s)

echo "packed $out ($(du -h "$out" | cut -f1)): install $((installed - started)) s," \
  "pack $((finished - installed)) s"
