"""The reference data: NYC 2013 flights as monthly batches, plus the reference model.

`prepare` (host side) builds a content-addressed cache folder once; `batches` (worker side,
standard library + numpy/pandas/pyarrow/scikit-learn only) reads it inside every tool env.
"""
