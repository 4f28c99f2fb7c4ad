"""Helpers shared by the extensions_*.py programs (RabbitMQ extensions: TTL, dead-lettering, limits, priorities,
alternate exchanges, direct reply-to, consumer extensions). Builds on common.py, which it does not change."""
import datetime
import time

import pika
import pika.exceptions

import common


def type_name(value):
    return type(value).__name__


def count(ch, queue):
    """message_count of a queue (passive declare)."""
    return ch.queue_declare(queue=queue, passive=True).method.message_count


def counts(ch, queue):
    method = ch.queue_declare(queue=queue, passive=True).method
    return {'messages': method.message_count, 'consumers': method.consumer_count}


def describe(method, props, body):
    """A delivered or fetched message as JSON-friendly observations."""
    out = {'body': body.decode(), 'exchange': method.exchange, 'routing_key': method.routing_key,
           'redelivered': method.redelivered, 'properties': common.props_dict(props)}
    headers = props.headers or {}
    if 'x-death' in headers:
        out['x_death'] = x_death(headers['x-death'])
        out['header_keys'] = list(headers.keys())
    return out


def x_death(entries):
    """The x-death header: each entry's values (JSON-friendly), Python types as pika decoded them, key order
    on the wire and the distance of 'time' from now (seconds)."""
    now = time.time()
    out = []
    for entry in entries:
        item = {'keys': list(entry.keys()), 'types': {k: type_name(v) for k, v in entry.items()},
                'values': {k: common.jsonable(v) for k, v in entry.items() if k != 'time'}}
        when = entry.get('time')
        if isinstance(when, datetime.datetime):
            item['time_age_s'] = now - when.replace(tzinfo=datetime.timezone.utc).timestamp()
        out.append(item)
    return out


def get_all(ch, queue, limit=100):
    """basic_get (auto ack) until the queue is empty; the described messages in order."""
    got = []
    for _ in range(limit):
        method, props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            break
        got.append(describe(method, props, body))
    return got


def bodies(messages):
    return [m['body'] for m in messages]


def wait_for_count(ch, queue, expected, timeout=3.0):
    """Poll the queue's message_count until it equals expected (or timeout); returns the last count."""
    deadline = time.monotonic() + timeout
    current = count(ch, queue)
    while current != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        current = count(ch, queue)
    return current


def pump(connections, until, timeout=5.0):
    """Process I/O on several BlockingConnections in turn until until() is true or timeout passes."""
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        for conn in connections:
            conn.process_data_events(time_limit=0.02)
    return until()


def idle(conn, seconds):
    """Process I/O (deliver callbacks) for the given time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn.process_data_events(time_limit=max(0.0, min(0.05, deadline - time.monotonic())))


def publish_error(conn, ch, *args, **kwargs):
    """Publish (no confirms), then make a synchronous call so an asynchronous channel error surfaces."""
    def go():
        ch.basic_publish(*args, **kwargs)
        ch.basic_qos(prefetch_count=0)  # answered by channel.close when the publish failed
    result = common.expect_error(go)
    result['connection_open'] = conn.is_open
    return result


def cleanup(ch, queues=(), exchanges=()):
    for q in queues:
        ch.queue_delete(q)
    for x in exchanges:
        ch.exchange_delete(x)


def props(**kwargs):
    return pika.BasicProperties(**kwargs)
