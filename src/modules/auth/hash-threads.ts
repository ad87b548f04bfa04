import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Where the worker threads load @node-rs/argon2 from: the package this module would import. */
const ARGON2_MODULE = createRequire(import.meta.url).resolve('@node-rs/argon2');

/**
 * A hashing thread: argon2id through @node-rs/argon2's synchronous calls, one job at a time, at
 * a lower scheduling priority than the rest of the process. On Linux the nice value belongs to
 * each thread, and `os.setPriority` (pid 0) sets the calling one's; elsewhere it would lower
 * the whole process, so it is left alone there.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
if (workerData.nice > 0 && process.platform === 'linux') {
  try { require('node:os').setPriority(workerData.nice); } catch {}
}
const argon2 = require(workerData.argon2);
parentPort.on('message', (job) => {
  let reply;
  try {
    reply = { ok: true, value: job.op === 'hash' ? argon2.hashSync(job.password, job.options) : argon2.verifySync(job.hash, job.password) };
  } catch (err) {
    reply = { ok: false, message: String((err && err.message) || err) };
  }
  parentPort.postMessage(reply);
});
`;

export interface Argon2Options {
  algorithm: number;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

type HashJob = { op: 'hash'; password: string; options: Argon2Options } | { op: 'verify'; hash: string; password: string };

/** argon2 itself refused the input (a stored hash it cannot parse): not a failure of the threads. */
export class Argon2InputError extends Error {}

interface Pending {
  job: HashJob;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface Thread {
  worker: Worker;
  current: Pending | null;
  /** ends the thread once it has been idle for `idleMs` */
  idleTimer: NodeJS.Timeout | null;
}

/** How long a thread stays without work before it ends (its ~9 MB go back; the next job starts one). */
const IDLE_MS = 60_000;

/**
 * Password hashing on threads of its own, below the event loop's priority.
 *
 * argon2id is the one CPU-bound job of the service, meant to be slow: a burst of sign-ins keeps
 * every core busy hashing. On libuv's pool (@node-rs/argon2's asynchronous calls) the hashes ran
 * at the event loop's own priority, so every other request — a profile read, a token check —
 * waited for a time slice behind them. Here the hashes run on `size` worker threads at nice
 * `nice` (Linux): whenever the event loop or PostgreSQL has work, the kernel runs it first, and
 * the hashes take the rest. Measured on 2 vCPUs under 135–150 sign-ins/s (bench/login-neighbours.ts):
 * profile reads made alongside answered at p90 0–2 ms instead of 3–6 ms, with the same sign-in
 * rate; p99 stayed noisy on both sides (3–19 ms against 7–14 ms).
 *
 * Threads start on first use, each takes one job at a time, and an idle thread neither keeps the
 * process alive nor stays longer than a minute (each holds ~9 MB; starting one takes a few ms).
 * A thread that dies fails its job (an error, never a wrong-password answer) and the next job
 * starts a new one.
 */
export class Argon2Threads {
  private readonly threads: Thread[] = [];
  private readonly queue: Pending[] = [];
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly nice: number,
    private readonly idleMs = IDLE_MS,
  ) {}

  /** Threads running now (busy or idle). */
  get running(): number {
    return this.threads.length;
  }

  hash(password: string, options: Argon2Options): Promise<string> {
    return this.run({ op: 'hash', password, options }) as Promise<string>;
  }

  verify(hash: string, password: string): Promise<boolean> {
    return this.run({ op: 'verify', hash, password }) as Promise<boolean>;
  }

  /** Stops the threads; jobs not yet answered fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) pending.reject(new Error('password hashing has stopped'));
    await Promise.all(this.threads.splice(0).map((t) => t.worker.terminate()));
  }

  private run(job: HashJob): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('password hashing has stopped'));
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const thread = this.threads.find((t) => t.current === null) ?? (this.threads.length < this.size ? this.start() : undefined);
      if (!thread) return;
      const pending = this.queue.shift()!;
      thread.current = pending;
      if (thread.idleTimer) clearTimeout(thread.idleTimer);
      thread.idleTimer = null;
      thread.worker.ref();
      thread.worker.postMessage(pending.job);
    }
  }

  private start(): Thread {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { argon2: ARGON2_MODULE, nice: this.nice } });
    const thread: Thread = { worker, current: null, idleTimer: null };
    worker.unref();
    worker.on('message', (reply: { ok: true; value: unknown } | { ok: false; message: string }) => {
      const pending = thread.current;
      thread.current = null;
      worker.unref();
      if (reply.ok) pending?.resolve(reply.value);
      else pending?.reject(new Argon2InputError(reply.message));
      this.dispatch();
      if (thread.current === null) {
        thread.idleTimer = setTimeout(() => {
          // Out of the pool first, so no job is handed to a thread that is ending.
          this.drop(thread);
          void worker.terminate();
        }, this.idleMs);
        thread.idleTimer.unref();
      }
    });
    const gone = (err: Error) => {
      if (thread.idleTimer) clearTimeout(thread.idleTimer);
      this.drop(thread);
      const pending = thread.current;
      thread.current = null;
      pending?.reject(err);
      if (!this.closed) this.dispatch();
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(new Error(`a password hashing thread stopped (exit code ${code})`)));
    this.threads.push(thread);
    return thread;
  }

  /** Takes a thread out of the pool (once it is ending, or has ended). */
  private drop(thread: Thread): void {
    const i = this.threads.indexOf(thread);
    if (i >= 0) this.threads.splice(i, 1);
  }
}
