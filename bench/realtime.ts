/**
 * Issue 7's realtime figures (PostgreSQL + Redis only), in the table format of `npm run bench`:
 *   - cross-instance delivery latency: a second instance B on the same database and Redis holds
 *     1,000 WebSocket clients (spread over a few users); events are raised on instance A
 *     (`PATCH /api/v1/users/me/preferences` → `preferences.updated` to the owner's sockets, all
 *     on B); latency is the event's `at` (stamped on A when it is published) to its arrival at
 *     each client in this process: p50 and p99 over every delivery;
 *   - memory per idle connection: B's RSS before and after opening the 1,000 sockets, divided.
 */
import WebSocket from 'ws';
import { signUp, type Account } from './auth.js';
import { atMost, fmt, jsonOk, percentile, rssKb, type RowSink } from './measure.js';
import { inspect, type InspectorSession } from './inspector.js';
import { freePort, removeDir, startTessera, type Running } from './servers.js';

/** What both instances need: room for the sockets under the per-user cap. */
export const REALTIME_ENV = { WS_MAX_CONNECTIONS_PER_USER: '1000' };

interface Client {
  ws: WebSocket;
  user: number;
}

const now = () => performance.timeOrigin + performance.now();

async function ticket(baseUrl: string, account: Account): Promise<string> {
  const body = await jsonOk<{ ticket: string }>(await fetch(`${baseUrl}/api/v1/events/ticket`, { method: 'POST', headers: { authorization: `Bearer ${account.accessToken}` } }));
  return body.ticket;
}

function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.on('error', () => undefined);
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => reject(new Error(`websocket refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** `count` sockets on `wsBase` for users in turn, tickets from `ticketBase`; `parallel` at a time. */
async function connectMany(ticketBase: string, wsBase: string, users: Account[], count: number, parallel = 25): Promise<Client[]> {
  const clients: Client[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const user = next++ % users.length;
        const t = await ticket(ticketBase, users[user]!);
        clients.push({ ws: await open(`${wsBase}/api/v1/events?ticket=${encodeURIComponent(t)}`), user });
      }
    }),
  );
  return clients;
}

function closeAll(clients: Client[]): void {
  for (const c of clients) c.ws.terminate();
}

export async function benchRealtime(a: Running, env: Record<string, string>, row: RowSink, opts: { sockets?: number; users?: number; rounds?: number } = {}): Promise<void> {
  const sockets = opts.sockets ?? 1000;
  const userCount = opts.users ?? 10;
  const rounds = opts.rounds ?? 5;
  // B with the inspector on a loopback port: a full GC before each memory reading. Its two
  // "Debugger listening" lines are kept out of the table; anything else on stderr goes through.
  const inspectorPort = await freePort();
  const b = await startTessera({ ...env, ...REALTIME_ENV, NODE_OPTIONS: `--inspect=127.0.0.1:${inspectorPort}` }, undefined, { stderr: 'pipe' });
  b.child.stderr?.on('data', (chunk: Buffer) => {
    const rest = String(chunk)
      .split('\n')
      .filter((l) => l && !/Debugger listening|Debugger ending|For help, see|Debugger attached|Waiting for the debugger/.test(l));
    if (rest.length) process.stderr.write(rest.join('\n') + '\n');
  });
  const wsBase = b.url.replace(/^http:/, 'ws:');
  let clients: Client[] = [];
  let inspector: InspectorSession | null = null;
  try {
    const session = (inspector = await inspect(inspectorPort));
    /** B's RSS as it is, then after a full GC, and what the JS heap and buffers retain (KiB). */
    const memory = async () => {
      const rawKb = rssKb(b.pid);
      await session.collectGarbage();
      const m = await session.memoryUsage();
      return { rawKb, rssKb: rssKb(b.pid), retainedKb: (m.heapUsed + m.external) / 1024 };
    };
    const users: Account[] = [];
    for (let i = 0; i < userCount; i++) users.push(await signUp(a.url));

    // Warm-up: the upgrade path and the hub's code run once before B's memory is read.
    closeAll(await connectMany(a.url, wsBase, users, 20));
    await new Promise((r) => setTimeout(r, 500));
    const before = await memory();
    const connectStart = performance.now();
    clients = await connectMany(a.url, wsBase, users, sockets);
    const connectMs = performance.now() - connectStart;
    await new Promise((r) => setTimeout(r, 500));
    const after = await memory();

    // Deliveries: one event at a time, waiting until all of its owner's sockets have it.
    const latencies: number[] = [];
    const firsts: number[] = [];
    let waiting: { user: number; remaining: number; first: number; done: () => void } | null = null;
    for (const c of clients) {
      c.ws.on('message', (data) => {
        const at = now();
        const m = JSON.parse(String(data)) as { type: string; at: string };
        if (m.type !== 'preferences.updated' || !waiting || waiting.user !== c.user) return;
        const ms = at - Date.parse(m.at);
        latencies.push(ms);
        waiting.first = Math.min(waiting.first, ms);
        if (--waiting.remaining === 0) waiting.done();
      });
    }
    const perUser = users.map((_, u) => clients.filter((c) => c.user === u).length);
    let theme = 0;
    const raise = async (u: number, record: boolean) => {
      const delivered = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`event for user ${u}: ${waiting?.remaining} sockets still waiting after 10 s`)), 10_000);
        waiting = { user: u, remaining: perUser[u]!, first: Number.POSITIVE_INFINITY, done: () => (clearTimeout(timer), resolve()) };
      });
      const mark = latencies.length;
      await jsonOk(
        await fetch(`${a.url}/api/v1/users/me/preferences`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${users[u]!.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ theme: ['light', 'dark', 'system'][theme++ % 3] }),
        }),
      );
      await delivered;
      if (record) firsts.push(waiting!.first);
      else latencies.length = mark;
      waiting = null;
    };
    for (let u = 0; u < users.length; u++) await raise(u, false);
    for (let r = 0; r < rounds; r++) for (let u = 0; u < users.length; u++) await raise(u, true);


    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const events = rounds * users.length;
    row([
      `cross-instance delivery: publish on A → receipt on B, ${fmt(sockets)} sockets on B`,
      `p50 ${fmt(p50, 1)} ms, p99 ${fmt(p99, 1)} ms`,
      '',
      '',
      atMost(p99, 50, 'p99 50 ms'),
      `${events} preferences.updated events (PATCH on A), each to its owner's ${fmt(sockets / users.length)} sockets on B: ${fmt(latencies.length)} deliveries; first socket of each event p50 ${fmt(percentile(firsts, 50), 1)} ms, max ${fmt(Math.max(...firsts), 1)} ms; max ${fmt(Math.max(...latencies), 1)} ms; \`at\` has ms resolution`,
    ]);
    const kb = (kib: number) => (kib * 1024) / 1000;
    const perConn = kb((after.rssKb - before.rssKb) / sockets);
    const retained = kb((after.retainedKb - before.retainedKb) / sockets);
    row([
      `memory per idle WebSocket connection on the server (RSS of B before/after ${fmt(sockets)} sockets, divided)`,
      `${fmt(perConn, 1)} KB`,
      '',
      '',
      atMost(perConn, 20, '20 KB'),
      `B: ${fmt(before.rssKb / 1024)} → ${fmt(after.rssKb / 1024)} MB, each read after a full GC (without: ${fmt(kb((after.rawKb - before.rawKb) / sockets), 1)} KB); JS heap + external retained: ${fmt(retained, 1)} KB per socket; ${fmt(sockets)} opened in ${fmt(connectMs)} ms`,
    ]);
  } finally {
    closeAll(clients);
    inspector?.close();
    await b.stop();
    removeDir(b.dataDir);
  }
}
