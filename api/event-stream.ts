/** What every server-sent event stream of the API does first: its headers, sent at once, and a signal for when the client goes. */
import type { Response } from 'express';

export function openEventStream(res: Response): AbortSignal {
  // No proxy buffering (x-accel-buffering): an event must reach the client when it is written.
  res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  return gone.signal;
}
