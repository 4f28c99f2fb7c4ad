/**
 * Entry point of every worker thread: one publisher or one consumer, each
 * with its own AMQP connection, so the tool spreads over several cores.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { runConsumer } from './consumer.js'
import { runPublisher } from './publisher.js'
import type { WorkerConfig } from './worker-protocol.js'
import { failWorker } from './worker-connection.js'

const config = workerData as WorkerConfig
const port = parentPort
if (port === null) throw new Error('worker.js must run in a worker thread')

const run = config.role === 'publisher' ? runPublisher(config, port) : runConsumer(config, port)
run.catch((error: unknown) => failWorker(error instanceof Error ? error : new Error(String(error))))
