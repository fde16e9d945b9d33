import { ValueError } from '../tensor/errors.js';

export interface EmitOptions {
  /** shard count = array size */
  shards: number;
  /** the study arguments to pass through (preset, tasks, ...) */
  studyArgs: string[];
  /** shared results directory */
  out: string;
  image?: string;
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A Slurm job-array script: one shard per array index, then a dependent merge job. */
export function slurmScript(o: EmitOptions): string {
  if (!Number.isInteger(o.shards) || o.shards < 1) throw new ValueError('--emit', `shards must be >= 1, got ${o.shards}`);
  const args = o.studyArgs.map(q).join(' ');
  return `#!/bin/bash
# quantwm study as a Slurm job array: ${o.shards} shards, results in ${o.out}/shard-<i>, merged by a dependent job.
# Submit with:  sbatch study.slurm
#SBATCH --job-name=quantwm-study
#SBATCH --array=0-${o.shards - 1}
#SBATCH --cpus-per-task=2
#SBATCH --mem=8G
#SBATCH --time=24:00:00
#SBATCH --output=${o.out}/logs/%A_%a.out
set -euo pipefail
mkdir -p ${q(o.out)}/logs
npx quantwm study ${args} --shard "\${SLURM_ARRAY_TASK_ID}/${o.shards}" --out ${q(o.out)}/shard-"\${SLURM_ARRAY_TASK_ID}"
if [ "\${SLURM_ARRAY_TASK_ID}" = "0" ]; then
  sbatch --dependency=afterok:"\${SLURM_ARRAY_JOB_ID}" --wrap "npx quantwm study merge ${q(o.out)}/shard-* --out ${q(o.out)}/merged"
fi
`;
}

/** A Kubernetes Indexed Job: completionIndex is the shard; a shared volume holds results. */
export function k8sManifest(o: EmitOptions): string {
  if (!Number.isInteger(o.shards) || o.shards < 1) throw new ValueError('--emit', `shards must be >= 1, got ${o.shards}`);
  const args = [...o.studyArgs, '--shard', `$(JOB_COMPLETION_INDEX)/${o.shards}`, '--out', `${o.out}/shard-$(JOB_COMPLETION_INDEX)`];
  const image = o.image ?? 'node:20';
  return `# quantwm study as a Kubernetes Indexed Job (${o.shards} shards). After it completes run:
#   npx quantwm study merge ${o.out}/shard-* --out ${o.out}/merged
apiVersion: batch/v1
kind: Job
metadata:
  name: quantwm-study
spec:
  completionMode: Indexed
  completions: ${o.shards}
  parallelism: ${o.shards}
  backoffLimit: 3
  template:
    spec:
      restartPolicy: OnFailure
      containers:
        - name: study
          image: ${image}
          workingDir: /work/quantwm
          command: ["npx", "quantwm", "study"]
          args: [${args.map((a) => JSON.stringify(a)).join(', ')}]
          resources:
            requests: { cpu: "2", memory: 8Gi }
          volumeMounts:
            - { name: results, mountPath: ${o.out} }
      volumes:
        - name: results
          persistentVolumeClaim: { claimName: quantwm-results }
`;
}
