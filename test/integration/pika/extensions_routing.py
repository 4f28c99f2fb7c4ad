"""RabbitMQ extensions: alternate exchanges, exchange-to-exchange bindings (a chain of three), CC/BCC sender
selected distribution, direct reply-to (amq.rabbitmq.reply-to)."""
import pika
import pika.exceptions

import common
import extensions_common as xc
from extensions_common import props


def publish_confirmed(ch, exchange, rk, body, **kwargs):
    try:
        ch.basic_publish(exchange, rk, body, **kwargs)
        return 'ack'
    except pika.exceptions.UnroutableError as exc:
        return {'exc': 'UnroutableError',
                'returned': [[m.method.reply_code, m.method.reply_text, m.body.decode()] for m in exc.messages]}
    except pika.exceptions.NackError as exc:
        return {'exc': 'NackError', 'messages': len(exc.messages)}


def alternate_exchange():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    ae = common.unique('ae')
    main = common.unique('ae-main')
    ch.exchange_declare(ae, 'fanout')
    ch.exchange_declare(main, 'direct', arguments={'alternate-exchange': ae})
    q_main = ch.queue_declare(queue=common.unique('ae-routed')).method.queue
    q_alt = ch.queue_declare(queue=common.unique('ae-unrouted')).method.queue
    ch.queue_bind(q_main, main, 'known')
    ch.queue_bind(q_alt, ae)
    out = {'main': main, 'ae': ae}
    out['routed'] = publish_confirmed(ch, main, 'known', b'to-main')
    out['unrouted'] = publish_confirmed(ch, main, 'unknown', b'to-ae', properties=props(headers={'h': 'v'}))
    out['mandatory'] = publish_confirmed(ch, main, 'unknown-2', b'mandatory-to-ae', mandatory=True)
    out['main_got'] = xc.get_all(ch, q_main)
    out['alt_got'] = xc.get_all(ch, q_alt)
    # an alternate exchange that does not exist: unroutable (returned when mandatory), no error
    broken = common.unique('ae-broken')
    ch.exchange_declare(broken, 'direct', arguments={'alternate-exchange': common.unique('ae-missing')})
    out['missing_ae_mandatory'] = publish_confirmed(ch, broken, 'x', b'lost', mandatory=True)
    out['missing_ae_plain'] = publish_confirmed(ch, broken, 'x', b'lost-quietly')
    # a chain: the alternate exchange's own alternate exchange is used too
    ae2 = common.unique('ae-second')
    ae1 = common.unique('ae-first')
    chained = common.unique('ae-chained')
    ch.exchange_declare(ae2, 'fanout')
    ch.exchange_declare(ae1, 'direct', arguments={'alternate-exchange': ae2})
    ch.exchange_declare(chained, 'topic', arguments={'alternate-exchange': ae1})
    q_chain = ch.queue_declare(queue=common.unique('ae-chain-q')).method.queue
    ch.queue_bind(q_chain, ae2)
    out['chained'] = publish_confirmed(ch, chained, 'a.b', b'through-two-aes', mandatory=True)
    out['chain_got'] = xc.get_all(ch, q_chain)
    out['chained_name'] = chained
    out['channel_open'] = ch.is_open
    xc.cleanup(ch, [q_main, q_alt, q_chain], [main, ae, broken, chained, ae1, ae2])
    conn.close()
    return out


def exchange_chain():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    e1 = common.unique('e2e-topic')
    e2 = common.unique('e2e-direct')
    e3 = common.unique('e2e-fanout')
    ch.exchange_declare(e1, 'topic')
    ch.exchange_declare(e2, 'direct')
    ch.exchange_declare(e3, 'fanout')
    ch.exchange_bind(destination=e2, source=e1, routing_key='a.*')
    ch.exchange_bind(destination=e3, source=e2, routing_key='a.b')
    q_end = ch.queue_declare(queue=common.unique('e2e-end')).method.queue
    q_dup = ch.queue_declare(queue=common.unique('e2e-dup')).method.queue
    ch.queue_bind(q_end, e3)
    ch.queue_bind(q_dup, e3)
    ch.queue_bind(q_dup, e1, '#')  # reachable twice: delivered once
    out = {'e1': e1, 'e3': e3}
    for rk in ('a.b', 'a.c', 'x'):
        ch.basic_publish(e1, rk, rk.encode())
    out['end'] = xc.get_all(ch, q_end)
    out['dup'] = [[m['body'], m['exchange'], m['routing_key']] for m in xc.get_all(ch, q_dup)]
    # a cycle between exchanges does not loop or duplicate
    ch.exchange_bind(destination=e1, source=e3)
    ch.basic_publish(e1, 'a.b', b'with-cycle')
    ch.basic_publish(e3, 'anything', b'into-the-cycle')
    out['cycle_end'] = [[m['body'], m['exchange'], m['routing_key']] for m in xc.get_all(ch, q_end)]
    out['cycle_dup'] = [[m['body'], m['exchange'], m['routing_key']] for m in xc.get_all(ch, q_dup)]
    ch.exchange_unbind(destination=e1, source=e3)
    # unbinding the middle link cuts the path
    ch.exchange_unbind(destination=e3, source=e2, routing_key='a.b')
    out['unbound'] = publish_confirmed(ch, e1, 'a.b', b'cut', mandatory=True)
    out['end_after_unbind'] = xc.bodies(xc.get_all(ch, q_end))
    out['dup_after_unbind'] = xc.bodies(xc.get_all(ch, q_dup))
    xc.cleanup(ch, [q_end, q_dup], [e1, e2, e3])
    conn.close()
    return out


def cc_bcc():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    x = common.unique('ccbcc')
    ch.exchange_declare(x, 'direct')
    qs = {}
    for key in ('r1', 'r2', 'r3', 'r4'):
        qs[key] = ch.queue_declare(queue=common.unique('ccbcc-' + key)).method.queue
        ch.queue_bind(qs[key], x, key)
    ch.basic_publish(x, 'r1', b'cc-bcc', props(headers={'CC': ['r2'], 'BCC': ['r3'], 'other': 'kept'}))
    ch.basic_publish(x, 'r1', b'cc-self', props(headers={'CC': ['r1', 'r1']}))  # one copy per queue
    ch.basic_publish(x, 'nomatch', b'cc-only', props(headers={'CC': ['r4']}))
    out = {'exchange': x, 'queues': qs}
    for key, q in qs.items():
        out[key] = [[m['body'], m['routing_key'], m['properties'].get('headers')] for m in xc.get_all(ch, q)]
    # on the default exchange, CC names queues
    out['default'] = publish_confirmed(ch, '', qs['r1'], b'default-cc', properties=props(headers={'BCC': [qs['r2']]}))
    out['default_r1'] = xc.bodies(xc.get_all(ch, qs['r1']))
    out['default_r2'] = [[m['body'], m['routing_key'], m['properties'].get('headers')]
                         for m in xc.get_all(ch, qs['r2'])]
    # a mandatory message routed only through BCC is not returned
    out['bcc_only_mandatory'] = publish_confirmed(ch, x, 'nomatch', b'bcc-only', mandatory=True,
                                                  properties=props(headers={'BCC': ['r3']}))
    out['r3_after'] = xc.bodies(xc.get_all(ch, qs['r3']))
    # CC must be an array of strings
    bad = conn.channel()
    out['cc_not_array'] = xc.publish_error(conn, bad, x, 'r1', b'bad', props(headers={'CC': 'r2'}))
    xc.cleanup(ch, list(qs.values()), [x])
    conn.close()
    return out


REPLY_TO = 'amq.rabbitmq.reply-to'


def passive_declare(conn, name):
    """[queue, message_count, consumer_count] of a passive declare on a fresh channel, or the error."""
    ch = conn.channel()
    try:
        m = ch.queue_declare(queue=name, passive=True).method
    except pika.exceptions.AMQPChannelError as exc:
        return common.closed_info(exc)
    ch.close()
    return [m.queue, m.message_count, m.consumer_count]


def direct_reply_to():
    server_conn = common.connect()
    sch = server_conn.channel()
    rpc_queue = sch.queue_declare(queue=common.unique('drt-rpc')).method.queue
    seen_reply_to = []

    def serve(c, method, p, body):
        seen_reply_to.append(p.reply_to)
        c.basic_publish('', p.reply_to, body.upper(), props(correlation_id=p.correlation_id))
        c.basic_ack(method.delivery_tag)

    sch.basic_consume(rpc_queue, serve)
    client_conn = common.connect()
    cch = client_conn.channel()
    out = {'passive_pseudo_queue': passive_declare(client_conn, REPLY_TO)}
    replies = []
    tag = cch.basic_consume(REPLY_TO, lambda c, mm, p, b: replies.append(
        {'body': b.decode(), 'exchange': mm.exchange, 'routing_key': mm.routing_key, 'consumer_tag': mm.consumer_tag,
         'redelivered': mm.redelivered, 'delivery_tag': mm.delivery_tag, 'correlation_id': p.correlation_id}),
        auto_ack=True)
    out['consumer_tag'] = tag
    for i in range(3):
        cch.basic_publish('', rpc_queue, ('request-%d' % i).encode(),
                          props(reply_to=REPLY_TO, correlation_id='c-%d' % i))
    xc.pump([client_conn, server_conn], lambda: len(replies) >= 3)
    out['replies'] = replies
    out['seen_reply_to'] = seen_reply_to
    # the rewritten name can be passively declared while its consumer lives
    if seen_reply_to:
        out['passive_rewritten'] = passive_declare(server_conn, seen_reply_to[0])
    out['client_open'] = cch.is_open
    sch.queue_delete(rpc_queue)
    client_conn.close()
    # after the requester is gone, replies to its address are dropped silently
    if seen_reply_to:
        sch2 = server_conn.channel()
        sch2.confirm_delivery()
        out['reply_after_gone'] = publish_confirmed(sch2, '', seen_reply_to[0], b'late', mandatory=True)
        out['server_open'] = sch2.is_open
    server_conn.close()
    return out


def direct_reply_to_errors():
    conn = common.connect()
    out = {}
    ch = conn.channel()
    out['consume_without_auto_ack'] = common.expect_error(ch.basic_consume, REPLY_TO, lambda *a: None)
    ch = conn.channel()
    out['publish_without_consumer'] = xc.publish_error(
        conn, ch, '', common.unique('drt-any'), b'req', props(reply_to=REPLY_TO))
    # a consumer on another channel of the same connection does not count: it is per channel
    c1 = conn.channel()
    c1.basic_consume(REPLY_TO, lambda *a: None, auto_ack=True)
    c2 = conn.channel()
    out['other_channel_consumer'] = xc.publish_error(
        conn, c2, '', common.unique('drt-any'), b'req', props(reply_to=REPLY_TO))
    out['connection_open'] = conn.is_open
    conn.close()
    return out


if __name__ == '__main__':
    common.run([
        ('alternate_exchange', alternate_exchange),
        ('exchange_chain', exchange_chain),
        ('cc_bcc', cc_bcc),
        ('direct_reply_to', direct_reply_to),
        ('direct_reply_to_errors', direct_reply_to_errors),
    ])
