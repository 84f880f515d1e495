// A small HashiCorp memberlist node for Outrigger's interop tests.
//
// It prints one JSON line per event on stdout (ready, join, leave, update,
// msg, merge, members, error) and takes commands on stdin:
//   members | send NODE TEXT | sendrel NODE TEXT | broadcast TEXT | leave | quit
// Built with Debian's golang-github-hashicorp-memberlist-dev, offline
// (GO111MODULE=off, GOPATH=/usr/share/gocode).
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

var out = json.NewEncoder(os.Stdout)
var outMu sync.Mutex

func emit(v map[string]interface{}) {
	outMu.Lock()
	defer outMu.Unlock()
	out.Encode(v)
}

type broadcast []byte

func (b broadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b broadcast) Message() []byte                        { return b }
func (b broadcast) Finished()                              {}

type delegate struct {
	meta   string
	state  string
	queue  *memberlist.TransmitLimitedQueue
}

func (d *delegate) NodeMeta(limit int) []byte { return []byte(d.meta) }
func (d *delegate) NotifyMsg(b []byte) {
	emit(map[string]interface{}{"event": "msg", "data": string(b)})
}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.queue.GetBroadcasts(overhead, limit)
}
func (d *delegate) LocalState(join bool) []byte { return []byte(d.state) }
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	emit(map[string]interface{}{"event": "merge", "join": join, "data": string(buf)})
}

type events struct{}

func node(kind string, n *memberlist.Node) map[string]interface{} {
	states := []string{"alive", "suspect", "dead", "left"}
	st := "unknown"
	if int(n.State) < len(states) {
		st = states[n.State]
	}
	return map[string]interface{}{"event": kind, "node": n.Name, "addr": n.Addr.String(), "port": n.Port, "meta": string(n.Meta), "state": st, }
}
func (events) NotifyJoin(n *memberlist.Node)   { emit(node("join", n)) }
func (events) NotifyLeave(n *memberlist.Node)  { emit(node("leave", n)) }
func (events) NotifyUpdate(n *memberlist.Node) { emit(node("update", n)) }

func main() {
	name := flag.String("name", "go", "node name")
	bind := flag.String("bind", "127.0.0.1", "bind address")
	port := flag.Int("port", 0, "bind port (0: any)")
	join := flag.String("join", "", "comma-separated seeds")
	key := flag.String("key", "", "hex encryption key")
	meta := flag.String("meta", "", "node meta")
	state := flag.String("state", "", "push/pull user state")
	flag.Parse()

	c := memberlist.DefaultLANConfig()
	c.Name = *name
	c.BindAddr = *bind
	c.BindPort = *port
	c.AdvertiseAddr = *bind
	c.LogOutput = ioutil.Discard
	if os.Getenv("PEER_DEBUG") != "" {
		c.LogOutput = os.Stderr
	}
	if *key != "" {
		k, err := hex.DecodeString(*key)
		if err != nil {
			log.Fatal(err)
		}
		c.SecretKey = k
	}
	d := &delegate{meta: *meta, state: *state}
	c.Delegate = d
	c.Events = events{}
	m, err := memberlist.Create(c)
	if err != nil {
		emit(map[string]interface{}{"event": "error", "error": err.Error()})
		os.Exit(1)
	}
	d.queue = &memberlist.TransmitLimitedQueue{NumNodes: m.NumMembers, RetransmitMult: 3}
	emit(map[string]interface{}{"event": "ready", "port": m.LocalNode().Port})
	if *join != "" {
		n, err := m.Join(strings.Split(*join, ","))
		if err != nil {
			emit(map[string]interface{}{"event": "error", "error": err.Error()})
		} else {
			emit(map[string]interface{}{"event": "joined", "n": n})
		}
	}
	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		f := strings.SplitN(scanner.Text(), " ", 3)
		switch f[0] {
		case "members":
			var list []map[string]interface{}
			for _, n := range m.Members() {
				list = append(list, map[string]interface{}{"name": n.Name, "port": n.Port, "meta": string(n.Meta)})
			}
			emit(map[string]interface{}{"event": "members", "members": list})
		case "send", "sendrel":
			var target *memberlist.Node
			for _, n := range m.Members() {
				if n.Name == f[1] {
					target = n
				}
			}
			if target == nil || len(f) < 3 {
				emit(map[string]interface{}{"event": "error", "error": "no such member " + f[1]})
				continue
			}
			if f[0] == "send" {
				err = m.SendBestEffort(target, []byte(f[2]))
			} else {
				err = m.SendReliable(target, []byte(f[2]))
			}
			if err != nil {
				emit(map[string]interface{}{"event": "error", "error": err.Error()})
			}
		case "broadcast":
			d.queue.QueueBroadcast(broadcast(strings.Join(f[1:], " ")))
		case "leave":
			err := m.Leave(5 * time.Second)
			emit(map[string]interface{}{"event": "left", "error": fmt.Sprint(err)})
		case "quit":
			m.Shutdown()
			os.Exit(0)
		}
	}
	m.Shutdown()
}
