#!/bin/bash
#SBATCH --job-name=mlnm-sweep
#SBATCH --array=0-3
#SBATCH --cpus-per-task=8
#SBATCH --time=12:00:00
# The database password comes from ~/.pgpass (mode 0600) or PGPASSWORD, never the command line.
export MLNM_STORAGE=${MLNM_STORAGE:-"postgresql://mlnm@db.example.org:5432/studies?sslmode=require"}
srun mlnm sweep pipelines/sweep-transfer.yaml --resume --threads "$SLURM_CPUS_PER_TASK" \
     --out "runs/sweep-$SLURM_ARRAY_JOB_ID/worker-$SLURM_ARRAY_TASK_ID"
