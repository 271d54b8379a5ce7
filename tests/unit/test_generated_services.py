"""The Python files serving adapters write (services, launchers, runtimes) are code held in strings:
no linter reads them, and a lost import only shows when the server runs. Write each one for real
and check every name it uses is defined (Ray's launcher once lost `import time` this way and
exited right after start-up)."""

import builtins
import symtable
from pathlib import Path

import pytest

from bakeoff.host import registry
from bakeoff.stages.contract import Unsupported, load_adapter
from bakeoff.stages.serving.contract import ServingAdapter

MODULE_NAMES = {"__file__", "__name__", "__doc__", "__spec__", "__loader__", "__package__", "__builtins__"}
# Adapters that write no Python of their own (MLflow saves the model in its format with MLflow).
WRITERS = [e for e in registry.entries("serving") if e.name != "mlflow-serve"]


def undefined_names(source: str, filename: str) -> set[str]:
    top = symtable.symtable(source, filename, "exec")
    defined = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}
    missing: set[str] = set()

    def visit(table: symtable.SymbolTable) -> None:
        for symbol in table.get_symbols():
            name = symbol.get_name()
            if (symbol.is_referenced() and symbol.is_global() and name not in defined
                    and name not in MODULE_NAMES and not hasattr(builtins, name)):
                missing.add(name)
        for child in table.get_children():
            visit(child)

    visit(top)
    return missing


def test_the_checker_finds_a_lost_import():
    assert undefined_names("import sys\nwhile True:\n    time.sleep(1)\n", "x.py") == {"time"}
    assert undefined_names("import time\ndef f():\n    return [time.time() for _ in range(2)]\n", "x.py") == set()


@pytest.mark.parametrize("entry", WRITERS, ids=lambda e: e.name)
@pytest.mark.parametrize("batching", [False, True], ids=["plain", "batching"])
def test_every_python_file_an_adapter_writes_defines_what_it_uses(entry, batching, tmp_path):
    adapter = load_adapter(entry.spec.adapter, ServingAdapter, entry.spec.options)
    model = tmp_path / "model.pkl"
    model.write_bytes(b"")
    workdir = tmp_path / "work"
    workdir.mkdir()  # the workload makes it before `prepare`
    try:
        adapter.prepare(models={"main": model, "second": model}, workdir=workdir, workers=1, batching=batching)
    except Unsupported:
        pytest.skip(f"{entry.name} does not serve this configuration")
    written = sorted(workdir.rglob("*.py"))
    if not written:
        pytest.skip(f"{entry.name} writes only configuration files here")
    for path in written:
        source = path.read_text()
        compile(source, str(path), "exec")
        assert undefined_names(source, str(path)) == set(), path.name
