"""What the analysis tools measure, importable by users and tests.

Each module here holds the logic of one question that a script of
``tools/analysis_tools`` (or ``tools/gpu_check.py``) answers; the scripts only
parse their arguments, call into this package and print.

- ``timing``: the alternating timer, summaries, the report line, memory
  and load probes;
- ``measured_model``: a config's model and a random input for it;
- ``latency``: inference latency and peak memory, against a second config
  or the official arithmetic (``benchmark.py``);
- ``training_cost``: a training step against a baseline or the official
  arithmetic (``benchmark_train.py``);
- ``gpu_check``: each method's GPU check steps, config shrinking and
  synthetic data (``tools/gpu_check.py``).
"""
