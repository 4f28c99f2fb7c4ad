"""RabbitMQ extensions: per-message TTL (expiration), per-queue TTL (x-message-ttl), TTL 0, expiry while a
consumer waits, requeue of expired messages, queue expiry (x-expires)."""
import time

import common
import extensions_common as xc
from extensions_common import props


def per_message_ttl():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    q = ch.queue_declare(queue=common.unique('ttl-msg')).method.queue
    ch.basic_publish('', q, b'a-expires', props(expiration='100'))
    ch.basic_publish('', q, b'b-stays')
    ch.basic_publish('', q, b'c-expires', props(expiration='100'))
    ch.basic_publish('', q, b'd-long', props(expiration='60000'))
    out = {'queue': q, 'count_before': xc.count(ch, q)}
    time.sleep(0.4)
    # only the expired message at the head is removed by the TTL timer; c (behind b) is still counted
    out['count_after'] = xc.count(ch, q)
    out['got'] = xc.get_all(ch, q)
    out['count_end'] = xc.count(ch, q)
    # a consumer attached after the expiry never sees the message
    ch.basic_publish('', q, b'e-expires', props(expiration='100'))
    time.sleep(0.3)
    seen = []
    ch.basic_consume(q, lambda c, m, p, b: seen.append(b.decode()), auto_ack=True)
    xc.idle(conn, 0.3)
    out['consumer_saw'] = seen
    ch.queue_delete(q)
    conn.close()
    return out


def per_queue_ttl():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    q = ch.queue_declare(queue=common.unique('ttl-queue'), arguments={'x-message-ttl': 150}).method.queue
    ch.basic_publish('', q, b'one')
    ch.basic_publish('', q, b'two')
    ch.basic_publish('', q, b'three', props(expiration='60000'))  # the lower of the two TTLs applies
    out = {'count_before': xc.count(ch, q)}
    time.sleep(0.4)
    out['count_after'] = xc.count(ch, q)
    out['get_after'] = ch.basic_get(q, auto_ack=True)[0] is None
    # message TTL lower than the queue TTL
    q2 = ch.queue_declare(queue=common.unique('ttl-queue-long'), arguments={'x-message-ttl': 60000}).method.queue
    ch.basic_publish('', q2, b'short', props(expiration='100'))
    ch.basic_publish('', q2, b'queue-ttl')
    time.sleep(0.3)
    out['lower_message_ttl'] = xc.get_all(ch, q2)
    # a message fetched before its TTL passes is delivered without an expiration property
    ch.basic_publish('', q, b'fresh')
    out['fresh'] = xc.get_all(ch, q)
    xc.cleanup(ch, [q, q2])
    conn.close()
    return out


def ttl_zero():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    dlq = ch.queue_declare(queue=common.unique('ttl0-dlq')).method.queue
    q = ch.queue_declare(queue=common.unique('ttl0'), arguments={
        'x-message-ttl': 0, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq}).method.queue
    out = {'queue': q}
    # no consumer: dropped (dead-lettered) at once
    ch.basic_publish('', q, b'nobody-waiting')
    out['count_no_consumer'] = xc.count(ch, q)
    # a waiting consumer gets it; while its prefetch window is full, the next one is dropped
    cch = conn.channel()
    cch.basic_qos(prefetch_count=1)
    got = []
    cch.basic_consume(q, lambda c, m, p, b: got.append((m.delivery_tag, b.decode(), common.props_dict(p))))
    ch.basic_publish('', q, b'delivered')
    common.drain(conn, lambda: len(got) >= 1)
    ch.basic_publish('', q, b'consumer-busy')
    xc.idle(conn, 0.2)
    cch.basic_ack(got[0][0])
    xc.idle(conn, 0.2)
    out['consumer_got'] = [[b, p] for _t, b, p in got]
    out['count_end'] = xc.count(ch, q)
    out['dead_lettered'] = [[m['body'], m['x_death'][0]['values']['reason']] for m in xc.get_all(ch, dlq)]
    # per-message expiration '0' on an ordinary queue
    q2 = ch.queue_declare(queue=common.unique('exp0')).method.queue
    ch.basic_publish('', q2, b'dropped', props(expiration='0'))
    out['expiration0_no_consumer'] = xc.count(ch, q2)
    got2 = []
    ch.basic_consume(q2, lambda c, m, p, b: got2.append([b.decode(), common.props_dict(p)]), auto_ack=True)
    ch.basic_publish('', q2, b'to-consumer', props(expiration='0'))
    common.drain(conn, lambda: len(got2) >= 1, timeout=2)
    out['expiration0_consumer'] = got2
    xc.cleanup(ch, [q, q2, dlq])
    conn.close()
    return out


def expiry_while_consumer_waits():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    dlq = ch.queue_declare(queue=common.unique('wait-dlq')).method.queue
    q = ch.queue_declare(queue=common.unique('wait'), arguments={
        'x-message-ttl': 200, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq}).method.queue
    cch = conn.channel()
    cch.basic_qos(prefetch_count=1)
    got = []
    cch.basic_consume(q, lambda c, m, p, b: got.append((m.delivery_tag, b.decode())))
    ch.basic_publish('', q, b'm1')
    ch.basic_publish('', q, b'm2')
    common.drain(conn, lambda: len(got) >= 1)
    xc.idle(conn, 0.5)  # m2 waits behind the full prefetch window and expires
    out = {'held': [b for _t, b in got], 'count_while_held': xc.count(ch, q),
           'dlq_count_while_held': xc.wait_for_count(ch, dlq, 1)}
    cch.basic_ack(got[0][0])
    xc.idle(conn, 0.3)
    out['after_ack'] = [b for _t, b in got]
    dead = xc.get_all(ch, dlq)
    out['dead'] = dead
    out['queue'] = q
    out['dlq'] = dlq
    xc.cleanup(ch, [q, dlq])
    conn.close()
    return out


def requeue_expired():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    dlq = ch.queue_declare(queue=common.unique('reqexp-dlq')).method.queue
    q = ch.queue_declare(queue=common.unique('reqexp'), arguments={
        'x-message-ttl': 200, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq}).method.queue
    out = {'queue': q, 'dlq': dlq}
    # basic.get, hold past the TTL, reject with requeue: not redelivered, dead-lettered as expired
    ch.basic_publish('', q, b'late-get')
    method, _p, _b = ch.basic_get(q)
    time.sleep(0.35)
    ch.basic_reject(method.delivery_tag, requeue=True)
    out['count_after_reject'] = xc.count(ch, q)
    out['get_after_reject'] = ch.basic_get(q, auto_ack=True)[0] is None
    xc.wait_for_count(ch, dlq, 1)
    out['dead_get'] = xc.get_all(ch, dlq)
    # a consumer holds a message with a per-message expiration past its TTL and nacks with requeue
    q2 = ch.queue_declare(queue=common.unique('reqexp-msg'), arguments={
        'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq}).method.queue
    out['queue2'] = q2
    cch = conn.channel()
    got = []
    cch.basic_consume(q2, lambda c, m, p, b: got.append((m.delivery_tag, b.decode(), m.redelivered)))
    ch.basic_publish('', q2, b'late-consumer', props(expiration='200'))
    common.drain(conn, lambda: len(got) >= 1)
    xc.idle(conn, 0.35)
    cch.basic_nack(got[0][0], requeue=True)
    xc.idle(conn, 0.3)
    out['consumer_got'] = [[b, r] for _t, b, r in got]
    out['count2_after_nack'] = xc.count(ch, q2)
    xc.wait_for_count(ch, dlq, 1)
    out['dead_consumer'] = xc.get_all(ch, dlq)
    # recover(requeue=True) of an expired unacked message: also dead-lettered, not redelivered
    ch.basic_publish('', q, b'late-recover')
    m3, _p, _b = ch.basic_get(q)
    time.sleep(0.35)
    ch.basic_recover(requeue=True)
    out['get_after_recover'] = ch.basic_get(q, auto_ack=True)[0] is None
    xc.wait_for_count(ch, dlq, 1)
    out['dead_recover'] = xc.bodies(xc.get_all(ch, dlq))
    xc.cleanup(ch, [q, q2, dlq])
    conn.close()
    return out


def queue_expires():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    q = ch.queue_declare(queue=common.unique('expires'), arguments={'x-expires': 300}).method.queue
    ch.basic_publish('', q, b'messages do not keep a queue alive')
    out = {'queue': q, 'exists_at_once': xc.counts(ch, q)}
    time.sleep(0.7)
    out['after_unused'] = common.expect_error(ch.queue_declare, queue=q, passive=True)
    ch = conn.channel()
    # a consumer keeps it alive; after the consumer is cancelled it expires
    q2 = ch.queue_declare(queue=common.unique('expires-used'), arguments={'x-expires': 300}).method.queue
    out['queue2'] = q2
    tag = ch.basic_consume(q2, lambda *a: None, auto_ack=True)
    xc.idle(conn, 0.7)
    out['with_consumer'] = xc.counts(ch, q2)
    ch.basic_cancel(tag)
    time.sleep(0.7)
    out['after_cancel'] = common.expect_error(ch.queue_declare, queue=q2, passive=True)
    out['connection_open'] = conn.is_open
    conn.close()
    return out


if __name__ == '__main__':
    common.run([
        ('per_message_ttl', per_message_ttl),
        ('per_queue_ttl', per_queue_ttl),
        ('ttl_zero', ttl_zero),
        ('expiry_while_consumer_waits', expiry_while_consumer_waits),
        ('requeue_expired', requeue_expired),
        ('queue_expires', queue_expires),
    ])
