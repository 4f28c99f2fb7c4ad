#!/usr/bin/env python3
"""RPC with direct reply-to: ask the server on 'rpc_queue' for fib(n) without a callback queue.

The client consumes from the pseudo-queue 'amq.rabbitmq.reply-to' (no-ack) before it publishes, and
sets reply_to to that name. The broker rewrites it into a name that routes back to this channel, so
the tutorial 6 server answers unchanged.

Usage: python3 rpc_client_direct_reply.py [n...]
"""
import os
import sys
import uuid

import pika

REPLY_TO = 'amq.rabbitmq.reply-to'


class FibonacciRpcClient:
    def __init__(self, url):
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()

        # Consume first: the broker refuses a publish with this reply_to on a channel that is not
        # consuming from it. Replies bypass any queue, so this consumer must be in no-ack mode.
        self.channel.basic_consume(
            queue=REPLY_TO, on_message_callback=self.on_response, auto_ack=True
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
            properties=pika.BasicProperties(reply_to=REPLY_TO, correlation_id=self.corr_id),
            body=str(n),
        )
        while self.response is None:
            self.connection.process_data_events(time_limit=None)
        return int(self.response)

    def close(self):
        self.connection.close()


def main():
    try:
        numbers = [int(arg) for arg in sys.argv[1:]] or [30]
    except ValueError:
        print('Usage: rpc_client_direct_reply.py [n...]', file=sys.stderr)
        sys.exit(1)
    url = os.environ.get('AMQP_URL', 'amqp://guest:guest@localhost:5672/')
    fibonacci_rpc = FibonacciRpcClient(url)
    for n in numbers:
        print(f' [x] Requesting fib({n})')
        response = fibonacci_rpc.call(n)
        print(f' [.] Got {response}')
    fibonacci_rpc.close()


if __name__ == '__main__':
    main()
