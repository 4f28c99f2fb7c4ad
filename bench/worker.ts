/**
 * Entry point of every worker thread: one publisher, consumer, RPC server or
 * RPC client, each with its own AMQP connection, so the tool spreads over
 * several cores.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import { runConsumer } from './consumer.js'
import { runPublisher } from './publisher.js'
import { runRpcClient } from './rpc-client.js'
import { runRpcServer } from './rpc-server.js'
import type { WorkerConfig } from './worker-protocol.js'
import { failWorker } from './worker-connection.js'

const config = workerData as WorkerConfig
const port = parentPort
if (port === null) throw new Error('worker.js must run in a worker thread')

function run(port: MessagePort): Promise<void> {
  switch (config.role) {
    case 'publisher':
      return runPublisher(config, port)
    case 'consumer':
      return runConsumer(config, port)
    case 'rpc-server':
      return runRpcServer(config, port)
    case 'rpc-client':
      return runRpcClient(config, port)
  }
}

run(port).catch((error: unknown) => failWorker(error instanceof Error ? error : new Error(String(error))))
