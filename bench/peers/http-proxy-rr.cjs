'use strict'
// Node peer for bench/: npm `http-proxy` with round robin over the backends, a keep-alive
// upstream agent and a light active health check (GET HEALTH_PATH every 5 s, like the
// other targets), so it is the "what a typical Node proxy does" anchor.
// Env: LISTEN=127.0.0.1:PORT  BACKENDS="127.0.0.1:19001 127.0.0.1:19002 ..."  HEALTH_PATH=/health
const http = require('node:http')
const httpProxy = require('http-proxy')

const listen = process.env.LISTEN || '127.0.0.1:19105'
const host = listen.slice(0, listen.lastIndexOf(':'))
const port = Number(listen.slice(listen.lastIndexOf(':') + 1))
const origins = (process.env.BACKENDS || '').split(/[\s,]+/).filter(Boolean).map((b) => 'http://' + b)
const healthPath = process.env.HEALTH_PATH || '/health'
if (origins.length === 0) throw new Error('BACKENDS is empty')

// Unlimited sockets per backend, as many idle ones kept as a busy run needs.
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 })
const proxy = httpProxy.createProxyServer({ agent, xfwd: true })

const up = new Map(origins.map((o) => [o, true]))
function probe (origin) {
  const req = http.get(origin + healthPath, { agent: false, timeout: 2000 }, (res) => {
    res.resume()
    up.set(origin, res.statusCode === 200)
  })
  req.on('timeout', () => req.destroy(new Error('timeout')))
  req.on('error', () => up.set(origin, false))
}
setInterval(() => origins.forEach(probe), 5000).unref()

let next = 0
function pick () {
  for (let i = 0; i < origins.length; i++) {
    const o = origins[next]
    next = (next + 1) % origins.length
    if (up.get(o)) return o
  }
  return null
}

proxy.on('error', (err, _req, res) => {
  if (res && typeof res.writeHead === 'function' && !res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
  if (res && typeof res.end === 'function') res.end('bad gateway: ' + err.code + '\n')
})

const server = http.createServer((req, res) => {
  const target = pick()
  if (!target) {
    res.writeHead(503, { 'content-type': 'text/plain' })
    res.end('no backend online\n')
    return
  }
  proxy.web(req, res, { target })
})
// Idle client connections stay open for the 1,000-connection memory test.
server.keepAliveTimeout = 120000
server.listen(port, host, () => console.log(`http-proxy-rr listening on ${host}:${port} -> ${origins.join(' ')}`))
process.on('SIGTERM', () => process.exit(0))
