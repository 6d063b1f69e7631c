package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/jobmanager/jobmanager/job"
)

// TemporalCLIModule and TemporalCLIVersion name the Temporal CLI that the dev stack and
// the tests run. v1.5.1 is the newest release that builds from the Go module proxy here;
// the Makefile installs the same version.
const (
	TemporalCLIModule  = "github.com/temporalio/cli/cmd/temporal"
	TemporalCLIVersion = "v1.5.1"
)

// TemporalCLIEnv names an environment variable that points to a Temporal CLI binary to
// use instead of <repo>/bin/temporal, for machines that already have one.
const TemporalCLIEnv = "TEMPORAL_CLI"

// Default ports of the dev server, the ones Temporal's own documentation and tools use.
const (
	DefaultTemporalPort   = 7233
	DefaultTemporalUIPort = 8233
)

// RepoRoot returns the nearest directory at or above the working directory that holds a
// go.mod, so commands and tests find bin/ and the data directory from any package.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod found at or above the working directory")
		}
		dir = parent
	}
}

// TemporalBinary returns the Temporal CLI to run: the file named by $TEMPORAL_CLI if set,
// else <repoRoot>/bin/temporal, which it builds with `go install` when missing (about
// three minutes on a fresh machine). It never downloads a prebuilt binary: those cannot
// be fetched here, while the module proxy can.
func TemporalBinary(repoRoot string, logf func(string, ...any)) (string, error) {
	logf = orDiscard(logf)
	if p := os.Getenv(TemporalCLIEnv); p != "" {
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("%s: %w", TemporalCLIEnv, err)
		}
		return p, nil
	}
	binDir := filepath.Join(repoRoot, "bin")
	path := filepath.Join(binDir, "temporal")
	if checkExecutable(path) == nil {
		return path, nil
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", binDir, err)
	}
	// go test ./... runs packages in parallel and each may get here on a fresh machine:
	// one builds while the others wait and then find the binary.
	unlock, err := lockFile(filepath.Join(binDir, ".temporal-install.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if checkExecutable(path) == nil {
		return path, nil
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("temporal CLI missing at %s and no go command to build it: %w", path, err)
	}
	pkg := TemporalCLIModule + "@" + TemporalCLIVersion
	logf("installing %s into %s (takes a few minutes once)", pkg, binDir)
	cmd := exec.Command(goTool, "install", pkg)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOBIN="+binDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go install %s: %w\n%s", pkg, err, out)
	}
	if err := checkExecutable(path); err != nil {
		return "", fmt.Errorf("after go install: %w", err)
	}
	return path, nil
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

func orDiscard(logf func(string, ...any)) func(string, ...any) {
	if logf == nil {
		return func(string, ...any) {}
	}
	return logf
}

// TemporalOptions configure StartTemporal. Only DataDir is required.
type TemporalOptions struct {
	// DataDir holds the SQLite file temporal.db and the server log temporal.log. It is
	// created if missing; jobs survive a restart on the same directory.
	DataDir string
	// Binary is the Temporal CLI; empty means TemporalBinary(RepoRoot()).
	Binary string
	// Port is the frontend gRPC port. Zero means 7233, or a free port when 7233 is
	// taken; an explicit port that is taken is an error.
	Port int
	// UIPort is the Web UI port, chosen like Port with 8233 as the default.
	UIPort int
	// Headless starts no Web UI.
	Headless bool
	// InMemory keeps state in memory instead of DataDir/temporal.db, for benchmarks
	// and other throwaway runs; the log still goes to DataDir.
	InMemory bool
	// CodecEndpoint is the API's payload codec endpoint (<api>/api/v1/codec), which
	// the Web UI calls to show encrypted payloads decoded; empty leaves them encrypted.
	CodecEndpoint string
	// ExtraArgs are appended to `temporal server start-dev`.
	ExtraArgs []string
	// StartTimeout bounds the wait for the frontend; zero means one minute.
	StartTimeout time.Duration
	// Logf reports progress and the chosen ports; nil is silent.
	Logf func(string, ...any)
}

// Temporal is a running `temporal server start-dev` process.
type Temporal struct {
	cmd     *exec.Cmd
	addr    string
	uiURL   string
	logPath string
	logFile *os.File
	exited  chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// StartTemporal starts a Temporal dev server bound to 127.0.0.1 with the job search
// attributes registered, and returns once its frontend answers a health check.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	logf := orDiscard(opts.Logf)
	if opts.DataDir == "" {
		return nil, errors.New("devstack: TemporalOptions.DataDir is empty")
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dataDir, err)
	}
	bin := opts.Binary
	if bin == "" {
		root, err := RepoRoot()
		if err != nil {
			return nil, err
		}
		if bin, err = TemporalBinary(root, logf); err != nil {
			return nil, err
		}
	}
	port, err := choosePort(opts.Port, DefaultTemporalPort)
	if err != nil {
		return nil, fmt.Errorf("temporal port: %w", err)
	}
	args := []string{
		"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--namespace", "default",
		"--log-level", "warn",
		// The dev server would otherwise ask temporal.io for newer versions on every
		// start; there is no network for that here, and nobody reads the answer.
		"--dynamic-config-value", "frontend.enableServerVersionCheck=false",
	}
	if !opts.InMemory {
		args = append(args, "--db-filename", filepath.Join(dataDir, "temporal.db"))
	}
	uiURL := ""
	if opts.Headless {
		args = append(args, "--headless")
	} else {
		uiPort, err := choosePort(opts.UIPort, DefaultTemporalUIPort)
		if err != nil {
			return nil, fmt.Errorf("temporal UI port: %w", err)
		}
		args = append(args, "--ui-port", strconv.Itoa(uiPort))
		if opts.CodecEndpoint != "" {
			args = append(args, "--ui-codec-endpoint", opts.CodecEndpoint)
		}
		uiURL = "http://127.0.0.1:" + strconv.Itoa(uiPort)
	}
	for _, name := range job.SearchAttributes {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	args = append(args, opts.ExtraArgs...)

	logPath := filepath.Join(dataDir, "temporal.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open temporal log: %w", err)
	}
	fmt.Fprintf(logFile, "--- %s %s %s\n", time.Now().Format(time.RFC3339), bin, strings.Join(args, " "))

	// Not CommandContext: ctx bounds the start only, the server lives until Stop.
	cmd := exec.Command(bin, args...)
	cmd.Dir = dataDir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = serverProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	t := &Temporal{
		cmd:     cmd,
		addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		uiURL:   uiURL,
		logPath: logPath,
		logFile: logFile,
		exited:  make(chan struct{}),
	}
	go func() {
		t.waitErr = cmd.Wait()
		close(t.exited)
	}()

	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	if err := t.waitReady(ctx, timeout); err != nil {
		_ = t.Stop()
		return nil, fmt.Errorf("%w\n%s", err, tail(logPath, 20))
	}
	if uiURL != "" {
		logf("temporal ready at %s, web UI %s, log %s", t.addr, uiURL, logPath)
	} else {
		logf("temporal ready at %s, log %s", t.addr, logPath)
	}
	return t, nil
}

// waitReady dials until the frontend passes a health check, the process dies, or the
// time is up. Dialing is what every client does first, so this is the readiness that
// matters.
func (t *Temporal) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastErr error
	for {
		select {
		case <-t.exited:
			return fmt.Errorf("temporal server exited during start: %v", t.waitErr)
		default:
		}
		dialCtx, dialCancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := client.DialContext(dialCtx, client.Options{
			HostPort:  t.addr,
			Namespace: "default",
			Logger:    quietLogger{},
		})
		if err == nil {
			_, err = c.CheckHealth(dialCtx, &client.CheckHealthRequest{})
			c.Close()
		}
		dialCancel()
		if err == nil {
			return nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporal frontend at %s not ready after %s: %v", t.addr, timeout, lastErr)
		case <-t.exited:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Address is the frontend's host:port for client.Options.HostPort.
func (t *Temporal) Address() string { return t.addr }

// UIURL is the Web UI's base URL; empty when headless.
func (t *Temporal) UIURL() string { return t.uiURL }

// LogPath is the file the server writes its output to.
func (t *Temporal) LogPath() string { return t.logPath }

// PID is the server's process ID, for measuring its CPU use.
func (t *Temporal) PID() int { return t.cmd.Process.Pid }

// Stop interrupts the server, as Ctrl-C would, so it shuts down cleanly and leaves the
// SQLite file consistent; it kills the server if it has not ended after 30 seconds.
// Calling Stop again returns the first result.
func (t *Temporal) Stop() error {
	t.stopOnce.Do(func() {
		defer t.logFile.Close()
		select {
		case <-t.exited:
			t.stopErr = exitErr(t.waitErr)
			return
		default:
		}
		if err := t.cmd.Process.Signal(os.Interrupt); err != nil {
			t.stopErr = fmt.Errorf("interrupt temporal server: %w", err)
		}
		select {
		case <-t.exited:
			if t.stopErr == nil {
				t.stopErr = exitErr(t.waitErr)
			}
		case <-time.After(30 * time.Second):
			_ = t.cmd.Process.Kill()
			<-t.exited
			t.stopErr = errors.New("temporal server did not stop within 30s after an interrupt; killed")
		}
	})
	return t.stopErr
}

// exitErr hides the exit status an interrupted server reports, which is the expected
// way for it to end.
func exitErr(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && !ee.Exited() {
		return nil
	}
	return err
}

// choosePort returns want if set, else def when free, else any free loopback port. The
// check and the server's bind are not atomic; a lost race shows as a start failure.
func choosePort(want, def int) (int, error) {
	if want > 0 {
		if !portFree(want) {
			return 0, fmt.Errorf("port %d is taken", want)
		}
		return want, nil
	}
	if portFree(def) {
		return def, nil
	}
	return FreePort()
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n lines of a file, for error messages that should show why a
// process failed without sending the reader to look for the log.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 64 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > window {
		if _, err := f.Seek(fi.Size()-window, io.SeekStart); err != nil {
			return ""
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "last lines of " + path + ":\n" + strings.Join(lines, "\n")
}

// quietLogger drops the SDK's log lines during the readiness loop, where every refused
// dial until the server is up would otherwise print a warning.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
