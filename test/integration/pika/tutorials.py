"""The RabbitMQ tutorial flows in pika: hello world, work queues, publish/subscribe, routing, topics, headers."""
import pika
import pika.exceptions

import common


def hello_world():
    conn = common.connect()
    ch = conn.channel()
    queue = common.unique('hello')
    declare_ok = ch.queue_declare(queue=queue)
    ch.basic_publish(exchange='', routing_key=queue, body=b'Hello World!')
    received = []

    def callback(channel, method, properties, body):
        received.append({
            'body': body.decode(),
            'exchange': method.exchange,
            'routing_key': method.routing_key,
            'redelivered': method.redelivered,
            'delivery_tag': method.delivery_tag,
            'consumer_tag': method.consumer_tag,
            'properties': common.props_dict(properties),
        })

    tag = ch.basic_consume(queue=queue, on_message_callback=callback, auto_ack=True)
    common.drain(conn, lambda: len(received) >= 1)
    ch.basic_cancel(tag)
    after = ch.queue_declare(queue=queue, passive=True).method
    delete_ok = ch.queue_delete(queue=queue)
    conn.close()
    return {
        'declare': {'queue': declare_ok.method.queue, 'message_count': declare_ok.method.message_count,
                    'consumer_count': declare_ok.method.consumer_count},
        'queue': queue,
        'consumer_tag': tag,
        'received': received,
        'remaining': after.message_count,
        'deleted_count': delete_ok.method.message_count,
    }


def work_queues():
    """Durable queue, persistent messages, basic_qos(prefetch_count=1), manual ack, two workers."""
    conn = common.connect()
    pub = conn.channel()
    queue = common.unique('task_queue')
    pub.queue_declare(queue=queue, durable=True)
    w1 = conn.channel()
    w2 = conn.channel()
    w1.basic_qos(prefetch_count=1)
    w2.basic_qos(prefetch_count=1)
    got = {'w1': [], 'w2': []}
    modes = set()
    hold = {'enabled': False, 'held': []}

    def make_cb(name, channel):
        def cb(ch, method, properties, body):
            got[name].append(body.decode())
            modes.add(properties.delivery_mode)
            if hold['enabled'] and name == 'w1':
                hold['held'].append(method.delivery_tag)  # a "slow" worker: keep it unacked
            else:
                ch.basic_ack(delivery_tag=method.delivery_tag)
        return cb

    w1.basic_consume(queue=queue, on_message_callback=make_cb('w1', w1))
    w2.basic_consume(queue=queue, on_message_callback=make_cb('w2', w2))
    props = pika.BasicProperties(delivery_mode=2)
    for i in range(1, 7):
        pub.basic_publish(exchange='', routing_key=queue, body=('task %d' % i).encode(), properties=props)
    common.drain(conn, lambda: len(got['w1']) + len(got['w2']) >= 6)
    round_robin = {'w1': list(got['w1']), 'w2': list(got['w2'])}

    # fair dispatch: w1 keeps its message unacked, so with prefetch 1 everything else goes to w2
    got['w1'].clear()
    got['w2'].clear()
    hold['enabled'] = True
    for i in range(1, 7):
        pub.basic_publish(exchange='', routing_key=queue, body=('job %d' % i).encode(), properties=props)
    common.drain(conn, lambda: len(got['w1']) + len(got['w2']) >= 6)
    conn.process_data_events(time_limit=0.2)  # nothing more should arrive
    fair = {'w1': list(got['w1']), 'w2': list(got['w2'])}
    declare = pub.queue_declare(queue=queue, durable=True, passive=True).method
    counts_while_held = {'message_count': declare.message_count, 'consumer_count': declare.consumer_count}
    for tag in hold['held']:
        w1.basic_ack(delivery_tag=tag)
    w1.close()
    w2.close()
    idle = pub.queue_declare(queue=queue, passive=True).method
    pub.queue_delete(queue=queue)
    conn.close()
    return {
        'round_robin': round_robin,
        'fair': fair,
        'delivery_modes': sorted(modes),
        'counts_while_held': counts_while_held,
        'after_close': {'message_count': idle.message_count, 'consumer_count': idle.consumer_count},
    }


def publish_subscribe():
    """Fanout exchange with exclusive server-named queues (amq.gen-...)."""
    exchange = common.unique('logs')
    pub_conn = common.connect()
    pub = pub_conn.channel()
    pub.exchange_declare(exchange=exchange, exchange_type='fanout')
    subs = []
    for _ in range(2):
        c = common.connect()
        ch = c.channel()
        ok = ch.queue_declare(queue='', exclusive=True)
        ch.queue_bind(exchange=exchange, queue=ok.method.queue)
        subs.append((c, ch, ok.method.queue, []))
    for c, ch, q, got in subs:
        ch.basic_consume(queue=q, auto_ack=True,
                         on_message_callback=lambda _c, m, _p, b, got=got: got.append(
                             {'body': b.decode(), 'exchange': m.exchange, 'routing_key': m.routing_key}))
    pub.basic_publish(exchange=exchange, routing_key='ignored.by.fanout', body=b'info: Hello World!')
    pub.basic_publish(exchange=exchange, routing_key='', body=b'second')
    for c, ch, q, got in subs:
        common.drain(c, lambda got=got: len(got) >= 2)
    queues = [q for _c, _ch, q, _g in subs]
    received = [got for _c, _ch, _q, got in subs]
    for c, _ch, _q, _g in subs:
        c.close()
    # exclusive queues disappear with their connection
    gone = []
    for q in queues:
        check = pub_conn.channel()
        gone.append(common.expect_error(check.queue_declare, queue=q, passive=True))
    pub.exchange_delete(exchange=exchange)
    pub_conn.close()
    return {'exchange': exchange, 'queues': queues, 'received': received, 'after_close': gone}


def routing():
    """Direct exchange with several bindings per queue and one binding key shared by two queues."""
    exchange = common.unique('direct_logs')
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()  # publishes are enqueued before the next synchronous call
    ch.exchange_declare(exchange=exchange, exchange_type='direct')
    q_errors = ch.queue_declare(queue='', exclusive=True).method.queue
    q_all = ch.queue_declare(queue='', exclusive=True).method.queue
    ch.queue_bind(exchange=exchange, queue=q_errors, routing_key='error')
    for severity in ('info', 'warning', 'error'):
        ch.queue_bind(exchange=exchange, queue=q_all, routing_key=severity)
    # binding the same key twice is idempotent (no duplicate delivery)
    ch.queue_bind(exchange=exchange, queue=q_all, routing_key='info')
    for severity in ('info', 'warning', 'error', 'debug'):
        ch.basic_publish(exchange=exchange, routing_key=severity, body=('%s message' % severity).encode())
    # unbind and publish again
    ch.queue_unbind(queue=q_all, exchange=exchange, routing_key='warning')
    ch.basic_publish(exchange=exchange, routing_key='warning', body=b'warning after unbind')

    def collect(q):
        out = []
        while True:
            m, _p, body = ch.basic_get(queue=q, auto_ack=True)
            if m is None:
                return out
            out.append([m.routing_key, body.decode()])

    result = {'errors_queue': collect(q_errors), 'all_queue': collect(q_all)}
    ch.exchange_delete(exchange=exchange)
    conn.close()
    return result


def topics():
    exchange = common.unique('topic_logs')
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()  # publishes are enqueued before the next synchronous call
    ch.exchange_declare(exchange=exchange, exchange_type='topic')
    q1 = ch.queue_declare(queue='', exclusive=True).method.queue
    q2 = ch.queue_declare(queue='', exclusive=True).method.queue
    q3 = ch.queue_declare(queue='', exclusive=True).method.queue
    q4 = ch.queue_declare(queue='', exclusive=True).method.queue
    ch.queue_bind(exchange=exchange, queue=q1, routing_key='*.orange.*')
    ch.queue_bind(exchange=exchange, queue=q2, routing_key='*.*.rabbit')
    ch.queue_bind(exchange=exchange, queue=q2, routing_key='lazy.#')
    ch.queue_bind(exchange=exchange, queue=q3, routing_key='#')
    ch.queue_bind(exchange=exchange, queue=q4, routing_key='a.#.z')
    keys = ['quick.orange.rabbit', 'lazy.orange.elephant', 'quick.orange.fox', 'lazy.brown.fox',
            'lazy.pink.rabbit', 'quick.brown.fox', 'orange', 'quick.orange.male.rabbit',
            'lazy.orange.male.rabbit', 'lazy', '', 'a.z', 'a.b.c.z', 'a.z.q', '.orange.', 'lazy.']
    for key in keys:
        ch.basic_publish(exchange=exchange, routing_key=key, body=key.encode())

    def collect(q):
        out = []
        while True:
            m, _p, body = ch.basic_get(queue=q, auto_ack=True)
            if m is None:
                return out
            out.append(body.decode())

    result = {'q1': collect(q1), 'q2': collect(q2), 'q3': collect(q3), 'q4': collect(q4)}
    ch.exchange_delete(exchange=exchange)
    conn.close()
    return result


def headers_exchange():
    exchange = common.unique('headers_ex')
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()  # publishes are enqueued before the next synchronous call
    ch.exchange_declare(exchange=exchange, exchange_type='headers')
    q_all = ch.queue_declare(queue='', exclusive=True).method.queue
    q_any = ch.queue_declare(queue='', exclusive=True).method.queue
    q_default = ch.queue_declare(queue='', exclusive=True).method.queue
    q_empty = ch.queue_declare(queue='', exclusive=True).method.queue
    ch.queue_bind(exchange=exchange, queue=q_all, arguments={'x-match': 'all', 'format': 'pdf', 'type': 'report'})
    ch.queue_bind(exchange=exchange, queue=q_any, arguments={'x-match': 'any', 'format': 'pdf', 'type': 'log'})
    ch.queue_bind(exchange=exchange, queue=q_default, arguments={'format': 'zip', 'size': 42})  # x-match defaults to all
    ch.queue_bind(exchange=exchange, queue=q_empty, arguments={})  # matches every message
    messages = [
        ('pdf-report', {'format': 'pdf', 'type': 'report'}),
        ('pdf-report-extra', {'format': 'pdf', 'type': 'report', 'extra': 1}),
        ('pdf-only', {'format': 'pdf'}),
        ('log-only', {'type': 'log'}),
        ('zip-42', {'format': 'zip', 'size': 42}),
        ('zip-43', {'format': 'zip', 'size': 43}),
        ('no-headers', None),
    ]
    for body, headers in messages:
        ch.basic_publish(exchange=exchange, routing_key='ignored', body=body.encode(),
                         properties=pika.BasicProperties(headers=headers))

    def collect(q):
        out = []
        while True:
            m, _p, body = ch.basic_get(queue=q, auto_ack=True)
            if m is None:
                return out
            out.append(body.decode())

    result = {'all': collect(q_all), 'any': collect(q_any), 'default': collect(q_default),
              'empty': collect(q_empty)}
    ch.exchange_delete(exchange=exchange)
    conn.close()
    return result


def exchange_to_exchange():
    """exchange.bind: messages flow from a topic source to a fanout destination exchange."""
    src = common.unique('e2e-src')
    dst = common.unique('e2e-dst')
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()  # publishes are enqueued before the next synchronous call
    ch.exchange_declare(exchange=src, exchange_type='topic')
    ch.exchange_declare(exchange=dst, exchange_type='fanout')
    q = ch.queue_declare(queue='', exclusive=True).method.queue
    ch.queue_bind(exchange=dst, queue=q)
    ch.exchange_bind(destination=dst, source=src, routing_key='stock.#')
    for key in ('stock.nyse.ibm', 'weather.paris', 'stock'):
        ch.basic_publish(exchange=src, routing_key=key, body=key.encode())
    ch.exchange_unbind(destination=dst, source=src, routing_key='stock.#')
    ch.basic_publish(exchange=src, routing_key='stock.after.unbind', body=b'stock.after.unbind')
    out = []
    while True:
        m, _p, body = ch.basic_get(queue=q, auto_ack=True)
        if m is None:
            break
        out.append({'body': body.decode(), 'exchange': m.exchange, 'routing_key': m.routing_key})
    ch.exchange_delete(exchange=src)
    ch.exchange_delete(exchange=dst)
    conn.close()
    return {'source': src, 'destination': dst, 'received': out}


if __name__ == '__main__':
    common.run([
        ('hello_world', hello_world),
        ('work_queues', work_queues),
        ('publish_subscribe', publish_subscribe),
        ('routing', routing),
        ('topics', topics),
        ('headers_exchange', headers_exchange),
        ('exchange_to_exchange', exchange_to_exchange),
    ])
