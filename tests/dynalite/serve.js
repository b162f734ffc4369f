// Runs dynalite for tests/dynalite_server.py: in memory, on 127.0.0.1 at a port the kernel
// chooses (dynalite's own command line cannot ask for port 0), with tables ACTIVE as soon as
// they are created. Prints "LISTENING <url>" once it listens, and exits when its standard
// input closes, so that a test that dies without stopping it leaves nothing running.
'use strict'

const dynalite = require('dynalite')

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING http://127.0.0.1:${server.address().port}\n`)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
