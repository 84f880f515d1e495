/**
 * Preloaded into every test file's process by `npm test` (node --import). Once a process is ending
 * on its own (its loop drained: every test done and reported, every exit listener about to run),
 * it exits straight away instead of going through Node 20's environment teardown, which can spin
 * forever on a closing handle after all tests passed (nodejs/node#47748; seen here with gdb:
 * FreeEnvironment → CleanupHandles). --test-force-exit avoided that hang too, but by exiting as soon
 * as the tests were done, before the last results had been reported.
 */
process.once('beforeExit', () => {
  // Added now, so it runs after every 'exit' listener registered before it; process.exit() inside
  // an 'exit' listener ends the process with process.exitCode, skipping the teardown.
  process.once('exit', () => process.exit());
});
