// A container runtime's CNI side reduced to libcni, the library containerd
// and cri-o call: the bench's stand-in for a kubelet's runtime. Started once
// inside the node's network namespace, it takes one JSON request a line on
// stdin and answers one JSON line each on stdout, running requests
// concurrently (as a runtime networks pods in parallel). Times are taken
// here, around the libcni call, so the pipe to the bench is not in them.
//
//	request:  {"id":1,"cmd":"add|del|version","conflist":"/path","containerId":"…","netns":"/var/run/netns/…","ifName":"eth0","args":[["K","V"]],"plugin":"ptp"}
//	answer:   {"id":1,"ms":12.3,"execMs":11.9,"startUs":…,"endUs":…,"error":""}
//
// CNI_PATH (colon-separated) says where plugins are; LIBCNI_CACHE_DIR where
// libcni keeps ADD results for DEL. Built offline by the bench against
// Debian's golang-github-appc-cni-dev (GO111MODULE=off).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/version"
)

type request struct {
	ID          int         `json:"id"`
	Cmd         string      `json:"cmd"`
	Conflist    string      `json:"conflist"`
	ContainerID string      `json:"containerId"`
	Netns       string      `json:"netns"`
	IfName      string      `json:"ifName"`
	Args        [][2]string `json:"args"`
	Plugin      string      `json:"plugin"`
}

type answer struct {
	ID      int     `json:"id"`
	Ms      float64 `json:"ms"`
	ExecMs  float64 `json:"execMs"`
	StartUs int64   `json:"startUs"`
	EndUs   int64   `json:"endUs"`
	Error   string  `json:"error,omitempty"`
}

// timedExec is libcni's own exec with a clock around each plugin process, so
// an answer can tell plugin time from libcni's (config, cache file).
type timedExec struct {
	*invoke.DefaultExec
	ns int64
}

func (e *timedExec) ExecPlugin(ctx context.Context, path string, stdin []byte, env []string) ([]byte, error) {
	start := time.Now()
	out, err := e.DefaultExec.ExecPlugin(ctx, path, stdin, env)
	atomic.AddInt64(&e.ns, int64(time.Since(start)))
	return out, err
}

var (
	epoch     = time.Now()
	cniPath   = filepath.SplitList(os.Getenv("CNI_PATH"))
	cacheDir  = os.Getenv("LIBCNI_CACHE_DIR")
	listsMu   sync.Mutex
	lists     = map[string]*libcni.NetworkConfigList{}
	stdoutMu  sync.Mutex
	stdoutEnc = json.NewEncoder(os.Stdout)
)

// conflist is read once per path, as a runtime loads its config once.
func conflist(path string) (*libcni.NetworkConfigList, error) {
	listsMu.Lock()
	defer listsMu.Unlock()
	if list, ok := lists[path]; ok {
		return list, nil
	}
	list, err := libcni.ConfListFromFile(path)
	if err == nil {
		lists[path] = list
	}
	return list, err
}

func serve(req request) answer {
	exec := &timedExec{DefaultExec: &invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: os.Stderr}, PluginDecoder: version.PluginDecoder{}}}
	cni := libcni.NewCNIConfigWithCacheDir(cniPath, cacheDir, exec)
	rt := &libcni.RuntimeConf{ContainerID: req.ContainerID, NetNS: req.Netns, IfName: req.IfName, Args: req.Args}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var list *libcni.NetworkConfigList
	var err error
	if req.Cmd != "version" {
		list, err = conflist(req.Conflist)
	}
	start := time.Now()
	if err == nil {
		switch req.Cmd {
		case "add":
			_, err = cni.AddNetworkList(ctx, list, rt)
		case "del":
			err = cni.DelNetworkList(ctx, list, rt)
		case "version":
			_, err = cni.GetVersionInfo(ctx, req.Plugin)
		default:
			err = os.ErrInvalid
		}
	}
	end := time.Now()
	a := answer{ID: req.ID, Ms: float64(end.Sub(start)) / 1e6, ExecMs: float64(atomic.LoadInt64(&exec.ns)) / 1e6, StartUs: start.Sub(epoch).Microseconds(), EndUs: end.Sub(epoch).Microseconds()}
	if err != nil {
		a.Error = err.Error()
	}
	return a
}

func main() {
	lines := bufio.NewScanner(os.Stdin)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	var inFlight sync.WaitGroup
	for lines.Scan() {
		var req request
		if err := json.Unmarshal(lines.Bytes(), &req); err != nil {
			os.Stderr.WriteString("bad request: " + err.Error() + "\n")
			os.Exit(2)
		}
		inFlight.Add(1)
		go func() {
			defer inFlight.Done()
			a := serve(req)
			stdoutMu.Lock()
			defer stdoutMu.Unlock()
			_ = stdoutEnc.Encode(a)
		}()
	}
	inFlight.Wait()
}
