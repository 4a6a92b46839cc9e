// Command fanout_client holds many observer WebSockets open and measures what they receive.
//
// It is the one client bench/fanout.py points at both servers (Gavel's fan-out and
// Centrifugo), so both are measured the same way. It prints "READY <n>" once every socket is
// connected (and, for Centrifugo, subscribed), then counts price messages and their latency
// (receive time minus the "decided_ms" the publisher stamped in), and prints one JSON line of
// results when every socket has seen -expect messages or -timeout passes. For Gavel, a resync
// snapshot (the fan-out skipped to the latest price) counts as seeing its seq: its age is a
// staleness sample like a price's, and the prices it jumped over are counted as skipped.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

type result struct {
	Connected int     `json:"connected"`
	Received  int64   `json:"received"`
	Resyncs   int64   `json:"resyncs"`
	Skipped   int64   `json:"skipped"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	Seconds   float64 `json:"seconds"`
}

var decidedKey = []byte(`"decided_ms":`)
var seqKey = []byte(`"seq":`)

// decidedMs finds the publisher's timestamp without a full JSON parse: both servers deliver
// the same price object, Centrifugo inside its push envelope.
func decidedMs(msg []byte) (int64, bool) {
	return intAfter(msg, decidedKey)
}

func intAfter(msg []byte, key []byte) (int64, bool) {
	i := bytes.Index(msg, key)
	if i < 0 {
		return 0, false
	}
	j := i + len(key)
	k := j
	for k < len(msg) && msg[k] >= '0' && msg[k] <= '9' {
		k++
	}
	v, err := strconv.ParseInt(string(msg[j:k]), 10, 64)
	return v, err == nil
}

func main() {
	target := flag.String("url", "", "ws:// URL to connect to")
	mode := flag.String("mode", "gavel", "gavel or centrifugo")
	channel := flag.String("channel", "", "Centrifugo channel (the drop id)")
	conns := flag.Int("conns", 1000, "sockets to open")
	expect := flag.Int("expect", 100, "price messages each socket should receive")
	timeout := flag.Duration("timeout", 120*time.Second, "give up after this long")
	flag.Parse()
	if _, err := url.Parse(*target); err != nil || *target == "" {
		fmt.Fprintln(os.Stderr, "need -url")
		os.Exit(2)
	}

	var received atomic.Int64
	var resyncs atomic.Int64
	var skipped atomic.Int64
	var connected atomic.Int64
	var mu sync.Mutex
	latencies := make([]float64, 0, *conns**expect)
	done := make(chan struct{}, *conns)
	ready := make(chan struct{}, *conns)
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 4096,
		WriteBufferSize: 1024}
	sem := make(chan struct{}, 200) // dial this many at once

	for c := 0; c < *conns; c++ {
		go func() {
			sem <- struct{}{}
			ws, _, err := dialer.Dial(*target, nil)
			<-sem
			if err != nil {
				fmt.Fprintln(os.Stderr, "dial:", err)
				ready <- struct{}{}
				done <- struct{}{}
				return
			}
			defer ws.Close()
			if *mode == "centrifugo" {
				cmd := fmt.Sprintf("{\"id\":1,\"connect\":{}}\n{\"id\":2,\"subscribe\":{\"channel\":%q}}",
					*channel)
				if err := ws.WriteMessage(websocket.TextMessage, []byte(cmd)); err != nil {
					ready <- struct{}{}
					done <- struct{}{}
					return
				}
				for subscribed := false; !subscribed; {
					_, msg, err := ws.ReadMessage()
					if err != nil {
						ready <- struct{}{}
						done <- struct{}{}
						return
					}
					subscribed = bytes.Contains(msg, []byte(`"id":2`))
				}
			}
			connected.Add(1)
			ready <- struct{}{}
			local := make([]float64, 0, *expect)
			for seen := 0; seen < *expect; {
				_, msg, err := ws.ReadMessage()
				if err != nil {
					break
				}
				if *mode == "centrifugo" {
					if msg[0] == '{' && len(msg) == 2 { // Centrifugo ping: answer with a pong
						_ = ws.WriteMessage(websocket.TextMessage, []byte("{}"))
						continue
					}
				} else if bytes.Contains(msg, []byte(`"resync":true`)) {
					// Gavel skipped to the latest: it stands for every seq up to its own.
					seq, ok := intAfter(msg, seqKey)
					ms, fresh := decidedMs(msg)
					if !ok || !fresh || int(seq) <= seen {
						continue
					}
					local = append(local, float64(time.Now().UnixMilli()-ms))
					resyncs.Add(1)
					skipped.Add(seq - int64(seen) - 1)
					seen = int(seq)
					continue
				} else if !bytes.Contains(msg, []byte(`"type":"price"`)) {
					continue
				}
				// Centrifugo may batch pushes in one frame, one JSON object per line.
				for _, part := range bytes.Split(msg, []byte("\n")) {
					if ms, ok := decidedMs(part); ok {
						local = append(local, float64(time.Now().UnixMilli()-ms))
						seen++
					}
				}
			}
			received.Add(int64(len(local)))
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
			done <- struct{}{}
		}()
	}
	for c := 0; c < *conns; c++ {
		<-ready
	}
	fmt.Printf("READY %d\n", connected.Load())
	os.Stdout.Sync()
	began := time.Now()
	deadline := time.After(*timeout)
	for c := 0; c < *conns; c++ {
		select {
		case <-done:
		case <-deadline:
			c = *conns
		}
	}
	mu.Lock()
	defer mu.Unlock()
	sort.Float64s(latencies)
	r := result{Connected: int(connected.Load()), Received: received.Load(),
		Resyncs: resyncs.Load(), Skipped: skipped.Load(),
		Seconds: time.Since(began).Seconds()}
	if n := len(latencies); n > 0 {
		r.P50Ms = latencies[n/2]
		r.P99Ms = latencies[min(n-1, n*99/100)]
		r.MaxMs = latencies[n-1]
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}
