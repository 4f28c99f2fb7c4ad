"""What survives a restart of the broker, seen from pika 1.x (BlockingConnection).

Driven by test/integration/durability/pika-restart.test.ts, in two phases:

  pika_restart.py setup AMQP_URL
      Declares durable and transient exchanges, queues and bindings, publishes persistent and transient
      messages with publisher confirms, takes some of them without acking (a consumer and basic.get), prints
      {"phase": "ready", ...} and waits for the broker to close the connection (the test sends SIGTERM to it),
      then prints {"phase": "closed", "exc": ..., "code": ..., "text": ...} and exits 0.

  pika_restart.py verify AMQP_URL
      After the restart: prints {"phase": "verified", ...} with what exists, the messages of each durable
      queue (body, properties, redelivered flag) and where the surviving bindings route new messages.

Every observation is printed as one JSON line; the assertions live in the TypeScript test.
"""
import decimal
import json
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'pika'))

import pika  # noqa: E402
import pika.exceptions  # noqa: E402

import common  # noqa: E402

DX = 'pk.durable.topic'   # durable topic exchange
FX = 'pk.durable.fanout'  # durable fanout exchange, bound to DX (exchange-to-exchange) with 'fan.#'
TX = 'pk.transient.direct'  # transient exchange
DQ = 'pk.durable.q'       # durable queue with arguments, bound to DX with 'order.*' (and to TX: transient binding)
DQ2 = 'pk.durable.q2'     # durable queue bound to FX
TQ = 'pk.transient.q'     # transient queue bound to DX with 'order.*'
DQ_ARGS = {'x-max-length': 1000, 'x-queue-mode': 'default'}

# Orders o0..o9 go to DX 'order.<i>' (DQ and TQ); transient (delivery_mode 1) for 1, 4 and 7.
TRANSIENT_ORDERS = {1, 4, 7}
# Fan messages f0..f3 go to DX 'fan.<i>' (through FX to DQ2); f3 is transient.
TRANSIENT_FANS = {3}


def props_for(name, persistent):
    """The properties each message is published with; the verify phase compares what comes back."""
    n = int(name[1:])
    return pika.BasicProperties(
        content_type='application/json',
        content_encoding='utf-8',
        headers={'name': name, 'n': n, 'text': 'héllo', 'flag': n % 2 == 0, 'ratio': decimal.Decimal('1.5'),
                 'big': 2 ** 40 + n, 'neg': -n, 'none': None, 'raw': b'\x00\x01\xff',
                 'list': [1, 'two', {'three': 3}], 'nested': {'k': 'v', 'deeper': {'x': n}}},
        delivery_mode=2 if persistent else 1,
        priority=n % 10,
        correlation_id='corr-%s' % name,
        reply_to='replies.%s' % name,
        expiration='3600000',
        message_id='msg-%s' % name,
        timestamp=1700000000 + n,
        type='restart-test',
        app_id='pika-restart',
    )


def body_for(name):
    return json.dumps({'name': name, 'pad': 'p' * (int(name[1:]) * 300)}).encode()


def emit(obj):
    print(json.dumps(obj, sort_keys=True), flush=True)


def describe_closed(exc):
    info = common.closed_info(exc)
    if not isinstance(exc, (pika.exceptions.ChannelClosed, pika.exceptions.ConnectionClosed)):
        info['message'] = str(exc)
    return info


def describe_message(method, props, body):
    """A delivery or basic.get-ok: name, redelivered flag, and whether body and properties came back intact."""
    name = props.message_id[4:] if props.message_id and props.message_id.startswith('msg-') else None
    out = {'name': name, 'redelivered': method.redelivered, 'exchange': method.exchange,
           'routing_key': method.routing_key}
    if name is None:
        out['props'] = common.props_dict(props)
        return out
    expected = props_for(name, props.delivery_mode == 2)
    mismatches = []
    for key in ('content_type', 'content_encoding', 'headers', 'delivery_mode', 'priority', 'correlation_id',
                'reply_to', 'expiration', 'message_id', 'timestamp', 'type', 'app_id', 'user_id', 'cluster_id'):
        if getattr(props, key) != getattr(expected, key):
            mismatches.append({'property': key, 'expected': common.jsonable(getattr(expected, key)),
                               'actual': common.jsonable(getattr(props, key))})
    out['mismatches'] = mismatches
    out['body_intact'] = body == body_for(name)
    out['delivery_mode'] = props.delivery_mode
    out['correlation_id'] = props.correlation_id
    out['headers_n'] = (props.headers or {}).get('n')
    return out


# ---------------------------------------------------------------------------------------------------------

def setup(url):
    conn = common.connect(url)
    ch = conn.channel()
    ch.confirm_delivery()
    ch.exchange_declare(DX, exchange_type='topic', durable=True)
    ch.exchange_declare(FX, exchange_type='fanout', durable=True)
    ch.exchange_declare(TX, exchange_type='direct', durable=False)
    ch.exchange_bind(destination=FX, source=DX, routing_key='fan.#')
    ch.queue_declare(DQ, durable=True, arguments=DQ_ARGS)
    ch.queue_declare(DQ2, durable=True)
    ch.queue_declare(TQ, durable=False)
    ch.queue_bind(DQ, DX, routing_key='order.*')
    ch.queue_bind(TQ, DX, routing_key='order.*')
    ch.queue_bind(DQ, TX, routing_key='to-dq')  # transient: its exchange is
    ch.queue_bind(DQ2, FX)

    confirmed = []
    for i in range(10):
        name = 'o%d' % i
        ch.basic_publish(DX, 'order.%d' % i, body_for(name), props_for(name, i not in TRANSIENT_ORDERS),
                         mandatory=True)
        confirmed.append(name)
    for i in range(4):
        name = 'f%d' % i
        ch.basic_publish(DX, 'fan.%d' % i, body_for(name), props_for(name, i not in TRANSIENT_FANS), mandatory=True)
        confirmed.append(name)
    counts = {q: ch.queue_declare(q, passive=True).method.message_count for q in (DQ, DQ2, TQ)}

    # A consumer with prefetch 3 on DQ gets o0 o1 o2, acks o0, then gets o3: it holds o1 o2 o3
    cons = conn.channel()
    cons.basic_qos(prefetch_count=3)
    delivered = []
    cons.basic_consume(DQ, lambda c, m, p, b: delivered.append((m, p, b)), auto_ack=False)
    common.drain(conn, lambda: len(delivered) >= 3)
    first = [d[1].message_id for d in delivered]
    cons.basic_ack(delivered[0][0].delivery_tag)
    common.drain(conn, lambda: len(delivered) >= 4)
    consumed = [d[1].message_id for d in delivered]

    # basic.get on DQ2: hold f0, reject f1 with requeue, ack f2; f3 (transient) is never delivered
    getter = conn.channel()
    gets = [getter.basic_get(DQ2, auto_ack=False) for _ in range(3)]
    got = [g[1].message_id if g[0] else None for g in gets]
    getter.basic_ack(gets[2][0].delivery_tag)
    getter.basic_reject(gets[1][0].delivery_tag, requeue=True)
    # something delivered and unacked in the transient queue as well
    tq_get = getter.basic_get(TQ, auto_ack=False)
    after = {q: getter.queue_declare(q, passive=True).method.message_count for q in (DQ, DQ2, TQ)}

    emit({'phase': 'ready', 'confirmed': confirmed, 'counts': counts, 'first_deliveries': first,
          'consumed': consumed, 'got': got, 'tq_got': tq_get[1].message_id if tq_get[0] else None,
          'counts_after': after})

    # Now the test stops the broker: wait for its connection.close
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.2)
        emit({'phase': 'timeout'})
    except (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError) as exc:
        emit(dict(describe_closed(exc), phase='closed', connection_open=conn.is_open))


def verify(url):
    conn = common.connect(url)
    out = {'phase': 'verified'}

    def passive(kind, name):
        ch = conn.channel()
        try:
            if kind == 'queue':
                res = ch.queue_declare(name, passive=True).method
                return {'exists': True, 'message_count': res.message_count, 'consumer_count': res.consumer_count}
            ch.exchange_declare(name, passive=True)
            return {'exists': True}
        except pika.exceptions.ChannelClosedByBroker as exc:
            return dict(common.closed_info(exc), exists=False)
        finally:
            if ch.is_open:
                ch.close()

    out['queues'] = {q: passive('queue', q) for q in (DQ, DQ2, TQ)}
    out['exchanges'] = {x: passive('exchange', x) for x in (DX, FX, TX)}

    # The arguments came back: the same declaration is accepted, a different one refused
    ch = conn.channel()
    ch.queue_declare(DQ, durable=True, arguments=DQ_ARGS)
    out['redeclare_same'] = 'ok'
    out['redeclare_other_args'] = common.expect_error(ch.queue_declare, DQ, durable=True,
                                                      arguments={'x-max-length': 5, 'x-queue-mode': 'default'})
    out['redeclare_transient'] = common.expect_error(conn.channel().queue_declare, DQ, durable=False,
                                                     arguments=DQ_ARGS)

    # The messages, in order, with basic.get (nothing acked until the end)
    ch = conn.channel()
    messages = {}
    for q in (DQ, DQ2):
        got = []
        while True:
            method, props, body = ch.basic_get(q, auto_ack=False)
            if method is None:
                break
            got.append(describe_message(method, props, body))
        messages[q] = got
    ch.basic_ack(delivery_tag=0, multiple=True)
    out['messages'] = messages

    # Where new messages go: the durable bindings route, the transient ones are gone
    ch = conn.channel()
    ch.confirm_delivery()
    routed = {}
    for key in ('order.new', 'fan.new', 'nothing.new'):
        try:
            ch.basic_publish(DX, key, b'new ' + key.encode(), pika.BasicProperties(delivery_mode=2), mandatory=True)
            routed[key] = 'confirmed'
        except pika.exceptions.UnroutableError as exc:
            routed[key] = 'returned %d' % len(exc.messages)
    out['routed'] = routed
    out['counts_after_routing'] = {q: ch.queue_declare(q, passive=True).method.message_count for q in (DQ, DQ2)}
    # The transient exchange (and its binding to DQ) did not survive: a confirmed publish to it closes the channel
    tch = conn.channel()
    tch.confirm_delivery()
    out['publish_to_transient_exchange'] = common.expect_error(tch.basic_publish, TX, 'to-dq', b'x')
    for q in (DQ, DQ2):
        ch.queue_purge(q)
    conn.close()
    emit(out)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ('setup', 'verify'):
        raise SystemExit('usage: pika_restart.py setup|verify AMQP_URL')
    try:
        (setup if sys.argv[1] == 'setup' else verify)(sys.argv[2])
    except Exception as exc:  # reported to the test, which shows the traceback
        emit({'phase': 'error', 'error': '%s: %s' % (type(exc).__name__, exc), 'traceback': traceback.format_exc()})
        sys.exit(1)


if __name__ == '__main__':
    main()
