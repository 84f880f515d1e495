/** Parsers of the --gossip-*, --join, --cluster-name and --node-name values. */
import type { ListenAddress } from '../config/types.js';
import { fail, ok, type Parser, type Result } from '../config/result.js';
import { parsePort, splitHostPort } from '../sites/host.js';
import { parseKey } from './codec/crypto.js';

export const GOSSIP_PORT = 7946;

/** "host:port", ":port", "host" or "[v6]:port"; a missing port is 7946 (memberlist's default). */
export function parseGossipAddress(text: string): Result<ListenAddress> {
  const split = splitHostPort(text.trim());
  if (!split.ok) return fail(`${JSON.stringify(text)}: ${split.reason}`);
  if (split.value.port === undefined) return ok({ host: split.value.host, port: GOSSIP_PORT });
  const port = parsePort(split.value.port, 0);
  return port.ok ? ok({ host: split.value.host, port: port.value }) : fail(`${JSON.stringify(text)}: ${port.reason}`);
}

/** A seed to join needs a host. */
export function parseSeed(text: string): Result<ListenAddress> {
  const a = parseGossipAddress(text);
  if (a.ok && a.value.host === '') return fail(`${JSON.stringify(text)} has no host (use host:port)`);
  if (a.ok && a.value.port === 0) return fail(`${JSON.stringify(text)}: port 0 cannot be joined`);
  return a;
}

/** Names travel in every message and must fit a label header (cluster) or be printable (node). */
const nameParser = (what: string, max: number): Parser<string> => (text) => {
  const t = text.trim();
  if (t === '') return fail(`${what} is empty`);
  if (Buffer.byteLength(t) > max) return fail(`${what} ${JSON.stringify(t)} is longer than ${max} bytes`);
  if (/[\s\u0000-\u001f\u007f]/.test(t)) return fail(`${what} ${JSON.stringify(t)} must not contain spaces or control characters`);
  return ok(t);
};

export const parseClusterName = nameParser('the cluster name', 255);
export const parseNodeName = nameParser('the node name', 255);

/** Checked here, kept as text in the frozen Config; settings.ts turns it into bytes. */
export function parseGossipKey(text: string): Result<string> {
  try {
    parseKey(text);
    return ok(text.trim());
  } catch (err) {
    return fail(`gossip key: ${(err as Error).message}`);
  }
}
