"""The trial's ML repository: a bare repository to push to (file://), a developer's clone, the
site file that tells jobs where this machine keeps data, registry and deploy slot, and the
changes the stage pushes. Worker side: standard library (and git)."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

TEMPLATE = Path(__file__).parent / "template"
BRANCH = "main"
# The team's committer identity, fixed so every tool sees the same commits.
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Team", "GIT_AUTHOR_EMAIL": "team@example.invalid",
                "GIT_COMMITTER_NAME": "Team", "GIT_COMMITTER_EMAIL": "team@example.invalid"}
ROLLBACK_BUG = ("probabilities(SAMPLE)[0]", "probabilities(SAMPLE)[1]")  # /health raises IndexError


def git(*args: str, cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **GIT_IDENTITY, **(env or {})})
    if done.returncode:
        raise RuntimeError(f"git {' '.join(args)} failed: {(done.stderr or done.stdout).strip()[-800:]}")
    return done.stdout.strip()


class Repo:
    """The pushed-to bare repository and the clone the stage commits in."""

    def __init__(self, root: Path, data_dir: Path, python: Path, settings: dict, cache: Path | None = None) -> None:
        self.root, self.cache = root, cache
        self.bare, self.clone, self.site = root / "origin.git", root / "clone", root / "site"
        self.timeline = self.site / "timeline.jsonl"
        self.registry, self.slot = self.site / "registry", self.site / "slot"
        self.data_dir, self.python, self.settings = data_dir, python, settings

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def create(self) -> str:
        """Bare repository, clone, template, site file and reference AUC; first push (before any
        tool is listening). Returns the first commit."""
        for folder in (self.site, self.registry):
            folder.mkdir(parents=True, exist_ok=True)
        self.timeline.touch()
        git("init", "--quiet", "--bare", f"--initial-branch={BRANCH}", str(self.bare), cwd=self.root)
        git("init", "--quiet", f"--initial-branch={BRANCH}", str(self.clone), cwd=self.root)
        shutil.copytree(TEMPLATE, self.clone, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        self._write_site()
        self._size_data()
        (self.clone / ".gitignore").write_text("out/\n__pycache__/\n")
        (self.clone / "reference.json").write_text(json.dumps({"auc": self.reference_auc()}))
        git("remote", "add", "origin", self.url, cwd=self.clone)
        revision = self.commit("Flights-delay model, first version")
        self.push()
        return revision

    def _write_site(self) -> None:
        values = {"PYTHON": str(self.python), "DATA_DIR": str(self.data_dir), "TIMELINE": str(self.timeline),
                  "REGISTRY": str(self.registry), "SLOT_DIR": str(self.slot), "SITE_DIR": str(self.site),
                  "PYTHONDONTWRITEBYTECODE": "1",
                  # One thread per job: a matrix of three on two cores would otherwise oversubscribe
                  # them with OpenMP threads, whose spin-waits make every job crawl.
                  "OMP_NUM_THREADS": "1", "DEPLOY_TIMEOUT": str(self.settings.get("deploy_timeout_s", 120))}
        lines = ["# Where this machine keeps the data, the registry and the deploy slot (written at set-up)."]
        lines += [f"{k}='{v}'" for k, v in values.items()] + [f"export {' '.join(values)}"]
        (self.clone / "ci" / "site.env").write_text("\n".join(lines) + "\n")

    def _size_data(self) -> None:
        version = json.loads((self.clone / "data.json").read_text())
        version.update(train_rows=self.settings["train_rows"], holdout_rows=self.settings["holdout_rows"])
        (self.clone / "data.json").write_text(json.dumps(version) + "\n")

    def reference_key(self) -> str:
        """What the reference AUC depends on: the repository's code and settings as committed
        (site.env aside: it names this trial's folders), the data folder (named by its content
        hash), this interpreter and its numpy and scikit-learn."""
        from importlib.metadata import version

        digest = hashlib.sha256()
        for path in sorted(p for p in self.clone.rglob("*") if p.is_file() and ".git" not in p.parts):
            if path.name != "site.env":
                digest.update(str(path.relative_to(self.clone)).encode() + b"\0" + path.read_bytes() + b"\0")
        digest.update("|".join([str(self.data_dir.resolve()), sys.version, version("numpy"),
                                version("scikit-learn")]).encode())
        return digest.hexdigest()[:24]

    def reference_auc(self) -> float:
        """The AUC of the first version's model, trained by the repository's own code in this
        process (not through any tool): the reference the gate compares against. With a cache
        folder (the run's, shared by its trials) it is trained once per `reference_key` and
        read back by the run's later trials: training it took 20 s of a 55 s push trial on the
        loaded machine, and every trial of a run trains the same model on the same data."""
        cached = self.cache / f"reference-auc-{self.reference_key()}.json" if self.cache else None
        if cached is not None and cached.is_file():
            return float(json.loads(cached.read_text())["auc"])
        auc = self._train_reference()
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps({"auc": auc}))
            os.replace(partial, cached)  # two trials side by side write the same value
        return auc

    def _train_reference(self) -> float:
        os.environ["DATA_DIR"] = str(self.data_dir)
        sys.path.insert(0, str(self.clone))
        try:
            train = importlib.import_module("model.train")
            evaluate = importlib.import_module("model.evaluate")
            out = self.root / "reference-model"
            train.train(self.clone, out)
            return evaluate.evaluate(self.clone, out / "model.pkl")
        finally:
            sys.path.remove(str(self.clone))
            for name in [m for m in sys.modules if m == "model" or m.startswith("model.")]:
                del sys.modules[name]

    def write(self, files: dict[str, str]) -> None:
        for path, text in files.items():
            target = self.clone / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            if path.endswith((".sh", "post-receive")):
                target.chmod(0o755)

    def commit(self, message: str, files: dict[str, str] | None = None) -> str:
        self.write(files or {})
        git("add", "--all", cwd=self.clone)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.clone)
        return git("rev-parse", "HEAD", cwd=self.clone)

    def push(self) -> float:
        """`git push` to the bare repository; returns the wall-clock time it started."""
        started = time.time()
        git("push", "--quiet", "origin", f"HEAD:{BRANCH}", cwd=self.clone)
        return started

    # The changes the stage pushes ----------------------------------------------------------

    def params(self, **changes) -> dict[str, str]:
        params = json.loads((self.clone / "params.json").read_text())
        params.update(changes)
        return {"params.json": json.dumps(params, indent=1) + "\n"}

    def good_change(self, iteration: int) -> dict[str, str]:
        """More boosting iterations, labels intact: a model as good as the reference."""
        return self.params(max_iter=40 + 10 * (1 + iteration % 2), shuffle_labels=False)

    def bad_change(self) -> dict[str, str]:
        """A model trained on shuffled labels (what a broken join does): AUC near 0.5."""
        return self.params(shuffle_labels=True)

    def docs_change(self, iteration: int) -> dict[str, str]:
        text = (self.clone / "docs" / "usage.md").read_text()
        return {"docs/usage.md": text + f"\nClarified the request format ({iteration}).\n"}

    def rollback_change(self) -> dict[str, str]:
        """A server bug that lint and the unit tests miss: /health raises, so its check fails."""
        text = (self.clone / "serve" / "server.py").read_text()
        # A different model too, so "the old model still serves" is told apart by its SHA-256.
        return {"serve/server.py": text.replace(*ROLLBACK_BUG), **self.params(max_iter=45, shuffle_labels=False)}

    def undo_rollback_change(self) -> dict[str, str]:
        text = (self.clone / "serve" / "server.py").read_text()
        return {"serve/server.py": text.replace(ROLLBACK_BUG[1], ROLLBACK_BUG[0])}
