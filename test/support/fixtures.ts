import { Cleanup } from './cleanup.js';
import { TestBackend, type Handler } from './backends.js';
import { startOutrigger, type Outrigger } from './outrigger.js';
import { RawBackend, RawClient, type RawHandler } from './wire.js';

/** Processes, servers and sockets a test file starts, each stopped when the file's tests are done. */
export class Fixtures extends Cleanup {
  /** Same shape as an array's push, for the ad hoc cleanups a test adds itself. */
  readonly push = (task: () => Promise<unknown>): void => this.add(task);

  readonly outrigger = async (args: string[]): Promise<Outrigger> => {
    const o = await startOutrigger(args);
    this.track(o);
    return o;
  };

  readonly backendOf = async (name: string, handler?: Handler): Promise<TestBackend> => {
    const b = await new TestBackend(name, handler).listen();
    this.track(b);
    return b;
  };

  readonly rawBackendOf = async (name: string, handler: RawHandler): Promise<RawBackend> => {
    const b = await new RawBackend(name, handler).listen();
    this.track(b);
    return b;
  };

  readonly rawClient = async (port: number): Promise<RawClient> => {
    const c = await RawClient.connect(port);
    this.add(async () => c.destroy());
    return c;
  };
}
