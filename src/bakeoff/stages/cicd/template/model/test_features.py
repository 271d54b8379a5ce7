"""Unit tests of the model code that need no data: `python -m unittest model.test_features`."""

import unittest

import pandas as pd

from .features import CATEGORICAL, FEATURES, as_model_input


class ModelInput(unittest.TestCase):
    def test_unknown_category_becomes_missing(self):
        row = {name: 1.0 for name in FEATURES} | {"carrier": "ZZ", "origin": "JFK", "dest": "LAX"}
        frame = as_model_input(pd.DataFrame([row]), {c: ["JFK", "LAX", "UA"] for c in CATEGORICAL})
        self.assertTrue(pd.isna(frame.loc[0, "carrier"]))
        self.assertEqual(frame.loc[0, "origin"], "JFK")

    def test_columns_in_feature_order(self):
        row = {name: 0.0 for name in reversed(FEATURES)} | {c: "JFK" for c in CATEGORICAL}
        self.assertEqual(list(as_model_input(pd.DataFrame([row]), {c: ["JFK"] for c in CATEGORICAL})), FEATURES)


if __name__ == "__main__":
    unittest.main()
