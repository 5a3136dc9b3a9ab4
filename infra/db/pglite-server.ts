import { mkdir } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';

export interface EmbeddedPostgres {
  /** A plain PostgreSQL URL: every process (API, control worker) connects with `pg` as to a real server. */
  url: string;
  close(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** The engine's data directory; the database lives in `<dataDir>/pglite` and survives restarts. */
  dataDir: string;
  port: number;
  host?: string;
}

// Request codes of the untyped messages a client may send before its startup packet.
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);
const ROLLBACK = Buffer.concat([Buffer.from([0x51, 0, 0, 0, 13]), Buffer.from('ROLLBACK\0')]);

/** One client connection: bytes not yet framed, and whole messages not yet run. */
interface Session {
  socket: Socket;
  unframed: Buffer;
  ready: Buffer[];
  started: boolean;
  closed: boolean;
  queued: boolean;
}

/**
 * The default database when DATABASE_URL is unset (DESIGN §7), served over the PostgreSQL wire protocol
 * so every process uses plain `pg` exactly as against a real server in production.
 *
 * PGlite is a single backend session, so the unnamed prepared statement, the unnamed portal and any open
 * transaction belong to whoever ran last. `@electric-sql/pglite-socket` queued each network message on
 * its own and switched clients whenever no transaction was open, so one client's Parse/Bind/Execute/Sync
 * ran in the middle of another's ("portal "" does not exist", rows answered to the wrong query). This
 * server hands PGlite to one connection at a time, from its first message until the backend reports
 * ReadyForQuery with status 'I' (idle, outside a transaction block); other connections' messages wait.
 * That makes each client's transaction serialisable against the rest, which `FOR UPDATE SKIP LOCKED`
 * code is written for anyway.
 *
 * Session state that outlives a transaction (SET, named prepared statements, LISTEN, temp tables) is
 * still shared by every connection: our code uses none of it.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const host = options.host ?? '127.0.0.1';
  const dir = path.join(path.resolve(options.dataDir), 'pglite');
  await mkdir(dir, { recursive: true });
  const db = await PGlite.create(dir);

  const sessions = new Set<Session>();
  const waiting: Session[] = [];
  let owner: Session | undefined;
  let pumping: Promise<void> | undefined;
  let closing = false;

  const run = async (message: Buffer): Promise<Buffer> => Buffer.from(await db.execProtocolRaw(message));

  // A connection that vanished while holding PGlite may leave a half-sent extended query or an open
  // transaction behind; Sync ends the first and ROLLBACK the second before anyone else gets PGlite.
  const resetAfter = async (): Promise<void> => {
    try {
      if (lastReadyStatus(await run(SYNC)) !== 'I') await run(ROLLBACK);
    } catch (error) {
      console.error(`embedded PostgreSQL: cannot reset after a closed connection: ${(error as Error).message}`);
    }
  };

  const pumpLoop = async (): Promise<void> => {
    while (!closing) {
      const session = owner ?? waiting.shift();
      if (!session) return;
      session.queued = false;
      if (session.closed) {
        if (session === owner) {
          await resetAfter();
          owner = undefined;
        }
        continue;
      }
      const batch = takeBatch(session);
      if (!batch) return; // the owner is inside a transaction and has not sent its next message yet
      owner = session;
      let status: string | undefined;
      try {
        const reply = await run(batch.bytes);
        if (session.socket.writable) session.socket.write(reply);
        // A startup packet never leaves a transaction open, whatever PGlite reports for it.
        status = batch.startup ? 'I' : lastReadyStatus(reply);
      } catch (error) {
        console.error(`embedded PostgreSQL: dropping a connection: ${(error as Error).message}`);
        end(session);
        continue; // still the owner: the next turn resets the session
      }
      if (status === 'I') {
        owner = undefined;
        if (session.ready.length > 0) enqueue(session); // to the back: other connections take their turn first
      }
    }
  };

  const pump = (): void => {
    pumping ??= pumpLoop().finally(() => {
      pumping = undefined;
      // The loop stops only with nothing runnable; this guards against work that slipped in as it ended.
      const runnable = owner ? owner.ready.length > 0 || owner.closed : waiting.length > 0;
      if (!closing && runnable) pump();
    });
  };

  const enqueue = (session: Session): void => {
    if (session === owner || session.queued) return;
    session.queued = true;
    waiting.push(session);
  };

  const end = (session: Session): void => {
    if (session.closed) return;
    session.closed = true;
    sessions.delete(session);
    session.ready = [];
    if (!session.socket.destroyed) session.socket.end();
    if (session === owner) pump();
  };

  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const session: Session = { socket, unframed: Buffer.alloc(0), ready: [], started: false, closed: false, queued: false };
    sessions.add(session);
    socket.on('error', () => end(session)); // 'close' follows; a reset client is routine
    socket.on('close', () => end(session));
    socket.on('data', (chunk) => {
      if (session.closed) return;
      session.unframed = session.unframed.length > 0 ? Buffer.concat([session.unframed, chunk]) : chunk;
      if (!frame(session)) return end(session);
      if (session.ready.length > 0) {
        enqueue(session);
        pump();
      }
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, host, () => {
        server.off('error', reject);
        // Later errors (a failed accept) cost one connection, never the server and its clients.
        server.on('error', (error) => console.error(`embedded PostgreSQL: ${error.message}`));
        resolve();
      });
    });
  } catch (error) {
    await db.close();
    throw new Error(`cannot serve the embedded database on ${host}:${options.port}: ${(error as Error).message}`, {
      cause: error,
    });
  }

  let closed: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    closing = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of sessions) session.socket.destroy();
    await pumping; // never close PGlite under a running query
    await stopped;
    await db.close();
  };
  return {
    url: `postgres://postgres@${host}:${options.port}/postgres`,
    // Idempotent: shutdown paths (signal handler, test teardown) may both call it.
    close: () => (closed ??= close()),
  };
}

/**
 * Moves every whole message out of `unframed` into `ready`. Before the startup packet messages carry no
 * type byte; SSL and GSS encryption are declined with 'N' as a plain server without them would. Returns
 * false when the connection should be dropped (cancel request, Terminate, garbage).
 */
function frame(session: Session): boolean {
  for (;;) {
    const buf = session.unframed;
    const header = session.started ? 5 : 8;
    if (buf.length < header) return true;
    const length = session.started ? buf.readInt32BE(1) + 1 : buf.readInt32BE(0);
    if (length < header || length > MAX_MESSAGE_BYTES) return false;
    if (buf.length < length) return true;
    const message = buf.subarray(0, length);
    session.unframed = buf.subarray(length);
    if (session.started) {
      // Terminate would end PGlite's one backend for everybody: the client is leaving, so we just hang up.
      if (message[0] === 0x58) return false;
      session.ready.push(message);
      continue;
    }
    const code = message.readInt32BE(4);
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      session.socket.write('N');
    } else if (code === CANCEL_REQUEST) {
      return false; // PGlite runs one statement at a time to completion; there is nothing to cancel
    } else {
      session.started = true;
      session.ready.push(message);
    }
  }
}

/**
 * The next unit to hand PGlite: the startup packet alone (PGlite recognises it only as a whole input),
 * otherwise messages up to and including the first Sync or simple Query, the points where the backend
 * answers ReadyForQuery, so the reply's status tells exactly whether the connection may let go.
 */
function takeBatch(session: Session): { bytes: Buffer; startup: boolean } | undefined {
  const first = session.ready[0];
  if (!first) return undefined;
  if (first[0] === 0) return { bytes: Buffer.from(session.ready.shift()!), startup: true };
  let end = session.ready.findIndex((message) => message[0] === 0x53 || message[0] === 0x51);
  end = end === -1 ? session.ready.length : end + 1;
  return { bytes: Buffer.concat(session.ready.splice(0, end)), startup: false };
}

/** The transaction status of the last ReadyForQuery in a backend reply ('I', 'T', 'E'), if there is one. */
function lastReadyStatus(reply: Buffer): string | undefined {
  let status: string | undefined;
  for (let at = 0; at + 5 <= reply.length; at += 1 + reply.readInt32BE(at + 1)) {
    if (reply[at] === 0x5a && at + 5 < reply.length) status = String.fromCharCode(reply[at + 5]!);
  }
  return status;
}
