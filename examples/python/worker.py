#!/usr/bin/env python3
"""Tutorial 2, "Work queues": do the tasks from 'task_queue' one at a time, acking each."""
import os
import sys
import time

import pika


def main():
    url = os.environ.get('AMQP_URL', 'amqp://guest:guest@localhost:5672/')
    # For tests: stop after this many tasks (0, the default, runs until CTRL+C)
    exit_after = int(os.environ.get('EXAMPLE_EXIT_AFTER', '0'))
    # For tests: how long one dot of work takes
    seconds_per_dot = float(os.environ.get('EXAMPLE_SECONDS_PER_DOT', '1'))
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()

    channel.queue_declare(queue='task_queue', durable=True)

    done = 0

    def callback(ch, method, properties, body):
        nonlocal done
        print(f" [x] Received '{body.decode()}'")
        time.sleep(body.count(b'.') * seconds_per_dot)
        print(' [x] Done')
        ch.basic_ack(delivery_tag=method.delivery_tag)
        done += 1
        if done == exit_after:
            ch.stop_consuming()

    # Fair dispatch: no new task until this worker has acknowledged the previous one
    channel.basic_qos(prefetch_count=1)
    channel.basic_consume(queue='task_queue', on_message_callback=callback)

    print(' [*] Waiting for messages. To exit press CTRL+C')
    channel.start_consuming()
    connection.close()


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        print('Interrupted')
        sys.exit(0)
