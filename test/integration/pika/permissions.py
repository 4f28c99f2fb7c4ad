"""Permissions seen by pika: the users of test/integration/permissions-fixture.ts, as alice and nobody.

Usage: permissions.py HOST PORT. Prints one JSON object: scenario name -> what the broker answered.
"""
import json
import sys

import pika
import pika.exceptions

HOST, PORT = sys.argv[1], int(sys.argv[2])


def connect(user, password):
    params = pika.ConnectionParameters(
        host=HOST, port=PORT, credentials=pika.PlainCredentials(user, password), connection_attempts=1
    )
    return pika.BlockingConnection(params)


def channel_error(fn):
    try:
        fn()
        return None
    except pika.exceptions.ChannelClosedByBroker as exc:
        return [exc.reply_code, exc.reply_text]


results = {}
alice = connect('alice', 'alice-pw')
results['declare_own_queue'] = alice.channel().queue_declare(queue='alice-pika-q', exclusive=True).method.queue
results['declare_other_queue'] = channel_error(lambda: alice.channel().queue_declare(queue='bob-pika-q'))


def publish_default():
    ch = alice.channel()
    ch.basic_publish(exchange='', routing_key='alice-pika-q', body=b'm')
    ch.queue_declare(queue='alice-pika-q', passive=True)  # a round trip: the refusal arrives first


results['publish_default_exchange'] = channel_error(publish_default)
results['get_other_queue'] = channel_error(lambda: alice.channel().basic_get(queue='shared-q'))


def publish(exchange, routing_key):
    def run():
        ch = alice.channel()
        ch.basic_publish(exchange=exchange, routing_key=routing_key, body=b'm')
        ch.queue_declare(queue='alice-pika-q', passive=True)

    return run


results['publish_other_exchange'] = channel_error(publish('bob-x', 'k'))
# alice-topic as the amqplib tests declare it; alice may write only keys starting 'alice.'
alice.channel().exchange_declare(exchange='alice-topic', exchange_type='topic', durable=True)
results['publish_topic_key'] = channel_error(publish('alice-topic', 'bob.news'))
results['consume_other_queue'] = channel_error(
    lambda: alice.channel().basic_consume(queue='shared-q', on_message_callback=lambda *args: None)
)
results['declare_other_exchange'] = channel_error(
    lambda: alice.channel().exchange_declare(exchange='bob-pika-x', exchange_type='direct')
)
# queue.bind: write on the queue is checked first, then read on the exchange
results['bind_unwritable_queue'] = channel_error(
    lambda: alice.channel().queue_bind(queue='shared-q', exchange='amq.direct', routing_key='k')
)
results['bind_unreadable_exchange'] = channel_error(
    lambda: alice.channel().queue_bind(queue='alice-pika-q', exchange='amq.direct', routing_key='k')
)
results['alice_connection_open'] = alice.is_open
alice.close()
try:
    connect('nobody', 'nobody-pw').close()
    results['nobody'] = 'connected'
except pika.exceptions.AMQPConnectionError as exc:
    results['nobody'] = str(exc)
try:
    connect('alice', 'wrong').close()
    results['wrong_password'] = 'connected'
except pika.exceptions.AMQPConnectionError as exc:
    results['wrong_password'] = type(exc).__name__ + ': ' + str(exc)
print(json.dumps(results))
