"""Shared helpers for the pika end-to-end programs.

Each program connects to the broker given as argv[1] or env AMQP_URL, runs a list of scenarios and prints
one JSON line per scenario: {"scenario": name, ...observations} or, when the scenario itself raised
unexpectedly, {"scenario": name, "error": "..."}. The node:test driver (test/integration/pika.test.ts) parses
these lines and asserts on them. The program exits 0 when every scenario ran (assertions live in TS).
"""
import json
import os
import random
import signal
import string
import sys
import time
import traceback

import pika
import pika.exceptions

if not hasattr(pika.ConnectionParameters, 'blocked_connection_timeout'):  # pragma: no cover - sanity check
    raise SystemExit('pika 1.x required')


def broker_url():
    if len(sys.argv) > 1 and sys.argv[1]:
        return sys.argv[1]
    url = os.environ.get('AMQP_URL')
    if not url:
        raise SystemExit('usage: %s AMQP_URL (or set env AMQP_URL)' % sys.argv[0])
    return url


URL = None


def params(url=None, **overrides):
    """URLParameters for the broker, with optional attribute overrides (heartbeat=..., etc.)."""
    p = pika.URLParameters(url or URL)
    p.connection_attempts = 1
    p.socket_timeout = 10
    p.blocked_connection_timeout = 30
    for key, value in overrides.items():
        setattr(p, key, value)
    return p


def connect(url=None, **overrides):
    return pika.BlockingConnection(params(url, **overrides))


def unique(prefix):
    suffix = ''.join(random.choice(string.ascii_lowercase + string.digits) for _ in range(10))
    return '%s-%s' % (prefix, suffix)


def closed_info(exc):
    """Describe a pika ChannelClosed/ConnectionClosed exception: class, reply code and reply text."""
    info = {'exc': type(exc).__name__}
    code = getattr(exc, 'reply_code', None)
    text = getattr(exc, 'reply_text', None)
    if code is not None:
        info['code'] = code
    if text is not None:
        info['text'] = text
    return info


def expect_error(fn, *args, **kwargs):
    """Run fn, expecting a pika AMQP error; return its description (or {'exc': None} when nothing was raised)."""
    try:
        fn(*args, **kwargs)
    except (pika.exceptions.AMQPChannelError, pika.exceptions.AMQPConnectionError) as exc:
        return closed_info(exc)
    return {'exc': None}


def drain(connection, until, timeout=5.0):
    """Process I/O on connection until until() is true or timeout seconds pass; returns until()."""
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        connection.process_data_events(time_limit=0.05)
    return until()


def props_dict(props):
    """The basic properties that were set, as a JSON-friendly dict."""
    out = {}
    for key in ('content_type', 'content_encoding', 'headers', 'delivery_mode', 'priority', 'correlation_id',
                'reply_to', 'expiration', 'message_id', 'timestamp', 'type', 'user_id', 'app_id', 'cluster_id'):
        value = getattr(props, key, None)
        if value is not None:
            out[key] = jsonable(value)
    return out


def jsonable(value):
    """Convert pika-decoded table values into something json.dumps accepts, tagging the non-JSON types."""
    import datetime
    import decimal
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return {'$bytes': value.decode('latin-1')}
    if isinstance(value, decimal.Decimal):
        return {'$decimal': str(value)}
    if isinstance(value, datetime.datetime):
        return {'$timestamp': int(value.replace(tzinfo=datetime.timezone.utc).timestamp())}
    return value


def emit(name, result):
    line = {'scenario': name}
    line.update(result)
    print(json.dumps(line, sort_keys=True), flush=True)


SCENARIO_TIMEOUT = int(os.environ.get('PIKA_SCENARIO_TIMEOUT', '20'))


class ScenarioTimeout(Exception):
    pass


def _on_alarm(_signum, _frame):
    raise ScenarioTimeout('scenario did not finish within %d s (broker not answering?)' % SCENARIO_TIMEOUT)


def run(scenarios):
    """Run each (name, fn) scenario in order, printing its observations. Only scenarios named on the command
    line after the URL run, when any are given. A scenario that hangs (a broker that never answers) is
    interrupted after SCENARIO_TIMEOUT seconds and reported as an error, so the others still run."""
    global URL
    URL = broker_url()
    only = set(sys.argv[2:])
    signal.signal(signal.SIGALRM, _on_alarm)
    for name, fn in scenarios:
        if only and name not in only:
            continue
        started = time.monotonic()
        signal.alarm(SCENARIO_TIMEOUT)
        try:
            result = fn()
        except Exception as exc:  # report and continue with the next scenario
            result = {'error': '%s: %s' % (type(exc).__name__, exc), 'traceback': traceback.format_exc()}
        finally:
            signal.alarm(0)
        result = dict(result or {})
        result['elapsed_ms'] = int((time.monotonic() - started) * 1000)
        emit(name, result)
    sys.stdout.flush()
