#!/usr/bin/env bash
# Usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#     tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args]
set -x
PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
srun -p $1 --job-name=$2 --gres=gpu:${GPUS_PER_NODE:-8} --ntasks=${GPUS:-8} \
    --ntasks-per-node=${GPUS_PER_NODE:-8} --cpus-per-task=${CPUS_PER_TASK:-5} \
    --kill-on-bad-exit=1 ${SRUN_ARGS} \
    python -u $(dirname "$0")/train.py $3 --launcher="slurm" ${@:4}
