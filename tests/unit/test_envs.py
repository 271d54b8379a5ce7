import shutil

from bakeoff.host import envs
from bakeoff.host.registry import load_tool

FIXTURES = __import__("pathlib").Path(__file__).parents[1] / "fixtures" / "tools"


def outside_tool(tmp_path, lock_text=None):
    folder = tmp_path / "tools" / "crashy"
    shutil.copytree(FIXTURES / "crashy", folder)
    if lock_text is not None:
        (folder / "lock.txt").write_text(lock_text)
    return load_tool(folder)


def test_hash_is_stable_and_follows_the_lock(tmp_path):
    tool = outside_tool(tmp_path)
    first = envs.env_hash(tool)
    assert envs.env_hash(tool) == first
    (tool.folder / "lock.txt").write_text((tool.folder / "lock.txt").read_text() + "six==1.16.0\n")
    assert envs.env_hash(tool) != first


def test_an_env_with_its_info_file_is_reused_not_rebuilt(tmp_path):
    tool = outside_tool(tmp_path)
    path = envs.env_path(tool, tmp_path / "envs")
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "python").symlink_to(shutil.which("python3"))
    (path / envs.INFO_FILE).write_text('{"tool": "crashy", "size_mb": 1}')
    outcome = envs.ensure(tool, tmp_path / "envs")
    assert (outcome.status, outcome.built, outcome.info["size_mb"]) == ("ok", False, 1)


def test_an_env_whose_interpreter_is_gone_is_rebuilt_not_trusted(tmp_path):
    tool = outside_tool(tmp_path, "no-such-package-bakeoff==9.9.9\n")  # so the rebuild stops fast
    path = envs.env_path(tool, tmp_path / "envs")
    path.mkdir(parents=True)
    (path / envs.INFO_FILE).write_text('{"tool": "crashy", "size_mb": 1}')  # info file, no bin/python
    outcome = envs.ensure(tool, tmp_path / "envs", offline=True)
    assert outcome.status == "failed" and "failed" in outcome.error  # a build was attempted


def test_a_failed_build_is_an_outcome_not_an_exception(tmp_path):
    tool = outside_tool(tmp_path, "no-such-package-bakeoff==9.9.9\n")
    outcome = envs.ensure(tool, tmp_path / "envs", offline=True)
    assert outcome.status == "failed" and "failed" in outcome.error
    assert not envs.env_path(tool, tmp_path / "envs").exists()  # no half-built env left behind


def test_a_missing_lock_names_the_command_that_makes_it(tmp_path):
    tool = outside_tool(tmp_path)
    (tool.folder / "lock.txt").unlink()
    outcome = envs.ensure(tool, tmp_path / "envs")
    assert outcome.status == "failed" and "bakeoff envs lock crashy" in outcome.error


def test_every_builtin_tool_has_a_lock_pinning_the_base_set():
    from bakeoff.host import registry

    base = dict(line.split("==") for line in envs.BASE_REQUIREMENTS.read_text().split())
    for tool in registry.tools().values():
        if tool.tool.unavailable:  # nothing installs it here: no lock, no env (lakeFS, Pachyderm)
            assert not tool.tool.requirements and not envs.lock_file(tool).exists(), tool.name
            continue
        pins = dict(line.split("==", 1) for line in envs.lock_file(tool).read_text().split() if "==" in line)
        for name, version in base.items():
            if tool.tool.base_set:
                assert pins.get(name) == version, f"locks/{tool.name}.txt pins {name}=={pins.get(name)}, base says {version}"
            else:  # off the base set by its tool.toml: it still has every base package, at its own version
                assert name in pins, f"locks/{tool.name}.txt lacks {name}, which every worker needs"
        for requirement in tool.tool.requirements:
            name, _, version = requirement.partition("==")
            assert pins.get(name.split("[")[0].lower()) == version, f"{tool.name}: {requirement} not in its lock"


def test_a_built_env_has_its_bytecode_compiled(baseline_python):
    # Trials may not write bytecode into the env; without it compiled at build, every trial
    # process would recompile numpy, pandas and scikit-learn from source.
    sklearn = envs.site_packages(baseline_python.parents[1]) / "sklearn"
    assert list((sklearn / "__pycache__").glob("__init__.cpython-3*.pyc"))
