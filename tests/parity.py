"""The parity helpers of the tests, which live in the package: :mod:`rnnbook.check`.

A scratch layer and the matching ``torch.nn`` layer hold the same weights; :func:`run_both`
runs both on the same input and returns everything a test compares (output, every final
state, the input's gradient and every parameter's); :func:`check_parity` is the standard case.
"""

from rnnbook.check import TOL, Run, assert_same, check_parity, run_both, run_once, twins

__all__ = ["TOL", "Run", "assert_same", "check_parity", "run_both", "run_once", "twins"]
