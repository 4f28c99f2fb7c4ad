#!/usr/bin/env python3
"""Tutorial 5, "Topics": print the log messages whose routing key matches one of the binding keys.

In a binding key, '*' stands for exactly one word and '#' for zero or more words.
Usage: python3 receive_logs_topic.py 'kern.*' '*.critical'
"""
import os
import sys

import pika


def main():
    binding_keys = sys.argv[1:]
    if not binding_keys:
        sys.stderr.write(f'Usage: {sys.argv[0]} [binding_key]...\n')
        sys.exit(1)

    url = os.environ.get('AMQP_URL', 'amqp://guest:guest@localhost:5672/')
    # For tests: stop after this many messages (0, the default, runs until CTRL+C)
    exit_after = int(os.environ.get('EXAMPLE_EXIT_AFTER', '0'))
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()

    channel.exchange_declare(exchange='topic_logs', exchange_type='topic')
    result = channel.queue_declare(queue='', exclusive=True)
    queue_name = result.method.queue

    for binding_key in binding_keys:
        channel.queue_bind(exchange='topic_logs', queue=queue_name, routing_key=binding_key)

    received = 0

    def callback(ch, method, properties, body):
        nonlocal received
        print(f" [x] '{method.routing_key}':'{body.decode()}'")
        received += 1
        if received == exit_after:
            ch.stop_consuming()

    channel.basic_consume(queue=queue_name, on_message_callback=callback, auto_ack=True)

    print(' [*] Waiting for logs. To exit press CTRL+C')
    channel.start_consuming()
    connection.close()


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        print('Interrupted')
        sys.exit(0)
