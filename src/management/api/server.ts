// The management HTTP API (RabbitMQ's rabbitmq_management paths, bodies, status codes and errors) on
// node:http, without a framework. Every request is authenticated with HTTP basic auth against the broker's
// users and needs a management tag (auth.ts); each route then checks what its RabbitMQ counterpart checks.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Broker } from '../../broker/broker.js'
import { Access, authenticate } from './auth.js'
import { httpErrorOf, type ApiContext, type ApiHandler, type ManagedConnection } from './context.js'
import * as channels from './channels.js'
import * as entities from './entities.js'
import { HttpError, Router, parseJsonBody, pathSegments, readBody, send, sendError } from './http.js'
import { applyListQuery } from './list-query.js'
import { historyScope, SAMPLE_INTERVAL_MS, withHistory, type HistoryScope } from './rates.js'
import type { Json } from './format.js'
import { getMessages, peekMessages, publish } from './messages.js'
import * as health from './health.js'
import * as node from './node.js'
import * as parameters from './parameters.js'
import * as policies from './policies.js'
import * as tenancy from './tenancy.js'
import { isUiRequest, serveUi, withoutBrowserPrompt } from '../ui.js'

export interface ManagementServerOptions {
  port: number
  host?: string
  /** The AMQP listener's port as bound (port 0 picks one), for /api/overview's listeners */
  amqpPort?: number
}

export interface ManagementServer {
  port: number
  close(): Promise<void>
}

type Route = [method: string, pattern: string, handler: ApiHandler]

const ROUTES: Route[] = [
  ['GET', '/api/overview', node.overview],
  ['GET', '/api/whoami', tenancy.whoami],
  ['GET', '/api/health/checks/alarms', health.alarmsCheck],
  ['GET', '/api/aliveness-test/:vhost', node.alivenessTest],
  ['GET', '/api/definitions', node.exportDefinitions],
  ['POST', '/api/definitions', node.importDefinitions],
  ['GET', '/api/definitions/:vhost', node.exportVhostDefinitions],
  ['POST', '/api/definitions/:vhost', node.importVhostDefinitions],
  ['GET', '/api/health/checks/local-alarms', health.localAlarmsCheck],
  ['GET', '/api/health/checks/virtual-hosts', health.virtualHostsCheck],
  ['GET', '/api/health/checks/port-listener/:port', health.portListenerCheck],
  ['GET', '/api/nodes', health.listNodes],
  ['GET', '/api/nodes/:name', health.getNode],
  ['GET', '/api/vhost-limits', health.listVhostLimits],
  ['GET', '/api/vhost-limits/:vhost', health.listVhostLimits],
  ['PUT', '/api/vhost-limits/:vhost/:name', health.putVhostLimit],
  ['DELETE', '/api/vhost-limits/:vhost/:name', health.deleteVhostLimit],
  ['GET', '/api/user-limits', health.listUserLimits],
  ['GET', '/api/user-limits/:user', health.listUserLimits],
  ['PUT', '/api/user-limits/:user/:name', health.putUserLimit],
  ['DELETE', '/api/user-limits/:user/:name', health.deleteUserLimit],

  ['GET', '/api/policies', policies.policies.list],
  ['GET', '/api/policies/:vhost', policies.policies.list],
  ['GET', '/api/policies/:vhost/:name', policies.policies.get],
  ['PUT', '/api/policies/:vhost/:name', policies.policies.put],
  ['DELETE', '/api/policies/:vhost/:name', policies.policies.remove],
  ['GET', '/api/operator-policies', policies.operatorPolicies.list],
  ['GET', '/api/operator-policies/:vhost', policies.operatorPolicies.list],
  ['GET', '/api/operator-policies/:vhost/:name', policies.operatorPolicies.get],
  ['PUT', '/api/operator-policies/:vhost/:name', policies.operatorPolicies.put],
  ['DELETE', '/api/operator-policies/:vhost/:name', policies.operatorPolicies.remove],

  ['GET', '/api/parameters', parameters.listParameters],
  ['GET', '/api/parameters/:component', parameters.listParameters],
  ['GET', '/api/parameters/:component/:vhost', parameters.listParameters],
  ['GET', '/api/parameters/:component/:vhost/:name', parameters.getParameter],
  ['PUT', '/api/parameters/:component/:vhost/:name', parameters.putParameter],
  ['DELETE', '/api/parameters/:component/:vhost/:name', parameters.deleteParameter],
  ['GET', '/api/global-parameters', parameters.listGlobalParameters],
  ['GET', '/api/global-parameters/:name', parameters.getGlobalParameter],
  ['PUT', '/api/global-parameters/:name', parameters.putGlobalParameter],
  ['DELETE', '/api/global-parameters/:name', parameters.deleteGlobalParameter],
  ['GET', '/api/cluster-name', parameters.getClusterName],
  ['PUT', '/api/cluster-name', parameters.putClusterName],
  ['GET', '/api/extensions', parameters.listExtensions],

  ['GET', '/api/vhosts', tenancy.listVhosts],
  ['GET', '/api/vhosts/:vhost', tenancy.getVhost],
  ['PUT', '/api/vhosts/:vhost', tenancy.putVhost],
  ['DELETE', '/api/vhosts/:vhost', tenancy.deleteVhost],
  ['GET', '/api/vhosts/:vhost/permissions', tenancy.listPermissions],
  ['GET', '/api/vhosts/:vhost/topic-permissions', tenancy.listTopicPermissions],
  ['GET', '/api/vhosts/:vhost/connections', node.listConnections],

  ['GET', '/api/users', tenancy.listUsers],
  ['GET', '/api/users/:user', tenancy.getUser],
  ['PUT', '/api/users/:user', tenancy.putUser],
  ['DELETE', '/api/users/:user', tenancy.deleteUser],
  ['GET', '/api/users/:user/permissions', tenancy.listPermissions],
  ['GET', '/api/users/:user/topic-permissions', tenancy.listTopicPermissions],

  ['GET', '/api/permissions', tenancy.listPermissions],
  ['GET', '/api/permissions/:vhost/:user', tenancy.getPermission],
  ['PUT', '/api/permissions/:vhost/:user', tenancy.putPermission],
  ['DELETE', '/api/permissions/:vhost/:user', tenancy.deletePermission],
  ['GET', '/api/topic-permissions', tenancy.listTopicPermissions],
  ['GET', '/api/topic-permissions/:vhost/:user', tenancy.listTopicPermissions],
  ['PUT', '/api/topic-permissions/:vhost/:user', tenancy.putTopicPermission],
  ['DELETE', '/api/topic-permissions/:vhost/:user', tenancy.deleteTopicPermission],

  ['GET', '/api/exchanges', entities.listExchanges],
  ['GET', '/api/exchanges/:vhost', entities.listExchanges],
  ['GET', '/api/exchanges/:vhost/:name', entities.getExchange],
  ['PUT', '/api/exchanges/:vhost/:name', entities.putExchange],
  ['DELETE', '/api/exchanges/:vhost/:name', entities.deleteExchange],
  ['GET', '/api/exchanges/:vhost/:name/bindings/source', entities.exchangeBindings('source')],
  ['GET', '/api/exchanges/:vhost/:name/bindings/destination', entities.exchangeBindings('destination')],
  ['POST', '/api/exchanges/:vhost/:name/publish', publish],

  ['GET', '/api/queues', entities.listQueues],
  ['GET', '/api/queues/:vhost', entities.listQueues],
  ['GET', '/api/queues/:vhost/:name', entities.getQueue],
  ['PUT', '/api/queues/:vhost/:name', entities.putQueue],
  ['DELETE', '/api/queues/:vhost/:name', entities.deleteQueue],
  ['GET', '/api/queues/:vhost/:name/bindings', entities.queueBindings],
  ['DELETE', '/api/queues/:vhost/:name/contents', entities.purgeQueue],
  ['POST', '/api/queues/:vhost/:name/get', getMessages],
  ['GET', '/api/queues/:vhost/:name/messages', peekMessages],

  ['GET', '/api/bindings', entities.listBindings],
  ['GET', '/api/bindings/:vhost', entities.listBindings],
  ['GET', '/api/bindings/:vhost/e/:source/q/:destination', entities.listBindingsBetween('q')],
  ['POST', '/api/bindings/:vhost/e/:source/q/:destination', entities.postBinding('q')],
  ['GET', '/api/bindings/:vhost/e/:source/q/:destination/:props', entities.getBinding('q')],
  ['DELETE', '/api/bindings/:vhost/e/:source/q/:destination/:props', entities.deleteBinding('q')],
  ['GET', '/api/bindings/:vhost/e/:source/e/:destination', entities.listBindingsBetween('e')],
  ['POST', '/api/bindings/:vhost/e/:source/e/:destination', entities.postBinding('e')],
  ['GET', '/api/bindings/:vhost/e/:source/e/:destination/:props', entities.getBinding('e')],
  ['DELETE', '/api/bindings/:vhost/e/:source/e/:destination/:props', entities.deleteBinding('e')],

  ['GET', '/api/connections', node.listConnections],
  ['GET', '/api/connections/:name', node.getConnection],
  ['DELETE', '/api/connections/:name', node.deleteConnection],
  ['GET', '/api/connections/:connection/channels', channels.listChannels],
  ['GET', '/api/vhosts/:vhost/channels', channels.listChannels],
  ['GET', '/api/channels', channels.listChannels],
  ['GET', '/api/channels/:name', channels.getChannel],
  ['GET', '/api/consumers', channels.listConsumers],
  ['GET', '/api/consumers/:vhost', channels.listConsumers],
]

/**
 * Starts the management API next to a broker. `connections` gives the open AMQP connections (server/
 * start.ts's `connections`); the API does not start or own the broker.
 */
export async function startManagementServer(
  broker: Broker,
  connections: () => Iterable<ManagedConnection>,
  options: ManagementServerOptions,
): Promise<ManagementServer> {
  const router = new Router()
  const host = options.host ?? '::'
  let port = options.port
  const amqpPort = options.amqpPort ?? broker.config.port ?? 0
  const ctx: ApiContext = { broker, connections, listener: () => ({ host, port }), amqpPort }
  for (const [method, pattern, handler] of ROUTES) {
    router.add(method, pattern, (req) => handler(ctx, req.access, req))
  }
  const server = createServer((req, res) => void handle(ctx, router, req, res))
  // The overview's and vhosts' history, so a fresh page has the last minutes at once (rates.ts)
  const sampler = setInterval(() => node.sampleHistory(ctx), SAMPLE_INTERVAL_MS).unref()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  broker.log.info({ port }, 'management API listening')
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(sampler)
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/**
 * The history a GET asks for (`?msg_rates_age=&msg_rates_incr=`...), on the paths RabbitMQ answers it on.
 * One queue or exchange, the overview and vhosts start keeping samples; the lists of queues and exchanges
 * answer from the samples already kept (10,000 queues would otherwise each start a ring).
 */
function historyOf(method: string, segments: string[], query: URLSearchParams): HistoryScope | undefined {
  if (method !== 'GET' || segments[0] !== 'api') return undefined
  const kind = segments[1]
  if (kind === 'overview' || kind === 'vhosts') return historyScope(query, true)
  if (kind !== 'queues' && kind !== 'exchanges') return undefined
  const history = historyScope(query, segments.length === 4)
  // One object's page: the broker's timer samples it from now on (node.ts)
  if (history.record && (history.msgRates || history.lengths)) node.watchHistory(kind, segments[2]!, segments[3]!)
  return history
}

async function handle(ctx: ApiContext, router: Router, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://localhost')
    // The raw path: %2F inside a segment must stay inside it
    const rawPath = (req.url ?? '/').split('?')[0]!
    const segments = pathSegments(rawPath)
    if (!segments) throw new HttpError(400, 'bad_request', 'malformed path')
    const method = req.method ?? 'GET'
    // The web UI's files need no credentials, as RabbitMQ's; its API calls do (../ui.ts)
    if (isUiRequest(method, rawPath)) return await serveUi(res, rawPath, method === 'HEAD')
    // Authentication before routing, as RabbitMQ answers 401 to any path without credentials
    const user = authenticate(
      ctx.broker.users,
      req.headers.authorization,
      req.socket.remoteAddress ?? '',
      ctx.broker.config.loopbackUsers,
    )
    const { handler, params } = router.match(method, segments)
    const body = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readBody(req)
    const access = new Access(user, ctx.broker.permissions)
    const reply = await withHistory(historyOf(method, segments, url.searchParams), () =>
      handler({
        method,
        params,
        query: url.searchParams,
        headers: req.headers,
        access,
        json: () => parseJsonBody(body),
      }),
    )
    // Every list answers the same query parameters (filter, sort, columns, pages): applied here, once
    if (reply.status === 200 && Array.isArray(reply.body)) {
      reply.body = applyListQuery(reply.body as Json[], url.searchParams)
    }
    send(res, reply, method === 'HEAD')
  } catch (err) {
    const error = httpErrorOf(err)
    if (!(err instanceof HttpError)) ctx.broker.log.debug({ err }, 'management API request refused')
    sendError(res, withoutBrowserPrompt(req.headers['x-requested-with'], error))
  }
}
