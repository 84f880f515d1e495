/**
 * The ambassador features as pipeline filters: thin adapters from the proxy's phases to the
 * decision modules (src/limit, src/outlier, src/mirror, src/balance), each built only when its
 * feature is configured, so a feature that is off is not in the filter chain at all.
 */
import type { BodyTap, ProxyFilter, RequestView } from '../proxy/pipeline.js';
import type { RateLimiter } from '../limit/rate-limiter.js';
import type { OutlierDetector } from '../outlier/detector.js';
import type { Mirror } from '../mirror/mirror.js';
import type { BodyCopy } from '../mirror/body-copy.js';
import type { StickyCookie } from '../balance/sticky.js';

/** Phase 2: over its limit, a client is answered 429 before anything is forwarded. */
export function rateLimitFilter(limiter: RateLimiter): ProxyFilter {
  return { name: 'rate-limit', request: (req) => limiter.check(req) };
}

/**
 * Phase 5: pins the client to the backend that answered, unless its cookie already names that
 * backend (a failover re-pins it to the new one).
 */
export function stickyFilter(sticky: StickyCookie): ProxyFilter {
  return {
    name: 'sticky-cookie',
    responseFields: (req, backend) => (req.cookie(sticky.name) === sticky.valueFor(backend) ? null : ['Set-Cookie', sticky.setCookie(backend)]),
  };
}

/**
 * Phase 7: every attempt counts for its backend: the status it answered, or no answer at all (0)
 * when it failed on the backend's side (earlier attempts retried elsewhere included). A client
 * leaving says nothing.
 */
export function outlierFilter(detector: OutlierDetector): ProxyFilter {
  return {
    name: 'outlier-detection',
    done: (_req, outcome) => {
      const failed = outcome.failedOn;
      if (failed !== null) for (let i = 0; i < failed.length; i++) detector.record(failed[i]!, 0);
      const b = outcome.backend;
      if (b === null) return;
      const err = outcome.error;
      if (err === null) detector.record(b, outcome.status);
      else if (err.side === 'upstream') detector.record(b, 0);
    },
  };
}

/**
 * Phases 2 and 7: a sampled request's body is copied as it passes (within the mirror's bound), and
 * once the request is over, if it reached a backend and its body was read whole, the copy goes
 * to the mirror site. Requests answered here (health, metrics, 429) are not mirrored.
 */
export function mirrorFilter(mirror: Mirror): ProxyFilter {
  const copies = new WeakMap<RequestView, BodyCopy>();
  return {
    name: 'mirror',
    requestBody: (req) => {
      const copy = mirror.begin();
      if (copy === null) return null;
      copies.set(req, copy);
      return copyTap(copy, () => {
        copies.delete(req);
        mirror.abandon();
      });
    },
    done: (req, outcome) => {
      const copy = req.hasBody ? copies.get(req) : (outcome.backend === null ? null : mirror.begin());
      if (copy === undefined || copy === null || outcome.backend === null) return;
      copies.delete(req);
      mirror.send({ method: req.method, path: req.target, headers: req.fields() }, copy);
    },
  };
}

function copyTap(copy: BodyCopy, aborted: () => void): BodyTap {
  return {
    data: (buf, start, end) => {
      copy.add(buf, start, end);
      return true;
    },
    end: () => {},
    abort: aborted,
  };
}
