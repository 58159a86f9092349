// lgtest is the one program of the cluster suite's images. Its modes:
//
//	lgtest serve [-port 8080] [-start-delay 0s]
//	    HTTP server answering "ok <hostname>" on every path. -start-delay waits before listening
//	    (a slow start); on SIGTERM it stops listening and exits 0 within a second (requests in
//	    flight finish).
//	lgtest crash
//	    prints a reason (a missing config file) to stderr and exits 1: a container that fails
//	    with a reason its spec does not show.
//	lgtest pause
//	    the Pod sandbox's process: waits for SIGTERM or SIGINT.
//	lgtest load -url URL [-interval 10ms] [-timeout 1s]
//	    sends GET requests one after another until SIGTERM or SIGINT, then prints
//	    {"sent":N,"failed":N,"errors":{"reason":N}} on stdout.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: lgtest serve|crash|pause|load [flags]")
		os.Exit(2)
	}
	mode, args := os.Args[1], os.Args[2:]
	switch mode {
	case "serve":
		serve(args)
	case "crash":
		crash()
	case "pause":
		waitForSignal(syscall.SIGTERM, syscall.SIGINT)
	case "load":
		load(args)
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", mode)
		os.Exit(2)
	}
}

func waitForSignal(signals ...os.Signal) os.Signal {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, signals...)
	return <-ch
}

func serve(args []string) {
	flags := flag.NewFlagSet("serve", flag.ExitOnError)
	port := flags.Int("port", 8080, "port to listen on")
	startDelay := flags.Duration("start-delay", 0, "time before the server listens")
	_ = flags.Parse(args)

	terminated := make(chan os.Signal, 1)
	signal.Notify(terminated, syscall.SIGTERM, syscall.SIGINT)
	fmt.Printf("lgtest serve: starting (start delay %s)\n", *startDelay)
	select {
	case <-time.After(*startDelay):
	case sig := <-terminated:
		fmt.Printf("lgtest serve: %s during start, exiting\n", sig)
		return
	}
	host, _ := os.Hostname()
	server := &http.Server{
		Addr: fmt.Sprintf(":%d", *port),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Connection", "close")
			fmt.Fprintf(w, "ok %s\n", host)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	listener, err := net.Listen("tcp", server.Addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("lgtest serve: listening on %s\n", server.Addr)
	go func() {
		sig := <-terminated
		fmt.Printf("lgtest serve: %s, exiting\n", sig)
		// Requests in flight get a second to finish; new connections are refused from now on.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = server.Shutdown(ctx)
	}()
	if err := server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func crash() {
	fmt.Fprintln(os.Stderr, "fatal: open /etc/app/config.yaml: no such file or directory")
	os.Exit(1)
}

type loadResult struct {
	Sent   int            `json:"sent"`
	Failed int            `json:"failed"`
	Errors map[string]int `json:"errors"`
}

func load(args []string) {
	flags := flag.NewFlagSet("load", flag.ExitOnError)
	url := flags.String("url", "", "URL to GET")
	interval := flags.Duration("interval", 10*time.Millisecond, "pause between requests")
	timeout := flags.Duration("timeout", time.Second, "timeout of one request")
	_ = flags.Parse(args)

	// A new connection per request: each one goes through the Service's load balancing again.
	client := &http.Client{Timeout: *timeout, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	result := loadResult{Errors: map[string]int{}}
	for {
		select {
		case <-stop:
			_ = json.NewEncoder(os.Stdout).Encode(result)
			return
		default:
		}
		result.Sent++
		if reason := get(client, *url); reason != "" {
			result.Failed++
			result.Errors[reason]++
		}
		time.Sleep(*interval)
	}
}

// get returns "" on a 200 answer with an "ok" body, else a short reason.
func get(client *http.Client, url string) string {
	resp, err := client.Get(url)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return "connection refused"
		case errors.Is(err, syscall.ECONNRESET):
			return "connection reset"
		case strings.Contains(err.Error(), "Timeout") || strings.Contains(err.Error(), "timeout"):
			return "timeout"
		default:
			return err.Error()
		}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "body: " + err.Error()
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "ok ") {
		return fmt.Sprintf("status %d", resp.StatusCode)
	}
	return ""
}
