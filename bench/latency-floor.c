/*
 * latency-floor - the lowest p99 a broker on this machine can show in scenarios g1/g2 of ../shared/bench.
 *
 * ampperf's latency mode sends one basic.publish frame triplet per send() on an absolute schedule and
 * measures, in another thread of the same process, the time until the message comes back over a second
 * connection. This probe does exactly that without a broker's work, over three paths:
 *   direct : writer -> reader (one loopback hop: one wake-up)
 *   crelay : writer -> relay thread in C -> reader (two hops: what any broker pays, with no protocol work)
 *   via    : writer -> external relay listening on $VIA_IN -> reader listening on $VIA_OUT
 *            (../shared/bench/noderelay.js: two hops through a Node event loop that only forwards frames)
 *
 * usage: latency-floor MODE RATE SECONDS [SIZE]     prints one JSON line: p50/p95/p99/max in µs
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int g_size = 16;
static long g_rate, g_count;
static uint8_t *g_msg;
static size_t g_msglen;
static double *g_lat_us;
static long g_received;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

/* A basic.publish (exchange "", key "q"), a content header with no properties, one body frame: what
 * ampperf writes per message. The body's bytes 8..15 carry the send time. */
static void build_message(void) {
  static const uint8_t method[] = {0, 60, 0, 40, 0, 0, 0, 1, 'q', 0};
  uint8_t header[14] = {0, 60, 0, 0};
  g_msglen = (7 + sizeof method + 1) + (7 + sizeof header + 1) + (7 + (size_t)g_size + 1);
  g_msg = calloc(1, g_msglen);
  uint8_t *p = g_msg;
  p[0] = 1; p[2] = 1; put32(p + 3, sizeof method); memcpy(p + 7, method, sizeof method);
  p += 7 + sizeof method; *p++ = 0xce;
  header[4] = header[5] = header[6] = header[7] = 0; put32(header + 8, (uint32_t)g_size);
  p[0] = 2; p[2] = 1; put32(p + 3, sizeof header); memcpy(p + 7, header, sizeof header);
  p += 7 + sizeof header; *p++ = 0xce;
  p[0] = 3; p[2] = 1; put32(p + 3, (uint32_t)g_size);
  p += 7 + g_size; *p = 0xce;
}

static uint8_t *body_of(uint8_t *m) { return m + (7 + 10 + 1) + (7 + 14 + 1) + 7; }

static int listen_on(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 4)) die("listen");
  return s;
}

static int port_of(int s) {
  struct sockaddr_in a;
  socklen_t n = sizeof a;
  getsockname(s, (struct sockaddr *)&a, &n);
  return ntohs(a.sin_port);
}

static int connect_to(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  for (int tries = 0; connect(s, (struct sockaddr *)&a, sizeof a); tries++) {
    if (tries > 200) die("connect");
    usleep(10000);
  }
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

static int accept_one(int l) {
  int s = accept(l, NULL, NULL), one = 1;
  if (s < 0) die("accept");
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

/* Reads whole messages (three frames each) and records each one's latency. */
static void *reader(void *arg) {
  int fd = *(int *)arg;
  uint8_t *buf = malloc(1 << 20);
  size_t have = 0;
  while (g_received < g_count) {
    ssize_t n = recv(fd, buf + have, (1 << 20) - have, 0);
    if (n <= 0) die("recv");
    have += (size_t)n;
    uint64_t now = now_ns();
    size_t at = 0;
    while (have - at >= g_msglen) {
      uint64_t sent;
      memcpy(&sent, body_of(buf + at) + 8, 8);
      g_lat_us[g_received++] = (double)(now - sent) / 1000.0;
      at += g_msglen;
    }
    memmove(buf, buf + at, have - at);
    have -= at;
  }
  return NULL;
}

/* Forwards whatever arrives: with one message per send the relay's work per message is one recv and one send. */
static void *relay(void *arg) {
  int *fds = arg;
  uint8_t *buf = malloc(1 << 20);
  for (;;) {
    ssize_t n = recv(fds[0], buf, 1 << 20, 0);
    if (n <= 0) return NULL;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = send(fds[1], buf + off, (size_t)(n - off), 0);
      if (w <= 0) return NULL;
      off += w;
    }
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: latency-floor direct|crelay|via RATE SECONDS [SIZE]\n");
    return 64;
  }
  const char *mode = argv[1];
  g_rate = atol(argv[2]);
  g_count = g_rate * atol(argv[3]);
  if (argc > 4) g_size = atoi(argv[4]);
  if (g_size < 16 || g_rate <= 0 || g_count <= 0) return 64;
  build_message();
  g_lat_us = malloc(sizeof(double) * (size_t)g_count);

  int out_fd, in_fd;
  pthread_t relay_thread;
  if (!strcmp(mode, "direct")) {
    int l = listen_on(0);
    out_fd = connect_to(port_of(l));
    in_fd = accept_one(l);
  } else if (!strcmp(mode, "crelay")) {
    int l1 = listen_on(0), l2 = listen_on(0);
    static int fds[2];
    out_fd = connect_to(port_of(l1));
    fds[0] = accept_one(l1);
    fds[1] = connect_to(port_of(l2));
    in_fd = accept_one(l2);
    pthread_create(&relay_thread, NULL, relay, fds);
  } else if (!strcmp(mode, "via")) {
    const char *vin = getenv("VIA_IN"), *vout = getenv("VIA_OUT");
    if (!vin || !vout) {
      fprintf(stderr, "via needs VIA_IN and VIA_OUT\n");
      return 64;
    }
    int l = listen_on(atoi(vout));
    out_fd = connect_to(atoi(vin));
    in_fd = accept_one(l);
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 64;
  }

  pthread_t reader_thread;
  pthread_create(&reader_thread, NULL, reader, &in_fd);
  /* Paced like ampperf --rate: an absolute schedule, one send per message. */
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  long step_ns = 1000000000L / g_rate;
  for (long i = 0; i < g_count; i++) {
    next.tv_nsec += step_ns;
    while (next.tv_nsec >= 1000000000L) next.tv_nsec -= 1000000000L, next.tv_sec++;
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    uint64_t t = now_ns();
    memcpy(body_of(g_msg) + 8, &t, 8);
    if (send(out_fd, g_msg, g_msglen, 0) != (ssize_t)g_msglen) die("send");
  }
  pthread_join(reader_thread, NULL);
  close(out_fd);

  qsort(g_lat_us, (size_t)g_count, sizeof(double), cmp_double);
#define PCT(p) g_lat_us[(size_t)((double)(g_count - 1) * (p))]
  printf("{\"mode\":\"%s\",\"rate\":%ld,\"n\":%ld,\"lat_us\":{\"p50\":%.1f,\"p95\":%.1f,\"p99\":%.1f,\"max\":%.1f}}\n",
         mode, g_rate, g_count, PCT(0.50), PCT(0.95), PCT(0.99), g_lat_us[g_count - 1]);
  return 0;
}
