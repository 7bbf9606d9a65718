"""Every "Training recipe" table in configs/*/README.md against the merged
configs: the rows' "ours" values are the configs' values, every row cites
the official code and says equal or why not, and each main config has one.

Table format: under ``## Training recipe``, ``### <config file>`` and a
table ``| item | official | ours | config key | status |``. A config key is
a path into ``Config.fromfile``: dotted names, ``[N]``, ``[type=Name]`` (the
one dict of a list with that type), or ``pipeline_types(<path>)`` (the list
of a pipeline's type names); ``ours`` holds the value as the first
backticked Python literal.
"""
import ast
import functools
import math
import re
from fnmatch import fnmatch
from pathlib import Path

import pytest
from mmengine.config import Config

from mmext_pixel.utils.run_config import load_config

CONFIGS = Path(__file__).parents[2] / 'configs'
READMES = sorted(CONFIGS.glob('*/README.md'))
# the main configs of the recipe issue, by method (file name patterns, so
# that a schedule in the name may follow the official arithmetic)
MAIN_CONFIGS = {
    'gsto': [
        'gsto_hrnet-w48_*_cityscapes-512x1024.py',
        'gsto_hrnet-w48_*_cityscapes-trainval-512x1024.py',
        'gsto_hrnet-w48_*_lip-473x473.py',
        'gsto_hrnet-w48_*_pascal-context-59-480x480.py'
    ],
    'gsto_pose': [
        'td-hm_gsto-hrnet-w32_*_coco-256x192.py',
        'td-hm_gsto-hrnet-w48_*_coco-256x192.py',
        'td-hm_gsto-hrnet-w32_*_coco-384x288.py',
        'td-hm_gsto-hrnet-w48_*_coco-384x288.py'
    ],
    'hrnet': ['fcn_hr18s-v1_*_urbanisation-1024x1024.py'],
    'gscnn': ['gscnn_wrn38-d8_*_cityscapes-*.py'],
    'gald': ['gald_r101-d8_*_cityscapes-*.py'],
    'dgcn': ['dgcn_r101-d8_*_cityscapes-*.py'],
    'spnet': [
        'spnet_r101-d8_*_cityscapes-*.py', 'spnet_r101-d8_*_ade20k-*.py',
        'spnet_r101-d8_*_voc12aug-*.py'
    ],
}
CITATION = re.compile(r'\S+/\S+@[0-9a-f]{7,40} \S+#L\d+')


def recipe_tables(readme: Path) -> dict:
    """{config file: [(line number, [5 cells]), ...]} of the README's
    "Training recipe" section; rows of other widths keep their cells."""
    tables, config, section = {}, None, False
    for number, line in enumerate(readme.read_text().splitlines(), 1):
        if line.startswith('## '):
            section = line.strip() == '## Training recipe'
        elif section and line.startswith('### '):
            config = line[4:].strip().strip('`')
            tables[config] = []
        elif section and config and line.startswith('|'):
            cells = [c.strip() for c in re.split(r'(?<!\\)\|', line)[1:-1]]
            if cells[0] != 'item' and not set(''.join(cells)) <= set(':- '):
                tables[config].append((number, cells))
    return tables


@functools.lru_cache(maxsize=None)
def load(path: Path) -> Config:
    return load_config(str(path))


def lookup(cfg: Config, key: str):
    """The value at ``key`` (see the module docstring) in ``cfg``."""
    types = re.fullmatch(r'pipeline_types\((.+)\)', key)
    value = cfg
    for name, index, kind in re.findall(
            r'([A-Za-z_]\w*)|\[(\d+)\]|\[type=(\w+)\]',
            types.group(1) if types else key):
        if name:
            value = value[name]
        elif index:
            value = value[int(index)]
        else:
            found = [v for v in value if v.get('type') == kind]
            if len(found) != 1:
                raise KeyError(f'{len(found)} dicts of type {kind}')
            value = found[0]
    return [step['type'] for step in value] if types else value


def same(ours, value) -> bool:
    if isinstance(ours, float) or isinstance(value, float):
        return (isinstance(value, (int, float))
                and math.isclose(ours, value, rel_tol=1e-9))
    if isinstance(ours, (list, tuple)) and isinstance(value, (list, tuple)):
        return len(ours) == len(value) and all(map(same, ours, value))
    if isinstance(ours, dict) and isinstance(value, dict):
        return ours.keys() == value.keys() and all(
            same(ours[k], value[k]) for k in ours)
    return type(ours) is type(value) and ours == value


@pytest.mark.parametrize('readme', READMES, ids=lambda p: p.parent.name)
def test_recipe_tables_are_the_configs(readme):
    problems = []
    for config, rows in recipe_tables(readme).items():
        where = f'{readme.relative_to(CONFIGS.parent)}, {config}'
        path = readme.parent / config
        if not path.is_file():
            problems.append(f'{where}: no such config')
            continue
        for number, cells in rows:
            row = f'{where}, line {number}'
            if len(cells) != 5:
                problems.append(f'{row}: {len(cells)} cells, not 5')
                continue
            item, official, ours, key, status = cells
            if not CITATION.search(official):
                problems.append(f'{row} ({item}): no repo@commit path#L')
            if status != 'equal' and not status.startswith('deviation: '):
                problems.append(f'{row} ({item}): status {status!r}')
            if not key:
                continue
            literal = re.search(r'`([^`]+)`', ours)
            try:
                expected = ast.literal_eval(literal.group(1))
                value = lookup(load(path), key.strip('`'))
            except (AttributeError, KeyError, IndexError, TypeError,
                    ValueError, SyntaxError) as error:
                problems.append(f'{row} ({item}): key {key}: {error!r}')
                continue
            if not same(expected, value):
                problems.append(
                    f'{row} ({item}): README {expected!r}, config {value!r}')
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('method', MAIN_CONFIGS)
def test_every_main_config_has_a_table(method):
    tables = recipe_tables(CONFIGS / method / 'README.md')
    for pattern in MAIN_CONFIGS[method]:
        assert any(fnmatch(c, pattern) and tables[c] for c in tables), (
            f'configs/{method}/README.md: no Training recipe table for '
            f'{pattern}')


def test_lookup_and_comparison_can_fail():
    cfg = Config(dict(a=[dict(type='X', b=(1, 2)), dict(type='Y')], c=0.1))
    assert lookup(cfg, 'a[type=X].b') == (1, 2)
    assert lookup(cfg, 'pipeline_types(a)') == ['X', 'Y']
    assert same([1, 2], (1, 2)) and same(0.1, 0.1 + 1e-12)
    assert not same(0.1, 0.11) and not same([1, 2], [1]) and not same(1, True)
    with pytest.raises(KeyError):
        lookup(cfg, 'a[type=Z]')
    with pytest.raises(KeyError):
        lookup(cfg, 'missing')
