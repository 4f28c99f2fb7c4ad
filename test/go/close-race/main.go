// The scenario of issue #7 (item 8): RabbitMQ's Go client closing one connection from many goroutines at
// once. Each Close sends its own connection.close; the broker must answer with close-ok and leave the
// socket open until the client closes it, so that no Close sees EOF instead of its close-ok.
//
// Usage: close-race AMQP_URL [TRIES]; prints one JSON line and exits 0 only if every try was clean.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
)

const closers = 10

type result struct {
	Tries    int      `json:"tries"`
	Clean    int      `json:"clean"`
	Failures []string `json:"failures"`
}

// oneTry dials, closes from many goroutines at once, and describes what went wrong ("" if nothing did).
func oneTry(url string) string {
	conn, err := amqp.Dial(url)
	if err != nil {
		return "dial: " + err.Error()
	}
	var wg sync.WaitGroup
	errs := make([]error, closers)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = conn.Close()
		}(i)
	}
	wg.Wait()
	succeeded := 0
	for _, e := range errs {
		var amqpErr *amqp.Error
		switch {
		case e == nil:
			succeeded++
		case errors.Is(e, amqp.ErrClosed):
			// this goroutine found the connection closed by another one: expected
		case errors.As(e, &amqpErr):
			// any other AMQP error (501 EOF above all) means a close-ok was lost
			return fmt.Sprintf("Close returned %v", e)
		default:
			// the client writing its close after another goroutine shut the socket: its own race
		}
	}
	if succeeded == 0 {
		return "no Close returned nil"
	}
	return ""
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: close-race AMQP_URL [TRIES]")
		os.Exit(2)
	}
	tries := 20
	if len(os.Args) > 2 {
		tries, _ = strconv.Atoi(os.Args[2])
	}
	r := result{Tries: tries, Failures: []string{}}
	for i := 0; i < tries; i++ {
		if failure := oneTry(os.Args[1]); failure == "" {
			r.Clean++
		} else {
			r.Failures = append(r.Failures, failure)
		}
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	if r.Clean != tries {
		os.Exit(1)
	}
}
