#!/usr/bin/env python3
"""RPC over a topic exchange: ask the server behind the exchange 'logs_rpc' for fib(n).

Usage: python3 rpc_client_topic.py [n] [routing_key]
"""
import os
import sys
import uuid

import pika

n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
routing_key = sys.argv[2] if len(sys.argv) > 2 else 'rpc.fib'

url = os.environ.get('AMQP_URL', 'amqp://guest:guest@localhost:5672/')
connection = pika.BlockingConnection(pika.URLParameters(url))
channel = connection.channel()

# Declare the exchange as the server does, so the request has somewhere to go
channel.exchange_declare(exchange='logs_rpc', exchange_type='topic', durable=True)
callback_queue = channel.queue_declare(queue='', exclusive=True).method.queue
corr_id = str(uuid.uuid4())
response = None


def on_response(ch, method, props, body):
    global response
    if props.correlation_id == corr_id:
        response = body.decode()


channel.basic_consume(queue=callback_queue, on_message_callback=on_response, auto_ack=True)

print(f" [x] Requesting fib({n}) with routing key '{routing_key}'")
channel.basic_publish(
    exchange='logs_rpc',
    routing_key=routing_key,
    properties=pika.BasicProperties(reply_to=callback_queue, correlation_id=corr_id),
    body=str(n),
)
while response is None:
    connection.process_data_events(time_limit=None)
print(f' [.] Got {response}')

connection.close()
