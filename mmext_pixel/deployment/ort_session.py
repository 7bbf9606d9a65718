"""An onnxruntime CPU session with the thread and graph-optimisation
settings that the latency comparison and its profile share."""
from typing import Optional, Union

ORT_LEVELS = ('disable', 'basic', 'extended', 'all')


def ort_session(onnx_file: Union[str, bytes],
                threads: int,
                level: str = 'all',
                profile_prefix: Optional[str] = None):
    """An onnxruntime CPU session with ``threads`` intra-op threads.

    Args:
        onnx_file (str | bytes): The model's path or its serialised bytes.
        threads (int): ``intra_op_num_threads`` (inter-op: 1).
        level (str): Graph optimisation, one of ``ORT_LEVELS``. Defaults to
            'all'.
        profile_prefix (str, optional): Profile to files with this prefix.
            Defaults to None (no profiling).
    """
    import onnxruntime as ort
    levels = dict(
        disable=ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        basic=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        extended=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        all=ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = levels[level]
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(
        onnx_file, options, providers=['CPUExecutionProvider'])
