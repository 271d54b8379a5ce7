"""The prediction server: `python serve/server.py MODEL.pkl PORT SHA256`, on 127.0.0.1 only.

GET /health predicts one row and names the model's SHA-256; POST /predict takes a JSON list of
rows and answers their probabilities of a late arrival.
"""

import json
import pickle
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the release holds model/ beside serve/
from model.features import FEATURES, NUMERIC, as_model_input  # noqa: E402

MODEL = pickle.loads(Path(sys.argv[1]).read_bytes())
SHA256 = sys.argv[3]
SAMPLE = pd.DataFrame([{**{n: 0.0 for n in NUMERIC}, **{c: v[0] for c, v in MODEL["categories"].items()}}])


def probabilities(frame: pd.DataFrame) -> list[float]:
    return MODEL["estimator"].predict_proba(as_model_input(frame[FEATURES], MODEL["categories"]))[:, 1].tolist()


class Handler(BaseHTTPRequestHandler):
    def _answer(self, code: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        if self.path != "/health":
            return self._answer(404, {"error": "not found"})
        try:
            probability = probabilities(SAMPLE)[0]
        except Exception as exc:
            return self._answer(500, {"error": str(exc)})
        self._answer(200, {"sha256": SHA256, "sample_probability": probability})

    def do_POST(self):
        if self.path != "/predict":
            return self._answer(404, {"error": "not found"})
        rows = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self._answer(200, {"sha256": SHA256, "probabilities": probabilities(pd.DataFrame(rows))})

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()
