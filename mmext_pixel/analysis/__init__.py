"""What the analysis tools measure, importable by users and tests.

Each module here holds the logic of one question that a script of
``tools/analysis_tools`` (or ``tools/gpu_check.py``) answers; the scripts only
parse their arguments, call into this package and print.
"""
