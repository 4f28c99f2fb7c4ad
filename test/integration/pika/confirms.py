"""Publisher confirms (channel.confirm_delivery) and mandatory publishing / basic.return."""
import pika
import pika.exceptions

import common


def describe_unroutable(exc):
    out = {'exc': type(exc).__name__, 'count': len(exc.messages)}
    returned = []
    for msg in exc.messages:
        m = msg.method
        returned.append({'reply_code': m.reply_code, 'reply_text': m.reply_text, 'exchange': m.exchange,
                         'routing_key': m.routing_key, 'body': msg.body.decode(),
                         'properties': common.props_dict(msg.properties)})
    out['returned'] = returned
    return out


def confirms_mandatory():
    conn = common.connect()
    ch = conn.channel()
    select_result = ch.confirm_delivery()
    queue = ch.queue_declare(queue=common.unique('confirm')).method.queue
    result = {'confirm_select_result': select_result}
    # routed, mandatory: confirmed (basic_publish returns None and raises nothing)
    result['routed_mandatory'] = repr(ch.basic_publish('', queue, b'routed', mandatory=True))
    result['routed_plain'] = repr(ch.basic_publish('', queue, b'routed-2'))
    # unroutable + mandatory on the default exchange: basic.return 312 NO_ROUTE, then ack -> UnroutableError
    missing = common.unique('no-such-queue')
    try:
        ch.basic_publish('', missing, b'lost', mandatory=True,
                         properties=pika.BasicProperties(content_type='text/plain', message_id='m-1'))
        result['unroutable_default'] = {'exc': None}
    except pika.exceptions.UnroutableError as exc:
        result['unroutable_default'] = describe_unroutable(exc)
    result['missing_queue'] = missing
    # unroutable without mandatory: silently dropped but still confirmed
    try:
        result['unroutable_not_mandatory'] = repr(ch.basic_publish('', missing, b'dropped'))
    except pika.exceptions.AMQPError as exc:
        result['unroutable_not_mandatory'] = type(exc).__name__
    # an exchange with no bindings
    exchange = common.unique('confirm-direct')
    ch.exchange_declare(exchange=exchange, exchange_type='direct')
    try:
        ch.basic_publish(exchange, 'nowhere', b'lost-2', mandatory=True)
        result['unroutable_exchange'] = {'exc': None}
    except pika.exceptions.UnroutableError as exc:
        result['unroutable_exchange'] = describe_unroutable(exc)
    # the channel is still usable after the returns
    ch.basic_publish('', queue, b'routed-3', mandatory=True)
    # a batch of confirmed publishes
    for i in range(200):
        ch.basic_publish('', queue, ('batch %d' % i).encode())
    count = ch.queue_declare(queue=queue, passive=True).method.message_count
    result['queue_count'] = count
    result['channel_open'] = ch.is_open
    ch.queue_delete(queue=queue)
    ch.exchange_delete(exchange=exchange)
    conn.close()
    return result


def confirms_missing_exchange():
    """Publishing to a missing exchange closes the channel: 404 NOT_FOUND - no exchange 'x' in vhost '/'."""
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    exchange = common.unique('missing-exchange')
    result = common.expect_error(ch.basic_publish, exchange, 'rk', b'x')
    result['exchange'] = exchange
    result['channel_closed'] = ch.is_closed
    result['connection_open'] = conn.is_open
    # the connection survives; a new channel works
    ch2 = conn.channel()
    result['new_channel_ok'] = ch2.queue_declare(queue='', exclusive=True).method.queue.startswith('amq.gen-')
    conn.close()
    return result


def mandatory_return_without_confirms():
    """Without confirms, pika delivers basic.return to the on_return callback."""
    conn = common.connect()
    ch = conn.channel()
    returned = []
    ch.add_on_return_callback(lambda _ch, method, props, body: returned.append({
        'reply_code': method.reply_code, 'reply_text': method.reply_text, 'exchange': method.exchange,
        'routing_key': method.routing_key, 'body': body.decode(), 'properties': common.props_dict(props)}))
    missing = common.unique('nobody-home')
    ch.basic_publish('', missing, b'come back', mandatory=True,
                     properties=pika.BasicProperties(headers={'k': 'v'}, correlation_id='c-9'))
    ch.basic_publish('', missing, b'not mandatory')
    common.drain(conn, lambda: len(returned) >= 1, timeout=3)
    conn.process_data_events(time_limit=0.2)
    conn.close()
    return {'returned': returned, 'routing_key': missing}


def confirm_and_tx_exclusive():
    """A confirm channel cannot become transactional and vice versa (406 PRECONDITION_FAILED)."""
    conn = common.connect()
    ch = conn.channel()
    ch.confirm_delivery()
    to_tx = common.expect_error(ch.tx_select)
    ch2 = conn.channel()
    ch2.tx_select()
    try:
        ch2.confirm_delivery()
        to_confirm = {'exc': None}
    except pika.exceptions.AMQPError as exc:
        to_confirm = common.closed_info(exc)
    result = {'confirm_then_tx': to_tx, 'tx_then_confirm': to_confirm, 'connection_open': conn.is_open}
    conn.close()
    return result


if __name__ == '__main__':
    common.run([
        ('confirms_mandatory', confirms_mandatory),
        ('confirms_missing_exchange', confirms_missing_exchange),
        ('mandatory_return_without_confirms', mandatory_return_without_confirms),
        ('confirm_and_tx_exclusive', confirm_and_tx_exclusive),
    ])
