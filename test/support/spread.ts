import { LAN_DEFAULTS } from '../../src/gossip/protocol/config.js';

/**
 * How long news (a catalog change, a member's new state) may take to reach every gossip member.
 * Each member sends a piece of news a limited number of times (memberlist's retransmit limit), to
 * members picked at random, so now and then a member gets none of the copies; it then learns the
 * news at its next push/pull, at most one interval later. Seen in the catalog suite under load, about
 * one run in twenty: one node of five without a change for 15 s; a start that converged after 29.97 s.
 */
export const SPREAD_MS = LAN_DEFAULTS.pushPullInterval + 15_000;
