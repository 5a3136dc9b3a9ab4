/**
 * The simulator's HTTP: node's own client over keep-alive sockets. Two pools, because the two kinds of
 * request wait very differently: every host holds one long poll open for up to its wait, while reports
 * and registrations are short and go through a pool of bounded size. A long poll therefore never
 * queues behind reports, and a thousand hosts never open more report sockets than the bound.
 */
import http from 'node:http';
import https from 'node:https';
import type { HttpTransport } from '../host-agent/api-client';

export interface HttpPools {
  /** For long polls: one socket per waiting host. */
  poll: HttpTransport;
  /** For reports and registrations: at most `maxSockets` at once, the rest queue in the agent. */
  report: HttpTransport;
  close(): void;
}

/** Bodies larger than this are refused: the API's answers are small, a hostile endpoint's need not be. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export function createHttpPools(apiUrl: string, maxReportSockets: number): HttpPools {
  const secure = new URL(apiUrl).protocol === 'https:';
  const Agent = secure ? https.Agent : http.Agent;
  const pollAgent = new Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo' });
  const reportAgent = new Agent({ keepAlive: true, maxSockets: maxReportSockets, scheduling: 'lifo' });
  return {
    poll: transportOver(pollAgent, secure),
    report: transportOver(reportAgent, secure),
    close: () => {
      pollAgent.destroy();
      reportAgent.destroy();
    },
  };
}

function transportOver(agent: http.Agent, secure: boolean): HttpTransport {
  const request = secure ? https.request : http.request;
  return ({ url, method, headers, body, signal }) =>
    new Promise((resolve, reject) => {
      const outgoing = request(url, { method, agent, signal, headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) } }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            response.destroy(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        const retryAfter = response.headers['retry-after'];
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), retryAfter }));
        response.on('error', reject);
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
}
