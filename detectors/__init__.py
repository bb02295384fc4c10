"""Detectors: stored reports in, signals out — IDSR case definitions and the statistical detectors of
R ``surveillance``, per health area and pyramid level, in event time.

Package map (one noun per module):

* ``contracts``   Signal, what the alerts stage receives
* ``stage``       the pipeline stage: a stored report → rules and detectors of its cells → signals;
  ``memo`` what one batch shares; ``repository`` all its SQL; ``metrics`` Prometheus
* ``weekly``      weekly counts in event time (the series detectors read); ``epiweek`` epi weeks
* ``rules/``      case definitions as YAML, one module per kind (``immediate``, ``count``, ``rate``,
  ``ratio``, ``trend``, ``cluster``); ``catalogue`` loads them strictly
* ``statistical`` which algorithm runs for which disease and level (YAML ``data/detectors.yaml``),
  and its pure evaluation; ``yamlconfig`` the shared YAML reader
* ``algorithms/`` one algorithm per module, each equal to R ``surveillance`` on the oracle
  (``ears``, ``farrington``, ``farrington_flexible``, ``cusum``, ``glr``, ``bayes``, ``rki``); what
  the two Farrington modules share in ``farrington_reference`` (reference weeks),
  ``farrington_fit`` (the reweighted quasi-Poisson fit) and ``r_quantiles``; the GLM fits in
  ``glm`` and ``negbin``; ``registry`` maps oracle ids to detectors and defaults, and hands every
  algorithm out in one batch form (``batch_detector``: a matrix of series in, a
  ``BatchDetection`` out)
* ``national``    the national weekly batch (every series of a level at once); ``national_db`` its SQL
* ``evaluation/`` outside the production path: ``oracle_io`` and ``conformance`` compare with the R
  oracle (``tests/detectors/oracle/``); ``outbreaks`` simulates outbreaks (Noufaily et al. 2013),
  ``backtest`` scores every detector on them and ``backtest_report`` writes the tables and plot

Data flows one way: ingest → detectors → alerts. Nothing here imports ``alerts`` or ``api``.
"""
