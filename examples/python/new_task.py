#!/usr/bin/env python3
"""Tutorial 2, "Work queues": send a task to the durable queue 'task_queue'.

Each dot in the message stands for one second of work: python3 new_task.py A long task.....
"""
import os
import sys

import pika

url = os.environ.get('AMQP_URL', 'amqp://guest:guest@localhost:5672/')
connection = pika.BlockingConnection(pika.URLParameters(url))
channel = connection.channel()

# A durable queue and persistent messages (delivery mode 2) survive a broker restart
channel.queue_declare(queue='task_queue', durable=True)

message = ' '.join(sys.argv[1:]) or 'Hello World!'
channel.basic_publish(
    exchange='',
    routing_key='task_queue',
    body=message,
    properties=pika.BasicProperties(delivery_mode=pika.spec.PERSISTENT_DELIVERY_MODE),
)
print(f" [x] Sent '{message}'")

connection.close()
