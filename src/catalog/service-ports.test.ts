import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planServicePorts, tcpTargets } from './service-ports.js';
import { Status, type Service, type StatusCode } from './types.js';

const instance = (id: string, name: string, created: string, status: StatusCode, ports: [number, number][], mode: Service['ProxyMode'] = 'http'): Service => ({
  ID: id, Name: name, Image: '', Created: created, Hostname: 'h', Updated: created, ProxyMode: mode, Status: status,
  Version: { epoch: 1, seq: 1 }, Ports: ports.map(([port, servicePort]) => ({ Type: 'tcp', Port: port, ServicePort: servicePort, IP: '10.0.0.1' })),
});

describe('service ports', () => {
  it('one port per ServicePort of every service with an instance that is not a tombstone; the oldest service keeps a contested port', () => {
    const { plans, conflicts } = planServicePorts({
      web: [instance('w1', 'web', '2026-01-02T00:00:00Z', Status.UNHEALTHY, [[31000, 8080]]), instance('w2', 'web', '2026-01-03T00:00:00Z', Status.ALIVE, [[31001, 8080], [31002, 9090]])],
      db: [instance('d1', 'db', '2026-01-01T00:00:00Z', Status.ALIVE, [[32000, 5432]], 'tcp')],
      gone: [instance('g1', 'gone', '2026-01-01T00:00:00Z', Status.TOMBSTONE, [[33000, 7000]])],
      late: [instance('l1', 'late', '2026-02-01T00:00:00Z', Status.ALIVE, [[34000, 8080]])],
    });
    assert.deepEqual(plans, [{ port: 5432, name: 'db', mode: 'tcp' }, { port: 8080, name: 'web', mode: 'http' }, { port: 9090, name: 'web', mode: 'http' }]);
    assert.deepEqual(conflicts, ['service port 8080: late wants it too; web keeps it (its instances are older)']);
  });

  it('TCP targets are the ALIVE instances publishing that ServicePort, in a stable order', () => {
    const list = [instance('b', 'db', 'x', Status.ALIVE, [[32001, 5432]]), instance('a', 'db', 'x', Status.ALIVE, [[32000, 5432]]),
      instance('c', 'db', 'x', Status.DRAINING, [[32002, 5432]]), instance('d', 'db', 'x', Status.ALIVE, [[32003, 6000]])];
    assert.deepEqual(tcpTargets(list, 5432), [{ host: '10.0.0.1', port: 32000 }, { host: '10.0.0.1', port: 32001 }]);
  });
});
