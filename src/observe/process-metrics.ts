import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import v8 from 'node:v8';

/**
 * The process families of the exposition (the names and meanings of prom-client's default
 * metrics, so existing dashboards keep working), read synchronously at scrape time.
 *
 * Why not prom-client itself: the main port answers a scrape synchronously (the engine's local()
 * hook) and prom-client's registry only answers asynchronously, so the data port could only ever
 * serve the previous scrape's values; loaded lazily it also printed no process metrics on the first
 * scrape, then an empty event-loop histogram (min 9223372036.85, NaN), and counted CPU from its
 * first collection. Everything here counts from process start and is right on the first scrape.
 */
export class ProcessMetrics {
  private readonly loop: IntervalHistogram;
  /** The last event-loop window that had samples: a scrape right after another reports it again. */
  private lastLoop = { min: 0, max: 0, mean: 0, stddev: 0, p50: 0, p90: 0, p99: 0 };
  private readonly gc = new Map<string, { counts: number[]; sum: number; count: number }>();
  private readonly gcObserver: PerformanceObserver;
  private readonly maxFds: number | null;

  constructor() {
    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
    this.gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.observeGc(GC_KINDS[(e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'unknown', e.duration / 1000);
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
    this.maxFds = readMaxFds();
  }

  stop(): void {
    this.loop.disable();
    this.gcObserver.disconnect();
  }

  text(): string {
    const out: string[] = [];
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    counter(out, 'process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', cpu.user / 1e6);
    counter(out, 'process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', cpu.system / 1e6);
    counter(out, 'process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (cpu.user + cpu.system) / 1e6);
    gauge(out, 'process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', Math.round(performance.timeOrigin / 1000));
    const status = procStatus();
    gauge(out, 'process_resident_memory_bytes', 'Resident memory size in bytes.', status?.VmRSS ?? mem.rss);
    if (status !== null) {
      gauge(out, 'process_virtual_memory_bytes', 'Virtual memory size in bytes.', status.VmSize ?? 0);
      gauge(out, 'process_heap_bytes', 'Process heap size in bytes.', status.VmData ?? 0);
    }
    const fds = openFds();
    if (fds !== null) gauge(out, 'process_open_fds', 'Number of open file descriptors.', fds);
    if (this.maxFds !== null) gauge(out, 'process_max_fds', 'Maximum number of open file descriptors.', this.maxFds);
    this.eventLoop(out);
    const resources = process.getActiveResourcesInfo();
    gauge(out, 'nodejs_active_resources_total', 'Number of active resources that are currently keeping the event loop alive.', resources.length);
    gauge(out, 'nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', mem.heapTotal);
    gauge(out, 'nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', mem.heapUsed);
    gauge(out, 'nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', mem.external);
    this.heapSpaces(out);
    const [major, minor, patch] = process.versions.node.split('.');
    head(out, 'nodejs_version_info', 'gauge', 'Node.js version info.');
    out.push(`nodejs_version_info{version="${process.version}",major="${major}",minor="${minor}",patch="${patch}"} 1`);
    this.gcHistogram(out);
    return out.join('\n') + '\n';
  }

  /** The event-loop delay since the previous scrape (or the last window that had any samples). */
  private eventLoop(out: string[]): void {
    const h = this.loop;
    if (h.count > 0) {
      this.lastLoop = {
        min: h.min / 1e9, max: h.max / 1e9, mean: h.mean / 1e9, stddev: h.stddev / 1e9,
        p50: h.percentile(50) / 1e9, p90: h.percentile(90) / 1e9, p99: h.percentile(99) / 1e9,
      };
      h.reset();
    }
    const l = this.lastLoop;
    gauge(out, 'nodejs_eventloop_lag_seconds', 'Mean event loop delay in seconds since the previous scrape.', l.mean);
    for (const [key, help] of LOOP_STATS) gauge(out, `nodejs_eventloop_lag_${key}_seconds`, help, l[key]);
  }

  private heapSpaces(out: string[]): void {
    const spaces = v8.getHeapSpaceStatistics();
    for (const [suffix, read, help] of HEAP_SPACE_FIELDS) {
      const name = `nodejs_heap_space_size_${suffix}_bytes`;
      head(out, name, 'gauge', help);
      for (const s of spaces) out.push(`${name}{space="${s.space_name.replace(/_space$/, '')}"} ${read(s)}`);
    }
  }

  private observeGc(kind: string, seconds: number): void {
    let h = this.gc.get(kind);
    if (h === undefined) this.gc.set(kind, h = { counts: GC_BOUNDS.map(() => 0), sum: 0, count: 0 });
    GC_BOUNDS.forEach((le, i) => { if (seconds <= le) h!.counts[i]!++; });
    h.sum += seconds;
    h.count++;
  }

  private gcHistogram(out: string[]): void {
    const name = 'nodejs_gc_duration_seconds';
    head(out, name, 'histogram', 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.');
    for (const [kind, h] of this.gc) {
      GC_BOUNDS.forEach((le, i) => out.push(`${name}_bucket{le="${le}",kind="${kind}"} ${h.counts[i]}`));
      out.push(`${name}_bucket{le="+Inf",kind="${kind}"} ${h.count}`, `${name}_sum{kind="${kind}"} ${h.sum}`, `${name}_count{kind="${kind}"} ${h.count}`);
    }
  }
}

const LOOP_STATS: ReadonlyArray<readonly ['min' | 'max' | 'mean' | 'stddev' | 'p50' | 'p90' | 'p99', string]> = [
  ['min', 'The minimum recorded event loop delay.'], ['max', 'The maximum recorded event loop delay.'],
  ['mean', 'The mean of the recorded event loop delays.'], ['stddev', 'The standard deviation of the recorded event loop delays.'],
  ['p50', 'The 50th percentile of the recorded event loop delays.'], ['p90', 'The 90th percentile of the recorded event loop delays.'],
  ['p99', 'The 99th percentile of the recorded event loop delays.'],
];

type HeapSpace = ReturnType<typeof v8.getHeapSpaceStatistics>[number];
const HEAP_SPACE_FIELDS: ReadonlyArray<readonly [string, (s: HeapSpace) => number, string]> = [
  ['total', (s) => s.space_size, 'Process heap space size total from Node.js in bytes.'],
  ['used', (s) => s.space_used_size, 'Process heap space size used from Node.js in bytes.'],
  ['available', (s) => s.space_available_size, 'Process heap space size available from Node.js in bytes.'],
];

/** perf_hooks' gc kinds (NODE_PERFORMANCE_GC_*), as prom-client labels them. */
const GC_KINDS: Readonly<Record<number, string>> = { 1: 'major', 2: 'minor', 4: 'incremental', 8: 'weakcb' };
const GC_BOUNDS = [0.001, 0.01, 0.1, 1, 2, 5];

function head(out: string[], name: string, type: string, help: string): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

function gauge(out: string[], name: string, help: string, value: number): void {
  head(out, name, 'gauge', help);
  out.push(`${name} ${value}`);
}

function counter(out: string[], name: string, help: string, value: number): void {
  head(out, name, 'counter', help);
  out.push(`${name} ${value}`);
}

/** VmRSS, VmSize, VmData of /proc/self/status in bytes; null off Linux. */
function procStatus(): Record<string, number> | null {
  let text: string;
  try { text = readFileSync('/proc/self/status', 'utf8'); } catch { return null; }
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(VmRSS|VmSize|VmData):\s+(\d+) kB$/gm)) out[m[1]!] = Number(m[2]) * 1024;
  return out;
}

function openFds(): number | null {
  // readdirSync opens one descriptor of its own to list the directory.
  try { return readdirSync('/proc/self/fd').length - 1; } catch { return null; }
}

function readMaxFds(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch { return null; }
}
