import dgram from 'node:dgram';
import net from 'node:net';

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;

/**
 * A tiny authoritative DNS server on 127.0.0.1 UDP for tests: it answers single-question A and
 * AAAA queries from a mutable table (TTL `ttl`, 0 by default, so no resolver caches the answer). Unknown names get
 * NXDOMAIN; names in `servfail` get SERVFAIL; a known name without an address of the asked family
 * gets an empty answer (NODATA).
 */
export class TestDnsServer {
  /** Lower-case name -> IPv4 and IPv6 addresses. */
  readonly records = new Map<string, string[]>();
  readonly servfail = new Set<string>();
  /** TTL of every answer, in seconds (0: no resolver caches it). */
  ttl = 0;
  /** Questions received, per lower-case name. */
  readonly queries = new Map<string, number>();
  port = 0;
  private readonly socket = dgram.createSocket('udp4');

  static async start(): Promise<TestDnsServer> {
    const server = new TestDnsServer();
    await new Promise<void>((resolve, reject) => {
      server.socket.once('error', reject);
      server.socket.bind(0, '127.0.0.1', () => {
        server.socket.off('error', reject);
        resolve();
      });
    });
    server.port = server.socket.address().port;
    server.socket.on('message', (msg, rinfo) => {
      const reply = server.answer(msg);
      if (reply !== null) server.socket.send(reply, rinfo.port, rinfo.address);
    });
    return server;
  }

  /** "127.0.0.1:PORT", the --dns-server value. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  set(name: string, addresses: string[]): void {
    this.records.set(name.toLowerCase(), addresses);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  /** The reply to one query, or null for something that is not a single-question query. */
  private answer(query: Buffer): Buffer | null {
    if (query.length < 12 || (query[2]! & 0x80) !== 0 || query.readUInt16BE(4) !== 1) return null;
    // QNAME: length-prefixed labels up to a zero byte (queries carry no compression pointers).
    let offset = 12;
    const labels: string[] = [];
    for (;;) {
      const len = query[offset];
      if (len === undefined || len > 63) return null;
      offset++;
      if (len === 0) break;
      labels.push(query.toString('latin1', offset, offset + len));
      offset += len;
    }
    if (offset + 4 > query.length) return null;
    const qtype = query.readUInt16BE(offset);
    const qclass = query.readUInt16BE(offset + 2);
    const questionEnd = offset + 4;
    const name = labels.join('.').toLowerCase();
    this.queries.set(name, (this.queries.get(name) ?? 0) + 1);

    const known = this.records.get(name);
    let rcode = 0;
    let rdatas: Buffer[] = [];
    if (this.servfail.has(name)) rcode = RCODE_SERVFAIL;
    else if (known === undefined) rcode = RCODE_NXDOMAIN;
    else if (qclass === CLASS_IN && qtype === TYPE_A) rdatas = known.filter((a) => net.isIPv4(a)).map(ipv4Bytes);
    else if (qclass === CLASS_IN && qtype === TYPE_AAAA) rdatas = known.filter((a) => net.isIPv6(a)).map(ipv6Bytes);

    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // ID
    const opcodeAndRd = query[2]! & 0x79; // opcode bits and RD
    header[2] = 0x80 | opcodeAndRd | 0x04; // QR, AA
    header[3] = 0x80 | rcode; // RA
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(rdatas.length, 6);
    const answers = rdatas.map((rdata) => {
      const rr = Buffer.alloc(12 + rdata.length);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      rr.writeUInt16BE(qtype, 2);
      rr.writeUInt16BE(CLASS_IN, 4);
      rr.writeUInt32BE(this.ttl, 6);
      rr.writeUInt16BE(rdata.length, 10);
      rdata.copy(rr, 12);
      return rr;
    });
    return Buffer.concat([header, query.subarray(12, questionEnd), ...answers]);
  }
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}
