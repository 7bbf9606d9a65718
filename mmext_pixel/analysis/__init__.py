"""What the measuring tools report (FLOPs, latency, training cost, the GPU
check's measures), on torch.utils.benchmark's clock; the tools only parse
their arguments, call in here and print."""
