/** A client's SETTINGS frame (RFC 9113 §6.5.2): the values a server acts on, each checked. */
import { DEFAULT_MAX_FRAME, ErrorCode, MAX_WINDOW, Setting } from './frames.js';

export interface PeerSettings {
  /** SETTINGS_INITIAL_WINDOW_SIZE, -1 when not in this frame. */
  initialWindow: number;
  /** SETTINGS_MAX_FRAME_SIZE, -1 when not in this frame. */
  maxFrame: number;
}

export interface SettingsError {
  readonly code: number;
  readonly why: string;
}

/**
 * Reads the payload buf[start, end) (a multiple of 6 bytes). Later values of one setting win.
 * HEADER_TABLE_SIZE (our encoder keeps no table), MAX_CONCURRENT_STREAMS (we never push),
 * MAX_HEADER_LIST_SIZE (advisory) and unknown settings are ignored.
 */
export function readSettings(buf: Buffer, start: number, end: number): PeerSettings | SettingsError {
  const got: PeerSettings = { initialWindow: -1, maxFrame: -1 };
  for (let at = start; at < end; at += 6) {
    const value = buf.readUInt32BE(at + 2);
    switch (buf.readUInt16BE(at)) {
      case Setting.ENABLE_PUSH:
        if (value > 1) return { code: ErrorCode.PROTOCOL_ERROR, why: 'ENABLE_PUSH not 0 or 1' };
        break;
      case Setting.INITIAL_WINDOW_SIZE:
        if (value > MAX_WINDOW) return { code: ErrorCode.FLOW_CONTROL_ERROR, why: 'INITIAL_WINDOW_SIZE too large' };
        got.initialWindow = value;
        break;
      case Setting.MAX_FRAME_SIZE:
        if (value < DEFAULT_MAX_FRAME || value > 16_777_215) return { code: ErrorCode.PROTOCOL_ERROR, why: 'MAX_FRAME_SIZE out of range' };
        got.maxFrame = value;
        break;
      default:
    }
  }
  return got;
}

/**
 * Events per second on one connection, past which the client is abusing it and the connection is
 * ended: streams reset (rapid reset, CVE-2023-44487), and control frames we must answer (PING and
 * SETTINGS floods, CVE-2019-9512 and -9515), whose answers would otherwise pile up unread.
 */
export class PerSecondBudget {
  private windowStart = 0;
  private count = 0;
  private readonly perSecond: number;
  private readonly now: () => number;

  constructor(perSecond: number, now: () => number) {
    this.perSecond = perSecond;
    this.now = now;
  }

  /** Counts one event; false once over the limit. */
  spend(): boolean {
    const now = this.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.count = 0;
    }
    return ++this.count <= this.perSecond;
  }
}
