"""RabbitMQ extensions for consumers: consumer priorities (x-priority), single active consumer
(x-single-active-consumer), exclusive consumers, basic.cancel when the queue is deleted."""
import common
import extensions_common as xc


def consumer_priorities():
    conn = common.connect()
    pub = conn.channel()
    pub.confirm_delivery()
    q = pub.queue_declare(queue=common.unique('cprio')).method.queue
    got = {'high': [], 'low': []}
    # registered first, so without priorities it would get the first message
    low = conn.channel()
    low.basic_consume(q, lambda c, m, p, b: got['low'].append(b.decode()))
    high = conn.channel()
    high.basic_qos(prefetch_count=2)
    high.basic_consume(q, lambda c, m, p, b: got['high'].append(b.decode()), arguments={'x-priority': 10})
    for i in range(1, 6):
        pub.basic_publish('', q, ('m%d' % i).encode())
    common.drain(conn, lambda: len(got['high']) + len(got['low']) >= 5)
    out = {'blocked_high': {k: list(v) for k, v in got.items()}}
    # with credit left, the high-priority consumer takes everything
    q2 = pub.queue_declare(queue=common.unique('cprio-all')).method.queue
    got2 = {'high': [], 'low': [], 'mid': []}
    for name, prio in (('low', None), ('mid', 5), ('high', 7)):
        ch = conn.channel()
        ch.basic_consume(q2, (lambda n: lambda c, m, p, b: got2[n].append(b.decode()))(name), auto_ack=True,
                         arguments={'x-priority': prio} if prio is not None else None)
    for i in range(1, 5):
        pub.basic_publish('', q2, ('n%d' % i).encode())
    common.drain(conn, lambda: sum(len(v) for v in got2.values()) >= 4)
    xc.idle(conn, 0.1)
    out['unblocked'] = got2
    # negative priorities are below the default 0
    q3 = pub.queue_declare(queue=common.unique('cprio-neg')).method.queue
    got3 = {'neg': [], 'default': []}
    neg = conn.channel()
    neg.basic_consume(q3, lambda c, m, p, b: got3['neg'].append(b.decode()), auto_ack=True,
                      arguments={'x-priority': -5})
    dflt = conn.channel()
    dflt.basic_consume(q3, lambda c, m, p, b: got3['default'].append(b.decode()), auto_ack=True)
    for i in range(1, 4):
        pub.basic_publish('', q3, ('k%d' % i).encode())
    common.drain(conn, lambda: sum(len(v) for v in got3.values()) >= 3)
    out['negative'] = got3
    for name in (q, q2, q3):
        pub.queue_delete(name)
    conn.close()
    return out


def single_active_consumer():
    conn = common.connect()
    pub = conn.channel()
    pub.confirm_delivery()
    q = pub.queue_declare(queue=common.unique('sac'), arguments={'x-single-active-consumer': True}).method.queue
    got = {'c1': [], 'c2': []}
    ch1 = conn.channel()
    ch2 = conn.channel()
    t1 = ch1.basic_consume(q, lambda c, m, p, b: got['c1'].append(b.decode()), auto_ack=True)
    ch2.basic_consume(q, lambda c, m, p, b: got['c2'].append(b.decode()), auto_ack=True,
                      arguments={'x-priority': 10})  # priority does not beat the active consumer
    for i in range(1, 5):
        pub.basic_publish('', q, ('a%d' % i).encode())
    common.drain(conn, lambda: len(got['c1']) + len(got['c2']) >= 4)
    xc.idle(conn, 0.1)
    out = {'before_cancel': {k: list(v) for k, v in got.items()}, 'counts': xc.counts(pub, q)}
    ch1.basic_cancel(t1)
    for i in range(1, 3):
        pub.basic_publish('', q, ('b%d' % i).encode())
    common.drain(conn, lambda: len(got['c2']) >= 2)
    xc.idle(conn, 0.1)
    out['after_cancel'] = got
    # an active consumer's unacked messages go back to the queue for the next one when its channel closes
    q2 = pub.queue_declare(queue=common.unique('sac-ack'), arguments={'x-single-active-consumer': True}).method.queue
    got2 = {'c1': [], 'c2': []}
    c1 = conn.channel()
    c1.basic_consume(q2, lambda c, m, p, b: got2['c1'].append([b.decode(), m.redelivered]))
    c2 = conn.channel()
    c2.basic_consume(q2, lambda c, m, p, b: (got2['c2'].append([b.decode(), m.redelivered]),
                                             c.basic_ack(m.delivery_tag)))
    pub.basic_publish('', q2, b'held')
    common.drain(conn, lambda: len(got2['c1']) >= 1)
    c1.close()
    common.drain(conn, lambda: len(got2['c2']) >= 1)
    out['failover'] = got2
    # redeclaring with a different x-single-active-consumer value is refused
    out['redeclare'] = common.expect_error(conn.channel().queue_declare, queue=q, arguments={})
    pub.queue_delete(q)
    pub.queue_delete(q2)
    out['queue'] = q
    conn.close()
    return out


def exclusive_consumer():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    q = ch.queue_declare(queue=common.unique('excl')).method.queue
    got = []
    c1 = conn.channel()
    tag = c1.basic_consume(q, lambda c, m, p, b: got.append(b.decode()), auto_ack=True, exclusive=True)
    out = {'queue': q}
    out['second_same_connection'] = common.expect_error(conn.channel().basic_consume, q, lambda *a: None)
    other = common.connect()
    out['second_other_connection'] = common.expect_error(other.channel().basic_consume, q, lambda *a: None)
    out['second_exclusive'] = common.expect_error(conn.channel().basic_consume, q, lambda *a: None, exclusive=True)
    # basic.get is not a consumer: it is allowed (and finds nothing, the consumer takes everything)
    ch.basic_publish('', q, b'to-exclusive')
    common.drain(conn, lambda: len(got) >= 1)
    out['get_allowed'] = other.channel().basic_get(q, auto_ack=True)[0] is None
    out['got'] = got
    c1.basic_cancel(tag)
    out['after_cancel_ok'] = bool(other.channel().basic_consume(q, lambda *a: None, auto_ack=True))
    # an exclusive consume on a queue that already has a consumer is refused the same way
    q2 = ch.queue_declare(queue=common.unique('excl-busy')).method.queue
    other.channel().basic_consume(q2, lambda *a: None, auto_ack=True)
    out['queue2'] = q2
    out['exclusive_on_busy'] = common.expect_error(conn.channel().basic_consume, q2, lambda *a: None, exclusive=True)
    out['connection_open'] = conn.is_open
    other.close()
    ch.queue_delete(q)
    ch.queue_delete(q2)
    conn.close()
    return out


def cancel_on_delete():
    conn_a = common.connect()
    conn_b = common.connect()
    cancelled = []

    def on_cancel(name):
        return lambda frame: cancelled.append([name, frame.method.consumer_tag, frame.method.nowait])

    setup = conn_a.channel()
    q = setup.queue_declare(queue=common.unique('cancel-del')).method.queue
    tags = {}
    channels = {}
    for name, conn in (('a1', conn_a), ('a2', conn_a), ('b1', conn_b)):
        ch = conn.channel()
        ch.add_on_cancel_callback(on_cancel(name))
        tags[name] = ch.basic_consume(q, lambda *a: None, auto_ack=name != 'a2')
        channels[name] = ch
    # a second consumer on the same channel is cancelled too
    tags['a1b'] = channels['a1'].basic_consume(q, lambda *a: None, auto_ack=True)
    setup.confirm_delivery()
    setup.basic_publish('', q, b'unacked-at-delete')
    conn_c = common.connect()
    deleted = conn_c.channel().queue_delete(q).method.message_count
    conn_c.close()
    xc.pump([conn_a, conn_b], lambda: len(cancelled) >= 4, timeout=3)
    out = {'tags': tags, 'cancelled': sorted(cancelled), 'delete_message_count': deleted,
           'channels_open': {k: ch.is_open for k, ch in channels.items()},
           'consumer_tags_after': {k: list(ch.consumer_tags) for k, ch in channels.items()}}
    # the channels stay usable
    out['usable'] = bool(channels['b1'].queue_declare(queue='', exclusive=True).method.queue)
    conn_a.close()
    conn_b.close()
    return out


if __name__ == '__main__':
    common.run([
        ('consumer_priorities', consumer_priorities),
        ('single_active_consumer', single_active_consumer),
        ('exclusive_consumer', exclusive_consumer),
        ('cancel_on_delete', cancel_on_delete),
    ])
