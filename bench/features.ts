// Outrigger with one ambassador feature on each (issue 12), measured beside the plain `outrigger`
// row of the same run: the difference is what the feature costs. Listed only when this build's
// --help knows the flags. wrk sends the same path without cookies, so: the hash rows hash that
// one path (a hot key; bounded loads spread it); the sticky row sets a cookie on every answer.

export interface FeatureRow {
  readonly name: string;
  /** The flag whose presence in --help enables the row. */
  readonly needs: string;
  /** Flags before the SITEs. */
  flags(mirrorPort: number): string[];
  /** Two sites (the first three backends, then the last) instead of one of four. */
  readonly twoSites?: boolean;
}

export const FEATURE_ROWS: readonly FeatureRow[] = [
  // Every request is the same key: the Maglev lookup, and one backend takes all.
  { name: 'outrigger-hash', needs: '--hash-key', flags: () => ['--host-balance', 'hash', '--hash-key', 'path'] },
  // The same hot key with bounded loads: the cap is checked per pick and the key spills over.
  { name: 'outrigger-hash-bounded', needs: '--hash-balance-factor', flags: () => ['--host-balance', 'hash', '--hash-key', 'path', '--hash-balance-factor', '1.25'] },
  { name: 'outrigger-sticky', needs: '--sticky-cookie', flags: () => ['--sticky-cookie', 'lb'] },
  { name: 'outrigger-split', needs: '--split', flags: () => ['--split', '95/5'], twoSites: true },
  // A limit no request reaches: every request takes a token, none is refused.
  { name: 'outrigger-ratelimit', needs: '--rate-limit', flags: () => ['--rate-limit', '10000000/s,burst=10000000'] },
  { name: 'outrigger-outlier', needs: '--outlier-5xx', flags: () => ['--outlier-5xx', '5', '--outlier-success-rate', '1.9'] },
  // Every request also goes to one of the backends (a bounded number in flight, answers dropped).
  { name: 'outrigger-mirror', needs: '--mirror', flags: (port) => ['--mirror', `http://127.0.0.1:${port}`] },
];
