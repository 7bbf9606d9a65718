#!/usr/bin/env bash
# Usage: [GPUS=4] [GPUS_PER_NODE=4] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#     tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]
set -x
PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
srun -p $1 --job-name=$2 --gres=gpu:${GPUS_PER_NODE:-4} --ntasks=${GPUS:-4} \
    --ntasks-per-node=${GPUS_PER_NODE:-4} --cpus-per-task=${CPUS_PER_TASK:-5} \
    --kill-on-bad-exit=1 ${SRUN_ARGS} \
    python -u $(dirname "$0")/test.py $3 $4 --launcher="slurm" ${@:5}
