// Two connected in-memory Duplex streams, for serving AMQP over broker.handle(stream) with no socket at all
// (test/integration/library.test.ts, test/unit/server/connection.test.ts).
import { Duplex } from 'node:stream'

/**
 * Two connected Duplex streams: what one side writes, the other reads. Like a TCP socket of a server that
 * does not allow half-open connections (net's default, and Warren's listener): when one side ends, the other
 * reads the end and then ends too, so both close; destroying one side ends the other.
 */
export function streamPair(): [Duplex, Duplex] {
  const sides: Duplex[] = []
  const other = (side: Duplex) => sides[sides[0] === side ? 1 : 0]!
  const make = () => {
    const side: Duplex = new Duplex({
      allowHalfOpen: false,
      read() {},
      write(chunk: Buffer, _encoding, done) {
        // A copy, as a socket's kernel buffer would be: the writer may reuse its buffer once written
        other(side).push(Buffer.from(chunk))
        done()
      },
      final(done) {
        other(side).push(null)
        done()
      },
      destroy(err, done) {
        const peer = other(side)
        if (!peer.readableEnded) peer.push(null)
        done(err)
      },
    })
    return side
  }
  sides.push(make(), make())
  return [sides[0]!, sides[1]!]
}
