package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rain-wasm/rain/cluster"
	"github.com/rain-wasm/rain/cluster/dashboard"
)

// dashFigures are what an open dashboard page costs the calls: the round trip of one add (p50)
// and the throughput of a map of adds in chunks of 1, with the hub's dashboard running and no
// page open ("closed"), and with a page open ("open": a reader of its event stream that decodes
// every update, as a browser does). Each figure is the median of its rounds; the rounds
// alternate which comes first.
type dashFigures struct {
	Rounds       int     `json:"rounds"`
	RTTClosed    float64 `json:"rtt_p50_closed_us"`
	RTTOpen      float64 `json:"rtt_p50_open_us"`
	Chunk1Closed float64 `json:"map_chunk1_closed_per_s"`
	Chunk1Open   float64 `json:"map_chunk1_open_per_s"`
	// The median over the rounds of each round's open figure over its closed one: a round
	// measures both one after the other, so that the machine's drift (other programs) weighs
	// less than in the medians above.
	RTTRatio    float64 `json:"rtt_open_over_closed"`
	Chunk1Ratio float64 `json:"map_chunk1_open_over_closed"`
	// Each round's ratios, to judge the noise by.
	RTTRatios    []float64 `json:"rtt_open_over_closed_rounds"`
	Chunk1Ratios []float64 `json:"map_chunk1_open_over_closed_rounds"`
	Updates      float64   `json:"page_updates_per_s"` // while open
	PageBytes    float64   `json:"page_bytes_per_s"`
}

// dashboardCost measures dashFigures over rounds rounds of rtts round trips and a map of
// calls adds each way.
func dashboardCost(ctx context.Context, hub *cluster.Hub, client *cluster.Client, add cluster.Export, rtts, calls, rounds int) (*dashFigures, error) {
	d, err := dashboard.Watch(hub)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	args := make([][]uint64, calls)
	for i := range args {
		args[i] = []uint64{uint64(i), 1}
	}
	measure := func() (rtt, rate float64, err error) {
		lat := make([]time.Duration, rtts)
		for i := range lat {
			t0 := time.Now()
			if _, err := client.Call(ctx, cluster.Call{Export: add, Args: []uint64{1, 2}}); err != nil {
				return 0, 0, err
			}
			lat[i] = time.Since(t0)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		t0 := time.Now()
		r, err := client.Map(ctx, cluster.MapSpec{Export: add, Args: args, Chunk: 1}, nil)
		if err == nil && r.Failed > 0 {
			err = fmt.Errorf("%d adds failed", r.Failed)
		}
		return float64(lat[len(lat)/2].Nanoseconds()) / 1e3, float64(calls) / time.Since(t0).Seconds(), err
	}
	f := &dashFigures{Rounds: rounds}
	var rttC, rttO, rateC, rateO []float64
	var updates, bytes atomic.Int64
	var openFor time.Duration
	for round := range rounds {
		for k := range 2 {
			open := (round+k)%2 == 1
			pctx, stop := context.WithCancel(ctx)
			if open {
				if err := readPage(pctx, d.URL(), &updates, &bytes); err != nil {
					stop()
					return nil, err
				}
				time.Sleep(300 * time.Millisecond) // the client hears the page's watch
			}
			t0 := time.Now()
			rtt, rate, err := measure()
			stop()
			if open {
				openFor += time.Since(t0)
				time.Sleep(300 * time.Millisecond) // the dashboard tells the client that no page is open
			}
			if err != nil {
				return nil, err
			}
			if open {
				rttO, rateO = append(rttO, rtt), append(rateO, rate)
			} else {
				rttC, rateC = append(rttC, rtt), append(rateC, rate)
			}
		}
	}
	f.RTTClosed, f.RTTOpen, f.Chunk1Closed, f.Chunk1Open = median(rttC), median(rttO), median(rateC), median(rateO)
	var rr, cr []float64
	for i := range rttC {
		rr, cr = append(rr, rttO[i]/rttC[i]), append(cr, rateO[i]/rateC[i])
	}
	f.RTTRatio, f.Chunk1Ratio, f.RTTRatios, f.Chunk1Ratios = median(rr), median(cr), rr, cr
	// Updates and bytes were counted from the page's opening, a little before each measurement.
	f.Updates = float64(updates.Load()) / (openFor + time.Duration(rounds)*300*time.Millisecond).Seconds()
	f.PageBytes = float64(bytes.Load()) / (openFor + time.Duration(rounds)*300*time.Millisecond).Seconds()
	return f, nil
}

// readPage opens the dashboard's event stream at page (its URL with the token) and reads it
// until ctx ends, decoding each update, counting them and their bytes.
func readPage(ctx context.Context, page string, updates, bytes *atomic.Int64) error {
	req, err := http.NewRequestWithContext(ctx, "GET", strings.Replace(page, "/?", "/events?", 1), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return fmt.Errorf("dashboard: %s", resp.Status)
	}
	go func() {
		defer resp.Body.Close()
		r := bufio.NewReaderSize(resp.Body, 1<<20)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var v map[string]any
				if json.Unmarshal([]byte(data), &v) == nil {
					updates.Add(1)
					bytes.Add(int64(len(data)))
				}
			}
		}
	}()
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
