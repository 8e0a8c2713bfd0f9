"""On a schedule: end the open exports past their deadline whose execution has ended, when no
status-change event did (workflow/reconcile.py)."""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from aistudios_export import Adapters, Settings
from aistudios_export.observability import count_ending, logger, metrics
from aistudios_export.workflow.reconcile import reconcile

adapters = Adapters(Settings.from_env(require=("table_name", "topic_arn")))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    run = reconcile(adapters)
    for ending in run.ended:
        count_ending(ending.record.status, ending.changed)
    metrics.add_metric(name="ExportsReconciled", unit=MetricUnit.Count, value=len(run.ended))
    logger.info("reconciled", extra={"checked": run.checked, "ended": len(run.ended)})
    return {"checked": run.checked, "ended": [e.record.export_id for e in run.ended]}
