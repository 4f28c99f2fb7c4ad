#!/usr/bin/env python3
"""RPC over a topic exchange: answer Fibonacci requests sent to the durable exchange 'logs_rpc'.

Requests with any routing key reach the durable queue 'task_queue_rpc',
where they wait while no server runs.
"""
import functools
import os
import sys

import pika


@functools.lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main():
    url = os.environ.get('AMQP_URL', 'amqp://guest:guest@localhost:5672/')
    # For tests: stop after this many requests (0, the default, runs until CTRL+C)
    exit_after = int(os.environ.get('EXAMPLE_EXIT_AFTER', '0'))
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()

    channel.exchange_declare(exchange='logs_rpc', exchange_type='topic', durable=True)
    channel.queue_declare(queue='task_queue_rpc', durable=True)
    # '#' matches every routing key
    channel.queue_bind(exchange='logs_rpc', queue='task_queue_rpc', routing_key='#')

    answered = 0

    def on_request(ch, method, props, body):
        nonlocal answered
        n = int(body)
        print(f" [.] fib({n}) (routing key '{method.routing_key}')")
        ch.basic_publish(
            exchange='',
            routing_key=props.reply_to,
            properties=pika.BasicProperties(
                delivery_mode=pika.spec.PERSISTENT_DELIVERY_MODE,
                correlation_id=props.correlation_id,
            ),
            body=str(fib(n)),
        )
        ch.basic_ack(delivery_tag=method.delivery_tag)
        answered += 1
        if answered == exit_after:
            ch.stop_consuming()

    channel.basic_qos(prefetch_count=1)
    channel.basic_consume(queue='task_queue_rpc', on_message_callback=on_request)

    print(" [x] Awaiting RPC requests on exchange 'logs_rpc'")
    channel.start_consuming()
    connection.close()


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        print('Interrupted')
        sys.exit(0)
