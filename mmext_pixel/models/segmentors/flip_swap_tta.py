from typing import List, Sequence, Tuple

from mmseg.models import SegTTAModel
from mmseg.registry import MODELS
from mmseg.utils import SampleList


def label_pairs(pairs: Sequence[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """``flip_label_pairs`` as tuples, each checked to be a pair."""
    pairs = [tuple(pair) for pair in pairs]
    for pair in pairs:
        if len(pair) != 2:
            raise ValueError(
                f'flip_label_pairs entries must be pairs, got {pair}')
    return pairs


def swapped_channel_order(pairs: Sequence[Tuple[int, int]],
                          num_channels: int) -> List[int]:
    """Channel indices with the classes of each of ``pairs`` swapped."""
    order = list(range(num_channels))
    for a, b in pairs:
        if max(a, b) >= num_channels:
            raise ValueError(
                f'flip_label_pairs entry {(a, b)} is out of range for '
                f'{num_channels} score channels')
        order[a], order[b] = b, a
    return order


@MODELS.register_module()
class FlipSwapSegTTAModel(SegTTAModel):
    """``SegTTAModel`` for datasets with left/right classes (e.g. LIP).

    A horizontally flipped view's "left arm" channel holds the right arm's
    evidence, so each pair is swapped before the views are averaged.
    ``tools/test.py --aug-test`` uses it when the test dataset's metainfo
    declares ``flip_pairs`` (``LIPParsingDataset``); for mmseg's
    ``tools/test.py --tta`` a config sets ``tta_model`` to it.

    Args:
        flip_label_pairs (Sequence[tuple[int, int]]): Class indices that trade
            places under a horizontal flip, e.g. ``((14, 15), (16, 17),
            (18, 19))`` for LIP.
        **kwargs: Passed to :class:`mmseg.models.SegTTAModel` (``module``,
            ``data_preprocessor``).
    """

    def __init__(self, flip_label_pairs: Sequence[Tuple[int, int]],
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.flip_label_pairs = label_pairs(flip_label_pairs)

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        for data_samples in data_samples_list:
            for data_sample in data_samples:
                if data_sample.metainfo.get('flip') and \
                        data_sample.metainfo.get(
                            'flip_direction') == 'horizontal':
                    logits = data_sample.seg_logits.data
                    data_sample.seg_logits.data = logits[swapped_channel_order(
                        self.flip_label_pairs, logits.shape[0])]
        return super().merge_preds(data_samples_list)
