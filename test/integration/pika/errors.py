"""Channel-level errors: each closes only the channel (ChannelClosedByBroker), the connection stays open.

Every scenario records the reply code and text the broker sent and whether the connection survived.
"""
import pika
import pika.exceptions

import common


class Session:
    def __init__(self):
        self.conn = common.connect()

    def fresh(self):
        return self.conn.channel()

    def check(self, fn, *args, **kwargs):
        """Run fn on a throwaway channel, expecting a channel error; also report channel/connection state."""
        result = common.expect_error(fn, *args, **kwargs)
        result['connection_open'] = self.conn.is_open
        return result

    def close(self):
        if self.conn.is_open:
            self.conn.close()


def passive_declare_missing_queue():
    s = Session()
    ch = s.fresh()
    name = common.unique('missing')
    result = s.check(ch.queue_declare, queue=name, passive=True)
    result['queue'] = name
    result['channel_closed'] = ch.is_closed
    # the closed channel refuses further use on the client side
    try:
        ch.queue_declare(queue='', exclusive=True)
        result['reuse'] = None
    except pika.exceptions.ChannelWrongStateError as exc:
        result['reuse'] = type(exc).__name__
    # a new channel on the same connection works
    result['next_channel_ok'] = s.fresh().queue_declare(queue='', exclusive=True).method.queue.startswith('amq.gen-')
    s.close()
    return result


def passive_declare_missing_exchange():
    s = Session()
    name = common.unique('missing-ex')
    result = s.check(s.fresh().exchange_declare, exchange=name, passive=True)
    result['exchange'] = name
    s.close()
    return result


def queue_redeclare_durability():
    s = Session()
    ch = s.fresh()
    name = common.unique('durability')
    ch.queue_declare(queue=name, durable=False)
    result = {
        'to_durable': s.check(s.fresh().queue_declare, queue=name, durable=True),
        'queue': name,
    }
    # same properties: fine, passive ignores the other flags
    result['same_ok'] = s.fresh().queue_declare(queue=name, durable=False).method.queue == name
    result['passive_ignores_flags'] = s.fresh().queue_declare(queue=name, durable=True, passive=True).method.queue == name
    result['auto_delete_mismatch'] = s.check(s.fresh().queue_declare, queue=name, auto_delete=True)
    result['arguments_mismatch'] = s.check(s.fresh().queue_declare, queue=name, arguments={'x-message-ttl': 1000})
    s.fresh().queue_delete(name)
    durable_name = common.unique('durable')
    s.fresh().queue_declare(queue=durable_name, durable=True)
    result['to_transient'] = s.check(s.fresh().queue_declare, queue=durable_name, durable=False)
    result['durable_queue'] = durable_name
    s.fresh().queue_delete(durable_name)
    s.close()
    return result


def exchange_redeclare_type():
    s = Session()
    name = common.unique('retype')
    s.fresh().exchange_declare(exchange=name, exchange_type='direct')
    result = {'exchange': name, 'to_topic': s.check(s.fresh().exchange_declare, exchange=name, exchange_type='topic')}
    result['to_durable'] = s.check(s.fresh().exchange_declare, exchange=name, exchange_type='direct', durable=True)
    result['same_ok'] = repr(s.fresh().exchange_declare(exchange=name, exchange_type='direct').method)
    result['passive_other_type_ok'] = repr(
        s.fresh().exchange_declare(exchange=name, exchange_type='fanout', passive=True).method)
    # redeclaring a built-in exchange with its own type is allowed, with another type it is not
    result['amq_direct_same'] = repr(s.fresh().exchange_declare(exchange='amq.direct', exchange_type='direct',
                                                                durable=True).method)
    result['amq_direct_other'] = s.check(s.fresh().exchange_declare, exchange='amq.direct', exchange_type='fanout',
                                         durable=True)
    s.fresh().exchange_delete(name)
    s.close()
    return result


def exclusive_queue_locked():
    owner = common.connect()
    och = owner.channel()
    name = common.unique('exclusive')
    och.queue_declare(queue=name, exclusive=True)
    s = Session()
    result = {
        'queue': name,
        'passive': s.check(s.fresh().queue_declare, queue=name, passive=True),
        'declare': s.check(s.fresh().queue_declare, queue=name, exclusive=True),
        'consume': s.check(s.fresh().basic_consume, name, lambda *a: None),
        'get': s.check(s.fresh().basic_get, name),
        'purge': s.check(s.fresh().queue_purge, name),
        'delete': s.check(s.fresh().queue_delete, name),
        'bind': s.check(s.fresh().queue_bind, name, 'amq.fanout'),
    }
    # the owner is unaffected
    result['owner_ok'] = och.queue_declare(queue=name, passive=True).method.queue == name
    owner.close()
    # once the owner connection is gone the queue is gone too
    result['after_owner_closed'] = s.check(s.fresh().queue_declare, queue=name, passive=True)
    s.close()
    return result


def reserved_names():
    s = Session()
    suffix = common.unique('x')
    result = {
        'declare_amq_exchange': s.check(s.fresh().exchange_declare, exchange='amq.' + suffix, exchange_type='direct'),
        'declare_amq_queue': s.check(s.fresh().queue_declare, queue='amq.' + suffix),
        'delete_amq_exchange': s.check(s.fresh().exchange_delete, 'amq.fanout'),
        'suffix': suffix,
    }
    # the default exchange can neither be declared with another type, deleted nor bound
    result['bind_default_exchange'] = s.check(s.fresh().queue_bind, s.fresh().queue_declare(
        queue='', exclusive=True).method.queue, '', 'rk')
    s.close()
    return result


def missing_bindings():
    s = Session()
    q = s.fresh().queue_declare(queue='', exclusive=True).method.queue
    ex = common.unique('missing-src')
    missing_q = common.unique('missing-q')
    result = {
        'bind_missing_exchange': s.check(s.fresh().queue_bind, q, ex, 'rk'),
        'bind_missing_queue': s.check(s.fresh().queue_bind, missing_q, 'amq.direct', 'rk'),
        'consume_missing_queue': s.check(s.fresh().basic_consume, missing_q, lambda *a: None),
        'get_missing_queue': s.check(s.fresh().basic_get, missing_q),
        'purge_missing_queue': s.check(s.fresh().queue_purge, missing_q),
        'exchange': ex,
        'missing_queue': missing_q,
    }
    s.close()
    return result


def delivery_tag_errors():
    """Unknown delivery tags close the channel with 406 (basic.ack/reject/nack have no reply, so the error
    surfaces on the next synchronous call on that channel)."""
    s = Session()
    ch = s.fresh()
    ch.confirm_delivery()
    q = ch.queue_declare(queue='', exclusive=True).method.queue
    ch.basic_publish('', q, b'x')
    m, _p, _b = ch.basic_get(q)
    ch.basic_ack(m.delivery_tag)
    ch.basic_ack(m.delivery_tag)  # the same tag twice
    result = {'double_ack': s.check(ch.queue_declare, queue='', exclusive=True), 'tag': m.delivery_tag}
    result['channel_closed'] = ch.is_closed
    ch2 = s.fresh()
    ch2.basic_reject(99, requeue=False)
    result['reject_unknown'] = s.check(ch2.basic_qos, prefetch_count=1)
    ch3 = s.fresh()
    ch3.basic_nack(7, multiple=True)
    result['nack_unknown_multiple'] = s.check(ch3.basic_qos, prefetch_count=1)
    ch4 = s.fresh()
    ch4.basic_ack(0, multiple=True)  # tag 0 + multiple with nothing outstanding is fine
    ch4.basic_ack(0, multiple=False)  # tag 0 without multiple is an unknown tag
    result['ack_zero_single'] = s.check(ch4.basic_qos, prefetch_count=1)
    # after an auto_ack get, the tag is not ackable either
    ch5 = s.fresh()
    ch5.confirm_delivery()
    q5 = ch5.queue_declare(queue='', exclusive=True).method.queue
    ch5.basic_publish('', q5, b'y')
    m5, _p, _b = ch5.basic_get(q5, auto_ack=True)
    ch5.basic_ack(m5.delivery_tag)
    result['ack_after_auto_ack'] = s.check(ch5.basic_qos, prefetch_count=1)
    result['auto_ack_tag'] = m5.delivery_tag
    result['connection_open'] = s.conn.is_open
    s.close()
    return result


def delete_conditions():
    s = Session()
    ch = s.fresh()
    ch.confirm_delivery()
    q = ch.queue_declare(queue=common.unique('cond')).method.queue
    ch.basic_publish('', q, b'keep')
    result = {'queue': q, 'if_empty': s.check(s.fresh().queue_delete, q, if_empty=True)}
    consumer_ch = s.fresh()
    consumer_ch.basic_consume(q, lambda *a: None)
    result['if_unused'] = s.check(s.fresh().queue_delete, q, if_unused=True)
    ex = common.unique('cond-ex')
    ch.exchange_declare(exchange=ex, exchange_type='fanout')
    ch.queue_bind(q, ex)
    result['exchange'] = ex
    result['exchange_if_unused'] = s.check(s.fresh().exchange_delete, ex, if_unused=True)
    result['exchange_delete'] = repr(ch.exchange_delete(ex).method)
    result['queue_delete_count'] = ch.queue_delete(q).method.message_count
    s.close()
    return result


def user_id_mismatch():
    """basic.publish with a user_id that is not the authenticated user: 406."""
    s = Session()
    ch = s.fresh()
    ch.confirm_delivery()
    q = ch.queue_declare(queue='', exclusive=True).method.queue
    user = pika.URLParameters(common.URL).credentials.username
    ch.basic_publish('', q, b'me', properties=pika.BasicProperties(user_id=user))
    m, p, _b = ch.basic_get(q, auto_ack=True)
    result = {'user': user, 'own_user_id': p.user_id if p else None}
    bad = s.fresh()
    bad.confirm_delivery()
    result['other_user_id'] = s.check(bad.basic_publish, '', q, b'impostor',
                                      properties=pika.BasicProperties(user_id='someone-else'))
    s.close()
    return result


def invalid_arguments():
    s = Session()
    names = {'ttl_string': common.unique('badttl'), 'ttl_negative': common.unique('negttl'),
             'max_length_negative': common.unique('neglen')}
    result = {
        'names': names,
        'ttl_string': s.check(s.fresh().queue_declare, queue=names['ttl_string'],
                              arguments={'x-message-ttl': 'soon'}),
        'ttl_negative': s.check(s.fresh().queue_declare, queue=names['ttl_negative'],
                                arguments={'x-message-ttl': -1}),
        'max_length_negative': s.check(s.fresh().queue_declare, queue=names['max_length_negative'],
                                       arguments={'x-max-length': -5}),
    }
    s.close()
    return result


if __name__ == '__main__':
    common.run([
        ('passive_declare_missing_queue', passive_declare_missing_queue),
        ('passive_declare_missing_exchange', passive_declare_missing_exchange),
        ('queue_redeclare_durability', queue_redeclare_durability),
        ('exchange_redeclare_type', exchange_redeclare_type),
        ('exclusive_queue_locked', exclusive_queue_locked),
        ('reserved_names', reserved_names),
        ('missing_bindings', missing_bindings),
        ('delivery_tag_errors', delivery_tag_errors),
        ('delete_conditions', delete_conditions),
        ('user_id_mismatch', user_id_mismatch),
        ('invalid_arguments', invalid_arguments),
    ])
