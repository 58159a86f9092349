// Worker thread entry: answers large admission reviews away from the event loop (see off-thread.ts).
import { parentPort } from 'node:worker_threads';
import { answerReview } from './answer.js';
import type { DecisionJob } from './off-thread.js';

parentPort?.on('message', (job: DecisionJob) => {
  parentPort?.postMessage(answerReview(job.endpoint, job.body, job.policy, job.cluster));
});
