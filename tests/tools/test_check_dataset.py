"""tools/analysis_tools/check_dataset.py: its class table, and as a user
runs it, the exit status, the error and the reports of its --out JSON (the
scan is tested in-process by tests/datasets/test_label_check.py)."""
import json
import shutil

import cv2
import numpy as np
import pytest

from conftest import DEMO_CONFIG, REPO_ROOT, load_tool, run_tool
from mmext_pixel.datasets.label_check import SplitReport

TOOL = f'{REPO_ROOT}/tools/analysis_tools/check_dataset.py'


@pytest.mark.slow
def test_lists_problems_and_class_shares(tmp_path, synthetic_root):
    root = tmp_path / 'data'
    shutil.copytree(synthetic_root, root)
    wrong = sorted((root / 'urbanisation' / 'y' / 'train').glob('*.png'))[3]
    label = cv2.imread(str(wrong), cv2.IMREAD_UNCHANGED)
    label[0, :5] = 9
    cv2.imwrite(str(wrong), label)
    proc = run_tool(
        [
            TOOL, DEMO_CONFIG, '--split', 'train', 'val', '--work-dir',
            str(tmp_path / 'work'), '--out',
            str(tmp_path / 'reports.json'), '--cfg-options'
        ] + [
            f'{split}_dataloader.dataset.data_root={root}/'
            for split in ('train', 'val')
        ],
        cwd=str(tmp_path),
        check=False)
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    assert out.rstrip().endswith(
        'error: label maps that the run would fail on (1 problem):\n'
        f'  train label {wrong} holds 9; classes are 0..2 and ignore 255')
    reports = json.loads((tmp_path / 'reports.json').read_text())
    assert [r['summary'].split(' in ')[0] for r in reports] == [
        'train: 16 label maps (0 unchanged since the last check)',
        'val: 4 label maps (0 unchanged since the last check)'
    ]
    assert reports[0]['problems'] == [
        f'train label {wrong} holds 9; classes are 0..2 and ignore 255'
    ]
    for report, maps in zip(reports, (16, 4)):
        assert report['classes'] == ['background', 'built-up', 'road']
        assert report['ignored_pixels'] == 0
        # the 64x64 maps' pixels, less the five stray ones
        assert sum(report['class_pixels']) == maps * 64 * 64 - 5 * (
            report['split'] == 'train')
        assert min(report['class_pixels']) > 0
        assert all(0 < n <= maps for n in report['class_images'])
    assert (tmp_path / 'work' / 'label_check_cache.json').is_file()


def test_class_table():
    report = SplitReport(
        'val', ('background', 'built-up', 'road'),
        class_pixels=np.array([30, 9, 0]),
        class_images=np.array([2, 1, 0]),
        ignored_pixels=8)
    rows = load_tool('analysis_tools',
                     'check_dataset.py').class_table(report).splitlines()
    cells = [[c.strip() for c in row.split('|')[1:-1]] for row in rows[:-1]]
    assert cells[0] == ['index', 'class', 'pixel share', 'pixels', 'images']
    assert cells[2:] == [['0', 'background', '76.92%', '30', '2'],
                         ['1', 'built-up', '23.08%', '9', '1'],
                         ['2', 'road', '0.00%', '0', '0']]
    assert rows[-1] == 'ignored (value 255): 8 pixels, 17.02% of all'
