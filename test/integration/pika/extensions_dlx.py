"""RabbitMQ extensions: dead-lettering (x-dead-letter-exchange / x-dead-letter-routing-key) for reject, nack,
expiry and max-length; the x-death and x-first-death-* headers; cycle detection; a missing dead-letter
exchange."""
import time

import common
import extensions_common as xc
from extensions_common import props


def reject_and_nack():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    dlx = common.unique('dlx')
    ch.exchange_declare(dlx, 'direct')
    dlq = ch.queue_declare(queue=common.unique('dlq')).method.queue
    ch.queue_bind(dlq, dlx, 'dead')
    q = ch.queue_declare(queue=common.unique('dl-src'), arguments={
        'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'dead'}).method.queue
    ch.basic_publish('', q, b'rejected', props(headers={'app': 'x', 'n': 1}, message_id='m-1',
                                               correlation_id='c-1', content_type='text/plain',
                                               delivery_mode=2, priority=3))
    ch.basic_publish('', q, b'nacked', props(expiration='60000'))
    ch.basic_publish('', q, b'multi-1')
    ch.basic_publish('', q, b'multi-2')
    ch.basic_publish('', q, b'requeued')
    m1 = ch.basic_get(q)[0]
    ch.basic_reject(m1.delivery_tag, requeue=False)
    m2 = ch.basic_get(q)[0]
    ch.basic_nack(m2.delivery_tag, requeue=False)
    ch.basic_get(q)
    m4 = ch.basic_get(q)[0]
    ch.basic_nack(m4.delivery_tag, multiple=True, requeue=False)
    m5 = ch.basic_get(q)[0]
    ch.basic_reject(m5.delivery_tag, requeue=True)  # requeue: not dead-lettered
    out = {'queue': q, 'dlx': dlx, 'dlq': dlq}
    xc.wait_for_count(ch, dlq, 4)
    out['dead'] = xc.get_all(ch, dlq)
    out['left'] = xc.bodies(xc.get_all(ch, q))
    xc.cleanup(ch, [q, dlq], [dlx])
    conn.close()
    return out


def original_routing_keys():
    """Without x-dead-letter-routing-key the message keeps its routing keys (including CC and BCC ones)."""
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    src = common.unique('dl-orig-src')
    dlx = common.unique('dl-orig-dlx')
    ch.exchange_declare(src, 'direct')
    ch.exchange_declare(dlx, 'direct')
    q = ch.queue_declare(queue=common.unique('dl-orig'), arguments={'x-dead-letter-exchange': dlx}).method.queue
    ch.queue_bind(q, src, 'orig')
    names = {}
    for key in ('orig', 'cc1', 'bcc1'):
        names[key] = ch.queue_declare(queue=common.unique('dl-orig-' + key)).method.queue
        ch.queue_bind(names[key], dlx, key)
    ch.basic_publish(src, 'orig', b'plain')
    ch.basic_publish(src, 'orig', b'with-cc', props(headers={'CC': ['cc1'], 'BCC': ['bcc1']}))
    for _ in range(2):
        m = ch.basic_get(q)[0]
        ch.basic_reject(m.delivery_tag, requeue=False)
    out = {'queue': q, 'src': src, 'dlx': dlx}
    for key, name in names.items():
        xc.wait_for_count(ch, name, 2 if key == 'orig' else 1)
        out['to_' + key] = xc.get_all(ch, name)
    # with x-dead-letter-routing-key, the CC header is removed from the dead-lettered message
    dlq = ch.queue_declare(queue=common.unique('dl-rk-dlq')).method.queue
    q2 = ch.queue_declare(queue=common.unique('dl-rk'), arguments={
        'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq}).method.queue
    ch.queue_bind(q2, src, 'other')
    ch.basic_publish(src, 'other', b'cc-with-dlrk', props(headers={'CC': ['nowhere'], 'BCC': ['hidden'], 'k': 'v'}))
    m = ch.basic_get(q2)[0]
    ch.basic_reject(m.delivery_tag, requeue=False)
    out['queue2'] = q2
    out['dlq2'] = dlq
    xc.wait_for_count(ch, dlq, 1)
    out['with_dlrk'] = xc.get_all(ch, dlq)
    xc.cleanup(ch, [q, q2, dlq] + list(names.values()), [src, dlx])
    conn.close()
    return out


def expired_and_maxlen():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    dlq = ch.queue_declare(queue=common.unique('dl-exp-dlq')).method.queue
    dl = {'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq}
    q_ttl = ch.queue_declare(queue=common.unique('dl-qttl'),
                             arguments=dict(dl, **{'x-message-ttl': 100})).method.queue
    q_msg = ch.queue_declare(queue=common.unique('dl-mttl'), arguments=dl).method.queue
    q_max = ch.queue_declare(queue=common.unique('dl-max'), arguments=dict(dl, **{'x-max-length': 1})).method.queue
    ch.basic_publish('', q_ttl, b'queue-ttl', props(headers={'keep': 'me'}))
    ch.basic_publish('', q_msg, b'message-ttl', props(expiration='100', headers={'keep': 'me'}))
    xc.wait_for_count(ch, dlq, 2)
    ch.basic_publish('', q_max, b'maxlen-first')
    ch.basic_publish('', q_max, b'maxlen-second')
    xc.wait_for_count(ch, dlq, 3)
    out = {'q_ttl': q_ttl, 'q_msg': q_msg, 'q_max': q_max, 'dlq': dlq}
    out['dead'] = sorted(xc.get_all(ch, dlq), key=lambda m: m['body'])
    out['max_left'] = xc.bodies(xc.get_all(ch, q_max))
    xc.cleanup(ch, [q_ttl, q_msg, q_max, dlq])
    conn.close()
    return out


def count_and_first_death():
    """Rejecting around a cycle is allowed (not fully automatic): x-death counts per queue and reason."""
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    q1 = common.unique('dl-ping')
    q2 = common.unique('dl-pong')
    ch.queue_declare(q1, arguments={'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q2})
    ch.queue_declare(q2, arguments={'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q1})
    ch.basic_publish('', q1, b'ball', props(headers={'z-user': 1, 'a-user': 2}))
    hops = []
    queue = q1
    for _ in range(4):
        method, p, body = ch.basic_get(queue)
        hops.append({'from': queue, 'message': xc.describe(method, p, body)})
        ch.basic_reject(method.delivery_tag, requeue=False)
        queue = q2 if queue == q1 else q1
        xc.wait_for_count(ch, queue, 1)
    method, p, body = ch.basic_get(queue, auto_ack=True)
    hops.append({'from': queue, 'message': xc.describe(method, p, body)})
    xc.cleanup(ch, [q1, q2])
    conn.close()
    return {'q1': q1, 'q2': q2, 'hops': hops}


def cycle_detection():
    """A fully automatic cycle (expiry back to the same queue) is broken: the message is dropped."""
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    out = {}
    # a queue whose dead-letter exchange routes back to itself, with a TTL; a spy sees every dead-lettering
    fan = common.unique('dl-self-fan')
    ch.exchange_declare(fan, 'fanout')
    spy = ch.queue_declare(queue=common.unique('dl-self-spy')).method.queue
    q = ch.queue_declare(queue=common.unique('dl-self'), arguments={
        'x-message-ttl': 100, 'x-dead-letter-exchange': fan}).method.queue
    ch.queue_bind(q, fan)
    ch.queue_bind(spy, fan)
    ch.basic_publish('', q, b'loop-self')
    time.sleep(0.6)
    out['self'] = {'queue': q, 'exchange': fan, 'queue_count': xc.count(ch, q), 'spy': xc.get_all(ch, spy)}
    # the default exchange routing straight back to the same queue
    q0 = common.unique('dl-self-default')
    ch.queue_declare(q0, arguments={'x-message-ttl': 100, 'x-dead-letter-exchange': '',
                                    'x-dead-letter-routing-key': q0})
    ch.basic_publish('', q0, b'loop-default')
    time.sleep(0.5)
    out['self_default'] = {'queue': q0, 'queue_count': xc.count(ch, q0)}
    # two queues expiring into each other: one hop, then dropped
    f1 = common.unique('dl-cyc-f1')
    f2 = common.unique('dl-cyc-f2')
    ch.exchange_declare(f1, 'fanout')
    ch.exchange_declare(f2, 'fanout')
    spy2 = ch.queue_declare(queue=common.unique('dl-cyc-spy')).method.queue
    a = ch.queue_declare(queue=common.unique('dl-cyc-a'), arguments={
        'x-message-ttl': 100, 'x-dead-letter-exchange': f1}).method.queue
    b = ch.queue_declare(queue=common.unique('dl-cyc-b'), arguments={
        'x-message-ttl': 100, 'x-dead-letter-exchange': f2}).method.queue
    ch.queue_bind(b, f1)
    ch.queue_bind(spy2, f1)
    ch.queue_bind(a, f2)
    ch.queue_bind(spy2, f2)
    ch.basic_publish('', a, b'loop-pair')
    time.sleep(0.8)
    out['pair'] = {'a': a, 'b': b, 'f1': f1, 'f2': f2, 'a_count': xc.count(ch, a), 'b_count': xc.count(ch, b),
                   'spy': xc.get_all(ch, spy2)}
    xc.cleanup(ch, [q, spy, q0, a, b, spy2], [fan, f1, f2])
    conn.close()
    return out


def missing_exchange():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    missing = common.unique('dl-missing-x')
    q = ch.queue_declare(queue=common.unique('dl-missing'), arguments={
        'x-dead-letter-exchange': missing, 'x-message-ttl': 100}).method.queue
    ch.basic_publish('', q, b'rejected')
    ch.basic_publish('', q, b'expires')
    m = ch.basic_get(q)[0]
    ch.basic_reject(m.delivery_tag, requeue=False)
    time.sleep(0.3)
    out = {'queue_count': xc.count(ch, q), 'channel_open': ch.is_open, 'connection_open': conn.is_open}
    out['exchange_absent'] = common.expect_error(conn.channel().exchange_declare, missing, passive=True)['code']
    ch.queue_delete(q)
    conn.close()
    return out


if __name__ == '__main__':
    common.run([
        ('reject_and_nack', reject_and_nack),
        ('original_routing_keys', original_routing_keys),
        ('expired_and_maxlen', expired_and_maxlen),
        ('count_and_first_death', count_and_first_death),
        ('cycle_detection', cycle_detection),
        ('missing_exchange', missing_exchange),
    ])
