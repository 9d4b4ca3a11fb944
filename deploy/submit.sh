#!/usr/bin/env bash
# spark-submit wrapper for clnet's jobs: adds the jar list (--jars), the packed Python
# environment (--archives) and the interpreter settings that go with it.
#
#   deploy/submit.sh [OPTIONS] JOB [JOB_ARGS...]
#
# JOB is a file under jobs/ (jobs/update.py) or a bare job name (update). JOB_ARGS go to the
# job unchanged (they are `clnet <job>`'s arguments). OPTIONS:
#   --master URL           Spark master (default: $SPARK_MASTER, else spark-defaults.conf)
#   --deploy-mode MODE     client (default) or cluster
#   --conf KEY=VALUE       extra Spark setting; repeatable
#   --properties-file F    a spark-defaults.conf flavour (deploy/conf/)
#   --env-archive PATH     the packed environment (default deploy/dist/clnet-env.tar.gz)
#   --no-env               ship no environment: the nodes already have one (PYSPARK_PYTHON)
#   --dry-run              print the spark-submit command instead of running it
#
# Environment: SPARK_SUBMIT (the spark-submit to run; default $SPARK_HOME/bin/spark-submit,
# else spark-submit on PATH, else .venv/bin/spark-submit), CLNET_JAR_DIR (default
# deploy/jars/lib), PYSPARK_DRIVER_PYTHON (the driver's interpreter in client mode; default
# .venv/bin/python, else python3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"

usage() { sed -n '5,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "submit.sh: $*" >&2; exit 1; }

master="${SPARK_MASTER:-}"
deploy_mode=client
archive="$here/dist/clnet-env.tar.gz"
ship_env=1
dry_run=0
extra=()
while (($#)); do
  case "$1" in
    --master) master="${2:?--master needs a URL}"; shift 2 ;;
    --deploy-mode) deploy_mode="${2:?--deploy-mode needs client or cluster}"; shift 2 ;;
    --conf) [[ "${2:-}" == *=* ]] || die "--conf needs KEY=VALUE, got '${2:-}'"
            extra+=(--conf "$2"); shift 2 ;;
    --properties-file) [[ -f "${2:-}" ]] || die "--properties-file: no file '${2:-}'"
                       extra+=(--properties-file "$2"); shift 2 ;;
    --env-archive) archive="${2:?--env-archive needs a path}"; shift 2 ;;
    --no-env) ship_env=0; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) die "unknown option '$1' (options come before JOB; see --help)" ;;
    *) break ;;
  esac
done
(($#)) || usage
case "$deploy_mode" in
  client|cluster) ;;
  *) die "--deploy-mode is client or cluster, got '$deploy_mode'" ;;
esac

job="$1"; shift
[[ "$job" == */* || "$job" == *.py ]] || job="jobs/$job.py"
[[ "$job" == /* ]] || job="$repo/$job"
if [[ ! -f "$job" ]]; then
  die "no job file $job (jobs: $(cd "$repo/jobs" && ls -1 *.py | paste -sd' '))"
fi

jar_dir="${CLNET_JAR_DIR:-$here/jars/lib}"
[[ -f "$here/jars.txt" ]] || die "$here/jars.txt is missing: run \`make jars\`"
jars=()
while IFS= read -r name; do
  [[ -n "$name" ]] || continue
  [[ -f "$jar_dir/$name" ]] || die "jar $name of jars.txt is not in $jar_dir: run \`make jars\`"
  jars+=("$jar_dir/$name")
done < "$here/jars.txt"
((${#jars[@]})) || die "$here/jars.txt lists no jars"

if [[ -n "${SPARK_SUBMIT:-}" ]]; then submit="$SPARK_SUBMIT"
elif [[ -n "${SPARK_HOME:-}" ]]; then submit="$SPARK_HOME/bin/spark-submit"
elif command -v spark-submit >/dev/null; then submit=spark-submit
else submit="$repo/.venv/bin/spark-submit"
fi

cmd=("$submit")
[[ -z "$master" ]] || cmd+=(--master "$master")
cmd+=(--deploy-mode "$deploy_mode" --jars "$(IFS=,; echo "${jars[*]}")")
if ((ship_env)); then
  [[ -f "$archive" ]] || die "no packed environment at $archive: run \`make package\` (or --no-env)"
  # '#environment' is the folder the archive is unpacked into, in every container's cwd.
  cmd+=(--archives "$archive#environment" --conf spark.pyspark.python=./environment/bin/python)
  if [[ "$deploy_mode" == client ]]; then
    # The driver runs here, outside any container: it keeps a local interpreter.
    driver_python="${PYSPARK_DRIVER_PYTHON:-}"
    if [[ -z "$driver_python" ]]; then
      if [[ -x "$repo/.venv/bin/python" ]]; then driver_python="$repo/.venv/bin/python"
      else driver_python=python3; fi
    fi
    cmd+=(--conf "spark.pyspark.driver.python=$driver_python")
  fi
fi
cmd+=("${extra[@]}" "$job" "$@")

if ((dry_run)); then
  printf '%q ' "${cmd[@]}"; echo
  exit 0
fi
exec "${cmd[@]}"
