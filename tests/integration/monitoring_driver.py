"""Run inside a tool's env: `python monitoring_driver.py ADAPTER DATA_DIR OUT.json`. Fits the
monitor for 1,000-row batches on the stage's reference, scores 10 calibration batches, then
checks a no-drift batch and two strong-drift batches; writes what each check said."""

import json
import sys
from dataclasses import asdict
from pathlib import Path

from bakeoff.stages.contract import load_adapter
from bakeoff.stages.monitoring.contract import MonitorAdapter
from bakeoff.stages.monitoring.scenarios import CATEGORICAL, MONITORED_NUMERIC, Scenarios

ROWS = 1_000


def main(adapter_spec: str, data_dir: str, out: str) -> None:
    scenarios = Scenarios(Path(data_dir), seed=2013, reference_rows=50_000)
    monitor = load_adapter(adapter_spec, MonitorAdapter, {})
    monitor.fit(reference=scenarios.reference_features(), numeric=list(MONITORED_NUMERIC),
                categorical=list(CATEGORICAL), batch_rows=ROWS)
    calibration = [asdict(monitor.check(current=scenarios.calibration_batch(ROWS, i).features)) for i in range(10)]
    checks = {name: asdict(monitor.check(current=scenarios.batch(name, ROWS, 0).features))
              for name in ("no_drift", "quality_unit", "cov_temp_strong")}
    versions = {name: __import__(name).__version__ for name in ("numpy", "pandas", "sklearn")}
    Path(out).write_text(json.dumps({"calibration": calibration, "checks": checks, "versions": versions}))


if __name__ == "__main__":
    main(*sys.argv[1:])
