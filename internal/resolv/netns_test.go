//go:build linux

package resolv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/clusterdns/clusterdns/internal/server"
)

// The real resolvers (glibc through getent, musl through a static
// getaddrinfo program, Go's resolver) read /etc/resolv.conf and send to
// port 53. The test re-executes its own binary in a new mount and network
// namespace (root only), where the child brings up lo, bind-mounts a
// resolv.conf (and a plain nsswitch.conf and hosts file) over /etc, runs a
// clusterdns server on 127.0.0.1:53 whose Observer records every question,
// runs the client, and writes the questions it saw to a file.

const childEnv = "CLUSTERDNS_RESOLV_NETNS_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		if err := runChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, "netns child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	code := m.Run()
	if muslDir != "" {
		os.RemoveAll(muslDir)
	}
	os.Exit(code)
}

// nsRun is what the child is asked to do.
type nsRun struct {
	// Client: getent-ahosts, getent-hosts, musl-gai, musl-ghbn or go.
	Client string `json:"client"`
	Name   string `json:"name"`
	Conf   string `json:"conf"`
	Faults faults `json:"faults"`
	// Bin is the musl program.
	Bin string `json:"bin,omitempty"`
	Out string `json:"out"`
	// Server, when set, replaces the fixture and its faults with a server
	// forwarding to a real upstream (serveReal); NodeSearch are the nodes'
	// search domains its autopath is given.
	Server     string   `json:"server,omitempty"`
	NodeSearch []string `json:"nodeSearch,omitempty"`
	// Warmup, when set, is a name the client looks up first (a pod's
	// first lookup, which shows an autopath server its own walk); what
	// the server, the upstream and autopath saw of it is left out.
	Warmup string `json:"warmup,omitempty"`
}

var (
	netnsOnce sync.Once
	netnsWhy  string
)

// needNetns skips the test unless the namespace trick works here: a
// probe child does everything but run a client.
func needNetns(t *testing.T) {
	t.Helper()
	netnsOnce.Do(func() {
		if os.Geteuid() != 0 {
			netnsWhy = "needs root to create a mount and network namespace (run as root, as CI does)"
			return
		}
		if _, err := inNetnsErr(nsRun{Client: "probe"}); err != "" {
			netnsWhy = "cannot set up a mount and network namespace here (needs CAP_SYS_ADMIN): " + err
		}
	})
	if netnsWhy != "" {
		t.Skip("skipping the real-resolver check: " + netnsWhy)
	}
}

// inNetnsErr runs r in a fresh namespace and returns what the server saw,
// or what went wrong.
func inNetnsErr(r nsRun) (nsResult, string) {
	dir, err := os.MkdirTemp("", "clusterdns-netns")
	if err != nil {
		return nsResult{}, err.Error()
	}
	defer os.RemoveAll(dir)
	r.Out = filepath.Join(dir, "out.json")
	spec := filepath.Join(dir, "spec.json")
	b, _ := json.Marshal(r)
	if err := os.WriteFile(spec, b, 0o600); err != nil {
		return nsResult{}, err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+spec)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nsResult{}, fmt.Sprintf("namespace child: %v\n%s", err, out)
	}
	var res nsResult
	data, err := os.ReadFile(r.Out)
	if err != nil {
		return nsResult{}, fmt.Sprintf("namespace child wrote nothing: %v\n%s", err, out)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return nsResult{}, err.Error()
	}
	return res, ""
}

// runChild is the namespace side.
func runChild(specPath string) error {
	data, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var r nsRun
	if err := json.Unmarshal(data, &r); err != nil {
		return err
	}
	// Nothing mounted here may leak to the parent's namespace.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	dir := filepath.Dir(specPath)
	files := map[string]string{
		"/etc/resolv.conf":   r.Conf,
		"/etc/nsswitch.conf": "hosts: files dns\n",
		"/etc/hosts":         "127.0.0.1 localhost\n::1 localhost\n",
	}
	for target, content := range files {
		src := filepath.Join(dir, filepath.Base(target))
		if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
			return err
		}
		if _, err := os.Stat(target); err != nil && target != "/etc/resolv.conf" {
			continue // no nsswitch.conf: glibc's default is fine
		}
		if err := syscall.Mount(src, target, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mounting %s: %w", target, err)
		}
	}
	if err := loUp(); err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}

	rec := &recorder{}
	var finish func(*nsResult)
	reset := rec.reset
	if r.Server != "" {
		if finish, reset, err = serveReal(r, dir, rec); err != nil {
			return err
		}
	} else if err := serveFixture(r.Faults, rec); err != nil {
		return err
	}

	var res nsResult
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if r.Warmup != "" {
		if _, _, err := lookupWith(ctx, r, r.Warmup); err != nil {
			return fmt.Errorf("warm-up lookup of %s: %w", r.Warmup, err)
		}
		time.Sleep(50 * time.Millisecond)
		reset()
	}
	if res.Output, res.Exit, err = lookupWith(ctx, r, r.Name); err != nil {
		return err
	}
	// Replies to parallel questions are all in by now; give stragglers
	// (retries after the client gave up) a moment to be counted.
	time.Sleep(50 * time.Millisecond)
	res.Queries = rec.list()
	if finish != nil {
		finish(&res)
	}
	b, _ := json.Marshal(res)
	return os.WriteFile(r.Out, b, 0o644)
}

// lookupWith looks name up with r's client: what it printed and its exit
// code.
func lookupWith(ctx context.Context, r nsRun, name string) (string, int, error) {
	var cmd *exec.Cmd
	switch r.Client {
	case "probe":
		return "", 0, nil
	case "go":
		out, exit := lookupGo(ctx, name)
		return out, exit, nil
	case "getent-ahosts":
		cmd = exec.CommandContext(ctx, "getent", "ahosts", name)
	case "getent-hosts":
		cmd = exec.CommandContext(ctx, "getent", "hosts", name)
	case "musl-gai":
		cmd = exec.CommandContext(ctx, r.Bin, name)
	case "musl-ghbn":
		cmd = exec.CommandContext(ctx, r.Bin, name, "gethostbyname")
	default:
		return "", 0, fmt.Errorf("unknown client %q", r.Client)
	}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), ee.ExitCode(), nil
	case err != nil:
		return "", 0, err
	}
	return string(out), 0, nil
}

// serveFixture serves the fixture on 127.0.0.1:53 with the faults, until
// the child exits.
func serveFixture(f faults, rec *recorder) error {
	snap, err := loadFixture()
	if err != nil {
		return err
	}
	srv := server.New(server.Config{Observer: rec})
	srv.Swap(snap, true)
	pc, err := net.ListenPacket("udp", "127.0.0.1:53")
	if err != nil {
		return err
	}
	go serveFaults(pc, srv, f, rec)
	if ln, err := net.Listen("tcp", "127.0.0.1:53"); err == nil {
		go serveFaultsTCP(ln, srv, f, rec)
	}
	return nil
}

func lookupGo(ctx context.Context, name string) (string, int) {
	r := &net.Resolver{PreferGo: true}
	addrs, err := r.LookupHost(ctx, name)
	if err != nil {
		return err.Error(), 2
	}
	return strings.Join(addrs, " "), 0
}

// loUp sets IFF_UP on lo (SIOCGIFFLAGS / SIOCSIFFLAGS), so that the test
// needs no ip(8).
func loUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr [40]byte
	copy(ifr[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	flags := (*uint16)(unsafe.Pointer(&ifr[syscall.IFNAMSIZ]))
	*flags |= syscall.IFF_UP
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	return nil
}

// muslProgram is a static musl getaddrinfo / gethostbyname, built once.
const muslProgram = `#include <stdio.h>
#include <string.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>

int main(int argc, char **argv) {
	if (argc > 2) {
		struct hostent *h = gethostbyname(argv[1]);
		if (!h) { printf("error h_errno %d\n", h_errno); return 2; }
		printf("ok %s\n", h->h_name);
		return 0;
	}
	struct addrinfo hints, *res, *p;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int e = getaddrinfo(argv[1], NULL, &hints, &res);
	if (e) { printf("error %d %s\n", e, gai_strerror(e)); return 2; }
	for (p = res; p; p = p->ai_next) {
		char buf[64];
		void *a = p->ai_family == AF_INET ? (void *)&((struct sockaddr_in *)p->ai_addr)->sin_addr : (void *)&((struct sockaddr_in6 *)p->ai_addr)->sin6_addr;
		printf("%s\n", inet_ntop(p->ai_family, a, buf, sizeof buf));
	}
	return 0;
}
`

var (
	muslOnce sync.Once
	muslDir  string
	muslBin  string
	muslWhy  string
)

// needMusl builds the musl program or skips.
func needMusl(t *testing.T) string {
	t.Helper()
	muslOnce.Do(func() {
		cc, err := exec.LookPath("musl-gcc")
		if err != nil {
			muslWhy = "musl-gcc not found (Debian: apt-get install musl-tools); the musl model is then checked against its table only"
			return
		}
		dir, err := os.MkdirTemp("", "clusterdns-musl")
		if err != nil {
			muslWhy = err.Error()
			return
		}
		muslDir = dir
		src := filepath.Join(dir, "gai.c")
		if err := os.WriteFile(src, []byte(muslProgram), 0o644); err != nil {
			muslWhy = err.Error()
			return
		}
		bin := filepath.Join(dir, "gai")
		if out, err := exec.Command(cc, "-static", "-O1", "-o", bin, src).CombinedOutput(); err != nil {
			muslWhy = fmt.Sprintf("musl-gcc failed: %v: %s", err, out)
			return
		}
		muslBin = bin
	})
	if muslBin == "" {
		t.Skip("skipping the real musl check: " + muslWhy)
	}
	return muslBin
}

func needGetent(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("getent"); err != nil {
		t.Skip("skipping the real glibc check: getent not found (Debian: libc-bin)")
	}
}
