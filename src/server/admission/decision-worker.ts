// Worker thread entry: answers large admission reviews away from the event loop (see off-thread.ts).
import { parentPort } from 'node:worker_threads';
import { answerReview } from './answer.js';
import type { DecisionJob } from './off-thread.js';

async function decide(job: DecisionJob): Promise<void> {
  const { namespaceLabels } = job;
  const edge = namespaceLabels === undefined ? {} : { namespaceLabels: (namespace: string) => namespaceLabels[namespace] };
  const answer = await answerReview(job.endpoint, job.body, job.policy, job.cluster, edge);
  // Encoded here and transferred, so the event loop neither copies nor encodes a large answer.
  const json = new TextEncoder().encode(answer.json);
  parentPort?.postMessage({ ...answer, json }, [json.buffer]);
}

parentPort?.on('message', (job: DecisionJob) => void decide(job));
