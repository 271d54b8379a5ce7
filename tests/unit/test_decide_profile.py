"""Team profiles: the shipped examples load, and every mistake is one line naming key and fix."""

from pathlib import Path

import pytest

from bakeoff.host.decide import load_profile
from bakeoff.host.registry import ConfigError

PROFILES = Path(__file__).parents[2] / "profiles"


@pytest.mark.parametrize("name", ["student", "startup", "enterprise"])
def test_the_example_profiles_load(name):
    profile = load_profile(PROFILES / f"{name}.toml")
    assert profile.name and profile.profile.description
    assert profile.source.endswith(f"{name}.toml")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "team.toml"
    path.write_text('[profile]\nname = "t"\n' + text)
    return path


@pytest.mark.parametrize(("text", "message"), [
    ("[weights]\nsped = 2\n", "key `weights.sped`: unknown key; fix: remove it or use one of correctness, capabilities, speed"),
    ("[weights]\nspeed = -1\n", "key `weights.speed`: must be >= 0 (got -1); fix: use a number >= 0"),
    ("[weights]\nspeed = 'fast'\n", "key `weights.speed`: Input should be a valid number"),
    ("[weights]\ncorrectness = 0\ncapabilities = 0\nspeed = 0\ncold_start = 0\nresource = 0\nsimplicity = 0\nfootprint = 0\n",
     "every weight is 0; fix: give at least one criterion a weight above 0"),
    ("[constraints]\nrequired_probes = ['model_registy']\n", "key `constraints.required_probes`: unknown probe `model_registy`; fix: use one of"),
    ("[constraints]\nmax_env_mb = 0\n", "key `constraints.max_env_mb`: must be > 0"),
    ("[constraints]\nofline = true\n", "key `constraints.ofline`: unknown key; fix: remove it or use one of offline, no_server"),
    ("[metrics.tracking]\nspeed = ['sweep_secs']\n", "stage `tracking` has no metric `sweep_secs`; fix: use one of"),
    ("[metrics.tracking]\nsimplicity = ['sweep_seconds']\n", "`tracking.simplicity` cannot take metrics; fix: use one of correctness, speed"),
    ("[probe_weights]\nlocal_ui = -2\n", "probe `local_ui` has weight -2.0; fix: use 0 or more"),
    ("colour = 'blue'\n", "key `profile.colour`: unknown key"),
])
def test_a_bad_profile_gets_one_line_naming_the_key_and_the_fix(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_profile(path)
    line = str(caught.value)
    assert "\n" not in line and line.startswith(f"{path}: ")
    assert message in line
    assert "fix" in line or "Input should be" in line


def test_a_missing_name_and_broken_toml_and_missing_file(tmp_path):
    (tmp_path / "noname.toml").write_text("[weights]\nspeed = 1\n")
    with pytest.raises(ConfigError, match=r"key `profile`: missing; fix: add it"):
        load_profile(tmp_path / "noname.toml")
    (tmp_path / "broken.toml").write_text("[weights\n")
    with pytest.raises(ConfigError, match=r"cannot read .*; fix: correct the TOML syntax"):
        load_profile(tmp_path / "broken.toml")
    with pytest.raises(ConfigError, match=r"no such profile; fix: pass a file such as profiles/student.toml"):
        load_profile(tmp_path / "nowhere.toml")


def test_unset_weights_default_to_one(tmp_path):
    profile = load_profile(write(tmp_path, "[weights]\nspeed = 3\n"))
    assert profile.weights.as_dict() == {"correctness": 1, "capabilities": 1, "speed": 3, "cold_start": 1,
                                         "resource": 1, "simplicity": 1, "footprint": 1}
