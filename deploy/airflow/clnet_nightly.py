"""Airflow DAG: clnet's nightly incremental update through ``deploy/submit.sh``.

Copy this file into the DAG folder of an Airflow (2.4 or later) whose workers have a clnet
checkout at ``CLNET_HOME`` (default ``/opt/clnet``) with ``make package`` done and Spark's
client configured. Each run submits the batch of its logical date,
``/data/batches/<ds>``, to the cluster named in the standalone ``spark-defaults`` flavour; one
run at a time, since an update must see the previous night's tables.
"""

from __future__ import annotations

import datetime as dt
import os

from airflow import DAG

try:  # Airflow 3 keeps BashOperator in the standard provider
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator

CLNET_HOME = os.environ.get("CLNET_HOME", "/opt/clnet")
SCHEDULE = "30 2 * * *"  # the same time as deploy/cron/clnet-nightly.cron
SUBMIT = "deploy/submit.sh"
PROPERTIES = "deploy/conf/spark-defaults.standalone.conf"
JOB = "jobs/update.py"
BATCHES = "/data/batches"
WAREHOUSE = "/data/warehouse"

with DAG(
    dag_id="clnet_nightly",
    description="clnet incremental update of the day's records",
    schedule=SCHEDULE,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": dt.timedelta(minutes=30)},
    tags=["clnet"],
) as dag:
    update = BashOperator(
        task_id="update",
        bash_command=(
            f"{SUBMIT} --properties-file {PROPERTIES} {JOB}"
            f' --input "{BATCHES}/{{{{ ds }}}}" --warehouse {WAREHOUSE}'
        ),
        cwd=CLNET_HOME,
        execution_timeout=dt.timedelta(hours=4),
    )
