import type { Config } from '../config/types.js';
import type { UpstreamSet } from '../upstream/upstream-set.js';
import { Console } from './console.js';
import { goDuration, humanBytes } from './format.js';
import { downtimeOf, type BackendReading } from './metrics.js';

/** What the live view needs of a terminal; process.stdout on a TTY is one. */
export interface Terminal {
  readonly columns: number | undefined;
  readonly rows: number | undefined;
  write(text: string): unknown;
  on(event: 'resize', listener: () => void): unknown;
  off(event: 'resize', listener: () => void): unknown;
  hasColors?(): boolean;
}

export interface LiveViewOptions {
  /** First words of the title line, e.g. "Outrigger 0.1.0". */
  readonly title: string;
  readonly color: boolean;
  /** Redraw period; twice a second like sidekick. */
  readonly refreshMs?: number;
}

const ESC = '\x1b[';
const ALT_SCREEN_ON = `${ESC}?1049h`;
const ALT_SCREEN_OFF = `${ESC}?1049l`;
const CURSOR_HIDE = `${ESC}?25l`;
const CURSOR_SHOW = `${ESC}?25h`;
const HOME = `${ESC}H`;
const CLEAR_LINE_END = `${ESC}K`;
const CLEAR_SCREEN_END = `${ESC}J`;
const CLEAR_SCREEN = `${ESC}2J`;
const RESET = `${ESC}0m`;
const GREEN = `${ESC}32m`;
const RED = `${ESC}1;31m`;
const YELLOW = `${ESC}33m`;
const BOLD = `${ESC}1m`;
const DIM = `${ESC}2m`;

/** One screen line: plain text plus, optionally, one coloured span (by column offsets). */
interface Line {
  readonly text: string;
  readonly span?: { readonly from: number; readonly to: number; readonly color: string };
}

/** Lines above the table: title, last message, column header. */
const HEAD_LINES = 3;

/**
 * Sidekick's live table, redrawn in place twice a second on the alternate screen: cursor home,
 * every line overwritten and cleared to its end, then the rest of the screen cleared. Nothing is
 * erased before it is redrawn, so there is no flicker.
 *
 * When the backends do not fit the terminal height, the rows shown are chosen so that every
 * backend out of rotation is visible first (down, or not yet checked), then backends in rotation
 * fill the remaining rows; the chosen rows keep configuration order (site, then position in the
 * site) and a last line sums up the hidden ones: `… 312 more backends: 300 up, 12 down`.
 */
export class LiveView {
  private readonly upstreams: UpstreamSet;
  private readonly term: Terminal;
  private readonly options: LiveViewOptions;
  private timer: NodeJS.Timeout | null = null;
  private message = '';
  private running = false;

  constructor(upstreams: UpstreamSet, term: Terminal, options: LiveViewOptions) {
    this.upstreams = upstreams;
    this.term = term;
    this.options = options;
  }

  get active(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.term.write(ALT_SCREEN_ON + CURSOR_HIDE + CLEAR_SCREEN);
    this.term.on('resize', this.onResize);
    this.timer = setInterval(() => this.draw(), this.options.refreshMs ?? 500);
    this.timer.unref();
    this.draw();
  }

  /** Leave the alternate screen and show the cursor again; safe to call more than once, and from an 'exit' handler. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.term.off('resize', this.onResize);
    this.term.write(RESET + CURSOR_SHOW + ALT_SCREEN_OFF);
  }

  /** An operational message (listening, reload, ...), shown on the second line until the next one. */
  note(message: string): void {
    const now = new Date();
    this.message = `${clock(now)} ${message}`;
    if (this.running) this.draw();
  }

  /** The lines of one frame for a terminal of `width` x `height`. */
  frame(width: number, height: number, now = Date.now()): RenderedLine[] {
    return renderFrame(this.upstreams.backends(), { width, height, now, title: this.options.title, message: this.message, color: this.options.color });
  }

  private readonly onResize = (): void => {
    if (!this.running) return;
    this.term.write(CLEAR_SCREEN);
    this.draw();
  };

  private draw(): void {
    const width = Math.max(1, this.term.columns ?? 80);
    const height = Math.max(1, this.term.rows ?? 24);
    const lines = this.frame(width, height);
    let out = HOME;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      out += line.text;
      // A line filling the whole width leaves the cursor in the pending-wrap state, where an
      // erase would also take its last character: only shorter lines need clearing.
      if (line.width < width) out += CLEAR_LINE_END;
      if (i < lines.length - 1) out += '\r\n';
    }
    // The table may have shrunk: clear below it (never scrolling: there is a row left).
    if (lines.length < height) out += `\r\n${CLEAR_SCREEN_END}`;
    this.term.write(out);
  }
}

export interface FrameOptions {
  readonly width: number;
  readonly height: number;
  readonly now: number;
  readonly title: string;
  readonly message: string;
  readonly color: boolean;
}

/** A rendered line: its text with colour codes, and its visible width. */
export interface RenderedLine {
  readonly text: string;
  readonly width: number;
}

const COLUMNS = ['SITE', 'BACKEND', 'STATUS', 'CALLS', 'FAILURES', 'RX', 'TX', 'DOWNTIME', 'LAST DOWN', 'LATENCY MIN/AVG/MAX', 'REASON'] as const;
/** Columns aligned right (numbers). */
const RIGHT = new Set([0, 3, 4, 5, 6, 7, 8]);
const BACKEND_COLUMN = 1;
const MIN_BACKEND_WIDTH = 12;
/** Below this, columns are dropped to make room for the backend's URL. */
const WANTED_BACKEND_WIDTH = 32;
const DROP_ORDER = [9, 10, 8, 6, 5, 7, 4];
/** Why a backend is down: last, cut at the screen's edge rather than taking room from the URL. */
const REASON_COLUMN = 10;
const REASON_LAYOUT_WIDTH = 30;

type Status = 'up' | 'down' | 'pending';

function statusOf(b: BackendReading): Status {
  if (b.online) return 'up';
  return b.probed ? 'down' : 'pending';
}

/** Every line of one frame, at most `height` lines, none wider than `width`. */
export function renderFrame(backends: readonly BackendReading[], o: FrameOptions): RenderedLine[] {
  const counts = { up: 0, down: 0, pending: 0 };
  for (const b of backends) counts[statusOf(b)]++;
  const sites = new Set(backends.map((b) => b.siteIndex)).size;
  const title = `${o.title} · ${plural(sites, 'site')} · ${plural(backends.length, 'backend')}: ${tally(counts)}`;
  const clockText = clock(new Date(o.now));
  const gap = o.width - title.length - clockText.length;
  const lines: Line[] = [{ text: gap >= 2 ? title + ' '.repeat(gap) + clockText : title, span: { from: 0, to: o.title.length, color: BOLD } }];
  lines.push({ text: o.message, span: { from: 0, to: o.message.length, color: DIM } });

  const { shown, hidden } = chooseRows(backends, Math.max(0, o.height - HEAD_LINES));
  const cells = shown.map((b) => rowCells(b, o.now));
  const { visible, widths } = layout(cells, o.width);
  const statusFrom = widths[0]! + 2 + widths[BACKEND_COLUMN]! + 2;
  lines.push({ text: formatRow([...COLUMNS], visible, widths), span: { from: 0, to: o.width, color: BOLD } });
  shown.forEach((b, i) => {
    const status = statusOf(b);
    const color = status === 'up' ? GREEN : status === 'down' ? RED : YELLOW;
    lines.push({ text: formatRow(cells[i]!, visible, widths), span: { from: statusFrom, to: statusFrom + status.length, color } });
  });
  if (hidden.length > 0) {
    const c = { up: 0, down: 0, pending: 0 };
    for (const b of hidden) c[statusOf(b)]++;
    lines.push({ text: `… ${plural(hidden.length, 'more backend')}: ${tally(c)}` });
  }
  return lines.slice(0, o.height).map((l) => paint(l, o.width, o.color));
}

/**
 * Which backends get a row when `rows` lines are free: all of them if they fit; otherwise
 * backends out of rotation first, then the others, in configuration order, keeping one line for
 * the summary of the rest.
 */
export function chooseRows<B extends BackendReading>(backends: readonly B[], rows: number): { shown: B[]; hidden: B[] } {
  if (backends.length <= rows) return { shown: [...backends], hidden: [] };
  const room = Math.max(0, rows - 1);
  const picked = new Set<B>();
  for (const b of backends) if (picked.size < room && !b.online) picked.add(b);
  for (const b of backends) if (picked.size < room && b.online) picked.add(b);
  return { shown: backends.filter((b) => picked.has(b)), hidden: backends.filter((b) => !picked.has(b)) };
}

function rowCells(b: BackendReading, now: number): string[] {
  const s = b.stats;
  const { totalMs, lastMs } = downtimeOf(b, now);
  const latency = s.latencyCount === 0
    ? '-'
    : `${goDuration(s.latencyMinMs)}/${goDuration(s.latencySumMs / s.latencyCount)}/${goDuration(s.latencyMaxMs)}`;
  return [
    String(b.siteIndex + 1), b.url, statusOf(b), String(s.requests), String(s.errors), humanBytes(s.rxBytes), humanBytes(s.txBytes),
    totalMs > 0 ? seconds(totalMs) : '-', lastMs > 0 ? seconds(lastMs) : '-', latency,
    statusOf(b) === 'down' ? oneLine(b.lastError) : '',
  ];
}

/**
 * Column widths for a terminal `width` wide. The backend column takes what the others leave; when
 * that is too little to read a URL, the least useful columns go first (latency, last downtime,
 * tx, rx, total downtime, failures), and if it is still short the URL is shortened in the middle.
 */
function layout(cells: readonly string[][], width: number): { visible: number[]; widths: number[] } {
  const widths = COLUMNS.map((h, c) => Math.max(h.length, ...cells.map((r) => r[c]!.length)));
  const reasonWidth = widths[REASON_COLUMN]!;
  widths[REASON_COLUMN] = Math.min(reasonWidth, REASON_LAYOUT_WIDTH);
  const natural = widths[BACKEND_COLUMN]!;
  const wanted = Math.min(natural, WANTED_BACKEND_WIDTH);
  const visible = COLUMNS.map((_, c) => c);
  const room = (): number => width - visible.reduce((n, c) => (c === BACKEND_COLUMN ? n : n + widths[c]! + 2), 0);
  for (const c of DROP_ORDER) {
    if (room() >= wanted) break;
    visible.splice(visible.indexOf(c), 1);
  }
  widths[BACKEND_COLUMN] = Math.max(Math.min(natural, room()), Math.min(natural, MIN_BACKEND_WIDTH));
  widths[REASON_COLUMN] = reasonWidth;
  return { visible, widths };
}

function formatRow(cells: readonly string[], visible: readonly number[], widths: readonly number[]): string {
  return visible.map((c, k) => {
    const w = widths[c]!;
    const cell = cells[c]!;
    const text = cell.length > w ? ellipsize(cell, w) : cell;
    return RIGHT.has(c) ? text.padStart(w) : k === visible.length - 1 ? text : text.padEnd(w);
  }).join('  ');
}

/** Shorten in the middle, where URLs of one fleet tend to differ least (scheme and port stay). */
function ellipsize(text: string, width: number): string {
  if (width <= 1) return text.slice(0, width);
  const tail = Math.floor((width - 1) / 2);
  return text.slice(0, width - 1 - tail) + '…' + text.slice(text.length - tail);
}

/** Cut to the width, then colour the span if any of it is still visible. */
function paint(line: Line, width: number, color: boolean): RenderedLine {
  const text = line.text.length > width ? line.text.slice(0, width) : line.text;
  const span = line.span;
  if (!color || span === undefined || span.from >= text.length || span.to <= span.from) return { text, width: text.length };
  const to = Math.min(span.to, text.length);
  return { text: text.slice(0, span.from) + span.color + text.slice(span.from, to) + RESET + text.slice(to), width: text.length };
}

/** Durations in the table: whole seconds and up are rounded to a tenth, shorter ones as Go prints them. */
function seconds(ms: number): string {
  return goDuration(ms >= 1000 ? Math.round(ms / 100) * 100 : Math.round(ms));
}

/** Error texts can span lines (OpenSSL's do); a table cell cannot. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function tally(c: { up: number; down: number; pending: number }): string {
  return `${c.up} up, ${c.down} down${c.pending > 0 ? `, ${c.pending} pending` : ''}`;
}

function clock(d: Date): string {
  return d.toTimeString().slice(0, 8);
}

/**
 * The console while the live view owns the screen: operational messages go to the view's message
 * line instead of scrolling the table away; once the view has stopped they print as usual.
 */
export class LiveConsole extends Console {
  private readonly view: LiveView;

  constructor(options: Config, view: LiveView) {
    // The view replaces state-change lines, so those stay off (--log turns the view off).
    super(options, false);
    this.view = view;
  }

  override info(message: string, fields: Record<string, unknown> = {}): void {
    if (this.view.active) this.view.note(message);
    else super.info(message, fields);
  }
}
