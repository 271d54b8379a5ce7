"""The DAG file template: one PythonOperator per task of a stage workflow; upstream outputs
(the reference strings) come through XCom. The adapter writes one file per workflow into the
DAGs folder; Airflow parses it like any DAG file."""

TEMPLATE = '''\
from datetime import timedelta

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

from bakeoff.stages.orchestration.workflow import Workflow

WORKFLOW = Workflow.read({workflow!r})


def run_task(name, ti):
    task = WORKFLOW.task(name)
    upstream = {{u: ti.xcom_pull(task_ids=u) for u in task.upstream}}
    return WORKFLOW.call(task, upstream)


with DAG(dag_id={dag_id!r}, schedule=None, catchup=False, max_active_tasks=WORKFLOW.workers,
         max_active_runs=1, is_paused_upon_creation=False) as dag:
    operators = {{}}
    for task in WORKFLOW.tasks:
        operators[task.name] = PythonOperator(
            task_id=task.name, python_callable=run_task, op_kwargs={{"name": task.name}},
            retries=WORKFLOW.retries, retry_delay=timedelta(seconds=WORKFLOW.retry_delay),
            execution_timeout=timedelta(seconds=WORKFLOW.timeout) if WORKFLOW.timeout else None)
    for task in WORKFLOW.tasks:
        for upstream in task.upstream:
            operators[upstream] >> operators[task.name]
'''
