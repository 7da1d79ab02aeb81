// Live training progress: a bar on a terminal, a line per epoch otherwise (logs, CI).
import { SingleBar, Presets } from 'cli-progress';
import type { Job, StepMetrics } from '@syncline/proto';
import { stateName, type SynclineClient } from './client.js';

/** `reconnectMs`: how long to wait for a coordinator whose stream broke (see SynclineClient.watch). */
export async function watchWithProgress(client: Pick<SynclineClient, 'watch' | 'address'>, jobId: string, out: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr, reconnectMs = 0): Promise<Job> {
  const tty = Boolean(out.isTTY);
  const bar = new SingleBar(
    {
      stream: out,
      format: 'training |{bar}| {percentage}% | step {value}/{total} | epoch {epoch} | loss {loss} | acc {acc} | {sps} samples/s | {workers} workers{heldout}',
      hideCursor: tty,
      noTTYOutput: false,
    },
    Presets.shades_classic,
  );
  let started = false;
  let lastEpoch = 0;
  let lastState = '';
  let heldout = '';
  const onMetrics = (m: StepMetrics) => {
    // Held-out results arrive with the steps after which rank 0 evaluated (epoch ends, training.heldoutEverySteps).
    const evaluated = m.heldoutExamples > 0;
    if (evaluated) heldout = ` | held-out loss ${m.heldoutLoss.toFixed(4)}${m.heldoutAccuracy > 0 ? ` acc ${m.heldoutAccuracy.toFixed(4)}` : ` mae ${m.heldoutMae.toFixed(4)}`} (step ${m.step})`;
    const payload = { epoch: m.epoch, loss: m.loss.toFixed(4), acc: m.accuracy.toFixed(4), sps: Math.round(m.samplesPerSecond), workers: m.workers, heldout };
    if (tty) {
      if (!started) {
        bar.start(m.totalSteps, m.step, payload);
        started = true;
      } else bar.update(m.step, payload);
    } else if (m.epoch !== lastEpoch || m.step === m.totalSteps) {
      lastEpoch = m.epoch;
      out.write(`step ${m.step}/${m.totalSteps} epoch ${m.epoch} loss ${payload.loss} acc ${payload.acc} ${payload.sps} samples/s ${m.workers} workers\n`);
    }
    if (!tty && evaluated) out.write(`${heldout.slice(3)}\n`);
  };
  const onJob = (job: Job) => {
    const state = stateName(job.state);
    if (state === lastState) return;
    lastState = state;
    if (started) bar.stop();
    started = false;
    out.write(`job ${job.id}: ${state}${job.error ? ` (${job.error})` : ''}\n`);
    const stop = job.result?.earlyStop;
    if (stop) out.write(`stopped early at step ${stop.step} of ${job.totalSteps}: ${stop.reason}\n`);
  };
  try {
    const reconnecting = (reason: string) => {
      if (started) bar.stop();
      started = false;
      out.write(`lost the coordinator at ${client.address} (${reason}); reconnecting for up to ${reconnectMs / 1000} s (the job goes on)\n`);
    };
    return await client.watch(jobId, { job: onJob, metrics: onMetrics, reconnecting }, reconnectMs);
  } finally {
    if (started) bar.stop();
  }
}
