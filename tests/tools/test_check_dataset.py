"""tools/analysis_tools/check_dataset.py as a user runs it."""
import shutil

import cv2
import pytest

from conftest import DEMO_CONFIG, REPO_ROOT, run_tool

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
            str(tmp_path / 'work'), '--cfg-options'
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
    assert 'train: 16 label maps (0 unchanged since the last check)' in out
    assert 'val: 4 label maps (0 unchanged since the last check)' in out
    # each split's table: a row per class whose shares add up to 100 %
    for split in ('train', 'val'):
        table = out.split(f'{split}: ')[1].splitlines()[1:6]
        assert table[0].split() == [
            'index', 'class', 'pixel', 'share', 'pixels', 'images'
        ]
        rows = [row.split() for row in table[1:4]]
        assert [r[1] for r in rows] == ['background', 'built-up', 'road']
        shares = [float(r[2].rstrip('%')) for r in rows]
        assert abs(sum(shares) - 100) < 0.02 and min(shares) > 0
        assert table[4].startswith('ignored (value 255): 0 pixels')
    assert (tmp_path / 'work' / 'label_check_cache.json').is_file()
