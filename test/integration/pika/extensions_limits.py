"""RabbitMQ extensions: x-max-length, x-max-length-bytes, x-overflow (drop-head, reject-publish,
reject-publish-dlx) and priority queues (x-max-priority)."""
import pika
import pika.exceptions

import common
import extensions_common as xc
from extensions_common import props


def publish_confirmed(ch, queue, body, **kwargs):
    """Publish on a confirm channel: 'ack', or the NackError/UnroutableError it raised."""
    try:
        ch.basic_publish('', queue, body, **kwargs)
        return 'ack'
    except pika.exceptions.NackError as exc:
        return {'exc': 'NackError', 'messages': len(exc.messages)}
    except pika.exceptions.UnroutableError as exc:
        return {'exc': 'UnroutableError', 'bodies': [m.body.decode() for m in exc.messages]}


def max_length_drop_head():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    dlq = ch.queue_declare(queue=common.unique('maxlen-dlq')).method.queue
    q = ch.queue_declare(queue=common.unique('maxlen'), arguments={
        'x-max-length': 2, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq}).method.queue
    acks = [publish_confirmed(ch, q, ('m%d' % i).encode()) for i in range(1, 6)]
    out = {'queue': q, 'acks': acks, 'count': xc.count(ch, q)}
    out['kept'] = xc.bodies(xc.get_all(ch, q))
    xc.wait_for_count(ch, dlq, 3)
    dead = xc.get_all(ch, dlq)
    out['dead'] = [[m['body'], m['x_death'][0]['values']['reason'], m['x_death'][0]['values']['queue']] for m in dead]
    # explicit x-overflow drop-head, and max-length 0 (nothing is kept unless a consumer is waiting)
    q0 = ch.queue_declare(queue=common.unique('maxlen0'), arguments={
        'x-max-length': 0, 'x-overflow': 'drop-head'}).method.queue
    out['zero_ack'] = publish_confirmed(ch, q0, b'gone')
    out['zero_count'] = xc.count(ch, q0)
    got = []
    ch.basic_consume(q0, lambda c, m, p, b: got.append(b.decode()), auto_ack=True)
    ch.basic_publish('', q0, b'to-consumer')
    common.drain(conn, lambda: len(got) >= 1, timeout=2)
    out['zero_consumer'] = got
    xc.cleanup(ch, [q, q0, dlq])
    conn.close()
    return out


def max_length_bytes():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    q = ch.queue_declare(queue=common.unique('maxbytes'), arguments={'x-max-length-bytes': 10}).method.queue
    for body in (b'aaaa', b'bbbb', b'cccc', b'dddd'):
        ch.basic_publish('', q, body)
    out = {'count': xc.count(ch, q), 'kept': xc.bodies(xc.get_all(ch, q))}
    ch.basic_publish('', q, b'small')
    ch.basic_publish('', q, b'x' * 11)  # larger than the limit on its own: everything goes
    out['oversized_count'] = xc.count(ch, q)
    # both limits: whichever is hit first
    q2 = ch.queue_declare(queue=common.unique('maxboth'), arguments={
        'x-max-length': 3, 'x-max-length-bytes': 6}).method.queue
    for body in (b'1', b'2', b'3', b'4'):
        ch.basic_publish('', q2, body)
    out['both_by_length'] = xc.bodies(xc.get_all(ch, q2))
    for body in (b'aaa', b'bbb', b'cc'):
        ch.basic_publish('', q2, body)
    out['both_by_bytes'] = xc.bodies(xc.get_all(ch, q2))
    xc.cleanup(ch, [q, q2])
    conn.close()
    return out


def reject_publish():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    dlq = ch.queue_declare(queue=common.unique('rejpub-dlq')).method.queue
    q = ch.queue_declare(queue=common.unique('rejpub'), arguments={
        'x-max-length': 2, 'x-overflow': 'reject-publish',
        'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq}).method.queue
    out = {'queue': q}
    out['results'] = [publish_confirmed(ch, q, ('m%d' % i).encode()) for i in range(1, 4)]
    out['channel_open'] = ch.is_open
    out['count'] = xc.count(ch, q)
    # only ready messages count: fetching one (unacked) makes room, then the queue is full again
    m, _p, _b = ch.basic_get(q)
    out['with_unacked'] = publish_confirmed(ch, q, b'm4')
    ch.basic_ack(m.delivery_tag)
    out['full_again'] = publish_confirmed(ch, q, b'm5')
    out['kept'] = xc.bodies(xc.get_all(ch, q))
    out['dlq_count'] = xc.count(ch, dlq)  # reject-publish does not dead-letter
    # without confirms the rejected message is dropped silently
    plain = conn.channel()
    for body in (b'p1', b'p2', b'p3'):
        plain.basic_publish('', q, body)
    plain.basic_qos(prefetch_count=0)  # synchronous: the publishes were handled
    out['plain_count'] = xc.wait_for_count(ch, q, 2)
    out['plain_kept'] = xc.bodies(xc.get_all(ch, q))
    out['plain_channel_open'] = plain.is_open
    # mandatory + confirms: still a nack (the message was routed, then refused), not a basic.return
    ch.basic_publish('', q, b'f1')
    ch.basic_publish('', q, b'f2')
    out['mandatory'] = publish_confirmed(ch, q, b'f3', mandatory=True)
    xc.cleanup(ch, [q, dlq])
    conn.close()
    return out


def reject_publish_dlx():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    dlq = ch.queue_declare(queue=common.unique('rejdlx-dlq')).method.queue
    q = ch.queue_declare(queue=common.unique('rejdlx'), arguments={
        'x-max-length': 1, 'x-overflow': 'reject-publish-dlx',
        'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq}).method.queue
    out = {'queue': q, 'dlq': dlq}
    out['results'] = [publish_confirmed(ch, q, b'first'),
                      publish_confirmed(ch, q, b'second', properties=props(headers={'h': 1}))]
    out['kept'] = xc.bodies(xc.get_all(ch, q))
    xc.wait_for_count(ch, dlq, 1)
    out['dead'] = xc.get_all(ch, dlq)
    xc.cleanup(ch, [q, dlq])
    conn.close()
    return out


def priority_order():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    q = ch.queue_declare(queue=common.unique('prio'), arguments={'x-max-priority': 10}).method.queue
    sent = [('none', None), ('p1', 1), ('p5a', 5), ('p3', 3), ('p10', 10), ('p12', 12), ('p5b', 5), ('p0', 0)]
    for body, prio in sent:
        ch.basic_publish('', q, body.encode(), props(priority=prio))
    got = xc.get_all(ch, q)
    out = {'order': xc.bodies(got), 'priorities': [m['properties'].get('priority') for m in got]}
    # a queue without x-max-priority ignores priorities (FIFO)
    fifo = ch.queue_declare(queue=common.unique('noprio')).method.queue
    for body, prio in sent:
        ch.basic_publish('', fifo, body.encode(), props(priority=prio))
    out['fifo'] = xc.bodies(xc.get_all(ch, fifo))
    # requeued messages go back in priority order too
    for body, prio in (('r2', 2), ('r7', 7)):
        ch.basic_publish('', q, body.encode(), props(priority=prio))
    m7 = ch.basic_get(q)[0]
    m2 = ch.basic_get(q)[0]
    ch.basic_publish('', q, b'r4', props(priority=4))
    ch.basic_nack(m2.delivery_tag, multiple=True, requeue=True)
    out['after_requeue'] = [[m['body'], m['redelivered']] for m in xc.get_all(ch, q)]
    out['m7_tag_ok'] = m7.delivery_tag < m2.delivery_tag
    xc.cleanup(ch, [q, fifo])
    conn.close()
    return out


def priority_prefetch():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    q = ch.queue_declare(queue=common.unique('prio-qos'), arguments={'x-max-priority': 9}).method.queue
    cch = conn.channel()
    cch.basic_qos(prefetch_count=1)
    got = []
    cch.basic_consume(q, lambda c, m, p, b: got.append((m.delivery_tag, b.decode())))
    ch.basic_publish('', q, b'low-first', props(priority=1))
    common.drain(conn, lambda: len(got) >= 1)
    for body, prio in (('p2', 2), ('p8', 8), ('p5', 5), ('none', None), ('p9', 9), ('p5b', 5)):
        ch.basic_publish('', q, body.encode(), props(priority=prio))
    seen = 1
    while seen < 7:
        cch.basic_ack(got[-1][0])
        common.drain(conn, lambda: len(got) > seen, timeout=3)
        if len(got) == seen:
            break
        seen = len(got)
    cch.basic_ack(got[-1][0])
    conn.process_data_events(time_limit=0.1)
    out = {'order': [b for _t, b in got], 'count_end': xc.count(ch, q)}
    ch.queue_delete(q)
    conn.close()
    return out


if __name__ == '__main__':
    common.run([
        ('max_length_drop_head', max_length_drop_head),
        ('max_length_bytes', max_length_bytes),
        ('reject_publish', reject_publish),
        ('reject_publish_dlx', reject_publish_dlx),
        ('priority_order', priority_order),
        ('priority_prefetch', priority_prefetch),
    ])
