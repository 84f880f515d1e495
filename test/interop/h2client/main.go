// A second HTTP/2 implementation for interop tests: Go's net/http client over TLS.
// Usage: h2client BASE_URL. Prints one JSON line per check to stdout.
package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
)

type result struct {
	Check  string `json:"check"`
	Proto  string `json:"proto"`
	Status int    `json:"status"`
	Sha    string `json:"sha"`
	Length int    `json:"length"`
	Err    string `json:"err,omitempty"`
}

func main() {
	base := os.Args[1]
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: true,
	}}
	out := json.NewEncoder(os.Stdout)
	do := func(check, method, path string, body []byte) result {
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		if body == nil {
			req.Body = nil
		}
		resp, err := client.Do(req)
		if err != nil {
			return result{Check: check, Err: err.Error()}
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		sum := sha256.Sum256(data)
		r := result{Check: check, Proto: resp.Proto, Status: resp.StatusCode, Sha: hex.EncodeToString(sum[:]), Length: len(data)}
		if err != nil {
			r.Err = err.Error()
		}
		return r
	}
	out.Encode(do("small", "GET", "/small", nil))
	out.Encode(do("big", "GET", "/big", nil))
	upload := bytes.Repeat([]byte("0123456789abcdef"), 64*1024+3)
	out.Encode(do("upload", "PUT", "/echo", upload))
	// Many streams at once on the one connection.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := do("many", "GET", "/small", nil)
			mu.Lock()
			if r.Status == 200 && r.Proto == "HTTP/2.0" && r.Length == 100 {
				ok++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	out.Encode(result{Check: "many", Status: ok})
	fmt.Fprintln(os.Stderr, "done")
}
