from typing import List, Sequence, Tuple

from mmseg.models import SegTTAModel
from mmseg.registry import MODELS
from mmseg.utils import SampleList


@MODELS.register_module()
class FlipSwapSegTTAModel(SegTTAModel):
    """``SegTTAModel`` for datasets with left/right classes (e.g. LIP).

    The segmentor already mirrors the scores of a flipped view back; on a
    horizontally flipped view the channel of "left arm" then holds the evidence
    for the right arm, so each pair of channels is swapped before the views
    are averaged.

    ``tools/test.py --aug-test`` uses it in place of the config's plain
    ``SegTTAModel`` whenever the test dataset's metainfo declares
    ``flip_pairs`` (as ``LIPParsingDataset`` does); a config meant for
    mmseg's stock ``tools/test.py --tta`` sets ``tta_model`` to it itself.

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
        self.flip_label_pairs = [tuple(pair) for pair in flip_label_pairs]
        for pair in self.flip_label_pairs:
            if len(pair) != 2:
                raise ValueError(
                    f'flip_label_pairs entries must be pairs, got {pair}')

    def _swapped_channel_order(self, num_channels: int) -> List[int]:
        order = list(range(num_channels))
        for a, b in self.flip_label_pairs:
            if max(a, b) >= num_channels:
                raise ValueError(
                    f'flip_label_pairs entry {(a, b)} is out of range for '
                    f'{num_channels} score channels')
            order[a], order[b] = b, a
        return order

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        for data_samples in data_samples_list:
            for data_sample in data_samples:
                if data_sample.metainfo.get('flip') and \
                        data_sample.metainfo.get(
                            'flip_direction') == 'horizontal':
                    logits = data_sample.seg_logits.data
                    data_sample.seg_logits.data = logits[
                        self._swapped_channel_order(logits.shape[0])]
        return super().merge_preds(data_samples_list)
