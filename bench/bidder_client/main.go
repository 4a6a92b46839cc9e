// Command bidder_client is bench/gateway.py's load generator for one gateway: bidder
// WebSockets (closed loop) or paced REST (open loop).
//
// The gateway under test is a Python process on the same two cores as its load, so the load
// must cost as little CPU as it can: a Python client spent about 60 % of a core at 2,400
// bids/s and starved the very process it measured (docs/performance.md). wrk drives the
// closed-loop REST rows; this drives the rest.
//
// Modes, each printing one JSON line {"n", "rps", "p50", "p99", "errors"} (latencies in ms):
//
//	ws    -connections sockets, each keeping -window bids in flight, answers matched by bid_id;
//	      runs for -seconds and then waits (up to 5 s) for the answers still owed.
//	rest  -connections keep-alive HTTP/1.1 connections posting -rate bids/s in total, each
//	      request sent at its scheduled time or as soon as its connection is free; latency
//	      counts from the scheduled time, so a stalled server is not hidden (no coordinated
//	      omission).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

type options struct {
	base, drop, tag     string
	connections, window int
	rate, seconds       float64
	tokens              []string
}

// recorder gathers latencies from every connection's goroutine.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration
	errors    atomic.Int64
}

func (r *recorder) add(own []time.Duration) {
	r.mu.Lock()
	r.latencies = append(r.latencies, own...)
	r.mu.Unlock()
}

func (r *recorder) summary(elapsed time.Duration) map[string]float64 {
	sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
	pct := func(p float64) float64 {
		if len(r.latencies) == 0 {
			return -1
		}
		i := int(float64(len(r.latencies)) * p)
		if i >= len(r.latencies) {
			i = len(r.latencies) - 1
		}
		return float64(r.latencies[i].Microseconds()) / 1000
	}
	return map[string]float64{
		"n":      float64(len(r.latencies)),
		"rps":    float64(len(r.latencies)) / elapsed.Seconds(),
		"p50":    pct(0.5),
		"p99":    pct(0.99),
		"errors": float64(r.errors.Load()),
	}
}

// wsSocket keeps o.window bids in flight on one bidder socket until stop, then collects the
// answers still owed.
func wsSocket(o options, n int, counter *atomic.Int64, stop time.Time, rec *recorder) error {
	url := strings.Replace(o.base, "http", "ws", 1) + "/v1/drops/" + o.drop + "/bidder"
	head := http.Header{"Authorization": {"Bearer " + o.tokens[n%len(o.tokens)]}}
	dialer := websocket.Dialer{EnableCompression: false, HandshakeTimeout: 10 * time.Second}
	ws, _, err := dialer.Dial(url, head)
	if err != nil {
		return err
	}
	defer ws.Close()
	var mu sync.Mutex
	sent := make(map[string]time.Time, o.window)
	window := make(chan struct{}, o.window)
	var own []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		var msg struct {
			Type  string `json:"type"`
			BidID string `json:"bid_id"`
		}
		for {
			_, raw, err := ws.ReadMessage()
			if err != nil {
				return
			}
			msg.Type, msg.BidID = "", ""
			if json.Unmarshal(raw, &msg) != nil || msg.Type != "result" {
				if msg.Type == "error" {
					rec.errors.Add(1)
				}
				continue
			}
			mu.Lock()
			t0, ok := sent[msg.BidID]
			delete(sent, msg.BidID)
			mu.Unlock()
			if ok {
				own = append(own, time.Since(t0))
				<-window
			}
		}
	}()
	for time.Now().Before(stop) {
		window <- struct{}{}
		i := counter.Add(1)
		id := fmt.Sprintf("g%s-%d-%d", o.tag, n, i)
		mu.Lock()
		sent[id] = time.Now()
		mu.Unlock()
		body := fmt.Sprintf(`{"bid_id":"%s","amount":%d}`, id, 1000+i)
		if err := ws.WriteMessage(websocket.TextMessage, []byte(body)); err != nil {
			return err
		}
	}
	// The answers still owed: the window refills as they arrive.
	drained := time.After(5 * time.Second)
	for k := 0; k < o.window; k++ {
		select {
		case window <- struct{}{}:
		case <-drained:
			k = o.window
		}
	}
	ws.Close()
	<-done
	rec.add(own)
	return nil
}

// restConnection posts bids on one keep-alive connection at its share of the schedule.
func restConnection(o options, n int, conn net.Conn, counter *atomic.Int64, began time.Time,
	rec *recorder) error {
	interval := time.Duration(float64(o.connections) / o.rate * float64(time.Second))
	due := began.Add(interval * time.Duration(n) / time.Duration(o.connections))
	stop := began.Add(time.Duration(o.seconds * float64(time.Second)))
	reader := bufio.NewReader(conn)
	token := o.tokens[n%len(o.tokens)]
	path := "/v1/drops/" + o.drop + "/bids"
	var own []time.Duration
	var request bytes.Buffer
	for due.Before(stop) {
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		i := counter.Add(1)
		body := fmt.Sprintf(`{"bid_id":"q%s-%d-%d","amount":%d}`, o.tag, n, i, 1000+i)
		request.Reset()
		fmt.Fprintf(&request, "POST %s HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			path, token, len(body), body)
		if _, err := conn.Write(request.Bytes()); err != nil {
			return err
		}
		resp, err := http.ReadResponse(reader, nil)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		own = append(own, time.Since(due))
		if resp.StatusCode != 201 && resp.StatusCode != 409 {
			rec.errors.Add(1)
		}
		due = due.Add(interval)
	}
	rec.add(own)
	return nil
}

func run(mode string, o options) (map[string]float64, error) {
	rec := &recorder{}
	var counter atomic.Int64
	var wg sync.WaitGroup
	failures := make(chan error, o.connections)
	var began time.Time
	switch mode {
	case "ws":
		began = time.Now()
		stop := began.Add(time.Duration(o.seconds * float64(time.Second)))
		for n := 0; n < o.connections; n++ {
			wg.Add(1)
			go func(n int) {
				defer wg.Done()
				if err := wsSocket(o, n, &counter, stop, rec); err != nil {
					failures <- err
				}
			}(n)
		}
	case "rest":
		// Connections open before the schedule starts: a TCP handshake is not part of a
		// bid's acknowledgement.
		address := strings.TrimPrefix(o.base, "http://")
		conns := make([]net.Conn, o.connections)
		for n := range conns {
			conn, err := net.Dial("tcp", address)
			if err != nil {
				return nil, err
			}
			defer conn.Close()
			conns[n] = conn
		}
		began = time.Now()
		for n, conn := range conns {
			wg.Add(1)
			go func(n int, conn net.Conn) {
				defer wg.Done()
				if err := restConnection(o, n, conn, &counter, began, rec); err != nil {
					failures <- err
				}
			}(n, conn)
		}
	default:
		return nil, fmt.Errorf("unknown mode %q (ws or rest)", mode)
	}
	wg.Wait()
	close(failures)
	if err, failed := <-failures; failed {
		return nil, err
	}
	return rec.summary(time.Since(began)), nil
}

func main() {
	var o options
	var tokens string
	flags := flag.NewFlagSet("bidder_client", flag.ExitOnError)
	flags.StringVar(&o.base, "base", "", "the gateway, http://127.0.0.1:PORT")
	flags.StringVar(&o.drop, "drop", "", "the drop to bid on")
	flags.StringVar(&tokens, "tokens", "", "a file of bidder tokens, one a line")
	flags.IntVar(&o.connections, "connections", 16, "sockets or HTTP connections")
	flags.IntVar(&o.window, "window", 4, "ws: bids in flight per socket")
	flags.Float64Var(&o.rate, "rate", 1000, "rest: bids/s in total")
	flags.Float64Var(&o.seconds, "seconds", 8, "how long to bid")
	flags.StringVar(&o.tag, "tag", "0", "makes bid ids unique across clients")
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bidder_client ws|rest -base URL -drop ID -tokens FILE ...")
		os.Exit(2)
	}
	flags.Parse(os.Args[2:])
	raw, err := os.ReadFile(tokens)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	o.tokens = strings.Fields(string(raw))
	if len(o.tokens) == 0 || o.base == "" || o.drop == "" {
		fmt.Fprintln(os.Stderr, "bidder_client: -base, -drop and a non-empty -tokens are required")
		os.Exit(2)
	}
	result, err := run(os.Args[1], o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bidder_client:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
}
