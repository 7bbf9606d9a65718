"""Reading the latency table that ``benchmark_onnx.py`` prints
(``mmext_pixel.deployment.ort_latency.format_table``)."""
import re

HEADER = '| backend | median ms | min ms | median / eager |'
ROW = re.compile(r'^\| (.+?) \| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \|$')


def table_rows(text):
    """The settings line above the table and the table's rows."""
    lines = text.splitlines()
    start = lines.index(HEADER)
    assert lines[start + 1] == '| --- | ---: | ---: | ---: |'
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith('|'):
            break
        rows.append(line)
    return lines[start - 2], rows
