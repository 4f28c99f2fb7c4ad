#!/usr/bin/env python3
"""Tutorial 6, "RPC": answer Fibonacci requests from the queue 'rpc_queue'."""
import os
import sys

import pika


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main():
    url = os.environ.get('AMQP_URL', 'amqp://guest:guest@localhost:5672/')
    # For tests: stop after this many requests (0, the default, runs until CTRL+C)
    exit_after = int(os.environ.get('EXAMPLE_EXIT_AFTER', '0'))
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()

    channel.queue_declare(queue='rpc_queue')

    answered = 0

    def on_request(ch, method, props, body):
        nonlocal answered
        n = int(body)
        print(f' [.] fib({n})')
        # Reply through the default exchange to the client's callback queue,
        # echoing the request's correlation id
        ch.basic_publish(
            exchange='',
            routing_key=props.reply_to,
            properties=pika.BasicProperties(correlation_id=props.correlation_id),
            body=str(fib(n)),
        )
        ch.basic_ack(delivery_tag=method.delivery_tag)
        answered += 1
        if answered == exit_after:
            ch.stop_consuming()

    # Spread the load over several servers: one request at a time each
    channel.basic_qos(prefetch_count=1)
    channel.basic_consume(queue='rpc_queue', on_message_callback=on_request)

    print(' [x] Awaiting RPC requests')
    channel.start_consuming()
    connection.close()


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        print('Interrupted')
        sys.exit(0)
