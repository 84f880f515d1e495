/** What the response parser reports, on top of the fields both directions share. */
import { MessageHead } from './message-head.js';

export class ResponseHead extends MessageHead {
  statusCode = 200;
  /** Reason phrase offsets (may be empty). */
  reasonStart = 0;
  reasonEnd = 0;
  /** 1xx: another head follows on the same connection (except after 101). */
  informational = false;
  /** 101 Switching Protocols: after the head, the connection carries the upgraded protocol. */
  switchingProtocols = false;
  /** 2xx answer to CONNECT: after the head, the connection is a tunnel. */
  connectTunnel = false;

  override reset(buffer: Buffer, start: number): void {
    super.reset(buffer, start);
    this.statusCode = 200;
    this.reasonStart = this.reasonEnd = 0;
    this.informational = this.switchingProtocols = this.connectTunnel = false;
  }

  /** Reason phrase as sent (allocates). */
  get reason(): string {
    return this.buffer.toString('latin1', this.reasonStart, this.reasonEnd);
  }
}
