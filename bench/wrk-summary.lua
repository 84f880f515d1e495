-- Loaded by wrk (-s): at the end of a run, print the figures bench/load.ts needs as one
-- JSON line, so nothing has to parse wrk's human-readable output (units vary there).
done = function(summary, latency, _requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"bytes":%d,"duration_us":%d,"socket_errors":%d,"non2xx":%d,' ..
    '"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.bytes, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
