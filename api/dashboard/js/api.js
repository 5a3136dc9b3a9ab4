// The REST API as the dashboard calls it: the key from sessionStorage on every request, problem+json
// answers turned into errors that carry the API's own words, and server-sent events read from a fetch()
// body, because EventSource cannot send the Authorization header the API authenticates with.

const KEY = 'lease-engine.apiKey';

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function headers(extra = {}) {
  return { authorization: `Bearer ${session.key}`, ...extra };
}

async function fail(res) {
  let problem;
  try { problem = await res.json(); } catch { problem = undefined; }
  return new ApiError(res.status, problem);
}

export async function api(method, path, body, extraHeaders = {}) {
  const res = await fetch(path, {
    method,
    headers: headers(body === undefined ? extraHeaders : { 'content-type': 'application/json', ...extraHeaders }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw await fail(res);
  return res.status === 204 ? undefined : res.json();
}

/** Splits an event-stream body into { id, event, data } frames (the WHATWG rules we need). */
async function* frames(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const frame = { id: undefined, event: 'message', data: '' };
      const data = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(text);
        else if (field === 'event') frame.event = text;
        else if (field === 'id') frame.id = text;
      }
      if (data.length > 0) {
        frame.data = data.join('\n');
        yield frame;
      }
    }
  }
}

/**
 * Follows a server-sent event stream until `signal` aborts or an `end` event arrives, resuming from the
 * last id after a dropped connection (as EventSource would). `onEvent(event, data)` gets parsed JSON.
 * Resolves when the stream is over; a 4xx other than a dropped connection rejects.
 */
export async function follow(path, onEvent, { signal, lastEventId, resumeParam } = {}) {
  let last = lastEventId;
  let delay = 500;
  while (!signal?.aborted) {
    let url = path;
    if (last !== undefined && resumeParam) url += `${url.includes('?') ? '&' : '?'}${resumeParam}=${encodeURIComponent(last)}`;
    try {
      const extra = { accept: 'text/event-stream', ...(last !== undefined && !resumeParam ? { 'last-event-id': last } : {}) };
      const res = await fetch(url, { headers: headers(extra), signal });
      if (!res.ok) throw await fail(res);
      delay = 500;
      for await (const frame of frames(res.body)) {
        if (frame.id !== undefined) last = frame.id;
        let data;
        try { data = JSON.parse(frame.data); } catch { data = frame.data; }
        if (frame.event === 'end') {
          onEvent('end', data);
          return;
        }
        onEvent(frame.event, data, frame.id);
      }
    } catch (error) {
      if (signal?.aborted) return;
      if (error instanceof ApiError && error.status < 500) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}
