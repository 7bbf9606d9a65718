#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# (NNODES, NODE_RANK, PORT and MASTER_ADDR as tools/dist_train.sh)
PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
python -m torch.distributed.run --nnodes=${NNODES:-1} \
    --node_rank=${NODE_RANK:-0} --master_addr=${MASTER_ADDR:-"127.0.0.1"} \
    --nproc_per_node=$3 --master_port=${PORT:-29500} \
    $(dirname "$0")/test.py $1 $2 --launcher pytorch ${@:4}
