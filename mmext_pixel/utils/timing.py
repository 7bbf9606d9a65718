"""Callables timed in turn, Markdown tables: for analysis and deployment."""
from typing import Callable, Dict, List, Sequence

from prettytable import PrettyTable, TableStyle
from torch.utils.benchmark import timer


def time_alternately(runners: Dict[str, Callable[[], object]],
                     runs: int,
                     warmup: int = 0) -> Dict[str, List[float]]:
    """Milliseconds of ``runs`` runs of each runner after ``warmup`` untimed
    ones, the runners taking turns so that a drift of the load hits all.

    Not ``torch.utils.benchmark.Timer``: it times one statement and adds
    warm-up runs of its own, while steps of seconds must alternate one run
    at a time. The clock is its ``timer`` (CUDA-synchronised).
    """
    for _ in range(warmup):
        for fn in runners.values():
            fn()
    times = {name: [] for name in runners}
    for _ in range(runs):
        for name, fn in runners.items():
            start = timer()
            fn()
            times[name].append(1000 * (timer() - start))
    return times


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A Markdown table, the first column left-aligned and the rest right."""
    table = PrettyTable(list(header), align='r')
    table.set_style(TableStyle.MARKDOWN)
    table.align[header[0]] = 'l'
    table.add_rows([list(row) for row in rows])
    return table.get_string()
