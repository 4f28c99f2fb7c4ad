"""RPC (tutorial 6): a Fibonacci server and client on two connections, with reply_to and correlation_id.

Both connections are driven from one thread (pika's BlockingConnection is not thread-safe), alternating
process_data_events between the server and the client.
"""
import time
import uuid

import pika

import common


def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


class Server:
    """The tutorial's rpc_server: prefetch 1, manual ack, replies to props.reply_to via the default exchange."""

    def __init__(self, queue, exchange=None, durable=False):
        self.conn = common.connect()
        self.ch = self.conn.channel()
        if exchange is not None:
            self.ch.exchange_declare(exchange=exchange, exchange_type='topic', durable=True)
        self.ch.queue_declare(queue=queue, durable=durable)
        if exchange is not None:
            self.ch.queue_bind(queue=queue, exchange=exchange, routing_key='#')
        self.ch.basic_qos(prefetch_count=1)
        self.requests = []
        self.ch.basic_consume(queue=queue, on_message_callback=self.on_request)

    def on_request(self, ch, method, props, body):
        n = int(body)
        self.requests.append({'n': n, 'reply_to_prefix': props.reply_to.split('-')[0],
                              'correlation_id': props.correlation_id, 'routing_key': method.routing_key,
                              'exchange': method.exchange})
        ch.basic_publish(exchange='', routing_key=props.reply_to,
                         properties=pika.BasicProperties(correlation_id=props.correlation_id),
                         body=str(fib(n)).encode())
        ch.basic_ack(delivery_tag=method.delivery_tag)


class Client:
    """The tutorial's FibonacciRpcClient with an exclusive server-named callback queue."""

    def __init__(self, server):
        self.server = server
        self.conn = common.connect()
        self.ch = self.conn.channel()
        self.callback_queue = self.ch.queue_declare(queue='', exclusive=True).method.queue
        self.ch.basic_consume(queue=self.callback_queue, on_message_callback=self.on_response, auto_ack=True)
        self.response = None
        self.corr_id = None
        self.stray = 0

    def on_response(self, ch, method, props, body):
        if self.corr_id == props.correlation_id:
            self.response = body
        else:
            self.stray += 1

    def call(self, n, exchange='', routing_key='rpc_queue', timeout=5.0):
        self.response = None
        self.corr_id = str(uuid.uuid4())
        self.ch.basic_publish(exchange=exchange, routing_key=routing_key,
                              properties=pika.BasicProperties(reply_to=self.callback_queue,
                                                              correlation_id=self.corr_id),
                              body=str(n).encode())
        deadline = time.monotonic() + timeout
        while self.response is None and time.monotonic() < deadline:
            self.server.conn.process_data_events(time_limit=0)
            self.conn.process_data_events(time_limit=0.01)
        return None if self.response is None else int(self.response)


def rpc_fibonacci():
    queue = common.unique('rpc_queue')
    server = Server(queue)
    client = Client(server)
    inputs = [0, 1, 2, 10, 30, 70]  # fib(70) < 2**53 survives JSON.parse
    results = [client.call(n, routing_key=queue) for n in inputs]
    requests = server.requests
    callback_queue = client.callback_queue
    client.conn.close()
    server.ch.queue_delete(queue=queue)
    server.conn.close()
    return {
        'inputs': inputs,
        'results': results,
        'expected': [fib(n) for n in inputs],
        'callback_queue': callback_queue,
        'server_saw': [r['n'] for r in requests],
        'correlation_ids_unique': len({r['correlation_id'] for r in requests}) == len(requests),
        'stray_replies': client.stray,
    }


def rpc_seed_topic():
    """The seed variant: durable topic exchange bound with '#' to a durable queue, prefetch 1, manual ack."""
    exchange = common.unique('rpc-exchange')
    queue = common.unique('rpc-requests')
    server = Server(queue, exchange=exchange, durable=True)
    client = Client(server)
    keys = ['fib.calc', 'anything', 'deeply.nested.key']
    results = []
    for i, key in enumerate(keys):
        results.append(client.call(10 + i, exchange=exchange, routing_key=key))
    # the exchange and queue really are durable: a redeclare with durable=False is refused
    check = server.conn.channel()
    redeclare = common.expect_error(check.exchange_declare, exchange=exchange, exchange_type='topic', durable=False)
    requests = server.requests
    client.conn.close()
    server.ch.queue_delete(queue=queue)
    server.ch.exchange_delete(exchange=exchange)
    server.conn.close()
    return {
        'exchange': exchange,
        'results': results,
        'expected': [fib(10 + i) for i in range(len(keys))],
        'routing_keys_seen': [r['routing_key'] for r in requests],
        'exchanges_seen': [r['exchange'] for r in requests],
        'stray_replies': client.stray,
        'redeclare_non_durable': redeclare,
    }


def rpc_concurrent_requests():
    """Several outstanding requests on one callback queue, matched back by correlation_id."""
    queue = common.unique('rpc_batch')
    server = Server(queue)
    client = Client(server)
    pending = {}
    replies = {}

    def on_reply(ch, method, props, body):
        replies[props.correlation_id] = int(body)

    client.ch.basic_cancel(client.ch.consumer_tags[0])
    client.ch.basic_consume(queue=client.callback_queue, on_message_callback=on_reply, auto_ack=True)
    for n in range(20):
        corr = str(uuid.uuid4())
        pending[corr] = n
        client.ch.basic_publish(exchange='', routing_key=queue, body=str(n).encode(),
                                properties=pika.BasicProperties(reply_to=client.callback_queue,
                                                                correlation_id=corr))
    deadline = time.monotonic() + 5
    while len(replies) < len(pending) and time.monotonic() < deadline:
        server.conn.process_data_events(time_limit=0)
        client.conn.process_data_events(time_limit=0.01)
    matched = all(replies.get(corr) == fib(n) for corr, n in pending.items())
    client.conn.close()
    server.ch.queue_delete(queue=queue)
    server.conn.close()
    return {'requests': len(pending), 'replies': len(replies), 'all_matched': matched,
            'server_order': [r['n'] for r in server.requests]}


if __name__ == '__main__':
    common.run([
        ('rpc_fibonacci', rpc_fibonacci),
        ('rpc_seed_topic', rpc_seed_topic),
        ('rpc_concurrent_requests', rpc_concurrent_requests),
    ])
