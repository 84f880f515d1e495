/** Counters the protocol keeps as plain fields; metrics read them at scrape time. */
export class GossipStats {
  packetsSent = 0;
  packetsReceived = 0;
  bytesSent = 0;
  bytesReceived = 0;
  streamsSent = 0;
  streamsReceived = 0;
  badPackets = 0;
  probes = 0;
  probeFailures = 0;
  suspicions = 0;
  refutations = 0;
  deaths = 0;
  /** Called with each direct or indirect ack's round-trip time in ms. */
  onRtt: (ms: number) => void = () => {};
}
