#!/usr/bin/env python3
"""Tutorial 6, "RPC": ask the server on 'rpc_queue' for fib(n) and wait for the answer.

Usage: python3 rpc_client.py [n]
"""
import os
import sys
import uuid

import pika


class FibonacciRpcClient:
    def __init__(self, url):
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()

        # The server sends its answers to this exclusive queue, named by the broker
        result = self.channel.queue_declare(queue='', exclusive=True)
        self.callback_queue = result.method.queue
        self.channel.basic_consume(
            queue=self.callback_queue, on_message_callback=self.on_response, auto_ack=True
        )

        self.response = None
        self.corr_id = None

    def on_response(self, ch, method, props, body):
        # Ignore anything that is not the answer to our request
        if self.corr_id == props.correlation_id:
            self.response = body

    def call(self, n):
        self.response = None
        self.corr_id = str(uuid.uuid4())
        self.channel.basic_publish(
            exchange='',
            routing_key='rpc_queue',
            properties=pika.BasicProperties(
                reply_to=self.callback_queue, correlation_id=self.corr_id
            ),
            body=str(n),
        )
        while self.response is None:
            self.connection.process_data_events(time_limit=None)
        return int(self.response)

    def close(self):
        self.connection.close()


n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
url = os.environ.get('AMQP_URL', 'amqp://guest:guest@localhost:5672/')
fibonacci_rpc = FibonacciRpcClient(url)

print(f' [x] Requesting fib({n})')
response = fibonacci_rpc.call(n)
print(f' [.] Got {response}')
fibonacci_rpc.close()
