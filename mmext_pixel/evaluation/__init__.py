# registers the metrics in mmseg's METRICS
from .metrics import *  # noqa: F401,F403
