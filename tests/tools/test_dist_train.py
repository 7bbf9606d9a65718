"""tools/dist_train.sh: the demo config trained by two processes on the
CPU (gloo), each rank's iterations and world size recorded by a hook."""
import json
import os.path as osp

import pytest

from conftest import DEMO_CONFIG, REPO_ROOT, run_tool
from helpers.demo_runs import data_options


@pytest.mark.slow
def test_dist_train_two_processes_on_cpu(tmp_path, synthetic_root):
    cfg = tmp_path / 'dist_cfg.py'
    cfg.write_text(f"_base_ = '{DEMO_CONFIG}'\n"
                   "custom_imports = dict(imports=['mmext_pixel', "
                   "'helpers.rank_marker_hook'], allow_failed_imports=False)\n"
                   "custom_hooks = [dict(type='RankMarkerHook')]\n")
    work_dir = tmp_path / 'work'
    proc = run_tool(
        [
            osp.join(REPO_ROOT, 'tools', 'dist_train.sh'),
            str(cfg), '2', '--work-dir',
            str(work_dir), '--cfg-options'
        ] + data_options(synthetic_root) + [
            'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2'
        ],
        cwd=str(tmp_path),
        launcher=['bash'],
        extra_paths=[osp.join(REPO_ROOT, 'tests')])
    assert 'world_size: 2' in proc.stdout or 'Distributed launcher: pytorch' \
        in proc.stdout
    for rank in (0, 1):
        marker = json.loads((work_dir / f'rank_{rank}.json').read_text())
        assert marker == dict(iters=2, world_size=2)
    assert osp.isfile(work_dir / 'iter_2.pth')
