#!/usr/bin/env python3
"""Retry with delay, built from a per-queue TTL and dead-lettering.

Take jobs from 'work_queue'; a failed job is rejected without requeueing, waits in 'work_retry_5s'
until its TTL expires, and comes back. The attempt number comes from the x-death header; after the
last attempt the job is parked in 'work_failed'. For the demo, a job containing 'fail-twice' fails on
its first two attempts and one containing 'always-fail' fails every time.
"""
import os
import sys

import pika


def declare_topology(channel, retry_delay_ms):
    """The same topology as retry_publish, declared idempotently by both programs.

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


def rejections(properties):
    """How many times this job has been rejected from 'work_queue', according to x-death."""
    for death in (properties.headers or {}).get('x-death') or []:
        if death.get('queue') == 'work_queue' and death.get('reason') == 'rejected':
            return int(death['count'])
    return 0


def succeeds(job, attempt):
    if 'always-fail' in job:
        return False
    if 'fail-twice' in job:
        return attempt > 2
    return True


def main():
    url = os.environ.get('AMQP_URL', 'amqp://guest:guest@localhost:5672/')
    # For tests: stop after this many jobs are done or given up on (0, the default, runs until CTRL+C)
    exit_after = int(os.environ.get('EXAMPLE_EXIT_AFTER', '0'))
    # How long a failed job waits in the retry queue. Both programs declare the queue, so they must agree.
    retry_delay_ms = int(os.environ.get('RETRY_DELAY_MS', '5000'))
    # Attempts before a job is parked in 'work_failed'
    max_attempts = int(os.environ.get('RETRY_MAX_ATTEMPTS', '3'))

    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    declare_topology(channel, retry_delay_ms)

    finished = 0

    def callback(ch, method, properties, body):
        nonlocal finished
        job = body.decode()
        count = rejections(properties)
        attempt = count + 1
        seen = f' (x-death count {count})' if count else ''
        print(f" [x] Processing '{job}' attempt {attempt}{seen}")
        if succeeds(job, attempt):
            print(f" [x] Done '{job}'")
            ch.basic_ack(delivery_tag=method.delivery_tag)
        elif attempt < max_attempts:
            print(f' [!] Failed, retrying in {retry_delay_ms / 1000:g}s')
            # No requeue: the queue dead-letters the job to the exchange 'retry'
            ch.basic_nack(delivery_tag=method.delivery_tag, requeue=False)
            return
        else:
            print(f" [!] Giving up on '{job}' after {attempt} attempts")
            # Park it with its history (x-death) for someone to look at, then drop it from the work queue
            ch.basic_publish(
                exchange='',
                routing_key='work_failed',
                body=body,
                properties=pika.BasicProperties(
                    delivery_mode=pika.spec.PERSISTENT_DELIVERY_MODE, headers=properties.headers
                ),
            )
            ch.basic_ack(delivery_tag=method.delivery_tag)
        finished += 1
        if finished == exit_after:
            ch.stop_consuming()

    channel.basic_qos(prefetch_count=1)
    channel.basic_consume(queue='work_queue', on_message_callback=callback)

    print(' [*] Waiting for jobs. To exit press CTRL+C')
    channel.start_consuming()
    connection.close()


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        print('Interrupted')
        sys.exit(0)
