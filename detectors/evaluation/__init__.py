"""How well the detectors do, outside the production path: conformance with the R oracle and
backtests on simulated outbreaks.

* ``oracle_io``        the oracle's file formats (series, runs, results CSV) and
  ``python -m detectors.evaluation.oracle_io``, which runs a detector over oracle series
* ``conformance``      a detector's results against R ``surveillance``'s, series by series
  (the oracle in ``tests/detectors/oracle/``)
* ``outbreaks``        simulated weekly baselines with injected outbreaks (Noufaily et al. 2013)
* ``backtest``         every detector on the same simulated series: sensitivity, false-positive rate,
  timeliness (``sebac backtest``); ``backtest_report`` its tables and plot

Nothing in the detection stage imports this package.
"""
