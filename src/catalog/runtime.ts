/**
 * The service catalog of a running Outrigger: the records (Catalog), this node's services and their
 * checks (--service, the static file, watched, Docker's containers), the URL listeners, the lifespans' timers, the API
 * and dashboard, and the `sidecar://` backend source. Gossip carries it through its delegate and
 * member events (App.startGossip); without gossip it serves this node's own services alone.
 */
import fs from 'node:fs';
import type { Config } from '../config/types.js';
import { defaultAdvertiseHost, gossipOn, gossipSettings } from '../gossip/settings.js';
import { FileWatch, fileError, fileSignature } from '../watch/file-watch.js';
import { serveCatalogApi, type CatalogApi } from './api.js';
import { Catalog } from './catalog.js';
import { UrlListeners } from './listeners.js';
import { LocalServices } from './local.js';
import { parseServiceFlag, parseStaticConfig, type LocalSpec } from './local-config.js';
import { CatalogSource } from './source.js';
import { DockerDiscovery } from './docker.js';
import { LIFESPANS, type CatalogChange } from './state.js';
import { STATUS_NAMES } from './types.js';

type CatalogConfig = Pick<Config, 'nodeName' | 'clusterName' | 'services' | 'staticConfigFile' | 'listenerUrls' | 'serviceCheckInterval'
  | 'healthTimeout' | 'healthRise' | 'healthFall' | 'apiAddress' | 'sites' | 'log' | 'gossipBind' | 'gossipAdvertise' | 'join'
  | 'gossipKeys' | 'gossipProfile' | 'dockerSocket'>;

const EXPIRE_EVERY_MS = 5_000;

/** The catalog runs with gossip (to learn the cluster's services), with local services, or for a sidecar:// SITE. */
export function catalogWanted(c: Partial<CatalogConfig> & Pick<CatalogConfig, 'sites'>): boolean {
  return gossipOn(c) || (c.services?.length ?? 0) > 0 || c.staticConfigFile !== undefined || c.dockerSocket !== undefined
    || c.sites.some((s) => s.catalog !== undefined);
}

/** Where this node's static services are reached by the others: the gossip advertise address, else loopback. */
function serviceIp(c: CatalogConfig): string {
  if (c.gossipAdvertise !== undefined && c.gossipAdvertise.host !== '') return c.gossipAdvertise.host;
  return gossipSettings(c) === undefined ? '127.0.0.1' : defaultAdvertiseHost(c.gossipBind?.host ?? '');
}

export class CatalogRuntime {
  readonly catalog: Catalog;
  readonly source: CatalogSource;
  private readonly config: CatalogConfig;
  private readonly info: (message: string) => void;
  private readonly local: LocalServices;
  private readonly listeners: UrlListeners;
  private readonly flagSpecs: LocalSpec[];
  private fileSpecs: LocalSpec[] = [];
  private dockerSpecs: LocalSpec[] = [];
  private docker: DockerDiscovery | null = null;
  private watch: FileWatch | null = null;
  private api: CatalogApi | null = null;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(config: CatalogConfig, info: (message: string) => void) {
    this.config = config;
    this.info = info;
    this.catalog = new Catalog(config.nodeName, { clusterName: config.clusterName ?? 'default' });
    this.source = new CatalogSource(this.catalog, config.sites);
    this.local = new LocalServices(this.catalog, {
      intervalMs: config.serviceCheckInterval, timeoutMs: config.healthTimeout, rise: config.healthRise, fall: config.healthFall,
    });
    this.listeners = new UrlListeners(this.catalog, config.listenerUrls, undefined, info);
    this.flagSpecs = config.services.flatMap((s) => {
      const parsed = parseServiceFlag(`${s.name}=${s.url}`, config.nodeName);
      return parsed.ok ? parsed.specs : [];
    });
    if (config.log) this.catalog.subscribe((c) => this.logChange(c));
  }

  /** Announce and check the local services, start listeners and timers, serve the API; throws when the API cannot listen. */
  async start(side: { members: () => string | null; backends: () => string }): Promise<{ host: string; port: number } | null> {
    const file = this.config.staticConfigFile;
    if (file !== undefined) {
      const seen = fileSignature([file]);
      this.readStaticFile(file);
      this.watch = new FileWatch([file], seen, () => this.readStaticFile(file)).start();
    }
    this.announce();
    this.local.start();
    if (this.config.dockerSocket !== undefined) {
      this.docker = new DockerDiscovery(this.config.dockerSocket, serviceIp(this.config), this.config.serviceCheckInterval, (specs) => {
        this.dockerSpecs = specs;
        this.announce();
      }, this.info);
      this.docker.start();
    }
    this.listeners.start();
    this.timers.push(setInterval(() => this.catalog.reannounce(), LIFESPANS.REANNOUNCE_MS).unref());
    this.timers.push(setInterval(() => this.catalog.expire(), EXPIRE_EVERY_MS).unref());
    if (this.config.apiAddress === undefined) return null;
    this.api = await serveCatalogApi(this.catalog, this.config.apiAddress, { drain: (id) => this.local.drain(id), ...side });
    return { host: this.api.host, port: this.api.port };
  }

  async stop(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    this.watch?.close();
    this.docker?.stop();
    this.local.stop();
    this.listeners.stop();
    this.source.stop();
    await this.api?.close();
  }

  /** A bad edit keeps the services in use and says why. */
  private readStaticFile(file: string): void {
    let text: string;
    try { text = fs.readFileSync(file, 'utf8'); } catch (err) {
      this.info(`static config ${file}: cannot read it (${fileError(err)}); keeping the services in use`);
      return;
    }
    const parsed = parseStaticConfig(text, this.config.nodeName, serviceIp(this.config));
    if (!parsed.ok) {
      this.info(`static config ${file}: ${parsed.errors.join('; ')}; keeping the services in use`);
      return;
    }
    const first = this.watch === null;
    this.fileSpecs = parsed.specs;
    if (!first) {
      this.announce();
      this.info(`static config ${file}: ${parsed.specs.length} services`);
    }
  }

  /** Every local service now known: the flags', the static file's and Docker's, and the listeners they ask for. */
  private announce(): void {
    const specs = [...this.flagSpecs, ...this.fileSpecs, ...this.dockerSpecs];
    this.listeners.follow(specs.flatMap((s) => s.listener === undefined ? [] : [s.listener]));
    this.local.set(specs);
  }

  private logChange(c: CatalogChange): void {
    const s = c.service;
    const before = c.previousStatus === null ? 'new' : STATUS_NAMES[c.previousStatus];
    if (c.previousStatus === s.Status) return;
    this.info(`catalog: ${s.Name} ${s.ID} on ${s.Hostname}: ${before} -> ${STATUS_NAMES[s.Status]}`);
  }
}
