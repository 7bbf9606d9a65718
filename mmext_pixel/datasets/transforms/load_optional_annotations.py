from typing import Iterator, Tuple

from mmengine.dataset import BaseDataset, Compose
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadOptionalAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` passing a sample without ``seg_map_path``
    (an unlabelled split) unchanged and naming a label file that does not
    decode (mmseg's does not in a DataLoader worker); our datasets use it.

    Args: as :class:`mmseg.datasets.transforms.LoadAnnotations`.
    """

    def _load_seg_map(self, results: dict) -> None:
        path = results.get('seg_map_path')
        if path is None:
            return
        try:
            super()._load_seg_map(results)
        except AssertionError:
            raise  # mmseg's reduce_zero_label consistency check
        except Exception as e:
            raise ValueError(
                f'label map {path} does not decode (truncated, empty or not '
                f'an image): {type(e).__name__}: {e}') from e

    @classmethod
    def from_stock(cls, stock: LoadAnnotations) -> 'LoadOptionalAnnotations':
        """The same loader, settings included, passing unlabelled samples.

        Args:
            stock (LoadAnnotations): A built mmseg ``LoadAnnotations``.
        """
        optional = cls.__new__(cls)  # no __init__: no deprecation warning
        optional.__dict__.update(stock.__dict__)
        return optional


def _stock_loaders(pipeline) -> Iterator[Tuple[list, int]]:
    """(transform list, index) of every stock ``LoadAnnotations``, inside
    ``TestTimeAug`` (whose groups are ``subroutines``) too."""
    for i, transform in enumerate(pipeline.transforms):
        if type(transform) is LoadAnnotations:
            yield pipeline.transforms, i
        for group in getattr(transform, 'subroutines', ()):
            yield from _stock_loaders(group)


def make_label_loading_optional(pipeline: Compose) -> Compose:
    """Replace every stock ``LoadAnnotations`` (not its subclasses, which
    may load more) in a built pipeline, ``TestTimeAug`` included, with
    :class:`LoadOptionalAnnotations`, in place; returns ``pipeline``.

    Args:
        pipeline (Compose): A dataset's built pipeline.
    """
    for transforms, i in list(_stock_loaders(pipeline)):
        transforms[i] = LoadOptionalAnnotations.from_stock(transforms[i])
    return pipeline


def split_has_labels(dataset: BaseDataset) -> bool:
    """Whether a built seg split has label maps (its ``has_labels``, else its
    samples' ``seg_map_path``); a ValueError for a partly labelled split or
    an unlabelled one whose pipeline has a stock ``LoadAnnotations``.

    Args:
        dataset (BaseDataset): The built dataset.
    """
    if hasattr(dataset, 'full_init'):
        dataset.full_init()  # a lazily built dataset sets has_labels here
    has_labels = getattr(dataset, 'has_labels', None)
    if has_labels is None:
        infos = map(dataset.get_data_info, range(len(dataset)))
        without = [i for i, d in enumerate(infos) if 'seg_map_path' not in d]
        if without and len(without) < len(dataset):
            first = dataset.get_data_info(without[0]).get('img_path')
            raise ValueError(
                f'dataset {type(dataset).__name__}: {len(without)} of '
                f'{len(dataset)} samples have no label map (the first: '
                f'{first!r}); a split is either labelled or not')
        has_labels = not without
    if not has_labels:
        pipeline = getattr(dataset, 'pipeline', None)
        if pipeline is not None and any(_stock_loaders(pipeline)):
            raise ValueError(
                f'dataset {type(dataset).__name__} has no label maps but its '
                'pipeline has LoadAnnotations, which needs them: use '
                "dict(type='LoadOptionalAnnotations') there instead")
    return bool(has_labels)
