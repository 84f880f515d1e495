import type { HostBalance } from '../config/types.js';
import type { Backend } from '../upstream/backend.js';

/**
 * Chooses one backend among the ready ones of a site. `ready` is a snapshot rebuilt only when
 * membership changes; `exclude` lists backends this request already tried (null on a first
 * attempt, so nothing is allocated per request). Returns null when every ready backend is excluded.
 */
export type Picker = (ready: readonly Backend[], exclude: readonly Backend[] | null, state: PickerState) => Backend | null;

/** Per-site mutable state a picker may keep (the round-robin cursor). */
export interface PickerState {
  cursor: number;
}

/** Fewest requests in flight; ties go to the least recently finished, then to chance. */
export const pickLeast: Picker = (ready, exclude) => {
  let best: Backend | null = null;
  let ties = 0;
  for (let i = 0; i < ready.length; i++) {
    const b = ready[i]!;
    if (exclude !== null && exclude.includes(b)) continue;
    if (best === null || b.inFlight < best.inFlight || (b.inFlight === best.inFlight && b.lastFinished < best.lastFinished)) {
      best = b;
      ties = 1;
    } else if (b.inFlight === best.inFlight && b.lastFinished === best.lastFinished) {
      // Reservoir sampling keeps each tied candidate equally likely without a list.
      ties++;
      if (Math.random() * ties < 1) best = b;
    }
  }
  return best;
};

/** Uniformly random among the candidates. */
export const pickRandom: Picker = (ready, exclude) => {
  if (exclude === null) return ready.length === 0 ? null : ready[(Math.random() * ready.length) | 0]!;
  let chosen: Backend | null = null;
  let seen = 0;
  for (let i = 0; i < ready.length; i++) {
    const b = ready[i]!;
    if (exclude.includes(b)) continue;
    seen++;
    if (Math.random() * seen < 1) chosen = b;
  }
  return chosen;
};

/** Each candidate in turn. */
export const pickRoundRobin: Picker = (ready, exclude, state) => {
  const n = ready.length;
  for (let step = 0; step < n; step++) {
    const i = state.cursor++ % n;
    if (state.cursor >= 0x3fffffff) state.cursor = 0;
    const b = ready[i]!;
    if (exclude === null || !exclude.includes(b)) return b;
  }
  return null;
};

export function pickerFor(kind: HostBalance): Picker {
  switch (kind) {
    case 'least': return pickLeast;
    case 'random': return pickRandom;
    case 'round-robin': return pickRoundRobin;
    // Consistent hashing needs the request (src/balance/chooser.ts); without it, least requests.
    case 'hash': return pickLeast;
  }
}
