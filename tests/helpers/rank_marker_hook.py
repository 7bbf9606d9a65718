"""A test-only hook that records which distributed ranks trained."""
import json
import os.path as osp

from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RankMarkerHook(Hook):
    """Writes ``rank_<r>.json`` (iterations run, world size) to work_dir."""

    def __init__(self):
        self.iters = 0

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.iters += 1

    def after_train(self, runner):
        with open(osp.join(runner.work_dir, f'rank_{get_rank()}.json'),
                  'w') as f:
            json.dump(dict(iters=self.iters, world_size=get_world_size()), f)
