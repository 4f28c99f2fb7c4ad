#!/usr/bin/env python3
"""Retry with delay: publish a job to the exchange 'work' for retry_worker.

Usage: python3 retry_publish.py [job...]
(a job containing 'fail-twice' fails twice, one containing 'always-fail' always fails)
"""
import os
import sys

import pika


def declare_topology(channel, retry_delay_ms):
    """The same topology as retry_worker, declared idempotently by both programs.

    exchange 'work' --job--> 'work_queue' --rejected--> exchange 'retry' --job--> 'work_retry_5s'
    'work_retry_5s' --expired after the delay--> exchange 'work' (same routing key) --> 'work_queue'
    and the parking queue 'work_failed' for jobs that failed too often.
    """
    channel.exchange_declare(exchange='work', exchange_type='direct', durable=True)
    channel.exchange_declare(exchange='retry', exchange_type='direct', durable=True)
    channel.queue_declare(
        queue='work_queue', durable=True, arguments={'x-dead-letter-exchange': 'retry'}
    )
    channel.queue_bind(queue='work_queue', exchange='work', routing_key='job')
    channel.queue_declare(
        queue='work_retry_5s',
        durable=True,
        arguments={'x-message-ttl': retry_delay_ms, 'x-dead-letter-exchange': 'work'},
    )
    channel.queue_bind(queue='work_retry_5s', exchange='retry', routing_key='job')
    channel.queue_declare(queue='work_failed', durable=True)


def main():
    url = os.environ.get('AMQP_URL', 'amqp://guest:guest@localhost:5672/')
    # How long a failed job waits in the retry queue. Both programs declare the queue, so they must agree.
    retry_delay_ms = int(os.environ.get('RETRY_DELAY_MS', '5000'))
    job = ' '.join(sys.argv[1:]) or 'Hello World!'

    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    declare_topology(channel, retry_delay_ms)

    channel.basic_publish(
        exchange='work',
        routing_key='job',
        body=job,
        properties=pika.BasicProperties(delivery_mode=pika.spec.PERSISTENT_DELIVERY_MODE),
    )
    print(f" [x] Sent '{job}'")
    connection.close()


if __name__ == '__main__':
    main()
