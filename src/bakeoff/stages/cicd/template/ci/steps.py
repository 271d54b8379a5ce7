"""The pipeline's steps, called through ci/step.sh: lint, test, train, evaluate, gate, register,
deploy, and the small steps the CI probes use. Standard library here; the model code is
imported only by the steps that need it.
"""

import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path.cwd()
OUT = REPO / "out"
GATE_TOLERANCE = 0.01  # a model may be at most this much AUC below the reference


def record(**detail) -> None:
    """One line of detail in the shared timeline (what the step saw, for the stage's checks)."""
    line = {"kind": "detail", "revision": os.environ["REVISION"], "step": os.environ["STEP"], **detail}
    with open(os.environ["TIMELINE"], "a") as fh:
        fh.write(json.dumps(line) + "\n")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lint() -> int:
    problems = []
    for path in sorted([*REPO.glob("model/*.py"), *REPO.glob("serve/*.py"), *REPO.glob("ci/*.py")]):
        text = path.read_text()
        try:
            compile(text, str(path), "exec")
        except SyntaxError as exc:
            problems.append(f"{path.name}:{exc.lineno}: {exc.msg}")
        for number, line in enumerate(text.splitlines(), 1):
            if "\t" in line or len(line) > 120:
                problems.append(f"{path.name}:{number}: tab or line over 120 characters")
    print("\n".join(problems) or "lint: clean")
    return 1 if problems else 0


def test() -> int:
    return subprocess.call([sys.executable, "-m", "unittest", "-q", "model.test_features"])


def train(config: str = "") -> int:
    out = OUT / config if config else OUT
    summary = importlib.import_module("model.train").train(REPO, out, config)
    record(sha256=sha256(out / "model.pkl"), params=summary["params"])
    return 0


def train_matrix() -> int:
    return train(os.environ["MODEL_CONFIG"])


def evaluate() -> int:
    model = OUT / "model.pkl"
    auc = importlib.import_module("model.evaluate").evaluate(REPO, model)
    (OUT / "metrics.json").write_text(json.dumps({"auc": auc}))
    record(sha256=sha256(model), auc=auc)
    print(f"held-out AUC {auc:.4f}")
    return 0


def gate() -> int:
    auc = json.loads((OUT / "metrics.json").read_text())["auc"]
    reference = json.loads((REPO / "reference.json").read_text())["auc"]
    passed = auc >= reference - GATE_TOLERANCE
    record(auc=auc, reference=reference, passed=passed)
    print(f"gate: AUC {auc:.4f} against reference {reference:.4f} - {GATE_TOLERANCE}: {'pass' if passed else 'FAIL'}")
    return 0 if passed else 1


def register() -> int:
    model, registry = OUT / "model.pkl", Path(os.environ["REGISTRY"])
    digest = sha256(model)
    registry.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model, registry / f"{digest}.pkl")
    if sha256(registry / f"{digest}.pkl") != digest:
        print("register: the copy in the registry differs")
        return 1
    with open(registry / "index.jsonl", "a") as fh:
        fh.write(json.dumps({"sha256": digest, "revision": os.environ["REVISION"], "at": time.time()}) + "\n")
    record(sha256=digest)
    return 0


def deploy() -> int:
    """Hand the registered model and this commit's server to the deploy slot and wait for its
    answer: deployed, or rolled back to the previous release after a failed health check."""
    digest, slot = sha256(OUT / "model.pkl"), Path(os.environ["SLOT_DIR"])
    release = slot / "releases" / f"{os.environ['REVISION'][:12]}-{time.time_ns()}"
    shutil.copytree(REPO / "serve", release / "serve")
    shutil.copytree(REPO / "model", release / "model", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(Path(os.environ["REGISTRY"]) / f"{digest}.pkl", release / "model.pkl")
    request = {"release": str(release), "sha256": digest, "revision": os.environ["REVISION"]}
    name = f"{time.time_ns()}.json"
    (slot / "inbox" / f".{name}").write_text(json.dumps(request))
    os.replace(slot / "inbox" / f".{name}", slot / "inbox" / name)
    answer = slot / "answers" / name
    deadline = time.time() + float(os.environ.get("DEPLOY_TIMEOUT", "120"))
    while not answer.exists():
        if time.time() > deadline:
            print("deploy: the slot gave no answer")
            return 1
        time.sleep(0.05)
    outcome = json.loads(answer.read_text())
    record(sha256=digest, outcome=outcome["status"], serving=outcome["serving"])
    print(f"deploy: {outcome['status']}; serving {outcome['serving'][:12]}")
    return 0 if outcome["status"] == "deployed" else 1


def code_changed(before: str, after: str) -> int:
    """Print code=true unless the push changed only docs (docs/ and Markdown files)."""
    if set(before) <= {"0"}:  # a new branch: everything is new
        print("code=true")
        return 0
    files = subprocess.run(["git", "diff", "--name-only", before, after], capture_output=True, text=True,
                           check=True).stdout.split()
    docs_only = bool(files) and all(f.startswith("docs/") or f.endswith(".md") for f in files)
    print(f"code={'false' if docs_only else 'true'}")
    return 0


def noop() -> int:
    return 0


def flaky() -> int:
    """Fails on its first attempt for this revision, passes on the next."""
    counter = Path(os.environ["SITE_DIR"]) / f"flaky-{os.environ['REVISION']}"
    attempts = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempts))
    record(attempt=attempts)
    print(f"flaky: attempt {attempts}")
    return 1 if attempts == 1 else 0


def hang() -> int:
    """Never finishes by itself: the tool's job timeout has to end it."""
    record(pid=os.getpid())
    time.sleep(600)
    return 0


def secret() -> int:
    value = os.environ.get("DEPLOY_TOKEN", "")
    record(secret_sha256=hashlib.sha256(value.encode()).hexdigest())
    print(f"using token {value} to deploy")  # a careless log line: the tool should mask it
    return 0 if value else 1


def ship_marker() -> int:
    """A deploy stand-in for the concurrency probe: takes a moment, then records what shipped."""
    time.sleep(1.0)
    record(shipped=os.environ["REVISION"])
    return 0


STEPS = {"lint": lint, "test": test, "train": train, "train-matrix": train_matrix, "evaluate": evaluate,
         "gate": gate, "register": register, "deploy": deploy, "code-changed": code_changed, "noop": noop,
         "flaky": flaky, "hang": hang, "secret": secret, "ship-marker": ship_marker}

if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(STEPS[sys.argv[1]](*sys.argv[2:]))
