// A promise-based JobService client for the CLI and tests: the one place where the CLI connects
// (credentials go here), waits for the coordinator, puts deadlines on calls and turns gRPC errors
// into the CLI's errors (src/errors.ts).
import { connect as tcpConnect } from 'node:net';
import { readFileSync } from 'node:fs';
import { Metadata, connectivityState, credentials, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import {
  JobServiceClient,
  JobState,
  type CancelJobResponse,
  type DatasetUploadHeader,
  type GetJobResponse,
  type GetJobLogResponse,
  type GetTimelineResponse,
  type Job,
  type ListDatasetsResponse,
  type ListJobsResponse,
  type ListModelsResponse,
  type JobSpec,
  type PublishedModel,
  type StepMetrics,
  type SubmitJobResponse,
  type GetDatasetUploadResponse,
  type UploadDatasetResponse,
  type UploadModelResponse,
  type UserDataset,
  type ValidateJobResponse,
  type WatchJobResponse,
  type TokenInfo,
  type TokenRole,
  NATS_UNAVAILABLE,
  withBearer,
} from '@syncline/proto';
import { resolveConfig } from './config.js';
import { UploadSourceError, bytesSource, streamUpload, type UploadOptions, type UploadSource } from './datasets/upload-stream.js';
import { CoordinatorUnreachableError, CredentialRefusedError, NatsUnavailableError, RequestRefusedError, UsageError } from './errors.js';

export interface ClientOptions {
  /** Sent as `authorization: Bearer <token>` with every call. */
  token?: string;
  /** Where the token came from, for the message when the coordinator refuses it. */
  tokenSource?: string;
  /** PEM of the CA that signed the coordinator's certificate: TLS, trusting it. Default: the file SYNCLINE_CA names, if any; else plaintext. */
  ca?: string;
  /** How long a connection may take to open before giving up (a refused one fails at once). */
  connectTimeoutMs?: number;
  /** Deadline of each call that answers at once (everything but watching and uploading). */
  callTimeoutMs?: number;
  /** Deadline of an upload. */
  uploadTimeoutMs?: number;
}

export interface WatchHandlers {
  job?: (job: Job) => void;
  metrics?: (m: StepMetrics) => void;
  /** The stream broke (coordinator restarting?): the watch reconnects for up to `reconnectMs`. */
  reconnecting?: (reason: string) => void;
}

function readCa(file: string, named: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${named} names the CA file ${file}, which cannot be read: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function caFromEnvironment(): string | undefined {
  const file = process.env.SYNCLINE_CA;
  return file ? readCa(file, 'SYNCLINE_CA') : undefined;
}

function channelCredentials(ca: string | undefined): ChannelCredentials {
  return ca ? credentials.createSsl(Buffer.from(ca)) : credentials.createInsecure();
}

type Callback<T> = (err: ServiceError | null, res: T) => void;

export class SynclineClient {
  readonly raw: JobServiceClient;
  private readonly opts: Required<Omit<ClientOptions, 'token' | 'ca'>>;
  private connected: Promise<void> | undefined;

  constructor(
    readonly address: string,
    opts: ClientOptions = {},
  ) {
    this.raw = new JobServiceClient(address, channelCredentials(opts.ca ?? caFromEnvironment()), withBearer(opts.token));
    this.opts = { connectTimeoutMs: 5_000, callTimeoutMs: 30_000, uploadTimeoutMs: 600_000, tokenSource: opts.token ? 'the token given' : 'no token', ...opts };
  }

  /** A client for a command: the coordinator, token and CA from --config, SYNCLINE_TOKEN or the default config file (config.ts). */
  static async open(command: { config?: string; coordinator?: string }, opts: Omit<ClientOptions, 'token' | 'tokenSource'> = {}): Promise<SynclineClient> {
    const c = await resolveConfig(command);
    const ca = opts.ca ?? (c.ca ? readCa(c.ca, 'the config file') : undefined);
    return new SynclineClient(c.coordinator, { ...opts, ...(c.token ? { token: c.token } : {}), ...(ca ? { ca } : {}), tokenSource: c.tokenSource });
  }

  /**
   * Resolves once connected. By default gives up at the first failed attempt, as a user at a
   * terminal expects (a refused connection is answered at once); with `failFast: false`, retries
   * (gRPC's reconnect backoff) for up to `timeoutMs`. Throws CoordinatorUnreachableError.
   */
  ready(opts: { timeoutMs?: number; failFast?: boolean } = {}): Promise<void> {
    const failFast = opts.failFast ?? true;
    const timeoutMs = opts.timeoutMs ?? this.opts.connectTimeoutMs;
    const attempt = new Promise<void>((resolve, reject) => {
      const channel = this.raw.getChannel();
      const deadline = Date.now() + timeoutMs;
      const fail = async () => reject(new CoordinatorUnreachableError(this.address, await whyUnreachable(this.address, Date.now() >= deadline ? timeoutMs : undefined)));
      const check = () => {
        const state = channel.getConnectivityState(true);
        if (state === connectivityState.READY) return resolve();
        if ((failFast && state === connectivityState.TRANSIENT_FAILURE) || state === connectivityState.SHUTDOWN || Date.now() >= deadline) return void fail();
        channel.watchConnectivityState(state, deadline, (err) => (err ? void fail() : check()));
      };
      check();
    });
    this.connected = attempt.catch((err: unknown) => {
      this.connected = undefined;
      throw err;
    });
    return this.connected;
  }

  private async call<T>(start: (metadata: Metadata, options: { deadline: number }, callback: Callback<T>) => void, timeoutMs = this.opts.callTimeoutMs): Promise<T> {
    await (this.connected ?? this.ready());
    return new Promise<T>((resolve, reject) =>
      start(new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(this.toCliError(err, timeoutMs)) : resolve(res))),
    );
  }

  /** gRPC status to the CLI's errors: no answer is an unreachable coordinator, any other status a refusal. */
  private toCliError(err: ServiceError, timeoutMs: number): Error {
    if (err.code === status.UNAVAILABLE && err.details?.startsWith(NATS_UNAVAILABLE)) return new NatsUnavailableError(this.address, err.details, { cause: err });
    if (err.code === status.UNAVAILABLE) return new CoordinatorUnreachableError(this.address, unavailableReason(err.details), { cause: err });
    if (err.code === status.DEADLINE_EXCEEDED) return new CoordinatorUnreachableError(this.address, `no answer within ${timeoutMs / 1000} s`, { cause: err });
    if (err.code === status.UNAUTHENTICATED || err.code === status.PERMISSION_DENIED) {
      return new CredentialRefusedError(err.code, err.details || err.message, this.opts.tokenSource, { cause: err });
    }
    const field = err.metadata?.get('syncline-field')[0];
    return new RequestRefusedError(err.code, err.details || err.message, typeof field === 'string' ? field : undefined, { cause: err });
  }

  async submit(spec: JobSpec): Promise<Job> {
    return (await this.call<SubmitJobResponse>((m, o, cb) => this.raw.submitJob({ spec }, m, o, cb))).job!;
  }

  /** Checks `spec` as submit would, storing nothing; the spec as it would run and its steps. */
  validate(spec: JobSpec): Promise<ValidateJobResponse> {
    return this.call((m, o, cb) => this.raw.validateJob({ spec }, m, o, cb));
  }

  async get(jobId: string): Promise<Job> {
    return (await this.call<GetJobResponse>((m, o, cb) => this.raw.getJob({ jobId }, m, o, cb))).job!;
  }

  /** Every job the token may see, oldest first (all pages). */
  async list(): Promise<Job[]> {
    const jobs: Job[] = [];
    let pageToken = '';
    do {
      const page = await this.listPage(0, pageToken);
      jobs.push(...page.jobs);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return jobs;
  }

  listPage(pageSize: number, pageToken = ''): Promise<ListJobsResponse> {
    return this.call<ListJobsResponse>((m, o, cb) => this.raw.listJobs({ pageSize, pageToken }, m, o, cb));
  }

  async deleteJob(jobId: string): Promise<void> {
    await this.call((m, o, cb) => this.raw.deleteJob({ jobId }, m, o, cb));
  }

  /** Deletes every version of a model; resolves to how many. */
  async deleteModel(name: string): Promise<number> {
    return (await this.call<{ versions: number }>((m, o, cb) => this.raw.deleteModel({ name }, m, o, cb))).versions;
  }

  async deleteDataset(name: string): Promise<void> {
    await this.call((m, o, cb) => this.raw.deleteDataset({ name }, m, o, cb));
  }

  /** A new token (admin only); the secret is in the answer and nowhere else. */
  createToken(name: string, role: TokenRole): Promise<{ token: string; info?: TokenInfo }> {
    return this.call((m, o, cb) => this.raw.createToken({ name, role }, m, o, cb));
  }

  async tokens(): Promise<TokenInfo[]> {
    return (await this.call<{ tokens: TokenInfo[] }>((m, o, cb) => this.raw.listTokens({}, m, o, cb))).tokens;
  }

  async revokeToken(nameOrId: string): Promise<TokenInfo> {
    return (await this.call<{ info?: TokenInfo }>((m, o, cb) => this.raw.revokeToken({ token: nameOrId }, m, o, cb))).info!;
  }

  /** The job's event log (GetJobLog). */
  async jobLog(jobId: string, includeMetrics = false): Promise<GetJobLogResponse> {
    return this.call<GetJobLogResponse>((m, o, cb) => this.raw.getJobLog({ jobId, includeMetrics }, m, o, cb));
  }

  async cancel(jobId: string): Promise<Job> {
    return (await this.call<CancelJobResponse>((m, o, cb) => this.raw.cancelJob({ jobId }, m, o, cb))).job!;
  }

  async models(): Promise<PublishedModel[]> {
    return (await this.call<ListModelsResponse>((m, o, cb) => this.raw.listModels({}, m, o, cb))).models;
  }

  /** The job's timeline as Chrome trace JSON. */
  async timeline(jobId: string): Promise<Uint8Array> {
    return (await this.call<GetTimelineResponse>((m, o, cb) => this.raw.getTimeline({ jobId }, m, o, cb))).traceJson;
  }

  /** Ranks report their timelines as they finish, rank 0 last or not: waits briefly for all `ranks`. */
  async completeTimeline(jobId: string, ranks: number, waitMs = 10_000): Promise<Uint8Array> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const bytes = await this.timeline(jobId);
      const events = (JSON.parse(new TextDecoder().decode(bytes)) as { traceEvents: { ph: string }[] }).traceEvents;
      if (events.filter((e) => e.ph === 'M').length >= ranks || Date.now() > deadline) return bytes;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * Streams a dataset file to the coordinator, resuming after a broken connection (see
   * datasets/upload-stream.ts). Bytes, or a source read as it is sent.
   */
  async uploadDataset(
    header: Partial<DatasetUploadHeader> & Pick<DatasetUploadHeader, 'name' | 'format'>,
    data: Uint8Array | UploadSource,
    opts: Omit<UploadOptions, 'deadlineMs'> = {},
  ): Promise<UserDataset> {
    await (this.connected ?? this.ready());
    try {
      return await streamUpload(this.raw, () => new Metadata(), header, data instanceof Uint8Array ? bytesSource(data) : data, { ...opts, deadlineMs: this.opts.uploadTimeoutMs });
    } catch (err) {
      if (err instanceof UploadSourceError || typeof (err as Partial<ServiceError>).code !== 'number') throw err;
      throw this.toCliError(err as ServiceError, this.opts.uploadTimeoutMs);
    }
  }

  /** How far an unfinished upload got. */
  uploadProgress(uploadId: string): Promise<GetDatasetUploadResponse> {
    return this.call((m, o, cb) => this.raw.getDatasetUpload({ uploadId }, m, o, cb));
  }

  /** Streams a model's files (path relative to model.json → bytes) to the coordinator in 1 MiB chunks. */
  async uploadModel(name: string, files: Map<string, Uint8Array>): Promise<UploadModelResponse> {
    return this.call<UploadModelResponse>(
      (m, o, cb) => {
        const call = this.raw.uploadModel(m, o, cb);
        call.write({ part: { $case: 'header', value: { name } } });
        for (const [path, bytes] of files) {
          for (let at = 0; at === 0 || at < bytes.length; at += 1 << 20) call.write({ part: { $case: 'chunk', value: { path, data: Buffer.from(bytes.subarray(at, at + (1 << 20))) } } });
        }
        call.end();
      },
      this.opts.uploadTimeoutMs,
    );
  }

  async datasets(): Promise<UserDataset[]> {
    return (await this.call<ListDatasetsResponse>((m, o, cb) => this.raw.listDatasets({}, m, o, cb))).datasets;
  }

  /**
   * Follows a job until it ends; resolves with its final record. With `reconnectMs`, a broken or
   * cancelled stream (the coordinator restarting: jobs outlive it) is opened again for up to that long; the
   * coordinator sends the job as it is now first, so nothing but some steps' metrics is missed.
   */
  async watch(jobId: string, on: WatchHandlers = {}, reconnectMs = 0): Promise<Job> {
    await (this.connected ?? this.ready());
    let last: Job | undefined;
    // When the stream first broke since the last event: the reconnect window runs from there.
    let brokenSince: number | undefined;
    for (;;) {
      try {
        return await this.watchOnce(jobId, on, (job) => {
          last = job;
          brokenSince = undefined;
        }, () => last);
      } catch (err) {
        const e = err as ServiceError;
        brokenSince ??= Date.now();
        const left = brokenSince + reconnectMs - Date.now();
        // A coordinator shutting down cancels its streams; this client never cancels a watch itself.
        if (!(left > 0 && (e.code === status.UNAVAILABLE || e.code === status.CANCELLED))) throw this.toCliError(e, 0);
        on.reconnecting?.(unavailableReason(e.details));
        await new Promise((r) => setTimeout(r, Math.min(1_000, left)));
        await this.ready({ timeoutMs: Math.max(1, brokenSince + reconnectMs - Date.now()), failFast: false });
      }
    }
  }

  private watchOnce(jobId: string, on: WatchHandlers, seen: (job: Job) => void, last: () => Job | undefined): Promise<Job> {
    return new Promise((resolve, reject) => {
      const stream = this.raw.watchJob({ jobId });
      stream.on('data', (res: WatchJobResponse) => {
        const e = res.event;
        if (e?.$case === 'job') {
          seen(e.value);
          on.job?.(e.value);
        } else if (e?.$case === 'metrics') {
          on.metrics?.(e.value);
        }
      });
      stream.on('error', reject);
      stream.on('end', () => {
        const job = last();
        if (job && endsWatch(job.state)) resolve(job);
        // The coordinator went away between messages: as good as a broken connection.
        else reject({ code: status.UNAVAILABLE, details: `the watch of ${jobId} ended before the job did` });
      });
    });
  }

  close(): void {
    this.raw.close();
  }
}

/** The coordinator ends a watch at these states (a finished job, or one without a state). */
const endsWatch = (state: JobState) =>
  state === JobState.JOB_STATE_SUCCEEDED || state === JobState.JOB_STATE_FAILED || state === JobState.JOB_STATE_CANCELLED || state === JobState.JOB_STATE_UNSPECIFIED;

export function stateName(state: JobState): string {
  return (JobState[state] ?? String(state)).replace('JOB_STATE_', '');
}

/** grpc-js puts the socket error in the details: "No connection established. Last error: Error: connect ECONNREFUSED …". */
function unavailableReason(details: string): string {
  const last = /Last error: (?:Error: )?(.*?)(?:\. Resolution note:.*)?$/.exec(details)?.[1];
  return describeSocketError(last ?? details) ?? (last || details || 'unavailable');
}

function describeSocketError(text: string): string | undefined {
  if (/ECONNREFUSED/.test(text)) return 'connection refused: nothing listens there';
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return 'unknown host';
  if (/ETIMEDOUT|EHOSTUNREACH|ENETUNREACH/.test(text)) return 'the host does not answer';
  if (/ECONNRESET|EPIPE/.test(text)) return 'the connection was closed';
  return undefined;
}

/** gRPC's channel states do not say why a connection failed; one plain TCP attempt does. `waitedMs`: the deadline that passed, if one did. */
async function whyUnreachable(address: string, waitedMs: number | undefined): Promise<string> {
  const fallback = waitedMs === undefined ? 'no gRPC connection' : `no connection within ${(waitedMs / 1000).toFixed(waitedMs < 1000 ? 1 : 0)} s`;
  const m = /^(?:dns:\/\/\/)?(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(address);
  if (!m) return fallback;
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]), timeout: 1_000 });
    const done = (reason: string) => {
      socket.destroy();
      resolve(reason);
    };
    socket.once('connect', () => done(`${fallback}: it accepts connections but does not speak gRPC`));
    socket.once('timeout', () => done(`${fallback}: the host does not answer`));
    socket.once('error', (err: NodeJS.ErrnoException) => done(describeSocketError(err.code ?? err.message) ?? `${fallback}: ${err.message}`));
  });
}
