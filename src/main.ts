#!/usr/bin/env node
import { parseCommandLine } from './config/parse.js';
import { App, openCacheNews, traceProbes, type FirstSitesFile } from './app.js';
import { readSitesFile, SitesFileSource } from './sites/sites-file.js';
import { splitSitesCheck } from './ambassador/option-rules.js';
import { serveMetrics, type MetricsServer } from './observe/metrics-server.js';
import { version } from './version.js';
import cluster from 'node:cluster';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Console, prepareConsole } from './observe/console.js';
import { supervise, type Workers } from './workers.js';
import { WorkerMetrics } from './observe/metrics-merge.js';
import { readBackend, renderBackends, type BackendReading } from './observe/metrics.js';
import { BackendPlane } from './control/plane.js';
import { controlMetricsText, SnapshotPublisher } from './control/publisher.js';
import { SnapshotFollower } from './control/follower.js';
import { PROTOCOL_VERSION, type GroupView, type WorkerMessage } from './control/messages.js';
import { backendsJson, summedCounts } from './observe/backends-api.js';
import type { Config } from './config/types.js';
import type { RemovalNotice } from './cache/removals.js';
import { pairsOf, toWorkers } from './cache/worker-news.js';
import { loadTls, type CertificatePair, type TlsSetup } from './tls/setup.js';
import { discoveryStartMessage, ServiceDiscovery } from './catalog/service-discovery.js';
import { gossipSettings } from './gossip/settings.js';
import { servicePortsOpener } from './service-ports.js';

/** The --workers primary hands its generated --auto-tls-host certificate to the workers here, so all serve the same one. */
const AUTO_TLS_ENV = '__OUTRIGGER_AUTO_TLS_PAIR';
/** A worker's scrape waits this long for the primary's sum (which waits up to 2 s per worker). */
const GROUP_METRICS_TIMEOUT_MS = 5_000;

/** The process edge: arguments in, exit codes and signals out. Nothing else touches `process`. */
async function main(): Promise<void> {
  const outcome = parseCommandLine(process.argv.slice(2), process.env);
  switch (outcome.kind) {
    case 'help':
      process.stdout.write(outcome.text);
      return;
    case 'version':
      process.stdout.write(`outrigger version ${version()}\n`);
      return;
    case 'error':
      for (const e of outcome.errors) process.stderr.write(`outrigger: ${e}\n`);
      process.stderr.write(`\n${outcome.usage}`);
      process.exitCode = 2;
      return;
    case 'config':
      break;
  }
  const config = outcome.config;
  await prepareConsole(config.json);
  const { setup, errors } = await loadTls(config, inheritedPair());
  if (errors.length > 0) {
    for (const e of errors) process.stderr.write(`outrigger: ${e}\n`);
    process.exitCode = 2;
    return;
  }
  const sitesFile = firstSitesFile(config);
  if (sitesFile !== null && sitesFile.read.errors.length > 0) {
    for (const e of sitesFile.read.errors) process.stderr.write(`outrigger: --sites-file: ${e}\n`);
    process.exitCode = 2;
    return;
  }
  if (config.workers > 1 && cluster.isPrimary) await runPrimary(config, setup, sitesFile);
  else if (cluster.isWorker) await runWorker(config, setup);
  else await runServer(config, setup, new App(config, process.stdout.isTTY === true ? process.stdout : null, setup, { kind: 'own', sitesFile }));
}

/** V8's gc(), without starting node with --expose-gc (debug only: see Metrics.beforeScrape). */
function garbageCollector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** --sites-file as read at start (a bad file stops the start; later a bad edit keeps the last good sites). */
function firstSitesFile(config: Config): FirstSitesFile | null {
  const file = config.sitesFile;
  if (file === undefined) return null;
  const seen = SitesFileSource.signature(file);
  const check = splitSitesCheck(config.split, config.sites.length);
  return { seen, read: readSitesFile(file, config.address, check), check };
}

function inheritedPair(): CertificatePair | undefined {
  const text = cluster.isWorker ? process.env[AUTO_TLS_ENV] : undefined;
  delete process.env[AUTO_TLS_ENV];
  return text === undefined ? undefined : JSON.parse(text) as CertificatePair;
}

/** The start-up lines about TLS: the generated certificate's fingerprint, what backends are checked with. */
function tlsInfo(setup: TlsSetup, info: (message: string) => void): void {
  const serving = setup.serving;
  if (serving !== null && serving.autoCertificate !== null) info(`auto-TLS certificate SHA-256 fingerprint: ${serving.fingerprint256}`);
  if (setup.backend.summary !== '') info(setup.backend.summary);
}

/** The catalog API's address as main announces it. */
function apiInfo(api: { host: string; port: number }, info: (message: string, fields: Record<string, string>) => void): void {
  const ah = api.host.includes(':') ? `[${api.host}]` : api.host;
  info(`catalog API on http://${ah}:${api.port}/api/services.json, dashboard http://${ah}:${api.port}/ui/`, { ApiAddress: `${ah}:${api.port}` });
}

/** Starts gossip and the catalog, or exits with what could not start. */
async function startDiscovery(start: () => Promise<{ host: string; port: number } | null>, config: Config): Promise<{ host: string; port: number } | null> {
  try {
    return await start();
  } catch (err) {
    process.stderr.write(`outrigger: ${discoveryStartMessage(err, config)}\n`);
    process.exit(1);
  }
}

/**
 * `--workers N`: this process runs what is done once per host (health checks, DNS, membership,
 * gossip and the service catalog) and supervises; the workers serve, following its snapshots.
 */
async function runPrimary(config: Config, setup: TlsSetup, sitesFile: FirstSitesFile | null): Promise<void> {
  const out = new Console(config, config.log);
  const pair = setup.serving?.autoPair() ?? null;
  if (pair !== null) process.env[AUTO_TLS_ENV] = JSON.stringify(pair);
  const scheme = setup.serving !== null ? 'https' : 'http';
  const discovery = new ServiceDiscovery(config, (message) => out.info(message));
  const plane = new BackendPlane(config, setup.backend, sitesFile, {
    info: (message) => out.info(message),
    dns: (message) => { if (config.log) out.info(message); },
  }, discovery.sources);
  plane.upstreams.onChange((c) => out.stateChange(c));
  traceProbes(plane, out);
  const publisher = new SnapshotPublisher(plane.upstreams, plane.dns.cache);
  plane.dns.onChange((names) => publisher.addressesChanged(names));
  const own = (): BackendReading[] => plane.upstreams.backends().map(readBackend);
  // Every process's backend counters summed, the control plane's own, and gossip's.
  // The workers' fills and removals told to the gossip cluster; the cluster's removals (and, with
  // --cache-index, fills) to the workers.
  let workers: Workers | null = null;
  const news = await openCacheNews(config, discovery, toWorkers(() => workers, config.cacheIndex > 0));
  const group = async (perWorker: unknown[][]): Promise<string> =>
    await new WorkerMetrics(() => Promise.resolve([...perWorker as BackendReading[][], own()])).text() + controlMetricsText(publisher.counters)
      + discovery.metricsText() + (news?.metricsText() ?? '');
  const api = await startDiscovery(() => discovery.start(() => backendsJson(plane.upstreams)), config);
  if (api !== null) apiInfo(api, (message, fields) => out.info(message, fields));
  // The service ports are served by the primary itself (one engine per port, like the catalog once per host).
  discovery.openServicePorts(servicePortsOpener(config, setup.backend, out));
  let leaving: Promise<void> = Promise.resolve();
  workers = supervise(config.workers, config.shutdownTimeout, {
    onListening: (address) => {
      out.info(`listening on ${scheme}://${address} (${config.workers} workers)`, { Address: address });
      tlsInfo(setup, (message) => out.info(message));
    },
    info: (message) => out.info(message),
    onStopped: () => {
      plane.stop();
      void leaving.then(() => {
        out.flush();
        process.exit(0);
      });
    },
    publisher,
    fills: (keys) => { for (const key of pairsOf(keys)) news?.tellFill(key); },
    removal: (notice) => news?.tellRemoval(notice),
    firstRound: plane.firstRound(config.healthTimeout),
    // /v1/backends: the primary's verdicts, with traffic summed over the workers.
    groupView: (what, perWorker) => what === 'metrics' ? group(perWorker)
      : what === 'members' ? Promise.resolve(discovery.membersJson() ?? '')
      : Promise.resolve(backendsJson(plane.upstreams, Date.now(), summedCounts(perWorker as BackendReading[][]))),
  });
  if (config.metricsAddress !== undefined) {
    const m = config.metricsAddress;
    serveMetrics(m, { text: async () => group(await workers.collect()) }).then(
      (server) => out.info(`metrics on http://${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}/.prometheus/metrics (summed over workers)`),
      (err: Error) => {
        process.stderr.write(`outrigger: cannot listen for metrics on ${m.host}:${m.port}: ${err.message}\n`);
        workers.stop('SIGTERM');
      },
    );
  }
  process.on('SIGHUP', () => void plane.reload());
  // Gossip leaves while the workers drain, so peers see "left" at once.
  const stop = (signal: NodeJS.Signals): void => {
    leaving = discovery.stop(config.shutdownTimeout);
    workers.stop(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * A worker of `--workers N`: asks the primary for its snapshot and listens only once it has it;
 * answers the primary's metrics requests; a scrape of its main port asks the primary for the sum.
 */
async function runWorker(config: Config, setup: TlsSetup): Promise<void> {
  const send = (m: WorkerMessage): void => { if (process.connected) process.send?.(m); };
  const follower = new SnapshotFollower(config, setup.backend, send);
  follower.onRefused = (error) => process.stderr.write(`outrigger: worker ${process.pid}: message from the primary refused: ${error}\n`);
  let nextAsk = 0;
  const asks = new Map<number, (text: string) => void>();
  // Should the primary not answer (it is stopping), the worker answers with its own figures.
  const alone = (what: GroupView): string => what === 'metrics' ? renderBackends(app?.upstreams.backends() ?? [], Date.now())
    : app === null || what === 'members' ? '' : backendsJson(app.upstreams);
  const group = (what: GroupView): Promise<string> => new Promise((resolve) => {
    const id = nextAsk++;
    const timer = setTimeout(() => { asks.delete(id); resolve(alone(what)); }, GROUP_METRICS_TIMEOUT_MS);
    asks.set(id, (text) => { clearTimeout(timer); resolve(text); });
    send({ v: PROTOCOL_VERSION, type: 'metrics-ask', id, what });
  });
  let app: App | null = null;
  process.on('message', (raw: unknown) => {
    const m = follower.receive(raw);
    if (m === null) return;
    if (m.type === 'metrics-text') {
      asks.get(m.id)?.(m.text);
      asks.delete(m.id);
    } else if (m.type === 'metrics-request') {
      send({ v: PROTOCOL_VERSION, type: 'metrics', id: m.id, readings: app?.upstreams.backends().map(readBackend) ?? [] });
    } else if (m.type === 'cache-removal') app?.cache?.removedElsewhere(m.notice);
    else if (m.type === 'cache-fills') app?.cache?.learn(pairsOf(m.keys));
  });
  follower.hello();
  await follower.ready;
  // Workers share the terminal with each other: none draws the live view.
  const announce = (notice: RemovalNotice): void => send({ v: PROTOCOL_VERSION, type: 'cache-removal', notice });
  const fills = (keys: readonly number[]): void => send({ v: PROTOCOL_VERSION, type: 'cache-fills', keys });
  app = new App(config, null, setup, { kind: 'follow', follower, group, gossip: gossipSettings(config) !== undefined, announce, fills });
  await runServer(config, setup, app);
}

async function runServer(config: Config, setup: TlsSetup, app: App): Promise<void> {
  const worker = cluster.isWorker;
  if (process.env.OUTRIGGER_DEBUG_GC_ON_SCRAPE === '1') app.metrics.beforeScrape = garbageCollector();
  let bound: { host: string; port: number };
  try {
    bound = await app.engine.listen(config.address);
  } catch (err) {
    process.stderr.write(`outrigger: cannot listen on ${config.address.host}:${config.address.port}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  await app.startCache(bound);
  const api = await startDiscovery(() => app.startDiscovery(), config);
  let metricsServer: MetricsServer | null = null;
  // A worker's --metrics-address is the primary's (summed over workers).
  if (!worker && config.metricsAddress !== undefined) {
    const m = config.metricsAddress;
    try {
      metricsServer = await serveMetrics(m, app.metrics);
    } catch (err) {
      process.stderr.write(`outrigger: cannot listen for metrics on ${m.host}:${m.port}: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }
  // The live view takes the screen only once listening, so start-up errors stay readable; every
  // way out (signals, process.exit, a crash) gives the terminal back.
  if (app.liveView !== null) {
    const view = app.liveView;
    process.once('exit', () => view.stop());
    process.on('uncaughtExceptionMonitor', () => view.stop());
    view.start();
  }
  const host = bound.host.includes(':') ? `[${bound.host}]` : bound.host;
  if (worker) process.send?.({ v: PROTOCOL_VERSION, type: 'listening', address: `${host}:${bound.port}` } satisfies WorkerMessage);
  else {
    app.console.info(`listening on ${setup.serving !== null ? 'https' : 'http'}://${host}:${bound.port}`, { Address: `${host}:${bound.port}` });
    tlsInfo(setup, (message) => app.console.info(message));
  }
  if (metricsServer !== null) {
    const mh = metricsServer.host.includes(':') ? `[${metricsServer.host}]` : metricsServer.host;
    app.console.info(`metrics on http://${mh}:${metricsServer.port}/.prometheus/metrics`, { MetricsAddress: `${mh}:${metricsServer.port}` });
  }

  if (api !== null) apiInfo(api, (message, fields) => app.console.info(message, fields));

  // A worker has nothing to re-read: the primary reloads the plane and sends the changes.
  if (worker) process.on('SIGHUP', () => {});
  else process.on('SIGHUP', () => void app.reload());
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second Ctrl-C (or an orchestrator's second SIGTERM) means "now": whoever sends it has
      // decided not to wait for the drain. Exit with the usual status of death by that signal.
      app.console.info(`${signal} during drain: exiting now`);
      app.console.flush();
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    }
    stopping = true;
    app.liveView?.stop();
    void metricsServer?.close();
    app.console.info(`${signal}: draining (up to ${config.shutdownTimeout} ms)`);
    void app.shutdown(config.shutdownTimeout).then((cut) => {
      if (cut > 0) app.console.info(`shutdown timeout: closed ${cut} connections still open`);
      app.console.flush();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
