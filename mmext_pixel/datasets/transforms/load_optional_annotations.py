from typing import Iterator, Tuple

from mmengine.dataset import BaseDataset, Compose
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadOptionalAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` for splits that may have no labels.

    A sample with a ``seg_map_path`` gets its label map exactly as mmseg's
    transform loads it; a sample without one (an inference-only split) passes
    through unchanged, so the same test pipeline serves labelled and
    unlabelled splits. A label file that does not decode (truncated, empty,
    not an image) is a ``ValueError`` naming it, also when raised inside a
    DataLoader worker (mmseg's transform names no file then). Our datasets
    (:class:`PairListSegDataset` and its subclasses) put it in place of a
    stock ``LoadAnnotations`` themselves; with other datasets, name it in the
    config's test pipeline to predict an unlabelled split.

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
            # pillow says "image file is truncated" or "cannot identify
            # image file <_io.BytesIO ...>", cv2 decodes to None
            raise ValueError(
                f'label map {path} does not decode (truncated, empty or not '
                f'an image): {type(e).__name__}: {e}') from e

    @classmethod
    def from_stock(cls, stock: LoadAnnotations) -> 'LoadOptionalAnnotations':
        """The same loader, settings included, passing unlabelled samples.

        Args:
            stock (LoadAnnotations): A built mmseg ``LoadAnnotations``.
        """
        optional = cls.__new__(cls)
        # every setting, also the reduce_zero_label it may have taken from a
        # sample, without re-running __init__ (and its deprecation warning)
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
    """Replace every stock ``LoadAnnotations`` in a built pipeline (inside
    ``TestTimeAug`` too) with :class:`LoadOptionalAnnotations`, in place.

    Subclasses of ``LoadAnnotations`` are left alone: they may load more
    than the label map.

    Args:
        pipeline (Compose): A dataset's built pipeline.

    Returns:
        Compose: ``pipeline``.
    """
    for transforms, i in list(_stock_loaders(pipeline)):
        transforms[i] = LoadOptionalAnnotations.from_stock(transforms[i])
    return pipeline


def split_has_labels(dataset: BaseDataset) -> bool:
    """Whether a built segmentation split has label maps.

    A dataset's own ``has_labels`` attribute decides where it has one (ours:
    :class:`PairListSegDataset`); otherwise every sample must have a
    ``seg_map_path``, or none. An unlabelled split whose pipeline still holds
    a stock ``LoadAnnotations`` (which fails on every such sample) is an
    error saying what to use instead.

    Args:
        dataset (BaseDataset): The built dataset.

    Raises:
        ValueError: Some samples have label maps and others do not, or the
            split has none and its pipeline loads them unconditionally.
    """
    if hasattr(dataset, 'full_init'):
        dataset.full_init()  # a lazily built dataset sets has_labels here
    has_labels = getattr(dataset, 'has_labels', None)
    if has_labels is None:
        without = [
            i for i in range(len(dataset))
            if 'seg_map_path' not in dataset.get_data_info(i)
        ]
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
