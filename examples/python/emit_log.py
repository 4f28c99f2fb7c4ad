#!/usr/bin/env python3
"""Tutorial 3, "Publish/Subscribe": broadcast a log message through the fanout exchange 'logs'."""
import os
import sys

import pika

url = os.environ.get('AMQP_URL', 'amqp://guest:guest@localhost:5672/')
connection = pika.BlockingConnection(pika.URLParameters(url))
channel = connection.channel()

channel.exchange_declare(exchange='logs', exchange_type='fanout')

message = ' '.join(sys.argv[1:]) or 'info: Hello World!'
# A fanout exchange ignores the routing key
channel.basic_publish(exchange='logs', routing_key='', body=message)
print(f" [x] Sent '{message}'")

connection.close()
