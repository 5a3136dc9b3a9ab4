/**
 * JSON-RPC 2.0 envelopes for both faces of the node (HTTP and WebSocket): parse, validate, dispatch, answer.
 * Whatever a request holds, the answer is a JSON-RPC response (or nothing, for a notification): a method that
 * throws becomes an error object, so no request can take the node down.
 */
import type { Logger } from 'pino';
import { RPC_ERRORS, RpcError } from './rpc-params';

export type RpcId = string | number | null;
export type Dispatch = (method: string, params: unknown[], id: RpcId) => unknown;

interface Response {
  jsonrpc: '2.0';
  id: RpcId;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

const failure = (id: RpcId, code: number, message: string, data?: unknown): Response => ({
  jsonrpc: '2.0',
  id,
  error: data === undefined ? { code, message } : { code, message, data },
});

function answer(request: unknown, dispatch: Dispatch, log: Logger): Response | undefined {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    return failure(null, RPC_ERRORS.invalidRequest, 'Invalid request');
  }
  const { jsonrpc, method, params, id } = request as Record<string, unknown>;
  const validId = id === undefined || id === null || typeof id === 'string' || typeof id === 'number';
  const replyId: RpcId = validId ? ((id as RpcId | undefined) ?? null) : null;
  if (jsonrpc !== '2.0' || typeof method !== 'string' || !validId) {
    return failure(replyId, RPC_ERRORS.invalidRequest, 'Invalid request');
  }
  if (params !== undefined && params !== null && !Array.isArray(params)) {
    return failure(replyId, RPC_ERRORS.invalidParams, 'Invalid params: expected an array');
  }
  const isNotification = id === undefined;
  try {
    const result = dispatch(method, (params as unknown[] | undefined) ?? [], replyId);
    return isNotification ? undefined : { jsonrpc: '2.0', id: replyId, result };
  } catch (error) {
    if (isNotification) return undefined;
    if (error instanceof RpcError) return failure(replyId, error.code, error.message, error.data);
    log.error({ err: error, method }, 'rpc method failed');
    return failure(replyId, RPC_ERRORS.internal, `Internal error: ${(error as Error).message}`);
  }
}

/** The response text for a request body (single or batch); undefined when nothing must be sent back. */
export function handleJsonRpc(body: string, dispatch: Dispatch, log: Logger): string | undefined {
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch {
    return JSON.stringify(failure(null, RPC_ERRORS.parse, 'Parse error'));
  }
  if (Array.isArray(request)) {
    if (request.length === 0) return JSON.stringify(failure(null, RPC_ERRORS.invalidRequest, 'Invalid request'));
    const responses = request.map((r) => answer(r, dispatch, log)).filter((r) => r !== undefined);
    return responses.length === 0 ? undefined : JSON.stringify(responses);
  }
  const response = answer(request, dispatch, log);
  return response === undefined ? undefined : JSON.stringify(response);
}

export function methodNotFound(method: string): RpcError {
  return new RpcError(RPC_ERRORS.methodNotFound, `Method not found: ${method}`);
}
