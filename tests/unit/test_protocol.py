import json

import pytest

from bakeoff.worker.protocol import PROTOCOL_VERSION, ProtocolError, Request, Result, read_request, read_result, write_request, write_result


def request(tmp_path):
    return Request(trial_id="t", stage="tracking", entry="jsonl", adapter="m:C", kind="sweep", options={},
                   settings={"runs": 2}, data_dir="/d", scratch=str(tmp_path), result_path=str(tmp_path / "r.json"))


def test_request_and_result_round_trip(tmp_path):
    write_request(tmp_path / "q.json", request(tmp_path))
    assert read_request(tmp_path / "q.json") == request(tmp_path)
    result = Result(trial_id="t", status="ok", metrics={"m": 1.5}, samples={"s": [1.0]},
                    probes={"p": {"status": "pass", "evidence": "e"}})
    write_result(tmp_path / "r.json", result)
    assert read_result(tmp_path / "r.json") == result


def test_other_protocol_version_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"protocol": PROTOCOL_VERSION + 1, "trial_id": "t", "status": "ok"}))
    with pytest.raises(ProtocolError, match="envs build"):
        read_result(path)


@pytest.mark.parametrize("content", ["", "{not json", json.dumps({"protocol": PROTOCOL_VERSION, "bogus": 1})])
def test_garbage_is_a_protocol_error(tmp_path, content):
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(ProtocolError):
        read_result(path)


def test_missing_file_is_a_protocol_error(tmp_path):
    with pytest.raises(ProtocolError):
        read_result(tmp_path / "absent.json")
