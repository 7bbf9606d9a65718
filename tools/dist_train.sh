#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args]
# One process per GPU through torchrun (on a machine without CUDA, GPUS
# processes on the CPU with the gloo backend). NNODES, NODE_RANK, PORT and
# MASTER_ADDR set multi-node runs.
PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
python -m torch.distributed.run --nnodes=${NNODES:-1} \
    --node_rank=${NODE_RANK:-0} --master_addr=${MASTER_ADDR:-"127.0.0.1"} \
    --nproc_per_node=$2 --master_port=${PORT:-29500} \
    $(dirname "$0")/train.py $1 --launcher pytorch ${@:3}
