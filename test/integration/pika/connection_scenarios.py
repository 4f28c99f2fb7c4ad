"""Connection-level scenarios: PLAIN login, refused logins, unknown vhost, tuning, heartbeats, server close."""
import time
from urllib.parse import quote, urlsplit, urlunsplit

import pika
import pika.exceptions

import common


def with_credentials(url, user, password, vhost=None):
    parts = urlsplit(url)
    host = parts.hostname
    netloc = '%s:%s@%s:%d' % (quote(user, safe=''), quote(password, safe=''), host, parts.port or 5672)
    path = parts.path if vhost is None else '/' + quote(vhost, safe='')
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))


def login_ok():
    proposed = {}

    def heartbeat(_conn, server_value):
        proposed['heartbeat'] = server_value
        return 0  # disable heartbeats for this connection

    conn = common.connect(heartbeat=heartbeat)
    impl = conn._impl
    caps = impl.server_properties.get('capabilities', {})
    ch = conn.channel()
    q = ch.queue_declare(queue='', exclusive=True).method.queue
    result = {
        'open': conn.is_open,
        'user': urlsplit(common.URL).username,
        'server_heartbeat': proposed.get('heartbeat'),
        'negotiated_heartbeat': impl.params.heartbeat,
        'frame_max': impl.params.frame_max,
        'channel_max': impl.params.channel_max,
        'capabilities': {k: caps[k] for k in sorted(caps)},
        'server_property_keys': sorted(impl.server_properties.keys()),
        'publisher_confirms_supported': conn.publisher_confirms_supported,
        'basic_nack_supported': conn.basic_nack_supported,
        'consumer_cancel_notify_supported': conn.consumer_cancel_notify_supported,
        'exchange_exchange_bindings_supported': conn.exchange_exchange_bindings_supported,
        'server_named_queue': q,
        'channel_number': ch.channel_number,
    }
    conn.close()
    result['closed'] = conn.is_closed
    return result


def refused(url):
    try:
        conn = pika.BlockingConnection(common.params(url))
    except pika.exceptions.AMQPConnectionError as exc:
        return {
            'exc': type(exc).__name__,
            'is_probable_auth': isinstance(exc, pika.exceptions.ProbableAuthenticationError),
            'is_probable_access_denied': isinstance(exc, pika.exceptions.ProbableAccessDeniedError),
            'message': str(exc.args[0]) if exc.args else '',
        }
    conn.close()
    return {'exc': None}


def wrong_password():
    user = urlsplit(common.URL).username
    return refused(with_credentials(common.URL, user, 'definitely-wrong-password'))


def unknown_user():
    return refused(with_credentials(common.URL, common.unique('nobody'), 'secret'))


def unknown_vhost():
    parts = urlsplit(common.URL)
    vhost = common.unique('no-such-vhost')
    result = refused(with_credentials(common.URL, parts.username, parts.password, vhost))
    result['vhost'] = vhost
    return result


def explicit_vhost_slash():
    # amqp://host/%2F is the explicit spelling of vhost "/"
    parts = urlsplit(common.URL)
    conn = pika.BlockingConnection(common.params(with_credentials(common.URL, parts.username, parts.password, '/')))
    ch = conn.channel()
    ok = ch.queue_declare(queue='', exclusive=True).method.queue.startswith('amq.gen-')
    conn.close()
    return {'vhost': '/', 'server_named_ok': ok}


def heartbeats():
    proposed = {}

    def heartbeat(_conn, server_value):
        proposed['heartbeat'] = server_value
        return 1

    conn = common.connect(heartbeat=heartbeat)
    impl = conn._impl
    checker = impl._heartbeat_checker
    # idle (only heartbeats on the wire) for several 1 s intervals
    conn.sleep(3.2)
    received = checker._heartbeat_frames_received
    sent = checker._heartbeat_frames_sent
    still_open = conn.is_open
    ch = conn.channel()
    ch.confirm_delivery()  # publishes are enqueued before the next synchronous call
    q = ch.queue_declare(queue='', exclusive=True).method.queue
    ch.basic_publish('', q, b'after-idle')
    _m, _p, body = ch.basic_get(q, auto_ack=True)
    conn.close()
    return {
        'server_heartbeat': proposed.get('heartbeat'),
        'negotiated_heartbeat': impl.params.heartbeat,
        'heartbeats_received': received,
        'heartbeats_sent': sent,
        'open_after_idle': still_open,
        'body_after_idle': body.decode() if body else None,
    }


def many_channels():
    conn = common.connect()
    chans = [conn.channel() for _ in range(20)]
    numbers = [c.channel_number for c in chans]
    # close some and reopen: the numbers are reused by pika
    for c in chans[:5]:
        c.close()
    closed = [c.is_closed for c in chans[:5]]
    again = conn.channel()
    q = again.queue_declare(queue='', exclusive=True).method.queue
    conn.close()
    return {'numbers': numbers, 'closed': closed, 'reopened_number': again.channel_number,
            'declared': q.startswith('amq.gen-')}


def connection_error_closes_connection():
    """A hard error (reusing a consumer tag on the same channel) closes the whole connection with 530."""
    conn = common.connect()
    ch = conn.channel()
    q = ch.queue_declare(queue='', exclusive=True).method.queue
    ch.basic_consume(q, lambda *a: None, consumer_tag='dup-tag')
    err = common.expect_error(ch.basic_consume, q, lambda *a: None, consumer_tag='dup-tag')
    # pika validates duplicate tags on the client side; report that, then force it via the impl channel
    result = {'client_side': err}
    conn2 = common.connect()
    ch2 = conn2.channel()
    q2 = ch2.queue_declare(queue='', exclusive=True).method.queue
    ch2.basic_consume(q2, lambda *a: None, consumer_tag='dup-tag')
    # bypass pika's client-side check by sending a raw Basic.Consume with the same tag
    ch2._impl._send_method(pika.spec.Basic.Consume(queue=q2, consumer_tag='dup-tag'))
    try:
        common.drain(conn2, lambda: False, timeout=2)
        result['server'] = {'exc': None}
    except pika.exceptions.AMQPError as exc:
        result['server'] = common.closed_info(exc)
    result['connection_closed'] = conn2.is_closed
    result['channel_closed'] = ch2.is_closed
    result['first_connection_still_open'] = conn.is_open
    conn.close()
    return result


def unknown_exchange_type():
    """exchange.declare with an unknown type is a hard error: connection.close 503 COMMAND_INVALID."""
    conn = common.connect()
    ch = conn.channel()
    other = conn.channel()
    name = common.unique('badtype')
    err = common.expect_error(ch.exchange_declare, name, exchange_type='no-such-type')
    result = dict(err)
    result['exchange'] = name
    result['connection_closed'] = conn.is_closed
    result['channel_closed'] = ch.is_closed
    result['other_channel_closed'] = other.is_closed
    # any further use raises ConnectionWrongStateError / ChannelWrongStateError on the client
    try:
        other.queue_declare(queue='', exclusive=True)
        result['after'] = None
    except Exception as exc:
        result['after'] = type(exc).__name__
    return result


def channel_flow():
    """channel.flow(active=True) is answered with flow-ok; active=False is not implemented by RabbitMQ (540)."""
    conn = common.connect()
    ch = conn.channel()
    result = {}
    try:
        result['flow_true'] = ch.flow(True)
    except pika.exceptions.AMQPError as exc:
        result['flow_true'] = common.closed_info(exc)
    try:
        result['flow_false'] = ch.flow(False)
    except pika.exceptions.AMQPError as exc:
        result['flow_false'] = common.closed_info(exc)
    result['connection_closed'] = conn.is_closed
    result['channel_closed'] = ch.is_closed
    if conn.is_open:
        conn.close()
    return result


def close_by_client():
    conn = common.connect()
    ch = conn.channel()
    ch.close()
    ch_closed = ch.is_closed
    conn.close(reply_code=200, reply_text='bye')
    return {'channel_closed': ch_closed, 'connection_closed': conn.is_closed}


if __name__ == '__main__':
    common.run([
        ('login_ok', login_ok),
        ('wrong_password', wrong_password),
        ('unknown_user', unknown_user),
        ('unknown_vhost', unknown_vhost),
        ('explicit_vhost_slash', explicit_vhost_slash),
        ('heartbeats', heartbeats),
        ('many_channels', many_channels),
        ('connection_error_closes_connection', connection_error_closes_connection),
        ('unknown_exchange_type', unknown_exchange_type),
        ('channel_flow', channel_flow),
        ('close_by_client', close_by_client),
    ])
