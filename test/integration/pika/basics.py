"""Basic class and queue operations: get, reject/nack/recover, cancel, purge/delete counts, tx, large and
unicode messages, property round trips."""
import datetime
import decimal
import hashlib
import random

import pika
import pika.exceptions

import common


def basic_get_and_properties():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()  # publishes are enqueued before the next synchronous call
    queue = ch.queue_declare(queue=common.unique('get')).method.queue
    headers = {
        'str': 'value', 'int': 42, 'negative': -7, 'big': 2 ** 40, 'bool_t': True, 'bool_f': False,
        'decimal': decimal.Decimal('3.14'), 'bytes': b'\x00\x01raw',
        'nested': {'a': 1, 'b': ['x', 2, True]}, 'list': [1, 'two', {'three': 3}], 'none': None,
        'when': datetime.datetime(2024, 1, 2, 3, 4, 5),
    }
    props = pika.BasicProperties(content_type='application/json', content_encoding='utf-8', headers=headers,
                                 delivery_mode=2, priority=5, correlation_id='corr-1', reply_to='replies',
                                 expiration='60000', message_id='msg-1', timestamp=1700000000, type='kind',
                                 app_id='warren-tests')
    ch.basic_publish('', queue, b'{"n": 1}', properties=props)
    ch.basic_publish('', queue, b'second')
    m1, p1, b1 = ch.basic_get(queue)
    m2, p2, b2 = ch.basic_get(queue, auto_ack=True)
    empty = ch.basic_get(queue)
    ch.basic_ack(m1.delivery_tag)
    ch.queue_delete(queue)
    conn.close()
    return {
        'first': {'body': b1.decode(), 'delivery_tag': m1.delivery_tag, 'redelivered': m1.redelivered,
                  'exchange': m1.exchange, 'routing_key': m1.routing_key, 'message_count': m1.message_count,
                  'properties': common.props_dict(p1)},
        'second': {'body': b2.decode(), 'delivery_tag': m2.delivery_tag, 'message_count': m2.message_count,
                   'properties': common.props_dict(p2)},
        'empty': [x is None for x in empty],
    }


def reject_nack_requeue():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()  # publishes are enqueued before the next synchronous call
    queue = ch.queue_declare(queue=common.unique('requeue')).method.queue
    for body in (b'a', b'b', b'c'):
        ch.basic_publish('', queue, body)
    out = {}
    m, _p, body = ch.basic_get(queue)
    out['first'] = [body.decode(), m.redelivered]
    ch.basic_reject(m.delivery_tag, requeue=True)
    m, _p, body = ch.basic_get(queue)
    out['after_reject'] = [body.decode(), m.redelivered]  # requeued to its original position, redelivered
    # nack two at once (multiple) with requeue
    m2, _p, b2 = ch.basic_get(queue)
    out['next'] = [b2.decode(), m2.redelivered]
    ch.basic_nack(m2.delivery_tag, multiple=True, requeue=True)
    got = []
    while True:
        mm, _p, bb = ch.basic_get(queue)
        if mm is None:
            break
        got.append([bb.decode(), mm.redelivered, mm.delivery_tag])
    out['after_nack_multiple'] = got
    # reject without requeue drops the message (no dead-letter exchange configured)
    for _b, _r, tag in got:
        ch.basic_reject(tag, requeue=False)
    out['count_after_drop'] = ch.queue_declare(queue=queue, passive=True).method.message_count
    # basic.recover(requeue=True): unacked messages go back to the queue, redelivered
    ch.basic_publish('', queue, b'recover-me')
    m, _p, _b = ch.basic_get(queue)
    ch.basic_recover(requeue=True)
    m, _p, body = ch.basic_get(queue, auto_ack=True)
    out['after_recover'] = [body.decode(), m.redelivered]
    # nack on a consumer delivery, then the redelivery comes back to the consumer
    seen = []

    def cb(c, method, props, body):
        seen.append([body.decode(), method.redelivered])
        if not method.redelivered:
            c.basic_nack(method.delivery_tag, requeue=True)
        else:
            c.basic_ack(method.delivery_tag)

    ch.basic_consume(queue, cb)
    ch.basic_publish('', queue, b'consumer-nack')
    common.drain(conn, lambda: len(seen) >= 2)
    out['consumer_nack'] = seen
    # closing a channel with unacked messages requeues them as redelivered
    ch.close()
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_publish('', queue, b'unacked-on-close')
    c3 = conn.channel()
    m, _p, _b = c3.basic_get(queue)
    c3.close()
    m, _p, body = ch.basic_get(queue, auto_ack=True)
    out['requeued_on_close'] = [body.decode(), m.redelivered]
    ch.queue_delete(queue)
    conn.close()
    return out


def consume_cancel():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()  # publishes are enqueued before the next synchronous call
    queue = ch.queue_declare(queue=common.unique('cancel')).method.queue
    got = []
    tag = ch.basic_consume(queue, lambda c, m, p, b: got.append(b.decode()), auto_ack=True,
                           consumer_tag='my-consumer')
    with_consumer = ch.queue_declare(queue=queue, passive=True).method.consumer_count
    ch.basic_publish('', queue, b'one')
    common.drain(conn, lambda: len(got) >= 1)
    cancel_result = ch.basic_cancel(tag)
    ch.basic_publish('', queue, b'two')
    conn.process_data_events(time_limit=0.2)
    after = ch.queue_declare(queue=queue, passive=True).method
    # the message published after the cancel stays in the queue
    ch.queue_delete(queue)
    conn.close()
    return {'tag': tag, 'got': got, 'cancel_result': cancel_result, 'consumer_count_with': with_consumer,
            'consumer_count_after': after.consumer_count, 'message_count_after': after.message_count}


def consumer_cancel_notification():
    """Deleting a queue cancels its consumers with a server-sent basic.cancel (consumer_cancel_notify)."""
    conn = common.connect()
    ch = conn.channel()
    queue = ch.queue_declare(queue=common.unique('doomed')).method.queue
    cancelled = []
    ch.add_on_cancel_callback(lambda frame: cancelled.append(
        {'consumer_tag': frame.method.consumer_tag, 'nowait': frame.method.nowait}))
    tag = ch.basic_consume(queue, lambda *a: None, auto_ack=True)
    other_conn = common.connect()
    other = other_conn.channel()
    delete_ok = other.queue_delete(queue)
    other_conn.close()
    common.drain(conn, lambda: len(cancelled) >= 1, timeout=3)
    tags_after = list(ch.consumer_tags)
    result = {'tag': tag, 'cancelled': cancelled, 'channel_open': ch.is_open, 'consumer_tags_after': tags_after,
              'delete_count': delete_ok.method.message_count}
    conn.close()
    return result


def auto_delete_queue():
    """An auto-delete queue goes away when its last consumer is cancelled."""
    conn = common.connect()
    ch = conn.channel()
    queue = ch.queue_declare(queue=common.unique('autodel'), auto_delete=True).method.queue
    tag1 = ch.basic_consume(queue, lambda *a: None, auto_ack=True)
    tag2 = ch.basic_consume(queue, lambda *a: None, auto_ack=True)
    ch.basic_cancel(tag1)
    still = ch.queue_declare(queue=queue, passive=True).method.consumer_count
    ch.basic_cancel(tag2)
    gone = common.expect_error(ch.queue_declare, queue=queue, passive=True)
    conn.close()
    return {'queue': queue, 'consumers_after_first_cancel': still, 'after_last_cancel': gone}


def purge_and_delete_counts():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()  # publishes are enqueued before the next synchronous call
    queue = common.unique('counts')
    declared = ch.queue_declare(queue=queue).method
    for i in range(5):
        ch.basic_publish('', queue, str(i).encode())
    passive = ch.queue_declare(queue=queue, passive=True).method
    redeclared = ch.queue_declare(queue=queue).method
    purge = ch.queue_purge(queue).method
    for i in range(3):
        ch.basic_publish('', queue, str(i).encode())
    # an unacked message is not counted by message_count and not purged
    m, _p, _b = ch.basic_get(queue)
    after_get = ch.queue_declare(queue=queue, passive=True).method.message_count
    purge2 = ch.queue_purge(queue).method
    ch.basic_reject(m.delivery_tag, requeue=True)
    ch.basic_publish('', queue, b'x')
    delete = ch.queue_delete(queue).method
    # deleting a queue that does not exist is not an error in RabbitMQ (delete-ok, 0)
    delete_missing = ch.queue_delete(common.unique('never-existed')).method
    exchange_missing = repr(ch.exchange_delete(common.unique('never-existed-ex')).method)
    conn.close()
    return {
        'declare': [declared.queue == queue, declared.message_count, declared.consumer_count],
        'passive_count': passive.message_count,
        'redeclare_count': redeclared.message_count,
        'purge_count': purge.message_count,
        'count_with_unacked': after_get,
        'purge_with_unacked': purge2.message_count,
        'delete_count': delete.message_count,
        'delete_missing_count': delete_missing.message_count,
        'exchange_delete_missing': exchange_missing,
    }


def transactions():
    conn = common.connect()
    ch = conn.channel()
    observer = conn.channel()
    queue = ch.queue_declare(queue=common.unique('tx')).method.queue

    def count():
        return observer.queue_declare(queue=queue, passive=True).method.message_count

    out = {'select': repr(ch.tx_select().method)}
    ch.basic_publish('', queue, b'tx-1')
    ch.basic_publish('', queue, b'tx-2')
    out['before_commit'] = count()
    out['commit'] = repr(ch.tx_commit().method)
    out['after_commit'] = count()
    ch.basic_publish('', queue, b'tx-3')
    out['rollback'] = repr(ch.tx_rollback().method)
    out['after_rollback'] = count()
    # acks are transactional too
    m, _p, body = ch.basic_get(queue)
    ch.basic_ack(m.delivery_tag)
    ch.tx_rollback()  # ack discarded: the message stays unacked (not requeued)
    out['count_after_ack_rollback'] = count()
    ch.basic_ack(m.delivery_tag)
    ch.tx_commit()
    m2, _p, body2 = ch.basic_get(queue, auto_ack=True)
    ch.tx_commit()
    out['remaining_body'] = body2.decode() if body2 else None
    out['final_count'] = count()
    # commit with nothing pending is fine
    out['empty_commit'] = repr(ch.tx_commit().method)
    # tx.commit on a non-transactional channel: 406
    plain = conn.channel()
    out['commit_not_tx'] = common.expect_error(plain.tx_commit)
    plain2 = conn.channel()
    out['rollback_not_tx'] = common.expect_error(plain2.tx_rollback)
    ch.queue_delete(queue)
    conn.close()
    return out


def large_message():
    conn = common.connect()
    ch = conn.channel()
    queue = ch.queue_declare(queue=common.unique('large')).method.queue
    rng = random.Random(1234)
    body = bytes(rng.getrandbits(8) for _ in range(2 * 1024 * 1024 + 17))
    ch.basic_publish('', queue, body, properties=pika.BasicProperties(message_id='big'))
    got = []
    ch.basic_consume(queue, lambda c, m, p, b: got.append(b), auto_ack=True)
    common.drain(conn, lambda: len(got) >= 1, timeout=10)
    # empty body and exactly frame-sized bodies
    frame_max = conn._impl.params.frame_max
    sizes = [0, 1, frame_max - 8, frame_max - 9, frame_max - 7, frame_max * 3]
    for size in sizes:
        ch.basic_publish('', queue, b'z' * size)
    common.drain(conn, lambda: len(got) >= 1 + len(sizes), timeout=10)
    ch.queue_delete(queue)
    conn.close()
    first = got[0] if got else b''
    return {
        'sent_len': len(body), 'received_len': len(first),
        'sent_sha256': hashlib.sha256(body).hexdigest(), 'received_sha256': hashlib.sha256(first).hexdigest(),
        'sizes_sent': sizes, 'sizes_received': [len(b) for b in got[1:]],
        'sizes_content_ok': all(set(b) <= {ord('z')} for b in got[1:]),
    }


def unicode_names():
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()  # publishes are enqueued before the next synchronous call
    queue = common.unique('ünïcödé-队列-🐇')
    exchange = common.unique('交换-topic-é')
    declared = ch.queue_declare(queue=queue).method.queue
    ch.exchange_declare(exchange=exchange, exchange_type='topic')
    ch.queue_bind(queue=queue, exchange=exchange, routing_key='clé.*.🐇')
    text = 'Grüße, 世界! 🐇 — ñ'
    ch.basic_publish(exchange, 'clé.日本.🐇', text.encode('utf-8'),
                     properties=pika.BasicProperties(headers={'名前': 'ウォーレン', 'emoji': '🐇'},
                                                     content_type='text/plain; charset=utf-8',
                                                     correlation_id='ид-1'))
    ch.basic_publish(exchange, 'clé.no-match', b'dropped')
    m, p, body = ch.basic_get(queue, auto_ack=True)
    passive = ch.queue_declare(queue=queue, passive=True).method.queue
    missing = common.unique('nöt-hère-🐇')
    err_ch = conn.channel()
    not_found = common.expect_error(err_ch.queue_declare, queue=missing, passive=True)
    ch.queue_delete(queue)
    ch.exchange_delete(exchange)
    conn.close()
    return {
        'queue': queue, 'declared': declared, 'passive': passive,
        'exchange': exchange, 'received_exchange': m.exchange if m else None,
        'routing_key': m.routing_key if m else None,
        'body': body.decode('utf-8') if body else None, 'text': text,
        'headers': p.headers if p else None, 'correlation_id': p.correlation_id if p else None,
        'missing': missing, 'not_found': not_found,
    }


def qos_prefetch():
    """basic_qos(prefetch_count=N) limits unacked deliveries; acking one releases the next."""
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()  # publishes are enqueued before the next synchronous call
    queue = ch.queue_declare(queue=common.unique('qos')).method.queue
    qos_ok = ch.basic_qos(prefetch_count=3)
    for i in range(10):
        ch.basic_publish('', queue, str(i).encode())
    got = []
    ch.basic_consume(queue, lambda c, m, p, b: got.append(m.delivery_tag))
    common.drain(conn, lambda: len(got) >= 3)
    conn.process_data_events(time_limit=0.15)
    first_batch = len(got)
    ch.basic_ack(got[1], multiple=True)  # acks tags 1 and 2
    common.drain(conn, lambda: len(got) >= 5)
    conn.process_data_events(time_limit=0.15)
    second_batch = len(got)
    ch.basic_ack(0, multiple=True)  # delivery_tag 0 + multiple: everything outstanding
    common.drain(conn, lambda: len(got) >= 8)
    conn.process_data_events(time_limit=0.15)
    third = len(got)
    ch.basic_qos(prefetch_count=0)  # unlimited
    ch.basic_ack(0, multiple=True)
    common.drain(conn, lambda: len(got) >= 10)
    result = {'qos_ok': repr(qos_ok), 'after_first': first_batch, 'after_ack_two': second_batch,
              'after_ack_all': third, 'total': len(got), 'tags': got}
    ch.basic_ack(0, multiple=True)
    ch.queue_delete(queue)
    conn.close()
    return result


if __name__ == '__main__':
    common.run([
        ('basic_get_and_properties', basic_get_and_properties),
        ('reject_nack_requeue', reject_nack_requeue),
        ('consume_cancel', consume_cancel),
        ('consumer_cancel_notification', consumer_cancel_notification),
        ('auto_delete_queue', auto_delete_queue),
        ('purge_and_delete_counts', purge_and_delete_counts),
        ('transactions', transactions),
        ('large_message', large_message),
        ('unicode_names', unicode_names),
        ('qos_prefetch', qos_prefetch),
    ])
